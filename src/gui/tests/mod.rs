//! Headless UI tests: the real app, driven through what the user sees (labels, buttons,
//! text), against the simulated gateway on 127.0.0.1. Discovery is unicast to the
//! simulator's SSDP responder, so no multicast ever leaves a test.
//!
//! Waiting is for what a test waits for, never a number of frames and never a sleep:
//! [`settled`] draws frames until the app has no work in flight ([`App::is_idle`]), then
//! checks what the user should see; [`step_until`] draws frames until something appears that
//! no worker of the window produces (a menu, a window, what keep-alive did). Both give up
//! after [`HANG_GUARD`] of wall-clock time: a hang fails, a slow machine does not.

mod keep_owner;
mod live;
mod pinholes;
mod presets;
mod window;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use portforward::services::presets::PresetStore;
use portforward::simulator::{SimConfig, SimMapping, SimulatedGateway};
use portforward::upnp::{DiscoveryOptions, GatewayOptions};

use super::{App, Start};

/// How long a test may wait for anything before it counts as hung.
pub const HANG_GUARD: Duration = Duration::from_secs(60);

/// A mapping for the simulator, its internal port the same as its external one.
pub fn mapping(port: u16, protocol: &str, client: &str, description: &str, lease: u32) -> SimMapping {
    SimMapping {
        remote_host: String::new(),
        external_port: port,
        protocol: protocol.to_owned(),
        internal_port: port,
        internal_client: client.to_owned(),
        enabled: true,
        description: description.to_owned(),
        lease_seconds: lease,
    }
}

/// A simulated gateway holding `mappings`.
pub fn sim(config: SimConfig, mappings: &[SimMapping]) -> SimulatedGateway {
    let sim = SimulatedGateway::start(config).expect("the simulator starts");
    for m in mappings {
        sim.insert(m.clone());
    }
    sim
}

/// Discovery unicast to `search_addr` on loopback, giving up after `timeout`.
pub fn options(search_addr: SocketAddr, timeout: Duration) -> DiscoveryOptions {
    DiscoveryOptions {
        timeout,
        search_addr,
        bind: Ipv4Addr::LOCALHOST,
        gateway: GatewayOptions {
            request_timeout: Duration::from_secs(20),
        },
    }
}

/// How a test starts the app: with discovery, or by URL.
pub fn start(discovery: DiscoveryOptions, gateway_url: Option<String>) -> Start {
    Start {
        discovery,
        gateway_url,
        demo: false,
        log_path: None,
    }
}

/// The app in a harness, built by `build` (e.g. `App::new` with test presets).
pub fn harness(build: impl FnOnce(&mut eframe::CreationContext<'_>) -> App + 'static) -> Harness<'static, App> {
    // As App::new does for real (kittest's builder would override it): text from the router
    // may hold characters no installed font has, drawn as boxes rather than a panic.
    Harness::builder()
        .allow_missing_glyphs()
        .with_size([1280.0, 900.0])
        .build_eframe(build)
}

/// The app as the window starts it.
pub fn app(start: Start) -> Harness<'static, App> {
    harness(move |cc| App::new(cc, start))
}

/// The app connected to `sim` by URL with `presets`, its table read.
pub fn connected_with(sim: &SimulatedGateway, presets: PresetStore) -> Harness<'static, App> {
    let start = start(
        options(sim.ssdp_addr(), Duration::from_secs(1)),
        Some(sim.description_url()),
    );
    let mut h = harness(move |cc| App::new(cc, start).with_presets(presets));
    settled(&mut h, "the table is read", table_is_read);
    h
}

/// The app connected to `sim` by URL, its table read.
pub fn connected(sim: &SimulatedGateway) -> Harness<'static, App> {
    connected_with(sim, PresetStore::in_memory())
}

/// Whether the table's count line ("1 mapping", "12 mappings", "3 of 12 mappings match") is shown.
pub fn table_is_read(h: &Harness<'static, App>) -> bool {
    h.query_all_by_label_contains("mapping").any(|node| {
        // A Label widget keeps its text in AccessKit's `value`.
        let node = node.accesskit_node();
        let label = node.value().or_else(|| node.label()).unwrap_or_default();
        let words: Vec<&str> = label.split(' ').collect();
        match words.as_slice() {
            [n, "mapping" | "mappings"] | [n, "of", _, "mappings", "match"] => n.parse::<usize>().is_ok(),
            _ => false,
        }
    })
}

/// Draws frames until the app has no work in flight (at least one frame, so an input given
/// before is handled), then one more so what depends on the results is laid out.
pub fn settle(h: &mut Harness<'static, App>) {
    let started = Instant::now();
    loop {
        h.step();
        if h.state().is_idle() {
            h.step();
            return;
        }
        assert!(
            started.elapsed() < HANG_GUARD,
            "the window's work was still in flight after {HANG_GUARD:?}"
        );
        std::thread::yield_now();
    }
}

/// Lets the app finish its work, then checks that the user sees `what`.
pub fn settled(h: &mut Harness<'static, App>, what: &str, shown: impl Fn(&Harness<'static, App>) -> bool) {
    settle(h);
    assert!(
        shown(h),
        "once the window had nothing left to do, it did not show: {what}"
    );
}

/// Draws frames until `done` (something no worker of the window produces: a menu opening, a
/// window appearing, what keep-alive did), failing after [`HANG_GUARD`].
pub fn step_until(h: &mut Harness<'static, App>, what: &str, done: impl Fn(&Harness<'static, App>) -> bool) {
    let started = Instant::now();
    loop {
        h.step();
        if done(h) {
            // One more frame so widgets that depend on the new state are laid out.
            h.step();
            return;
        }
        assert!(started.elapsed() < HANG_GUARD, "gave up waiting for: {what}");
        std::thread::yield_now();
    }
}

/// Whether a node has exactly this label.
pub fn has(h: &Harness<'static, App>, label: &str) -> bool {
    h.query_all_by_label(label).next().is_some()
}

/// Whether a node's label contains this text.
pub fn has_contains(h: &Harness<'static, App>, label: &str) -> bool {
    h.query_all_by_label_contains(label).next().is_some()
}

/// Whether the button labelled `label` can be clicked.
pub fn button_enabled(h: &Harness<'static, App>, label: &str) -> bool {
    !h.get_by_role_and_label(Role::Button, label)
        .accesskit_node()
        .is_disabled()
}

/// The text field labelled `label` (table headers may carry the same words).
pub fn field<'h>(h: &'h Harness<'static, App>, label: &'h str) -> egui_kittest::Node<'h> {
    h.get_by_role_and_label(Role::TextInput, label)
}

/// Clicks the field labelled `label` and types `text` into it.
pub fn type_into(h: &mut Harness<'static, App>, label: &str, text: &str) {
    field(h, label).click();
    h.step();
    field(h, label).type_text(text);
    h.step();
}

/// Empties the field labelled `label`.
pub fn clear(h: &mut Harness<'static, App>, label: &str) {
    field(h, label).click();
    h.step();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.step();
    h.key_press(egui::Key::Backspace);
    h.step();
}

/// Clicks the node labelled `label` and draws the frame that handles it.
pub fn click(h: &mut Harness<'static, App>, label: &str) {
    h.get_by_label(label).click();
    h.step();
}

/// Clicks the button labelled `label` and draws the frame that handles it.
pub fn click_button(h: &mut Harness<'static, App>, label: &str) {
    h.get_by_role_and_label(Role::Button, label).click();
    h.step();
}

/// Opens the menu of the row showing `row_label` (a right-click) and picks `item` in it,
/// once the menu is drawn.
pub fn row_menu(h: &mut Harness<'static, App>, row_label: &str, item: &str) {
    h.get_by_label(row_label).click_secondary();
    step_until(h, "the row's menu", |h| has(h, item));
    h.get_by_label(item).click();
    h.step();
}
