//! Router events (GENA) on the real miniupnpd: another LAN host's mapping reaches a watch
//! from lan1 by NOTIFY, with exactly one re-read; `portforward watch --json` prints it; the
//! subscription is made anew after the router restarts; and when NOTIFYs cannot reach this
//! computer (a firewall rule in pfw-lan1), the watch says so and polls.
//!
//! The poll interval is 600 s wherever a change must come by event: within these tests' time
//! nothing but a NOTIFY (or the re-read after subscribing anew) can explain a change seen.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use portforward::Mapping;
use portforward::services::watch::{Change, Watch, WatchMode, WatchOptions};
use portforward::upnp::{EventOptions, Gateway, GatewayOptions};

use super::{Env, clean_range, env, forwarder, reboot_router, run, text, upnpc};

/// The external ports these tests use.
const RANGE: std::ops::RangeInclusive<u16> = 49500..=49520;
/// So long that only an event can explain a change seen within a test.
const NO_POLL: Duration = Duration::from_secs(600);
/// A hang guard for what must come by event (milliseconds on this LAN).
const GUARD: Duration = Duration::from_secs(20);

/// Whether this configuration can event; prints why not when it cannot.
fn can_event(env: &Env) -> Option<Arc<Gateway>> {
    if env.cgnat {
        println!("skipped: behind carrier-grade NAT the router refuses every mapping, so no change to event");
        return None;
    }
    let gateway = Gateway::connect(&env.url, &GatewayOptions::default()).expect("connect to the real gateway");
    if gateway.description().event_sub_url.is_none() {
        println!("skipped: this router's WAN connection service has no eventSubURL");
        return None;
    }
    Some(Arc::new(gateway))
}

fn start(gateway: &Arc<Gateway>, options: WatchOptions) -> (Watch, Receiver<Change>) {
    let (send, changes) = channel();
    let watch = Watch::start(Arc::clone(gateway), options, move |change| {
        let _ = send.send(change);
    })
    .expect("start the watch");
    (watch, changes)
}

/// The first change `wanted` accepts within `within`; the others seen on the way are listed
/// when it does not come.
fn until<T>(
    changes: &Receiver<Change>,
    within: Duration,
    what: &str,
    mut wanted: impl FnMut(&Change) -> Option<T>,
) -> T {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let change = changes
            .recv_timeout(left)
            .unwrap_or_else(|e| panic!("no {what} within {within:?} ({e}); saw {seen:#?}"));
        if let Some(found) = wanted(&change) {
            return found;
        }
        seen.push(change);
    }
}

fn events_mode(changes: &Receiver<Change>) {
    until(changes, GUARD, "mode events", |c| {
        matches!(
            c,
            Change::Mode {
                mode: WatchMode::Events
            }
        )
        .then_some(())
    });
}

fn added(changes: &Receiver<Change>, within: Duration, port: u16) -> Mapping {
    until(changes, within, &format!("added {port}"), |c| match c {
        Change::Added { mapping } if mapping.external_port.get() == port => Some(mapping.clone()),
        _ => None,
    })
}

fn removed(changes: &Receiver<Change>, within: Duration, port: u16) {
    until(changes, within, &format!("removed {port}"), |c| match c {
        Change::Removed { mapping } if mapping.external_port.get() == port => Some(()),
        _ => None,
    });
}

/// lan2 maps `port` to itself with upnpc, as another program on another computer would.
fn lan2_adds(env: &Env, port: u16) {
    let lan2 = env.lan2.to_string();
    let p = port.to_string();
    upnpc(env, "lan2", &["-e", "lan2-watched", "-a", &lan2, &p, &p, "TCP", "3600"]);
}

fn lan2_removes(env: &Env, port: u16) {
    upnpc(env, "lan2", &["-d", &port.to_string(), "TCP"]);
}

fn no_poll() -> WatchOptions {
    WatchOptions {
        poll_interval: NO_POLL,
        ..WatchOptions::default()
    }
}

#[test]
#[ignore = "needs the real gateway: tests/real-gateway/run-suite.sh"]
fn another_hosts_mapping_arrives_by_event_with_exactly_one_re_read() {
    let env = env();
    let Some(gateway) = can_event(&env) else { return };
    let f = forwarder(&env);
    clean_range(&env, &f, RANGE);
    let (watch, changes) = start(&gateway, no_poll());
    events_mode(&changes);
    assert_eq!(watch.table_reads(), 1, "the baseline only");

    lan2_adds(&env, 49501);
    let mapping = added(&changes, Duration::from_secs(2), 49501);
    assert_eq!(mapping.internal_client, env.lan2.to_string());
    assert_eq!(mapping.description.as_str(), "lan2-watched");
    assert_eq!(watch.table_reads(), 2, "one re-read for the event");
    // A bounded observation window, not synchronisation: while nothing changes, nothing may
    // be read or reported, and only waiting a while can show that nothing happens.
    match changes.recv_timeout(Duration::from_secs(3)) {
        Err(RecvTimeoutError::Timeout) => {}
        other => panic!("a change while idle: {other:?}"),
    }
    assert_eq!(watch.table_reads(), 2, "nothing read while idle");
    assert_eq!(watch.mode(), WatchMode::Events);

    lan2_removes(&env, 49501);
    removed(&changes, Duration::from_secs(2), 49501);
    assert_eq!(watch.table_reads(), 3);
    drop(watch);
    clean_range(&env, &f, RANGE);
}

/// Kills the command if the test fails half-way (it would hold the suite's output pipe open).
struct Job(Child);

impl Drop for Job {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
#[ignore = "needs the real gateway: tests/real-gateway/run-suite.sh"]
fn watch_json_prints_the_other_hosts_mapping_as_it_is_added() {
    let env = env();
    if can_event(&env).is_none() {
        return;
    }
    let f = forwarder(&env);
    clean_range(&env, &f, RANGE);
    let mut child = Command::new(env!("CARGO_BIN_EXE_portforward"))
        .args(["--gateway", &env.url, "--json", "watch", "--interval", "600"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut job = Job(child);
    let (send, lines) = channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = send.send(line);
        }
    });
    let mut seen = Vec::new();
    let mut wait_for = |wanted: &dyn Fn(&serde_json::Value) -> bool| loop {
        let line = lines
            .recv_timeout(GUARD)
            .unwrap_or_else(|e| panic!("no line wanted ({e}); saw {seen:#?}"));
        let value: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("not one JSON object ({e}): {line}"));
        seen.push(line);
        if wanted(&value) {
            return value;
        }
    };
    let mode = wait_for(&|v| v["change"] == "mode");
    assert_eq!(mode["mode"]["mode"], "events", "{mode}");
    lan2_adds(&env, 49502);
    let added = wait_for(&|v| v["change"] == "added");
    assert_eq!(added["mapping"]["external_port"], 49502, "{added}");
    assert_eq!(added["mapping"]["internal_client"], env.lan2.to_string(), "{added}");
    run("kill", &["-INT", &job.0.id().to_string()]);
    let status = job.0.wait().unwrap();
    assert!(status.success(), "watch ended with {status}");
    clean_range(&env, &f, RANGE);
}

#[test]
#[ignore = "needs the real gateway: tests/real-gateway/run-suite.sh"]
fn after_the_router_restarts_the_subscription_is_made_anew_and_events_still_arrive() {
    let env = env();
    let Some(gateway) = can_event(&env) else { return };
    let f = forwarder(&env);
    clean_range(&env, &f, RANGE);
    // A short subscription, renewed every 2 s: the renewal after the restart is refused (the
    // daemon forgot us), and the watch subscribes anew.
    let options = WatchOptions {
        events: EventOptions {
            requested_timeout: Duration::from_secs(4),
            ..EventOptions::default()
        },
        ..no_poll()
    };
    let (watch, changes) = start(&gateway, options);
    events_mode(&changes);
    lan2_adds(&env, 49511);
    added(&changes, GUARD, 49511);

    reboot_router(&env);
    // The new subscription's re-read finds the emptied table: with no poll due, only
    // subscribing anew explains it. A renewal that fell while the daemon was down is retried
    // within 30 s, hence the longer guard.
    removed(&changes, Duration::from_secs(60), 49511);
    // After it, a change comes by event again (the mode left events only if a renewal fell
    // while the daemon was down).
    if watch.mode() != WatchMode::Events {
        events_mode(&changes);
    }
    let reads = watch.table_reads();
    lan2_adds(&env, 49512);
    added(&changes, GUARD, 49512);
    assert_eq!(watch.table_reads(), reads + 1, "one re-read, for the event");
    assert_eq!(watch.mode(), WatchMode::Events);
    drop(watch);
    clean_range(&env, &f, RANGE);
}

/// Drops new TCP connections from the router to this computer (pfw-lan1) while it lives: the
/// router's NOTIFYs cannot arrive, while our own requests to it (and their answers) pass.
struct NotifiesBlocked {
    router: String,
}

impl NotifiesBlocked {
    fn new(router: std::net::IpAddr) -> NotifiesBlocked {
        let blocked = NotifiesBlocked {
            router: router.to_string(),
        };
        let out = run("iptables-legacy", &blocked.rule("-I"));
        assert!(out.status.success(), "iptables: {}", text(&out.stderr));
        blocked
    }

    fn rule<'a>(&'a self, verb: &'a str) -> Vec<&'a str> {
        vec![
            "-w",
            verb,
            "INPUT",
            "-p",
            "tcp",
            "-s",
            &self.router,
            "--syn",
            "-m",
            "comment",
            "--comment",
            "pfw-events-test",
            "-j",
            "DROP",
        ]
    }
}

impl Drop for NotifiesBlocked {
    fn drop(&mut self) {
        let _ = Command::new("iptables-legacy").args(self.rule("-D")).status();
    }
}

#[test]
#[ignore = "needs the real gateway: tests/real-gateway/run-suite.sh"]
fn when_notifies_cannot_reach_this_computer_the_watch_polls_and_says_why() {
    let env = env();
    let Some(gateway) = can_event(&env) else { return };
    let f = forwarder(&env);
    clean_range(&env, &f, RANGE);
    let _blocked = NotifiesBlocked::new(gateway.addr().ip());
    let options = WatchOptions {
        event_grace: Duration::from_secs(3),
        poll_interval: Duration::from_secs(2),
        ..WatchOptions::default()
    };
    let (watch, changes) = start(&gateway, options);
    let reason = until(&changes, GUARD, "mode polling", |c| match c {
        Change::Mode {
            mode: WatchMode::Polling { reason, .. },
        } => Some(reason.clone()),
        Change::Mode { mode } => panic!("mode {mode:?} with NOTIFYs blocked"),
        _ => None,
    });
    assert!(reason.contains("events do not reach this computer"), "{reason}");
    lan2_adds(&env, 49515);
    let mapping = added(&changes, GUARD, 49515);
    assert_eq!(mapping.internal_client, env.lan2.to_string());
    assert!(matches!(watch.mode(), WatchMode::Polling { .. }));
    drop(watch);
    clean_range(&env, &f, RANGE);
}
