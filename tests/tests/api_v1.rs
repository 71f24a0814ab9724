//! The typed local API (`/v1/…`), driven as another program would: plain
//! HTTP with a bearer token against real `maillage node` processes, never
//! through the command line's code. Two households in one community, each
//! with its node on loopback: resources listed, filtered, paged, created,
//! edited and closed; an exchange carried through both parties' nodes; the
//! event stream resumed from `since`; scoped tokens; malformed requests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod procs;

use std::path::Path;
use std::time::{Duration, Instant};

use procs::{Proc, WAIT};
use serde_json::{Value, json};

/// A node's API as a program finds it: the address in `run/api.json`, and
/// a token.
struct Api {
    url: String,
    token: String,
    lang: &'static str,
}

impl Api {
    fn of(home: &Path) -> Api {
        let info: Value = serde_json::from_str(&std::fs::read_to_string(home.join("run/api.json")).unwrap()).unwrap();
        Api {
            url: info["url"].as_str().unwrap().to_owned(),
            token: std::fs::read_to_string(home.join("run/token"))
                .unwrap()
                .trim()
                .to_owned(),
            lang: "en",
        }
    }

    fn with_token(&self, token: &str) -> Api {
        Api {
            url: self.url.clone(),
            token: token.to_owned(),
            lang: self.lang,
        }
    }

    fn in_french(&self) -> Api {
        Api {
            lang: "fr-FR,fr;q=0.9",
            ..self.with_token(&self.token)
        }
    }

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .proxy(None)
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(40)))
            .build()
            .into()
    }

    /// Sends `body` as raw bytes (so malformed JSON can be sent too).
    fn raw(&self, method: &str, path: &str, body: Option<&[u8]>) -> (u16, Value) {
        let url = format!("{}{path}", self.url);
        let agent = Api::agent();
        let bearer = format!("Bearer {}", self.token);
        let response = match method {
            "GET" => agent
                .get(&url)
                .header("Authorization", &bearer)
                .header("Accept-Language", self.lang)
                .call(),
            "DELETE" => agent
                .delete(&url)
                .header("Authorization", &bearer)
                .header("Accept-Language", self.lang)
                .call(),
            _ => {
                let request = match method {
                    "POST" => agent.post(&url),
                    "PATCH" => agent.patch(&url),
                    other => panic!("no method {other}"),
                };
                request
                    .header("Authorization", &bearer)
                    .header("Accept-Language", self.lang)
                    .header("Content-Type", "application/json")
                    .send(body.unwrap_or(b"{}"))
            }
        };
        let mut response = response.unwrap();
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let bytes = body.map(|value| serde_json::to_vec(&value).unwrap());
        self.raw(method, path, bytes.as_deref())
    }

    fn get(&self, path: &str) -> Value {
        let (status, body) = self.call("GET", path, None);
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    fn post(&self, path: &str, body: Value) -> Value {
        let (status, answer) = self.call("POST", path, Some(body));
        assert!(matches!(status, 200 | 201 | 204), "POST {path}: {status} {answer}");
        answer
    }
}

/// Two households in one community, each running its node on loopback.
struct Village {
    _dir: tempfile::TempDir,
    ferme: Proc,
    moulin: Proc,
}

fn village() -> Village {
    let dir = tempfile::tempdir().unwrap();
    let mut ferme = Proc::new(dir.path(), "ferme", None);
    let mut moulin = Proc::new(dir.path(), "moulin", None);
    for proc in [&ferme, &moulin] {
        proc.loopback_only();
    }
    ferme.ok(&["init", "--name", "Ferme des Tilleuls", "--place", "Les Granges"]);
    moulin.ok(&["init", "--name", "Moulin du Bas"]);
    ferme.ok(&["community", "create", "Saint-Martin", "--unit", "heure"]);
    ferme.start_node(&[]);
    let code = ferme.json(&["community", "invite", "--uses", "1"])["code"]
        .as_str()
        .unwrap()
        .to_owned();
    // Joined online: the founder's node admits the newcomer at once.
    moulin.ok(&["community", "join", &code]);
    moulin.start_node(&[]);
    Village {
        _dir: dir,
        ferme,
        moulin,
    }
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < WAIT, "waited too long for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn titles(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["title"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn offers_and_requests_are_listed_filtered_paged_created_edited_and_closed() {
    let village = village();
    let api = Api::of(&village.ferme.home);

    let drill = api.post(
        "/v1/offers",
        json!({"title": "Perceuse à prêter", "category": "Outils", "kind": "lend", "description": "Bosch, avec mèches"}),
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for n in 0..4 {
        api.post(
            "/v1/offers",
            json!({"title": format!("Confiture {n}"), "category": "cuisine", "kind": "sell", "price": "3.50"}),
        );
    }
    api.post(
        "/v1/requests",
        json!({"title": "Cherche covoiturage marché", "category": "transport"}),
    );

    // Filters: category (any case), kind, search without accents.
    let tools = api.get("/v1/offers?category=outils");
    assert_eq!(titles(&tools), ["Perceuse à prêter"]);
    assert_eq!(titles(&api.get("/v1/offers?kind=lend")), ["Perceuse à prêter"]);
    assert_eq!(
        titles(&api.get("/v1/offers?search=PERCEUSE%20a%20preter")),
        ["Perceuse à prêter"]
    );
    assert_eq!(titles(&api.get("/v1/requests")), ["Cherche covoiturage marché"]);

    // Paging: five offers, two per page.
    let first = api.get("/v1/offers?per_page=2");
    let third = api.get("/v1/offers?per_page=2&page=3");
    assert_eq!(
        (first["items"].as_array().unwrap().len(), first["more"].as_bool()),
        (2, Some(true))
    );
    assert_eq!(
        (third["items"].as_array().unwrap().len(), third["more"].as_bool()),
        (1, Some(false))
    );

    // One offer, by a prefix of its id, with everything it says.
    let shown = api.get(&format!("/v1/offers/{}", &drill[..10]));
    assert_eq!(shown["description"], "Bosch, avec mèches");
    assert_eq!(shown["owner_name"], "Ferme des Tilleuls");
    let jam = api.get("/v1/offers?category=cuisine&per_page=1")["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(api.get(&format!("/v1/offers/{jam}"))["price"], "3.50");

    // Edited: a new title, the price removed with null, the kind changed.
    let (status, body) = api.call(
        "PATCH",
        &format!("/v1/offers/{jam}"),
        Some(json!({"title": "Confiture offerte", "kind": "give", "price": null})),
    );
    assert_eq!(status, 200, "{body}");
    let edited = api.get(&format!("/v1/offers/{jam}"));
    assert_eq!(
        (edited["title"].as_str(), edited["price"].is_null()),
        (Some("Confiture offerte"), true)
    );

    // Closed: no longer listed, unless closed ones are asked for.
    let (status, body) = api.call("PATCH", &format!("/v1/offers/{drill}"), Some(json!({"state": "done"})));
    assert_eq!(status, 200, "{body}");
    assert!(titles(&api.get("/v1/offers?category=outils")).is_empty());
    assert_eq!(
        titles(&api.get("/v1/offers?category=outils&closed=true")),
        ["Perceuse à prêter"]
    );

    // Deleted: gone from every listing.
    let (status, _) = api.call("DELETE", &format!("/v1/offers/{jam}"), None);
    assert_eq!(status, 204);
    assert!(!titles(&api.get("/v1/offers?closed=true")).contains(&"Confiture offerte".to_owned()));

    // The neighbour's node shows what the founder posted, through the mesh.
    let neighbour = Api::of(&village.moulin.home);
    wait_until("the offers to reach the neighbour", || {
        titles(&neighbour.get("/v1/offers")).len() == 3
    });
    // And cannot change what is not its own.
    let (status, body) = neighbour.call(
        "PATCH",
        &format!("/v1/offers/{}", &drill[..10]),
        Some(json!({"title": "À moi"})),
    );
    assert_eq!((status, body["code"].as_str()), (403, Some("not-yours")), "{body}");
}

#[test]
fn an_exchange_goes_through_both_parties_nodes_and_balances_sum_to_zero() {
    let village = village();
    let ferme = Api::of(&village.ferme.home);
    let moulin = Api::of(&village.moulin.home);
    wait_until("the members to know each other", || {
        moulin.get("/v1/members").as_array().is_some_and(|m| m.len() == 2)
    });

    let proposed = ferme.post(
        "/v1/exchanges",
        json!({"with": "Moulin du Bas", "amount": "2", "note": "Taille de haie"}),
    );
    assert_eq!(proposed["state"], "proposed");
    let id = proposed["id"].as_str().unwrap().to_owned();

    wait_until("the proposal to reach the other party", || {
        moulin
            .get("/v1/exchanges")
            .as_array()
            .is_some_and(|list| list.iter().any(|e| e["id"] == id.as_str()))
    });
    assert_eq!(
        moulin.post(&format!("/v1/exchanges/{id}/accept"), json!({}))["state"],
        "accepted"
    );
    wait_until("the acceptance to reach the proposer", || {
        ferme
            .get("/v1/exchanges")
            .as_array()
            .is_some_and(|list| list.iter().any(|e| e["id"] == id.as_str() && e["state"] == "accepted"))
    });
    assert_eq!(
        ferme.post(&format!("/v1/exchanges/{id}/confirm"), json!({}))["state"],
        "confirmed"
    );

    let balances = ferme.get("/v1/balances");
    let of = |name: &str| {
        balances
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["name"] == name)
            .map(|b| b["balance"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(
        (of("Ferme des Tilleuls"), of("Moulin du Bas")),
        ("2".to_owned(), "-2".to_owned())
    );

    // An unknown action is not a route.
    let (status, body) = ferme.call("POST", &format!("/v1/exchanges/{id}/steal"), Some(json!({})));
    assert_eq!((status, body["code"].as_str()), (404, Some("no-route")), "{body}");
}

#[test]
fn the_agenda_takes_events_and_answers() {
    let village = village();
    let api = Api::of(&village.ferme.home);
    let id = api.post(
        "/v1/agenda",
        json!({"title": "Atelier poterie", "start": "2030-12-05 18:00", "end": "2030-12-05 20:00", "place": "Salle des fêtes"}),
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    api.post(&format!("/v1/agenda/{id}/rsvp"), json!({"answer": "yes", "people": 3}));
    let event = api.get(&format!("/v1/agenda/{id}"));
    assert_eq!(event["title"], "Atelier poterie");
    assert_eq!(event["rsvps"][0]["people"], 3);
    let listed = api.get("/v1/agenda?from=0");
    assert_eq!(titles(&listed), ["Atelier poterie"]);
    // Events that end before `from` are left out.
    let later = api.get("/v1/agenda?from=4102444800000");
    assert!(titles(&later).is_empty());

    let (status, body) = api.call(
        "POST",
        "/v1/agenda",
        Some(json!({"title": "Bal", "start": "demain peut-être"})),
    );
    assert_eq!(
        (status, body["code"].as_str(), body["field"].as_str()),
        (422, Some("invalid-field"), Some("start"))
    );
}

#[test]
fn the_event_stream_resumes_from_since() {
    let village = village();
    let api = Api::of(&village.ferme.home);
    let start = api.get("/v1/events?since=0");
    let seen = start["next"].as_u64().unwrap();

    let first = api.post("/v1/offers", json!({"title": "Œufs frais"}))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let after_first = api.get(&format!("/v1/events?since={seen}"));
    let events = after_first["events"].as_array().unwrap();
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "document" && e["kind"] == "offer" && e["id"] == first.as_str()),
        "{after_first}"
    );
    let resume = after_first["next"].as_u64().unwrap();
    assert!(resume > seen);

    // Resumed from where it stopped: only what came after.
    let second = api.post("/v1/offers", json!({"title": "Pommes"}))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let resumed = api.get(&format!("/v1/events?since={resume}"));
    let ids: Vec<&str> = resumed["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["id"].as_str())
        .collect();
    assert!(
        ids.contains(&second.as_str()) && !ids.contains(&first.as_str()),
        "{resumed}"
    );

    // A program that waits hears of a change made while it waits: the
    // neighbour's offer, arriving through the mesh.
    let next = resumed["next"].as_u64().unwrap();
    let neighbour = Api::of(&village.moulin.home);
    let waiting = std::thread::spawn({
        let api = api.with_token(&api.token);
        move || api.get(&format!("/v1/events?since={next}&wait=25"))
    });
    std::thread::sleep(Duration::from_millis(300));
    let honey = neighbour.post("/v1/offers", json!({"title": "Miel du Moulin"}))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The first answer may be any change the mesh brought; follow on from
    // it until the neighbour's offer is heard of.
    let mut heard = waiting.join().unwrap();
    let started = Instant::now();
    while !heard["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["id"] == honey.as_str())
    {
        assert!(
            started.elapsed() < WAIT,
            "the neighbour's offer was never heard of: {heard}"
        );
        let next = heard["next"].as_u64().unwrap();
        heard = api.get(&format!("/v1/events?since={next}&wait=5"));
    }

    // The log outlives the node: after a restart, `since` still resumes.
    let mut ferme = village.ferme;
    ferme.stop_node();
    ferme.start_node(&[]);
    let api = Api::of(&ferme.home);
    let again = api.get(&format!("/v1/events?since={resume}"));
    let ids: Vec<&str> = again["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["id"].as_str())
        .collect();
    assert!(ids.contains(&second.as_str()), "{again}");
}

#[test]
fn a_read_only_token_reads_everything_writes_nothing_and_a_revoked_one_nothing_at_all() {
    let village = village();
    let api = Api::of(&village.ferme.home);
    api.post("/v1/offers", json!({"title": "Bois de chauffage"}));
    let made = api.post("/v1/tokens", json!({"label": "site de la mairie"}));
    let token = made["token"].as_str().unwrap().to_owned();
    let id = made["entry"]["id"].as_str().unwrap().to_owned();
    assert_eq!(made["entry"]["scope"], "read-only");
    let reader = api.with_token(&token);

    for path in [
        "/v1/offers",
        "/v1/requests",
        "/v1/agenda",
        "/v1/exchanges",
        "/v1/balances",
        "/v1/communities",
        "/v1/members",
        "/v1/devices",
        "/v1/indicators",
        "/v1/status",
        "/v1/events?since=0",
        "/v1/whoami",
    ] {
        let (status, body) = reader.call("GET", path, None);
        assert_eq!(status, 200, "a read-only token could not read {path}: {body}");
    }
    // Every route that writes, and the few reads kept for the household
    // (its tokens, its backup, the command line): refused before anything
    // runs, whatever the body.
    let offer = api.get("/v1/offers")["items"][0]["id"].as_str().unwrap().to_owned();
    let refused: Vec<(String, String)> = maillage_node::api::routes::table()
        .into_iter()
        .filter(|(method, path, _)| *method != "GET" || maillage_node::api::routes::full_scope_only(path))
        .map(|(method, path, _)| {
            let path = path
                .replace("{id}", &offer)
                .replace("{member}", "Moulin")
                .replace("{action}", "accept");
            (method.to_string(), path)
        })
        .collect();
    assert!(refused.len() >= 18, "{refused:?}");
    for (method, path) in &refused {
        let (method, path) = (method.as_str(), path.as_str());
        let (status, answer) = reader.call(method, path, Some(json!({"title": "Intrus"})));
        assert_eq!(
            (status, answer["code"].as_str()),
            (403, Some("read-only-token")),
            "{method} {path} with a read-only token: {answer}"
        );
    }
    assert_eq!(
        titles(&api.get("/v1/offers")),
        ["Bois de chauffage"],
        "nothing was written"
    );

    // Listed without the token itself, then revoked: refused everywhere.
    let listed = api.get("/v1/tokens");
    assert!(listed.to_string().contains("site de la mairie") && !listed.to_string().contains(&token));
    let (status, _) = api.call("DELETE", &format!("/v1/tokens/{id}"), None);
    assert_eq!(status, 204);
    let (status, body) = reader.call("GET", "/v1/offers", None);
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));

    // The command line manages them too, node running or not.
    let made = village
        .ferme
        .json(&["api", "token", "add", "--read-only", "--label", "tableur de l'AMAP"]);
    let cli_token = made["token"].as_str().unwrap();
    let (status, _) = api.with_token(cli_token).call("GET", "/v1/offers", None);
    assert_eq!(status, 200);
    village.ferme.ok(&["api", "token", "revoke", "tableur de l'AMAP"]);
    let (status, _) = api.with_token(cli_token).call("GET", "/v1/offers", None);
    assert_eq!(status, 401);
}

#[test]
fn malformed_requests_get_a_400_with_a_code_and_errors_speak_the_askers_language() {
    let village = village();
    let api = Api::of(&village.ferme.home);

    let (status, body) = api.raw("POST", "/v1/offers", Some(b"{\"title\": \"Pommes\""));
    assert_eq!((status, body["code"].as_str()), (400, Some("bad-json")), "{body}");
    let (status, body) = api.call(
        "POST",
        "/v1/offers",
        Some(json!({"title": "Pommes", "colour": "rouge"})),
    );
    assert_eq!((status, body["code"].as_str()), (400, Some("unknown-field")), "{body}");
    let (status, body) = api.call("GET", "/v1/offers?colour=rouge", None);
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("unknown-parameter")),
        "{body}"
    );
    let (status, body) = api.call("GET", "/v1/nothing-here", None);
    assert_eq!((status, body["code"].as_str()), (404, Some("no-route")), "{body}");

    // A refused field is named, and the sentence follows Accept-Language.
    let (status, english) = api.call("POST", "/v1/offers", Some(json!({"title": ""})));
    assert_eq!(
        (status, english["code"].as_str(), english["field"].as_str()),
        (422, Some("invalid-field"), Some("title"))
    );
    let (_, french) = api.in_french().call("POST", "/v1/offers", Some(json!({"title": ""})));
    assert_eq!(french["field"], "title");
    assert_ne!(french["message"], english["message"], "{french} {english}");
    let (status, french) = api.in_french().call(
        "POST",
        "/v1/offers",
        Some(json!({"title": "Vélo", "price": "12 euros"})),
    );
    assert_eq!((status, french["field"].as_str()), (422, Some("price")));
    assert!(french["message"].as_str().unwrap().contains("montant"), "{french}");

    let (status, body) = api.call("GET", "/v1/offers/zzzz", None);
    assert_eq!((status, body["code"].as_str()), (404, Some("unknown-id")), "{body}");

    // Without a token, nothing.
    let (status, body) = api.with_token("not-a-token").call("GET", "/v1/offers", None);
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));
}

#[test]
fn the_export_is_streamed_back_and_the_bundle_imports_elsewhere() {
    let village = village();
    let api = Api::of(&village.ferme.home);
    api.post("/v1/offers", json!({"title": "Graines de tomates"}));
    let agent = Api::agent();
    let mut response = agent
        .get(format!("{}/v1/export", api.url))
        .header("Authorization", format!("Bearer {}", api.token))
        .call()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let bytes = response.body_mut().with_config().limit(64 << 20).read_to_vec().unwrap();
    assert!(bytes.starts_with(b"MAILLAGE-BUNDLE\n"));

    // A third household (joined offline, no node) imports it.
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("ferme.maillage");
    std::fs::write(&bundle, &bytes).unwrap();
    let code = village.ferme.json(&["community", "invite", "--uses", "1"])["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let third = Proc::new(dir.path(), "troisieme", None);
    third.loopback_only();
    third.ok(&["init", "--name", "Les Genêts"]);
    third.ok(&["community", "join", &code]);
    third.ok(&["import", bundle.to_str().unwrap()]);
    assert!(third.offer_titles().contains(&"Graines de tomates".to_owned()));
}
