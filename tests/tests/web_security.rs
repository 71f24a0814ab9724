//! Who may use a household's web page: only a browser holding the session
//! from `maillage page`'s link, on this server's own name, posting forms the
//! page itself served. And the page is in the villager's language.

mod common;
mod procs;
mod webnode;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use webnode::{WebNode, text_of};

#[test]
fn the_page_needs_the_session_from_the_login_link() {
    let dir = tempfile::tempdir().unwrap();
    let node = WebNode::founder(dir.path(), "Ferme des Tilleuls", "Les Granges");

    let anonymous = node.get_anonymous("/offres").expect(401);
    assert!(text_of(&anonymous.body).contains("maillage page"), "says how to get in");
    assert!(!anonymous.body.contains("_csrf"), "no form is served without a session");

    let wrong = node.get_anonymous("/login?token=0000").expect(403);
    assert!(!wrong.body.contains("Set-Cookie"));

    let page = node.get("/offres").expect(200);
    assert!(page.content_type.starts_with("text/html"));
}

#[test]
fn a_form_posted_without_the_csrf_token_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let node = WebNode::founder(dir.path(), "Ferme des Tilleuls", "Les Granges");

    node.post_raw("/offres", &[("title", "Œufs frais")]).expect(403);
    node.post_raw("/offres", &[("title", "Œufs frais"), ("_csrf", "forged")])
        .expect(403);
    let offers = node.proc.json(&["offer", "list", "--all"]);
    assert_eq!(offers.as_array().unwrap().len(), 0, "nothing was written: {offers}");
}

#[test]
fn a_foreign_host_name_is_refused_before_anything_else() {
    let dir = tempfile::tempdir().unwrap();
    let node = WebNode::founder(dir.path(), "Ferme des Tilleuls", "Les Granges");
    let address = node.base.trim_start_matches("http://").to_owned();

    // A page elsewhere that points its own name at 127.0.0.1 (DNS
    // rebinding) sends its own name as Host.
    let mut stream = TcpStream::connect(&address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        stream,
        "GET /offres HTTP/1.1\r\nHost: evil.example:{}\r\nConnection: close\r\n\r\n",
        address.rsplit(':').next().unwrap()
    )
    .unwrap();
    let mut status = String::new();
    BufReader::new(stream).read_line(&mut status).unwrap();
    assert!(status.contains(" 421 "), "{status}");
}

#[test]
fn the_page_speaks_french_first_and_english_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let node = WebNode::founder(dir.path(), "Ferme des Tilleuls", "Les Granges");

    let french = node.get_as("/offres", "fr-FR,fr;q=0.9");
    assert!(french.body.contains("<html lang=\"fr\""));
    assert!(text_of(&french.body).contains("Demandes"));
    let unknown = node.get_as("/offres", "de-DE");
    assert!(
        unknown.body.contains("<html lang=\"fr\""),
        "French when the browser asks for neither"
    );
    let english = node.get_as("/offres", "en-GB,en;q=0.9");
    assert!(english.body.contains("<html lang=\"en\""));
    assert!(text_of(&english.body).contains("Requests"));

    // The switch on the page goes back where it was, and never elsewhere.
    let switched = node.get("/langue/fr?back=/agenda").expect(303);
    assert_eq!(switched.location.as_deref(), Some("/agenda"));
    let away = node.get("/langue/fr?back=//evil.example/").expect(303);
    assert_eq!(away.location.as_deref(), Some("/"));
}

#[test]
fn the_live_stream_says_changed_when_the_household_writes() {
    let dir = tempfile::tempdir().unwrap();
    let node = WebNode::founder(dir.path(), "Ferme des Tilleuls", "Les Granges");
    let address = node.base.trim_start_matches("http://").to_owned();

    let cookie = {
        // The harness keeps its cookie private; log in again by hand.
        let link = node.login_link.trim_start_matches(&node.base).to_owned();
        let mut stream = TcpStream::connect(&address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            stream,
            "GET {link} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        BufReader::new(stream)
            .lines()
            .map_while(Result::ok)
            .find_map(|line| {
                line.to_lowercase()
                    .starts_with("set-cookie:")
                    .then(|| line["set-cookie:".len()..].trim().split(';').next().unwrap().to_owned())
            })
            .expect("a session cookie")
    };
    let mut stream = TcpStream::connect(&address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        stream,
        "GET /events HTTP/1.1\r\nHost: {address}\r\nCookie: {cookie}\r\nAccept: text/event-stream\r\n\r\n"
    )
    .unwrap();
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    assert!(status.contains(" 200 "), "{status}");

    node.cli(&["offer", "add", "--title", "Œufs frais"]);
    let started = Instant::now();
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line).expect("an event within the read timeout");
        if line.trim() == "event: changed" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no changed event");
    }
}
