//! IPv6 pinholes over PCP on the real miniupnpd, proved from the outside with the probes of
//! `pinholes.rs`: the fallback where the description lists no WANIPv6FirewallControl (IGD:1
//! mode, the `iptables-igd1-ipv6` configuration), and PCP chosen with `--via pcp` where UPnP
//! would do (`iptables-igd2-ipv6`). PCP goes to the router of lan1's IPv6 default route.

use serde_json::Value;

use super::pinholes::{LAN1_IP6, OUTSIDE, Probe, ipv6, ok_json, pinhole, probe, tcp_listener};
use super::{env, temp_dir, text};

#[test]
#[ignore = "needs the real-gateway harness (tests/real-gateway/run-suite.sh)"]
fn without_upnp_firewall_control_pinholes_fall_back_to_pcp() {
    let env = env();
    if !ipv6(&env) || env.igd != 1 {
        eprintln!(
            "skipped: the fallback needs IPv6 and a description without WANIPv6FirewallControl (iptables-igd1-ipv6)"
        );
        return;
    }
    let dir = temp_dir("pcp6-fallback");
    let _listener = tcp_listener(18180);
    assert_eq!(probe(&env, false, OUTSIDE, 18180), Probe::Dropped, "closed before");

    // As a user would: discovery finds the router; its UPnP cannot, so PCP opens it.
    let added = ok_json(&pinhole(
        &env,
        &dir,
        true,
        &["add", "--internal-port", "18180", "--protocol", "tcp", "--lease", "300"],
    ));
    assert_eq!(
        (added["via"].as_str(), added["internal_ip"].as_str()),
        (Some("pcp"), Some(LAN1_IP6)),
        "{added}"
    );
    assert_eq!(added["lease_secs"], 300, "{added}");
    let id = added["id"].to_string();
    assert_eq!(
        probe(&env, false, OUTSIDE, 18180),
        Probe::Open,
        "open through the PCP pinhole"
    );

    let listed = ok_json(&pinhole(&env, &dir, false, &["list"]));
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(
        (listed[0]["id"].to_string(), listed[0]["via"].as_str()),
        (id.clone(), Some("pcp"))
    );

    // `check` is UPnP's question: said so, not failed obscurely.
    let checked = pinhole(&env, &dir, false, &["check", "--id", &id]);
    assert_eq!(checked.status.code(), Some(1));
    assert!(
        text(&checked.stderr).contains("opened with PCP"),
        "{}",
        text(&checked.stderr)
    );

    // Renew with the same nonce: the router grants the new lifetime, the port stays open.
    let renewed = ok_json(&pinhole(&env, &dir, false, &["update", "--id", &id, "--lease", "900"]));
    assert_eq!(
        (renewed["id"].to_string(), renewed["lease_secs"].as_u64()),
        (id.clone(), Some(900)),
        "{renewed}"
    );
    assert!(
        renewed["seconds_left"].as_u64().unwrap() > 300,
        "lease extended: {renewed}"
    );
    assert_eq!(
        probe(&env, false, OUTSIDE, 18180),
        Probe::Open,
        "still open after the renewal"
    );

    ok_json(&pinhole(&env, &dir, false, &["remove", "--id", &id]));
    assert_eq!(
        probe(&env, false, OUTSIDE, 18180),
        Probe::Dropped,
        "closed after remove"
    );
    assert_eq!(ok_json(&pinhole(&env, &dir, false, &["list"])), Value::Array(vec![]));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "needs the real-gateway harness (tests/real-gateway/run-suite.sh)"]
fn pcp_can_be_chosen_for_a_pinhole() {
    let env = env();
    let dir = temp_dir("pcp6-forced");
    let add = ["add", "--internal-port", "18181", "--protocol", "tcp", "--via", "pcp"];
    if !ipv6(&env) {
        // No IPv6 on this network: said so, nothing pretended.
        let out = pinhole(&env, &dir, false, &add);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
        assert!(text(&out.stderr).contains("IPv6"), "{}", text(&out.stderr));
        return;
    }
    let _listener = tcp_listener(18181);
    assert_eq!(probe(&env, false, OUTSIDE, 18181), Probe::Dropped, "closed before");
    let added = ok_json(&pinhole(&env, &dir, false, &add));
    assert_eq!(added["via"], "pcp", "{added}");
    assert_eq!(probe(&env, false, OUTSIDE, 18181), Probe::Open, "open through PCP");

    // The router's lowest lifetime is 120 s: a shorter one is refused before sending.
    let short = pinhole(&env, &dir, false, &[&add[..], &["--lease", "60"]].concat());
    assert_eq!(short.status.code(), Some(2));
    assert!(text(&short.stderr).contains("lease"), "{}", text(&short.stderr));

    ok_json(&pinhole(
        &env,
        &dir,
        false,
        &["remove", "--id", &added["id"].to_string()],
    ));
    assert_eq!(
        probe(&env, false, OUTSIDE, 18181),
        Probe::Dropped,
        "closed after remove"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
