# en — agenda strings of the web page (see node/src/web/).

agenda-title = Agenda
agenda-new-event = Add an event
agenda-view-label = Agenda display
agenda-view-list = List
agenda-view-month = Month
agenda-empty = No events planned yet. Add the first one!
agenda-cancelled = Cancelled
agenda-then = Then:
agenda-organised-by-name = Organised by { $name }
agenda-place-is = Place: { $place }
agenda-where = Place
agenda-when = When
agenda-repeat = Repeats
agenda-organised-by = Organised by
agenda-today = (today)

# The month view
agenda-month-pager = Change month
agenda-month-previous = Previous month
agenda-month-current = This month
agenda-month-next = Next month
agenda-month-caption = Events of { $month } { $year }
# An event lasting several days, on the days after its first.
agenda-month-continued = { $title } (continued)
agenda-month-1 = January
agenda-month-2 = February
agenda-month-3 = March
agenda-month-4 = April
agenda-month-5 = May
agenda-month-6 = June
agenda-month-7 = July
agenda-month-8 = August
agenda-month-9 = September
agenda-month-10 = October
agenda-month-11 = November
agenda-month-12 = December
agenda-weekday-1 = Monday
agenda-weekday-2 = Tuesday
agenda-weekday-3 = Wednesday
agenda-weekday-4 = Thursday
agenda-weekday-5 = Friday
agenda-weekday-6 = Saturday
agenda-weekday-7 = Sunday
agenda-weekday-short-1 = Mon
agenda-weekday-short-2 = Tue
agenda-weekday-short-3 = Wed
agenda-weekday-short-4 = Thu
agenda-weekday-short-5 = Fri
agenda-weekday-short-6 = Sat
agenda-weekday-short-7 = Sun

# The calendar for the phone
agenda-feed-title = The agenda on your phone
agenda-feed-explain = To see these events in your phone's calendar, open its Calendar app, choose "Add calendar", then "Subscribe" or "From URL", and paste the address below. The phone will then keep the agenda up to date by itself.
agenda-feed-secret = Keep this address to yourself: anyone who knows it can read the village's agenda.
agenda-feed-loopback = For now this address only works on this computer. For your phone to reach it over the home wifi, start the node with the following command, then open this page again through the computer's address on the network:
agenda-feed-no-key = This agenda address is incomplete: copy it again from your household's Agenda page.
agenda-feed-refused = This agenda address is not (or no longer) valid: copy it again from your household's Agenda page.

# Repetitions, in words
agenda-repeat-daily = Every day
agenda-repeat-daily-n = Every { $n } days
agenda-repeat-weekly = Every week
agenda-repeat-weekly-n = Every { $n } weeks
agenda-repeat-monthly = Every month
agenda-repeat-monthly-n = Every { $n } months
agenda-repeat-yearly = Every year
agenda-repeat-yearly-n = Every { $n } years
agenda-repeat-on = , on { $days }
agenda-repeat-times = , { $count } times in all
agenda-repeat-until-date = , until { $date }

# The form
agenda-new-title = New event
agenda-field-title = Title
agenda-field-description = Description
agenda-field-place = Place
agenda-field-start = Start
agenda-field-start-hint = The day and time, for example 2026-12-05 18:00.
agenda-field-end = End
agenda-field-end-hint = Optional. The day and time it ends.
agenda-repeat-legend = Repetition
agenda-field-repeat = The event happens
agenda-repeat-none = once
agenda-repeat-every-week = every week, on the same day
agenda-repeat-every-month = every month, on the same date
agenda-repeat-every-day = every day
agenda-repeat-every-year = every year, on the same date
agenda-field-repeat-count = Number of times
agenda-field-repeat-count-hint = Optional: how many times in all, the first included. Leave empty to repeat with no end, or give a last day instead.
agenda-field-repeat-until = Last day
agenda-field-repeat-until-hint = Optional: the last day the event may happen.
agenda-repeat-needs-frequency = choose first how often the event repeats
agenda-repeat-count-and-until = give either a number of times or a last day, not both
agenda-repeat-count-invalid = must be a whole number, at least 1
agenda-create = Publish the event
agenda-back = Back to the agenda

# An event's page
agenda-cancelled-notice = This event is cancelled.
agenda-download = Download for my calendar (.ics)
agenda-cancel-event = Cancel the event
agenda-cancel-confirm = Cancel this event? Households that planned to come will see it cancelled.
agenda-dates-title = Next dates
agenda-dates-none = This event is over.
agenda-answers-title = Who is coming
agenda-counts-caption = Answers received
agenda-answers-caption = Each household's answer
agenda-col-answer = Answer
agenda-col-households = Households
agenda-col-people = People
agenda-col-household = Household
agenda-you = (you)
agenda-answer-yes = Yes, we are coming
agenda-answer-maybe = Maybe
agenda-answer-no = No, we are not coming
agenda-your-answer = Your answer
agenda-answer-legend = Are you coming?
agenda-field-people = How many people from your household?
agenda-field-people-hint = From 0 to 50. You can change your answer later.
agenda-people-invalid = must be a whole number from 0 to 50
agenda-answer-send = Send my answer
