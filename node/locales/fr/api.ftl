# L'API locale (/v1/…) : les messages que d'autres programmes montrent à leurs utilisateurs.
api-unauthorized = jeton d'API absent, faux ou révoqué
api-read-only = ce jeton ne permet que la lecture : demandez au foyer son propre jeton pour modifier quoi que ce soit
api-bad-json = le corps de la requête n'est pas le JSON attendu par cette ressource : { $detail }
api-bad-query = les paramètres de la requête ne sont pas ceux attendus par cette ressource : { $detail }
api-bad-amount = « { $text } » n'est pas un montant (écrivez par exemple 12 ou 12,50)
api-bad-datetime = « { $text } » n'est pas une date et une heure (écrivez par exemple 2026-12-05 18:00)
api-bad-rrule = « { $text } » n'est pas une règle de répétition connue (par exemple FREQ=WEEKLY;BYDAY=TU)
api-request-price = une demande n'a pas de prix
api-no-route = cette ressource n'existe pas dans l'API (voir /v1/openapi.json)
api-token-unknown = aucun jeton d'API ne correspond à « { $id } »
api-token-ambiguous = « { $id } » correspond à plusieurs jetons d'API : donnez davantage de son identifiant
api-token-scope = seuls des jetons en lecture seule peuvent être créés : le jeton du foyer est le seul jeton complet
# maillage api token …
api-token-added = Jeton pour « { $label } » (lecture seule). Il n'est montré que cette fois ; donnez-le au programme qui l'utilisera :
api-token-none = Aucun jeton d'API n'a été remis.
api-token-revoked = Jeton « { $label } » révoqué : il n'ouvre plus rien.
api-token-line-revoked = révoqué
