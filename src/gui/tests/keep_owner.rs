//! Headless UI tests of the owner column, "Remove stale mappings", keep-alive and removal on
//! exit, against the simulated gateway on 127.0.0.1 (which sees this computer as 127.0.0.1,
//! so the listeners the tests open on 127.0.0.1 are this computer's). Bounded by frames.

use std::net::{Ipv4Addr, TcpListener};
use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use portforward::simulator::SimConfig;

use super::*;
use crate::gui::App;

/// A port nothing on 127.0.0.1 listens on (bound, then let go).
fn unused_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn count(h: &Harness<'static, App>, label: &str) -> usize {
    h.query_all_by_label(label).count()
}

#[test]
fn the_owner_column_names_the_listening_process_and_marks_stale_mappings() {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let served = listener.local_addr().unwrap().port();
    let sim = sim(
        SimConfig::default(),
        &[
            mapping(served, "TCP", "127.0.0.1", "served", 0),
            mapping(unused_port(), "TCP", "127.0.0.1", "abandoned", 0),
            mapping(2456, "UDP", "192.168.1.20", "other host", 0),
        ],
    );
    let mut h = connected(&sim);
    let me = std::process::id();
    settled(&mut h, "the owners", |h| has_contains(h, &format!("(pid {me})")));
    let exe = std::env::current_exe().unwrap();
    let exe = exe.file_name().unwrap().to_string_lossy();
    assert!(
        has(&h, &format!("{exe} (pid {me})")),
        "the test process, by its full name"
    );
    assert_eq!(count(&h, "⚠ stale"), 1, "only the mapping nothing listens on");
    assert!(has(&h, "Owner"), "the column header");
    // The filter matches owners too.
    type_into(&mut h, "Filter", "stale");
    settled(&mut h, "the filter", |h| has(h, "1 of 3 mappings match"));
    assert!(has(&h, "abandoned") && !has(&h, "served"));
}

#[test]
fn remove_stale_mappings_confirms_exactly_the_stale_rows() {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let served = listener.local_addr().unwrap().port();
    let (stale_a, stale_b) = (unused_port(), unused_port());
    let sim = sim(
        SimConfig::default(),
        &[
            mapping(served, "TCP", "127.0.0.1", "served", 0),
            mapping(stale_a, "TCP", "127.0.0.1", "abandoned", 0),
            mapping(stale_b, "UDP", "127.0.0.1", "abandoned udp", 0),
            mapping(2456, "UDP", "192.168.1.20", "other host", 0),
        ],
    );
    let mut h = connected(&sim);
    settled(&mut h, "the owners", |h| count(h, "⚠ stale") == 2);
    h.get_by_role_and_label(Role::Button, "Remove stale mappings").click();
    step_until(&mut h, "the confirmation", |h| has(h, "Remove 2 mappings?"));
    let listed: Vec<String> = h
        .query_all_by_label_contains(" -> ")
        .filter_map(|n| n.accesskit_node().value())
        .collect();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(
        listed.iter().any(|l| l.starts_with(&format!("{stale_a}/TCP"))),
        "{listed:?}"
    );
    assert!(
        listed.iter().any(|l| l.starts_with(&format!("{stale_b}/UDP"))),
        "{listed:?}"
    );
    assert_eq!(sim.mappings().len(), 4, "nothing goes before the confirmation");
    h.get_by_label("Remove 2 mappings").click();
    settled(&mut h, "the report", |h| has_contains(h, "Removed 2 of 2."));
    let left: Vec<u16> = sim.mappings().iter().map(|m| m.external_port).collect();
    assert_eq!(left, [served, 2456]);
}

#[test]
fn a_kept_mapping_is_renewed_and_recreated_after_the_router_reboots() {
    let sim = sim(
        SimConfig::default(),
        &[mapping(30001, "TCP", "127.0.0.1", "keep me", 600)],
    );
    let mut h = connected(&sim);
    settled(&mut h, "the row", |h| has(h, "keep me"));
    row_menu(&mut h, "keep me", "Keep alive");
    // Marked, then renewed at once (its remaining lease is unknown to us).
    step_until(&mut h, "the first renewal", |h| {
        has_contains(h, "keep-alive: renewed 30001/TCP")
    });
    assert!(has(&h, "(kept alive)"));
    assert!(has(&h, "keeping 1 mapping alive"), "the toolbar says so too");
    let lease = sim.mappings()[0].lease_seconds;
    assert!(lease > 3000, "renewed with the default hour: {lease}");

    // The router reboots and forgets its table. The next reading shows the mapping missing;
    // keep-alive checks at once and creates it again.
    sim.restart(false);
    assert!(sim.mappings().is_empty());
    // Reload whenever the window is idle, until keep-alive has done its work.
    let started = Instant::now();
    while !has_contains(&h, "created again") {
        assert!(
            started.elapsed() < HANG_GUARD,
            "keep-alive never re-created the mapping"
        );
        if h.state().is_idle() {
            h.key_press(egui::Key::F5);
        }
        h.step();
        std::thread::yield_now();
    }
    settled(&mut h, "the row back", |h| has(h, "keep me"));
    let back = sim.mappings();
    assert_eq!(back.len(), 1);
    assert_eq!(
        (back[0].external_port, back[0].description.as_str()),
        (30001, "keep me")
    );

    row_menu(&mut h, "keep me", "Stop keeping alive");
    settled(&mut h, "the mark gone", |h| !has(h, "(kept alive)"));
}

#[test]
fn closing_removes_only_the_mappings_this_window_created_when_asked() {
    let sim = sim(
        SimConfig::default(),
        &[mapping(5000, "TCP", "192.168.1.30", "another program", 0)],
    );
    let start = start(
        options(sim.ssdp_addr(), Duration::from_secs(1)),
        Some(sim.description_url()),
    );
    let mut h = harness(move |cc| App::new(cc, start).with_exit_deadline(HANG_GUARD));
    settled(&mut h, "the table is read", table_is_read);
    type_into(&mut h, "External port", "18090");
    h.get_by_label("Enable port").click();
    settled(&mut h, "the enable", |h| {
        has_contains(h, "Forwarded 203.0.113.7:18090/TCP")
    });
    assert_eq!(sim.mappings().len(), 2);

    h.get_by_label("Options").click();
    let option = "Remove mappings created by PortForward when closing";
    step_until(&mut h, "the Options menu", |h| has(h, option));
    h.get_by_label(option).click();
    h.step();
    // Closing waits for the router's answer: long enough that a loaded machine gets it.
    eframe::App::on_exit(h.state_mut(), None);
    let left: Vec<u16> = sim.mappings().iter().map(|m| m.external_port).collect();
    assert_eq!(left, [5000], "only this window's own mapping goes");
}

#[test]
fn a_mapping_kept_by_the_login_job_is_marked_left_to_it_and_the_preset_toggles_its_registration() {
    use portforward::services::keep_preset::{KeepJobState, KeptEntry, KeptStatus};
    use portforward::services::presets::{Preset, PresetMapping, PresetStore, PresetTarget};
    let dir = std::env::temp_dir().join(format!("pfw-gui-login-job-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (home, data) = (dir.join("home"), dir.join("data"));
    // A running job (this process stands for it) keeps 30011/TCP for the preset "Game".
    let state = KeepJobState {
        preset: "Game".into(),
        pid: std::process::id(),
        gateway: None,
        local_ip: None,
        updated: 0,
        mappings: vec![KeptEntry {
            protocol: portforward::Protocol::Tcp,
            external_port: portforward::Port::new(30011).unwrap(),
            internal_ip: Ipv4Addr::LOCALHOST,
            internal_port: portforward::Port::new(30011).unwrap(),
            status: KeptStatus::Kept,
            lease: Some(600),
            error: None,
        }],
    };
    let path = KeepJobState::path(&data, "Game");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, serde_json::to_string(&state).unwrap()).unwrap();
    let sim = sim(
        SimConfig::default(),
        &[
            mapping(30011, "TCP", "127.0.0.1", "the job's", 600),
            mapping(30012, "TCP", "127.0.0.1", "not the job's", 600),
        ],
    );
    let mut presets = PresetStore::in_memory();
    let mut preset = Preset::new("Game").unwrap();
    preset.mappings.push(PresetMapping::same_port(
        portforward::Port::new(30011).unwrap(),
        portforward::Protocol::Tcp,
        PresetTarget::ThisComputer,
    ));
    presets.save(preset, None).unwrap();
    let start = start(
        options(sim.ssdp_addr(), Duration::from_secs(1)),
        Some(sim.description_url()),
    );
    let jobs = crate::gui::background_job::BackgroundJobs::at(&home, &data);
    let mut h = harness(move |cc| App::new(cc, start).with_presets(presets).with_background_jobs(jobs));
    settled(&mut h, "the mark", |h| has(h, "(kept by login job \"Game\")"));
    assert_eq!(count(&h, "(kept by login job \"Game\")"), 1, "only the job's row");

    // The window does not take it over.
    row_menu(&mut h, "the job's", "Keep alive");
    step_until(&mut h, "the refusal", |h| {
        has_contains(h, "is kept by the background job of the preset \"Game\"")
    });
    assert!(!has(&h, "(kept alive)"));

    // The preset's checkbox registers the same login-time job as `autostart enable`.
    click(&mut h, "Presets");
    step_until(&mut h, "the checkbox", |h| has(h, "Keep forwarded at login"));
    click(&mut h, "Keep forwarded at login");
    step_until(&mut h, "the registration", |h| {
        has_contains(h, "\"Game\" is kept forwarded from the next login on")
    });
    let registered = portforward::services::autostart::AutostartHome::new(&home)
        .status()
        .unwrap();
    assert_eq!(registered.len(), 1);
    assert_eq!(registered[0].preset, "Game");
    click(&mut h, "Keep forwarded at login");
    step_until(&mut h, "the removal", |h| {
        has_contains(h, "\"Game\" is no longer kept forwarded at login")
    });
    assert!(
        portforward::services::autostart::AutostartHome::new(&home)
            .status()
            .unwrap()
            .is_empty()
    );
    std::fs::remove_dir_all(dir).unwrap();
}
