# en — web strings of the web page (see node/src/web/).

web-skip-to-content = Skip to content
web-nav-label = Main navigation
nav-offers = Offers
nav-requests = Requests
nav-agenda = Events
nav-exchanges = Exchanges
nav-community = Community
nav-indicators = Indicators
web-updated = Page updated.
web-footer = maillage — your data stays with you and your neighbours.
web-form-has-errors = The form has errors:
web-error-prefix = Error:
web-error-title = This page cannot be shown
web-back-home = Back to the start page
web-not-found = This page does not exist.
web-login-title = Open your household's page
web-login-explain = To open your household's page, type this command on the computer where your node runs, then open the link it prints:
web-login-refused = This link is no longer valid. Ask for a new one:
web-csrf-refused = This form was not sent from your household's page; nothing was changed. Reload the page and try again.
web-page-link = Household page: { $url }
