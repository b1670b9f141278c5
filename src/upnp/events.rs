//! UPnP eventing (GENA): a subscription to the WAN connection service's events, renewed before
//! it times out and cancelled on drop, and the callback listener the router's NOTIFYs come to.
//!
//! The listener is an open port on this computer, so it treats every connection as hostile:
//! it binds the one local address that reaches the router, answers only the router's address,
//! wants the SID we hold and a SEQ larger than the last, bounds the request's size and the time
//! it may take, parses the body with the hardened XML reader, and hands on nothing but the
//! names of the variables that changed: a NOTIFY can trigger a re-read, never set a value.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::error::{HttpFailure, UpnpError};
use super::gateway::Gateway;
use super::xml;

/// The most bytes of a NOTIFY's head we read.
const MAX_HEAD: usize = 8 * 1024;

/// How to subscribe and what the listener accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventOptions {
    /// The subscription asked for (the router may grant another); renewed at half of it.
    pub requested_timeout: Duration,
    /// The longest one NOTIFY may take to arrive whole (a dripping sender is cut off).
    pub notify_deadline: Duration,
    /// The largest NOTIFY body accepted (miniupnpd's are under 1 KiB).
    pub max_body: usize,
    /// The local address to listen on; `None`: the one that reaches the router.
    pub callback_ip: Option<IpAddr>,
    /// The deadline of SUBSCRIBE and UNSUBSCRIBE requests.
    pub request_timeout: Duration,
}

impl Default for EventOptions {
    fn default() -> EventOptions {
        EventOptions {
            requested_timeout: Duration::from_secs(300),
            notify_deadline: Duration::from_secs(2),
            max_body: 64 * 1024,
            callback_ip: None,
            request_timeout: Duration::from_secs(5),
        }
    }
}

/// What the subscription reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayEvent {
    /// A valid NOTIFY: these evented variables changed (their values are not trusted: re-read).
    Notify {
        /// Its sequence number (0 for the first after subscribing).
        seq: u32,
        /// The names of the variables in it (`PortMappingNumberOfEntries`, `ExternalIPAddress`, …).
        variables: Vec<String>,
    },
    /// Subscribed: `fresh` for a new subscription (after a router restart its table may
    /// differ: re-read), not for a renewal.
    Subscribed {
        /// The subscription's ID.
        sid: String,
        /// What the router granted.
        timeout: Duration,
        /// A new subscription rather than a renewal.
        fresh: bool,
    },
    /// Neither renewing nor subscribing again worked; retried later.
    Lost {
        /// Why.
        reason: String,
    },
}

type Sink = Arc<dyn Fn(GatewayEvent) + Send + Sync>;

/// What the listener expects, shared with the subscription.
#[derive(Default)]
struct Expect {
    sid: Option<String>,
    last_seq: Option<u32>,
    /// A SUBSCRIBE is under way: a NOTIFY may arrive before its answer gives us the SID.
    subscribing: bool,
}

struct ListenerShared {
    expect: Mutex<Expect>,
    changed: Condvar,
    stop: AtomicBool,
    rejected: AtomicUsize,
    router: IpAddr,
    options: EventOptions,
    sink: Sink,
}

impl ListenerShared {
    fn lock(&self) -> MutexGuard<'_, Expect> {
        self.expect.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The HTTP listener the router's NOTIFYs come to; stops when dropped.
pub struct NotifyListener {
    addr: SocketAddr,
    shared: Arc<ListenerShared>,
    thread: Option<JoinHandle<()>>,
}

impl NotifyListener {
    /// Listens on `local` (a free port) for NOTIFYs from `router` only, handing valid ones to
    /// `on_event`.
    pub fn bind(
        local: IpAddr,
        router: IpAddr,
        options: &EventOptions,
        on_event: impl Fn(GatewayEvent) + Send + Sync + 'static,
    ) -> std::io::Result<NotifyListener> {
        Self::bind_shared(local, router, options, Arc::new(on_event))
    }

    fn bind_shared(
        local: IpAddr,
        router: IpAddr,
        options: &EventOptions,
        sink: Sink,
    ) -> std::io::Result<NotifyListener> {
        let listener = TcpListener::bind(SocketAddr::new(local, 0))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(ListenerShared {
            expect: Mutex::new(Expect::default()),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
            rejected: AtomicUsize::new(0),
            router,
            options: options.clone(),
            sink,
        });
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("gena-listener".to_owned())
            .spawn(move || accept_loop(&listener, &thread_shared))?;
        Ok(NotifyListener {
            addr,
            shared,
            thread: Some(thread),
        })
    }

    /// The callback URL to give the router: `http://LOCAL:PORT/`.
    pub fn callback_url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The address listened on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Accepts NOTIFYs for this subscription ID from now on (any SEQ first, then growing ones).
    pub fn expect_sid(&self, sid: Option<String>) {
        let mut expect = self.shared.lock();
        expect.sid = sid;
        expect.last_seq = None;
        expect.subscribing = false;
        drop(expect);
        self.shared.changed.notify_all();
    }

    /// How many requests were refused so far (wrong sender, SID or SEQ, too big, too slow, bad XML).
    pub fn rejected(&self) -> usize {
        self.shared.rejected.load(Ordering::Relaxed)
    }

    fn set_subscribing(&self, subscribing: bool) {
        self.shared.lock().subscribing = subscribing;
        self.shared.changed.notify_all();
    }
}

impl Drop for NotifyListener {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.changed.notify_all();
        // Wakes the blocking accept.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &ListenerShared) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(mut stream) = stream else { continue };
        let Ok(peer) = stream.peer_addr() else { continue };
        if peer.ip() != shared.router {
            // Not a word to anyone but the router.
            shared.rejected.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%peer, "refused a connection to the event listener: not the router");
            let _ = stream.shutdown(std::net::Shutdown::Both);
            continue;
        }
        let status = match serve(&mut stream, shared) {
            Ok(event) => {
                (shared.sink)(event);
                200
            }
            Err(Refusal { status, why }) => {
                shared.rejected.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%peer, why, "refused a NOTIFY");
                status
            }
        };
        if status != 0 {
            let reason = match status {
                200 => "OK",
                400 => "Bad Request",
                412 => "Precondition Failed",
                413 => "Payload Too Large",
                _ => "Error",
            };
            let _ = stream.write_all(
                format!("HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes(),
            );
        }
        let _ = stream.shutdown(std::net::Shutdown::Both);
    }
}

/// Why a request was refused; status 0 = close without an answer.
struct Refusal {
    status: u16,
    why: &'static str,
}

fn refuse(status: u16, why: &'static str) -> Refusal {
    Refusal { status, why }
}

fn serve(stream: &mut TcpStream, shared: &ListenerShared) -> Result<GatewayEvent, Refusal> {
    let deadline = Instant::now() + shared.options.notify_deadline;
    let _ = stream.set_write_timeout(Some(shared.options.notify_deadline));
    let mut buf = Vec::with_capacity(1024);
    let head_end = loop {
        if let Some(at) = memchr::memmem::find(&buf, b"\r\n\r\n") {
            break at + 4;
        }
        if buf.len() > MAX_HEAD {
            return Err(refuse(413, "head too large"));
        }
        let room = MAX_HEAD + 4 - buf.len().min(MAX_HEAD);
        read_some(stream, &mut buf, deadline, room)?;
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| refuse(400, "head is not UTF-8"))?;
    let request_line = head.split("\r\n").next().unwrap_or("");
    if !request_line.starts_with("NOTIFY ") {
        return Err(refuse(400, "not a NOTIFY"));
    }
    let header = |name: &str| -> Option<String> {
        head.split("\r\n")
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
    };
    if header("NT").as_deref() != Some("upnp:event") || header("NTS").as_deref() != Some("upnp:propchange") {
        return Err(refuse(412, "NT or NTS missing or wrong"));
    }
    let sid = header("SID").ok_or(refuse(412, "no SID"))?;
    let seq: u32 = header("SEQ")
        .and_then(|s| s.parse().ok())
        .ok_or(refuse(400, "no SEQ"))?;
    if header("Transfer-Encoding").is_some() {
        return Err(refuse(400, "chunked NOTIFY"));
    }
    let length: usize = header("Content-Length")
        .and_then(|l| l.parse().ok())
        .ok_or(refuse(400, "no Content-Length"))?;
    if length > shared.options.max_body {
        return Err(refuse(413, "body too large"));
    }
    // Check the SID before reading the body: a stranger's NOTIFY costs us nothing more.
    {
        let mut expect = shared.lock();
        while expect.subscribing && Instant::now() < deadline {
            let wait = deadline.saturating_duration_since(Instant::now());
            expect = shared
                .changed
                .wait_timeout(expect, wait)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        if expect.sid.as_deref() != Some(sid.as_str()) {
            return Err(refuse(412, "not our SID"));
        }
        if expect
            .last_seq
            .is_some_and(|last| seq <= last && !(last == u32::MAX && seq == 1))
        {
            return Err(refuse(412, "SEQ not larger than the last"));
        }
    }
    while buf.len() < head_end + length {
        let want = head_end + length - buf.len();
        read_some(stream, &mut buf, deadline, want)?;
    }
    let body = std::str::from_utf8(&buf[head_end..head_end + length]).map_err(|_| refuse(400, "body is not UTF-8"))?;
    let variables = parse_propertyset(body).map_err(|_| refuse(400, "not a valid propertyset"))?;
    let mut expect = shared.lock();
    // Checked again: another NOTIFY may have been accepted meanwhile (they are served one at a
    // time, so only a re-subscription can have changed it).
    if expect.sid.as_deref() != Some(sid.as_str()) {
        return Err(refuse(412, "not our SID"));
    }
    expect.last_seq = Some(seq);
    Ok(GatewayEvent::Notify { seq, variables })
}

fn read_some(stream: &mut TcpStream, buf: &mut Vec<u8>, deadline: Instant, max: usize) -> Result<(), Refusal> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(refuse(0, "too slow"));
    }
    let _ = stream.set_read_timeout(Some(left));
    let mut chunk = [0u8; 4096];
    let max = max.clamp(1, chunk.len());
    match stream.read(&mut chunk[..max]) {
        Ok(0) => Err(refuse(0, "closed mid-request")),
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            Ok(())
        }
        Err(_) => Err(refuse(0, "too slow or closed")),
    }
}

/// The names of the variables in a GENA propertyset.
fn parse_propertyset(body: &str) -> Result<Vec<String>, String> {
    let doc = xml::parse(body)?;
    let root = doc.root_element();
    if root.tag_name().name() != "propertyset" {
        return Err("not a propertyset".to_owned());
    }
    Ok(root
        .children()
        .filter(|n| n.is_element() && n.tag_name().name() == "property")
        .flat_map(|p| p.children().filter(|n| n.is_element()))
        .map(|n| n.tag_name().name().to_owned())
        .take(64)
        .collect())
}

struct Control {
    stop: bool,
    resubscribe: bool,
}

/// A subscription to the gateway's WAN connection events: renewed at half its timeout (or
/// made anew when the router forgot it), cancelled with UNSUBSCRIBE when dropped.
pub struct Subscription {
    listener: Arc<NotifyListener>,
    sid: Arc<Mutex<Option<String>>>,
    control: Arc<(Mutex<Control>, Condvar)>,
    thread: Option<JoinHandle<()>>,
    event_url: String,
    request_timeout: Duration,
}

impl Subscription {
    /// Subscribes to `gateway`'s WAN connection events; `on_event` gets every valid NOTIFY and
    /// every change of the subscription. Fails when the description has no event URL, the
    /// router refuses, or no local address reaches it.
    pub fn start(
        gateway: &Gateway,
        options: &EventOptions,
        on_event: impl Fn(GatewayEvent) + Send + Sync + 'static,
    ) -> Result<Subscription, UpnpError> {
        let event_url = gateway
            .description()
            .event_sub_url
            .clone()
            .ok_or_else(|| UpnpError::Malformed {
                action: "the device description".to_owned(),
                reason: "the WAN connection service has no eventSubURL".to_owned(),
            })?;
        let router = gateway.addr();
        let local = match options.callback_ip {
            Some(ip) => ip,
            None => crate::host::local_address_towards(router)
                .map_err(|e| UpnpError::Search { reason: e.to_string() })?
                .ip
                .into(),
        };
        let sink: Sink = Arc::new(on_event);
        let listener = Arc::new(
            NotifyListener::bind_shared(local, router.ip(), options, Arc::clone(&sink)).map_err(|e| {
                UpnpError::Search {
                    reason: format!("cannot listen for events on {local}: {e}"),
                }
            })?,
        );
        let callback = listener.callback_url();
        listener.set_subscribing(true);
        let (sid, timeout) = match subscribe_new(&event_url, &callback, options) {
            Ok(granted) => granted,
            Err(err) => {
                listener.set_subscribing(false);
                return Err(err);
            }
        };
        tracing::info!(%sid, ?timeout, url = %event_url, %callback, "subscribed to the gateway's events");
        // Reported before the listener takes the SID, so `Subscribed` comes before its NOTIFYs.
        sink(GatewayEvent::Subscribed {
            sid: sid.clone(),
            timeout,
            fresh: true,
        });
        listener.expect_sid(Some(sid.clone()));
        let sid = Arc::new(Mutex::new(Some(sid)));
        let control = Arc::new((
            Mutex::new(Control {
                stop: false,
                resubscribe: false,
            }),
            Condvar::new(),
        ));
        let renewer = Renewer {
            listener: Arc::clone(&listener),
            sid: Arc::clone(&sid),
            control: Arc::clone(&control),
            event_url: event_url.clone(),
            callback,
            options: options.clone(),
            sink,
        };
        let thread = std::thread::Builder::new()
            .name("gena-renew".to_owned())
            .spawn(move || renewer.run(timeout))
            .map_err(|e| UpnpError::Search { reason: e.to_string() })?;
        Ok(Subscription {
            listener,
            sid,
            control,
            thread: Some(thread),
            event_url,
            request_timeout: options.request_timeout,
        })
    }

    /// The subscription ID held now (`None` while lost).
    pub fn sid(&self) -> Option<String> {
        self.sid.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The callback URL given to the router.
    pub fn callback_url(&self) -> String {
        self.listener.callback_url()
    }

    /// Requests refused by the listener so far.
    pub fn rejected(&self) -> usize {
        self.listener.rejected()
    }

    /// Subscribes anew now (the router restarted and forgot us); reported as `Subscribed`.
    pub fn resubscribe(&self) {
        let (lock, wake) = &*self.control;
        lock.lock().unwrap_or_else(PoisonError::into_inner).resubscribe = true;
        wake.notify_all();
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let (lock, wake) = &*self.control;
        lock.lock().unwrap_or_else(PoisonError::into_inner).stop = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        if let Some(sid) = self.sid() {
            match gena(
                &self.event_url,
                "UNSUBSCRIBE",
                &[("SID", sid.as_str())],
                self.request_timeout,
            ) {
                Ok(_) => tracing::info!(%sid, "unsubscribed from the gateway's events"),
                Err(err) => tracing::debug!(%sid, %err, "UNSUBSCRIBE failed"),
            }
        }
    }
}

struct Renewer {
    listener: Arc<NotifyListener>,
    sid: Arc<Mutex<Option<String>>>,
    control: Arc<(Mutex<Control>, Condvar)>,
    event_url: String,
    callback: String,
    options: EventOptions,
    sink: Sink,
}

impl Renewer {
    fn run(&self, mut granted: Duration) {
        loop {
            let wait = (granted / 2).max(Duration::from_secs(1));
            let resubscribe = {
                let (lock, wake) = &*self.control;
                let mut control = lock.lock().unwrap_or_else(PoisonError::into_inner);
                let until = Instant::now() + wait;
                while !control.stop && !control.resubscribe && Instant::now() < until {
                    let left = until.saturating_duration_since(Instant::now());
                    control = wake
                        .wait_timeout(control, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
                if control.stop {
                    return;
                }
                std::mem::take(&mut control.resubscribe)
            };
            let held = self.sid.lock().unwrap_or_else(PoisonError::into_inner).clone();
            let renewed = match (&held, resubscribe) {
                (Some(sid), false) => renew(&self.event_url, sid, &self.options).ok(),
                _ => None,
            };
            if let (Some(timeout), Some(sid)) = (renewed, held.clone()) {
                granted = timeout;
                (self.sink)(GatewayEvent::Subscribed {
                    sid,
                    timeout,
                    fresh: false,
                });
                continue;
            }
            // Renewal refused (412: the router restarted) or asked for: subscribe anew.
            if let Some(old) = held.as_deref()
                && resubscribe
            {
                let _ = gena(
                    &self.event_url,
                    "UNSUBSCRIBE",
                    &[("SID", old)],
                    self.options.request_timeout,
                );
            }
            self.listener.set_subscribing(true);
            match subscribe_new(&self.event_url, &self.callback, &self.options) {
                Ok((sid, timeout)) => {
                    *self.sid.lock().unwrap_or_else(PoisonError::into_inner) = Some(sid.clone());
                    granted = timeout;
                    tracing::info!(%sid, "subscribed to the gateway's events again");
                    (self.sink)(GatewayEvent::Subscribed {
                        sid: sid.clone(),
                        timeout,
                        fresh: true,
                    });
                    self.listener.expect_sid(Some(sid));
                }
                Err(err) => {
                    self.listener.expect_sid(None);
                    *self.sid.lock().unwrap_or_else(PoisonError::into_inner) = None;
                    granted = Duration::from_secs(60);
                    (self.sink)(GatewayEvent::Lost {
                        reason: err.to_string(),
                    });
                }
            }
        }
    }
}

fn subscribe_new(event_url: &str, callback: &str, options: &EventOptions) -> Result<(String, Duration), UpnpError> {
    let callback = format!("<{callback}>");
    let timeout = format!("Second-{}", options.requested_timeout.as_secs().max(1));
    let headers = gena(
        event_url,
        "SUBSCRIBE",
        &[
            ("CALLBACK", callback.as_str()),
            ("NT", "upnp:event"),
            ("TIMEOUT", timeout.as_str()),
        ],
        options.request_timeout,
    )?;
    let sid = header(&headers, "SID")
        .filter(|s| !s.is_empty() && s.len() <= 256)
        .ok_or_else(|| UpnpError::Malformed {
            action: "SUBSCRIBE".to_owned(),
            reason: "the answer has no SID".to_owned(),
        })?;
    Ok((sid, granted_timeout(header(&headers, "TIMEOUT").as_deref(), options)))
}

fn renew(event_url: &str, sid: &str, options: &EventOptions) -> Result<Duration, UpnpError> {
    let timeout = format!("Second-{}", options.requested_timeout.as_secs().max(1));
    let headers = gena(
        event_url,
        "SUBSCRIBE",
        &[("SID", sid), ("TIMEOUT", timeout.as_str())],
        options.request_timeout,
    )?;
    Ok(granted_timeout(header(&headers, "TIMEOUT").as_deref(), options))
}

/// The router's TIMEOUT answer; what we asked for when it is missing or odd, and never below
/// 2 s (renewing every second would hammer it).
fn granted_timeout(value: Option<&str>, options: &EventOptions) -> Duration {
    let secs = value
        .and_then(|v| {
            v.trim()
                .get(7..)
                .filter(|_| v.trim()[..7].eq_ignore_ascii_case("second-"))
        })
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(options.requested_timeout.as_secs());
    Duration::from_secs(secs.clamp(2, 86_400))
}

fn header(headers: &[(String, String)], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}

/// One GENA request; the answer's headers when it is 200.
fn gena(
    url: &str,
    method: &str,
    headers: &[(&str, &str)],
    timeout: Duration,
) -> Result<Vec<(String, String)>, UpnpError> {
    let agent = ureq::AgentBuilder::new()
        .timeout(timeout)
        .redirects(0)
        .try_proxy_from_env(false)
        .user_agent(concat!("PortForward/", env!("CARGO_PKG_VERSION"), " UPnP/1.1"))
        .build();
    let mut request = agent.request(method, url);
    for (name, value) in headers {
        request = request.set(name, value);
    }
    let unreachable = |failure| UpnpError::Unreachable {
        url: url.to_owned(),
        failure,
    };
    match request.call() {
        Ok(response) => Ok(response
            .headers_names()
            .into_iter()
            .filter_map(|name| response.header(&name).map(|v| (name.clone(), v.to_owned())))
            .collect()),
        Err(ureq::Error::Status(status, _)) => Err(unreachable(HttpFailure::Status(status))),
        Err(ureq::Error::Transport(transport)) => Err(unreachable(HttpFailure::Refused(transport.to_string()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_propertyset_gives_variable_names_only_and_dtds_are_refused() {
        let body = "<?xml version=\"1.0\"?><e:propertyset xmlns:e=\"urn:schemas-upnp-org:event-1-0\">\
            <e:property><PortMappingNumberOfEntries>3</PortMappingNumberOfEntries></e:property>\
            <e:property><ExternalIPAddress>1.2.3.4</ExternalIPAddress></e:property></e:propertyset>";
        assert_eq!(
            parse_propertyset(body).unwrap(),
            ["PortMappingNumberOfEntries", "ExternalIPAddress"]
        );
        assert!(parse_propertyset("<!DOCTYPE a [<!ENTITY x \"y\">]><propertyset/>").is_err());
        assert!(parse_propertyset("<other/>").is_err());
    }

    #[test]
    fn granted_timeouts_are_bounded() {
        let options = EventOptions::default();
        assert_eq!(
            granted_timeout(Some("Second-1800"), &options),
            Duration::from_secs(1800)
        );
        assert_eq!(granted_timeout(Some("Second-0"), &options), Duration::from_secs(2));
        assert_eq!(granted_timeout(Some("infinite"), &options), Duration::from_secs(300));
        assert_eq!(granted_timeout(None, &options), Duration::from_secs(300));
    }
}
