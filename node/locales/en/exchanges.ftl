# en — exchanges strings of the web page (see node/src/web/).

exchanges-title = Exchanges
exchanges-intro = Your household’s exchanges with the other households of the community, and everyone’s balance (unit: { $unit }).
exchanges-propose-link = Propose an exchange
exchanges-csv-link = Download the ledger (CSV, for a spreadsheet)
exchanges-todo = To do
exchanges-in-progress = Under way
exchanges-done = Finished
exchanges-others = Between other households
exchanges-none-todo = Nothing to do for now.
exchanges-none-in-progress = No exchange under way.
exchanges-none-done = No finished exchange.
exchanges-none-others = No exchange between other households.
exchanges-pager-done = Pages of finished exchanges
exchanges-pager-others = Pages of exchanges between other households
exchanges-pager-previous = Previous page
exchanges-pager-next = Next page
exchanges-pager-position = Page { $page } of { $pages }
exchanges-untitled = Exchange without a description
exchanges-no-note = (no description)
exchanges-you = you ({ $name })
exchanges-you-marker = (you)
exchanges-giver = Who gives
exchanges-receiver = Who receives
exchanges-amount = Amount
exchanges-what = What
exchanges-about-offer = In answer to the offer
exchanges-about-request = In answer to the request
exchanges-state = State
exchanges-proposed-on = proposed on { $date }

exchanges-expect-answer = { $who } proposes this exchange to you: accept or decline it.
exchanges-expect-confirm = Once the exchange has taken place, confirm it: it then counts in the balances.
exchanges-expect-own-confirm = { $who } confirmed that the exchange took place; it counts in the balances. Confirm it too if it did.
exchanges-waiting-answer = { $who } has not answered yet.
exchanges-counted = This exchange took place: it counts in the balances.
exchanges-closed = This exchange did not take place: it does not count in the balances.
exchanges-not-yours = This exchange is between two other households: you can read it, not answer it.

exchanges-action-accept = Accept
exchanges-action-confirm = Confirm it took place
exchanges-action-decline = Decline
exchanges-action-cancel = Cancel the exchange
exchanges-action-context = “{ $what }”
exchanges-confirm-decline = Decline this exchange? The other household will see it declined.
exchanges-confirm-cancel = Cancel this exchange? The other household will see it cancelled.

exchanges-balances = Balances
exchanges-balances-explain = Each confirmed exchange credits the household that gives and debits the one that receives by the same amount: balances always add up to zero. A negative balance is no fault: the household has received more than it gave, for now.
exchanges-balances-caption = Balance of each household (unit: { $unit })
exchanges-col-household = Household
exchanges-col-balance = Balance ({ $unit })
exchanges-col-meaning = Meaning
exchanges-balance-positive = gave more than it received
exchanges-balance-negative = received more than it gave
exchanges-balance-zero = even
exchanges-warning-label = Warning:
exchanges-soft-limit = counting accepted exchanges, your balance is { $balance }, past the community’s alert threshold (−{ $limit }).

exchanges-detail-title = Exchange: { $what }
exchanges-what-now = What now?
exchanges-history = History
exchanges-history-proposed = { $who } proposed the exchange
exchanges-history-accepted = { $who } accepted
exchanges-history-declined = { $who } declined
exchanges-history-cancelled = { $who } cancelled
exchanges-history-confirmed = { $who } confirmed the exchange took place
exchanges-back = Back to exchanges
exchanges-refused = Action refused
exchanges-out-of-turn = this exchange is “{ $state }”: “{ $action }” is not possible for you now.
exchanges-not-a-party = only the two households of an exchange can answer it.

exchanges-new-title = Propose an exchange
exchanges-new-intro = The other household accepts or declines your proposal; once the exchange is done, either of you confirms it and it then counts in the balances.
exchanges-about-offer-of = In answer to the offer “{ $title }”, posted by { $owner }.
exchanges-about-request-of = In answer to the request “{ $title }”, posted by { $owner }.
exchanges-see-item = See the listing
exchanges-no-members = You are alone in the community for now: invite neighbours from the Community page to exchange with them.
exchanges-field-counterpart = With which household?
exchanges-choose-household = — Choose a household —
exchanges-field-direction = Which way?
exchanges-choose-direction = — Choose —
exchanges-direction-give = I give
exchanges-direction-receive = I receive
exchanges-direction-hint = The household that gives is credited the amount, the one that receives is debited.
exchanges-field-amount = Amount (unit: { $unit })
exchanges-amount-hint = For example 2 or 1.5.
exchanges-field-what = What?
exchanges-what-hint = What was given or done, in a few words (for example “Lending the drill”).
exchanges-submit = Propose the exchange

exchanges-error-counterpart = Choose the household you exchange with.
exchanges-error-self = An exchange is made with another household than yours.
exchanges-error-direction = Choose “I give” or “I receive”.
exchanges-error-direction-item = { $kind ->
    [request] This request
   *[offer] This offer
  } already says who gives: choose “{ $direction }”.
exchanges-error-item-owner = { $kind ->
    [request] This request
   *[offer] This offer
  } was posted by { $owner }: the exchange is made with that household.
exchanges-error-amount-empty = Enter an amount.
exchanges-error-amount-zero = Enter an amount greater than 0.
exchanges-error-amount-nan = “{ $text }” is not an amount: write a number such as 2 or 1.5.
exchanges-error-amount-precise = An amount has at most two decimals.
exchanges-error-amount-range = An amount must be between 0 and 1,000,000.

exchanges-csv-filename = exchange-ledger
exchanges-csv-date = Date
exchanges-csv-giver = Who gave
exchanges-csv-receiver = Who received
exchanges-csv-amount = Amount
exchanges-csv-unit = Unit
exchanges-csv-what = What
