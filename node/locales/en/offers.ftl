# en — offers strings of the web page (see node/src/web/).
# Ids ending in -offer / -request are the two halves of the page
# (/offres, /demandes); the code picks one by the page's side.

## The list
offers-list-title-offer = Offers
offers-list-title-request = Requests
offers-new-offer = Post an offer
offers-new-request = Post a request
offers-search-label-offer = Search the offers
offers-search-label-request = Search the requests
offers-search = Search
offers-search-submit = Search
offers-clear-filters = Show everything
offers-any-category = All categories
offers-any-kind = All kinds
offers-any-place = All places
offers-state-current = Current
offers-state-all = All, closed ones too
offers-count-one-offer = { $count } offer
offers-count-many-offer = { $count } offers
offers-count-one-request = { $count } request
offers-count-many-request = { $count } requests
offers-list-empty-offer = No offers yet. Be the first household to share something!
offers-list-empty-request = No requests yet.
offers-list-no-match-offer = No offer matches your search.
offers-list-no-match-request = No request matches your search.
offers-list-page-empty = This page is empty: go back to the first page.
offers-card-by-offer = Offered by { $name }
offers-card-by-request = Requested by { $name }
offers-card-yours = By your household
offers-card-updated = updated { $date }
offers-card-until = until { $date }
offers-pager-label = Result pages
offers-pager-previous = Previous page
offers-pager-next = Next page
offers-pager-position = Page { $page } of { $pages }

## One item
offers-back-offer = All offers
offers-back-request = All requests
offers-field-owner = Household
offers-you = you
offers-field-posted = Posted
offers-field-updated = Changed
offers-ride = Ride
offers-ride-text = { $from } → { $to }, leaving { $when }, { $seats } seat(s)
offers-group = Group purchase
offers-group-text = target { $target } { $unit } before { $deadline }
offers-propose-exchange = Propose an exchange
offers-edit = Edit
offers-delete = Delete
offers-close-offer = Mark as done
offers-close-request = Mark as fulfilled
offers-delete-confirm-offer = Delete this offer? It will disappear for your neighbours too.
offers-delete-confirm-request = Delete this request? It will disappear for your neighbours too.
offers-deleted-offer = This offer was deleted by the household that posted it.
offers-deleted-request = This request was deleted by the household that posted it.
offers-matches-title-offer = Requests it may answer
offers-matches-title-request = Offers that may answer it
offers-matches-none-offer = No open request seems to match it yet.
offers-matches-none-request = No open offer seems to match it yet.

## The form
offers-edit-title-offer = Edit the offer
offers-edit-title-request = Edit the request
offers-field-title = Title
offers-hint-category = One word, for example: tools, garden, cooking. Empty: “divers”.
offers-hint-kind-offer = A sale needs a price; a ride or a group purchase, the details below.
offers-hint-kind-request = The kind of offer that would suit you, if it matters.
offers-kind-any = Any
offers-hint-place = A hamlet or a place name, never an exact address.
offers-hint-price = Unit: { $unit }. For example 12 or 12.50. Required for a sale.
offers-hint-until-offer = Optional: after this day, the offer no longer shows in the list.
offers-hint-until-request = Optional: after this day, the request no longer shows in the list.
offers-ride-legend = For a ride
offers-ride-hint = Fill in only if the kind is “ride”.
offers-field-ride-from = From
offers-field-ride-to = To
offers-field-ride-departs = Departure date and time
offers-field-ride-seats = Free seats
offers-group-legend = For a group purchase
offers-group-hint = Fill in only if the kind is “group purchase”.
offers-field-group-unit = What is counted (kg, bags…)
offers-field-group-target = Target quantity
offers-field-group-deadline = Deadline
offers-publish = Publish
offers-save = Save
offers-cancel = Cancel
offers-error-price = “{ $text }” is not a price (examples: 12 or 12.50)
offers-error-price-precise = at most two digits after the decimal point
offers-error-price-range = this price is too large
offers-error-number = “{ $text }” is not a whole number

## A household in no community yet
offers-no-community = Your household is not in a community yet: create one, or join your neighbours’ with their invite code.
offers-no-community-link = Go to the Community page

## Editing: the form shows the current price and expiry, and emptying one removes it
offers-hint-price-edit = Unit: { $unit }. For example 12 or 12.50. Required for a sale; empty the field to remove the price.
offers-hint-until-edit-offer = Optional: after this day, the offer no longer shows in the list. Empty the field and it no longer expires.
offers-hint-until-edit-request = Optional: after this day, the request no longer shows in the list. Empty the field and it no longer expires.
