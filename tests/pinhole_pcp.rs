//! IPv6 pinholes over PCP, the fallback where the router's UPnP has no
//! WANIPv6FirewallControl: against the simulated router in IGD:1 mode (whose description lists
//! no firewall control, as miniupnpd's) and the simulated PCP server on `[::1]:5351`, through
//! the library and through the command line, as a user sees it.
//!
//! PCP's port is fixed, so every test here takes the one server address in turn (`SERIAL`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard, PoisonError};

use portforward::model::{NewPinhole, PinholeLease, PinholeVia};
use portforward::port_control::PcpFirewall;
use portforward::services::{PinholeService, PinholeServiceError, PinholeState, PinholeStore, Renewal};
use portforward::simulator::{
    PortControlSimConfig, SimConfig, SimulatedGateway, SimulatedPortControl, pcp6_unavailable,
};
use portforward::{Port, Protocol};
use serde_json::Value;

static SERIAL: Mutex<()> = Mutex::new(());

/// The PCP server on [::1] (the lock held while it lives); `None`, said on stderr, where it
/// cannot run.
fn pcp_server(config: PortControlSimConfig) -> Option<(MutexGuard<'static, ()>, SimulatedPortControl)> {
    let guard = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(why) = pcp6_unavailable() {
        eprintln!("skipped: {why}");
        return None;
    }
    let server =
        SimulatedPortControl::start(std::net::Ipv6Addr::LOCALHOST, config).expect("the PCP server starts on ::1");
    Some((guard, server))
}

fn opening(port: u16, lease: u32) -> NewPinhole {
    NewPinhole {
        lease: PinholeLease::seconds(u64::from(lease)).unwrap(),
        ..NewPinhole::new(std::net::Ipv6Addr::LOCALHOST, Port::new(port).unwrap(), Protocol::Tcp)
    }
}

#[test]
fn a_pcp_pinhole_is_opened_renewed_with_its_nonce_kept_alive_and_closed() {
    let Some((_guard, server)) = pcp_server(PortControlSimConfig::default()) else {
        return;
    };
    let pcp = PcpFirewall::new(std::net::Ipv6Addr::LOCALHOST, 0, None).unwrap();
    assert_eq!(pcp.local_address(), std::net::Ipv6Addr::LOCALHOST);
    let mut service = PinholeService::over_pcp(pcp, PinholeStore::in_memory());
    assert_eq!(service.default_via(), PinholeVia::Pcp);

    let added = service.add(&opening(18080, 300)).unwrap();
    assert_eq!((added.via, added.opening.lease.as_secs()), (PinholeVia::Pcp, 300));
    assert_eq!(added.gateway, "pcp://[::1]:5351");
    let held = server.mappings();
    assert_eq!(held.len(), 1);
    assert_eq!(
        (
            held[0].client,
            held[0].internal_port,
            held[0].external_port,
            held[0].lifetime
        ),
        ("::1".parse().unwrap(), 18080, 18080, 300)
    );
    let nonce = held[0].nonce;

    // Renewed with the nonce that made it: the router keeps the one mapping, longer.
    let renewed = service.update(added.id, PinholeLease::seconds(600).unwrap()).unwrap();
    let Renewal::Renewed(renewed) = renewed else {
        panic!("{renewed:?}")
    };
    assert_eq!((renewed.id, renewed.nonce), (added.id, added.nonce));
    let held = server.mappings();
    assert_eq!((held.len(), held[0].lifetime, held[0].nonce), (1, 600, nonce));

    // Keep-alive: nothing due before half the lifetime, renewed at it.
    assert!(service.renew_due(renewed.expires_at - 400).is_empty());
    let due_at = service.next_due().unwrap();
    assert_eq!(due_at, renewed.expires_at - 300);
    let results = service.renew_due(due_at);
    assert_eq!(results.len(), 1);
    assert!(results[0].1.is_ok(), "{:?}", results[0].1);
    assert_eq!(server.mappings()[0].nonce, nonce, "the same nonce");

    // The list shows it as recorded; `check` says PCP cannot be asked.
    let listed = service.list().unwrap();
    assert!(matches!(&listed[..], [PinholeState::Held(p)] if p.via == PinholeVia::Pcp));
    let err = service.check(added.id).unwrap_err();
    assert!(matches!(err, PinholeServiceError::PcpUnchecked { .. }), "{err}");
    assert!(err.to_string().contains("opened with PCP"), "{err}");

    // What MAP cannot do is refused before sending.
    let limited = NewPinhole {
        remote_host: Some("2001:db8::99".parse().unwrap()),
        ..opening(18081, 300)
    };
    let err = service.add(&limited).unwrap_err();
    assert!(err.to_string().contains("remote host"), "{err}");
    assert!(
        service
            .add(&opening(18081, 60))
            .unwrap_err()
            .to_string()
            .contains("120")
    );
    assert_eq!(server.mappings().len(), 1, "nothing sent");

    service.remove(added.id).unwrap();
    assert!(server.mappings().is_empty(), "closed with the right nonce");
    assert!(service.list().unwrap().is_empty());
}

#[test]
fn refusals_and_silence_over_pcp_say_what_to_do() {
    for (code, words) in [(2, "not authorized"), (8, "out of resources")] {
        let Some((_guard, _server)) = pcp_server(PortControlSimConfig {
            ipv6_refusal: Some(code),
            ..PortControlSimConfig::default()
        }) else {
            return;
        };
        let pcp = PcpFirewall::new(std::net::Ipv6Addr::LOCALHOST, 0, None).unwrap();
        let mut service = PinholeService::over_pcp(pcp, PinholeStore::in_memory());
        let err = service.add(&opening(18082, 300)).unwrap_err().to_string();
        assert!(err.contains(&format!("result {code}, {words}")), "{err}");
        assert!(err.contains("pinhole"), "advice for pinholes, not IPv4 forwards: {err}");
        assert!(service.store().all().is_empty(), "nothing recorded");
    }
    // No PCP server: said so, and UPnP suggested.
    let _guard = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(why) = pcp6_unavailable() {
        eprintln!("skipped: {why}");
        return;
    }
    let pcp = PcpFirewall::new(std::net::Ipv6Addr::LOCALHOST, 0, None).unwrap();
    let err = PinholeService::over_pcp(pcp, PinholeStore::in_memory())
        .add(&opening(18083, 300))
        .unwrap_err()
        .to_string();
    assert!(err.contains("5351") && err.contains("UPnP"), "{err}");
}

/// The simulated router without WANIPv6FirewallControl (IGD:1), reached on [::1].
struct Setup {
    router: SimulatedGateway,
    dir: PathBuf,
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn setup(name: &str, igd_version: u8) -> Setup {
    let dir = std::env::temp_dir().join(format!("pfw-pinhole-pcp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    Setup {
        router: SimulatedGateway::start(SimConfig {
            igd_version,
            ..SimConfig::default()
        })
        .unwrap(),
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

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn without_firewall_control_the_command_line_falls_back_to_pcp() {
    let Some((_guard, server)) = pcp_server(PortControlSimConfig::default()) else {
        return;
    };
    let s = setup("fallback", 1);
    let add = [
        "pinhole",
        "add",
        "--internal-port",
        "18090",
        "--protocol",
        "tcp",
        "--lease",
        "300",
    ];
    let text = cli(&s, &add);
    assert!(text.status.success(), "{}", stderr(&text));
    let shown = String::from_utf8_lossy(&text.stdout);
    assert!(
        shown.contains("[::1]:18090/TCP") && shown.contains("via PCP"),
        "{shown}"
    );
    assert_eq!(server.mappings().len(), 1);
    assert!(s.router.pinholes().is_empty(), "nothing over UPnP");

    let listed = json(&cli(&s, &["--json", "pinhole", "list"]));
    let rows = listed.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{listed}");
    assert_eq!(
        (rows[0]["via"].as_str(), rows[0]["lease_secs"].as_u64()),
        (Some("pcp"), Some(300))
    );
    let id = rows[0]["id"].to_string();
    let text = cli(&s, &["pinhole", "list"]);
    let shown = String::from_utf8_lossy(&text.stdout);
    assert!(
        shown.contains("via PCP") && shown.contains("opened with PCP, which cannot tell"),
        "{shown}"
    );

    let renewed = json(&cli(
        &s,
        &["--json", "pinhole", "update", "--id", &id, "--lease", "900"],
    ));
    assert_eq!(renewed["lease_secs"], 900);
    assert_eq!(server.mappings()[0].lifetime, 900);

    let checked = cli(&s, &["pinhole", "check", "--id", &id]);
    assert_eq!(checked.status.code(), Some(1));
    assert!(stderr(&checked).contains("opened with PCP"), "{}", stderr(&checked));

    // UPnP asked for where there is none: said so, with the way out.
    let upnp = cli(&s, &[&add[..], &["--via", "upnp"]].concat());
    assert_eq!(upnp.status.code(), Some(1));
    assert!(stderr(&upnp).contains("WANIPv6FirewallControl"), "{}", stderr(&upnp));

    // Bad input for PCP names the field, exits 2 and sends nothing.
    for (flags, field) in [
        (&["--remote-host", "2001:db8::99"][..], "remote host"),
        (&["--lease", "60"][..], "lease"),
        (&["--gateway-ip", "fe80::1"][..], "gateway ip"),
        (&["--via", "nat-pmp"][..], "via"),
    ] {
        let args = [
            &[
                "pinhole",
                "add",
                "--internal-port",
                "18091",
                "--protocol",
                "tcp",
                "--via",
                "pcp",
            ][..],
            flags,
        ]
        .concat();
        let out = cli(&s, &args);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(field), "{flags:?}: {}", stderr(&out));
    }
    assert_eq!(server.mappings().len(), 1, "nothing sent");

    json(&cli(&s, &["--json", "pinhole", "remove", "--id", &id]));
    assert!(server.mappings().is_empty());
    assert_eq!(json(&cli(&s, &["--json", "pinhole", "list"])), Value::Array(vec![]));
}

#[test]
fn pcp_can_be_chosen_where_upnp_would_do() {
    let Some((_guard, server)) = pcp_server(PortControlSimConfig::default()) else {
        return;
    };
    let s = setup("forced", 2);
    let pcp = json(&cli(
        &s,
        &[
            "--json",
            "pinhole",
            "add",
            "--internal-port",
            "18092",
            "--protocol",
            "udp",
            "--via",
            "pcp",
        ],
    ));
    assert_eq!(pcp["via"], "pcp");
    let upnp = json(&cli(
        &s,
        &[
            "--json",
            "pinhole",
            "add",
            "--internal-port",
            "18093",
            "--protocol",
            "udp",
        ],
    ));
    assert_eq!(upnp["via"], "upnp");
    assert_eq!((server.mappings().len(), s.router.pinholes().len()), (1, 1));

    // Both are listed; each is closed the way it was made.
    let listed = json(&cli(&s, &["--json", "pinhole", "list"]));
    let mut vias: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["via"].as_str())
        .collect();
    vias.sort_unstable();
    assert_eq!(vias, ["pcp", "upnp"], "{listed}");
    for row in [&pcp, &upnp] {
        json(&cli(
            &s,
            &["--json", "pinhole", "remove", "--id", &row["id"].to_string()],
        ));
    }
    assert_eq!((server.mappings().len(), s.router.pinholes().len()), (0, 0));
}

#[test]
fn pinholes_opened_at_a_named_router_are_found_there_again() {
    let Some((_guard, server)) = pcp_server(PortControlSimConfig::default()) else {
        return;
    };
    let s = setup("named", 1);
    // The description over IPv4: only --gateway-ip names the PCP router.
    let url = s.router.description_url();
    let added = json(&run(
        &url,
        &s.dir,
        &[
            "--json",
            "pinhole",
            "add",
            "--internal-port",
            "18094",
            "--protocol",
            "tcp",
            "--via",
            "pcp",
            "--gateway-ip",
            "::1",
        ],
    ));
    assert_eq!(
        (added["via"].as_str(), added["gateway"].as_str()),
        (Some("pcp"), Some("pcp://[::1]:5351"))
    );
    // Later commands, without --gateway-ip, act at the router that holds them.
    let listed = json(&run(&url, &s.dir, &["--json", "pinhole", "list"]));
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    json(&run(
        &url,
        &s.dir,
        &["--json", "pinhole", "remove", "--id", &added["id"].to_string()],
    ));
    assert!(server.mappings().is_empty());
}
