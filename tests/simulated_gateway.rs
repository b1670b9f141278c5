//! The library and the command line against the simulated gateway on 127.0.0.1: the whole
//! SOAP path over real HTTP, no mocks of our own client, no root, no multicast.

use std::net::Ipv4Addr;
use std::process::{Command, Output};

use portforward::simulator::{Fault, MINIUPNPD_SERVER, SimConfig, SimMapping, SimService, SimulatedGateway};
use portforward::upnp::{Gateway, GatewayOptions, IgdVersion, ListMethod};
use portforward::{
    Description, EnableRequest, Error, ExternalReachability, ForwardError, Lease, MappingFilter, Port, PortForwarder,
    Protocol, UpnpCode,
};

fn port(p: u16) -> Port {
    Port::new(p).unwrap()
}

fn start(config: SimConfig) -> SimulatedGateway {
    SimulatedGateway::start(config).expect("the simulator starts")
}

fn igd(version: u8) -> SimulatedGateway {
    start(SimConfig {
        igd_version: version,
        ..SimConfig::default()
    })
}

fn forwarder(sim: &SimulatedGateway) -> PortForwarder {
    PortForwarder::connect(&sim.description_url(), &GatewayOptions::default()).expect("connect")
}

fn sim_mapping(port: u16, protocol: &str, client: &str, description: &str) -> SimMapping {
    SimMapping {
        description: description.into(),
        ..SimMapping::new(port, protocol, client)
    }
}

fn cli(sim: &SimulatedGateway, args: &[&str]) -> Output {
    let url = sim.description_url();
    let mut all = vec!["--gateway", url.as_str()];
    all.extend_from_slice(args);
    Command::new(env!("CARGO_BIN_EXE_portforward"))
        .args(&all)
        .output()
        .expect("run portforward")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn the_description_says_who_the_gateway_is() {
    for (version, expected, service) in [
        (2, IgdVersion::V2, "urn:schemas-upnp-org:service:WANIPConnection:2"),
        (1, IgdVersion::V1, "urn:schemas-upnp-org:service:WANIPConnection:1"),
    ] {
        let sim = igd(version);
        let gateway = Gateway::connect(&sim.description_url(), &GatewayOptions::default()).unwrap();
        let d = gateway.description();
        assert_eq!(d.igd_version, expected);
        assert_eq!(d.service_type, service);
        assert!(!d.friendly_name.is_empty() && !d.manufacturer.is_empty() && !d.model_name.is_empty());
        assert_eq!(gateway.supports("AddAnyPortMapping"), version == 2);
        assert_eq!(gateway.status().unwrap().status, "Connected");
    }
}

#[test]
fn a_ppp_only_gateway_works() {
    let sim = start(SimConfig {
        igd_version: 1,
        service: SimService::WanPppConnection,
        ..SimConfig::default()
    });
    let f = forwarder(&sim);
    assert_eq!(
        f.gateway().description().service_type,
        "urn:schemas-upnp-org:service:WANPPPConnection:1"
    );
    let enabled = f
        .enable(&EnableRequest {
            external_port: Some(port(30000)),
            ..EnableRequest::default()
        })
        .unwrap();
    assert_eq!(enabled.mapping.external_port, port(30000));
    assert_eq!(f.get_all_mappings().unwrap().mappings.len(), 1);
}

#[test]
fn enable_defaults_are_pyforwards_and_disable_undoes_the_last() {
    for version in [1, 2] {
        let sim = igd(version);
        let f = forwarder(&sim);
        let e = f.enable(&EnableRequest::default()).unwrap();
        assert_eq!(e.external_ip, Some(Ipv4Addr::new(203, 0, 113, 7)));
        assert_eq!(e.request.internal_ip, f.local_ip());
        assert_eq!(e.request.protocol, Protocol::Tcp);
        assert_eq!(e.request.description.as_str(), "PortForward");
        assert_eq!(e.request.lease, Lease::DEFAULT);
        assert_eq!(sim.mappings().len(), 1);
        assert_eq!(sim.mappings()[0].external_port, e.request.external_port.get());
        let removed = f.disable(None, None).unwrap();
        assert_eq!(removed.external_port, e.request.external_port);
        assert!(sim.mappings().is_empty());
    }
}

#[test]
fn an_igd1_router_gets_a_free_port_without_add_any() {
    let sim = igd(1);
    // The local port will be chosen by the system; make the router's table busy around it.
    for p in 50000..50010 {
        sim.insert(sim_mapping(p, "TCP", "192.168.1.50", "busy"));
    }
    let f = forwarder(&sim);
    let e = f.enable(&EnableRequest::default()).unwrap();
    assert!(!(50000..50010).contains(&e.request.external_port.get()));
    assert!(!sim.actions().iter().any(|a| a == "AddAnyPortMapping"));
}

#[test]
fn a_conflict_names_the_holder_and_nothing_changes() {
    let sim = igd(2);
    sim.insert(sim_mapping(8080, "TCP", "192.168.1.20", "nas"));
    let f = forwarder(&sim);
    let err = f
        .enable(&EnableRequest {
            external_port: Some(port(8080)),
            internal_port: Some(port(8081)),
            ..EnableRequest::default()
        })
        .unwrap_err();
    assert_eq!(err.upnp_code(), Some(UpnpCode::Conflict));
    assert!(
        err.to_string()
            .starts_with("port 8080/TCP is already forwarded to 192.168.1.20:8080 (\"nas\") (error 718)"),
        "{err}"
    );
    assert_eq!(sim.mappings().len(), 1);
    assert_eq!(sim.mappings()[0].internal_client, "192.168.1.20");
}

#[test]
fn lease_fallbacks_follow_the_router() {
    let permanent_only = start(SimConfig {
        only_permanent_leases: true,
        igd_version: 1,
        ..SimConfig::default()
    });
    let e = forwarder(&permanent_only)
        .enable(&EnableRequest {
            external_port: Some(port(31000)),
            ..EnableRequest::default()
        })
        .unwrap();
    assert_eq!(e.request.lease, Lease::PERMANENT, "725 -> permanent");

    let finite_only = start(SimConfig {
        refuse_permanent_lease: true,
        ..SimConfig::default()
    });
    let e = forwarder(&finite_only)
        .enable(&EnableRequest {
            external_port: Some(port(31001)),
            lease: Some(Lease::PERMANENT),
            ..EnableRequest::default()
        })
        .unwrap();
    assert_eq!(e.request.lease, Lease::MAX, "402 on a permanent lease -> 7 days");
    assert!(e.mapping.lease.is_finite());
}

#[test]
fn refresh_renews_in_place_without_deleting() {
    let sim = igd(2);
    let f = forwarder(&sim);
    f.enable(&EnableRequest {
        external_port: Some(port(32000)),
        lease: Some(Lease::seconds(60).unwrap()),
        description: Some(Description::parse_field("d", "mine").unwrap()),
        ..EnableRequest::default()
    })
    .unwrap();
    let renewed = f
        .refresh(Some(&EnableRequest {
            external_port: Some(port(32000)),
            lease: Some(Lease::seconds(7200).unwrap()),
            ..EnableRequest::default()
        }))
        .unwrap();
    assert!(renewed.mapping.lease.as_secs() > 7000);
    assert_eq!(
        renewed.mapping.description.as_str(),
        "mine",
        "unspecified fields come from the last enable"
    );
    assert!(
        !sim.actions().iter().any(|a| a == "DeletePortMapping"),
        "{:?}",
        sim.actions()
    );
    assert!(matches!(
        forwarder(&sim).refresh(None),
        Err(Error::Forward(ForwardError::NoPreviousEnable))
    ));
}

#[test]
fn disabling_what_is_not_there_is_an_error_not_a_silent_success() {
    let sim = igd(2);
    let f = forwarder(&sim);
    let err = f.disable(Some(port(33000)), Some(Protocol::Udp)).unwrap_err();
    assert_eq!(err.upnp_code(), Some(UpnpCode::NoSuchEntry));
    assert!(err.to_string().contains("33000/UDP"), "{err}");
    assert!(!sim.actions().iter().any(|a| a == "DeletePortMapping"));
}

#[test]
fn disable_all_matches_all_fields_refuses_no_filter_and_undo_restores() {
    let sim = igd(2);
    sim.insert(sim_mapping(34001, "TCP", "127.0.0.1", "game"));
    sim.insert(sim_mapping(34002, "UDP", "127.0.0.1", "game"));
    sim.insert(sim_mapping(34003, "TCP", "192.168.1.9", "game"));
    sim.insert(sim_mapping(34004, "TCP", "127.0.0.1", "other"));
    let f = forwarder(&sim);
    assert!(matches!(
        f.disable_all(&MappingFilter::default()),
        Err(Error::Forward(ForwardError::UnfilteredDisableAll))
    ));
    assert_eq!(sim.mappings().len(), 4);
    let filter = MappingFilter {
        description: Some("game".into()),
        internal_ip: Some("127.0.0.1".into()),
        ..MappingFilter::default()
    };
    let preview: Vec<u16> = f
        .preview_disable_all(&filter)
        .unwrap()
        .iter()
        .map(|m| m.external_port.get())
        .collect();
    assert_eq!(preview, vec![34001, 34002]);
    let report = f.disable_all(&filter).unwrap();
    assert!(report.is_complete());
    let left: Vec<u16> = sim.mappings().iter().map(|m| m.external_port).collect();
    assert_eq!(left, vec![34003, 34004]);
    let undo = f.restore_mappings(&report.done);
    assert!(undo.is_complete(), "{undo:?}");
    assert_eq!(sim.mappings().len(), 4);
    let back = sim.mappings().into_iter().find(|m| m.external_port == 34002).unwrap();
    assert_eq!((back.protocol.as_str(), back.description.as_str()), ("UDP", "game"));
}

#[test]
fn secure_mode_refusals_are_reported_per_row() {
    let sim = start(SimConfig {
        secure_mode: true,
        ..SimConfig::default()
    });
    sim.insert(sim_mapping(35001, "TCP", "192.168.1.9", "theirs"));
    sim.insert(sim_mapping(35002, "TCP", "127.0.0.1", "mine"));
    let f = forwarder(&sim);
    let report = f
        .disable_all(&MappingFilter {
            everything: true,
            ..MappingFilter::default()
        })
        .unwrap();
    assert_eq!(report.done.len(), 1);
    assert_eq!(report.failed.len(), 1);
    assert!(report.failed[0].1.contains("error 606"), "{}", report.failed[0].1);
    let err = f
        .enable(&EnableRequest {
            external_port: Some(port(35003)),
            internal_ip: Some(Ipv4Addr::new(192, 168, 1, 9)),
            ..EnableRequest::default()
        })
        .unwrap_err();
    assert!(
        matches!(err, Error::Forward(ForwardError::OnlyForItself { .. })),
        "{err:?}"
    );
}

#[test]
fn the_list_call_pages_and_falls_back_to_the_walk_for_good() {
    // A router that returns fewer entries than asked for and is not miniupnpd.
    let sim = start(SimConfig {
        list_page_limit: 3,
        server: CAPPING_SERVER.to_owned(),
        ..SimConfig::default()
    });
    for p in 0..10 {
        sim.insert(sim_mapping(
            36000 + p,
            if p % 2 == 0 { "TCP" } else { "UDP" },
            "127.0.0.1",
            "x",
        ));
    }
    let f = forwarder(&sim);
    let table = f.get_all_mappings().unwrap();
    assert_eq!(table.method, Some(ListMethod::ListCall));
    assert_eq!(table.mappings.len(), 10);
    sim.set_faults(vec![Fault::ListFailsAfter { calls: 1 }]);
    let table = f.get_all_mappings().unwrap();
    assert_eq!(table.method, Some(ListMethod::Walk));
    assert_eq!(table.mappings.len(), 10);
    assert!(table.warnings[0].contains("list call failed"), "{:?}", table.warnings);
    sim.set_faults(vec![]);
    let calls_before = sim.actions().iter().filter(|a| *a == "GetListOfPortMappings").count();
    f.get_all_mappings().unwrap();
    let calls_after = sim.actions().iter().filter(|a| *a == "GetListOfPortMappings").count();
    assert_eq!(
        calls_before, calls_after,
        "a failed list call is not retried on every listing"
    );
}

/// The `Server` header of a router that is not miniupnpd.
const CAPPING_SERVER: &str = "Linux/4.4 UPnP/1.1 AcmeIGD/1.0";

#[test]
fn a_short_page_ends_the_listing_only_on_miniupnpd() {
    let list_calls = |sim: &SimulatedGateway| sim.actions().iter().filter(|a| *a == "GetListOfPortMappings").count();
    for (server, calls_per_protocol) in [(MINIUPNPD_SERVER, 1), (CAPPING_SERVER, 2)] {
        let sim = start(SimConfig {
            server: server.to_owned(),
            ..SimConfig::default()
        });
        for p in 0..10 {
            let protocol = if p % 2 == 0 { "TCP" } else { "UDP" };
            sim.insert(sim_mapping(36100 + p, protocol, "127.0.0.1", "x"));
        }
        let f = forwarder(&sim);
        assert_eq!(f.gateway().server(), Some(server));
        let before = list_calls(&sim);
        let table = f.get_all_mappings().unwrap();
        assert_eq!(table.mappings.len(), 10, "{server}");
        assert_eq!(
            list_calls(&sim) - before,
            2 * calls_per_protocol,
            "{server}: list calls for two protocols"
        );
    }
}

#[test]
fn the_connection_is_kept_alive() {
    let sim = igd(1);
    for p in 0..40 {
        sim.insert(sim_mapping(37000 + p, "TCP", "127.0.0.1", "x"));
    }
    let f = forwarder(&sim);
    let before = sim.connections_accepted();
    let table = f.get_all_mappings().unwrap();
    assert_eq!(table.mappings.len(), 40);
    let report = f.remove_mappings(&table.mappings);
    assert!(report.is_complete());
    let used = sim.connections_accepted() - before;
    assert!(used <= 4, "82 requests over {used} connections");
}

#[test]
fn addresses_and_free_ports() {
    let sim = igd(2);
    sim.insert(sim_mapping(49152, "TCP", "127.0.0.1", "x"));
    let f = forwarder(&sim);
    assert_eq!(f.local_ip(), Ipv4Addr::LOCALHOST);
    assert_eq!(f.external_ip().unwrap(), Some(Ipv4Addr::new(203, 0, 113, 7)));
    let free = f.open_external_port(Protocol::Tcp).unwrap();
    assert_ne!(free.get(), 49152);
    assert!(portforward::DYNAMIC_PORTS.contains(&free.get()));
    let entry = f.get_mapping(0).unwrap();
    assert_eq!(entry.external_port.get(), 49152);
    assert!(entry.enabled && entry.remote_host.is_empty());
    assert_eq!(
        f.get_mapping(1).unwrap_err().upnp_code(),
        Some(UpnpCode::ArrayIndexInvalid)
    );

    let cgnat = start(SimConfig {
        external_ip: String::new(),
        ..SimConfig::default()
    });
    let f = forwarder(&cgnat);
    assert_eq!(f.external_ip().unwrap(), None);
    assert_eq!(ExternalReachability::of(None), ExternalReachability::NoAddress);
    let err = f.enable(&EnableRequest::default()).unwrap_err();
    assert_eq!(err.upnp_code(), Some(UpnpCode::ActionFailed));
}

#[test]
fn cli_list_json_has_pyforwards_keys() {
    let sim = igd(2);
    let mut m = sim_mapping(38001, "UDP", "192.168.1.4", "a <b> & \"c\"");
    m.enabled = false;
    m.remote_host = "198.51.100.2".into();
    m.lease_seconds = 600;
    sim.insert(m);
    let out = cli(&sim, &["list", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = &rows[0];
    assert_eq!(row["external_port"], 38001);
    assert_eq!(row["internal_port"], 38001);
    assert_eq!(row["internal_ip"], "192.168.1.4");
    assert_eq!(row["protocol"], "UDP");
    assert_eq!(row["description"], "a <b> & \"c\"");
    assert!(row["duration"].as_u64().unwrap() <= 600 && row["duration"].as_u64().unwrap() > 590);
    assert_eq!(row["enabled"], false);
    assert_eq!(row["remote_host"], "198.51.100.2");
}

#[test]
fn cli_enable_disable_and_disable_all_preview() {
    let sim = igd(2);
    let out = cli(
        &sim,
        &["enable", "--external-port", "39001", "--protocol", "udp", "--json"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let e: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(e["external_port"], 39001);
    assert_eq!(e["protocol"], "UDP");
    assert_eq!(e["external_ip"], "203.0.113.7");
    let out = cli(&sim, &["disable-all", "--protocol", "UDP"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("would remove 1 mapping(s); nothing was changed"));
    assert_eq!(sim.mappings().len(), 1);
    let out = cli(&sim, &["disable-all"]);
    assert!(!out.status.success(), "no filter and no --all must refuse");
    assert!(stderr(&out).contains("every mapping on the router"));
    let out = cli(&sim, &["disable", "--external-port", "39001", "--protocol", "UDP"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(sim.mappings().is_empty());
    let out = cli(&sim, &["disable", "--external-port", "39001", "--protocol", "UDP"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no such mapping"), "{}", stderr(&out));
}

/// Every invalid value of every field: refused with the field's name, and the router never
/// sees a request.
#[test]
fn cli_bad_input_names_the_field_and_reaches_no_router() {
    let sim = igd(2);
    let long = "x".repeat(1024);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["enable", "--external-port", "0"],
            "external port: a port must be from 1 to 65535",
        ),
        (
            vec!["enable", "--external-port", "65536"],
            "external port: a port must be from 1 to 65535",
        ),
        (
            vec!["enable", "--external-port", "70000"],
            "external port: a port must be from 1 to 65535",
        ),
        (
            vec!["enable", "--external-port", "-1"],
            "external port: a port must be from 1 to 65535",
        ),
        (
            vec!["enable", "--external-port", "abc"],
            "external port: a port is a whole number",
        ),
        (
            vec!["enable", "--internal-port", "70000"],
            "internal port: a port must be from 1 to 65535",
        ),
        (
            vec!["enable", "--protocol", "XYZ"],
            "protocol: the protocol must be TCP or UDP",
        ),
        (
            vec!["enable", "--internal-ip", "300.1.1.1"],
            "internal ip: enter an IPv4 address",
        ),
        (
            vec!["enable", "--internal-ip", "::1"],
            "internal ip: port mappings take an IPv4 address",
        ),
        (
            vec!["enable", "--duration", "604801"],
            "duration: a lease must be from 0",
        ),
        (vec!["enable", "--duration", "-1"], "duration: a lease must be from 0"),
        (
            vec!["enable", "--description", &long],
            "description: a description may be at most 255 bytes",
        ),
        (
            vec!["disable", "--external-port", "70000"],
            "external port: a port must be from 1 to 65535",
        ),
        (
            vec!["refresh", "--external-port", "0"],
            "external port: a port must be from 1 to 65535",
        ),
        (
            vec!["disable-all", "--protocol", "XYZ"],
            "protocol: the protocol must be TCP or UDP",
        ),
        (
            vec!["disable-all", "--internal-port", "0"],
            "internal port: a port must be from 1 to 65535",
        ),
    ];
    for (args, message) in cases {
        let out = cli(&sim, &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
    assert!(sim.actions().is_empty(), "the router saw {:?}", sim.actions());
}

#[test]
fn the_demo_router_is_populated() {
    let sim = SimulatedGateway::demo().unwrap();
    let f = forwarder(&sim);
    let table = f.get_all_mappings().unwrap();
    assert!(table.mappings.len() >= 10);
    assert!(table.mappings.iter().any(|m| !m.enabled));
    assert!(table.mappings.iter().any(|m| m.lease.is_permanent()));
    assert!(table.mappings.iter().any(|m| m.internal_client == "127.0.0.1"));
}

#[test]
fn a_fritzbox_refusal_names_the_setting_to_change() {
    let sim = SimulatedGateway::start(SimConfig {
        manufacturer: "AVM Berlin".into(),
        model_name: "FRITZ!Box 7590".into(),
        protect_low_ports: true,
        ..SimConfig::default()
    })
    .unwrap();
    let err = forwarder(&sim)
        .enable(&EnableRequest {
            external_port: Some(Port::new(80).unwrap()),
            internal_port: Some(Port::new(8080).unwrap()),
            ..Default::default()
        })
        .unwrap_err();
    assert_eq!(err.upnp_code(), Some(portforward::UpnpCode::NotAuthorized));
    assert!(err.to_string().contains("Permit independent port sharing"), "{err}");
}

/// `portforward gateways` where nothing but a media server answers: exit 1, and stderr says what
/// was tried, what answered and what to do. Discovery goes by unicast to the devices on
/// 127.0.0.1 (the hidden `--search-addr`), never multicast.
#[test]
fn cli_gateways_explains_why_no_router_was_found() {
    let nas = portforward::simulator::SimulatedMediaServer::start("NAS").unwrap();
    let run = |to: std::net::SocketAddr| {
        Command::new(env!("CARGO_BIN_EXE_portforward"))
            .args(["gateways", "--timeout", "0.3", "--search-addr", &to.to_string()])
            .output()
            .expect("run portforward")
    };
    let out = run(nas.ssdp_addr());
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no UPnP gateway answered"), "{stderr}");
    assert!(stderr.contains("with --gateway"), "the command line's hint: {stderr}");
    assert!(stderr.contains("not a gateway: a MediaServer:1 (\"NAS\")"), "{stderr}");
    assert!(stderr.contains("try: turn on UPnP"), "{stderr}");

    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let out = run(silent.local_addr().unwrap());
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no device answered the search at all"), "{stderr}");
}
