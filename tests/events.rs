//! GENA eventing against the simulated gateway on 127.0.0.1, and hostile NOTIFYs sent straight
//! to the callback listener (the test plays the router and the attacker).

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpStream};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use portforward::simulator::{SimMapping, SimulatedGateway};
use portforward::upnp::{EventOptions, Gateway, GatewayEvent, NotifyListener, Subscription};

/// A hang guard, not a timing: events come within milliseconds.
const GUARD: Duration = Duration::from_secs(10);
const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn row(external_port: u16, protocol: &str, internal_client: &str) -> SimMapping {
    SimMapping::new(external_port, protocol, internal_client)
}

fn next(events: &Receiver<GatewayEvent>) -> GatewayEvent {
    events.recv_timeout(GUARD).expect("an event within the guard")
}

fn next_notify(events: &Receiver<GatewayEvent>) -> (u32, Vec<String>) {
    loop {
        if let GatewayEvent::Notify { seq, variables } = next(events) {
            return (seq, variables);
        }
    }
}

fn subscribe(router: &SimulatedGateway) -> (Subscription, Receiver<GatewayEvent>) {
    let gateway = Gateway::connect(&router.description_url(), &Default::default()).unwrap();
    let (send, events) = channel();
    let options = EventOptions {
        callback_ip: Some(LOOPBACK),
        ..Default::default()
    };
    let send = std::sync::Mutex::new(send);
    let subscription = Subscription::start(&gateway, &options, move |event| {
        let _ = send.lock().unwrap().send(event);
    })
    .unwrap();
    (subscription, events)
}

#[test]
fn a_new_mapping_is_notified_and_drop_unsubscribes() {
    let router = SimulatedGateway::demo().unwrap();
    let (subscription, events) = subscribe(&router);
    assert!(matches!(next(&events), GatewayEvent::Subscribed { fresh: true, .. }));
    assert_eq!(next_notify(&events).0, 0, "the initial NOTIFY");
    assert_eq!(router.subscriptions(), 1);
    router.insert(row(40000, "TCP", "192.168.1.77"));
    let (seq, variables) = next_notify(&events);
    assert_eq!(seq, 1);
    assert!(
        variables.iter().any(|v| v == "PortMappingNumberOfEntries"),
        "{variables:?}"
    );
    // A replace keeps the count: miniupnpd sends nothing, nor does the simulator.
    router.insert(SimMapping {
        description: "replaced".into(),
        ..row(40000, "TCP", "192.168.1.77")
    });
    router.insert(row(40001, "TCP", "192.168.1.77"));
    assert_eq!(next_notify(&events).0, 2, "the replace sent no NOTIFY in between");
    assert_eq!(subscription.rejected(), 0);
    drop(subscription);
    assert_eq!(router.subscriptions(), 0, "dropping the subscription unsubscribes");
}

#[test]
fn after_a_router_restart_the_subscription_is_made_anew() {
    let router = SimulatedGateway::demo().unwrap();
    let (subscription, events) = subscribe(&router);
    let first = subscription.sid().unwrap();
    next_notify(&events);
    router.restart(true);
    assert_eq!(router.subscriptions(), 0, "the restarted daemon forgot us");
    subscription.resubscribe();
    let sid = loop {
        if let GatewayEvent::Subscribed { sid, fresh: true, .. } = next(&events) {
            break sid;
        }
    };
    assert_ne!(sid, first);
    assert_eq!(next_notify(&events).0, 0, "the new subscription's initial NOTIFY");
    router.insert(row(40002, "UDP", "192.168.1.78"));
    assert_eq!(next_notify(&events).0, 1);
}

/// Sends raw bytes to the listener and returns its answer (empty when it hung up).
fn send_raw(listener: &NotifyListener, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(listener.local_addr()).unwrap();
    stream.set_read_timeout(Some(GUARD)).unwrap();
    let _ = stream.write_all(bytes);
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}

fn notify(sid: &str, seq: u32, body: &str) -> Vec<u8> {
    format!(
        "NOTIFY / HTTP/1.1\r\nHOST: x\r\nNT: upnp:event\r\nNTS: upnp:propchange\r\nSID: {sid}\r\nSEQ: {seq}\r\n\
         CONTENT-LENGTH: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn without_nt(request: Vec<u8>) -> Vec<u8> {
    String::from_utf8(request)
        .unwrap()
        .replace("NT: upnp:event\r\n", "")
        .into_bytes()
}

const BODY: &str = "<?xml version=\"1.0\"?><e:propertyset xmlns:e=\"urn:schemas-upnp-org:event-1-0\">\
    <e:property><PortMappingNumberOfEntries>1</PortMappingNumberOfEntries></e:property></e:propertyset>";

fn listener(router: IpAddr) -> (NotifyListener, Receiver<GatewayEvent>) {
    let (send, events) = channel();
    let send = std::sync::Mutex::new(send);
    let options = EventOptions {
        notify_deadline: Duration::from_millis(500),
        max_body: 4096,
        ..Default::default()
    };
    let listener = NotifyListener::bind(LOOPBACK, router, &options, move |event| {
        let _ = send.lock().unwrap().send(event);
    })
    .unwrap();
    listener.expect_sid(Some("uuid:ours".into()));
    (listener, events)
}

#[test]
fn hostile_notifies_trigger_nothing() {
    let (listener, events) = listener(LOOPBACK);
    assert!(send_raw(&listener, &notify("uuid:ours", 5, BODY)).starts_with("HTTP/1.1 200"));
    assert_eq!(next_notify(&events).0, 5);
    let hugely = "x".repeat(100_000);
    let dtd = "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaa\">]><propertyset>&a;</propertyset>";
    let cases: [(&str, Vec<u8>, &str); 6] = [
        ("wrong SID", notify("uuid:theirs", 6, BODY), "HTTP/1.1 412"),
        ("old SEQ", notify("uuid:ours", 5, BODY), "HTTP/1.1 412"),
        ("huge body", notify("uuid:ours", 6, &hugely), "HTTP/1.1 413"),
        ("DTD", notify("uuid:ours", 6, dtd), "HTTP/1.1 400"),
        ("not NOTIFY", b"GET / HTTP/1.1\r\n\r\n".to_vec(), "HTTP/1.1 400"),
        ("no NT", without_nt(notify("uuid:ours", 6, BODY)), "HTTP/1.1 412"),
    ];
    for (case, bytes, expected) in &cases {
        let answer = send_raw(&listener, bytes);
        assert!(answer.starts_with(expected), "{case}: {answer:?}");
    }
    // Drip: a head that never ends is cut off at the deadline, without an answer.
    let mut drip = TcpStream::connect(listener.local_addr()).unwrap();
    drip.set_read_timeout(Some(GUARD)).unwrap();
    drip.write_all(b"NOTIFY / HTTP/1.1\r\nNT: upnp:event\r\n").unwrap();
    let mut rest = Vec::new();
    let _ = drip.read_to_end(&mut rest);
    assert!(rest.is_empty(), "the dripping sender was hung up on");
    // None of them reached the sink: the next event is the next valid NOTIFY.
    assert!(send_raw(&listener, &notify("uuid:ours", 6, BODY)).starts_with("HTTP/1.1 200"));
    assert_eq!(next_notify(&events).0, 6);
    assert_eq!(listener.rejected(), cases.len() + 1);
}

#[test]
fn a_notify_from_anyone_but_the_router_is_hung_up_on() {
    // The router is 127.0.0.2; the test connects from 127.0.0.1.
    let (listener, events) = listener(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)));
    assert_eq!(send_raw(&listener, &notify("uuid:ours", 1, BODY)), "");
    assert_eq!(listener.rejected(), 1);
    assert!(events.try_recv().is_err());
}

#[test]
fn router_status_reads_counters_past_32_bits_and_the_admin_page() {
    let router = SimulatedGateway::demo().unwrap();
    let gateway = Gateway::connect(&router.description_url(), &Default::default()).unwrap();
    let status = gateway.router_status().unwrap();
    assert_eq!(status.connection.status, "Connected");
    assert_eq!(status.connection_type.as_deref(), Some("IP_Routed"));
    assert_eq!(status.external_ip, Some(Ipv4Addr::new(203, 0, 113, 7)));
    let link = status.link.unwrap();
    assert_eq!(
        (link.physical_link_status.as_str(), link.downstream_max_bit_rate),
        ("Up", 1_000_000_000)
    );
    assert!(status.traffic.bytes_sent.unwrap() > u64::from(u32::MAX));
    assert!(status.traffic.packets_received.is_some());
    let admin = status.presentation_url.unwrap();
    assert!(
        admin.starts_with("http://127.0.0.1:") && admin.ends_with('/'),
        "{admin}"
    );
}

mod watch {
    use std::sync::Arc;

    use portforward::Protocol;
    use portforward::services::watch::{Change, Watch, WatchMode, WatchOptions};
    use portforward::simulator::{Fault, SimConfig, SimulatedGateway};

    use super::*;

    fn start(router: &SimulatedGateway, options: WatchOptions) -> (Watch, Receiver<Change>) {
        let gateway = Arc::new(Gateway::connect(&router.description_url(), &Default::default()).unwrap());
        let (send, changes) = channel();
        let watch = Watch::start(gateway, options, move |change| {
            let _ = send.send(change);
        })
        .unwrap();
        (watch, changes)
    }

    fn until<T>(changes: &Receiver<Change>, mut wanted: impl FnMut(Change) -> Option<T>) -> T {
        loop {
            let change = changes.recv_timeout(GUARD).expect("a change within the guard");
            if let Some(found) = wanted(change) {
                return found;
            }
        }
    }

    #[test]
    fn another_hosts_mapping_shows_by_event_with_one_re_read() {
        let router = SimulatedGateway::demo().unwrap();
        let (watch, changes) = start(&router, WatchOptions::default());
        until(&changes, |c| {
            matches!(
                c,
                Change::Mode {
                    mode: WatchMode::Events
                }
            )
            .then_some(())
        });
        assert_eq!(watch.table_reads(), 1, "the baseline only");
        // Another host adds a mapping over SOAP, as upnpc would.
        let other = portforward::PortForwarder::connect(&router.description_url(), &Default::default()).unwrap();
        let request = portforward::EnableRequest {
            external_port: Some(portforward::Port::new(41000).unwrap()),
            protocol: Protocol::Udp,
            ..Default::default()
        };
        other.enable(&request).unwrap();
        let added = until(&changes, |c| match c {
            Change::Added { mapping } => Some(mapping),
            _ => None,
        });
        assert_eq!((added.external_port.get(), added.protocol), (41000, Protocol::Udp));
        assert_eq!(watch.table_reads(), 2, "one re-read for the event");
        assert_eq!(watch.mode(), WatchMode::Events);
        drop(watch);
        assert_eq!(router.subscriptions(), 0);
    }

    #[test]
    fn when_notifies_do_not_arrive_polling_takes_over_and_says_why() {
        let router = SimulatedGateway::demo().unwrap();
        router.set_faults(vec![Fault::EventsLost]);
        let options = WatchOptions {
            event_grace: Duration::from_millis(300),
            poll_interval: Duration::from_millis(200),
            ..Default::default()
        };
        let (_watch, changes) = start(&router, options);
        let reason = until(&changes, |c| match c {
            Change::Mode {
                mode: WatchMode::Polling { reason, .. },
            } => Some(reason),
            _ => None,
        });
        assert!(reason.contains("do not reach"), "{reason}");
        router.insert(row(41001, "TCP", "192.168.1.90"));
        let added = until(&changes, |c| match c {
            Change::Added { mapping } => Some(mapping),
            _ => None,
        });
        assert_eq!(added.external_port.get(), 41001);
    }

    #[test]
    fn a_router_without_events_is_polled() {
        let router = SimulatedGateway::start(SimConfig {
            eventing: false,
            ..Default::default()
        })
        .unwrap();
        let (watch, changes) = start(&router, WatchOptions::default());
        let reason = until(&changes, |c| match c {
            Change::Mode {
                mode: WatchMode::Polling { reason, .. },
            } => Some(reason),
            _ => None,
        });
        assert!(reason.contains("does not send events"), "{reason}");
        assert!(matches!(watch.mode(), WatchMode::Polling { .. }));
    }
}
