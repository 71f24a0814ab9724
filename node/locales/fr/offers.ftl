# fr — offers strings of the web page (see node/src/web/).
# Ids ending in -offer / -request are the two halves of the page
# (/offres, /demandes); the code picks one by the page's side.

## The list
offers-list-title-offer = Offres
offers-list-title-request = Demandes
offers-new-offer = Proposer une offre
offers-new-request = Faire une demande
offers-search-label-offer = Rechercher parmi les offres
offers-search-label-request = Rechercher parmi les demandes
offers-search = Rechercher
offers-search-submit = Rechercher
offers-clear-filters = Tout afficher
offers-any-category = Toutes les catégories
offers-any-kind = Tous les types
offers-any-place = Tous les lieux
offers-state-current = En cours
offers-state-all = Toutes, même fermées
offers-count-one-offer = { $count } offre
offers-count-many-offer = { $count } offres
offers-count-one-request = { $count } demande
offers-count-many-request = { $count } demandes
offers-list-empty-offer = Aucune offre pour l’instant. Soyez le premier foyer à proposer quelque chose !
offers-list-empty-request = Aucune demande pour l’instant.
offers-list-no-match-offer = Aucune offre ne correspond à votre recherche.
offers-list-no-match-request = Aucune demande ne correspond à votre recherche.
offers-list-page-empty = Cette page est vide : revenez à la première page.
offers-card-by-offer = Proposée par { $name }
offers-card-by-request = Demandée par { $name }
offers-card-yours = Par votre foyer
offers-card-updated = mise à jour le { $date }
offers-card-until = jusqu’au { $date }
offers-pager-label = Pages de résultats
offers-pager-previous = Page précédente
offers-pager-next = Page suivante
offers-pager-position = Page { $page } sur { $pages }

## One item
offers-back-offer = Toutes les offres
offers-back-request = Toutes les demandes
offers-field-owner = Foyer
offers-you = vous
offers-field-posted = Publiée le
offers-field-updated = Modifiée le
offers-ride = Trajet
offers-ride-text = { $from } → { $to }, départ le { $when }, { $seats } place(s)
offers-group = Achat groupé
offers-group-text = objectif { $target } { $unit } avant le { $deadline }
offers-propose-exchange = Proposer un échange
offers-edit = Modifier
offers-delete = Supprimer
offers-close-offer = Marquer comme terminée
offers-close-request = Marquer comme satisfaite
offers-delete-confirm-offer = Supprimer cette offre ? Elle disparaîtra aussi chez vos voisins.
offers-delete-confirm-request = Supprimer cette demande ? Elle disparaîtra aussi chez vos voisins.
offers-deleted-offer = Cette offre a été supprimée par le foyer qui l’avait publiée.
offers-deleted-request = Cette demande a été supprimée par le foyer qui l’avait publiée.
offers-matches-title-offer = Demandes qui pourraient y répondre
offers-matches-title-request = Offres qui pourraient y répondre
offers-matches-none-offer = Aucune demande ouverte ne semble y correspondre pour l’instant.
offers-matches-none-request = Aucune offre ouverte ne semble y correspondre pour l’instant.

## The form
offers-edit-title-offer = Modifier l’offre
offers-edit-title-request = Modifier la demande
offers-field-title = Titre
offers-hint-category = Un mot, par exemple : outils, jardin, cuisine. Vide : « divers ».
offers-hint-kind-offer = Une vente demande un prix ; un covoiturage ou un achat groupé, les détails plus bas.
offers-hint-kind-request = Le genre d’offre qui vous conviendrait, si cela compte.
offers-kind-any = Peu importe
offers-hint-place = Un hameau ou un lieu-dit, jamais une adresse exacte.
offers-hint-price = Unité : { $unit }. Par exemple 12 ou 12,50. Obligatoire pour une vente.
offers-hint-until-offer = Facultatif : après ce jour, l’offre n’apparaît plus dans la liste.
offers-hint-until-request = Facultatif : après ce jour, la demande n’apparaît plus dans la liste.
offers-ride-legend = Pour un covoiturage
offers-ride-hint = À remplir seulement si le type est « covoiturage ».
offers-field-ride-from = Départ de
offers-field-ride-to = Arrivée à
offers-field-ride-departs = Date et heure du départ
offers-field-ride-seats = Places libres
offers-group-legend = Pour un achat groupé
offers-group-hint = À remplir seulement si le type est « achat groupé ».
offers-field-group-unit = Ce qui est compté (kg, sacs…)
offers-field-group-target = Quantité visée
offers-field-group-deadline = Date limite
offers-publish = Publier
offers-save = Enregistrer
offers-cancel = Annuler
offers-error-price = « { $text } » n’est pas un prix (exemples : 12 ou 12,50)
offers-error-price-precise = au plus deux chiffres après la virgule
offers-error-price-range = ce prix est trop grand
offers-error-number = « { $text } » n’est pas un nombre entier

## A household in no community yet
offers-no-community = Votre foyer ne fait encore partie d’aucune communauté : créez-en une ou rejoignez celle de vos voisins avec leur code d’invitation.
offers-no-community-link = Aller à la page Communauté

## Modification : le formulaire montre le prix et l’échéance actuels, et vider l’un des deux le retire
offers-hint-price-edit = Unité : { $unit }. Par exemple 12 ou 12,50. Obligatoire pour une vente ; videz le champ pour retirer le prix.
offers-hint-until-edit-offer = Facultatif : après ce jour, l’offre n’apparaît plus dans la liste. Videz le champ : elle n’expire plus.
offers-hint-until-edit-request = Facultatif : après ce jour, la demande n’apparaît plus dans la liste. Videz le champ : elle n’expire plus.
