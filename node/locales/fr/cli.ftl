# Catalogue français — la langue première de maillage.
# Partagé par la ligne de commande et (bientôt) la page web.

## Réussites
init-done = Foyer « { $name } » créé. Identifiant : { $id }
    Prochaine étape : `maillage community create NOM` ou `maillage community join CODE`.
community-created = Communauté « { $name } » créée. Vous en êtes l'intendant·e.
community-joined = Bienvenue dans « { $name } » !
community-using = Communauté active : « { $name } ».
invite-made = Code d'invitation ({ $uses } utilisation(s), valable jusqu'au { $expires }) :
member-removed = { $name } ne fait plus partie de la communauté.
offer-added = Offre publiée : { $id }
request-added = Demande publiée : { $id }
event-added = Événement ajouté : { $id }
item-updated = Modifié : { $id }
item-closed = Clôturé : { $id }
item-deleted = Supprimé : { $id }
rsvp-done = Réponse enregistrée : { $answer }
exchange-proposed = Échange proposé : { $id }. { $with } doit l'accepter.
exchange-now = Échange { $id } : { $state }
exported = { $count } document(s) exportés dans { $path }
imported = Importé depuis le paquet de { $exporter } : { $changes } modification(s) nouvelle(s), { $known } déjà connue(s), { $records } enregistrement(s) d'adhésion ou d'identité.
import-refused-some = { $count } modification(s) refusée(s) (signature ou auteur non valable).
device-revoked = Appareil { $id } révoqué.
nothing = Rien à afficher.

## Titres
whoami-household = Foyer
whoami-device = Appareil
whoami-place = Lieu
whoami-home = Dossier
whoami-communities = Communautés
members-title = Membres de « { $name } »
steward = intendant·e
balance-title = Soldes en { $unit }
balance-of = Solde de { $name } : { $amount } { $unit }
match-title = Demandes ouvertes et offres qui pourraient y répondre
match-none = (aucune offre correspondante pour l'instant)
stats-title = Indicateurs de « { $name } »
stats-members = Foyers membres : { $count }
stats-active = Foyers actifs (90 jours) : { $count }
stats-offers = Offres ouvertes par catégorie
stats-requests = Demandes ouvertes par catégorie
stats-fulfilled = Demandes satisfaites : { $done } sur { $total }
stats-exchanges = Échanges confirmés par mois
stats-events = Événements : { $count }, participations : { $attendance }
stats-has = Ce que le territoire a
stats-lacks = Ce qui lui manque
field-description = Description
field-category = Catégorie
field-kind = Type
field-place = Lieu
field-price = Prix
field-until = Jusqu'au
field-state = État
field-owner = Proposé par
field-start = Début
field-end = Fin
field-repeat = Répétition
field-answers = Réponses
field-created = Créé le
field-amount = Montant
field-note = Note

## États et types
state-open = ouverte
state-promised = promise
state-done = terminée
state-withdrawn = retirée
state-expired = expirée
state-matched = trouvée
state-fulfilled = satisfaite
state-scheduled = prévu
state-cancelled = annulé
state-proposed = proposé
state-accepted = accepté
state-confirmed = confirmé
state-declined = refusé
state-invalid = invalide
kind-give = don
kind-lend = prêt
kind-sell = vente
kind-service = service
kind-space = lieu
kind-ride = covoiturage
kind-group-buy = achat groupé
rsvp-yes = oui
rsvp-no = non
rsvp-maybe = peut-être

## Erreurs
error-prefix = Erreur
err-not-initialised = ce dossier n'est pas encore un foyer maillage : lancez d'abord `maillage init --name NOM`
err-already-initialised = ce dossier est déjà le foyer « { $name } »
err-no-community = vous n'êtes dans aucune communauté : lancez `maillage community create NOM` ou `maillage community join CODE`
err-unknown-id = { $kind } introuvable : « { $text } »
err-ambiguous-id = « { $text } » désigne plusieurs éléments ({ $candidates }) : tapez plus de caractères
err-unknown-member = aucun membre ne correspond à « { $text } » (donnez le nom du foyer ou le début de son identifiant)
err-ambiguous-member = « { $text } » correspond à plusieurs membres ({ $candidates }) : utilisez le début de l'identifiant
err-invalid = { $field } : { $problem }
err-not-yours = seul le foyer qui l'a publié peut modifier cet élément ({ $kind })
err-not-steward = seul·e un·e intendant·e de la communauté peut faire cela
err-credit-limit = cet échange porterait le solde de { $who } à { $after }, sous la limite de -{ $limit } de la communauté
err-invite = code d'invitation non valable : { $reason }
not-allowed-revoke-own-device = un appareil ne peut pas se révoquer lui-même : révoquez-le depuis un autre appareil du foyer
not-allowed-exchange-with-self = un échange se fait avec un autre foyer
not-allowed-invitation-without-use = une invitation doit servir au moins une fois
not-allowed-remove-founder = le foyer fondateur de la communauté ne peut pas en être retiré
not-allowed-received-with-item = --received ne se combine pas avec une offre ou une demande : c'est elle qui dit qui donne
not-allowed-item-of-another-household = l'offre ou la demande doit appartenir à l'un des deux foyers de l'échange
invite-not-a-code = ce n'est pas une invitation maillage (un code commence par maillage1-)
invite-checksum = le code est mal recopié : un de ses caractères est faux ou manque ; vérifiez-le sur l'invitation
invite-too-long = le code est trop long : quelque chose a été collé à la suite
invite-malformed = le code est illisible : il est incomplet ou mal recopié
invite-forged = le code a été modifié : ses signatures ne correspondent pas ; demandez une nouvelle invitation
link-not-a-code = ce n'est pas un code de liaison d'appareil maillage (un code commence par maillage-lien1-)
link-checksum = le code de liaison est mal recopié : un de ses caractères est faux ou manque
link-too-long = le code de liaison est trop long : quelque chose a été collé à la suite
link-malformed = le code de liaison est illisible : il est incomplet ou mal recopié
amount-not-a-number = « { $text } » n'est pas un montant (écrivez par exemple 12 ou 12,50)
amount-too-precise = un montant a au plus deux décimales
amount-out-of-range = un montant doit être compris entre 0 et 1 000 000
err-title-required = il faut un titre (--title)
err-store-read-only = le disque du foyer est en lecture seule : rien ne peut y être écrit (une carte SD usée passe souvent en lecture seule) ; copiez le dossier du foyer ailleurs pour garder ses données
err-store-damaged = la base de données est endommagée ; restaurez le foyer depuis une sauvegarde (maillage export) ou laissez le nœud d'un voisin la resynchroniser
io-read-only = le disque est en lecture seule
io-disk-full = le disque est plein
err-bundle = paquet refusé : { $reason }
err-bundle-stranger = paquet refusé : il vient d'un appareil d'un foyer avec lequel vous ne partagez aucune communauté
err-store-locked = la base de données est restée occupée par une autre commande maillage (ou un nœud qui démarre) pendant { $seconds } s : réessayez quand elle aura fini
err-store-node = le nœud de ce foyer est en marche (processus { $pid }) et garde la base de données tant qu'il tourne : arrêtez-le, ou passez par lui (`maillage status`)
err-store-newer = la base de données a été écrite par une version plus récente de maillage (format { $found }, celle-ci lit jusqu'au format { $supported }) : rien n'a été modifié ; mettez maillage à jour
err-store-io = le fichier de la base de données ne peut être ni lu ni écrit ({ $reason }) : disque plein ou défaillant ? Il sera rouvert au prochain essai
err-disk-full = le disque est plein : rien n'a été écrit ; libérez de la place et réessayez
err-writer-busy = une écriture ne peut pas attendre une autre écriture du même foyer (erreur interne ; rien n'a été modifié)
err-writer-stopped = le foyer est en train de se fermer : réessayez quand le nœud sera en marche
err-write-failed = l'écriture a échoué sur une erreur interne (voir le journal du nœud) ; ce qu'elle avait déjà enregistré, le cas échéant, est conservé
err-read-failed = la lecture a échoué sur une erreur interne
err-key-open = le fichier de clé { $path } est lisible par d'autres utilisateurs : lancez `chmod 600 { $path }` puis réessayez
err-key-damaged = le fichier de clé { $path } est endommagé ({ $reason }) : restaurez-le depuis une sauvegarde
err-date = { $text } n'est pas une date valable ({ $reason })

## Problèmes de champ
problem-empty = ne doit pas être vide
problem-too-long = fait { $found } caractères, la limite est { $max }
problem-not-one-of = « { $found } » n'est pas parmi : { $expected }
problem-required = est obligatoire
problem-out-of-range = doit être entre { $min } et { $max }
problem-end-before-start = la fin est avant le début
problem-control-characters = contient des caractères de contrôle
problem-transition = impossible de passer de « { $from } » à « { $to } »

## Noms de champ (dans les messages d'erreur)
fieldname-title = titre
fieldname-description = description
fieldname-category = catégorie
fieldname-place = lieu
fieldname-price = prix
fieldname-state = état
fieldname-name = nom
fieldname-unit = unité
fieldname-seats = places
fieldname-ride = trajet
fieldname-group_buy = achat groupé
fieldname-target = objectif
fieldname-note = note
fieldname-end = fin
fieldname-people = personnes
fieldname-exchange = échange
fieldname-from = départ
fieldname-to = arrivée

## Dates, durées, répétitions
time-empty = aucune date ni heure donnée (exemple : 2026-12-05 18:00)
time-invalid = « { $text } » n'est pas une date et une heure (exemple : 2026-12-05 18:00 ou 05/12/2026 18h00)
time-invalid-date = « { $text } » n'est pas un jour du calendrier (exemple : 2026-12-05, ou jour/mois/année)
time-invalid-time = « { $text } » n'est pas une heure valable (heures de 0 à 23, minutes de 0 à 59, par exemple 18:00 ou 18h00)
time-nonexistent = « { $text } » n'existe pas : les horloges avancent d'une heure à ce moment-là
time-out-of-range = « { $text } » est trop loin dans le passé ou l'avenir
time-invalid-deadline = « { $text } » n'est ni une date ni une durée (exemples : 2026-12-05, 7d, 2 semaines)
time-in-past = « { $text } » est déjà passé (donnez une date à venir, ou une durée comme 7d)
time-invalid-duration = « { $text } » n'est pas une durée (exemples : 30min, 12h, 3 jours, 2 semaines, 1 mois)
time-ambiguous-unit = « { $text } » est ambigu : m peut vouloir dire minutes ou mois (écrivez min ou mois)
time-zero-duration = « { $text } » est une durée nulle
time-duration-too-large = « { $text } » est une durée trop longue
time-rrule-missing-freq = « { $text } » n'a pas de FREQ (exemple : FREQ=WEEKLY;BYDAY=TU)
time-rrule-unsupported = la partie « { $text } » de la règle de répétition n'est pas prise en charge (seulement FREQ, INTERVAL, COUNT, UNTIL, WKST, et BYDAY avec FREQ=WEEKLY)
time-rrule-invalid = la partie « { $text } » de la règle de répétition n'est pas valable
time-rrule-duplicate = la partie { $text } apparaît plusieurs fois dans la règle de répétition
time-rrule-count-and-until = la règle de répétition a à la fois COUNT et UNTIL (un seul des deux)

## Types de document
doc-offer = offre
doc-request = demande
doc-event = événement
doc-exchange = échange
doc-document = document
doc-device = appareil
doc-community = communauté

## Paquets et fichiers
bundle-not-a-bundle = ce fichier n'est pas un paquet maillage
bundle-version = ce paquet vient d'une version plus récente de maillage ; mettez maillage à jour pour le lire
bundle-too-large = le paquet est trop gros
bundle-damaged = le paquet est endommagé ou incomplet (la copie a-t-elle été interrompue ?)
bundle-bad-signature = la signature du paquet ne correspond pas à son contenu : il a été modifié après l'export
err-file = impossible de lire ou d'écrire { $path } ({ $reason })
err-join-refused = votre adhésion à « { $name } » a été refusée : { $reason }
io-not-found = fichier ou dossier introuvable
io-permission = permission refusée
community-members-count = { $count } foyer(s)
device-revoked-at = révoqué le
soft-limit-warning = Attention : votre solde engagé est de { $balance }, au-delà du seuil d'alerte de -{ $limit } de la communauté.
state-void = sans objet

## Le nœud et son API locale
status-no-node = Aucun nœud ne tourne pour ce foyer (lancez `maillage node`).
status-running = Nœud en marche, identifiant de pair { $peer }
status-listening = Écoute sur
status-peers = Pairs connectés : { $count }
status-last-sync = Dernière synchronisation
status-never = jamais
peers-none = Aucun pair connecté.
err-no-node = aucun nœud ne tourne pour ce foyer : lancez `maillage node`
err-node-running = un nœud tourne pour ce foyer (pid { $pid }) : arrêtez-le d'abord
err-node-unauthorized = le nœud de ce foyer (pid { $pid }) refuse le jeton de { $path }
err-node-not-listening = le nœud de ce foyer (pid { $pid }) n'écoute plus sur { $url }
err-node-unreachable = le nœud de ce foyer (pid { $pid }) ne répond pas ({ $reason })
err-api-address = « { $addr } » n'est pas une adresse IP suivie d'un port (par exemple 127.0.0.1:0)
err-api-loopback = l'API locale n'écoute que sur la boucle locale (127.0.0.1 ou ::1), pas sur { $addr }
err-listen = impossible d'écouter sur { $addr } ({ $reason })
err-mesh-silent = le réseau du nœud ne répond pas
err-not-utf8 = l'argument « { $text } » n'est pas du texte valide (UTF-8)

## Rejoindre en ligne, relier un appareil
join-contacting = Connexion au nœud qui vous invite…
join-admitted = Admis ; réception des documents…
join-received = { $count } document(s) reçu(s)…
community-joined-online = Bienvenue dans « { $name } » ! { $count } document(s) reçu(s).
community-joined-offline = Vous avez rejoint « { $name } » hors ligne : aucun nœud de la communauté n'a répondu ; votre nœud se synchronisera quand il joindra un membre.
join-sync-unfinished = La synchronisation n'est pas terminée : votre nœud la finira quand il tournera.
link-made = Code pour relier un nouvel appareil (valable jusqu'au { $expires }, une seule fois) :
link-node-answers = Sur la nouvelle machine, lancez `maillage device add CODE` pendant que le nœud de ce foyer tourne.
link-waiting = En attente de la nouvelle machine jusqu'au { $expires } : lancez-y `maillage device add CODE` et laissez cette fenêtre ouverte.
device-linked = Appareil { $id } (« { $label } ») relié à votre foyer.
device-added = Cette machine est maintenant un appareil du foyer « { $name } ». { $count } document(s) reçu(s).
refusal-not-a-member = votre foyer n'est pas membre de cette communauté
refusal-answerer-not-a-member = le nœud contacté n'est plus membre de la communauté : demandez un code à un autre responsable
refusal-invite-expired = l'invitation a expiré : demandez un nouveau code
refusal-invite-used-up = l'invitation a déjà servi autant de fois que permis : demandez un nouveau code
refusal-invite-forged = le code d'invitation est falsifié ou ne correspond pas à cette communauté
refusal-inviter-removed = le foyer qui vous a invité a été retiré de la communauté : demandez un code à un autre responsable
refusal-inviter-not-steward = le foyer qui vous a invité n'est pas responsable de la communauté
refusal-removed = votre foyer a été retiré de cette communauté
refusal-link-unknown = aucune liaison en attente ne correspond à ce code (déjà utilisé, ou fait sur un autre appareil) : faites-en un nouveau avec `maillage device link`
refusal-link-expired = le code de liaison a expiré : faites-en un nouveau avec `maillage device link`
err-no-root-key = seul le premier appareil du foyer détient la clé racine nécessaire : lancez cette commande sur celui-ci
err-link-incomplete = cette machine n'a jamais été reliée à son foyer : relancez `maillage device add CODE` avec un nouveau code du premier appareil
err-link-code = code de liaison non valable : { $reason }
err-link-unreachable = le premier appareil du foyer n'a pas répondu ({ $reason }) : son nœud tourne-t-il, ou `maillage device link` y attend-il ? Relancez ensuite `maillage device add CODE`.
err-link-no-address = ce code ne dit pas où joindre le premier appareil du foyer : faites-le avec le nœud en marche
err-link-nobody = personne n'a utilisé le code de liaison avant son expiration
err-bad-answer = la réponse de l'autre nœud est illisible

## Noms des champs qu'un refus désigne (ValidationError::field de crdt)
field-title = Titre
field-from = Départ
field-to = Arrivée
field-seats = Places
field-ride = Trajet
field-unit = Unité
field-target = Objectif
field-group_buy = Achat groupé
field-people = Personnes
field-name = Nom
field-exchange = Échange
field-OfferKind = Type d'offre
field-OfferState = État de l'offre
field-RequestState = État de la demande
field-RsvpAnswer = Réponse

## Protéger la clé racine du foyer par une phrase de passe (`maillage key`)
passphrase-new = Nouvelle phrase de passe pour la clé du foyer :
passphrase-again = La même phrase de passe, une seconde fois :
passphrase-current = Phrase de passe de la clé du foyer :
key-protected = La clé racine du foyer est désormais protégée par votre phrase de passe. Relier ou révoquer un appareil la demandera ; gardez-la précieusement, elle ne peut pas être retrouvée.
key-unprotected = La clé racine du foyer n'est plus protégée par une phrase de passe.
err-root-key-locked = la clé racine du foyer est protégée par une phrase de passe : lancez cette commande dans un terminal pour la saisir, ou donnez-la sur l'entrée standard
err-root-key-protected = la clé racine du foyer est déjà protégée par une phrase de passe (`maillage key unprotect` retire cette protection)
err-root-key-not-protected = la clé racine du foyer n'est pas protégée par une phrase de passe
err-passphrase-empty = la phrase de passe est vide : choisissez-en une
err-passphrases-differ = les deux phrases de passe diffèrent : rien n'a été changé
err-wrong-passphrase = phrase de passe incorrecte : rien n'a été changé
whoami-root-key = Clé du foyer
whoami-root-key-present = sur cet appareil
whoami-root-key-protected = sur cet appareil, protégée par une phrase de passe
whoami-root-key-absent = absente de cet appareil
