//! The real-gateway suite: real miniupnpd in network namespaces, brought up by
//! `tests/real-gateway/run-suite.sh`, which runs these (ignored) tests inside the client
//! namespace once per gateway configuration (IGD:1/IGD:2, secure mode, nftables, CGNAT).
//! Never run them by hand outside that namespace: discovery multicasts.
//!
//! Each test uses its own external port range and removes what it made, so the order of
//! tests does not matter.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

#[path = "real-gateway/events.rs"]
mod events;
#[path = "real-gateway/pcp6.rs"]
mod pcp6;
#[path = "real-gateway/pinholes.rs"]
mod pinholes;

use portforward::upnp::{DiscoveryOptions, GatewayOptions, IgdVersion, ListMethod};
use portforward::{
    EnableRequest, Error, ExternalReachability, ForwardError, Lease, Mapping, MappingFilter, Port, PortForwarder,
    Protocol, UpnpCode,
};

/// The configuration the harness brought up.
struct Env {
    url: String,
    igd: u8,
    secure: bool,
    cgnat: bool,
    flavor: String,
    harness: String,
    lan1: Ipv4Addr,
    lan2: Ipv4Addr,
}

fn env() -> Env {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run tests/real-gateway/run-suite.sh"))
    };
    Env {
        url: var("PFW_GATEWAY_URL"),
        igd: var("PFW_IGD").parse().unwrap(),
        secure: var("PFW_SECURE") == "yes",
        cgnat: var("PFW_CGNAT") == "yes",
        flavor: var("PFW_FLAVOR"),
        harness: var("PFW_HARNESS"),
        lan1: var("PFW_LAN1_IP").parse().unwrap(),
        lan2: var("PFW_LAN2_IP").parse().unwrap(),
    }
}

fn port(p: u16) -> Port {
    Port::new(p).unwrap()
}

fn forwarder(env: &Env) -> PortForwarder {
    PortForwarder::connect(&env.url, &GatewayOptions::default()).expect("connect to the real gateway")
}

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"))
}

fn cli(env: &Env, args: &[&str]) -> Output {
    let mut all = vec!["--gateway", env.url.as_str()];
    all.extend_from_slice(args);
    run(env!("CARGO_BIN_EXE_portforward"), &all)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A row of `upnpc -l`, in the fields upnpc prints.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
struct Row {
    protocol: String,
    external_port: u16,
    internal_ip: String,
    internal_port: u16,
    description: String,
    remote_host: String,
}

/// Parses `upnpc -l`: ` 0 TCP  5000->192.168.77.10:5001  'desc' '' 3600`.
fn upnpc_rows(env: &Env, host: &str) -> Vec<(Row, u32)> {
    let out = upnpc(env, host, &["-l"]);
    let mut rows = Vec::new();
    for line in out.lines() {
        let line = line.trim_start();
        let mut parts = line.splitn(3, char::is_whitespace);
        let (Some(index), Some(protocol), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if index.parse::<u32>().is_err() || !(protocol == "TCP" || protocol == "UDP") {
            continue;
        }
        let rest = rest.trim_start();
        let (ports, rest) = rest.split_once(char::is_whitespace).unwrap();
        let (ext, internal) = ports.split_once("->").unwrap();
        let (ip, iport) = internal.rsplit_once(':').unwrap();
        let rest = rest.trim();
        let (quoted, lease) = rest.rsplit_once(char::is_whitespace).unwrap();
        let quoted = quoted.trim();
        let (desc, remote) = quoted[1..quoted.len() - 1].rsplit_once("' '").unwrap();
        rows.push((
            Row {
                protocol: protocol.to_owned(),
                external_port: ext.parse().unwrap(),
                internal_ip: ip.to_owned(),
                internal_port: iport.parse().unwrap(),
                description: unescape(desc),
                remote_host: remote.to_owned(),
            },
            lease.parse().unwrap(),
        ));
    }
    rows
}

/// upnpc prints descriptions as they are on the wire, entities undecoded.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// Runs upnpc against the gateway from `host` ("lan1" runs here; "lan2" through the harness).
fn upnpc(env: &Env, host: &str, args: &[&str]) -> String {
    let mut all = vec!["-u", env.url.as_str()];
    all.extend_from_slice(args);
    let out = if host == "lan1" {
        run("upnpc", &all)
    } else {
        let mut h = vec!["exec", host, "upnpc"];
        h.extend_from_slice(&all);
        run(&env.harness, &h)
    };
    text(&out.stdout)
}

fn row_of(m: &Mapping) -> Row {
    Row {
        protocol: m.protocol.to_string(),
        external_port: m.external_port.get(),
        internal_ip: m.internal_client.clone(),
        internal_port: m.internal_port.get(),
        description: m.description.to_string(),
        remote_host: m.remote_host.clone(),
    }
}

fn listed(f: &PortForwarder) -> Vec<Mapping> {
    f.get_all_mappings().expect("list").mappings
}

fn has(f: &PortForwarder, p: u16, protocol: Protocol) -> Option<Mapping> {
    listed(f)
        .into_iter()
        .find(|m| m.external_port.get() == p && m.protocol == protocol)
}

/// Removes whatever a test left in its port range, whoever made it (upnpc from the host that
/// owns it, so that secure mode allows it).
fn clean_range(env: &Env, f: &PortForwarder, range: std::ops::RangeInclusive<u16>) {
    for m in listed(f) {
        if range.contains(&m.external_port.get()) {
            let host = if m.internal_client == env.lan2.to_string() {
                "lan2"
            } else {
                "lan1"
            };
            upnpc(env, host, &["-d", &m.external_port.to_string(), m.protocol.as_str()]);
        }
    }
}

#[test]
#[ignore = "needs the real gateway: tests/real-gateway/run-suite.sh"]
fn discovery_finds_the_gateway_and_reads_its_description() {
    let env = env();
    let options = DiscoveryOptions {
        timeout: Duration::from_secs(3),
        ..DiscoveryOptions::default()
    };
    let gateway = portforward::upnp::discover(&options).expect("discovery inside the LAN namespace");
    assert_eq!(gateway.description_url(), env.url);
    let d = gateway.description();
    let (version, service) = if env.igd == 2 {
        (IgdVersion::V2, "urn:schemas-upnp-org:service:WANIPConnection:2")
    } else {
        (IgdVersion::V1, "urn:schemas-upnp-org:service:WANIPConnection:1")
    };
    assert_eq!(d.igd_version, version);
    assert_eq!(d.service_type, service);
    assert!(!d.friendly_name.is_empty());
    assert_eq!(gateway.supports("GetListOfPortMappings"), env.igd == 2);

    let out = run(
        env!("CARGO_BIN_EXE_portforward"),
        &["gateways", "--json", "--timeout", "1"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["url"], env.url.as_str());
    assert_eq!(list[0]["igd_version"], format!("IGD:{}", env.igd));
}

#[test]
#[ignore = "needs the real gateway: tests/real-gateway/run-suite.sh"]
fn addresses_local_external_and_status() {
    let env = env();
    let f = forwarder(&env);
    assert_eq!(
        f.local_ip(),
        env.lan1,
        "the address of the interface towards the gateway"
    );
    assert_eq!(f.local_address().interface.as_deref(), Some("eth0"));
    let external = f.external_ip().unwrap();
    let out = cli(&env, &["ip", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let ip: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ip["local_ip"], env.lan1.to_string());
    if env.cgnat {
        assert_ne!(
            ExternalReachability::of(external),
            ExternalReachability::Public,
            "{external:?}"
        );
        assert!(text(&out.stderr).contains("will not be reachable from the Internet"));
    } else {
        assert_eq!(external, Some(Ipv4Addr::new(1, 2, 3, 4)));
        assert_eq!(ip["external_ip"], "1.2.3.4");
        assert_eq!(ExternalReachability::of(external), ExternalReachability::Public);
        assert_eq!(f.status().unwrap().status, "Connected");
    }
}

#[test]
#[ignore = "needs the real gateway: tests/real-gateway/run-suite.sh"]
fn enable_with_every_default_then_disable_the_last() {
    let env = env();
    let f = forwarder(&env);
    if env.cgnat {
        let err = f.enable(&EnableRequest::default()).unwrap_err();
        assert_eq!(err.upnp_code(), Some(UpnpCode::ActionFailed), "{err}");
        assert!(err.to_string().contains("behind another NAT"), "{err}");
        return;
    }
    let enabled = f.enable(&EnableRequest::default()).expect("enable()");
    let (external_ip, external_port, internal_ip, internal_port) = enabled.as_tuple();
    assert_eq!(external_ip, Some(Ipv4Addr::new(1, 2, 3, 4)));
    assert_eq!(internal_ip, env.lan1);
    assert_eq!(enabled.request.protocol, Protocol::Tcp);
    assert_eq!(enabled.request.description.as_str(), "PortForward");
    assert!(
        enabled.mapping.lease.is_finite(),
        "the default lease is finite: {}",
        enabled.mapping.lease
    );
    let rows = upnpc_rows(&env, "lan1");
    let row = rows
        .iter()
        .find(|(r, _)| r.external_port == external_port.get() && r.protocol == "TCP")
        .expect("upnpc lists the mapping");
    assert_eq!(row.0.internal_port, internal_port.get());
    assert_eq!(row.0.description, "PortForward");

    let removed = f.disable(None, None).expect("disable() removes the last enable");
    assert_eq!(removed.external_port, external_port);
    assert!(has(&f, external_port.get(), Protocol::Tcp).is_none());
    assert!(
        !upnpc_rows(&env, "lan1")
            .iter()
            .any(|(r, _)| r.external_port == external_port.get())
    );
    // A second disable of the same has nothing to default to.
    assert!(matches!(
        f.disable(None, None),
        Err(Error::Forward(ForwardError::NoPreviousEnable))
    ));
}

#[test]
#[ignore = "needs the real gateway: tests/real-gateway/run-suite.sh"]
fn enable_explicit_fields_get_mapping_and_refresh_in_place() {
    let env = env();
    if env.cgnat {
        return;
    }
    let f = forwarder(&env);
    clean_range(&env, &f, 41000..=41010);
    let request = EnableRequest {
        external_port: Some(port(41001)),
        internal_port: Some(port(41002)),
        internal_ip: None,
        protocol: Protocol::Udp,
        description: Some(portforward::Description::parse_field("d", "game <server> & \"friends\" ü").unwrap()),
        lease: Some(Lease::seconds(120).unwrap()),
    };
    let enabled = f.enable(&request).expect("enable with every field");
    assert_eq!(enabled.mapping.description.as_str(), "game <server> & \"friends\" ü");
    assert!(enabled.mapping.lease.as_secs() <= 120 && enabled.mapping.lease.as_secs() > 100);

    // get_mapping(index) finds it, with remote host and enabled read.
    let all = listed(&f);
    let index = (0..all.len() as u32 + 1)
        .find(|&i| f.get_mapping(i).is_ok_and(|m| m.external_port.get() == 41001))
        .expect("get_mapping(index) reaches the new mapping");
    let m = f.get_mapping(index).unwrap();
    assert!(m.enabled);
    assert_eq!(m.remote_host, "");
    assert_eq!(m.internal_client, env.lan1.to_string());
    assert_eq!(m.protocol, Protocol::Udp);
    let past_end = f.get_mapping(all.len() as u32 + 5).unwrap_err();
    assert_eq!(past_end.upnp_code(), Some(UpnpCode::ArrayIndexInvalid));

    // refresh() renews in place with a longer lease; the same single entry remains.
    let renewed = f
        .refresh(Some(&EnableRequest {
            external_port: Some(port(41001)),
            protocol: Protocol::Udp,
            lease: Some(Lease::seconds(3600).unwrap()),
            ..EnableRequest::default()
        }))
        .expect("refresh");
    assert!(renewed.mapping.lease.as_secs() > 3000, "{}", renewed.mapping.lease);
    assert_eq!(
        renewed.request.internal_port.get(),
        41002,
        "fields default to the last enable"
    );
    let same: Vec<_> = listed(&f)
        .into_iter()
        .filter(|m| m.external_port.get() == 41001)
        .collect();
    assert_eq!(same.len(), 1);
    assert_eq!(same[0].description.as_str(), "game <server> & \"friends\" ü");
    f.refresh(None)
        .expect("refresh() with no argument renews the last enable");

    f.disable(Some(port(41001)), Some(Protocol::Udp)).unwrap();
    let gone = f.disable(Some(port(41001)), Some(Protocol::Udp)).unwrap_err();
    assert_eq!(gone.upnp_code(), Some(UpnpCode::NoSuchEntry), "{gone}");
}

#[test]
#[ignore = "needs the real gateway: tests/real-gateway/run-suite.sh"]
fn list_json_agrees_with_upnpc_mapping_for_mapping() {
    let env = env();
    if env.cgnat {
        return;
    }
    let f = forwarder(&env);
    clean_range(&env, &f, 42000..=42100);
    // upnpc sends descriptions unescaped (a '<' makes its request invalid XML), so the
    // awkward ones are made through our library, the plain ones through upnpc.
    let descriptions = ["plain", "a<b>&c", "with space", "quote\"d 'x'", "ünï", ""];
    for i in 0..12u16 {
        let protocol = if i % 3 == 0 { Protocol::Udp } else { Protocol::Tcp };
        let desc = descriptions[usize::from(i) % descriptions.len()];
        if i % 2 == 0 {
            let p = (42000 + i).to_string();
            let ip = env.lan1.to_string();
            upnpc(
                &env,
                "lan1",
                &["-e", desc, "-a", &ip, &p, &p, protocol.as_str(), "3600"],
            );
        } else {
            f.enable(&EnableRequest {
                external_port: Some(port(42000 + i)),
                internal_port: Some(port(42000 + i)),
                protocol,
                description: Some(portforward::Description::parse_field("d", desc).unwrap()),
                lease: Some(Lease::seconds(3600).unwrap()),
                ..EnableRequest::default()
            })
            .unwrap();
        }
    }
    let out = cli(&env, &["list", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let ours: BTreeSet<Row> = json
        .iter()
        .map(|v| Row {
            protocol: v["protocol"].as_str().unwrap().to_owned(),
            external_port: v["external_port"].as_u64().unwrap() as u16,
            internal_ip: v["internal_ip"].as_str().unwrap().to_owned(),
            internal_port: v["internal_port"].as_u64().unwrap() as u16,
            description: v["description"].as_str().unwrap().to_owned(),
            remote_host: v["remote_host"].as_str().unwrap().to_owned(),
        })
        .collect();
    for v in &json {
        assert_eq!(v["enabled"], true);
        let d = v["duration"].as_u64().unwrap();
        assert!(d > 3000 && d <= 3600, "{v}");
    }
    let theirs: BTreeSet<Row> = upnpc_rows(&env, "lan1").into_iter().map(|(r, _)| r).collect();
    assert_eq!(ours, theirs, "portforward list --json and upnpc -l disagree");
    assert!(
        ours.iter()
            .filter(|r| (42000..=42011).contains(&r.external_port))
            .count()
            == 12
    );
    assert!(ours.iter().any(|r| r.description == "a<b>&c"));

    // The walk (IGD:1's only way) reads the same table as the list call.
    let walked: BTreeSet<Row> = f.gateway().walk().unwrap().mappings.iter().map(row_of).collect();
    assert_eq!(walked, theirs);
    let table = f.get_all_mappings().unwrap();
    let expected = if env.igd == 2 {
        ListMethod::ListCall
    } else {
        ListMethod::Walk
    };
    assert_eq!(table.method, Some(expected));
    assert!(table.warnings.is_empty(), "{:?}", table.warnings);
    clean_range(&env, &f, 42000..=42100);
}

#[test]
#[ignore = "needs the real gateway: tests/real-gateway/run-suite.sh"]
fn disable_all_needs_a_filter_and_removes_exactly_the_matches() {
    let env = env();
    if env.cgnat {
        return;
    }
    let f = forwarder(&env);
    clean_range(&env, &f, 43000..=43100);
    let ip = env.lan1.to_string();
    for (p, proto, desc) in [
        (43001, "TCP", "pf-bulk"),
        (43002, "UDP", "pf-bulk"),
        (43003, "TCP", "pf-bulk"),
        (43004, "TCP", "someone-else"),
    ] {
        upnpc(
            &env,
            "lan1",
            &["-e", desc, "-a", &ip, &p.to_string(), &p.to_string(), proto, "3600"],
        );
    }
    let before = listed(&f).len();
    assert!(matches!(
        f.disable_all(&MappingFilter::default()),
        Err(Error::Forward(ForwardError::UnfilteredDisableAll))
    ));
    assert_eq!(listed(&f).len(), before, "an unfiltered disable-all removed something");

    // The command line without --yes lists and changes nothing.
    let out = cli(
        &env,
        &["disable-all", "--description", "pf-bulk", "--protocol", "TCP", "--json"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let preview: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ports: BTreeSet<u64> = preview["would_remove"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["external_port"].as_u64().unwrap())
        .collect();
    assert_eq!(ports, BTreeSet::from([43001, 43003]));
    assert_eq!(listed(&f).len(), before);

    let filter = MappingFilter {
        description: Some("pf-bulk".into()),
        protocol: Some(Protocol::Tcp),
        ..MappingFilter::default()
    };
    let report = f.disable_all(&filter).unwrap();
    assert!(report.is_complete(), "{report:?}");
    let removed: BTreeSet<u16> = report.done.iter().map(|m| m.external_port.get()).collect();
    assert_eq!(removed, BTreeSet::from([43001, 43003]));
    let left: BTreeSet<u16> = upnpc_rows(&env, "lan1")
        .iter()
        .map(|(r, _)| r.external_port)
        .filter(|p| (43000..=43100).contains(p))
        .collect();
    assert_eq!(left, BTreeSet::from([43002, 43004]));

    // Undo puts back exactly what was removed.
    let restored = f.restore_mappings(&report.done);
    assert!(restored.is_complete(), "{restored:?}");
    let back = has(&f, 43001, Protocol::Tcp).expect("restored");
    assert_eq!(back.description.as_str(), "pf-bulk");
    assert!(back.lease.is_finite());
    clean_range(&env, &f, 43000..=43100);
}

#[test]
#[ignore = "needs the real gateway: tests/real-gateway/run-suite.sh"]
fn other_lan_hosts_and_secure_mode() {
    let env = env();
    if env.cgnat {
        return;
    }
    let f = forwarder(&env);
    clean_range(&env, &f, 44000..=44010);
    let for_lan2 = EnableRequest {
        external_port: Some(port(44001)),
        internal_ip: Some(env.lan2),
        ..EnableRequest::default()
    };
    let result = f.enable(&for_lan2);
    if env.secure {
        let err = result.unwrap_err();
        assert!(
            matches!(err, Error::Forward(ForwardError::OnlyForItself { .. })),
            "{err:?}"
        );
        assert!(err.to_string().contains("secure mode"), "{err}");
        assert!(has(&f, 44001, Protocol::Tcp).is_none());
    } else {
        let enabled = result.expect("forward to another LAN host");
        assert_eq!(enabled.mapping.internal_client, env.lan2.to_string());
        assert_eq!(
            enabled.request.internal_port.get(),
            44001,
            "another host's port defaults to the external one"
        );
        f.disable(Some(port(44001)), None).unwrap();
    }

    // lan2 makes its own mapping; lan1 tries to remove it.
    let lan2 = env.lan2.to_string();
    upnpc(
        &env,
        "lan2",
        &["-e", "lan2-app", "-a", &lan2, "44002", "44002", "TCP", "3600"],
    );
    let theirs = has(&f, 44002, Protocol::Tcp).expect("lan2's mapping is listed");
    assert_eq!(theirs.internal_client, lan2);
    // A conflict names the holder.
    let clash = f
        .enable(&EnableRequest {
            external_port: Some(port(44002)),
            internal_port: Some(port(44003)),
            ..EnableRequest::default()
        })
        .unwrap_err();
    assert_eq!(clash.upnp_code(), Some(UpnpCode::Conflict), "{clash}");
    assert!(
        clash
            .to_string()
            .contains(&format!("already forwarded to {lan2}:44002")),
        "{clash}"
    );

    let filter = MappingFilter {
        internal_ip: Some(lan2.clone()),
        ..MappingFilter::default()
    };
    let report = f.disable_all(&filter).unwrap();
    if env.secure {
        assert_eq!(report.failed.len(), 1, "{report:?}");
        assert!(report.failed[0].1.contains("error 606"), "{}", report.failed[0].1);
        assert!(has(&f, 44002, Protocol::Tcp).is_some());
    } else {
        assert!(report.is_complete(), "{report:?}");
        assert!(has(&f, 44002, Protocol::Tcp).is_none());
    }
    clean_range(&env, &f, 44000..=44010);
}

#[test]
#[ignore = "needs the real gateway: tests/real-gateway/run-suite.sh"]
fn free_ports_local_external_and_random() {
    let env = env();
    let f = forwarder(&env);
    let taken: BTreeSet<u16> = listed(&f)
        .iter()
        .filter(|m| m.protocol == Protocol::Tcp)
        .map(|m| m.external_port.get())
        .collect();
    let external = f.open_external_port(Protocol::Tcp).unwrap();
    assert!(!taken.contains(&external.get()));
    for protocol in Protocol::ALL {
        let local = f.open_local_port(protocol).unwrap();
        match protocol {
            Protocol::Tcp => drop(std::net::TcpListener::bind((Ipv4Addr::UNSPECIFIED, local.get())).unwrap()),
            Protocol::Udp => drop(std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, local.get())).unwrap()),
        }
    }
    assert!(portforward::DYNAMIC_PORTS.contains(&f.random_port().get()));
}

#[test]
#[ignore = "needs the real gateway: tests/real-gateway/run-suite.sh"]
fn bad_input_is_refused_before_the_router_sees_it() {
    let env = env();
    let f = forwarder(&env);
    let before = upnpc_rows(&env, "lan1");
    let cases: &[(&[&str], &str)] = &[
        (&["--external-port", "70000"], "external port"),
        (&["--external-port", "0"], "external port"),
        (&["--external-port", "-1"], "external port"),
        (&["--internal-port", "65536"], "internal port"),
        (&["--internal-port", "abc"], "internal port"),
        (&["--protocol", "XYZ"], "protocol"),
        (&["--internal-ip", "300.1.1.1"], "internal ip"),
        (&["--internal-ip", "fe80::1"], "internal ip"),
        (&["--duration", "604801"], "duration"),
    ];
    for (args, field) in cases {
        let mut all = vec!["enable"];
        all.extend_from_slice(args);
        let out = cli(&env, &all);
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(
            text(&out.stderr).contains(&format!("{field}:")),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let long = "x".repeat(1024);
    let out = cli(&env, &["enable", "--description", &long]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("description:"));
    assert_eq!(
        upnpc_rows(&env, "lan1"),
        before,
        "an invalid request reached the router"
    );
    assert!(has(&f, 4464, Protocol::Tcp).is_none(), "70000 was mangled into 4464");
}

#[test]
#[ignore = "needs the real gateway: tests/real-gateway/run-suite.sh"]
fn a_short_lease_expires_on_the_router() {
    let env = env();
    if env.cgnat {
        return;
    }
    let f = forwarder(&env);
    clean_range(&env, &f, 45000..=45001);
    f.enable(&EnableRequest {
        external_port: Some(port(45001)),
        lease: Some(Lease::seconds(2).unwrap()),
        ..EnableRequest::default()
    })
    .unwrap();
    let listed_lease = has(&f, 45001, Protocol::Tcp).expect("listed at first").lease;
    assert!(
        listed_lease.as_secs() <= 2 && listed_lease.is_finite(),
        "{listed_lease}"
    );
    // The router removes it on its own timer: poll, bounded.
    let deadline = Instant::now() + Duration::from_secs(15);
    while has(&f, 45001, Protocol::Tcp).is_some() {
        assert!(Instant::now() < deadline, "a 2 s lease was still listed after 15 s");
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
#[ignore = "needs the real gateway: tests/real-gateway/run-suite.sh"]
fn the_daemon_dying_is_reported_and_survived() {
    let env = env();
    let f = forwarder(&env);
    // nftables 2.3.1 dies on GetListOfPortMappings past 128 mappings of one protocol.
    let crash_list = env.flavor == "nftables" && env.igd == 2 && !env.cgnat;
    if crash_list {
        let ip = env.lan1.to_string();
        for p in 46000..46140u16 {
            let p = p.to_string();
            upnpc(&env, "lan1", &["-e", "bulk", "-a", &ip, &p, &p, "UDP", "3600"]);
        }
        let err = f.get_all_mappings().unwrap_err();
        assert!(err.is_unreachable(), "{err:?}");
        assert!(err.to_string().contains("retry"), "{err}");
    } else {
        run(&env.harness, &["kill-daemon"]);
        let err = f.get_all_mappings().unwrap_err();
        assert!(err.is_unreachable(), "{err:?}");
    }
    let out = run(&env.harness, &["start-daemon"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The same forwarder works again once the daemon is back; after a list-call crash it
    // walks entry by entry instead.
    let table = f.get_all_mappings().expect("listing after the restart");
    if crash_list {
        assert_eq!(table.method, Some(ListMethod::Walk));
        assert!(table.mappings.iter().filter(|m| m.protocol == Protocol::Udp).count() >= 140);
        run(&env.harness, &["kill-daemon"]);
        run(&env.harness, &["start-daemon", "--clean"]);
    }
}

/// `list --json`'s owner of the mapping on `port`/`protocol`.
fn owner_in_list(env: &Env, args: &[&str], port: u16, protocol: Protocol) -> serde_json::Value {
    let mut all = vec!["list", "--json"];
    all.extend_from_slice(args);
    let out = cli(env, &all);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    rows.into_iter()
        .find(|r| r["external_port"] == port && r["protocol"] == protocol.as_str())
        .unwrap_or_else(|| panic!("{port}/{protocol} is not listed"))["owner"]
        .clone()
}

#[test]
#[ignore = "needs the real gateway: tests/real-gateway/run-suite.sh"]
fn the_owner_is_the_listening_process_and_stale_once_it_stops() {
    let env = env();
    if env.cgnat {
        return;
    }
    let f = forwarder(&env);
    clean_range(&env, &f, 47000..=47010);
    // Real sockets on this host's LAN address, opened by this test process.
    let tcp = std::net::TcpListener::bind((env.lan1, 0)).unwrap();
    let udp = std::net::UdpSocket::bind((env.lan1, 0)).unwrap();
    for (external, local, protocol) in [
        (47001, tcp.local_addr().unwrap().port(), Protocol::Tcp),
        (47002, udp.local_addr().unwrap().port(), Protocol::Udp),
    ] {
        f.enable(&EnableRequest {
            external_port: Some(port(external)),
            internal_port: Some(port(local)),
            protocol,
            ..EnableRequest::default()
        })
        .unwrap();
    }
    let me = u64::from(std::process::id());
    for (external, protocol) in [(47001, Protocol::Tcp), (47002, Protocol::Udp)] {
        let owner = owner_in_list(&env, &[], external, protocol);
        assert_eq!(owner["kind"], "process", "{owner}");
        assert_eq!(owner["pid"], me, "{owner}");
    }

    // The listener goes away: the mapping is stale, and disable-all --stale offers it.
    drop(tcp);
    assert_eq!(
        owner_in_list(&env, &[], 47001, Protocol::Tcp),
        serde_json::json!({ "kind": "stale" })
    );
    assert_eq!(owner_in_list(&env, &[], 47002, Protocol::Udp)["kind"], "process");
    let out = cli(&env, &["disable-all", "--stale", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let preview: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let offered: BTreeSet<u64> = preview["would_remove"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["external_port"].as_u64().unwrap())
        .collect();
    assert!(offered.contains(&47001) && !offered.contains(&47002), "{offered:?}");

    // Another host: named only by the hosts file, or reverse DNS when asked; the namespace's
    // resolver is its own loopback, so the query stays here and finds no name.
    let lan2 = env.lan2.to_string();
    upnpc(
        &env,
        "lan2",
        &["-e", "lan2-app", "-a", &lan2, "47003", "47003", "TCP", "3600"],
    );
    let started = Instant::now();
    let owner = owner_in_list(&env, &["--reverse-dns"], 47003, Protocol::Tcp);
    assert_eq!(owner["kind"], "unknown", "{owner}");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    drop(udp);
    clean_range(&env, &f, 47000..=47010);
}

/// Restarts the daemon as after a reboot: its table is lost.
fn reboot_router(env: &Env) {
    run(&env.harness, &["kill-daemon"]);
    let out = run(&env.harness, &["start-daemon", "--clean"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
#[ignore = "needs the real gateway: tests/real-gateway/run-suite.sh"]
fn keep_alive_recreates_a_mapping_after_the_router_reboots() {
    let env = env();
    if env.cgnat {
        return;
    }
    let f = forwarder(&env);
    clean_range(&env, &f, 48000..=48010);
    let enabled = f
        .enable(&EnableRequest {
            external_port: Some(port(48001)),
            internal_port: Some(port(48002)),
            lease: Some(Lease::seconds(600).unwrap()),
            ..EnableRequest::default()
        })
        .unwrap();
    let t0 = Instant::now();
    let mut keep = portforward::KeepAlive::default();
    keep.keep_renewed(&enabled, t0);

    reboot_router(&env);
    assert!(has(&f, 48001, Protocol::Tcp).is_none(), "the reboot lost the table");
    // The step is driven with the time passed in: the next presence check is due.
    let events = keep.step(&f, keep.next_due().unwrap());
    assert!(
        matches!(events.as_slice(), [portforward::KeepAliveEvent::Recreated { .. }]),
        "{events:?}"
    );
    let back = has(&f, 48001, Protocol::Tcp).expect("listed again");
    assert_eq!(back.internal_port.get(), 48002);
    assert_eq!(back.internal_client, env.lan1.to_string());
    assert!(upnpc_rows(&env, "lan1").iter().any(|(r, _)| r.external_port == 48001));

    // The command line does the same until interrupted, then removes what it made.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_portforward"))
        .args(["--gateway", &env.url, "--json", "keep", "--external-port", "48003"])
        .args(["--internal-port", "48004", "--duration", "4", "--remove-on-exit"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (send, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = send.send(line);
        }
    });
    let wait_for = |what: &str| loop {
        let line = lines
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("no {what:?} line: {e}"));
        if line.contains(what) {
            return line;
        }
    };
    wait_for("external_ip");
    wait_for("renewed");
    reboot_router(&env);
    wait_for("recreated");
    assert!(has(&f, 48003, Protocol::Tcp).is_some());
    run("kill", &["-INT", &child.id().to_string()]);
    wait_for("stopped");
    assert!(child.wait().unwrap().success());
    assert!(has(&f, 48003, Protocol::Tcp).is_none(), "--remove-on-exit removed it");
    clean_range(&env, &f, 48000..=48010);
}

#[test]
#[ignore = "needs the real gateway: tests/real-gateway/run-suite.sh"]
fn the_lan_link_going_down_and_up_is_survived() {
    let env = env();
    let f = forwarder(&env);
    let before = listed(&f).len();
    let out = run(&env.harness, &["link", "down"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = f.get_all_mappings().unwrap_err();
    assert!(err.is_unreachable(), "{err:?}");
    let out = run(&env.harness, &["link", "up"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        listed(&f).len(),
        before,
        "the same forwarder reads the table once the link is back"
    );
}

/// A fresh directory for files a test writes (never the real config directory).
fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("pfw-real-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rows_in(env: &Env, range: std::ops::RangeInclusive<u16>) -> Vec<Row> {
    let mut rows: Vec<Row> = upnpc_rows(env, "lan1")
        .into_iter()
        .map(|(row, _)| row)
        .filter(|r| range.contains(&r.external_port))
        .collect();
    rows.sort();
    rows
}

#[test]
#[ignore = "needs the real gateway: tests/real-gateway/run-suite.sh"]
fn a_preset_applied_exported_and_reimported_round_trips() {
    use portforward::services::presets::{Preset, PresetMapping, PresetTarget};
    use portforward::services::transfer::{self, Format};
    let env = env();
    let f = forwarder(&env);
    let range = 47600..=47620;
    clean_range(&env, &f, range.clone());
    let mut preset = Preset::new("Real preset").unwrap();
    for protocol in Protocol::ALL {
        preset.mappings.push(PresetMapping {
            duration: Lease::seconds(600).unwrap(),
            ..PresetMapping::same_port(port(47601), protocol, PresetTarget::ThisComputer)
        });
    }
    preset.mappings.push(PresetMapping {
        internal_port: port(47612),
        description: portforward::Description::parse_field("d", "lan2, \"web\"").unwrap(),
        ..PresetMapping::same_port(port(47602), Protocol::Tcp, PresetTarget::Host(env.lan2))
    });
    let report = f.apply_preset(&preset);
    if env.cgnat {
        assert!(report.done.is_empty(), "{report:?}");
        assert!(
            report.failed.iter().all(|(_, why)| why.contains("behind another NAT")),
            "{report:?}"
        );
        return;
    }
    if env.secure {
        // A secure-mode router forwards only to the asking host: that row alone fails.
        assert_eq!(report.done.len(), 2, "{report:?}");
        assert_eq!(report.failed.len(), 1);
        assert!(report.failed[0].1.contains("secure mode"), "{}", report.failed[0].1);
    } else {
        assert!(report.is_complete(), "{report:?}");
    }
    let applied = rows_in(&env, range.clone());
    assert_eq!(applied.len(), report.done.len(), "{applied:?}");
    for protocol in ["TCP", "UDP"] {
        assert!(
            applied.iter().any(|r| r.protocol == protocol
                && r.external_port == 47601
                && r.internal_ip == env.lan1.to_string()
                && r.description == "Real preset"),
            "{applied:?}"
        );
    }

    // The preset exported and re-imported is the same preset.
    let dir = temp_dir("preset");
    for format in Format::ALL {
        let file = dir.join(format!("preset.{}", format.extension()));
        transfer::write_file(&file, &transfer::export_preset(&preset, format)).unwrap();
        let back = transfer::read_import(&file)
            .unwrap()
            .into_preset("Real preset")
            .unwrap();
        assert_eq!(back, preset, "{format}");
    }

    // The table rows exported, removed, and imported again with the command line.
    let ours: Vec<Mapping> = listed(&f)
        .into_iter()
        .filter(|m| range.contains(&m.external_port.get()))
        .collect();
    for format in Format::ALL {
        let file = dir.join(format!("table.{}", format.extension()));
        transfer::write_file(&file, &transfer::export_table(&ours, format)).unwrap();
        assert!(f.remove_mappings(&ours).is_complete());
        assert!(rows_in(&env, range.clone()).is_empty());
        let config = dir.to_str().unwrap();
        let path = file.to_str().unwrap();
        let preview = cli(&env, &["--config-dir", config, "import", path]);
        assert!(
            preview.status.success(),
            "{}{}",
            text(&preview.stdout),
            text(&preview.stderr)
        );
        assert!(rows_in(&env, range.clone()).is_empty(), "nothing sent without --yes");
        let out = cli(&env, &["--config-dir", config, "--json", "import", path, "--yes"]);
        assert!(
            out.status.success(),
            "{format}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(result["added"].as_array().unwrap().len(), ours.len(), "{result}");
        assert_eq!(
            rows_in(&env, range.clone()),
            applied,
            "{format}: the same rows as upnpc lists them"
        );
        let again = cli(&env, &["--config-dir", config, "import", path]);
        assert!(
            text(&again.stdout).contains(&format!("0 to add, 0 conflicting, {} unchanged, 0 invalid", ours.len())),
            "{}",
            text(&again.stdout)
        );
    }
    clean_range(&env, &f, range);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
#[ignore = "needs the real gateway: tests/real-gateway/run-suite.sh"]
fn natpmp_and_pcp_mappings_are_made_listed_once_and_removed() {
    use portforward::port_control::{PortControlClient, PortControlMode, PortControlProtocol};
    let env = env();
    let gateway: Ipv4Addr = std::env::var("PFW_LAN_GW").unwrap().parse().unwrap();
    let f = forwarder(&env);
    let range = 47700..=47720;
    clean_range(&env, &f, range.clone());
    let client = PortControlClient::new(gateway).unwrap();
    assert_eq!(client.local_ip(), env.lan1);
    let lifetime = Lease::seconds(600).unwrap();
    if env.cgnat {
        // No usable external address: NAT-PMP answers result 3, "network failure".
        let natpmp = client.clone().with_mode(PortControlMode::NatPmp);
        let err = natpmp.map(Protocol::Tcp, port(47701), None, lifetime).unwrap_err();
        let portforward::Error::PortControl(inner) = &err else {
            panic!("{err}")
        };
        assert_eq!(inner.result_code(), Some(3), "{err}");
        assert!(err.to_string().contains("carrier-grade NAT"), "{err}");
        // PCP answers "no resources" (8); the cause is found and named all the same.
        for mode in [PortControlMode::Pcp, PortControlMode::Auto] {
            let err = client
                .clone()
                .with_mode(mode)
                .map(Protocol::Tcp, port(47701), None, lifetime)
                .unwrap_err();
            assert!(err.to_string().contains("carrier-grade NAT"), "{mode:?}: {err}");
        }
        return;
    }
    assert_eq!(client.external_ip().unwrap(), Ipv4Addr::new(1, 2, 3, 4));
    for (mode, via, p) in [
        (PortControlMode::NatPmp, PortControlProtocol::NatPmp, 47701),
        (PortControlMode::Pcp, PortControlProtocol::Pcp, 47702),
        (PortControlMode::Auto, PortControlProtocol::Pcp, 47703),
    ] {
        let client = client.clone().with_mode(mode);
        let mapping = client
            .map(Protocol::Udp, port(p), Some(port(p)), lifetime)
            .unwrap_or_else(|e| panic!("{mode:?}: {e}"));
        assert_eq!(mapping.via, via);
        assert_eq!(mapping.external_port.get(), p);
        assert_eq!(mapping.external_ip, Some(Ipv4Addr::new(1, 2, 3, 4)));
        assert!(mapping.lifetime_secs > 0 && mapping.lifetime_secs <= 600, "{mapping:?}");
        // The UPnP table lists it (upnpc and our list agree); marked, and shown once.
        let seen = upnpc_rows(&env, "lan1");
        let row = seen
            .iter()
            .map(|(r, _)| r)
            .find(|r| r.external_port == p && r.protocol == "UDP")
            .unwrap_or_else(|| panic!("{mode:?}: not in upnpc -l: {seen:?}"));
        assert_eq!(row.internal_ip, env.lan1.to_string());
        assert_eq!(
            PortControlProtocol::from_description(&row.description),
            Some(via),
            "{row:?}"
        );
        let marked = portforward::services::mark_port_control(listed(&f), std::slice::from_ref(&mapping));
        assert_eq!(
            marked.mappings.iter().filter(|m| m.external_port.get() == p).count(),
            1,
            "shown once"
        );
        assert_eq!(marked.via.get(&mapping.key()), Some(&via));

        let renewed = client.renew(&mapping, None).unwrap();
        assert_eq!(renewed.external_port, mapping.external_port);
        client.unmap(&renewed).unwrap();
        assert!(has(&f, p, Protocol::Udp).is_none(), "{mode:?}: removed");
    }

    // The command line: map in one run, remove in another (the PCP nonce is kept on disk).
    let dir = temp_dir("natpmp");
    let config = dir.to_str().unwrap();
    let gw = gateway.to_string();
    let out = cli(
        &env,
        &[
            "--config-dir",
            config,
            "natpmp",
            "map",
            "--gateway-ip",
            &gw,
            "--internal-port",
            "47710",
            "--lifetime",
            "300",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("1.2.3.4:47710/TCP -> 192.168.77.10:47710 via PCP"),
        "{}",
        text(&out.stdout)
    );
    assert!(has(&f, 47710, Protocol::Tcp).is_some());
    let out = cli(
        &env,
        &[
            "--config-dir",
            config,
            "natpmp",
            "unmap",
            "--gateway-ip",
            &gw,
            "--external-port",
            "47710",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(has(&f, 47710, Protocol::Tcp).is_none());
    clean_range(&env, &f, range);
    let _ = std::fs::remove_dir_all(dir);
}

/// `keep --preset` as the login-time job runs it (discovery, no --gateway): the preset's
/// mappings come back after the router restarts with an empty table, and after the LAN link
/// goes down and up again (the router restarting meanwhile). SIGTERM leaves them in place.
#[test]
#[ignore = "needs the real gateway: tests/real-gateway/run-suite.sh"]
fn keep_preset_recreates_the_mappings_after_a_router_restart_and_a_link_down_and_up() {
    use portforward::services::presets::{Preset, PresetMapping, PresetStore, PresetTarget};
    use std::io::BufRead;
    let env = env();
    if env.cgnat {
        return;
    }
    let f = forwarder(&env);
    let range = 48100..=48110;
    clean_range(&env, &f, range.clone());
    let dir = temp_dir("keep-preset");
    let mut store = PresetStore::open(dir.join("presets.json")).unwrap();
    let mut preset = Preset::new("Real keep").unwrap();
    for protocol in Protocol::ALL {
        preset.mappings.push(PresetMapping {
            duration: Lease::seconds(600).unwrap(),
            ..PresetMapping::same_port(port(48101), protocol, PresetTarget::ThisComputer)
        });
    }
    store.save(preset, None).unwrap();
    let both = |env: &Env| {
        let rows = rows_in(env, range.clone());
        rows.len() == 2
            && rows
                .iter()
                .all(|r| r.internal_ip == env.lan1.to_string() && r.internal_port == 48101)
    };

    /// Kills the job if the test fails half-way (it would hold the suite's output pipe open).
    struct Job(std::process::Child);
    impl Drop for Job {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_portforward"))
        .args([
            "--json",
            "--config-dir",
            dir.to_str().unwrap(),
            "--data-dir",
            dir.to_str().unwrap(),
        ])
        .args(["keep", "--preset", "Real keep", "--check-every", "1"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut job = Job(child);
    let (send, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = send.send(line);
        }
    });
    // Waits for lines whose "event" is each of `events` (a multiset), within a hang guard.
    let wait_for = |events: &[&str]| {
        let mut missing = events.to_vec();
        let mut seen = Vec::new();
        while !missing.is_empty() {
            let line = lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|e| panic!("still waiting for {missing:?} ({e}); saw {seen:#?}"));
            let value: serde_json::Value = serde_json::from_str(&line).unwrap();
            if let Some(i) = missing.iter().position(|m| value["event"] == *m) {
                missing.remove(i);
            }
            seen.push(value);
        }
    };
    wait_for(&["connected", "recreated", "recreated"]);
    assert!(both(&env), "{:?}", rows_in(&env, range.clone()));

    reboot_router(&env);
    // The job checks every second, so it may re-create the mappings before this test could
    // list an empty table: its two "recreated" lines are the proof that the restart emptied
    // it (listing here would race the job).
    wait_for(&["recreated", "recreated"]);
    assert!(both(&env), "after the restart: {:?}", rows_in(&env, range.clone()));

    let out = run(&env.harness, &["link", "down"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    wait_for(&["router_lost"]);
    // While this computer is off the network the router goes down too, and comes back with
    // an empty table after the link is up (start-daemon checks the daemon answers lan1).
    run(&env.harness, &["kill-daemon"]);
    let out = run(&env.harness, &["link", "up"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(&env.harness, &["start-daemon", "--clean"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    wait_for(&["connected", "recreated", "recreated"]);
    assert!(
        both(&env),
        "after the link came back: {:?}",
        rows_in(&env, range.clone())
    );

    run("kill", &["-TERM", &job.0.id().to_string()]);
    wait_for(&["stopped"]);
    assert!(job.0.wait().unwrap().success());
    assert!(both(&env), "SIGTERM leaves the mappings");
    clean_range(&env, &f, range);
    let _ = std::fs::remove_dir_all(dir);
}
