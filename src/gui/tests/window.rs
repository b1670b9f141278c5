//! The main window: finding the gateway, the table, the forms, removals and undo, the
//! keyboard, hostile gateways and invalid input.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use portforward::simulator::{Fault, SimConfig, SimulatedGateway};

use super::*;
use crate::gui::App;

fn y_of(h: &Harness<'static, App>, label: &str) -> f32 {
    h.get_by_label(label).rect().min.y
}

#[test]
fn starts_at_once_then_finds_the_gateway_and_shows_its_table() {
    let sim = sim(
        SimConfig::default(),
        &[
            mapping(8080, "TCP", "127.0.0.1", "web server", 0),
            mapping(27015, "UDP", "192.168.1.20", "game", 3600),
        ],
    );
    let mut h = app(Start {
        discovery: options(sim.ssdp_addr(), Duration::from_millis(700)),
        gateway_url: None,
        demo: false,
        log_path: None,
    });
    h.step();
    // Usable at once: discovery runs in the background with a visible spinner (or the
    // simulator on loopback answered within the first frame, and its table is on its way).
    assert!(has_contains(&h, "Searching for UPnP gateways") || has(&h, "Simulated gateway"));
    assert!(has(&h, "Enable port"));
    settled(&mut h, "the table", |h| has(h, "web server"));
    assert!(has(&h, "Simulated gateway"), "the gateway's name");
    assert!(has(&h, "203.0.113.7"), "the external IP");
    assert!(
        h.query_all_by_label("127.0.0.1").count() >= 2,
        "the local IP and a row's client"
    );
    assert!(has(&h, "(this computer)"), "mappings to this computer are marked");
    assert!(has(&h, "permanent"), "lease 0 reads as permanent");
    assert!(
        has_contains(&h, "59m") || has(&h, "1h 00m 00s"),
        "a finite lease of an hour"
    );
    assert!(has(&h, "game"));
    assert!(
        !has_contains(&h, "Forwards will not work from outside"),
        "a public IP needs no warning"
    );
}

#[test]
fn the_count_line_speaks_in_the_singular_for_one_mapping() {
    let sim = sim(
        SimConfig::default(),
        &[mapping(27015, "UDP", "192.168.1.20", "game", 0)],
    );
    let mut h = connected(&sim);
    settled(&mut h, "the row", |h| has(h, "game"));
    assert!(has(&h, "1 mapping"), "one mapping is \"1 mapping\"");
    assert!(!has_contains(&h, "1 mappings"));
    sim.insert(mapping(8080, "TCP", "192.168.1.20", "web", 0));
    h.get_by_label("Reload").click();
    settled(&mut h, "two rows", |h| has(h, "2 mappings"));
}

#[test]
fn warns_when_the_router_is_behind_another_nat() {
    let sim = sim(
        SimConfig {
            external_ip: "100.64.3.4".to_owned(),
            ..SimConfig::default()
        },
        &[],
    );
    let mut h = connected(&sim);
    settled(&mut h, "the external IP", |h| has(h, "100.64.3.4"));
    assert!(has_contains(&h, "Forwards will not work from outside"));
}

#[test]
fn without_a_gateway_says_so_and_connects_by_url() {
    // A socket that never answers: discovery hears nothing.
    let silent = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let mut h = searching(silent.local_addr().unwrap());
    assert!(has_contains(&h, "No gateway: no UPnP gateway answered"));
    assert!(!button_enabled(&h, "Connect"), "no URL yet");
    let sim = sim(
        SimConfig::default(),
        &[mapping(8080, "TCP", "127.0.0.1", "web server", 0)],
    );
    type_into(&mut h, "Gateway URL", &sim.description_url());
    h.get_by_role_and_label(Role::Button, "Connect").click();
    settled(&mut h, "the table", |h| has(h, "web server"));
    assert!(has(&h, "Simulated gateway"));
}

/// The window searching `to` by unicast, once it says it found no gateway.
fn searching(to: SocketAddr) -> Harness<'static, App> {
    let mut h = app(Start {
        discovery: options(to, Duration::from_millis(300)),
        gateway_url: None,
        demo: false,
        log_path: None,
    });
    settled(&mut h, "the no-gateway message", |h| has(h, "Retry"));
    h
}

#[test]
fn with_nothing_answering_the_window_says_what_was_tried() {
    let silent = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let h = searching(silent.local_addr().unwrap());
    assert!(has(&h, "What was tried"));
    assert!(has_contains(&h, "no device answered the search at all"));
    assert!(has_contains(&h, "turn on UPnP"));
    assert!(has_contains(&h, "firewall"));
}

#[test]
fn with_only_a_media_server_answering_the_window_names_it() {
    let nas = portforward::simulator::SimulatedMediaServer::start("Living-room NAS").unwrap();
    let h = searching(nas.ssdp_addr());
    assert!(has_contains(&h, "not a gateway: a MediaServer:1 (\"Living-room NAS\")"));
    assert!(has_contains(&h, "only other devices answered"));
    assert!(!has_contains(&h, "no device answered"));
}

#[test]
fn retry_searches_again() {
    let silent = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let mut h = app(Start {
        discovery: options(silent.local_addr().unwrap(), Duration::from_millis(200)),
        gateway_url: None,
        demo: false,
        log_path: None,
    });
    settled(&mut h, "the no-gateway message", |h| has(h, "Retry"));
    h.get_by_label("Retry").click();
    // The log tells the attempts apart: a second search, then a second failure.
    let count = |h: &Harness<'static, App>, text: &str| h.query_all_by_label_contains(text).count();
    settled(&mut h, "the second search", |h| {
        count(h, "→ searching for gateways") == 2
    });
    settled(&mut h, "the second failure", |h| {
        count(h, "✖ no UPnP gateway answered") == 2
    });
    assert!(has(&h, "Retry"));
}

#[test]
fn enable_validates_as_you_type_and_reports_success_and_errors() {
    let sim = sim(
        SimConfig::default(),
        &[mapping(5000, "TCP", "192.168.1.30", "other host", 0)],
    );
    let mut h = connected(&sim);
    assert!(button_enabled(&h, "Enable port"), "every field is optional");

    type_into(&mut h, "External port", "70000");
    assert!(has(&h, "a port must be from 1 to 65535"));
    assert!(!button_enabled(&h, "Enable port"), "invalid input cannot be sent");
    clear(&mut h, "External port");
    assert!(!has(&h, "a port must be from 1 to 65535"));

    // Success: the message says where, and the table reloads with the new row.
    type_into(&mut h, "External port", "18080");
    type_into(&mut h, "Description", "from the window");
    h.get_by_label("Enable port").click();
    settled(&mut h, "the enable result", |h| {
        has_contains(h, "Forwarded 203.0.113.7:18080/TCP")
    });
    settled(&mut h, "the new row", |h| has(h, "from the window"));
    assert!(
        sim.mappings()
            .iter()
            .any(|m| m.external_port == 18080 && m.description == "from the window")
    );

    // Error: the port is held by another host; the message says what to do.
    clear(&mut h, "External port");
    type_into(&mut h, "External port", "5000");
    h.get_by_label("Enable port").click();
    settled(&mut h, "the conflict", |h| {
        has_contains(h, "already forwarded to 192.168.1.30")
    });
    assert!(has_contains(&h, "choose another external port"));
}

#[test]
fn disable_removes_one_mapping_and_undo_restores_it() {
    let sim = sim(
        SimConfig::default(),
        &[mapping(5000, "TCP", "127.0.0.1", "to remove", 0)],
    );
    let mut h = connected(&sim);
    settled(&mut h, "the row", |h| has(h, "to remove"));
    h.get_by_role_and_label(Role::Button, "Disable").click();
    h.step();
    assert!(!button_enabled(&h, "Disable port"), "nothing to disable yet");
    // Selecting the row pre-fills the form.
    h.get_by_label("to remove").click();
    h.step();
    h.step();
    assert_eq!(field(&h, "External port").value().as_deref(), Some("5000"));
    h.get_by_label("Disable port").click();
    settled(&mut h, "the result", |h| has_contains(h, "Removed 5000/TCP"));
    settled(&mut h, "the reload", |h| !has(h, "to remove"));
    assert!(sim.mappings().is_empty());

    // Error: it is gone now; the message says so.
    h.get_by_label("Disable port").click();
    settled(&mut h, "the error", |h| has_contains(h, "no such mapping"));

    h.get_by_label("Undo: restore 1 mapping").click();
    settled(&mut h, "the undo", |h| has_contains(h, "Restored 1 of 1."));
    settled(&mut h, "the row back", |h| has(h, "to remove"));
    assert_eq!(sim.mappings().len(), 1);
}

#[test]
fn disable_all_previews_exactly_the_matching_rows_and_reports_per_row() {
    let sim = sim(
        SimConfig {
            secure_mode: true,
            ..SimConfig::default()
        },
        &[
            mapping(6001, "UDP", "127.0.0.1", "game", 0),
            mapping(6002, "UDP", "127.0.0.1", "game", 0),
            mapping(6003, "UDP", "192.168.1.9", "game", 0),
            mapping(6004, "TCP", "127.0.0.1", "gamer", 0),
            mapping(6005, "TCP", "127.0.0.1", "web", 0),
        ],
    );
    let mut h = connected(&sim);
    settled(&mut h, "the rows", |h| has(h, "web"));
    h.get_by_role_and_label(Role::Button, "Disable all").click();
    h.step();
    assert!(!button_enabled(&h, "Preview removal"), "no filter, no removal");
    type_into(&mut h, "Description", "game");
    h.get_by_label("Preview removal").click();
    step_until(&mut h, "the confirmation", |h| has(h, "Remove 3 mappings"));
    let listed: Vec<String> = h
        .query_all_by_label_contains(" -> ")
        .filter_map(|n| n.accesskit_node().value())
        .collect();
    assert_eq!(listed.len(), 3, "{listed:?}");
    for port in ["6001/UDP", "6002/UDP", "6003/UDP"] {
        assert!(listed.iter().any(|l| l.starts_with(port)), "{port} in {listed:?}");
    }
    h.get_by_label("Remove 3 mappings").click();
    // Secure mode: the router refuses to remove another host's mapping; the rest go.
    settled(&mut h, "the report", |h| has_contains(h, "Removed 2 of 3."));
    assert!(has_contains(&h, "Refused: 6003/UDP"));
    let left: Vec<u16> = sim.mappings().iter().map(|m| m.external_port).collect();
    assert_eq!(left, [6003, 6004, 6005]);
}

#[test]
fn disable_all_cancel_removes_nothing() {
    let sim = sim(SimConfig::default(), &[mapping(6001, "UDP", "127.0.0.1", "game", 0)]);
    let mut h = connected(&sim);
    h.get_by_role_and_label(Role::Button, "Disable all").click();
    h.step();
    h.get_by_role_and_label(Role::RadioButton, "UDP").click();
    h.step();
    h.get_by_label("Preview removal").click();
    step_until(&mut h, "the confirmation", |h| has(h, "Remove 1 mapping"));
    h.get_by_label("Cancel").click();
    step_until(&mut h, "the confirmation gone", |h| !has(h, "Remove 1 mapping"));
    assert_eq!(sim.mappings().len(), 1);
}

#[test]
fn refresh_renews_the_last_enable_and_reports_errors() {
    let sim = sim(SimConfig::default(), &[]);
    let mut h = connected(&sim);
    h.get_by_role_and_label(Role::Button, "Refresh").click();
    h.step();
    assert!(
        !button_enabled(&h, "Refresh lease"),
        "nothing enabled yet, no port given"
    );
    type_into(&mut h, "Lease (seconds)", "999999");
    assert!(has_contains(&h, "a lease must be from 0"));
    clear(&mut h, "Lease (seconds)");

    h.get_by_role_and_label(Role::Button, "Enable").click();
    h.step();
    type_into(&mut h, "External port", "19000");
    h.get_by_label("Enable port").click();
    settled(&mut h, "the enable", |h| has_contains(h, "Forwarded"));

    h.get_by_role_and_label(Role::Button, "Refresh").click();
    h.step();
    assert!(button_enabled(&h, "Refresh lease"), "the last enable is the default");
    h.get_by_label("Refresh lease").click();
    settled(&mut h, "the renewal", |h| has_contains(h, "Renewed 19000/TCP"));

    // Error: the gateway breaks mid-reply; the message says what happened.
    sim.set_faults(vec![Fault::CloseMidResponse]);
    h.get_by_label("Refresh lease").click();
    settled(&mut h, "the error", |h| has_contains(h, "✖"));
}

#[test]
fn headers_sort_and_reverse_and_the_filter_matches_any_column() {
    let sim = sim(
        SimConfig::default(),
        &[
            mapping(1000, "TCP", "192.168.1.5", "zulu", 0),
            mapping(2000, "UDP", "192.168.1.6", "alpha", 0),
            mapping(3000, "TCP", "192.168.1.7", "mike", 0),
        ],
    );
    let mut h = connected(&sim);
    settled(&mut h, "the rows", |h| has(h, "mike"));
    // By external port (the default).
    assert!(y_of(&h, "zulu") < y_of(&h, "alpha") && y_of(&h, "alpha") < y_of(&h, "mike"));
    h.get_by_role_and_label(Role::Button, "Description").click();
    h.step();
    h.step();
    assert!(y_of(&h, "alpha") < y_of(&h, "mike") && y_of(&h, "mike") < y_of(&h, "zulu"));
    h.get_by_role_and_label(Role::Button, "Description").click();
    h.step();
    h.step();
    assert!(y_of(&h, "zulu") < y_of(&h, "mike") && y_of(&h, "mike") < y_of(&h, "alpha"));

    // Any column: an IP, a protocol.
    type_into(&mut h, "Filter", "192.168.1.6");
    assert!(has(&h, "alpha") && !has(&h, "zulu") && !has(&h, "mike"));
    assert!(has(&h, "1 of 3 mappings match"));
    clear(&mut h, "Filter");
    type_into(&mut h, "Filter", "tcp");
    assert!(has(&h, "zulu") && has(&h, "mike") && !has(&h, "alpha"));

    // A reload keeps sort and filter.
    sim.insert(mapping(4000, "TCP", "192.168.1.8", "bravo", 0));
    h.key_press(egui::Key::F5);
    settled(&mut h, "the reloaded row", |h| has(h, "bravo"));
    assert!(!has(&h, "alpha"));
    assert!(y_of(&h, "zulu") < y_of(&h, "mike") && y_of(&h, "mike") < y_of(&h, "bravo"));
}

#[test]
fn keyboard_focuses_the_filter_and_delete_asks_before_removing_the_selection() {
    let sim = sim(
        SimConfig::default(),
        &[
            mapping(7001, "TCP", "127.0.0.1", "one", 0),
            mapping(7002, "TCP", "127.0.0.1", "two", 0),
        ],
    );
    let mut h = connected(&sim);
    settled(&mut h, "the rows", |h| has(h, "two"));
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::F);
    h.step();
    h.step();
    assert!(field(&h, "Filter").is_focused());
    h.key_press(egui::Key::Escape);
    h.step();

    h.get_by_label("one").click();
    h.step();
    h.get_by_label("two").click_modifiers(egui::Modifiers::COMMAND);
    h.step();
    assert!(has(&h, "· 2 selected"));
    h.key_press(egui::Key::Delete);
    step_until(&mut h, "the confirmation", |h| has(h, "Remove 2 mappings?"));
    assert_eq!(sim.mappings().len(), 2, "nothing goes before the confirmation");
    h.get_by_label("Remove 2 mappings").click();
    settled(&mut h, "the report", |h| has_contains(h, "Removed 2 of 2."));
    assert!(sim.mappings().is_empty());
}

#[test]
fn the_window_keeps_drawing_while_the_gateway_holds_a_request() {
    let sim = sim(SimConfig::default(), &[]);
    let mut h = connected(&sim);
    let hold = sim.hold();
    h.get_by_label("Enable port").click();
    h.step();
    h.step();
    assert!(has(&h, "waiting for the router…"));
    // Frames keep coming, each quickly, while the router has not answered.
    for _ in 0..30 {
        let started = Instant::now();
        h.step();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "a frame waited on the network"
        );
    }
    assert!(has(&h, "waiting for the router…"));
    assert!(!button_enabled(&h, "Enable port"), "no double submit while in flight");
    drop(hold);
    settled(&mut h, "the answer", |h| has_contains(h, "Forwarded"));
    assert!(button_enabled(&h, "Enable port"));
}

/// A window holding 10,000 mappings, sorted by description and filtered.
fn ten_thousand_rows() -> (SimulatedGateway, Harness<'static, App>) {
    let sim = sim(SimConfig::default(), &[]);
    for i in 0..10_000u16 {
        sim.insert(mapping(
            10_000 + i,
            if i % 2 == 0 { "TCP" } else { "UDP" },
            "192.168.1.20",
            &format!("app {i}"),
            3600,
        ));
    }
    let mut h = connected(&sim);
    settled(&mut h, "10,000 rows", |h| has(h, "10000 mappings"));
    h.get_by_role_and_label(Role::Button, "Description").click();
    h.step();
    type_into(&mut h, "Filter", "app 1");
    settled(&mut h, "the filter", |h| has_contains(h, "of 10000 mappings match"));
    (sim, h)
}

#[test]
fn ten_thousand_rows_draw_only_what_is_visible() {
    let (_sim, h) = ten_thousand_rows();
    assert!(has(&h, "1111 of 10000 mappings match"));
    // Sorted by description: "app 1" comes first, then "app 10", "app 100", …
    assert!(has(&h, "app 1") && has(&h, "app 10"));
    let drawn = h.query_all_by_label_contains("app ").count();
    assert!(drawn > 5 && drawn < 100, "{drawn} rows drawn of 1111 matching");
}

/// Frame time with 10,000 rows: a benchmark, not a test (it asserts nothing about time).
/// `cargo test --release --bin portforward -- --ignored --nocapture bench_frame_time`
#[test]
#[ignore = "a benchmark: run with --ignored --nocapture"]
fn bench_frame_time_ten_thousand_rows() {
    let (_sim, mut h) = ten_thousand_rows();
    let median = |h: &mut Harness<'static, App>| {
        let mut times: Vec<Duration> = (0..200)
            .map(|_| {
                let started = Instant::now();
                h.step();
                started.elapsed()
            })
            .collect();
        times.sort();
        times[times.len() / 2]
    };
    let many = median(&mut h);
    clear(&mut h, "Filter");
    type_into(&mut h, "Filter", "app 9999");
    settled(&mut h, "one row", |h| has(h, "1 of 10000 mappings match"));
    let one = median(&mut h);
    println!("frame-time: 10000 rows sorted+filtered to 1111: {many:?} median; filtered to 1 row: {one:?} median");
}

/// How long the window asked to sleep after the last frame (`ZERO` = it wants another at once).
fn repaint_delay(h: &Harness<'static, App>) -> Duration {
    h.output().viewport_output[&egui::ViewportId::ROOT].repaint_delay
}

#[test]
fn an_idle_window_sleeps_until_something_visibly_changes() {
    let sim = sim(
        SimConfig::default(),
        &[mapping(8080, "TCP", "127.0.0.1", "web server", 0)],
    );
    let mut h = connected(&sim);
    settled(&mut h, "the row and the header", |h| {
        has(h, "web server") && has(h, "203.0.113.7")
    });
    // Nothing in flight, no finite lease: only the 30 s reload timer may wake it.
    h.run_ok().expect("the window settles");
    assert!(repaint_delay(&h) > Duration::from_secs(10), "{:?}", repaint_delay(&h));

    // A finite lease on screen counts down: one frame a second, not a loop.
    sim.insert(mapping(9090, "TCP", "127.0.0.1", "expiring", 600));
    h.key_press(egui::Key::F5);
    settled(&mut h, "the new row", |h| has(h, "expiring"));
    h.run_ok().expect("the window settles");
    let delay = repaint_delay(&h);
    assert!(delay > Duration::ZERO && delay <= Duration::from_secs(1), "{delay:?}");
}

#[test]
fn the_context_menu_refreshes_a_row_and_copies_it() {
    let sim = sim(
        SimConfig::default(),
        &[mapping(8081, "TCP", "127.0.0.1", "renew me", 120)],
    );
    let mut h = connected(&sim);
    settled(&mut h, "the row", |h| has(h, "renew me"));
    h.get_by_label("renew me").click_secondary();
    step_until(&mut h, "the row's menu", |h| has(h, "Copy row"));
    assert!(has(&h, "Disable 1 mapping"), "the right-clicked row is the selection");
    h.get_by_label("Copy row").click();
    h.step();
    let copied = h.output().platform_output.commands.iter().any(|c| {
        matches!(c, egui::OutputCommand::CopyText(text) if text.starts_with("TCP\t8081\t127.0.0.1\t8081\trenew me"))
    });
    assert!(copied, "{:?}", h.output().platform_output.commands);
    row_menu(&mut h, "renew me", "Refresh lease");
    settled(&mut h, "the renewal", |h| has_contains(h, "Renewed 8081/TCP"));
    let lease = sim
        .mappings()
        .iter()
        .find(|m| m.external_port == 8081)
        .unwrap()
        .lease_seconds;
    assert!(
        lease > 3000,
        "renewed with the default hour, not the 2 minutes left: {lease}"
    );
}

#[test]
fn settings_survive_a_restart() {
    #[derive(Default)]
    struct Memory(std::collections::HashMap<String, String>);
    impl eframe::Storage for Memory {
        fn get_string(&self, key: &str) -> Option<String> {
            self.0.get(key).cloned()
        }
        fn set_string(&mut self, key: &str, value: String) {
            self.0.insert(key.to_owned(), value);
        }
        fn remove_string(&mut self, key: &str) {
            self.0.remove(key);
        }
        fn flush(&mut self) {}
    }
    use crate::gui::settings::{Column, Settings, Sort};
    let mut storage = Memory::default();
    assert_eq!(Settings::load(Some(&storage)), Settings::default(), "first run");
    let settings = Settings {
        sort: Sort {
            column: Column::Lease,
            ascending: false,
        },
        filter: "steam".to_owned(),
        reload_secs: None,
        last_gateway_url: Some("http://192.168.1.1:5000/rootDesc.xml".to_owned()),
        remove_created_on_exit: true,
        reverse_dns: false,
    };
    settings.save(&mut storage);
    assert_eq!(Settings::load(Some(&storage)), settings);
}

#[test]
fn the_first_gateway_is_used_at_once_and_a_late_one_is_offered_without_disturbing() {
    let first = sim(
        SimConfig {
            friendly_name: "Upstairs router".to_owned(),
            ..SimConfig::default()
        },
        &[mapping(1111, "TCP", "127.0.0.1", "upstairs app", 0)],
    );
    let second = sim(
        SimConfig {
            friendly_name: "Basement router".to_owned(),
            ..SimConfig::default()
        },
        &[mapping(2222, "TCP", "127.0.0.1", "basement app", 0)],
    );
    // A unicast SSDP responder on 127.0.0.1: the upstairs router answers at once, the
    // basement one only once the test has seen the upstairs table.
    let responder = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let search_addr = responder.local_addr().unwrap();
    let (late, answer_late) = std::sync::mpsc::channel::<()>();
    let locations = [first.description_url(), second.description_url()];
    std::thread::spawn(move || {
        let mut buffer = [0u8; 2048];
        let (_, from) = responder.recv_from(&mut buffer).unwrap();
        for (n, location) in locations.iter().enumerate() {
            if n == 1 && answer_late.recv().is_err() {
                return;
            }
            let answer = format!(
                "HTTP/1.1 200 OK\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nLOCATION: {location}\r\nUSN: uuid:{location}\r\n\r\n"
            );
            responder.send_to(answer.as_bytes(), from).unwrap();
        }
    });
    // Discovery listens long (the test ends before); the first answer is used at once.
    let mut h = app(Start {
        discovery: options(search_addr, HANG_GUARD),
        gateway_url: None,
        demo: false,
        log_path: None,
    });
    step_until(&mut h, "the first answer's table", |h| has(h, "upstairs app"));
    assert!(
        !h.query_all_by_role(Role::ComboBox)
            .any(|n| n.accesskit_node().label().as_deref() == Some("Router:")),
        "no chooser for one gateway"
    );
    // The user is typing in the filter when the second router answers.
    type_into(&mut h, "Filter", "upst");
    late.send(()).unwrap();
    step_until(&mut h, "the chooser for the late answer", |h| {
        h.query_all_by_role(Role::ComboBox)
            .any(|n| n.accesskit_node().label().as_deref() == Some("Router:"))
    });
    assert!(has(&h, "upstairs app"), "the table in use stays");
    assert_eq!(
        field(&h, "Filter").value().as_deref(),
        Some("upst"),
        "what the user typed stays"
    );
    h.get_by_role_and_label(Role::ComboBox, "Router:").click();
    // The chooser's entry (the log also names the router).
    step_until(&mut h, "the list of routers", |h| has_contains(h, "Basement router ("));
    h.get_by_label_contains("Basement router (").click();
    step_until(&mut h, "the basement router in use", |h| {
        has_contains(h, "using Basement router")
    });
    clear(&mut h, "Filter");
    step_until(&mut h, "the basement table", |h| has(h, "basement app"));
    assert!(!has(&h, "upstairs app"));
}

#[path = "../../../tests/support/scenario.rs"]
mod scenario;

#[path = "../../../tests/support/bad_values.rs"]
mod bad_values;
use bad_values::{BAD_INTERNAL_IPS, BAD_PORTS};

/// Every hostile- and quirky-gateway scenario of `tests/scenarios/`, through the window: it
/// keeps drawing frames and ends up saying what happened (the error, or the table with what
/// was odd about it).
#[test]
fn every_gateway_scenario_is_shown_to_the_user() {
    let mut failures = Vec::new();
    for s in scenario::Scenario::all() {
        let sim = s.start_gateway();
        let mut discovery = options(sim.ssdp_addr(), s.discovery_timeout());
        discovery.gateway.request_timeout = s.request_timeout();
        let mut h = app(Start {
            discovery,
            gateway_url: (s.run.action != "discover").then(|| sim.description_url()),
            demo: false,
            log_path: None,
        });
        let e = &s.expect;
        let mut wanted: Vec<String> = Vec::new();
        if e.error.is_some() {
            wanted.extend(e.message.clone());
        } else if let Some(n) = e.mappings {
            wanted.push(crate::gui::table::plural(n, "mapping"));
        }
        wanted.extend(e.warning.clone());
        wanted.extend(e.igd_version.clone());
        let shown = |h: &Harness<'static, App>| wanted.iter().all(|w| has_contains(h, w));
        settle(&mut h);
        if !shown(&h) {
            failures.push(format!("{}: the window never showed {wanted:?}", s.name));
        }
        // The window is still drawing, whatever the gateway did.
        h.step();
        drop(h);
        sim.kill();
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_window_survives_the_router_dying_and_shows_the_table_again_when_it_is_back() {
    let sim = sim(
        SimConfig::default(),
        &[mapping(7001, "TCP", "127.0.0.1", "survivor", 0)],
    );
    let mut h = connected(&sim);
    settled(&mut h, "the row", |h| has(h, "survivor"));
    sim.kill();
    h.key_press(egui::Key::F5);
    settled(&mut h, "the error", |h| has_contains(h, "Could not read the table"));
    assert!(has_contains(&h, "retry in a moment"), "the error says what to do");
    assert!(
        has(&h, "survivor"),
        "the last table stays visible while the router is away"
    );
    sim.restart(true);
    h.key_press(egui::Key::F5);
    settled(&mut h, "the table back", |h| {
        !has_contains(h, "Could not read the table")
    });
    assert!(has(&h, "survivor"));
}

/// The window's half of `docs/bad-input.md`: each invalid value, typed into its field of the
/// Enable form, shows the reason and keeps the button disabled; nothing reaches the router.
#[test]
fn every_invalid_value_is_refused_next_to_its_field() {
    let sim = sim(SimConfig::default(), &[]);
    let mut h = connected(&sim);
    let long = "x".repeat(256);
    let cases: &[(&str, &[&str], &str)] = &[
        ("External port", &BAD_PORTS, "a port"),
        ("Internal port", &BAD_PORTS, "a port"),
        ("Internal IP", &BAD_INTERNAL_IPS, ""),
        (
            "Description",
            &[long.as_str()],
            "a description may be at most 255 bytes",
        ),
        ("Lease (seconds)", &["604801", "-1", "1e3", "abc"], "a lease"),
    ];
    for (label, values, reason) in cases {
        for value in *values {
            type_into(&mut h, label, value);
            h.step();
            let expected = match *label {
                "Internal IP" => portforward::parse_internal_ip("internal ip", value).unwrap_err().reason,
                _ => reason.to_string(),
            };
            assert!(
                has_contains(&h, &expected),
                "{label} = {value:?}: no {expected:?} shown"
            );
            assert!(
                !button_enabled(&h, "Enable port"),
                "{label} = {value:?} left the button enabled"
            );
            clear(&mut h, label);
        }
    }
    h.step();
    assert!(
        button_enabled(&h, "Enable port"),
        "all fields empty again: automatic choices"
    );
    assert!(
        !sim.actions().iter().any(|a| a.starts_with("Add")),
        "the router saw {:?}",
        sim.actions()
    );
}

#[test]
fn the_log_is_written_to_its_file_off_the_ui_thread() {
    let sim = sim(SimConfig::default(), &[mapping(8080, "TCP", "127.0.0.1", "web", 0)]);
    let dir = std::env::temp_dir().join(format!("pfw-gui-log-{}-{}", std::process::id(), fastrand::u32(..)));
    let path = dir.join("logs").join("portforward.log");
    let mut h = app(Start {
        log_path: Some(path.clone()),
        ..start(
            options(sim.ssdp_addr(), Duration::from_secs(1)),
            Some(sim.description_url()),
        )
    });
    settled(&mut h, "the table is read", table_is_read);
    assert!(has_contains(&h, "(also in "), "the panel says where the file is");
    let text = std::fs::read_to_string(&path).expect("the log file, its folder made");
    let lines: Vec<&str> = text
        .lines()
        .map(|l| l.split_once(' ').map_or(l, |(_, rest)| rest))
        .collect();
    let reading = lines.iter().position(|l| *l == "request: reading the table");
    let read = lines.iter().position(|l| *l == "ok: read 1 mapping");
    assert!(reading.is_some() && reading < read, "both, in order: {text}");
    // Each line starts with its RFC 3339 UTC time to the millisecond, close to now.
    let before = std::time::SystemTime::now();
    for line in text.lines() {
        let (stamp, _) = line.split_once(' ').unwrap();
        assert!(
            stamp.len() == "2026-12-01T23:59:59.123Z".len() && stamp.ends_with('Z') && stamp.as_bytes()[19] == b'.',
            "not RFC 3339 UTC with milliseconds: {line}"
        );
        let at = humantime::parse_rfc3339(stamp).expect("an RFC 3339 time");
        let age = before.duration_since(at).unwrap_or_default();
        assert!(age < HANG_GUARD, "{stamp} is not the time of this run");
    }
    std::fs::remove_dir_all(dir).unwrap();
}
