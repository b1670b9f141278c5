//! A simulated NAT-PMP (RFC 6886) and PCP (RFC 6887) server on a loopback address, answering
//! like miniupnpd: mappings by internal port, PCP removals only with the nonce that made them,
//! and without an external address NAT-PMP's result 3 ("network failure") and PCP's 8 ("no
//! resources", as miniupnpd 2.3 answers).
//!
//! Both protocols fix the server port at 5351, so each simulated server takes its own loopback
//! address (127.0.0.0/8 is all loopback on Linux); tests running in parallel use different ones.
//!
//! On `::1` it answers PCP MAP over IPv6 as miniupnpd does for pinholes: the client field must
//! be the source address (else 12, ADDRESS_MISMATCH), the external port and address are the
//! internal ones, lifetimes under 120 s are raised to 120; NAT-PMP (IPv4 only) is not answered.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The port both protocols use.
const PORT: u16 = 5351;

/// How the simulated server behaves.
#[derive(Clone, Debug)]
pub struct PortControlSimConfig {
    /// Whether it speaks PCP (else it answers PCP requests "NAT-PMP only", as RFC 6887 asks).
    pub pcp: bool,
    /// Whether it speaks NAT-PMP.
    pub natpmp: bool,
    /// The WAN address; `None` models a router without one (carrier-grade NAT): mapping
    /// requests get "network failure".
    pub external_ip: Option<Ipv4Addr>,
    /// A PCP result code to answer every MAP request over IPv6 with (e.g. 2, NOT_AUTHORIZED);
    /// `None` to serve them.
    pub ipv6_refusal: Option<u8>,
}

impl Default for PortControlSimConfig {
    fn default() -> PortControlSimConfig {
        PortControlSimConfig {
            pcp: true,
            natpmp: true,
            external_ip: Some(Ipv4Addr::new(203, 0, 113, 7)),
            ipv6_refusal: None,
        }
    }
}

/// One mapping held by the simulated server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimPortControlMapping {
    /// "NAT-PMP" or "PCP".
    pub via: &'static str,
    /// 6 (TCP) or 17 (UDP).
    pub protocol: u8,
    /// The client's port.
    pub internal_port: u16,
    /// The router's port.
    pub external_port: u16,
    /// The client that asked.
    pub client: IpAddr,
    /// The lifetime granted, in seconds.
    pub lifetime: u32,
    /// PCP's nonce (zero for NAT-PMP).
    pub nonce: [u8; 12],
}

struct Shared {
    config: PortControlSimConfig,
    mappings: Mutex<Vec<SimPortControlMapping>>,
    stop: AtomicBool,
    started: Instant,
}

/// A NAT-PMP/PCP server on `ip:5351`; dropping it stops its thread.
pub struct SimulatedPortControl {
    shared: Arc<Shared>,
    addr: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl SimulatedPortControl {
    /// Starts answering on `ip:5351`; `ip` must be a loopback address (`::1` for PCP over
    /// IPv6).
    pub fn start(ip: impl Into<IpAddr>, config: PortControlSimConfig) -> std::io::Result<SimulatedPortControl> {
        let ip = ip.into();
        assert!(
            ip.is_loopback(),
            "the simulated NAT-PMP server binds loopback addresses only"
        );
        let socket = UdpSocket::bind((ip, PORT))?;
        socket.set_read_timeout(Some(Duration::from_millis(50)))?;
        let shared = Arc::new(Shared {
            config,
            mappings: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            started: Instant::now(),
        });
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("sim-port-control".to_owned())
            .spawn(move || serve(&socket, &thread_shared))?;
        Ok(SimulatedPortControl {
            shared,
            addr: SocketAddr::from((ip, PORT)),
            thread: Some(thread),
        })
    }

    /// The address it answers on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The mappings it holds now.
    pub fn mappings(&self) -> Vec<SimPortControlMapping> {
        self.shared
            .mappings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for SimulatedPortControl {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(socket: &UdpSocket, shared: &Shared) {
    let mut buffer = [0u8; 1100];
    while !shared.stop.load(Ordering::Acquire) {
        let Ok((n, from)) = socket.recv_from(&mut buffer) else {
            continue;
        };
        let reply = match (buffer.first(), from.ip()) {
            (Some(0), IpAddr::V4(client)) => natpmp(&buffer[..n], client, shared),
            (Some(2), client) => pcp(&buffer[..n], client, shared),
            _ => None,
        };
        if let Some(reply) = reply {
            let _ = socket.send_to(&reply, from);
        }
    }
}

fn epoch(shared: &Shared) -> u32 {
    shared.started.elapsed().as_secs() as u32
}

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Vec<SimPortControlMapping>> {
    shared.mappings.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A NAT-PMP answer: version 0, opcode | 0x80, result, epoch, then the body.
fn natpmp_reply(op: u8, result: u16, shared: &Shared, body: &[u8]) -> Vec<u8> {
    let mut reply = vec![0, op | 0x80];
    reply.extend_from_slice(&result.to_be_bytes());
    reply.extend_from_slice(&epoch(shared).to_be_bytes());
    reply.extend_from_slice(body);
    reply
}

fn natpmp(request: &[u8], client: Ipv4Addr, shared: &Shared) -> Option<Vec<u8>> {
    let op = *request.get(1)?;
    if !shared.config.natpmp {
        return None;
    }
    match op {
        0 => {
            let (result, ip) = match shared.config.external_ip {
                Some(ip) => (0, ip),
                None => (3, Ipv4Addr::UNSPECIFIED),
            };
            Some(natpmp_reply(0, result, shared, &ip.octets()))
        }
        1 | 2 if request.len() >= 12 => {
            let protocol = if op == 1 { 17 } else { 6 };
            let internal_port = u16::from_be_bytes([request[4], request[5]]);
            let suggested = u16::from_be_bytes([request[6], request[7]]);
            let lifetime = u32::from_be_bytes([request[8], request[9], request[10], request[11]]);
            let answer = |result: u16, external: u16, lifetime: u32| {
                let mut body = internal_port.to_be_bytes().to_vec();
                body.extend_from_slice(&external.to_be_bytes());
                body.extend_from_slice(&lifetime.to_be_bytes());
                natpmp_reply(op, result, shared, &body)
            };
            let mut mappings = lock(shared);
            if lifetime == 0 {
                // RFC 6886: removing what does not exist succeeds too.
                mappings.retain(|m| {
                    !(m.client == IpAddr::V4(client)
                        && m.protocol == protocol
                        && m.internal_port == internal_port
                        && m.via == "NAT-PMP")
                });
                return Some(answer(0, 0, 0));
            }
            if shared.config.external_ip.is_none() {
                return Some(answer(3, 0, 0));
            }
            let external = choose_port(&mappings, protocol, client.into(), internal_port, suggested);
            mappings.retain(|m| !(m.protocol == protocol && m.external_port == external));
            mappings.push(SimPortControlMapping {
                via: "NAT-PMP",
                protocol,
                internal_port,
                external_port: external,
                client: client.into(),
                lifetime,
                nonce: [0; 12],
            });
            Some(answer(0, external, lifetime))
        }
        _ => Some(natpmp_reply(op, 5, shared, &[0; 8])),
    }
}

/// The suggested port if free (or already this client's), else the next free one.
fn choose_port(mappings: &[SimPortControlMapping], protocol: u8, client: IpAddr, internal: u16, suggested: u16) -> u16 {
    if client.is_ipv6() {
        // No NAT behind IPv6: the port outside is the port inside.
        return internal;
    }
    let start = if suggested == 0 { internal } else { suggested };
    let taken = |port: u16| {
        mappings.iter().any(|m| {
            m.protocol == protocol && m.external_port == port && !(m.client == client && m.internal_port == internal)
        })
    };
    (0..1000u16)
        .map(|i| start.wrapping_add(i).max(1024))
        .find(|&p| !taken(p))
        .unwrap_or(start)
}

fn pcp(request: &[u8], client: IpAddr, shared: &Shared) -> Option<Vec<u8>> {
    if !shared.config.pcp {
        // RFC 6887 section 9: a NAT-PMP server answers "unsupported version" in NAT-PMP.
        return Some(natpmp_reply(
            request.get(1).copied().unwrap_or(0) & 0x7f,
            1,
            shared,
            &[],
        ));
    }
    if request.len() < 60 || request[1] != 1 {
        return Some(pcp_header(request.get(1).copied().unwrap_or(0), 3, 0, shared));
    }
    let lifetime = u32::from_be_bytes([request[4], request[5], request[6], request[7]]);
    let said_client = Ipv6Addr::from(<[u8; 16]>::try_from(&request[8..24]).ok()?);
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&request[24..36]);
    let protocol = request[36];
    let internal_port = u16::from_be_bytes([request[40], request[41]]);
    let suggested = u16::from_be_bytes([request[42], request[43]]);
    let answer = |result: u8, lifetime: u32, external: u16, ip: IpAddr| {
        let mut reply = pcp_header(1, result, lifetime, shared);
        reply.extend_from_slice(&nonce);
        reply.extend_from_slice(&[protocol, 0, 0, 0]);
        reply.extend_from_slice(&internal_port.to_be_bytes());
        reply.extend_from_slice(&external.to_be_bytes());
        let ip = match ip {
            IpAddr::V4(ip) => ip.to_ipv6_mapped(),
            IpAddr::V6(ip) => ip,
        };
        reply.extend_from_slice(&ip.octets());
        reply
    };
    let none = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    let said_client = said_client.to_ipv4_mapped().map_or(IpAddr::V6(said_client), IpAddr::V4);
    if said_client != client {
        return Some(answer(12, 0, 0, none));
    }
    if client.is_ipv6()
        && let Some(code) = shared.config.ipv6_refusal
    {
        return Some(answer(code, 0, 0, none));
    }
    let mut mappings = lock(shared);
    let existing = mappings
        .iter()
        .position(|m| m.client == client && m.protocol == protocol && m.internal_port == internal_port);
    if lifetime == 0 {
        return Some(match existing {
            Some(i) if mappings[i].nonce != nonce => answer(2, 0, 0, none),
            Some(i) => {
                mappings.remove(i);
                answer(0, 0, 0, none)
            }
            None => answer(8, 0, 0, none),
        });
    }
    // miniupnpd answers "no resources" (8) here, not RFC 6887's "network failure" (7). Over
    // IPv6 the external address is the client's own, and a lifetime is at least 120 s.
    let (external_ip, lifetime) = match (client, shared.config.external_ip) {
        (IpAddr::V6(_), _) => (client, lifetime.max(120)),
        (IpAddr::V4(_), Some(ip)) => (IpAddr::V4(ip), lifetime),
        (IpAddr::V4(_), None) => return Some(answer(8, 0, 0, none)),
    };
    if let Some(i) = existing
        && mappings[i].nonce != nonce
    {
        return Some(answer(2, 0, 0, none));
    }
    let external = choose_port(&mappings, protocol, client, internal_port, suggested);
    mappings.retain(|m| !(m.client == client && m.protocol == protocol && m.internal_port == internal_port));
    mappings.push(SimPortControlMapping {
        via: "PCP",
        protocol,
        internal_port,
        external_port: external,
        client,
        lifetime,
        nonce,
    });
    Some(answer(0, lifetime, external, external_ip))
}

/// A PCP response header: version 2, opcode | 0x80, result, lifetime, epoch, 12 reserved bytes.
fn pcp_header(op: u8, result: u8, lifetime: u32, shared: &Shared) -> Vec<u8> {
    let mut reply = vec![2, op | 0x80, 0, result];
    reply.extend_from_slice(&lifetime.to_be_bytes());
    reply.extend_from_slice(&epoch(shared).to_be_bytes());
    reply.extend_from_slice(&[0; 12]);
    reply
}
