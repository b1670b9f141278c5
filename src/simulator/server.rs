//! The HTTP side of the gateway: accept loop, a thread per connection, routing, and fault delivery.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::Shared;
use super::actions;
use super::events;
use super::faults::{self, Fault, HUGE_DESCRIPTION_BYTES};
use super::http::{self, Body, ReadError, Request, Response};
use super::pinholes;
use super::soap;
use super::xml;

/// The most connections served at once; more are closed on arrival (each has a thread).
const MAX_CONNECTIONS: usize = 256;

/// How long a connection thread blocks in one read or write before it checks whether the gateway
/// was killed or dropped. Waking a blocked socket call from another thread with `shutdown` works
/// on Linux but not on Windows (rust-lang/rust#121594), so no thread relies on it: the latency of
/// a kill or drop is bounded by this tick on every platform.
const IO_TICK: Duration = Duration::from_millis(50);

/// Starts the thread that accepts connections for one life (`generation`) of the gateway.
pub(crate) fn spawn_acceptor(
    shared: &Arc<Shared>,
    listener: TcpListener,
    generation: u64,
) -> io::Result<JoinHandle<()>> {
    let shared = Arc::clone(shared);
    thread::Builder::new()
        .name("sim-accept".to_string())
        .spawn(move || accept_loop(&shared, &listener, generation))
}

/// Unblocks the acceptor's `accept` after a kill (it then sees it is dead and exits).
pub(crate) fn wake_acceptor(port: u16) {
    wake_acceptor_at(SocketAddr::from(([127, 0, 0, 1], port)));
}

/// [`wake_acceptor`] for the listener at `address` (the one on [::1]).
pub(crate) fn wake_acceptor_at(address: SocketAddr) {
    let _ = TcpStream::connect_timeout(&address, Duration::from_secs(1));
}

fn accept_loop(shared: &Arc<Shared>, listener: &TcpListener, generation: u64) {
    loop {
        let accepted = listener.accept();
        let mut state = shared.lock();
        if state.is_dead(generation) {
            return;
        }
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "simulated gateway: accept failed");
                continue;
            }
        };
        state.accepted += 1;
        if state.conns.len() >= MAX_CONNECTIONS {
            drop(state);
            tracing::warn!(%peer, "simulated gateway: too many connections, closing a new one");
            continue;
        }
        let Ok(handle) = stream.try_clone() else {
            continue;
        };
        let id = state.next_conn;
        state.next_conn += 1;
        state.conns.insert(id, handle);
        // Handles of finished connections need no join; keep the list short.
        state.threads.retain(|thread| !thread.is_finished());
        let conn_shared = Arc::clone(shared);
        let spawned = thread::Builder::new()
            .name("sim-conn".to_string())
            .spawn(move || serve_connection(&conn_shared, stream, peer, id, generation));
        match spawned {
            Ok(thread) => state.threads.push(thread),
            Err(error) => {
                state.conns.remove(&id);
                tracing::warn!(%error, "simulated gateway: could not start a connection thread");
            }
        }
    }
}

/// Removes the connection from the shared list however its thread ends.
struct Registration<'a> {
    shared: &'a Shared,
    id: u64,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.shared.lock().conns.remove(&self.id);
    }
}

/// What to do with a request.
enum Outcome {
    Reply {
        response: Response,
        delivery: Delivery,
        /// Close after replying even if the client wants keep-alive.
        close: bool,
    },
    /// Keep reading, never answer ([`Fault::NeverAnswer`]).
    NeverAnswer,
    /// Close without a reply (the gateway stopped while the request waited).
    Hangup,
    /// Close without a reply and kill the gateway ([`Fault::ListCrashes`]).
    Crash,
}

/// How a reply goes out on the wire.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Delivery {
    Normal,
    Drip,
    CloseMidResponse,
}

fn reply(response: Response) -> Outcome {
    Outcome::Reply {
        response,
        delivery: Delivery::Normal,
        close: false,
    }
}

fn reply_and_close(response: Response) -> Outcome {
    Outcome::Reply {
        response,
        delivery: Delivery::Normal,
        close: true,
    }
}

/// A connection's socket whose reads and writes give up once the gateway's life ends.
///
/// Each call blocks at most [`IO_TICK`] at a time and, between ticks, checks the generation: a
/// thread blocked on a client that never sends, or never reads, ends when the gateway is killed or
/// dropped, on every platform.
struct Conn<'a> {
    stream: TcpStream,
    shared: &'a Shared,
    generation: u64,
}

impl Conn<'_> {
    /// The error a read or write ends with once the gateway is dead (or the tick could not be set).
    fn stopped() -> io::Error {
        io::Error::other("gateway stopped")
    }

    /// True for a timed-out tick (Unix reports `WouldBlock`, Windows `TimedOut`).
    fn is_tick(error: &io::Error) -> bool {
        matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
    }

    fn alive(&self) -> bool {
        !self.shared.lock().is_dead(self.generation)
    }
}

impl Read for Conn<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.stream.read(buf) {
                Err(error) if Self::is_tick(&error) || error.kind() == io::ErrorKind::Interrupted => {
                    if !self.alive() {
                        return Err(Self::stopped());
                    }
                }
                other => return other,
            }
        }
    }
}

impl Write for Conn<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        loop {
            match self.stream.write(buf) {
                // A timed-out send wrote nothing (a partial one returns its count): try again.
                Err(error) if Self::is_tick(&error) || error.kind() == io::ErrorKind::Interrupted => {
                    if !self.alive() {
                        return Err(Self::stopped());
                    }
                }
                other => return other,
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

fn serve_connection(shared: &Arc<Shared>, stream: TcpStream, peer: SocketAddr, id: u64, generation: u64) {
    let _registration = Registration { shared, id };
    let _ = stream.set_nodelay(true);
    if stream.set_read_timeout(Some(IO_TICK)).is_err() || stream.set_write_timeout(Some(IO_TICK)).is_err() {
        tracing::warn!(%peer, "simulated gateway: cannot bound socket waits, closing the connection");
        return;
    }
    let mut stream = Conn {
        stream,
        shared,
        generation,
    };
    let mut buf = Vec::new();
    loop {
        let outcome = match http::read_request(&mut stream, &mut buf) {
            Ok(Some(request)) => {
                if shared.lock().is_dead(generation) {
                    break;
                }
                let keep_alive = request.keep_alive();
                match route(shared, &request, peer, generation) {
                    Outcome::Reply {
                        response,
                        delivery,
                        close,
                    } => Outcome::Reply {
                        response,
                        delivery,
                        close: close || !keep_alive,
                    },
                    other => other,
                }
            }
            Ok(None) | Err(ReadError::Closed) => break,
            Err(ReadError::Malformed(why)) => {
                tracing::debug!(why, "simulated gateway: bad request");
                reply_and_close(Response::error(400, "Bad Request"))
            }
            Err(ReadError::TooLarge) => reply_and_close(Response::error(413, "Payload Too Large")),
            Err(ReadError::Unsupported) => reply_and_close(Response::error(501, "Not Implemented")),
        };
        match outcome {
            Outcome::Reply {
                response,
                delivery,
                close,
            } => {
                let sent = deliver(shared, &mut stream, &response, !close, delivery, generation);
                if sent.is_err() || close {
                    break;
                }
            }
            Outcome::NeverAnswer => {
                drain(&mut stream);
                break;
            }
            Outcome::Hangup => break,
            Outcome::Crash => {
                tracing::debug!("simulated gateway: crashing on a list request");
                shared.kill();
                break;
            }
        }
    }
    let _ = stream.stream.shutdown(Shutdown::Both);
}

/// Reads and discards until the client hangs up or the gateway stops.
fn drain(stream: &mut Conn<'_>) {
    let mut sink = [0u8; 4096];
    loop {
        match stream.read(&mut sink) {
            Ok(0) => return,
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

fn deliver(
    shared: &Shared,
    stream: &mut Conn<'_>,
    response: &Response,
    keep_alive: bool,
    delivery: Delivery,
    generation: u64,
) -> io::Result<()> {
    let head = response.head(keep_alive, &shared.config.server);
    match delivery {
        Delivery::Normal => {
            if let Body::Full(bytes) = &response.body {
                // One write, so a small reply is one segment.
                let mut all = head;
                all.extend_from_slice(bytes);
                stream.write_all(&all)
            } else {
                stream.write_all(&head)?;
                response.body.stream(u64::MAX, |chunk| stream.write_all(chunk))
            }
        }
        Delivery::CloseMidResponse => {
            stream.write_all(&head)?;
            response
                .body
                .stream(response.body.len() / 2, |chunk| stream.write_all(chunk))?;
            Err(io::Error::other("closed mid-response by fault"))
        }
        Delivery::Drip => {
            stream.write_all(&head)?;
            response.body.stream(u64::MAX, |chunk| {
                for byte in chunk {
                    stream.write_all(std::slice::from_ref(byte))?;
                    if !shared.pause(generation, Duration::from_secs(1)) {
                        return Err(io::Error::other("gateway stopped"));
                    }
                }
                Ok(())
            })
        }
    }
}

/// Which service a control request is for.
#[derive(Clone, Copy)]
enum Endpoint {
    WanConnection,
    CommonInterface,
    /// WANIPv6FirewallControl (served in IGD:1 mode too, like miniupnpd, which dispatches on
    /// the action whatever the path).
    Firewall,
}

fn route(shared: &Shared, request: &Request, peer: SocketAddr, generation: u64) -> Outcome {
    let config = &shared.config;
    let path = request.path.as_str();
    match request.method.as_str() {
        "GET" => get(shared, path),
        "POST" if path == xml::control_path(config) => {
            control(shared, request, peer, generation, Endpoint::WanConnection)
        }
        "POST" if path == xml::COMMON_CONTROL_PATH && config.common_interface => {
            control(shared, request, peer, generation, Endpoint::CommonInterface)
        }
        "POST" if path == pinholes::CONTROL_PATH => control(shared, request, peer, generation, Endpoint::Firewall),
        "POST" => reply(Response::error(404, "Not Found")),
        "SUBSCRIBE" if path == xml::event_path(config) => reply(events::subscribe(shared, request)),
        "UNSUBSCRIBE" if path == xml::event_path(config) => reply(events::unsubscribe(shared, request)),
        "SUBSCRIBE" | "UNSUBSCRIBE" => reply(Response::error(404, "Not Found")),
        _ => reply_and_close(Response::error(501, "Not Implemented")),
    }
}

fn get(shared: &Shared, path: &str) -> Outcome {
    let config = &shared.config;
    if path == xml::DESCRIPTION_PATH {
        let document = xml::description(config, &shared.uuid);
        if shared.lock().faults.contains(&Fault::DescriptionTooLarge) {
            let prefix = faults::huge_description_prefix(&document);
            let padding = HUGE_DESCRIPTION_BYTES.saturating_sub(prefix.len() as u64);
            return reply(Response {
                status: 200,
                reason: "OK",
                body: Body::Padded { prefix, padding },
                headers: Vec::new(),
            });
        }
        reply(Response::xml(200, "OK", document.into_bytes()))
    } else if path == xml::scpd_path(config) {
        reply(Response::xml(200, "OK", xml::wan_scpd(config).into_bytes()))
    } else if path == pinholes::SCPD_PATH && config.igd_version >= 2 {
        reply(Response::xml(200, "OK", pinholes::scpd().into_bytes()))
    } else if path == xml::COMMON_SCPD_PATH {
        reply(Response::xml(200, "OK", xml::common_scpd().into_bytes()))
    } else {
        reply(Response::error(404, "Not Found"))
    }
}

fn control(shared: &Shared, request: &Request, peer: SocketAddr, generation: u64, endpoint: Endpoint) -> Outcome {
    let call = soap::parse_call(&request.body);
    let name = match &call {
        Ok(call) => Some(call.action.clone()),
        Err(_) => request.header("soapaction").and_then(soap::header_action),
    };
    let active = {
        let mut state = shared.lock();
        state.actions.extend(name);
        state.faults.clone()
    };
    let call = match call {
        Ok(call) => call,
        Err(why) => {
            tracing::debug!(why, "simulated gateway: unreadable SOAP request");
            return reply_and_close(Response::error(400, "Bad Request"));
        }
    };
    if active.contains(&Fault::NeverAnswer) {
        return Outcome::NeverAnswer;
    }
    if !shared.wait_while_held(generation) {
        return Outcome::Hangup;
    }
    let outcome = {
        let mut state = shared.lock();
        if state.is_dead(generation) {
            return Outcome::Hangup;
        }
        let before = state.table.entries().len();
        let outcome = match endpoint {
            Endpoint::WanConnection => actions::execute(&shared.config, &mut state, &call, peer.ip(), Instant::now()),
            Endpoint::CommonInterface => actions::execute_common(&call, &state, Instant::now()),
            Endpoint::Firewall => {
                let now = Instant::now();
                let uptime = now.saturating_duration_since(state.started);
                actions::Outcome::Reply(state.pinholes.execute(&call, peer.ip(), now, uptime))
            }
        };
        // miniupnpd events a change in the number of mappings (not a replace).
        if state.table.entries().len() != before {
            events::changed(shared, &mut state);
        }
        outcome
    };
    let result = match outcome {
        actions::Outcome::Reply(result) => result,
        actions::Outcome::Crash => return Outcome::Crash,
    };
    let service_type = match endpoint {
        Endpoint::WanConnection => xml::service_type(&shared.config),
        Endpoint::CommonInterface => xml::COMMON_SERVICE_TYPE.to_string(),
        Endpoint::Firewall => pinholes::SERVICE_TYPE.to_string(),
    };
    let laughs = active.contains(&Fault::BillionLaughs);
    let (status, reason, mut body) = match result {
        Ok(args) => (200, "OK", soap::response(&service_type, &call.action, &args, laughs)),
        Err(error) => (
            500,
            "Internal Server Error",
            soap::fault(error.code, &error.description, laughs),
        ),
    };
    if active.contains(&Fault::MalformedXml) {
        body = faults::malformed(&body);
    }
    for fault in &active {
        if let Fault::SlowReplies { millis } = fault
            && !shared.pause(generation, Duration::from_millis(*millis))
        {
            return Outcome::Hangup;
        }
    }
    let body = match active.iter().find_map(|fault| match fault {
        Fault::HugeBody { bytes } => Some(*bytes as u64),
        _ => None,
    }) {
        Some(padding) => Body::Padded {
            prefix: faults::huge_prefix(&body),
            padding,
        },
        None => Body::Full(body),
    };
    let delivery = if active.contains(&Fault::CloseMidResponse) {
        Delivery::CloseMidResponse
    } else if active.contains(&Fault::Drip) {
        Delivery::Drip
    } else {
        Delivery::Normal
    };
    Outcome::Reply {
        response: Response {
            status,
            reason,
            body,
            headers: Vec::new(),
        },
        delivery,
        close: false,
    }
}
