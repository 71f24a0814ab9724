# fr — indicators strings of the web page (see node/src/web/).
