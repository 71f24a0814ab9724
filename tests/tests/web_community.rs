//! The Communauté and Indicateurs pages, over HTTP against real `maillage
//! node` processes: members, invitations a neighbour can really use, the
//! mesh as the node sees it, and indicators that count what was posted.

mod common;
mod procs;
mod webnode;

use std::time::{Duration, Instant};

use webnode::{WebNode, text_of};

/// How long a page may take to show what another node did.
const WAIT: Duration = Duration::from_secs(30);

/// The HTML from `marker` to the first `end` after it.
fn fragment<'a>(html: &'a str, marker: &str, end: &str) -> &'a str {
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker:?} in the page:\n{html}"));
    let rest = &html[start..];
    let stop = rest.find(end).map_or(rest.len(), |at| at + end.len());
    &rest[..stop]
}

/// The text of the element carrying `id="invite-code"`.
fn invite_code(html: &str) -> String {
    let element = fragment(html, "id=\"invite-code\"", "</");
    text_of(element.split_once('>').expect("an element's start tag").1)
}

/// GETs `path` until `done` holds for its body, or fails after `WAIT`.
fn wait_for_page(node: &WebNode, path: &str, what: &str, done: impl Fn(&str) -> bool) -> String {
    let started = Instant::now();
    loop {
        let body = node.get(path).expect(200).body;
        if done(&body) {
            return body;
        }
        assert!(started.elapsed() < WAIT, "{path} never showed {what}:\n{body}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_community_page_has_its_sections_and_says_when_no_relay_is_set() {
    let dir = tempfile::tempdir().unwrap();
    let node = WebNode::founder(dir.path(), "Ferme des Tilleuls", "Les Granges");

    let page = node.get_as("/communaute", "fr").expect(200).body;
    assert_eq!(page.matches("<h1").count(), 1);
    let headings: Vec<String> = page
        .split("<h2")
        .skip(1)
        .map(|part| text_of(&part[part.find('>').unwrap() + 1..part.find("</h2>").unwrap()]))
        .collect();
    for wanted in ["Membres", "Réseau", "Relais", "Inviter un foyer"] {
        assert!(headings.iter().any(|h| h == wanted), "no {wanted:?} among {headings:?}");
    }
    let members = text_of(fragment(&page, "<table class=\"members\"", "</table>"));
    assert!(members.contains("Ferme des Tilleuls"), "{members}");
    assert!(
        members.contains("intendant·e"),
        "the steward is marked in words: {members}"
    );
    assert!(text_of(fragment(&page, "id=\"mesh-status\"", "</section>")).contains("Voisins connectés : 0"));
    // node.toml has no `dial` line: the page says so plainly.
    assert!(text_of(&page).contains("Aucun relais n’est configuré"), "{page}");
    // The household's own machine is listed among its devices.
    assert!(text_of(fragment(&page, "<table class=\"devices\"", "</table>")).contains("cette machine"));
}

#[test]
fn an_invitation_made_on_the_page_lets_a_neighbour_join_and_both_show_up_on_the_mesh() {
    let dir = tempfile::tempdir().unwrap();
    let founder = WebNode::founder(dir.path(), "Ferme des Tilleuls", "Les Granges");

    let made = founder
        .post("/communaute/invitation", &[("uses", "1"), ("days", "7")])
        .expect(303);
    let location = made.location.unwrap();
    assert!(location.starts_with("/communaute/invitation/"), "{location}");

    let invitation = founder.get_as(&location, "fr").expect(200).body;
    let code = invite_code(&invitation);
    assert!(code.starts_with("maillage1-"), "{code}");
    assert!(
        text_of(&invitation).contains("maillage community join"),
        "says what to type"
    );
    let qr = fragment(&invitation, "<svg", "</svg>");
    assert!(qr.contains("role=\"img\"") && qr.contains("aria-label=\""), "{qr}");
    assert!(qr.contains("<path d=\"M"), "the QR code has modules: {qr}");

    // The neighbour types exactly what the printed page shows.
    let neighbour = WebNode::init(dir.path(), "Moulin");
    neighbour.ok(&["community", "join", &code]);
    let neighbour = WebNode::start(neighbour);

    // Each page lists both households, and the mesh shows the other one.
    wait_for_page(&founder, "/communaute", "the new member", |body| {
        text_of(fragment(body, "<table class=\"members\"", "</table>")).contains("Moulin")
    });
    wait_for_page(&founder, "/communaute", "the neighbour's node", |body| {
        text_of(fragment(body, "id=\"mesh-status\"", "</section>")).contains("Moulin")
    });
    let seen_by_neighbour = wait_for_page(&neighbour, "/communaute", "the founder's node", |body| {
        text_of(fragment(body, "id=\"mesh-status\"", "</section>")).contains("Ferme des Tilleuls")
    });
    let members = text_of(fragment(&seen_by_neighbour, "<table class=\"members\"", "</table>"));
    assert!(
        members.contains("Ferme des Tilleuls") && members.contains("Moulin"),
        "{members}"
    );
    assert!(
        !seen_by_neighbour.contains("action=\"/communaute/invitation\""),
        "only a steward is offered the invitation form"
    );

    // A code for one household is used up.
    let again = WebNode::init(dir.path(), "Chênes");
    let refused = again.run(&["community", "join", &code]);
    assert!(!refused.status.success(), "a single-use code worked twice");
}

#[test]
fn a_wrong_number_of_uses_or_days_is_shown_next_to_its_field() {
    let dir = tempfile::tempdir().unwrap();
    let node = WebNode::founder(dir.path(), "Ferme des Tilleuls", "Les Granges");

    for uses in ["0", "beaucoup", ""] {
        let answer = node.post("/communaute/invitation", &[("uses", uses), ("days", "7")]);
        assert_eq!(answer.status, 422, "uses={uses:?}: {}", answer.body);
        let field = fragment(&answer.body, "<div class=\"field invalid\"", "</div>");
        assert!(
            field.contains("id=\"uses-error\""),
            "the error is by the uses field: {field}"
        );
        assert!(text_of(field).contains("Enter a whole number, at least 1."), "{field}");
        assert!(
            field.contains(&format!("value=\"{uses}\"")),
            "the villager's value comes back: {field}"
        );
        assert!(field.contains("aria-invalid=\"true\""));
        assert!(answer.body.contains("class=\"error-summary\""));
    }
    let answer = node.post("/communaute/invitation", &[("uses", "2"), ("days", "1000")]);
    assert_eq!(answer.status, 422);
    let field = fragment(&answer.body, "<div class=\"field invalid\"", "</div>");
    assert!(field.contains("id=\"days-error\""), "{field}");
    assert!(
        answer.body.contains("value=\"2\""),
        "the valid field keeps its value too"
    );

    // A forged or damaged code in the address is refused, not shown.
    node.get("/communaute/invitation/maillage1-abcdef").expect(400);
}

#[test]
fn a_steward_removes_a_member_from_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let founder = WebNode::founder(dir.path(), "Ferme des Tilleuls", "Les Granges");
    let code = founder.proc.json(&["community", "invite", "--uses", "1"])["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let neighbour = WebNode::init(dir.path(), "Moulin");
    neighbour.ok(&["community", "join", &code]);
    let page = wait_for_page(&founder, "/communaute", "the new member", |body| {
        text_of(fragment(body, "<table class=\"members\"", "</table>")).contains("Moulin")
    });

    let members = fragment(&page, "<table class=\"members\"", "</table>");
    let action = fragment(members, "action=\"/communaute/membres/", "/retirer\"");
    let action = action.trim_start_matches("action=\"").trim_end_matches('"');
    assert_eq!(
        members.matches("/retirer\"").count(),
        1,
        "neither the steward itself nor the founder can be removed: {members}"
    );
    assert!(
        members.contains("data-confirm=\"Remove “Moulin”"),
        "asks first: {members}"
    );

    founder.post(action, &[]).expect(303);
    let after = founder.get("/communaute").expect(200).body;
    assert!(!text_of(fragment(&after, "<table class=\"members\"", "</table>")).contains("Moulin"));
    let listed = founder.proc.json(&["community", "members"]);
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
}

#[test]
fn the_indicators_count_what_was_posted_and_name_what_the_village_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let node = WebNode::founder(dir.path(), "Ferme des Tilleuls", "Les Granges");
    for title in ["Tomates", "Courgettes", "Plants de salade"] {
        node.cli(&["offer", "add", "--title", title, "--category", "jardin"]);
    }
    node.cli(&[
        "request",
        "add",
        "--title",
        "Réparer une chaise",
        "--category",
        "bricolage",
    ]);
    node.cli(&["request", "add", "--title", "Graines de radis", "--category", "jardin"]);

    let page = node.get("/indicateurs").expect(200).body;
    assert_eq!(page.matches("<h1").count(), 1);

    let offers = fragment(&page, "data-indicator=\"offers-by-category\"", "</figure>");
    assert!(offers.contains("role=\"img\""), "{offers}");
    assert!(
        offers.contains("aria-label=\"Open offers by category: jardin (3).\""),
        "{offers}"
    );
    assert!(
        text_of(offers).contains("jardin 3"),
        "the table gives the number: {offers}"
    );
    assert!(offers.contains("<th scope=\"row\">jardin</th>"));

    let requests = text_of(fragment(&page, "data-indicator=\"requests-by-category\"", "</figure>"));
    assert!(
        requests.contains("bricolage 1") && requests.contains("jardin 1"),
        "{requests}"
    );

    let lacks = text_of(fragment(&page, "data-indicator=\"lacks\"", "</div>"));
    assert!(lacks.contains("bricolage"), "{lacks}");
    assert!(!lacks.contains("jardin"), "jardin has offers: {lacks}");
    let has = text_of(fragment(&page, "data-indicator=\"has\"", "</div>"));
    assert!(has.contains("jardin — 3 open offer(s)"), "{has}");

    let fulfilled = text_of(fragment(&page, "data-indicator=\"requests-fulfilled\"", "</figure>"));
    assert!(
        fulfilled.contains("0 request(s) fulfilled out of 2 (0 %)"),
        "{fulfilled}"
    );
    let exchanges = text_of(fragment(&page, "data-indicator=\"exchanges-by-month\"", "</figure>"));
    assert!(exchanges.contains("No confirmed exchange yet."), "{exchanges}");

    // Every chart is a figure with a caption, so it can be found and read.
    let figures = page.matches("<figure class=\"chart\" data-indicator=").count();
    assert_eq!(figures, page.matches("<figcaption>").count());
    assert!(figures >= 5, "{figures} charts");
}

#[test]
fn a_household_in_no_community_is_told_how_to_start_one() {
    let dir = tempfile::tempdir().unwrap();
    let node = WebNode::start(WebNode::init(dir.path(), "Ferme des Tilleuls"));

    let community = text_of(&node.get("/communaute").expect(200).body);
    assert!(community.contains("maillage community create"), "{community}");
    assert!(community.contains("maillage community join"), "{community}");
    let indicators = text_of(&node.get("/indicateurs").expect(200).body);
    assert!(indicators.contains("not in a community yet"), "{indicators}");
}

/// The relays of one `<li>` each in the page's relay list, as text.
fn relay_items(html: &str) -> Vec<String> {
    fragment(html, "<ul class=\"relays\"", "</ul>")
        .split("<li")
        .skip(1)
        .map(text_of)
        .map(|item| item.trim_start_matches('>').trim().to_owned())
        .collect()
}

/// `maillage node --relay` shows on the page as node.toml's relays do: the
/// relays the running node dialed, each once, each saying where it was
/// given and whether the node is connected to it right now.
#[test]
fn relays_given_with_the_relay_option_are_listed_with_where_they_come_from() {
    let dir = tempfile::tempdir().unwrap();
    let founder = WebNode::founder(dir.path(), "Ferme des Tilleuls", "Les Granges");
    // The founder's node plays the village-hall relay.
    let status = founder.proc.json(&["status"]);
    let listening = status["listen_addresses"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|address| address.as_str())
        .find(|address| address.contains("/tcp/"))
        .expect("a TCP address")
        .to_owned();
    let hall = format!("{listening}/p2p/{}", status["peer_id"].as_str().unwrap());
    // Nothing listens on the discard port: a relay that is down.
    let down = "/ip4/127.0.0.1/tcp/9";

    let code = founder.proc.json(&["community", "invite", "--uses", "1"])["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let neighbour = WebNode::init(dir.path(), "Moulin");
    neighbour.ok(&["community", "join", &code]);
    // The hall is in node.toml too: one relay, given in both places.
    let settings = neighbour.home.join("node.toml");
    let mut toml = std::fs::read_to_string(&settings).unwrap();
    toml.push_str(&format!("dial = [\"{hall}\"]\n"));
    std::fs::write(&settings, toml).unwrap();
    let neighbour = WebNode::start_with(neighbour, &["--relay", &hall, "--relay", down]);

    let page = wait_for_page(&neighbour, "/communaute", "the hall relay connected", |body| {
        relay_items(body)
            .iter()
            .any(|item| item.contains(&hall) && item.ends_with("— connected"))
    });
    let relays = relay_items(&page);
    assert_eq!(relays.len(), 2, "{relays:?}");
    assert!(
        relays[0].starts_with(&hall) && relays[0].contains("given in node.toml and with the option --relay"),
        "{relays:?}"
    );
    assert!(
        relays[1].starts_with(down)
            && relays[1].contains("given with the option --relay, for this run only")
            && relays[1].ends_with("not connected right now"),
        "{relays:?}"
    );
    assert!(!text_of(&page).contains("No relay is configured"), "{page}");

    let in_french = relay_items(&neighbour.get_as("/communaute", "fr").expect(200).body);
    assert!(in_french[1].contains("indiqué par l’option --relay"), "{in_french:?}");
}
