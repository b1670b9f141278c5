//! Headless UI tests of the IPv6 pinholes tab, against the simulated router (its firewall
//! service on [::1]): open, "working?", renew, keep alive, close, and the error paths.

use portforward::simulator::SimConfig;

use super::*;

fn pinholes_tab(sim: &SimulatedGateway) -> Harness<'static, App> {
    let mut h = connected(sim);
    click(&mut h, "IPv6 pinholes");
    settled(&mut h, "the router's IPv6 firewall is found", |h| {
        has(h, "This computer's IPv6 address: ::1")
    });
    h
}

#[test]
fn a_pinhole_is_opened_checked_renewed_and_closed() {
    let sim = sim(SimConfig::default(), &[]);
    let mut h = pinholes_tab(&sim);
    assert!(!button_enabled(&h, "Open pinhole"), "no port yet");
    // The header shows this computer's stable global IPv6 address beside the IPv4 one.
    let stable = portforward::host::local_ipv6_addresses()
        .into_iter()
        .find(|a| a.is_stable_global());
    assert!(has(&h, "IPv6:"));
    match stable {
        Some(a) => assert!(has(&h, &a.ip.to_string()), "{}", a.ip),
        None => assert!(has(&h, "none (no stable global IPv6 address)")),
    }
    type_into(&mut h, "Port to open", "8080");
    click_button(&mut h, "Open pinhole");
    settled(&mut h, "the pinhole", |h| {
        has_contains(h, "Opened pinhole 1: [::1]:8080/TCP")
    });
    assert_eq!(sim.pinholes().len(), 1);
    assert!(
        has_contains(&h, "not reachable from the internet"),
        "::1 is no global address, said so"
    );

    click_button(&mut h, "Working?");
    settled(&mut h, "not yet", |h| {
        has_contains(h, "no outside packet has reached it yet")
    });
    sim.pinhole_traffic(1, 4);
    click_button(&mut h, "Working?");
    settled(&mut h, "working", |h| {
        has_contains(h, "an outside packet has reached it, 4 packets")
    });

    click_button(&mut h, "Renew");
    settled(&mut h, "renewed", |h| has_contains(h, "Renewed pinhole 1"));
    assert!(sim.actions().iter().any(|a| a == "UpdatePinhole"));

    click_button(&mut h, "Close pinhole 1");
    settled(&mut h, "closed", |h| has_contains(h, "Closed pinhole 1."));
    assert!(sim.pinholes().is_empty());
    assert!(has(&h, "None."));
}

#[test]
fn refusals_and_bad_values_are_shown_and_nothing_bad_is_sent() {
    let sim = sim(SimConfig::default(), &[]);
    let mut h = pinholes_tab(&sim);
    type_into(&mut h, "Port to open", "8080");
    type_into(&mut h, "Lease (seconds)", "0");
    settle(&mut h);
    assert!(has_contains(&h, "a pinhole lease must be from 1 to 86400"));
    assert!(!button_enabled(&h, "Open pinhole"));
    clear(&mut h, "Lease (seconds)");
    clear(&mut h, "Port to open");
    // A port below 1024: the router refuses (606), and the message says what to do.
    type_into(&mut h, "Port to open", "80");
    click_button(&mut h, "Open pinhole");
    settled(&mut h, "the refusal", |h| {
        has_contains(h, "AddPinhole was refused (error 606)")
    });
    assert!(sim.pinholes().is_empty());
    // A router restart: "working?" finds it gone.
    clear(&mut h, "Port to open");
    type_into(&mut h, "Port to open", "9000");
    click_button(&mut h, "Open pinhole");
    settled(&mut h, "the pinhole", |h| has_contains(h, "Opened pinhole 1"));
    sim.restart(true);
    click_button(&mut h, "Working?");
    settled(&mut h, "gone", |h| has_contains(h, "Pinhole 1 is gone"));
    assert!(has(&h, "None."));
}

#[test]
fn keep_alive_renews_a_pinhole_and_opens_it_again_after_a_router_restart() {
    let sim = sim(SimConfig::default(), &[]);
    let mut h = pinholes_tab(&sim);
    type_into(&mut h, "Port to open", "8080");
    type_into(&mut h, "Lease (seconds)", "2");
    click_button(&mut h, "Open pinhole");
    settled(&mut h, "the pinhole", |h| has_contains(h, "Opened pinhole 1"));
    click(&mut h, "Keep alive");
    let renewals = |sim: &SimulatedGateway| sim.actions().iter().filter(|a| *a == "UpdatePinhole").count();
    step_until(&mut h, "a keep-alive renewal", |_| renewals(&sim) >= 1);
    sim.restart(true);
    step_until(&mut h, "opened again after the restart", |_| sim.pinholes().len() == 1);
    settle(&mut h);
    assert!(
        has_contains(&h, "pinhole 1: [::1]:8080/TCP"),
        "the renumbered pinhole is shown"
    );
}

#[test]
fn without_upnp_firewall_control_the_tab_opens_pinholes_over_pcp() {
    use portforward::simulator::{PortControlSimConfig, SimulatedPortControl, pcp6_unavailable};
    if let Some(why) = pcp6_unavailable() {
        eprintln!("skipped: {why}");
        return;
    }
    let pcp = SimulatedPortControl::start(std::net::Ipv6Addr::LOCALHOST, PortControlSimConfig::default()).unwrap();
    // IGD:1: the description lists no WANIPv6FirewallControl.
    let sim = sim(
        SimConfig {
            igd_version: 1,
            ..SimConfig::default()
        },
        &[],
    );
    let mut h = pinholes_tab(&sim);
    assert!(has_contains(&h, "the router's UPnP has no IPv6 firewall control"));
    type_into(&mut h, "Port to open", "8080");
    click_button(&mut h, "Open pinhole");
    settled(&mut h, "the pinhole", |h| has_contains(h, "[::1]:8080/TCP"));
    assert!(has_contains(&h, "via PCP"), "the way it was opened is shown");
    assert_eq!(pcp.mappings().len(), 1);
    assert!(sim.pinholes().is_empty(), "nothing over UPnP");
    assert!(!button_enabled(&h, "Working?"), "PCP cannot be asked");
    let id = u16::MAX;
    click_button(&mut h, &format!("Close pinhole {id}"));
    settled(&mut h, "closed", |h| has_contains(h, &format!("Closed pinhole {id}.")));
    assert!(pcp.mappings().is_empty());
}
