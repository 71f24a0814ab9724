//! The agenda page, as a villager's browser uses it: adding an event with
//! the form (and being told what is wrong, next to the field), seeing it in
//! the list and the month, answering it, downloading it for a calendar app,
//! and subscribing a phone to the feed — which works with its key only.

mod common;
mod procs;
mod webnode;

use webnode::{WebNode, text_of};

/// What a `datetime-local` input sends for `days` from today at `time`.
fn local(days: i64, time: &str) -> String {
    let (year, month, day) = common::date_in(days);
    format!("{year:04}-{month:02}-{day:02}T{time}")
}

/// `YYYY-MM` of the day `days` from today.
fn month_of(days: i64) -> String {
    let (year, month, _) = common::date_in(days);
    format!("{year:04}-{month:02}")
}

/// Posts the new-event form and returns the event's full id.
fn create(node: &WebNode, fields: &[(&str, &str)]) -> String {
    let answer = node.post("/agenda", fields).expect(303);
    let location = answer.location.expect("a redirect to the event");
    let id = location.strip_prefix("/agenda/").expect("/agenda/ID").to_owned();
    assert_eq!(id.len(), 52, "the full id: {location}");
    id
}

/// The part of `html` inside the first element opening with `start`.
fn section<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html.find(start).unwrap_or_else(|| panic!("no {start} in:\n{html}"));
    let rest = &html[from..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

#[test]
fn an_event_added_with_the_form_shows_in_the_list_and_in_its_month() {
    let dir = tempfile::tempdir().unwrap();
    let node = WebNode::founder(dir.path(), "Ferme des Tilleuls", "Les Granges");

    let form = node.get("/agenda/nouveau").expect(200);
    for input in [
        "name=\"title\"",
        "name=\"description\"",
        "name=\"place\"",
        "name=\"repeat\"",
        "name=\"repeat_count\"",
        "name=\"repeat_until\"",
    ] {
        assert!(form.body.contains(input), "{input} in the form");
    }
    assert!(form.body.contains("name=\"start\" type=\"datetime-local\""));
    assert!(form.body.contains("name=\"end\" type=\"datetime-local\""));

    let start = local(20, "18:00");
    let id = create(
        &node,
        &[
            ("title", "Soirée jeux de société"),
            ("description", "Apportez vos jeux !"),
            ("place", "Salle des fêtes"),
            ("start", &start),
            ("end", &local(20, "22:30")),
            ("repeat", "none"),
        ],
    );

    let list = node.get("/agenda").expect(200).body;
    let card = section(&list, &format!("<li class=\"card event\" data-id=\"{id}\""), "</li>");
    assert!(
        card.contains(&format!("<h2><a href=\"/agenda/{id}\">Soirée jeux de société</a></h2>")),
        "{card}"
    );
    assert!(text_of(card).contains("Salle des fêtes"));
    assert!(text_of(card).contains("18:00 – 22:30"), "{}", text_of(card));
    assert!(list.contains("href=\"/agenda?vue=mois\""), "a link to the month view");
    assert!(list.contains("href=\"/agenda/nouveau\""));

    let month = node
        .get(&format!("/agenda?vue=mois&mois={}", month_of(20)))
        .expect(200)
        .body;
    let table = section(&month, "<table class=\"month\"", "</table>");
    assert!(table.contains("<caption>"), "the month has a caption");
    assert_eq!(table.matches("<th scope=\"col\"").count(), 7, "a header per weekday");
    assert!(
        table.contains(&format!("href=\"/agenda/{id}\"")),
        "the event is on its day"
    );
    assert!(text_of(table).contains("18:00 Soirée jeux de société"));
    assert!(month.contains("&amp;mois="), "previous and next month links");

    let french = node.get_as(&format!("/agenda/{id}"), "fr").expect(200);
    let text = text_of(&french.body);
    assert!(text.contains("Soirée jeux de société") && text.contains("Apportez vos jeux !"));
    assert!(text.contains("Organisé par Ferme des Tilleuls"), "{text}");
}

#[test]
fn an_end_before_the_start_is_refused_next_to_the_end_field() {
    let dir = tempfile::tempdir().unwrap();
    let node = WebNode::founder(dir.path(), "Ferme des Tilleuls", "Les Granges");

    let refused = node
        .post(
            "/agenda",
            &[
                ("title", "Vide-grenier"),
                ("place", "Place de l'église"),
                ("start", &local(10, "14:00")),
                ("end", &local(10, "09:00")),
                ("repeat", "none"),
            ],
        )
        .expect(422);
    let end_field = section(&refused.body, "<label for=\"end\"", "</div>");
    assert!(
        end_field.contains("id=\"end-error\""),
        "the error is by the end input: {end_field}"
    );
    assert!(end_field.contains("aria-invalid=\"true\""));
    assert!(
        text_of(end_field).contains("the end comes before the start"),
        "{}",
        text_of(end_field)
    );
    assert!(
        refused.body.contains("value=\"Vide-grenier\""),
        "what was typed is kept"
    );
    assert!(refused.body.contains("Place de l&#39;église") || refused.body.contains("Place de l'église"));

    let untitled = node
        .post("/agenda", &[("title", "  "), ("start", &local(10, "14:00"))])
        .expect(422);
    assert!(section(&untitled.body, "<label for=\"title\"", "</div>").contains("id=\"title-error\""));

    let unreadable = node
        .post("/agenda", &[("title", "Bal"), ("start", "le 14 juillet")])
        .expect(422);
    assert!(section(&unreadable.body, "<label for=\"start\"", "</div>").contains("id=\"start-error\""));

    let events = node.proc.json(&["event", "list"]);
    assert_eq!(events.as_array().unwrap().len(), 0, "nothing was written: {events}");
}

#[test]
fn an_answer_for_three_people_is_counted_on_the_page_and_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let node = WebNode::founder(dir.path(), "Ferme des Tilleuls", "Les Granges");
    let start = local(12, "19:00").replace('T', " ");
    let added = node
        .proc
        .json(&["event", "add", "--title", "Repas partagé", "--start", &start]);
    let id = added["id"].as_str().unwrap().to_owned();

    let page = node.get(&format!("/agenda/{id}")).expect(200).body;
    let form = section(
        &page,
        &format!("<form method=\"post\" action=\"/agenda/{id}/reponse\""),
        "</form>",
    );
    for value in ["yes", "no", "maybe"] {
        assert!(
            form.contains(&format!("name=\"answer\" id=\"answer-{value}\" value=\"{value}\"")),
            "{form}"
        );
    }
    assert!(form.contains("name=\"people\""));
    assert!(
        !form.contains(" checked"),
        "no answer is chosen for the villager: {form}"
    );

    let unanswered = node
        .post(&format!("/agenda/{id}/reponse"), &[("people", "2")])
        .expect(422);
    assert!(
        unanswered.body.contains("id=\"answer-error\""),
        "asked to choose an answer"
    );

    let answered = node
        .post(&format!("/agenda/{id}/reponse"), &[("answer", "yes"), ("people", "3")])
        .expect(303);
    assert_eq!(answered.location.as_deref(), Some(format!("/agenda/{id}").as_str()));

    let page = node.get(&format!("/agenda/{id}")).expect(200).body;
    let yes = section(&page, "<tr data-answer=\"yes\"", "</tr>");
    assert!(yes.contains("<td class=\"number households\">1</td>"), "{yes}");
    assert!(yes.contains("<td class=\"number people\">3</td>"), "{yes}");
    assert!(
        page.contains("id=\"answer-yes\" value=\"yes\" checked"),
        "the form shows the answer given"
    );

    let shown = node.proc.json(&["event", "show", &id]);
    assert_eq!(
        shown["answers"],
        serde_json::json!([["Ferme des Tilleuls", "yes", 3]]),
        "{shown}"
    );

    // More than a household can bring is refused by the same rule as the CLI's.
    let refused = node
        .post(
            &format!("/agenda/{id}/reponse"),
            &[("answer", "maybe"), ("people", "80")],
        )
        .expect(422);
    assert!(section(&refused.body, "<label for=\"people\"", "</div>").contains("id=\"people-error\""));
    let shown = node.proc.json(&["event", "show", &id]);
    assert_eq!(shown["answers"][0][2], 3, "the earlier answer stands");
}

#[test]
fn an_event_downloads_as_a_calendar_file_with_its_title() {
    let dir = tempfile::tempdir().unwrap();
    let node = WebNode::founder(dir.path(), "Ferme des Tilleuls", "Les Granges");
    let id = create(
        &node,
        &[
            ("title", "Atelier réparation de vélos"),
            ("place", "Garage communal"),
            ("start", &local(5, "10:00")),
            ("end", &local(5, "12:00")),
        ],
    );
    let page = node.get(&format!("/agenda/{id}")).expect(200).body;
    assert!(page.contains(&format!("href=\"/agenda/{id}.ics\"")), "a download link");

    let download = node.get(&format!("/agenda/{id}.ics")).expect(200);
    let (headers, body) = (&download.headers, &download.body);
    assert!(download.header("content-type").starts_with("text/calendar"));
    assert!(
        download.header("content-disposition").starts_with("attachment"),
        "{headers:?}"
    );
    assert!(body.starts_with("BEGIN:VCALENDAR\r\n"), "{body}");
    assert!(body.trim_end().ends_with("END:VCALENDAR"));
    assert_eq!(body.matches("BEGIN:VEVENT").count(), 1);
    assert!(body.contains("SUMMARY:Atelier réparation de vélos\r\n"), "{body}");
    assert!(body.contains("LOCATION:Garage communal"));
    assert!(body.contains(&format!("UID:{id}@maillage")));
}

#[test]
fn the_calendar_feed_opens_with_its_key_only() {
    let dir = tempfile::tempdir().unwrap();
    let node = WebNode::founder(dir.path(), "Ferme des Tilleuls", "Les Granges");
    node.cli(&[
        "event",
        "add",
        "--title",
        "Marché de producteurs",
        "--start",
        &local(3, "08:00").replace('T', " "),
    ]);
    create(&node, &[("title", "Chorale"), ("start", &local(4, "20:00"))]);

    let page = node.get("/agenda").expect(200).body;
    let feed = section(&page, "id=\"feed-url\"", "</p>");
    let url = &feed[feed.find("http://").expect("the feed's address")..];
    let url = &url[..url.find('<').unwrap()];
    let prefix = format!("{}/agenda.ics?cle=", node.base);
    assert!(url.starts_with(&prefix), "{url}");
    let path = url.trim_start_matches(&node.base);

    // A phone has no session cookie: the key alone opens the feed.
    let calendar = node.get_anonymous(path).expect(200);
    assert!(calendar.content_type.starts_with("text/calendar"));
    assert!(calendar.body.starts_with("BEGIN:VCALENDAR"));
    assert!(calendar.body.contains("SUMMARY:Marché de producteurs"));
    assert!(calendar.body.contains("SUMMARY:Chorale"));
    assert!(calendar.body.contains("X-WR-CALNAME:Les Granges"));

    let without = node.get_anonymous("/agenda.ics").expect(404);
    assert!(!without.body.contains("BEGIN:VCALENDAR"));
    let wrong = node
        .get_anonymous("/agenda.ics?cle=0123456789abcdef0123456789abcdef")
        .expect(403);
    assert!(!wrong.body.contains("VEVENT"));
    // The session does not replace the key.
    let session_only = node.get("/agenda.ics").expect(404);
    assert!(!session_only.body.contains("VEVENT"));
}

#[test]
fn a_weekly_event_shows_its_next_dates() {
    let dir = tempfile::tempdir().unwrap();
    let node = WebNode::founder(dir.path(), "Ferme des Tilleuls", "Les Granges");
    let id = create(
        &node,
        &[
            ("title", "Yoga au lavoir"),
            ("start", &local(2, "09:30")),
            ("end", &local(2, "10:30")),
            ("repeat", "weekly"),
            ("repeat_count", "5"),
        ],
    );
    let shown = node.proc.json(&["event", "show", &id]);
    assert_eq!(shown["event"]["repeat"], "FREQ=WEEKLY;COUNT=5");

    let page = node.get(&format!("/agenda/{id}")).expect(200).body;
    let dates = section(&page, "<ol class=\"dates\"", "</ol>");
    assert_eq!(dates.matches("<li>").count(), 5, "five dates: {dates}");
    assert!(
        text_of(&page).contains("Every week, 5 times in all"),
        "{}",
        text_of(&page)
    );
    for week in 0..5 {
        let (year, month, day) = common::date_in(2 + 7 * week);
        assert!(
            dates.contains(&format!("{year:04}-{month:02}-{day:02} 09:30")),
            "week {week} in {dates}"
        );
    }

    let list = node.get("/agenda").expect(200).body;
    let card = section(&list, &format!("data-id=\"{id}\""), "</li>");
    assert!(
        card.matches("<time").count() >= 4,
        "the card shows the next dates: {card}"
    );

    // Over two months, the month views show it on each of its days.
    let mut days_shown = 0;
    let mut months = vec![month_of(2), month_of(30)];
    months.dedup();
    for month in months {
        let body = node.get(&format!("/agenda?vue=mois&mois={month}")).expect(200).body;
        days_shown += section(&body, "<table class=\"month\"", "</table>")
            .matches(&format!("href=\"/agenda/{id}\""))
            .count();
    }
    assert_eq!(days_shown, 5);
}

#[test]
fn an_event_added_on_the_command_line_appears_and_its_organiser_can_cancel_it() {
    let dir = tempfile::tempdir().unwrap();
    let node = WebNode::founder(dir.path(), "Ferme des Tilleuls", "Les Granges");
    let empty = node.get("/agenda").expect(200).body;
    assert!(!empty.contains("class=\"card event\""));

    let start = local(7, "15:00").replace('T', " ");
    let added = node.proc.json(&[
        "event",
        "add",
        "--title",
        "Nettoyage du ruisseau",
        "--start",
        &start,
        "--place",
        "Pont de la Roche",
    ]);
    let id = added["id"].as_str().unwrap().to_owned();
    let list = node.get("/agenda").expect(200).body;
    assert!(list.contains(&format!("data-id=\"{id}\"")), "the CLI's event is listed");
    assert!(text_of(&list).contains("Nettoyage du ruisseau"));

    let page = node.get(&format!("/agenda/{id}")).expect(200).body;
    let cancel = section(&page, &format!("action=\"/agenda/{id}/annuler\""), "</form>");
    assert!(
        cancel.contains("data-confirm="),
        "the page asks before cancelling: {cancel}"
    );

    let cancelled = node.post(&format!("/agenda/{id}/annuler"), &[]).expect(303);
    assert_eq!(cancelled.location.as_deref(), Some(format!("/agenda/{id}").as_str()));
    assert_eq!(node.proc.json(&["event", "show", &id])["event"]["cancelled"], true);
    let page = node.get(&format!("/agenda/{id}")).expect(200).body;
    assert!(text_of(&page).contains("This event is cancelled."));
    assert!(!page.contains("/annuler\""), "no second cancel button");
    let list = node.get("/agenda").expect(200).body;
    assert!(
        text_of(section(&list, &format!("data-id=\"{id}\""), "</li>")).contains("Cancelled"),
        "still listed, said cancelled in words"
    );

    let unknown = node.get("/agenda/ZZZZZZZZ").expect(404);
    assert!(unknown.content_type.starts_with("text/html"));
}

/// The cell of `date` (`YYYY-MM-DD`) in a month view's table.
fn day_cell<'a>(table: &'a str, date: &str) -> &'a str {
    let at = table
        .find(&format!("<time datetime=\"{date}\">"))
        .unwrap_or_else(|| panic!("no cell for {date}"));
    let start = table[..at].rfind("<td").expect("the day's cell");
    let end = table[at..].find("</td>").map_or(table.len(), |end| at + end);
    &table[start..end]
}

#[test]
fn an_event_over_three_days_shows_on_each_of_them_in_the_month() {
    let dir = tempfile::tempdir().unwrap();
    let node = WebNode::founder(dir.path(), "Ferme des Tilleuls", "Les Granges");
    // Days 10 to 13 of a month ahead: all in one month, whatever today is.
    let month = month_of(60);
    let fair = node.proc.json(&[
        "event",
        "add",
        "--title",
        "Fête du village",
        "--start",
        &format!("{month}-10 10:00"),
        "--end",
        &format!("{month}-12 18:00"),
    ])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Through the form, an evening that ends exactly at midnight: its day only.
    let ball = create(
        &node,
        &[
            ("title", "Bal populaire"),
            ("start", &format!("{month}-20T21:00")),
            ("end", &format!("{month}-21T00:00")),
        ],
    );

    for (lang, first, continued) in [
        ("en", "10:00 Fête du village", "Fête du village (continued)"),
        ("fr", "10:00 Fête du village", "Fête du village (suite)"),
    ] {
        let page = node
            .get_as(&format!("/agenda?vue=mois&mois={month}"), lang)
            .expect(200)
            .body;
        let table = section(&page, "<table class=\"month\"", "</table>");
        let link = format!("href=\"/agenda/{fair}\"");
        let first_day = day_cell(table, &format!("{month}-10"));
        assert!(first_day.contains(&link), "{lang}: on its first day: {first_day}");
        assert!(text_of(first_day).contains(first), "{lang}: {}", text_of(first_day));
        for day in [11, 12] {
            let cell = day_cell(table, &format!("{month}-{day}"));
            assert!(cell.contains(&link), "{lang}: on day {day}: {cell}");
            // The link's own text says the event goes on (it is read alone
            // in a screen reader's list of links).
            let link_text = section(cell, &link, "</a>");
            let link_text = text_of(&link_text[link_text.find('>').unwrap() + 1..]);
            assert_eq!(link_text, continued, "{lang}");
        }
        for day in ["09", "13"] {
            let cell = day_cell(table, &format!("{month}-{day}"));
            assert!(!cell.contains(&link), "{lang}: not on day {day}: {cell}");
        }
        assert_eq!(table.matches(&link).count(), 3, "{lang}: three days, once each");

        let ball_link = format!("href=\"/agenda/{ball}\"");
        assert!(day_cell(table, &format!("{month}-20")).contains(&ball_link));
        assert!(
            !day_cell(table, &format!("{month}-21")).contains(&ball_link),
            "{lang}: ending at midnight, it does not run into the next day"
        );
    }
}
