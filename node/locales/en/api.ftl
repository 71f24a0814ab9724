# The local API (/v1/…): messages other programs show their users.
api-unauthorized = missing, wrong or revoked API token
api-read-only = this token may only read: ask the household for its own token to change anything
api-bad-json = the request body is not the JSON this resource takes: { $detail }
api-bad-query = the request's parameters are not the ones this resource takes: { $detail }
api-bad-amount = "{ $text }" is not an amount (write it like 12 or 12.50)
api-bad-datetime = "{ $text }" is not a date and time (write it like 2026-12-05 18:00)
api-bad-rrule = "{ $text }" is not a repetition rule this calendar knows (e.g. FREQ=WEEKLY;BYDAY=TU)
api-request-price = a request has no price
api-no-route = there is no such resource in this API (see /v1/openapi.json)
api-token-unknown = no API token matches "{ $id }"
api-token-ambiguous = "{ $id }" matches several API tokens: give more of its id
api-token-scope = only read-only tokens can be made: the household's own token is the one full token
# maillage api token …
api-token-added = Token for "{ $label }" (read-only). It is shown only this once; give it to the program that will use it:
api-token-none = No API token was handed out.
api-token-revoked = Token "{ $label }" revoked: it no longer opens anything.
api-token-line-revoked = revoked
