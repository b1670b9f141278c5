//! GENA eventing as miniupnpd 2.3.1 does it: SUBSCRIBE (new or renewal) and UNSUBSCRIBE on the
//! WAN connection service's event URL, an initial NOTIFY (SEQ 0) at once, then a NOTIFY to every
//! subscriber whenever the number of mappings changes (a replace that keeps the count sends none).
//! Callbacks must be loopback addresses: the simulator never connects anywhere else.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::faults::Fault;
use super::http::{Request, Response};
use super::{Shared, State};

/// The longest subscription granted, and what "infinite" becomes.
const MAX_TIMEOUT_SECS: u64 = 86_400;
/// The subscription granted when the request names none.
const DEFAULT_TIMEOUT_SECS: u64 = 1800;
/// How long one NOTIFY may take (connect, send, read the answer).
const NOTIFY_DEADLINE: Duration = Duration::from_secs(2);

/// One subscriber of the WAN connection service.
pub(crate) struct Subscriber {
    sid: String,
    callback: SocketAddr,
    path: String,
    /// The SEQ of the next NOTIFY.
    seq: u32,
    expires: Instant,
}

/// A NOTIFY waiting to be sent.
pub(crate) struct Notify {
    callback: SocketAddr,
    path: String,
    sid: String,
    seq: u32,
    body: String,
}

/// The subscribers and the NOTIFYs not yet sent.
#[derive(Default)]
pub(crate) struct Events {
    subscribers: Vec<Subscriber>,
    outbox: VecDeque<Notify>,
    /// NOTIFYs delivered (answered by the subscriber with any HTTP status).
    pub(crate) delivered: usize,
    /// SUBSCRIBE requests answered 200 (new and renewals).
    pub(crate) subscribes: usize,
}

impl Events {
    /// The daemon died or rebooted: every subscription is forgotten, unsent NOTIFYs too.
    pub(crate) fn forget(&mut self) {
        self.subscribers.clear();
        self.outbox.clear();
    }

    /// Live subscriptions.
    pub(crate) fn count(&self, now: Instant) -> usize {
        self.subscribers.iter().filter(|s| s.expires > now).count()
    }
}

fn error(status: u16, reason: &'static str) -> Response {
    Response::error(status, reason)
}

/// Answers a SUBSCRIBE (new when it has CALLBACK and NT, a renewal when it has SID).
pub(crate) fn subscribe(shared: &Shared, request: &Request) -> Response {
    if !shared.config.eventing {
        return error(501, "Not Implemented");
    }
    let now = Instant::now();
    let timeout = requested_timeout(request.header("timeout"));
    let mut state = shared.lock();
    state.events.subscribers.retain(|s| s.expires > now);
    let sid = if let Some(sid) = request.header("sid") {
        if request.header("callback").is_some() || request.header("nt").is_some() {
            return error(400, "Incompatible header fields");
        }
        let Some(subscriber) = state.events.subscribers.iter_mut().find(|s| s.sid == sid) else {
            return error(412, "Precondition Failed");
        };
        subscriber.expires = now + Duration::from_secs(timeout);
        subscriber.sid.clone()
    } else {
        if request.header("nt") != Some("upnp:event") {
            return error(412, "Precondition Failed");
        }
        let Some((callback, path)) = request.header("callback").and_then(parse_callback) else {
            return error(412, "Precondition Failed");
        };
        let sid = format!("uuid:{}", super::random_uuid_full());
        state.events.subscribers.push(Subscriber {
            sid: sid.clone(),
            callback,
            path,
            seq: 0,
            expires: now + Duration::from_secs(timeout),
        });
        // The initial NOTIFY with every evented variable.
        let body = propertyset(&shared.config, &state);
        if let Some(subscriber) = state.events.subscribers.last_mut() {
            let notify = next_notify(subscriber, body);
            state.events.outbox.push_back(notify);
        }
        sid
    };
    state.events.subscribes += 1;
    drop(state);
    shared.wake.notify_all();
    let mut response = Response::xml(200, "OK", Vec::new());
    response.headers = vec![("SID", sid), ("TIMEOUT", format!("Second-{timeout}"))];
    response
}

/// Answers an UNSUBSCRIBE.
pub(crate) fn unsubscribe(shared: &Shared, request: &Request) -> Response {
    let Some(sid) = request.header("sid") else {
        return error(412, "Precondition Failed");
    };
    let mut state = shared.lock();
    let before = state.events.subscribers.len();
    state.events.subscribers.retain(|s| s.sid != sid);
    if state.events.subscribers.len() == before {
        return error(412, "Precondition Failed");
    }
    Response::xml(200, "OK", Vec::new())
}

/// Queues a NOTIFY to every live subscriber (the table's size changed).
pub(crate) fn changed(shared: &Shared, state: &mut State) {
    let now = Instant::now();
    state.events.subscribers.retain(|s| s.expires > now);
    if state.events.subscribers.is_empty() {
        return;
    }
    let body = propertyset(&shared.config, state);
    let notifies: Vec<Notify> = state
        .events
        .subscribers
        .iter_mut()
        .map(|subscriber| next_notify(subscriber, body.clone()))
        .collect();
    state.events.outbox.extend(notifies);
    shared.wake.notify_all();
}

fn next_notify(subscriber: &mut Subscriber, body: String) -> Notify {
    let seq = subscriber.seq;
    // SEQ wraps to 1, never back to 0 (UDA 1.1, 4.2.1).
    subscriber.seq = subscriber.seq.checked_add(1).unwrap_or(1);
    Notify {
        callback: subscriber.callback,
        path: subscriber.path.clone(),
        sid: subscriber.sid.clone(),
        seq,
        body,
    }
}

fn requested_timeout(header: Option<&str>) -> u64 {
    let Some(value) = header.map(str::trim) else {
        return DEFAULT_TIMEOUT_SECS;
    };
    if value.eq_ignore_ascii_case("second-infinite") {
        return MAX_TIMEOUT_SECS;
    }
    value
        .get(..7)
        .filter(|prefix| prefix.eq_ignore_ascii_case("second-"))
        .and_then(|_| value[7..].parse::<u64>().ok())
        .map_or(DEFAULT_TIMEOUT_SECS, |secs| secs.clamp(1, MAX_TIMEOUT_SECS))
}

/// The first `<http://IP:port/path>` of a CALLBACK header, if its address is a loopback one.
fn parse_callback(header: &str) -> Option<(SocketAddr, String)> {
    let start = header.find('<')?;
    let end = start + header[start..].find('>')?;
    let url = header[start + 1..end].strip_prefix("http://")?;
    let (authority, path) = url.find('/').map_or((url, "/"), |at| (&url[..at], &url[at..]));
    let addr: SocketAddr = authority.parse().ok()?;
    addr.ip().is_loopback().then(|| (addr, path.to_owned()))
}

/// The evented variables of the WAN connection service, as miniupnpd sends them.
fn propertyset(config: &super::SimConfig, state: &State) -> String {
    let mut body =
        String::from("<?xml version=\"1.0\"?>\r\n<e:propertyset xmlns:e=\"urn:schemas-upnp-org:event-1-0\">");
    let mut property = |name: &str, value: &str| {
        let _ = write!(
            body,
            "<e:property><{name}>{}</{name}></e:property>",
            super::xml::escape(value)
        );
    };
    property("PossibleConnectionTypes", "IP_Routed");
    property("ConnectionStatus", "Connected");
    property("ExternalIPAddress", &config.external_ip);
    property("PortMappingNumberOfEntries", &state.table.entries().len().to_string());
    property("SystemUpdateID", &state.events.subscribes.to_string());
    body.push_str("</e:propertyset>\r\n");
    body
}

/// Starts the thread that sends queued NOTIFYs, one at a time, until the gateway is dropped.
pub(crate) fn spawn_notifier(shared: &Arc<Shared>) -> std::io::Result<JoinHandle<()>> {
    let shared = Arc::clone(shared);
    thread::Builder::new().name("sim-notify".to_string()).spawn(move || {
        loop {
            let notify = {
                let mut state = shared.lock();
                loop {
                    if state.dropped {
                        return;
                    }
                    if let Some(notify) = state.events.outbox.pop_front() {
                        break notify;
                    }
                    state = shared.wake.wait(state).unwrap_or_else(PoisonError::into_inner);
                }
            };
            let lost = shared.lock().faults.contains(&Fault::EventsLost);
            if lost {
                continue;
            }
            match send(&notify) {
                Ok(()) => shared.lock().events.delivered += 1,
                Err(error) => tracing::debug!(%error, to = %notify.callback, "simulated gateway: NOTIFY failed"),
            }
        }
    })
}

fn send(notify: &Notify) -> std::io::Result<()> {
    if !notify.callback.ip().is_loopback() {
        return Err(std::io::Error::other("not a loopback callback"));
    }
    let mut stream = TcpStream::connect_timeout(&notify.callback, NOTIFY_DEADLINE)?;
    stream.set_write_timeout(Some(NOTIFY_DEADLINE))?;
    stream.set_read_timeout(Some(NOTIFY_DEADLINE))?;
    let request = format!(
        "NOTIFY {} HTTP/1.1\r\nHOST: {}\r\nCONTENT-TYPE: text/xml; charset=\"utf-8\"\r\nNT: upnp:event\r\n\
         NTS: upnp:propchange\r\nSID: {}\r\nSEQ: {}\r\nCONNECTION: close\r\nCONTENT-LENGTH: {}\r\n\r\n{}",
        notify.path,
        notify.callback,
        notify.sid,
        notify.seq,
        notify.body.len(),
        notify.body
    );
    stream.write_all(request.as_bytes())?;
    // The subscriber's answer (any status) means it was delivered.
    let mut answer = [0u8; 512];
    let read = stream.read(&mut answer)?;
    if read == 0 {
        return Err(std::io::Error::other("closed without an answer"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_and_callbacks_are_read_as_miniupnpd_does() {
        assert_eq!(requested_timeout(Some("Second-300")), 300);
        assert_eq!(requested_timeout(Some("second-infinite")), MAX_TIMEOUT_SECS);
        assert_eq!(requested_timeout(Some("Second-0")), 1);
        assert_eq!(requested_timeout(Some("300")), DEFAULT_TIMEOUT_SECS);
        assert_eq!(requested_timeout(None), DEFAULT_TIMEOUT_SECS);
        let (addr, path) = parse_callback("<http://127.0.0.1:4000/evt>").unwrap();
        assert_eq!((addr.port(), path.as_str()), (4000, "/evt"));
        assert_eq!(parse_callback("<http://127.0.0.1:4000>").unwrap().1, "/");
        assert!(
            parse_callback("<http://192.168.1.2:4000/>").is_none(),
            "never anywhere but loopback"
        );
        assert!(parse_callback("<http://example.com:4000/>").is_none());
        assert!(parse_callback("http://127.0.0.1:4000/").is_none());
    }
}
