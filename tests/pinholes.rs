//! IPv6 pinholes against the simulated router on [::1]: the library's firewall client, the
//! record this computer keeps, and the router's quirks (ids lost on restart, re-adding
//! stretches a lease, no traffic yet is 709).

use std::net::Ipv6Addr;
use std::time::Duration;

use portforward::model::{NewPinhole, PinholeLease};
use portforward::services::{PinholeService, PinholeServiceError, PinholeState, PinholeStore, Renewal};
use portforward::simulator::{SimConfig, SimulatedGateway};
use portforward::upnp::{FirewallControl, PinholeCode, PinholeError};
use portforward::{Port, Protocol};

const LOCAL: Ipv6Addr = Ipv6Addr::LOCALHOST;

fn router() -> SimulatedGateway {
    SimulatedGateway::start(SimConfig::default()).expect("simulator")
}

fn control(router: &SimulatedGateway) -> FirewallControl {
    let url = router.description_url_v6().expect("this machine has ::1");
    FirewallControl::connect(&url, None, Some(LOCAL), Duration::from_secs(5)).expect("firewall service")
}

fn opening(port: u16, protocol: Protocol) -> NewPinhole {
    NewPinhole::new(LOCAL, Port::new(port).unwrap(), protocol)
}

#[test]
fn a_pinhole_is_opened_checked_renewed_and_closed() {
    let router = router();
    let fw = control(&router);
    assert_eq!(fw.local_address(), LOCAL);
    assert!(fw.firewall_status().unwrap().inbound_pinhole_allowed);

    let id = fw.add(&opening(8080, Protocol::Tcp)).unwrap();
    let held = router.pinholes();
    assert_eq!(held.len(), 1);
    assert_eq!(
        (held[0].id, held[0].internal_client.as_str(), held[0].protocol),
        (id, "::1", 6)
    );

    // No packet yet: 709, which is "not working (yet)", not an error.
    assert!(!fw.check_working(id).unwrap());
    assert_eq!(fw.packets(id).unwrap(), 0);
    assert!(router.pinhole_traffic(id, 3));
    assert!(fw.check_working(id).unwrap());
    assert_eq!(fw.packets(id).unwrap(), 3);

    fw.update(id, PinholeLease::seconds(120).unwrap()).unwrap();
    assert!(router.pinholes()[0].lease_seconds_left <= 120);

    fw.delete(id).unwrap();
    assert!(router.pinholes().is_empty());
    let again = fw.delete(id).unwrap_err();
    assert!(again.is_gone(), "{again}");
    assert!(again.to_string().contains("open it again"), "{again}");
}

#[test]
fn the_router_refuses_what_miniupnpd_refuses_and_the_error_says_why() {
    let router = router();
    let fw = control(&router);
    // Ports below 1024: 606, with the advice.
    let err = fw.add(&opening(80, Protocol::Tcp)).unwrap_err();
    assert_eq!(err.code(), Some(PinholeCode::NotAuthorized), "{err}");
    // Another address than the one we send from is refused before anything is sent.
    let other = NewPinhole::new("2001:db8::10".parse().unwrap(), Port::new(8080).unwrap(), Protocol::Tcp);
    let before = router.actions().len();
    assert_eq!(fw.add(&other).unwrap_err().code(), Some(PinholeCode::NotAuthorized));
    assert_eq!(router.actions().len(), before, "nothing was sent");
    // Unknown ids: 704 for update and check; packets answers 0, as miniupnpd does.
    assert!(fw.update(999, PinholeLease::DEFAULT).unwrap_err().is_gone());
    assert!(fw.check_working(999).unwrap_err().is_gone());
    assert_eq!(fw.packets(999).unwrap(), 0);
}

#[test]
fn an_ipv4_description_url_is_reached_over_ipv6() {
    let router = router();
    let fw = FirewallControl::connect(
        &router.description_url(),
        Some(LOCAL),
        Some(LOCAL),
        Duration::from_secs(5),
    )
    .unwrap();
    assert!(fw.control_url().starts_with("http://[::1]:"), "{}", fw.control_url());
    fw.add(&opening(9000, Protocol::Udp)).unwrap();
    assert_eq!(router.pinholes()[0].protocol, 17);
}

#[test]
fn a_router_without_the_service_is_named() {
    let router = SimulatedGateway::start(SimConfig {
        igd_version: 1,
        ..SimConfig::default()
    })
    .unwrap();
    let url = router.description_url_v6().unwrap();
    let err = FirewallControl::connect(&url, None, Some(LOCAL), Duration::from_secs(5)).unwrap_err();
    assert!(matches!(err, PinholeError::NoService { .. }), "{err}");
    assert!(err.to_string().contains("WANIPv6FirewallControl"), "{err}");
}

#[test]
fn the_record_survives_a_restart_of_the_program_and_adding_again_renews() {
    let dir = std::env::temp_dir().join(format!("pfw-pinholes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("pinholes.json");
    let router = router();
    let mut service = PinholeService::new(control(&router), PinholeStore::open(&path).unwrap());
    let made = service.add(&opening(8080, Protocol::Tcp)).unwrap();

    // Another run of the program reads the record back.
    let mut later = PinholeService::new(control(&router), PinholeStore::open(&path).unwrap());
    assert_eq!(later.store().all().len(), 1);
    // Adding the same opening again renews it (UpdatePinhole), it does not stretch it.
    let again = later.add(&opening(8080, Protocol::Tcp)).unwrap();
    assert_eq!(again.id, made.id);
    assert_eq!(router.actions().iter().filter(|a| *a == "AddPinhole").count(), 1);
    assert!(router.actions().iter().any(|a| a == "UpdatePinhole"));
    assert!(router.pinholes()[0].lease_seconds_left <= 3600);

    let listed = later.list().unwrap();
    assert!(matches!(&listed[..], [PinholeState::Held(p)] if p.id == made.id && p.working == Some(false)));
    later.remove(made.id).unwrap();
    assert!(router.pinholes().is_empty());
    assert!(PinholeStore::open(&path).unwrap().all().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn after_a_router_restart_listing_finds_them_gone() {
    let router = router();
    let mut service = PinholeService::new(control(&router), PinholeStore::in_memory());
    let first = service.add(&opening(8080, Protocol::Tcp)).unwrap();
    let second = service.add(&opening(8081, Protocol::Udp)).unwrap();
    router.restart(true);
    assert!(router.pinholes().is_empty(), "miniupnpd forgets the ids");

    let listed = service.list().unwrap();
    let gone: Vec<u16> = listed
        .iter()
        .filter_map(|s| match s {
            PinholeState::Gone(p) => Some(p.id),
            PinholeState::Held(_) => None,
        })
        .collect();
    assert_eq!(gone, vec![first.id, second.id]);
    assert!(
        service.store().all().is_empty(),
        "reconciled: the record holds what the router holds"
    );
    let err = service.renew(first.id).unwrap_err();
    assert!(matches!(err, PinholeServiceError::NotOurs { .. }), "{err}");
    let err = service.remove(first.id).unwrap_err();
    assert!(matches!(err, PinholeServiceError::Gone { .. }), "{err}");
}

#[test]
fn after_a_router_restart_renewing_adds_every_lost_pinhole_again() {
    let router = router();
    let mut service = PinholeService::new(control(&router), PinholeStore::in_memory());
    let first = service.add(&opening(8080, Protocol::Tcp)).unwrap();
    let second = service.add(&opening(8081, Protocol::Udp)).unwrap();
    router.restart(true);

    // Renewal after 704: added again. The router numbers from 1 again, so the new id is
    // the first pinhole's old one: that one was lost too and is added again as well.
    match service.renew(second.id).unwrap() {
        Renewal::Readded { old_id, pinhole } => {
            assert_eq!(old_id, second.id);
            assert_eq!(pinhole.opening, second.opening);
        }
        other => panic!("{other:?}"),
    }
    let mut held: Vec<(u16, u16)> = router.pinholes().iter().map(|p| (p.id, p.internal_port)).collect();
    held.sort();
    let mut recorded: Vec<(u16, u16)> = service
        .store()
        .all()
        .iter()
        .map(|p| (p.id, p.opening.internal_port.get()))
        .collect();
    recorded.sort();
    assert_eq!(held.len(), 2, "{held:?}");
    assert_eq!(recorded, held, "the record matches the router, id for id");
    assert!(held.iter().any(|(_, port)| *port == first.opening.internal_port.get()));
}

#[test]
fn keep_alive_renews_at_half_the_lease() {
    let router = router();
    let mut service = PinholeService::new(control(&router), PinholeStore::in_memory());
    let lease = PinholeLease::seconds(600).unwrap();
    let pinhole = service
        .add(&NewPinhole {
            lease,
            ..opening(8080, Protocol::Tcp)
        })
        .unwrap();
    let due = service.next_due().unwrap();
    assert_eq!(due, pinhole.expires_at - 300);
    // Before half the lease nothing is sent; at half it is renewed.
    assert!(service.renew_due(due - 1).is_empty());
    let renewed = service.renew_due(due);
    assert!(
        matches!(&renewed[..], [(id, Ok(Renewal::Renewed(_)))] if *id == pinhole.id),
        "{renewed:?}"
    );
    // After a router restart the keep-alive step adds it again.
    router.restart(true);
    let step = service.renew_due(u64::MAX / 2);
    assert!(matches!(&step[..], [(_, Ok(Renewal::Readded { .. }))]), "{step:?}");
    assert_eq!(router.pinholes().len(), 1);
}

#[test]
fn reachability_is_claimed_only_when_proven() {
    use portforward::model::Pinhole;
    use portforward::services::PinholeReachability as R;
    let at = |ip: &str, working| Pinhole {
        id: 1,
        opening: NewPinhole::new(ip.parse().unwrap(), Port::new(8080).unwrap(), Protocol::Tcp),
        gateway: String::new(),
        expires_at: 0,
        packets: None,
        working,
        via: portforward::model::PinholeVia::Upnp,
        nonce: None,
    };
    assert_eq!(R::of(&at("2a01:4f8::10", Some(true))), R::Proven);
    assert_eq!(R::of(&at("2a01:4f8::10", Some(false))), R::Unknown);
    assert_eq!(R::of(&at("2a01:4f8::10", None)), R::Unknown);
    assert_eq!(R::of(&at("fd00::10", None)), R::NotRoutable);
    assert_eq!(
        R::of(&at("fd00::10", Some(true))),
        R::Proven,
        "an outside packet came in"
    );
    assert_eq!(R::of(&at("2001:db8:77::10", None)), R::NotRoutable);
    assert!(R::Unknown.describe().contains("not known"));
}
