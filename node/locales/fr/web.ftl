# fr — web strings of the web page (see node/src/web/).

web-skip-to-content = Aller au contenu
web-nav-label = Navigation principale
nav-offers = Offres
nav-requests = Demandes
nav-agenda = Agenda
nav-exchanges = Échanges
nav-community = Communauté
nav-indicators = Indicateurs
web-updated = Page mise à jour.
web-footer = maillage — vos données restent chez vous et chez vos voisins.
web-form-has-errors = Le formulaire contient des erreurs :
web-error-prefix = Erreur :
web-error-title = Impossible d’afficher cette page
web-back-home = Retour à l’accueil
web-not-found = Cette page n’existe pas.
web-login-title = Ouvrir la page du foyer
web-login-explain = Pour ouvrir la page de votre foyer, tapez cette commande sur l’ordinateur où tourne votre nœud, puis ouvrez le lien qu’elle affiche :
web-login-refused = Ce lien n’est plus valable. Demandez-en un nouveau :
web-csrf-refused = Ce formulaire n’a pas été envoyé depuis la page de votre foyer ; rien n’a été modifié. Rechargez la page et recommencez.
web-page-link = Page du foyer : { $url }
