# fr — agenda strings of the web page (see node/src/web/).

agenda-title = Agenda
agenda-new-event = Ajouter un événement
agenda-view-label = Affichage de l’agenda
agenda-view-list = Liste
agenda-view-month = Mois
agenda-empty = Aucun événement prévu pour l’instant. Ajoutez le premier !
agenda-cancelled = Annulé
agenda-then = Puis :
agenda-organised-by-name = Organisé par { $name }
agenda-place-is = Lieu : { $place }
agenda-where = Lieu
agenda-when = Quand
agenda-repeat = Répétition
agenda-organised-by = Organisé par
agenda-today = (aujourd’hui)

# La vue du mois
agenda-month-pager = Changer de mois
agenda-month-previous = Mois précédent
agenda-month-current = Ce mois-ci
agenda-month-next = Mois suivant
agenda-month-caption = Événements de { $month } { $year }
# Un événement de plusieurs jours, les jours après le premier.
agenda-month-continued = { $title } (suite)
agenda-month-1 = janvier
agenda-month-2 = février
agenda-month-3 = mars
agenda-month-4 = avril
agenda-month-5 = mai
agenda-month-6 = juin
agenda-month-7 = juillet
agenda-month-8 = août
agenda-month-9 = septembre
agenda-month-10 = octobre
agenda-month-11 = novembre
agenda-month-12 = décembre
agenda-weekday-1 = lundi
agenda-weekday-2 = mardi
agenda-weekday-3 = mercredi
agenda-weekday-4 = jeudi
agenda-weekday-5 = vendredi
agenda-weekday-6 = samedi
agenda-weekday-7 = dimanche
agenda-weekday-short-1 = lun.
agenda-weekday-short-2 = mar.
agenda-weekday-short-3 = mer.
agenda-weekday-short-4 = jeu.
agenda-weekday-short-5 = ven.
agenda-weekday-short-6 = sam.
agenda-weekday-short-7 = dim.

# Le calendrier pour le téléphone
agenda-feed-title = L’agenda sur votre téléphone
agenda-feed-explain = Pour voir ces événements dans l’agenda de votre téléphone, ouvrez son application Agenda ou Calendrier, choisissez « Ajouter un calendrier », puis « S’abonner » ou « À partir d’une adresse (URL) », et collez-y l’adresse ci-dessous. Le téléphone mettra ensuite l’agenda à jour tout seul.
agenda-feed-secret = Gardez cette adresse pour vous : toute personne qui la connaît peut lire l’agenda du village.
agenda-feed-loopback = Pour l’instant, cette adresse ne fonctionne que sur cet ordinateur. Pour que votre téléphone l’atteigne par le wifi de la maison, lancez le nœud avec la commande suivante, puis rouvrez cette page par l’adresse de l’ordinateur sur le réseau :
agenda-feed-no-key = Cette adresse d’agenda est incomplète : copiez-la à nouveau depuis la page Agenda de votre foyer.
agenda-feed-refused = Cette adresse d’agenda n’est pas (ou plus) valable : copiez-la à nouveau depuis la page Agenda de votre foyer.

# Répétitions, en mots
agenda-repeat-daily = Chaque jour
agenda-repeat-daily-n = Tous les { $n } jours
agenda-repeat-weekly = Chaque semaine
agenda-repeat-weekly-n = Toutes les { $n } semaines
agenda-repeat-monthly = Chaque mois
agenda-repeat-monthly-n = Tous les { $n } mois
agenda-repeat-yearly = Chaque année
agenda-repeat-yearly-n = Tous les { $n } ans
agenda-repeat-on = , le { $days }
agenda-repeat-times = , { $count } fois en tout
agenda-repeat-until-date = , jusqu’au { $date }

# Le formulaire
agenda-new-title = Nouvel événement
agenda-field-title = Titre
agenda-field-description = Description
agenda-field-place = Lieu
agenda-field-start = Début
agenda-field-start-hint = Le jour et l’heure, par exemple 05/12/2026 18:00.
agenda-field-end = Fin
agenda-field-end-hint = Facultatif. Le jour et l’heure de fin.
agenda-repeat-legend = Répétition
agenda-field-repeat = L’événement a lieu
agenda-repeat-none = une seule fois
agenda-repeat-every-week = chaque semaine, le même jour
agenda-repeat-every-month = chaque mois, à la même date
agenda-repeat-every-day = chaque jour
agenda-repeat-every-year = chaque année, à la même date
agenda-field-repeat-count = Nombre de fois
agenda-field-repeat-count-hint = Facultatif : combien de fois en tout, la première comprise. Laissez vide pour répéter sans fin, ou indiquez plutôt une date de fin.
agenda-field-repeat-until = Dernier jour
agenda-field-repeat-until-hint = Facultatif : le dernier jour où l’événement peut avoir lieu.
agenda-repeat-needs-frequency = choisissez d’abord à quel rythme l’événement se répète
agenda-repeat-count-and-until = donnez soit un nombre de fois, soit un dernier jour, mais pas les deux
agenda-repeat-count-invalid = doit être un nombre entier, au moins 1
agenda-create = Publier l’événement
agenda-back = Retour à l’agenda

# La page d’un événement
agenda-cancelled-notice = Cet événement est annulé.
agenda-download = Télécharger pour mon agenda (.ics)
agenda-cancel-event = Annuler l’événement
agenda-cancel-confirm = Annuler cet événement ? Les foyers qui avaient prévu de venir le verront annulé.
agenda-dates-title = Prochaines dates
agenda-dates-none = Cet événement est passé.
agenda-answers-title = Qui vient
agenda-counts-caption = Réponses reçues
agenda-answers-caption = Réponse de chaque foyer
agenda-col-answer = Réponse
agenda-col-households = Foyers
agenda-col-people = Personnes
agenda-col-household = Foyer
agenda-you = (vous)
agenda-answer-yes = Oui, nous venons
agenda-answer-maybe = Peut-être
agenda-answer-no = Non, nous ne venons pas
agenda-your-answer = Votre réponse
agenda-answer-legend = Venez-vous ?
agenda-field-people = Combien de personnes de votre foyer ?
agenda-field-people-hint = De 0 à 50. Vous pouvez changer votre réponse plus tard.
agenda-people-invalid = doit être un nombre entier entre 0 et 50
agenda-answer-send = Envoyer ma réponse
