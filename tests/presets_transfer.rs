//! Presets, export/import and NAT-PMP/PCP against the simulated gateways on loopback: the
//! library and the command line, whole paths, no mocks of our own client.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Command, Output};

use portforward::services::PortControlStore;
use portforward::services::presets::{Preset, PresetMapping, PresetStore, PresetTarget};
use portforward::services::transfer::{self, Format};
use portforward::simulator::{PortControlSimConfig, SimConfig, SimMapping, SimulatedGateway, SimulatedPortControl};
use portforward::upnp::GatewayOptions;
use portforward::{Description, Lease, Port, PortForwarder, Protocol};

fn port(p: u16) -> Port {
    Port::new(p).unwrap()
}

fn start(mappings: &[SimMapping]) -> SimulatedGateway {
    let sim = SimulatedGateway::start(SimConfig::default()).expect("the simulator starts");
    for m in mappings {
        sim.insert(m.clone());
    }
    sim
}

fn forwarder(sim: &SimulatedGateway) -> PortForwarder {
    PortForwarder::connect(&sim.description_url(), &GatewayOptions::default()).expect("connect")
}

fn sim_mapping(
    port: u16,
    protocol: &str,
    client: &str,
    internal_port: u16,
    description: &str,
    lease: u32,
) -> SimMapping {
    SimMapping {
        internal_port,
        description: description.into(),
        lease_seconds: lease,
        ..SimMapping::new(port, protocol, client)
    }
}

/// A fresh directory under the system's temporary directory (never the real config dir).
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pfw-it-{name}-{}-{}", std::process::id(), fastrand::u32(..)));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn cli(sim: &SimulatedGateway, config_dir: &std::path::Path, args: &[&str]) -> Output {
    let url = sim.description_url();
    let dir = config_dir.to_str().unwrap();
    let mut all = vec!["--gateway", url.as_str(), "--config-dir", dir];
    all.extend_from_slice(args);
    Command::new(env!("CARGO_BIN_EXE_portforward"))
        .args(&all)
        .output()
        .expect("run portforward")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The sim's table as comparable tuples (lease left aside: it counts down).
fn rows(sim: &SimulatedGateway) -> Vec<(u16, String, String, u16, String)> {
    let mut rows: Vec<_> = sim
        .mappings()
        .into_iter()
        .map(|m| {
            (
                m.external_port,
                m.protocol,
                m.internal_client,
                m.internal_port,
                m.description,
            )
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn a_preset_applied_puts_its_rows_on_the_router_and_reports_each() {
    let sim = start(&[sim_mapping(25566, "TCP", "192.168.1.99", 25566, "someone else", 0)]);
    let forwarder = forwarder(&sim);
    let mut preset = Preset::both_protocols("Minecraft server", port(25565), PresetTarget::ThisComputer).unwrap();
    // This one conflicts with another host's mapping: reported, and the others still made.
    preset.mappings.push(PresetMapping::same_port(
        port(25566),
        Protocol::Tcp,
        PresetTarget::ThisComputer,
    ));
    let report = forwarder.apply_preset(&preset);
    assert_eq!(report.done.len(), 2, "{report:?}");
    assert_eq!(report.failed.len(), 1);
    assert!(report.failed[0].1.contains("192.168.1.99"), "{}", report.failed[0].1);
    let here = forwarder.local_ip().to_string();
    let on_router = rows(&sim);
    for protocol in ["TCP", "UDP"] {
        assert!(
            on_router.contains(&(25565, protocol.into(), here.clone(), 25565, "Minecraft server".into())),
            "{on_router:?}"
        );
    }
    // Applying again refreshes in place: still two rows of ours, no error.
    let again = forwarder.apply_preset(&Preset {
        mappings: preset.mappings[..2].to_vec(),
        ..preset.clone()
    });
    assert!(again.is_complete(), "{again:?}");
    assert_eq!(rows(&sim).len(), 3);
}

#[test]
fn a_table_exported_and_imported_onto_a_fresh_router_is_the_same_table() {
    let original = start(&[
        sim_mapping(8080, "TCP", "192.168.1.20", 8000, "web, \"main\"", 0),
        sim_mapping(27015, "UDP", "192.168.1.21", 27015, "game <&>", 3600),
        sim_mapping(5000, "TCP", "127.0.0.1", 5001, "this computer", 0),
    ]);
    let table = forwarder(&original).get_all_mappings().unwrap().mappings;
    for format in Format::ALL {
        let dir = temp_dir("roundtrip");
        let file = dir.join(format!("table.{}", format.extension()));
        transfer::write_file(&file, &transfer::export_table(&table, format)).unwrap();

        let fresh = start(&[]);
        let target = forwarder(&fresh);
        let imported = transfer::read_import(&file).unwrap();
        let plan = transfer::plan_import(&imported, &[], target.local_ip());
        assert!(plan.is_clean(), "{format}: {:?}", plan.invalid);
        let report = target.add_mappings(&plan.mappings_to_add());
        assert!(report.is_complete(), "{format}: {report:?}");
        assert_eq!(rows(&fresh), rows(&original), "{format}");
        // Imported again: everything is already there.
        let again = transfer::plan_import(
            &imported,
            &target.get_all_mappings().unwrap().mappings,
            target.local_ip(),
        );
        assert_eq!(again.unchanged.len(), 3, "{format}");
        assert!(again.to_add.is_empty() && again.conflicts.is_empty());
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn a_preset_exported_and_reimported_applies_the_same() {
    let dir = temp_dir("preset-roundtrip");
    let mut store = PresetStore::open(dir.join("presets.json")).unwrap();
    let mut preset = Preset::new("Game night").unwrap();
    preset.mappings.push(PresetMapping {
        description: Description::parse_field("d", "voice").unwrap(),
        duration: Lease::PERMANENT,
        ..PresetMapping::same_port(port(9987), Protocol::Udp, PresetTarget::ThisComputer)
    });
    preset.mappings.push(PresetMapping::same_port(
        port(8123),
        Protocol::Tcp,
        PresetTarget::Host(Ipv4Addr::new(192, 168, 1, 50)),
    ));
    store.save(preset.clone(), None).unwrap();
    for format in Format::ALL {
        let file = dir.join(format!("preset.{}", format.extension()));
        transfer::write_file(&file, &transfer::export_preset(&preset, format)).unwrap();
        let back = transfer::read_import(&file).unwrap().into_preset("Game night").unwrap();
        assert_eq!(back, preset, "{format}");
        let sim = start(&[]);
        assert!(forwarder(&sim).apply_preset(&back).is_complete());
        assert_eq!(sim.mappings().len(), 2);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn cli_import_shows_the_plan_and_adds_only_with_yes() {
    let sim = start(&[sim_mapping(27015, "UDP", "192.168.1.21", 27015, "game", 0)]);
    let dir = temp_dir("cli-import");
    let file = dir.join("rows.csv");
    // The same file as the window's import test: a row to add, a conflict, an invalid row.
    std::fs::write(&file, include_str!("support/import-plan.csv")).unwrap();
    let path = file.to_str().unwrap();
    let out = cli(&sim, &dir, &["import", path]);
    let stdout = text(&out.stdout);
    assert!(
        !out.status.success(),
        "conflicts and invalid rows make the exit status non-zero"
    );
    assert!(
        stdout.contains("1 to add, 1 conflicting, 0 unchanged, 1 invalid"),
        "{stdout}"
    );
    assert!(
        stdout.contains("line 3: 27015/UDP wants 192.168.1.99:27015, but the router forwards it to 192.168.1.21:27015"),
        "{stdout}"
    );
    assert!(
        stdout.contains("line 4: external port: a port must be from 1 to 65535"),
        "{stdout}"
    );
    assert!(stdout.contains("run again with --yes"), "{stdout}");
    assert_eq!(sim.mappings().len(), 1, "nothing sent without --yes");

    let out = cli(&sim, &dir, &["--json", "import", path, "--yes"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["added"][0]["external_port"], 8080);
    assert_eq!(json["conflicts"][0]["line"], 3);
    assert_eq!(json["invalid"][0]["field"], "external port");
    assert_eq!(sim.mappings().len(), 2, "only the clean row was added");
    assert!(
        sim.mappings()
            .iter()
            .any(|m| m.external_port == 8080 && m.internal_client == "192.168.1.20")
    );

    // What `list --json` prints imports as it is.
    let listed = cli(&sim, &dir, &["--json", "list"]);
    let listed_file = dir.join("listed.json");
    std::fs::write(&listed_file, &listed.stdout).unwrap();
    let out = cli(&sim, &dir, &["import", listed_file.to_str().unwrap()]);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("0 to add, 0 conflicting, 2 unchanged, 0 invalid"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn cli_export_then_presets_import_apply_and_delete() {
    let sim = start(&[sim_mapping(8080, "TCP", "192.168.1.20", 8000, "web", 0)]);
    let dir = temp_dir("cli-presets");
    let exported = dir.join("table.csv");
    let out = cli(&sim, &dir, &["export", exported.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        std::fs::read_to_string(&exported)
            .unwrap()
            .starts_with("external_port,internal_port,")
    );

    let out = cli(
        &sim,
        &dir,
        &["preset", "import", exported.to_str().unwrap(), "--name", "Web"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = cli(&sim, &dir, &["preset", "list"]);
    assert!(
        text(&out.stdout).contains("Web (1 mapping(s))"),
        "{}",
        text(&out.stdout)
    );
    assert!(dir.join("presets.json").exists(), "kept in --config-dir");

    let fresh = start(&[]);
    let out = cli(&fresh, &dir, &["preset", "apply", "web"]);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(rows(&fresh), rows(&sim));

    let out = cli(&sim, &dir, &["preset", "apply", "nope"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("the presets are: Web"),
        "{}",
        text(&out.stderr)
    );
    let out = cli(&sim, &dir, &["preset", "delete", "Web"]);
    assert!(out.status.success());
    assert!(
        PresetStore::open(dir.join("presets.json"))
            .unwrap()
            .presets()
            .is_empty()
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn cli_natpmp_maps_lists_and_unmaps_through_the_simulated_server() {
    let ip = Ipv4Addr::new(127, 0, 54, 1);
    if let Some(why) = portforward::simulator::port_control_unavailable(ip) {
        eprintln!("skipped: {why}");
        return;
    }
    let server = SimulatedPortControl::start(ip, PortControlSimConfig::default()).unwrap();
    let sim = start(&[]);
    let dir = temp_dir("cli-natpmp");
    let natpmp = |args: &[&str]| {
        let mut all = vec!["natpmp"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--gateway-ip", "127.0.54.1"]);
        cli(&sim, &dir, &all)
    };
    let out = natpmp(&[
        "map",
        "--internal-port",
        "6000",
        "--protocol",
        "udp",
        "--lifetime",
        "600",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("via PCP"), "{}", text(&out.stdout));
    assert_eq!(server.mappings().len(), 1);
    let store = PortControlStore::open(dir.join("port-control.json")).unwrap();
    assert_eq!(store.mappings().len(), 1, "kept for a later run");

    let out = natpmp(&["renew", "--external-port", "6000", "--protocol", "udp"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = natpmp(&["ip"]);
    assert!(
        text(&out.stdout).contains("external 203.0.113.7"),
        "{}",
        text(&out.stdout)
    );
    // Another run removes it: the PCP nonce came from the file.
    let out = natpmp(&["unmap", "--external-port", "6000", "--protocol", "udp"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(server.mappings().is_empty());
    let out = natpmp(&["unmap", "--external-port", "6000", "--protocol", "udp"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("did not make 6000/UDP"),
        "{}",
        text(&out.stderr)
    );

    let out = natpmp(&["map", "--internal-port", "6001", "--via", "nat-pmp", "--lifetime", "0"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no permanent mappings"),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_dir_all(dir).unwrap();
}
