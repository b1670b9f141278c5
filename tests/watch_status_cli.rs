//! `portforward watch` and `portforward status` against the simulated router on 127.0.0.1:
//! the lines a script follows as changes happen, the mode said, bad input refused before
//! anything is sent, and the router's status with what it does not offer said so.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use portforward::simulator::{SimConfig, SimMapping, SimulatedGateway};
use portforward::{EnableRequest, Port, PortForwarder, Protocol};
use serde_json::Value;

/// A hang guard, not a timing: events come within milliseconds, polls every second.
const GUARD: Duration = Duration::from_secs(20);

fn cli(router: &SimulatedGateway, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portforward"))
        .args(["--gateway", &router.description_url()])
        .args(args)
        .output()
        .expect("run portforward")
}

/// `portforward watch` running, its stdout read line by line as it comes; killed if the test
/// fails half-way.
struct Watching {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn watch(router: &SimulatedGateway, args: &[&str]) -> Watching {
    let mut child = Command::new(env!("CARGO_BIN_EXE_portforward"))
        .args(["--gateway", &router.description_url()])
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("run portforward watch");
    let stdout = child.stdout.take().unwrap();
    let (send, lines) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = send.send(line);
        }
    });
    Watching {
        child,
        lines,
        seen: Vec::new(),
    }
}

impl Watching {
    /// The next line that `wanted` accepts, within the guard.
    fn line(&mut self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + GUARD;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|e| panic!("no {what} line ({e}); saw {:#?}", self.seen));
            self.seen.push(line.clone());
            if wanted(&line) {
                return line;
            }
        }
    }

    /// The next JSON line whose "change" is `change`; every line before it must be JSON too.
    fn change(&mut self, change: &str) -> Value {
        let line = self.line(change, |line| {
            let value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            assert!(value.is_object(), "one object per line: {line}");
            value["change"] == change
        });
        serde_json::from_str(&line).unwrap()
    }

    /// Ctrl-C (SIGINT where there are signals); the command must end cleanly.
    fn interrupt(mut self) -> Vec<String> {
        #[cfg(unix)]
        {
            let status = Command::new("kill")
                .args(["-INT", &self.child.id().to_string()])
                .status()
                .unwrap();
            assert!(status.success());
            let status = self.child.wait().unwrap();
            assert!(status.success(), "watch ended with {status}");
        }
        #[cfg(not(unix))]
        {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let mut rest: Vec<String> = self.lines.try_iter().collect();
        self.seen.append(&mut rest);
        std::mem::take(&mut self.seen)
    }
}

/// Waits for `done` to hold, within the guard.
fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + GUARD;
    while !done() {
        assert!(Instant::now() < deadline, "still waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn watch_json_prints_the_mode_then_another_clients_mapping_added_and_removed() {
    let router = SimulatedGateway::demo().unwrap();
    let mut watching = watch(&router, &["--json", "watch"]);
    let mode = watching.change("mode");
    assert_eq!(mode["mode"]["mode"], "events", "{mode}");
    assert_eq!(router.subscriptions(), 1);

    // Another program adds a mapping over SOAP, as upnpc would, then removes it.
    let other = PortForwarder::connect(&router.description_url(), &Default::default()).unwrap();
    let request = EnableRequest {
        external_port: Some(Port::new(41000).unwrap()),
        protocol: Protocol::Udp,
        ..Default::default()
    };
    other.enable(&request).unwrap();
    let added = watching.change("added");
    assert_eq!(added["mapping"]["external_port"], 41000, "{added}");
    assert_eq!(added["mapping"]["protocol"], "UDP", "{added}");
    other
        .disable(Some(Port::new(41000).unwrap()), Some(Protocol::Udp))
        .unwrap();
    let removed = watching.change("removed");
    assert_eq!(removed["mapping"]["external_port"], 41000, "{removed}");

    let lines = watching.interrupt();
    if cfg!(unix) {
        assert_eq!(router.subscriptions(), 0, "stopping unsubscribed: {lines:#?}");
    }
}

#[test]
fn watch_no_events_polls_at_the_interval_and_says_so() {
    let router = SimulatedGateway::demo().unwrap();
    let mut watching = watch(&router, &["watch", "--no-events", "--interval", "1"]);
    watching.line("watching", |l| l.starts_with("watching PortForward demo router ("));
    let mode = watching.line("mode", |l| l.starts_with("mode:"));
    assert_eq!(mode, "mode: polling every 1 s (events are turned off)");
    // The baseline ends with the status read; a mapping inserted after it shows at a poll.
    wait_until("the baseline read", || {
        router.actions().iter().any(|a| a == "GetStatusInfo")
    });
    router.insert(SimMapping::new(41001, "TCP", "192.168.1.90"));
    let added = watching.line("added", |l| l.starts_with('+'));
    assert!(added.starts_with("+ 41001/TCP -> 192.168.1.90:41001"), "{added}");
    assert_eq!(router.subscribes_accepted(), 0, "no SUBSCRIBE with --no-events");
    let lines = watching.interrupt();
    if cfg!(unix) {
        assert_eq!(lines.last().map(String::as_str), Some("stopped watching"), "{lines:#?}");
    }
}

#[test]
fn a_bad_interval_is_refused_naming_the_field_before_anything_is_sent() {
    let router = SimulatedGateway::demo().unwrap();
    for bad in ["0", "86401", "1.5", "-3", "soon"] {
        let out = cli(&router, &["watch", "--interval", bad]);
        assert_eq!(out.status.code(), Some(2), "--interval {bad}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("interval:") && stderr.contains("1 to 86400"),
            "{stderr}"
        );
    }
    assert_eq!(router.connections_accepted(), 0, "nothing reached the router");
}

#[test]
fn status_json_has_every_part_with_64_bit_counters() {
    let router = SimulatedGateway::demo().unwrap();
    let out = cli(&router, &["status", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["connection"]["status"], "Connected", "{status}");
    assert!(status["connection"]["uptime_secs"].is_u64(), "{status}");
    assert_eq!(status["connection_type"], "IP_Routed");
    assert_eq!(status["external_ip"], "203.0.113.7");
    assert_eq!(status["link"]["physical_link_status"], "Up");
    assert_eq!(status["link"]["access_type"], "Ethernet");
    assert_eq!(status["link"]["upstream_max_bit_rate"], 100_000_000);
    assert_eq!(status["link"]["downstream_max_bit_rate"], 1_000_000_000);
    for counter in ["bytes_sent", "bytes_received"] {
        let value = status["traffic"][counter]
            .as_u64()
            .unwrap_or_else(|| panic!("{counter}: {status}"));
        assert!(value > u64::from(u32::MAX), "{counter} = {value}");
    }
    for counter in ["packets_sent", "packets_received"] {
        assert!(status["traffic"][counter].as_u64().is_some(), "{counter}: {status}");
    }
    assert_eq!(
        status["presentation_url"],
        router.description_url().replace("/rootDesc.xml", "/")
    );
    assert_eq!(status["gateway"]["name"], "PortForward demo router");
    assert_eq!(status["gateway"]["url"], router.description_url().as_str());
}

/// The value of `label`'s row in `status`'s text.
fn row(text: &str, label: &str) -> String {
    text.lines()
        .find(|l| l.starts_with(label) && l[label.len()..].starts_with("  "))
        .unwrap_or_else(|| panic!("no {label:?} row in:\n{text}"))[label.len()..]
        .trim()
        .to_owned()
}

#[test]
fn status_text_is_readable_and_says_what_the_router_does_not_offer() {
    let router = SimulatedGateway::demo().unwrap();
    let out = cli(&router, &["status"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(row(&text, "connection"), "Connected");
    assert_eq!(row(&text, "connection type"), "IP_Routed");
    assert_eq!(row(&text, "max rate up"), "100.0 Mbit/s");
    assert_eq!(row(&text, "max rate down"), "1000.0 Mbit/s");
    let sent = row(&text, "bytes sent");
    assert!(sent.contains(" GiB (") && sent.ends_with(" bytes)"), "{sent}");
    let exact: u64 = sent
        .split('(')
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(exact > u64::from(u32::MAX), "{sent}");
    assert!(row(&text, "admin page").starts_with("http://127.0.0.1:"), "{text}");

    // A router without WANCommonInterfaceConfig and admin page.
    let bare = SimulatedGateway::start(SimConfig {
        common_interface: false,
        ..SimConfig::default()
    })
    .unwrap();
    let out = cli(&bare, &["status"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    for label in [
        "link status",
        "access type",
        "max rate up",
        "max rate down",
        "bytes sent",
        "bytes received",
        "packets sent",
        "packets received",
        "admin page",
    ] {
        assert_eq!(row(&text, label), "not offered by this router", "{label}:\n{text}");
    }
    assert_eq!(row(&text, "connection"), "Connected");
    let out = cli(&bare, &["status", "--json"]);
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["link"], Value::Null, "{status}");
    assert_eq!(status["traffic"]["bytes_sent"], Value::Null, "{status}");
}
