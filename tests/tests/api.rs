//! The local API's plumbing, served in this process for a real household
//! (its store, and a swarm on loopback) with a stand-in for the command
//! runner: nothing gets in without the home's token, request bodies are
//! bounded, the command line's client finds the node through the home, a
//! stale `api.json` left by a killed node is ignored, and the router serves
//! exactly the routes `openapi.json` describes. (`api_v1.rs` drives the
//! typed resources of real node processes.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use maillage_node::api::{self, ApiError, ApiState, CliOutcome, CliRequest, RunInfo, Runner, Token};
use maillage_node::context::NodeContext;
use maillage_node::{Home, HouseholdService, net};
use serde_json::{Value, json};
use tempfile::TempDir;

/// An API server on a temporary home, with its own async runtime so that the
/// test can call it with a blocking client.
struct Server {
    home: Home,
    household: String,
    url: String,
    token: Token,
    /// How many commands the runner was given.
    runs: Arc<AtomicUsize>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    runtime: tokio::runtime::Runtime,
    _dir: TempDir,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path().join("home"));
        let household = HouseholdService::init(home.clone(), "Les Tilleuls", None).unwrap();
        let token = Token::load_or_create(&home).unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let config = net::Config {
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
            dial: vec![],
            mdns: false,
            ..net::Config::default()
        };
        let (net, _) = {
            let _inside = runtime.enter();
            net::spawn(household.clone(), config).unwrap()
        };
        let context = NodeContext {
            household: household.clone(),
            net,
            relays: Arc::new([]),
        };
        let listener = runtime.block_on(api::bind("127.0.0.1:0")).unwrap();
        let address = listener.local_addr().unwrap();
        api::write_run_files(&home, address, None).unwrap();

        let runs = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&runs);
        let runner: Runner = Arc::new(move |request: CliRequest| {
            counter.fetch_add(1, Ordering::SeqCst);
            CliOutcome {
                stdout: format!("{} ({})\n", request.args.join(" "), request.lang),
                stderr: String::new(),
                exit_code: if request.json { 0 } else { 1 },
            }
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = ApiState::new(&home, token.clone(), runner, context);
        let task = runtime.spawn(api::serve(listener, state, async move {
            let _ = stopped.await;
        }));
        Server {
            home,
            household: household.id().to_text(),
            url: format!("http://{address}"),
            token,
            runs,
            stop: Some(stop),
            task: Some(task),
            runtime,
            _dir: dir,
        }
    }

    /// Stops serving as the runtime does on SIGTERM, and removes the run files.
    fn stop(&mut self) {
        let _ = self.stop.take().unwrap().send(());
        let served = self.runtime.block_on(self.task.take().unwrap()).unwrap();
        served.unwrap();
        api::remove_run_files(&self.home).unwrap();
    }
}

fn client() -> ureq::Agent {
    ureq::Agent::config_builder()
        .proxy(None)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// Status and JSON body of a request, with `authorization` if given.
fn send(method: &str, url: &str, authorization: Option<&str>, body: Option<&Value>) -> (u16, Value) {
    let agent = client();
    let response = match method {
        "GET" => {
            let mut request = agent.get(url);
            if let Some(value) = authorization {
                request = request.header("Authorization", value);
            }
            request.call()
        }
        _ => {
            let mut request = agent.post(url);
            if let Some(value) = authorization {
                request = request.header("Authorization", value);
            }
            request.send_json(body.unwrap())
        }
    };
    let mut response = response.unwrap();
    let status = response.status().as_u16();
    let body = response.body_mut().read_json::<Value>().unwrap_or(Value::Null);
    (status, body)
}

fn cli_request(args: &[&str]) -> Value {
    json!({ "args": args, "lang": "en", "json": true })
}

#[test]
fn nothing_gets_in_without_the_token() {
    let server = Server::start();
    let wrong = format!("Bearer {}", Token::generate().as_str());
    let right_but_not_bearer = format!("Basic {}", server.token.as_str());
    for authorization in [
        None,
        Some(wrong.as_str()),
        Some(right_but_not_bearer.as_str()),
        Some("Bearer "),
    ] {
        let (status, body) = send("GET", &format!("{}/v1/health", server.url), authorization, None);
        assert_eq!(status, 401, "health with {authorization:?}");
        assert_eq!(body["code"], "unauthorized");
        let (status, body) = send(
            "POST",
            &format!("{}/v1/cli", server.url),
            authorization,
            Some(&cli_request(&["offer", "list"])),
        );
        assert_eq!(status, 401, "cli with {authorization:?}");
        assert_eq!(body["code"], "unauthorized");
    }
    // Not even whether a path exists.
    let (status, _) = send("GET", &format!("{}/v1/nothing-here", server.url), None, None);
    assert_eq!(status, 401);
    assert_eq!(server.runs.load(Ordering::SeqCst), 0, "no command ran");
}

#[test]
fn the_token_opens_health_and_commands() {
    let server = Server::start();
    let bearer = format!("Bearer {}", server.token.as_str());
    let (status, body) = send("GET", &format!("{}/v1/health", server.url), Some(&bearer), None);
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({ "household": server.household, "pid": std::process::id() })
    );

    let (status, body) = send(
        "POST",
        &format!("{}/v1/cli", server.url),
        Some(&bearer),
        Some(&cli_request(&["offer", "list"])),
    );
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({ "stdout": "offer list (en)\n", "stderr": "", "exit_code": 0 })
    );
    assert_eq!(server.runs.load(Ordering::SeqCst), 1);

    // A body that is not a command is refused with a JSON error, not run.
    let (status, body) = send(
        "POST",
        &format!("{}/v1/cli", server.url),
        Some(&bearer),
        Some(&json!({ "argv": [] })),
    );
    assert_eq!(status, 422);
    assert_eq!(body["code"], "bad-request");
    assert_eq!(server.runs.load(Ordering::SeqCst), 1);
}

#[test]
fn request_bodies_are_bounded() {
    let server = Server::start();
    let bearer = format!("Bearer {}", server.token.as_str());
    let url = format!("{}/v1/cli", server.url);
    let big = "x".repeat(api::MAX_BODY);
    let (status, body) = send(
        "POST",
        &url,
        Some(&bearer),
        Some(&cli_request(&["offer", "add", "--title", &big])),
    );
    assert_eq!(status, 413);
    assert_eq!(body["code"], "bad-request");
    assert_eq!(server.runs.load(Ordering::SeqCst), 0);

    // Just under the limit is fine.
    let fits = "x".repeat(api::MAX_BODY - 200);
    let (status, _) = send(
        "POST",
        &url,
        Some(&bearer),
        Some(&cli_request(&["offer", "add", "--title", &fits])),
    );
    assert_eq!(status, 200);
}

#[test]
fn the_command_line_finds_its_node_through_the_home() {
    let mut server = Server::start();
    let node = api::find_running_node(&server.home)
        .unwrap()
        .expect("the node is found");
    assert_eq!(node.pid, std::process::id());
    let request = CliRequest {
        args: vec!["whoami".into()],
        lang: "fr".into(),
        json: false,
        cwd: None,
        passphrase: None,
    };
    let outcome = node.call(&request).unwrap();
    assert_eq!(outcome.stdout, "whoami (fr)\n");
    assert_eq!(outcome.exit_code, 1);

    // A token that does not match is said so, not silently worked around.
    std::fs::write(Token::path(&server.home), Token::generate().as_str()).unwrap();
    assert!(matches!(
        api::find_running_node(&server.home),
        Err(ApiError::Unauthorized { .. })
    ));
    std::fs::write(Token::path(&server.home), server.token.as_str()).unwrap();

    // A clean stop removes api.json: no node to find any more.
    server.stop();
    assert!(api::read_run_info(&server.home).unwrap().is_none());
    assert!(api::find_running_node(&server.home).unwrap().is_none());
}

/// The pid of a process that has exited.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

fn write_run_info(home: &Home, info: &RunInfo) {
    std::fs::write(home.run_dir().join("api.json"), serde_json::to_vec(info).unwrap()).unwrap();
}

#[test]
fn an_api_json_left_by_a_killed_node_is_ignored_at_once() {
    let server = Server::start();
    // Even pointing at a live API: the process that wrote it is gone.
    write_run_info(
        &server.home,
        &RunInfo {
            url: server.url.clone(),
            pid: dead_pid(),
            web: None,
        },
    );
    let started = Instant::now();
    assert!(api::find_running_node(&server.home).unwrap().is_none());

    // A live process (this one) but nothing listening at the address.
    let free: SocketAddr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    write_run_info(
        &server.home,
        &RunInfo {
            url: format!("http://{free}"),
            pid: std::process::id(),
            web: None,
        },
    );
    assert!(api::find_running_node(&server.home).unwrap().is_none());
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "took {:?}",
        started.elapsed()
    );
}

/// Every route the router serves is in `openapi.json`, with the same
/// method, and nothing is described that is not served.
#[test]
fn the_openapi_document_describes_exactly_the_routes_served() {
    let document: Value = serde_json::from_str(api::OPENAPI).unwrap();
    let mut described: Vec<(String, String)> = Vec::new();
    for (path, operations) in document["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            described.push((method.to_uppercase(), path.clone()));
        }
    }
    let mut served: Vec<(String, String)> = api::routes::table()
        .into_iter()
        .map(|(method, path, _)| (method.to_string(), path.to_owned()))
        .collect();
    described.sort();
    served.sort();
    assert_eq!(described, served);

    // And the server hands it out, to the household and to read-only tokens.
    let server = Server::start();
    let bearer = format!("Bearer {}", server.token.as_str());
    let (status, body) = send("GET", &format!("{}/v1/openapi.json", server.url), Some(&bearer), None);
    assert_eq!((status, &body), (200, &document));
}
