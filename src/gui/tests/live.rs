//! The window kept current by the router's events, the router status panel, and a table
//! that fits the window.

use egui::accesskit::Role;
use egui_kittest::kittest::{NodeT, Queryable};
use portforward::simulator::{Fault, SimConfig};
use portforward::{EnableRequest, Port, PortForwarder, Protocol};

use super::*;

/// How many times the router was asked for its table (an IGD:2 router, one page).
fn table_reads(sim: &SimulatedGateway) -> usize {
    // One reading lists TCP and UDP, one call each.
    sim.actions().iter().filter(|a| *a == "GetListOfPortMappings").count() / 2
}

#[test]
fn another_hosts_mapping_shows_by_the_routers_event_with_one_read() {
    let sim = sim(SimConfig::default(), &[mapping(8080, "TCP", "127.0.0.1", "web", 0)]);
    let mut h = connected(&sim);
    step_until(&mut h, "the live mark", |h| has(h, "✔ Live"));
    settle(&mut h);
    let before = table_reads(&sim);
    // Another host adds a mapping, as upnpc would; nobody clicks Reload, and the timer
    // (30 s by default) rests while events work.
    let other = PortForwarder::connect(&sim.description_url(), &Default::default()).unwrap();
    other
        .enable(&EnableRequest {
            external_port: Some(Port::new(41000).unwrap()),
            protocol: Protocol::Udp,
            description: Some(
                portforward::Description::parse_field("description", "game from the other host").unwrap(),
            ),
            ..Default::default()
        })
        .unwrap();
    step_until(&mut h, "the other host's mapping", |h| {
        has(h, "game from the other host")
    });
    settle(&mut h);
    assert_eq!(
        table_reads(&sim),
        before + 1,
        "one read for the event: {:?}",
        sim.actions()
    );
    assert!(has_contains(&h, "2 mappings"));
}

#[test]
fn a_router_without_events_is_polled_and_the_window_says_so() {
    let sim = sim(
        SimConfig {
            eventing: false,
            ..SimConfig::default()
        },
        &[mapping(8080, "TCP", "127.0.0.1", "web", 0)],
    );
    let mut h = connected(&sim);
    step_until(&mut h, "the polling mark", |h| has_contains(h, "Polling every 30 s"));
    assert!(!has(&h, "✔ Live"));
}

#[test]
fn when_notifies_never_arrive_the_window_falls_back_to_polling() {
    let sim = sim(SimConfig::default(), &[mapping(8080, "TCP", "127.0.0.1", "web", 0)]);
    sim.set_faults(vec![Fault::EventsLost]);
    let mut h = connected(&sim);
    // Subscribed, but no NOTIFY comes: after the grace time the window polls and says why.
    step_until(&mut h, "the polling mark", |h| has_contains(h, "Polling every 30 s"));
    assert!(has_contains(
        &h,
        "not live: the router's events do not reach this computer"
    ));
}

#[test]
fn the_router_status_panel_shows_link_traffic_and_opens_the_admin_page() {
    let sim = sim(SimConfig::default(), &[]);
    let mut h = connected(&sim);
    h.get_by_label("Router status").click();
    step_until(&mut h, "the status panel", |h| has(h, "Admin page"));
    assert!(has_contains(&h, "Connected (IP_Routed)"), "connection and its type");
    // The simulator's counters are past 2^32: shown exactly, not wrapped.
    let received = h
        .query_all_by_label_contains(" bytes) · ")
        .map(|n| n.accesskit_node().value().unwrap_or_default().to_string())
        .collect::<Vec<_>>();
    assert_eq!(received.len(), 2, "received and sent: {received:?}");
    for text in &received {
        let exact: u64 = text
            .split_once(" (")
            .and_then(|(_, rest)| rest.split_once(' '))
            .and_then(|(n, _)| n.parse().ok())
            .unwrap_or_else(|| panic!("an exact count in {text}"));
        assert!(exact > u64::from(u32::MAX), "{text}");
    }
    let admin = format!(
        "http://127.0.0.1:{}/",
        url::Url::parse(&sim.description_url()).unwrap().port().unwrap()
    );
    assert!(has(&h, &admin), "the admin page's address");
    h.get_by_role_and_label(Role::Button, "Open").click();
    h.step();
    let opened = h.output().platform_output.commands.iter().any(|c| match c {
        egui::OutputCommand::OpenUrl(open) => open.url == admin,
        _ => false,
    });
    assert!(
        opened,
        "the admin page is opened: {:?}",
        h.output().platform_output.commands
    );
}

/// The header cells of the table, left to right, with their right edges.
fn header_rects(h: &Harness<'static, App>, titles: &[&str]) -> Vec<egui::Rect> {
    titles
        .iter()
        .map(|title| h.get_by_role_and_label(Role::Button, title).rect())
        .collect()
}

/// Where `text` is drawn in the table's body (the header shows the local IP too).
fn cell(h: &Harness<'static, App>, text: &str, first_header: egui::Rect) -> egui::Rect {
    h.query_all_by_label(text)
        .map(|n| n.rect())
        .find(|r| r.min.y > first_header.max.y && r.min.x >= first_header.min.x - 1.0)
        .unwrap_or_else(|| panic!("{text} in the table"))
}

/// The app at `width` × 760, connected, with a row whose text is as long as real ones.
fn laid_out_at(sim: &SimulatedGateway, width: f32) -> Harness<'static, App> {
    let start = start(
        options(sim.ssdp_addr(), Duration::from_secs(1)),
        Some(sim.description_url()),
    );
    let mut h = Harness::builder()
        .allow_missing_glyphs()
        .with_size([width, 760.0])
        .build_eframe(move |cc| App::new(cc, start));
    settled(&mut h, "the table is read", table_is_read);
    h
}

const WHO_HOLDS_IT: [&str; 6] = ["Proto", "Ext. port", "Client", "Int. port", "Owner", "Description"];
const THE_REST: [&str; 3] = ["On", "Remote", "Lease left"];

fn long_row_sim() -> SimulatedGateway {
    sim(
        SimConfig::default(),
        &[mapping(
            25565,
            "TCP",
            "127.0.0.1",
            "Minecraft server for the family",
            3600,
        )],
    )
}

#[test]
fn at_the_default_size_every_column_is_in_view_and_description_takes_the_rest() {
    let sim = long_row_sim();
    let mut h = laid_out_at(&sim, 1200.0);
    let titles: Vec<&str> = WHO_HOLDS_IT.iter().chain(THE_REST.iter()).copied().collect();
    let rects = header_rects(&h, &titles);
    for (pair, names) in rects.windows(2).zip(titles.windows(2)) {
        assert!(pair[0].max.x <= pair[1].min.x, "{} overlaps {}", names[0], names[1]);
    }
    let last = rects.last().unwrap();
    assert!(
        last.max.x <= 1200.0,
        "Lease left ends at {} in a 1200 px window",
        last.max.x
    );
    // The row's texts are whole in their columns.
    for (text, column) in [
        ("127.0.0.1", 2),
        ("(this computer)", 2),
        ("Minecraft server for the family", 5),
    ] {
        let cell = cell(&h, text, rects[0]);
        assert!(
            cell.max.x <= rects[column + 1].min.x,
            "{text} is cut off by the next column"
        );
    }
    // Description has the spare width: more than its 190 px minimum.
    let description = h.get_by_role_and_label(Role::Button, "Description").rect();
    let on = rects[6];
    assert!(
        on.min.x - description.min.x > 120.0,
        "Description is {} px",
        on.min.x - description.min.x
    );
    // A wider window gives the spare width to Description, the other columns keep theirs.
    h.set_size(egui::vec2(1400.0, 760.0));
    h.step();
    h.step();
    let wider = header_rects(&h, &titles);
    assert!(wider[6].min.x - wider[5].min.x > on.min.x - description.min.x + 150.0);
    for (i, (before, after)) in rects.iter().zip(&wider).enumerate().filter(|(i, _)| *i != 5) {
        assert!(
            (before.width() - after.width()).abs() < 1.0,
            "{} changed width: {} -> {}",
            titles[i],
            before.width(),
            after.width()
        );
    }
    settle(&mut h);
}

#[test]
fn at_1024_px_what_says_which_app_holds_a_port_is_not_cut_off() {
    let sim = long_row_sim();
    let h = laid_out_at(&sim, 1024.0);
    let rects = header_rects(&h, &WHO_HOLDS_IT);
    for (pair, names) in rects.windows(2).zip(WHO_HOLDS_IT.windows(2)) {
        assert!(pair[0].max.x <= pair[1].min.x, "{} overlaps {}", names[0], names[1]);
    }
    assert!(
        rects[5].max.x <= 1024.0,
        "Description's header ends at {}",
        rects[5].max.x
    );
    let on = h.get_by_role_and_label(Role::Button, "On").rect();
    for (text, next) in [
        ("127.0.0.1", rects[3]),
        ("(this computer)", rects[3]),
        ("Minecraft server for the family", on),
    ] {
        let cell = cell(&h, text, rects[0]);
        assert!(cell.max.x <= next.min.x && cell.max.x <= 1024.0, "{text} is cut off");
    }
}

/// The real gateway's URL and harness, set by tests/real-gateway/run-suite.sh, which runs
/// these tests inside the LAN namespace (never the root one: discovery sends multicast).
fn real_gateway() -> Option<(String, String)> {
    if std::env::var("PFW_CGNAT").as_deref() == Ok("yes") {
        eprintln!("skipped: behind carrier-grade NAT the router makes no IPv4 mappings to watch");
        return None;
    }
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run tests/real-gateway/run-suite.sh"))
    };
    Some((var("PFW_GATEWAY_URL"), var("PFW_HARNESS")))
}

/// Runs upnpc on lan2, another host of the LAN, through the harness.
fn upnpc_on_lan2(harness: &str, url: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(harness)
        .args(["exec", "lan2", "upnpc", "-u", url])
        .args(args)
        .output()
        .expect("the harness runs upnpc on lan2");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn table_readings(h: &Harness<'static, App>) -> usize {
    h.state()
        .log_lines()
        .iter()
        .filter(|l| *l == "reading the table")
        .count()
}

/// The window as a user starts it: discovery (multicast, in the namespace), no URL.
fn discovering_window() -> Harness<'static, App> {
    let mut h = app(start(DiscoveryOptions::default(), None));
    step_until(&mut h, "the real gateway's table", table_is_read);
    h
}

#[test]
#[ignore = "needs the real gateway: tests/real-gateway/run-suite.sh"]
fn real_gateway_window_shows_another_hosts_mapping_by_event() {
    let Some((url, harness)) = real_gateway() else {
        return;
    };
    let mut h = discovering_window();
    step_until(&mut h, "the live mark", |h| has(h, "✔ Live"));
    settle(&mut h);
    let before = table_readings(&h);
    let out = upnpc_on_lan2(
        &harness,
        &url,
        &["-e", "pfw window event", "-a", "192.168.77.11", "45123", "45123", "TCP"],
    );
    step_until(&mut h, "lan2's mapping in the window", |h| has(h, "pfw window event"));
    settle(&mut h);
    upnpc_on_lan2(&harness, &url, &["-d", "45123", "TCP"]);
    assert_eq!(
        table_readings(&h),
        before + 1,
        "one reading for the event; upnpc said: {out}"
    );
    step_until(&mut h, "lan2's mapping gone", |h| !has(h, "pfw window event"));
    assert!(has(&h, "✔ Live"));
}

/// Drops new TCP connections from the router to this host (its NOTIFYs) while alive.
struct NotifiesBlocked;

impl NotifiesBlocked {
    const RULE: [&'static str; 10] = [
        "INPUT",
        "-s",
        "192.168.77.1",
        "-p",
        "tcp",
        "--syn",
        "-j",
        "DROP",
        "-m",
        "comment",
    ];

    fn iptables(action: &str) -> bool {
        std::process::Command::new("iptables")
            .arg(action)
            .args(Self::RULE)
            .args(["--comment", "pfw-window-test"])
            .status()
            .is_ok_and(|s| s.success())
    }

    fn new() -> NotifiesBlocked {
        assert!(Self::iptables("-I"), "iptables in the LAN namespace");
        NotifiesBlocked
    }
}

impl Drop for NotifiesBlocked {
    fn drop(&mut self) {
        Self::iptables("-D");
    }
}

#[test]
#[ignore = "needs the real gateway: tests/real-gateway/run-suite.sh"]
fn real_gateway_window_polls_and_says_so_when_events_cannot_reach_it() {
    let Some((url, harness)) = real_gateway() else {
        return;
    };
    let blocked = NotifiesBlocked::new();
    let mut h = discovering_window();
    step_until(&mut h, "the polling mark", |h| has_contains(h, "Polling every"));
    assert!(
        h.state()
            .log_lines()
            .iter()
            .any(|l| l == "not live: the router's events do not reach this computer; the table is re-read by the timer"),
        "{:?}",
        h.state().log_lines()
    );
    // The timer still brings another host's mapping (F5 stands in for its 30 s).
    upnpc_on_lan2(
        &harness,
        &url,
        &["-e", "pfw window poll", "-a", "192.168.77.11", "45124", "45124", "TCP"],
    );
    h.key_press(egui::Key::F5);
    step_until(&mut h, "lan2's mapping after a reading", |h| has(h, "pfw window poll"));
    upnpc_on_lan2(&harness, &url, &["-d", "45124", "TCP"]);
    drop(blocked);
}

#[test]
fn a_column_is_widened_by_dragging_its_edge_and_description_gives_way() {
    let sim = long_row_sim();
    // Wide enough that Description has more than the 40 px to give above its minimum.
    let mut h = laid_out_at(&sim, 1400.0);
    let owner = h.get_by_role_and_label(Role::Button, "Owner").rect();
    let description = h.get_by_role_and_label(Role::Button, "Description").rect();
    let owner_width = description.min.x - owner.min.x;
    // The resize handle is the line between the two columns.
    let edge = egui::pos2(description.min.x - 4.0, owner.center().y);
    let to = edge + egui::vec2(40.0, 0.0);
    let press = |pos, pressed| egui::Event::PointerButton {
        pos,
        button: egui::PointerButton::Primary,
        pressed,
        modifiers: egui::Modifiers::NONE,
    };
    for event in [egui::Event::PointerMoved(edge), press(edge, true)] {
        h.event(event);
        h.step();
    }
    for step in 1..=4 {
        h.event(egui::Event::PointerMoved(edge + egui::vec2(10.0 * step as f32, 0.0)));
        h.step();
    }
    h.event(press(to, false));
    h.step();
    h.step();
    let owner_after = h.get_by_role_and_label(Role::Button, "Owner").rect();
    let description_after = h.get_by_role_and_label(Role::Button, "Description").rect();
    let widened = (description_after.min.x - owner_after.min.x) - owner_width;
    assert!(
        (widened - 40.0).abs() < 6.0,
        "Owner grew by {widened} px, not the 40 dragged"
    );
    let lease = h.get_by_role_and_label(Role::Button, "Lease left").rect();
    assert!(
        lease.max.x <= 1400.0,
        "Description gave the width: Lease left still ends in view"
    );
}
