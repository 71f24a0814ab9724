# English catalogue — maillage's second language.

## Success
init-done = Household "{ $name }" created. Id: { $id }
    Next: `maillage community create NAME` or `maillage community join CODE`.
community-created = Community "{ $name }" created. You are its steward.
community-joined = Welcome to "{ $name }"!
community-using = Current community: "{ $name }".
invite-made = Invite code ({ $uses } use(s), valid until { $expires }):
member-removed = { $name } is no longer a member.
offer-added = Offer posted: { $id }
request-added = Request posted: { $id }
event-added = Event added: { $id }
item-updated = Updated: { $id }
item-closed = Closed: { $id }
item-deleted = Deleted: { $id }
rsvp-done = Answer recorded: { $answer }
exchange-proposed = Exchange proposed: { $id }. { $with } needs to accept it.
exchange-now = Exchange { $id }: { $state }
exported = { $count } document(s) exported to { $path }
imported = Imported the bundle from { $exporter }: { $changes } new change(s), { $known } already known, { $records } identity or membership record(s).
import-refused-some = { $count } change(s) refused (invalid signature or author).
device-revoked = Device { $id } revoked.
nothing = Nothing to show.

## Headings
whoami-household = Household
whoami-device = Device
whoami-place = Place
whoami-home = Home
whoami-communities = Communities
members-title = Members of "{ $name }"
steward = steward
balance-title = Balances in { $unit }
balance-of = Balance of { $name }: { $amount } { $unit }
match-title = Open requests and the offers that may answer them
match-none = (no matching offer yet)
stats-title = Indicators of "{ $name }"
stats-members = Member households: { $count }
stats-active = Active households (90 days): { $count }
stats-offers = Open offers by category
stats-requests = Open requests by category
stats-fulfilled = Requests fulfilled: { $done } of { $total }
stats-exchanges = Confirmed exchanges per month
stats-events = Events: { $count }, attendance: { $attendance }
stats-has = What the territory has
stats-lacks = What it lacks
field-description = Description
field-category = Category
field-kind = Kind
field-place = Place
field-price = Price
field-until = Until
field-state = State
field-owner = Posted by
field-start = Start
field-end = End
field-repeat = Repeats
field-answers = Answers
field-created = Created
field-amount = Amount
field-note = Note

## States and kinds
state-open = open
state-promised = promised
state-done = done
state-withdrawn = withdrawn
state-expired = expired
state-matched = matched
state-fulfilled = fulfilled
state-scheduled = scheduled
state-cancelled = cancelled
state-proposed = proposed
state-accepted = accepted
state-confirmed = confirmed
state-declined = declined
state-invalid = invalid
kind-give = give
kind-lend = lend
kind-sell = sell
kind-service = service
kind-space = space
kind-ride = ride
kind-group-buy = group purchase
rsvp-yes = yes
rsvp-no = no
rsvp-maybe = maybe

## Errors
error-prefix = Error
err-not-initialised = this home is not set up yet: run `maillage init --name NAME` first
err-already-initialised = this home is already set up for "{ $name }"
err-no-community = you are not in a community yet: run `maillage community create NAME` or `maillage community join CODE`
err-unknown-id = no { $kind } matches "{ $text }"
err-ambiguous-id = "{ $text }" matches several { $kind }s ({ $candidates }); type more characters
err-unknown-member = no member matches "{ $text }" (give a household name or an id prefix)
err-ambiguous-member = "{ $text }" matches several members ({ $candidates }); use an id prefix
err-invalid = { $field }: { $problem }
err-not-yours = only the household that posted this { $kind } can change it
err-not-steward = only a steward of the community can do this
err-credit-limit = this exchange would take { $who }'s balance to { $after }, below the community's limit of -{ $limit }
err-invite = invalid invite code: { $reason }
not-allowed-revoke-own-device = a device cannot revoke itself: revoke it from another device of the household
not-allowed-exchange-with-self = an exchange needs another household
not-allowed-invitation-without-use = an invitation needs at least one use
not-allowed-remove-founder = the founder of the community cannot be removed
not-allowed-received-with-item = --received cannot be combined with an offer or a request: the item says who gives
not-allowed-item-of-another-household = the offer or request must belong to one of the two households of the exchange
invite-not-a-code = this is not a maillage invitation (a code starts with maillage1-)
invite-checksum = the code is mistyped: one of its characters is wrong or missing; check it against the invitation
invite-too-long = the code is too long: something was pasted after it
invite-malformed = the code cannot be read: it is incomplete or mistyped
invite-forged = the code was altered: its signatures do not match; ask for a new invitation
link-not-a-code = this is not a maillage device link code (a code starts with maillage-lien1-)
link-checksum = the link code is mistyped: one of its characters is wrong or missing
link-too-long = the link code is too long: something was pasted after it
link-malformed = the link code cannot be read: it is incomplete or mistyped
amount-not-a-number = "{ $text }" is not an amount (write it like 12 or 12.50)
amount-too-precise = an amount has at most two decimals
amount-out-of-range = an amount must be between 0 and 1,000,000
err-title-required = a title is needed (--title)
err-store-read-only = the household's disk is read-only: nothing can be written to it (worn SD cards often turn read-only); copy the home's folder elsewhere to keep its data
err-store-damaged = the store is damaged; restore the home from a backup (maillage export) or ask a neighbour's node to sync it again
io-read-only = the disk is read-only
io-disk-full = the disk is full
err-bundle = bundle refused: { $reason }
err-bundle-stranger = bundle refused: it was exported by a device of no household you share a community with
err-store-locked = the store stayed in use by another maillage command (or a node starting) for { $seconds } s; try again once it has finished
err-store-node = this household's node is running (process { $pid }) and keeps the store while it runs; stop it, or go through it (`maillage status`)
err-store-newer = the store was written by a newer version of maillage (layout { $found }; this one reads up to layout { $supported }); nothing was changed: update maillage
err-store-io = the store's file cannot be read or written ({ $reason }): a full or failing disk? It is reopened at the next try
err-disk-full = the disk is full: nothing was written; free some space and try again
err-writer-busy = a write cannot wait for another write of the same household (an internal error; nothing was changed)
err-writer-stopped = the household is closing: try again once the node is running
err-write-failed = the write failed on an internal error (see the node's log); what it had already stored, if anything, is kept
err-read-failed = the read failed on an internal error
err-key-open = key file { $path } can be read by other users; run `chmod 600 { $path }` and try again
err-key-damaged = key file { $path } is damaged ({ $reason }); restore it from a backup
err-date = { $text } is not a valid date ({ $reason })

## Field problems
problem-empty = must not be empty
problem-too-long = is { $found } characters long, the limit is { $max }
problem-not-one-of = "{ $found }" is not one of: { $expected }
problem-required = is required
problem-out-of-range = must be between { $min } and { $max }
problem-end-before-start = the end comes before the start
problem-control-characters = contains control characters
problem-transition = cannot go from "{ $from }" to "{ $to }"

## Field names (in error messages)
fieldname-title = title
fieldname-description = description
fieldname-category = category
fieldname-place = place
fieldname-price = price
fieldname-state = state
fieldname-name = name
fieldname-unit = unit
fieldname-seats = seats
fieldname-ride = ride
fieldname-group_buy = group purchase
fieldname-target = target
fieldname-note = note
fieldname-end = end
fieldname-people = people
fieldname-exchange = exchange
fieldname-from = from
fieldname-to = to

## Dates, durations, recurrence
time-empty = no date or time given (expected e.g. 2026-12-05 18:00)
time-invalid = "{ $text }" is not a date and time (expected e.g. 2026-12-05 18:00 or 05/12/2026 18h00)
time-invalid-date = "{ $text }" is not a real calendar day (expected year-month-day such as 2026-12-05, or day/month/year)
time-invalid-time = "{ $text }" is not a valid time of day (hours 0-23 and minutes 0-59, e.g. 18:00 or 18h00)
time-nonexistent = "{ $text }" does not exist: clocks jump forward then
time-out-of-range = "{ $text }" is too far in the past or future
time-invalid-deadline = "{ $text }" is not a date or a duration (e.g. 2026-12-05, 7d, 2w)
time-in-past = "{ $text }" is not in the future (give a later date, or a duration such as 7d)
time-invalid-duration = "{ $text }" is not a duration (e.g. 30min, 12h, 3d, 2w, 1mo)
time-ambiguous-unit = "{ $text }" is ambiguous: m could mean minutes or months (write min or mo)
time-zero-duration = "{ $text }" is zero
time-duration-too-large = "{ $text }" is too long
time-rrule-missing-freq = "{ $text }" has no FREQ (e.g. FREQ=WEEKLY;BYDAY=TU)
time-rrule-unsupported = recurrence rule part "{ $text }" is not supported (only FREQ, INTERVAL, COUNT, UNTIL, WKST, and BYDAY with FREQ=WEEKLY)
time-rrule-invalid = recurrence rule part "{ $text }" is invalid
time-rrule-duplicate = recurrence rule part { $text } appears more than once
time-rrule-count-and-until = the recurrence rule has both COUNT and UNTIL (only one of them)

## Document kinds
doc-offer = offer
doc-request = request
doc-event = event
doc-exchange = exchange
doc-document = document
doc-device = device
doc-community = community

## Bundles and files
bundle-not-a-bundle = this file is not a maillage bundle
bundle-version = this bundle was written by a newer maillage; update maillage to read it
bundle-too-large = the bundle is too large
bundle-damaged = the bundle is damaged or incomplete (was the copy cut short?)
bundle-bad-signature = the bundle's signature does not match its content: it was altered after export
err-file = cannot read or write { $path } ({ $reason })
err-join-refused = your membership of "{ $name }" was refused: { $reason }
io-not-found = no such file or directory
io-permission = permission denied
community-members-count = { $count } household(s)
device-revoked-at = revoked on
soft-limit-warning = Note: your committed balance is { $balance }, past the community's warning threshold of -{ $limit }.
state-void = void

## The node and its local API
status-no-node = No node is running for this household (start one with `maillage node`).
status-running = Node running, peer id { $peer }
status-listening = Listening on
status-peers = Connected peers: { $count }
status-last-sync = Last sync
status-never = never
peers-none = No peer connected.
err-no-node = no node is running for this household: start one with `maillage node`
err-node-running = a node is running for this household (pid { $pid }): stop it first
err-node-unauthorized = this household's node (pid { $pid }) refuses the token in { $path }
err-node-not-listening = this household's node (pid { $pid }) no longer listens at { $url }
err-node-unreachable = this household's node (pid { $pid }) does not answer ({ $reason })
err-api-address = "{ $addr }" is not an IP address and port (e.g. 127.0.0.1:0)
err-api-loopback = the local API listens on loopback only (127.0.0.1 or ::1), not on { $addr }
err-listen = cannot listen on { $addr } ({ $reason })
err-mesh-silent = the node's network does not answer
err-not-utf8 = the argument "{ $text }" is not valid text (UTF-8)

## Joining online, linking a device
join-contacting = Contacting the node that invited you…
join-admitted = Admitted; receiving documents…
join-received = { $count } document(s) received…
community-joined-online = Welcome to "{ $name }"! { $count } document(s) received.
community-joined-offline = Joined "{ $name }" offline: no node of the community answered; your node will sync when it reaches a member.
join-sync-unfinished = The sync is not finished: your node will finish it when it runs.
link-made = Code to link a new device (valid until { $expires }, once):
link-node-answers = On the new machine, run `maillage device add CODE` while this household's node runs.
link-waiting = Waiting for the new machine until { $expires }: run `maillage device add CODE` there and keep this window open.
device-linked = Device { $id } ("{ $label }") linked to your household.
device-added = This machine is now a device of the household "{ $name }". { $count } document(s) received.
refusal-not-a-member = your household is not a member of this community
refusal-answerer-not-a-member = the node contacted is no longer a member of the community: ask another steward for a code
refusal-invite-expired = the invitation has expired: ask for a new code
refusal-invite-used-up = the invitation has already been used as many times as allowed: ask for a new code
refusal-invite-forged = the invite code is forged or does not match this community
refusal-inviter-removed = the household that invited you was removed from the community: ask another steward for a code
refusal-inviter-not-steward = the household that invited you is not a steward of the community
refusal-removed = your household was removed from this community
refusal-link-unknown = no device link waiting matches this code (already used, or made on another device): make a new one with `maillage device link`
refusal-link-expired = the device link code has expired: make a new one with `maillage device link`
err-no-root-key = only the household's first device holds the root key needed for this: run this command there
err-link-incomplete = this machine was never linked to its household: run `maillage device add CODE` again with a new code from the first device
err-link-code = invalid device link code: { $reason }
err-link-unreachable = the household's first device did not answer ({ $reason }): is its node running, or `maillage device link` waiting there? Then run `maillage device add CODE` again.
err-link-no-address = this code does not say where to reach the household's first device: make it while the node runs
err-link-nobody = nobody used the device link code before it expired
err-bad-answer = the other node's answer cannot be read

## Names of the fields a refusal points at (crdt's ValidationError::field)
field-title = Title
field-from = From
field-to = To
field-seats = Seats
field-ride = Ride
field-unit = Unit
field-target = Target
field-group_buy = Group purchase
field-people = People
field-name = Name
field-exchange = Exchange
field-OfferKind = Kind of offer
field-OfferState = State of the offer
field-RequestState = State of the request
field-RsvpAnswer = Answer

## Protecting the household root key with a passphrase (`maillage key`)
passphrase-new = New passphrase for the household key:
passphrase-again = The same passphrase again:
passphrase-current = Passphrase of the household key:
key-protected = The household root key is now protected by your passphrase. Linking and revoking devices will ask for it; keep it safe, it cannot be recovered.
key-unprotected = The household root key is no longer protected by a passphrase.
err-root-key-locked = the household root key is protected by a passphrase: run this command in a terminal to type it, or give it on standard input
err-root-key-protected = the household root key is already protected by a passphrase (`maillage key unprotect` removes it)
err-root-key-not-protected = the household root key is not protected by a passphrase
err-passphrase-empty = the passphrase is empty: choose one
err-passphrases-differ = the two passphrases differ: nothing was changed
err-wrong-passphrase = wrong passphrase: nothing was changed
whoami-root-key = Household key
whoami-root-key-present = on this device
whoami-root-key-protected = on this device, protected by a passphrase
whoami-root-key-absent = not on this device
