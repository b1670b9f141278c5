//! Headless UI tests of the Presets and NAT-PMP/PCP tabs and the Export/Import windows,
//! against the simulated gateways on loopback. Files are typed into the path field: no file
//! dialog is ever opened by a test.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use portforward::services::presets::{Preset, PresetMapping, PresetStore, PresetTarget};
use portforward::simulator::{PortControlSimConfig, SimConfig, SimMapping, SimulatedGateway, SimulatedPortControl};
use portforward::{Port, Protocol};

use super::*;

fn temp_file(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pfw-gui-{}-{}", std::process::id(), fastrand::u32(..)));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn has_row(sim: &SimulatedGateway, port: u16, protocol: &str) -> Option<SimMapping> {
    sim.mappings()
        .into_iter()
        .find(|m| m.external_port == port && m.protocol == protocol)
}

#[test]
fn a_preset_is_applied_in_one_click_with_a_result_per_row() {
    let sim = sim(
        SimConfig::default(),
        &[mapping(25566, "TCP", "192.168.1.99", "someone else", 0)],
    );
    let mut store = PresetStore::in_memory();
    let mut preset = Preset::new("Minecraft server").unwrap();
    for protocol in Protocol::ALL {
        preset.mappings.push(PresetMapping::same_port(
            Port::new(25565).unwrap(),
            protocol,
            PresetTarget::ThisComputer,
        ));
    }
    preset.mappings.push(PresetMapping::same_port(
        Port::new(25566).unwrap(),
        Protocol::Tcp,
        PresetTarget::ThisComputer,
    ));
    store.save(preset, None).unwrap();
    let mut h = connected_with(&sim, store);
    click(&mut h, "Presets");
    click_button(&mut h, "Apply \"Minecraft server\"");
    settled(&mut h, "the apply's result", |h| has_contains(h, "added 25565/TCP"));
    assert!(has_contains(&h, "added 25565/UDP"));
    assert!(has_contains(
        &h,
        "25566/TCP: port 25566/TCP is already forwarded to 192.168.1.99"
    ));
    for protocol in ["TCP", "UDP"] {
        let row = has_row(&sim, 25565, protocol).expect("on the router");
        assert_eq!(row.internal_client, "127.0.0.1", "this computer, resolved");
        assert_eq!(row.description, "Minecraft server");
    }
    // The table is read again and shows them.
    settled(&mut h, "the new rows in the table", |h| {
        h.query_all_by_label("Minecraft server").count() >= 3
    });
}

#[test]
fn a_preset_is_made_from_the_selection_then_deleted_after_a_yes() {
    let sim = sim(
        SimConfig::default(),
        &[mapping(8080, "TCP", "192.168.1.20", "web server", 0)],
    );
    let mut h = connected_with(&sim, PresetStore::in_memory());
    settled(&mut h, "the row", |h| has(h, "web server"));
    click(&mut h, "web server");
    click(&mut h, "Presets");
    click_button(&mut h, "New from selection");
    step_until(&mut h, "the editor", |h| has(h, "Save preset"));
    assert!(has(&h, "New preset"), "the editor window's title");
    assert!(!button_enabled(&h, "Save preset"), "a preset needs a name");
    type_into(&mut h, "Preset name", "Web");
    click_button(&mut h, "Save preset");
    settled(&mut h, "the saved preset", |h| has(h, "Apply \"Web\""));
    assert!(has_contains(&h, "8080/TCP -> 192.168.1.20:8080 \"web server\""));
    click_button(&mut h, "Delete");
    assert!(has_contains(&h, "Delete \"Web\"? The router is not changed."));
    click_button(&mut h, "Cancel");
    assert!(has(&h, "Apply \"Web\""), "cancel keeps it");
    click_button(&mut h, "Delete");
    click_button(&mut h, "Delete preset");
    settled(&mut h, "the preset gone", |h| !has(h, "Apply \"Web\""));
    assert!(has_contains(&h, "Deleted preset \"Web\""));
    assert_eq!(sim.mappings().len(), 1, "the router is not changed");
}

#[test]
fn import_shows_the_plan_from_a_typed_path_and_adds_only_on_confirm() {
    let sim = sim(
        SimConfig::default(),
        &[mapping(27015, "UDP", "192.168.1.21", "game", 0)],
    );
    let file = temp_file("rows.csv");
    // The same file as the command line's import test: one to add, a conflict, an invalid row.
    std::fs::write(&file, include_str!("../../../tests/support/import-plan.csv")).unwrap();
    let mut h = connected_with(&sim, PresetStore::in_memory());
    click_button(&mut h, "Import…");
    step_until(&mut h, "the window", |h| {
        h.query_by_role_and_label(Role::TextInput, "File").is_some()
    });
    type_into(&mut h, "File", file.to_str().unwrap());
    click_button(&mut h, "Show what would change");
    settled(&mut h, "the plan", |h| has_contains(h, "To add: 1"));
    assert!(has(&h, "Conflicts: 1 (not sent)"));
    assert!(has(&h, "Unchanged: 0"));
    assert!(has(&h, "Invalid: 1 (not sent)"));
    assert!(has_contains(
        &h,
        "line 3: 27015/UDP wants 192.168.1.99:27015, but the router forwards it to 192.168.1.21:27015"
    ));
    assert!(has_contains(
        &h,
        "line 4: external port: a port must be from 1 to 65535"
    ));
    assert_eq!(sim.mappings().len(), 1, "nothing sent before the confirmation");
    click_button(&mut h, "Add 1 mapping");
    settled(&mut h, "the import's result", |h| has_contains(h, "added 8080/TCP"));
    assert_eq!(has_row(&sim, 8080, "TCP").unwrap().internal_client, "192.168.1.20");
    assert_eq!(
        has_row(&sim, 27015, "UDP").unwrap().internal_client,
        "192.168.1.21",
        "the conflict was not sent"
    );
    std::fs::remove_dir_all(file.parent().unwrap()).unwrap();
}

#[test]
fn export_writes_the_table_to_a_typed_path() {
    let sim = sim(
        SimConfig::default(),
        &[mapping(8080, "TCP", "192.168.1.20", "web server", 0)],
    );
    let file = temp_file("table.csv");
    let mut h = connected_with(&sim, PresetStore::in_memory());
    click_button(&mut h, "Export…");
    step_until(&mut h, "the window", |h| {
        h.query_by_role_and_label(Role::TextInput, "File").is_some()
    });
    type_into(&mut h, "File", file.to_str().unwrap());
    click_button(&mut h, "Export");
    settled(&mut h, "the export", |h| has_contains(h, "Wrote 1 mapping"));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with("external_port,internal_port,internal_ip,protocol,"),
        "{text}"
    );
    assert!(text.contains("8080,8080,192.168.1.20,TCP,web server,0,true,"), "{text}");
    std::fs::remove_dir_all(file.parent().unwrap()).unwrap();
}

#[test]
fn a_natpmp_mapping_is_made_marked_in_the_table_once_and_removed() {
    let ip = Ipv4Addr::new(127, 0, 55, 1);
    if let Some(why) = portforward::simulator::port_control_unavailable(ip) {
        eprintln!("skipped: {why}");
        return;
    }
    let server = SimulatedPortControl::start(ip, PortControlSimConfig::default()).unwrap();
    let sim = sim(SimConfig::default(), &[]);
    let mut h = connected_with(&sim, PresetStore::in_memory());
    click(&mut h, "NAT-PMP/PCP");
    type_into(&mut h, "Router address", "127.0.55.1");
    type_into(&mut h, "Port on this computer", "6000");
    click_button(&mut h, "Map port");
    settled(&mut h, "the mapping", |h| {
        has_contains(h, "Forwarded 203.0.113.7:6000/TCP")
    });
    assert_eq!(server.mappings().len(), 1);
    // The simulated UPnP table does not list it: a row of its own, marked.
    settled(&mut h, "the marked row", |h| has(h, "via PCP"));
    assert!(has(&h, "made via PCP"));
    // A router that lists it in its UPnP table (as miniupnpd does) shows it once.
    sim.insert(SimMapping {
        description: "PCP MAP 0a0b0c0d".to_owned(),
        ..mapping(6000, "TCP", "127.0.0.1", "", 600)
    });
    h.key_press(egui::Key::F5);
    settled(&mut h, "the router's own row", |h| has(h, "PCP MAP 0a0b0c0d"));
    assert_eq!(h.query_all_by_label("via PCP").count(), 1);
    assert!(!has(&h, "made via PCP"));

    click_button(&mut h, "Remove 6000/TCP");
    settled(&mut h, "the removal", |h| has_contains(h, "Removed 6000/TCP (via PCP)"));
    assert!(server.mappings().is_empty());
}
