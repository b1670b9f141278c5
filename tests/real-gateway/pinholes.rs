//! IPv6 pinholes on the real miniupnpd (`gateway.sh up --ipv6`, the `iptables-igd2-ipv6`
//! configuration), proved from the outside: a host in the WAN namespace tries to reach a
//! listener in lan1 (this test's namespace) before, while and after the pinhole exists.
//! In the configurations without IPv6 the command must say that it cannot work, and why.
//! In IGD:1 mode miniupnpd's description lists no WANIPv6FirewallControl: these UPnP tests
//! skip there (saying so), and `pcp6.rs` covers the PCP fallback.

use std::net::{Ipv6Addr, TcpListener, UdpSocket};

use serde_json::Value;

use super::{Env, env, run, temp_dir, text};

pub(super) const LAN1_IP6: &str = "2001:db8:77::10";
/// The outside hosts (pfw-wan): the ISP's address, and a second one for remote-host limits.
pub(super) const OUTSIDE: &str = "2001:db8:ffff::1";
const OUTSIDE2: &str = "2001:db8:ffff::99";

pub(super) fn ipv6(env: &Env) -> bool {
    let _ = env;
    std::env::var("PFW_IPV6").is_ok_and(|v| v == "yes")
}

/// Whether the router offers UPnP pinholes (IGD:2 with IPv6); when it does not though IPv6
/// is on, the reason is printed and the UPnP test skips.
fn upnp_pinholes(env: &Env) -> bool {
    if ipv6(env) && env.igd == 1 {
        eprintln!(
            "skipped: in IGD:1 mode the router's description lists no WANIPv6FirewallControl (pcp6.rs tests the PCP fallback)"
        );
        return false;
    }
    ipv6(env)
}

/// What the outside host saw.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub(super) enum Probe {
    /// Connected (TCP) or got the echo back (UDP).
    Open,
    /// Nothing came back within 2 s: the router's firewall dropped it.
    Dropped,
    /// Refused (TCP RST): the firewall let it through, nothing listens.
    Refused,
}

/// A TCP connect or a UDP datagram from `source` in the WAN namespace to lan1's `port`.
pub(super) fn probe(env: &Env, udp: bool, source: &str, port: u16) -> Probe {
    const SCRIPT: &str = r#"
import socket, sys
kind, src, dst, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM)
s.settimeout(2)
s.bind((src, 0))
try:
    if kind == "udp":
        s.sendto(b"ping", (dst, port)); s.recvfrom(64)
    else:
        s.connect((dst, port))
    sys.exit(0)
except socket.timeout:
    sys.exit(1)
except ConnectionRefusedError:
    sys.exit(2)
"#;
    let kind = if udp { "udp" } else { "tcp" };
    let port = port.to_string();
    let out = run(
        &env.harness,
        &["exec", "wan", "python3", "-c", SCRIPT, kind, source, LAN1_IP6, &port],
    );
    match out.status.code() {
        Some(0) => Probe::Open,
        Some(1) => Probe::Dropped,
        Some(2) => Probe::Refused,
        other => panic!("probe failed ({other:?}): {}", text(&out.stderr)),
    }
}

/// A TCP listener on lan1's IPv6 address that accepts (and closes) every connection.
pub(super) fn tcp_listener(port: u16) -> TcpListener {
    let listener = TcpListener::bind((LAN1_IP6.parse::<Ipv6Addr>().unwrap(), port)).expect("listen in lan1");
    let accepting = listener.try_clone().unwrap();
    std::thread::spawn(move || {
        for conn in accepting.incoming() {
            drop(conn);
        }
    });
    listener
}

/// A UDP socket on lan1's IPv6 address that echoes every datagram.
fn udp_echo(port: u16) -> UdpSocket {
    let socket = UdpSocket::bind((LAN1_IP6.parse::<Ipv6Addr>().unwrap(), port)).expect("bind in lan1");
    let echo = socket.try_clone().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        while let Ok((n, from)) = echo.recv_from(&mut buf) {
            let _ = echo.send_to(&buf[..n], from);
        }
    });
    socket
}

/// `portforward [--gateway URL] --config-dir DIR --json pinhole ARGS`; `discover` leaves
/// --gateway out (discovery in lan1, as a user would run it).
pub(super) fn pinhole(env: &Env, dir: &std::path::Path, discover: bool, args: &[&str]) -> std::process::Output {
    let dir = dir.to_string_lossy().into_owned();
    let mut all: Vec<&str> = Vec::new();
    if !discover {
        all.extend(["--gateway", env.url.as_str()]);
    }
    all.extend(["--config-dir", dir.as_str(), "--json", "pinhole"]);
    all.extend_from_slice(args);
    run(env!("CARGO_BIN_EXE_portforward"), &all)
}

pub(super) fn ok_json(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)))
}

#[test]
#[ignore = "needs the real-gateway harness (tests/real-gateway/run-suite.sh)"]
fn a_pinhole_opens_the_port_from_outside_only_while_it_exists() {
    let env = env();
    let dir = temp_dir("pinhole-tcp");
    if !ipv6(&env) {
        // No IPv6 on this network: said so, nothing pretended.
        let out = pinhole(
            &env,
            &dir,
            false,
            &["add", "--internal-port", "18080", "--protocol", "tcp"],
        );
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
        let err = text(&out.stderr);
        assert!(err.contains("IPv6"), "{err}");
        return;
    }
    if !upnp_pinholes(&env) {
        return;
    }
    let _listener = tcp_listener(18080);
    assert_eq!(
        probe(&env, false, OUTSIDE, 18080),
        Probe::Dropped,
        "closed before the pinhole"
    );

    // As a user would: discovery finds the router, the pinhole is for this computer's address.
    let added = ok_json(&pinhole(
        &env,
        &dir,
        true,
        &["add", "--internal-port", "18080", "--protocol", "tcp"],
    ));
    assert_eq!(added["internal_ip"], LAN1_IP6);
    let id = added["id"].as_u64().expect("an id").to_string();
    assert_eq!(probe(&env, false, OUTSIDE, 18080), Probe::Open, "open with the pinhole");

    // The router saw the outside packet: "working" and a packet count.
    let checked = ok_json(&pinhole(&env, &dir, false, &["check", "--id", &id]));
    assert_eq!(checked["working"], true, "{checked}");
    assert!(checked["packets"].as_u64().unwrap() >= 1, "{checked}");
    let listed = ok_json(&pinhole(&env, &dir, false, &["list"]));
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["id"].to_string(), id);

    // Renew: an exact new lease.
    let renewed = ok_json(&pinhole(&env, &dir, false, &["update", "--id", &id, "--lease", "120"]));
    assert_eq!(
        (renewed["id"].to_string(), renewed["lease_secs"].as_u64()),
        (id.clone(), Some(120))
    );

    ok_json(&pinhole(&env, &dir, false, &["remove", "--id", &id]));
    assert_eq!(
        probe(&env, false, OUTSIDE, 18080),
        Probe::Dropped,
        "closed again after remove"
    );
    assert_eq!(ok_json(&pinhole(&env, &dir, false, &["list"])), Value::Array(vec![]));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "needs the real-gateway harness (tests/real-gateway/run-suite.sh)"]
fn udp_and_remote_host_limited_pinholes() {
    let env = env();
    if !upnp_pinholes(&env) {
        return;
    }
    let dir = temp_dir("pinhole-udp");
    let _echo = udp_echo(18081);
    assert_eq!(probe(&env, true, OUTSIDE, 18081), Probe::Dropped);
    let added = ok_json(&pinhole(
        &env,
        &dir,
        false,
        &["add", "--internal-port", "18081", "--protocol", "udp", "--lease", "300"],
    ));
    assert_eq!(
        probe(&env, true, OUTSIDE, 18081),
        Probe::Open,
        "UDP through the pinhole"
    );
    let udp_id = added["id"].to_string();

    // Limited to the second outside host: the first stays out.
    let _listener = tcp_listener(18082);
    let limited = ok_json(&pinhole(
        &env,
        &dir,
        false,
        &[
            "add",
            "--internal-port",
            "18082",
            "--protocol",
            "tcp",
            "--remote-host",
            OUTSIDE2,
        ],
    ));
    assert_eq!(limited["remote_host"], OUTSIDE2);
    assert_eq!(
        probe(&env, false, OUTSIDE, 18082),
        Probe::Dropped,
        "another outside host"
    );
    assert_eq!(probe(&env, false, OUTSIDE2, 18082), Probe::Open, "the allowed one");

    for id in [udp_id, limited["id"].to_string()] {
        ok_json(&pinhole(&env, &dir, false, &["remove", "--id", &id]));
    }
    assert_eq!(probe(&env, true, OUTSIDE, 18081), Probe::Dropped);
    assert_eq!(probe(&env, false, OUTSIDE2, 18082), Probe::Dropped);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "needs the real-gateway harness (tests/real-gateway/run-suite.sh)"]
fn after_a_router_reboot_renewing_opens_the_pinhole_again() {
    let env = env();
    if !upnp_pinholes(&env) {
        return;
    }
    let dir = temp_dir("pinhole-reboot");
    let _listener = tcp_listener(18083);
    let added = ok_json(&pinhole(
        &env,
        &dir,
        false,
        &["add", "--internal-port", "18083", "--protocol", "tcp"],
    ));
    let old_id = added["id"].as_u64().unwrap();
    assert_eq!(probe(&env, false, OUTSIDE, 18083), Probe::Open);

    // A reboot: the daemon restarts with its chains flushed; ids are gone (704).
    run(&env.harness, &["kill-daemon"]);
    let out = run(&env.harness, &["start-daemon", "--clean"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        probe(&env, false, OUTSIDE, 18083),
        Probe::Dropped,
        "the reboot closed it"
    );

    let renewed = ok_json(&pinhole(
        &env,
        &dir,
        false,
        &["update", "--id", &old_id.to_string(), "--lease", "600"],
    ));
    assert_eq!(renewed["readded_from"].as_u64(), Some(old_id), "{renewed}");
    assert_eq!(probe(&env, false, OUTSIDE, 18083), Probe::Open, "open again");

    let new_id = renewed["id"].to_string();
    ok_json(&pinhole(&env, &dir, false, &["remove", "--id", &new_id]));
    assert_eq!(probe(&env, false, OUTSIDE, 18083), Probe::Dropped);
    let _ = std::fs::remove_dir_all(&dir);
}
