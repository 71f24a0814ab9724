# fr — exchanges strings of the web page (see node/src/web/).

exchanges-title = Échanges
exchanges-intro = Les échanges de votre foyer avec les autres foyers de la communauté, et le solde de chacun (unité : { $unit }).
exchanges-propose-link = Proposer un échange
exchanges-csv-link = Télécharger le registre des échanges (CSV, pour un tableur)
exchanges-todo = À traiter
exchanges-in-progress = En cours
exchanges-done = Terminés
exchanges-others = Entre d’autres foyers
exchanges-none-todo = Rien à traiter pour l’instant.
exchanges-none-in-progress = Aucun échange en cours.
exchanges-none-done = Aucun échange terminé.
exchanges-none-others = Aucun échange entre d’autres foyers.
exchanges-pager-done = Pages des échanges terminés
exchanges-pager-others = Pages des échanges entre d’autres foyers
exchanges-pager-previous = Page précédente
exchanges-pager-next = Page suivante
exchanges-pager-position = Page { $page } sur { $pages }
exchanges-untitled = Échange sans description
exchanges-no-note = (pas de description)
exchanges-you = vous ({ $name })
exchanges-you-marker = (vous)
exchanges-giver = Qui donne
exchanges-receiver = Qui reçoit
exchanges-amount = Montant
exchanges-what = Quoi
exchanges-about-offer = En réponse à l’offre
exchanges-about-request = En réponse à la demande
exchanges-state = État
exchanges-proposed-on = proposition du { $date }

exchanges-expect-answer = { $who } vous propose cet échange : acceptez-le ou refusez-le.
exchanges-expect-confirm = Quand l’échange a eu lieu, confirmez-le : il compte alors dans les soldes.
exchanges-expect-own-confirm = { $who } a confirmé que l’échange a eu lieu ; il compte dans les soldes. Confirmez-le aussi si c’est bien le cas.
exchanges-waiting-answer = { $who } n’a pas encore répondu.
exchanges-counted = Cet échange a eu lieu : il compte dans les soldes.
exchanges-closed = Cet échange n’a pas eu lieu : il ne compte pas dans les soldes.
exchanges-not-yours = Cet échange est entre deux autres foyers : vous pouvez le consulter, pas y répondre.

exchanges-action-accept = Accepter
exchanges-action-confirm = Confirmer qu’il a eu lieu
exchanges-action-decline = Refuser
exchanges-action-cancel = Annuler l’échange
exchanges-action-context = « { $what } »
exchanges-confirm-decline = Refuser cet échange ? L’autre foyer le verra refusé.
exchanges-confirm-cancel = Annuler cet échange ? L’autre foyer le verra annulé.

exchanges-balances = Soldes
exchanges-balances-explain = Chaque échange confirmé crédite le foyer qui donne et débite celui qui reçoit du même montant : la somme des soldes est toujours zéro. Un solde négatif n’est pas une faute : le foyer a reçu plus qu’il n’a donné, pour l’instant.
exchanges-balances-caption = Solde de chaque foyer (unité : { $unit })
exchanges-col-household = Foyer
exchanges-col-balance = Solde ({ $unit })
exchanges-col-meaning = Situation
exchanges-balance-positive = a donné plus qu’il n’a reçu
exchanges-balance-negative = a reçu plus qu’il n’a donné
exchanges-balance-zero = à l’équilibre
exchanges-warning-label = Attention :
exchanges-soft-limit = en comptant les échanges acceptés, votre solde est de { $balance }, au-delà du seuil d’alerte de la communauté (−{ $limit }).

exchanges-detail-title = Échange : { $what }
exchanges-what-now = Que faire ?
exchanges-history = Historique
exchanges-history-proposed = { $who } a proposé l’échange
exchanges-history-accepted = { $who } a accepté
exchanges-history-declined = { $who } a refusé
exchanges-history-cancelled = { $who } a annulé
exchanges-history-confirmed = { $who } a confirmé que l’échange a eu lieu
exchanges-back = Retour aux échanges
exchanges-refused = Action refusée
exchanges-out-of-turn = cet échange est « { $state } » : « { $action } » n’est pas possible pour vous maintenant.
exchanges-not-a-party = seuls les deux foyers d’un échange peuvent y répondre.

exchanges-new-title = Proposer un échange
exchanges-new-intro = L’autre foyer accepte ou refuse votre proposition ; une fois l’échange fait, l’un de vous le confirme et il compte alors dans les soldes.
exchanges-about-offer-of = En réponse à l’offre « { $title } », publiée par { $owner }.
exchanges-about-request-of = En réponse à la demande « { $title } », publiée par { $owner }.
exchanges-see-item = Voir l’annonce
exchanges-no-members = Vous êtes seuls dans la communauté pour l’instant : invitez des voisins depuis la page Communauté pour échanger avec eux.
exchanges-field-counterpart = Avec quel foyer ?
exchanges-choose-household = — Choisissez un foyer —
exchanges-field-direction = Dans quel sens ?
exchanges-choose-direction = — Choisissez —
exchanges-direction-give = Je donne
exchanges-direction-receive = Je reçois
exchanges-direction-hint = Le foyer qui donne est crédité du montant, celui qui reçoit en est débité.
exchanges-field-amount = Montant (unité : { $unit })
exchanges-amount-hint = Par exemple 2 ou 1,5.
exchanges-field-what = Quoi ?
exchanges-what-hint = Ce qui a été donné ou rendu, en quelques mots (par exemple « Prêt de la perceuse »).
exchanges-submit = Proposer l’échange

exchanges-error-counterpart = Choisissez le foyer avec qui vous échangez.
exchanges-error-self = Un échange se fait avec un autre foyer que le vôtre.
exchanges-error-direction = Choisissez « Je donne » ou « Je reçois ».
exchanges-error-direction-item = { $kind ->
    [request] Cette demande
   *[offer] Cette offre
  } dit déjà qui donne : choisissez « { $direction } ».
exchanges-error-item-owner = { $kind ->
    [request] Cette demande
   *[offer] Cette offre
  } a été publiée par { $owner } : l’échange se fait avec ce foyer.
exchanges-error-amount-empty = Indiquez un montant.
exchanges-error-amount-zero = Indiquez un montant supérieur à 0.
exchanges-error-amount-nan = « { $text } » n’est pas un montant : écrivez un nombre comme 2 ou 1,5.
exchanges-error-amount-precise = Un montant a au plus deux chiffres après la virgule.
exchanges-error-amount-range = Un montant doit être entre 0 et 1 000 000.

exchanges-csv-filename = registre-echanges
exchanges-csv-date = Date
exchanges-csv-giver = Qui a donné
exchanges-csv-receiver = Qui a reçu
exchanges-csv-amount = Montant
exchanges-csv-unit = Unité
exchanges-csv-what = Quoi
