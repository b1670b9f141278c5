//! `portforward pinhole …` against the simulated router on [::1]: what a user types and
//! sees, the JSON scripts read, and bad input refused (exit 2) before anything is sent.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use portforward::simulator::{SimConfig, SimulatedGateway};
use serde_json::Value;

struct Setup {
    router: SimulatedGateway,
    dir: PathBuf,
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn setup(name: &str) -> Setup {
    let dir = std::env::temp_dir().join(format!("pfw-pinhole-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    Setup {
        router: SimulatedGateway::start(SimConfig::default()).unwrap(),
        dir,
    }
}

fn cli(setup: &Setup, args: &[&str]) -> Output {
    run(&setup.router.description_url_v6().expect("::1"), &setup.dir, args)
}

fn run(url: &str, dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portforward"))
        .args(["--gateway", url, "--config-dir"])
        .arg(dir)
        .args(args)
        .output()
        .expect("run portforward")
}

fn json(out: &Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn add_list_check_update_and_remove() {
    let s = setup("cycle");
    let added = json(&cli(
        &s,
        &[
            "--json",
            "pinhole",
            "add",
            "--internal-port",
            "8080",
            "--protocol",
            "tcp",
            "--internal-ip",
            "::1",
        ],
    ));
    let id = added["id"].as_u64().unwrap();
    assert_eq!(added["internal_ip"], "::1");
    assert_eq!(added["protocol"], "TCP");
    assert_eq!(added["lease_secs"], 3600);
    assert_eq!(s.router.pinholes().len(), 1);

    // Without --internal-ip the later commands act from the address the record holds.
    let listed = json(&cli(&s, &["--json", "pinhole", "list"]));
    let rows = listed.as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0]["id"].as_u64(), rows[0]["state"].as_str()),
        (Some(id), Some("held"))
    );
    assert_eq!(rows[0]["working"], false);

    let text = stdout(&cli(&s, &["pinhole", "check", "--id", &id.to_string()]));
    assert!(text.contains("no outside packet has reached it yet"), "{text}");
    s.router.pinhole_traffic(id as u16, 2);
    let checked = json(&cli(&s, &["--json", "pinhole", "check", "--id", &id.to_string()]));
    assert_eq!(
        (checked["working"].as_bool(), checked["packets"].as_u64()),
        (Some(true), Some(2))
    );

    let updated = json(&cli(
        &s,
        &["--json", "pinhole", "update", "--id", &id.to_string(), "--lease", "600"],
    ));
    assert_eq!(updated["lease_secs"], 600);
    assert!(s.router.pinholes()[0].lease_seconds_left <= 600);

    let out = cli(&s, &["pinhole", "remove", "--id", &id.to_string()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout(&out).trim(), format!("closed pinhole {id}"));
    assert!(s.router.pinholes().is_empty());
    assert_eq!(json(&cli(&s, &["--json", "pinhole", "list"])), Value::Array(vec![]));

    // Closing it again: the router does not know it; the message says what to do.
    let again = cli(&s, &["pinhole", "remove", "--id", &id.to_string()]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("open it again"));
}

#[test]
fn a_udp_pinhole_limited_to_one_remote_host() {
    let s = setup("remote");
    let added = json(&cli(
        &s,
        &[
            "--json",
            "pinhole",
            "add",
            "--internal-port",
            "5000",
            "--protocol",
            "udp",
            "--remote-host",
            "2001:DB8:FFFF::1",
            "--remote-port",
            "4000",
            "--lease",
            "120",
            "--internal-ip",
            "::1",
        ],
    ));
    assert_eq!(added["remote_host"], "2001:db8:ffff::1", "canonical");
    let held = &s.router.pinholes()[0];
    assert_eq!(
        (
            held.protocol,
            held.remote_host.as_str(),
            held.remote_port,
            held.internal_port
        ),
        (17, "2001:db8:ffff::1", 4000, 5000)
    );
}

#[test]
fn a_router_restart_shows_as_gone_in_the_list() {
    let s = setup("restart");
    let added = json(&cli(
        &s,
        &[
            "--json",
            "pinhole",
            "add",
            "--internal-port",
            "8080",
            "--protocol",
            "tcp",
            "--internal-ip",
            "::1",
        ],
    ));
    s.router.restart(true);
    let text = stdout(&cli(&s, &["pinhole", "list"]));
    assert!(text.contains(&format!("pinhole {}", added["id"])), "{text}");
    assert!(text.contains("gone (the router no longer knows it"), "{text}");
    // Renewing one the router lost adds it again.
    let s2 = json(&cli(
        &s,
        &[
            "--json",
            "pinhole",
            "add",
            "--internal-port",
            "8080",
            "--protocol",
            "tcp",
            "--internal-ip",
            "::1",
        ],
    ));
    assert_eq!(s.router.pinholes().len(), 1);
    assert_eq!(s2["internal_port"], 8080);
}

#[test]
fn bad_input_names_the_field_and_reaches_no_router() {
    let s = setup("bad");
    let add = ["pinhole", "add", "--protocol", "tcp"];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--internal-port", "0"],
            "internal port: a port must be from 1 to 65535",
        ),
        (
            vec!["--internal-port", "65536"],
            "internal port: a port must be from 1 to 65535",
        ),
        (
            vec!["--internal-port", "8080", "--lease", "0"],
            "lease: a pinhole lease must be from 1 to 86400",
        ),
        (
            vec!["--internal-port", "8080", "--lease", "86401"],
            "lease: a pinhole lease must be from 1 to 86400",
        ),
        (
            vec!["--internal-port", "8080", "--internal-ip", "2001:db8:dead::beef"],
            "internal ip: not an IPv6 address of this computer",
        ),
        (
            vec!["--internal-port", "8080", "--internal-ip", "fe80::1"],
            "internal ip: a link-local address",
        ),
        (
            vec!["--internal-port", "8080", "--internal-ip", "192.168.1.2"],
            "internal ip: enter an IPv6 address",
        ),
        (
            vec!["--internal-port", "8080", "--remote-host", "nope"],
            "remote host: enter an IPv6 address",
        ),
        (
            vec!["--internal-port", "8080", "--remote-port", "70000"],
            "remote port: a port must be from 1 to 65535",
        ),
    ];
    for (extra, expected) in cases {
        let mut args: Vec<&str> = add.to_vec();
        args.extend(extra.iter());
        let out = cli(&s, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    let out = cli(&s, &["pinhole", "update", "--id", "1", "--lease", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("lease:"));
    assert_eq!(s.router.connections_accepted(), 0, "nothing was sent");
}

#[test]
fn keep_renews_at_half_the_lease_and_reopens_after_a_router_restart() {
    use std::io::{BufRead, BufReader};
    let s = setup("keep");
    let added = json(&cli(
        &s,
        &[
            "--json",
            "pinhole",
            "add",
            "--internal-port",
            "8080",
            "--protocol",
            "tcp",
            "--lease",
            "2",
            "--internal-ip",
            "::1",
        ],
    ));
    let mut child = Command::new(env!("CARGO_BIN_EXE_portforward"))
        .args(["--gateway", &s.router.description_url_v6().unwrap(), "--config-dir"])
        .arg(&s.dir)
        .args(["--json", "pinhole", "keep"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next = || -> Value { serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap() };
    // At half the 2 s lease: renewed in place.
    let renewed = next();
    assert_eq!(renewed["id"], added["id"]);
    assert!(renewed.get("readded_from").is_none(), "{renewed}");
    // The router restarts and forgets it: the next renewal opens it again.
    s.router.restart(true);
    // (A renewal may still come first: leases are counted in whole seconds.)
    let readded = (0..5)
        .map(|_| next())
        .find(|event| event.get("readded_from").is_some())
        .expect("re-added within a few renewals");
    assert_eq!(readded["readded_from"], added["id"], "{readded}");
    assert_eq!(s.router.pinholes().len(), 1);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn the_demo_router_opens_a_pinhole_and_keeps_no_file() {
    let home = std::env::temp_dir().join(format!("pfw-pinhole-demo-home-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    let out = Command::new(env!("CARGO_BIN_EXE_portforward"))
        .args([
            "--demo",
            "pinhole",
            "add",
            "--internal-port",
            "8080",
            "--protocol",
            "udp",
        ])
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = stdout(&out);
    assert!(
        text.starts_with("opened pinhole 1: [::1]:8080/UDP from anyone"),
        "{text}"
    );
    assert!(text.contains("not reachable from the internet"), "{text}");
    assert!(!home.join(".config/portforward/pinholes.json").exists());
    let _ = std::fs::remove_dir_all(&home);
}
