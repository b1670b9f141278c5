//! A simulated UPnP IGD gateway that speaks the real protocol over HTTP on 127.0.0.1.
//!
//! It models a router, not our client: it accepts bad input the way miniupnpd 2.3.1 does
//! (port 70000 becomes 4464, protocol "XYZ" becomes TCP) and can misbehave on demand
//! ([`Fault`]) so the client can be tested against hostile gateways without mocks.
//! It depends on nothing else in the crate, binds 127.0.0.1 only and never sends multicast.
//!
//! ```no_run
//! use portforward::simulator::{SimConfig, SimulatedGateway};
//! let gateway = SimulatedGateway::start(SimConfig::default()).unwrap();
//! println!("description at {}", gateway.description_url());
//! ```

mod actions;
mod events;
mod faults;
mod http;
mod media_server;
mod pinholes;
mod platform;
mod port_control;
mod server;
mod soap;
mod ssdp;
mod table;
#[cfg(test)]
mod tests;
mod xml;

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use faults::Fault;
pub use http::MINIUPNPD_SERVER;
pub use media_server::SimulatedMediaServer;
pub use pinholes::SimPinhole;
pub use platform::{loopback_address_missing, pcp6_unavailable, port_control_unavailable, running_under_wine};
pub use port_control::{PortControlSimConfig, SimPortControlMapping, SimulatedPortControl};

use table::Table;

/// Which WAN connection service the simulated device offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimService {
    /// `WANIPConnection:N` (N = the IGD version), like most routers.
    WanIpConnection,
    /// `WANPPPConnection:1` only, like DSL routers that dial PPPoE themselves.
    WanPppConnection,
}

/// How the simulated gateway presents itself and which rules it applies.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// 1 or 2: the version of the device types and of `WANIPConnection`.
    pub igd_version: u8,
    /// The WAN connection service in the description.
    pub service: SimService,
    /// miniupnpd's `secure_mode`: a host may only map and delete for itself.
    pub secure_mode: bool,
    /// The WAN address; empty models carrier-grade NAT (adding answers 501).
    pub external_ip: String,
    /// `friendlyName` in the device description.
    pub friendly_name: String,
    /// `manufacturer` in the device description.
    pub manufacturer: String,
    /// `modelName` in the device description.
    pub model_name: String,
    /// Quirk: any finite lease is refused with 725.
    pub only_permanent_leases: bool,
    /// Quirk: lease 0 is refused with 402.
    pub refuse_permanent_lease: bool,
    /// miniupnpd's default permission rules: an external or internal port below 1024 gives 606.
    pub protect_low_ports: bool,
    /// The most entries one `GetListOfPortMappings` call returns (0 = no limit).
    pub list_page_limit: usize,
    /// The `Server` header of every HTTP reply and SSDP answer. miniupnpd's by default;
    /// PortForward trusts a router naming MiniUPnPd to return every entry asked for, so a
    /// gateway with a smaller `list_page_limit` should name other software.
    pub server: String,
    /// The HTTP port to bind on 127.0.0.1; `None` picks a free one.
    pub http_port: Option<u16>,
    /// Whether the WAN connection service accepts event subscriptions (GENA); without, a
    /// SUBSCRIBE answers 501 like a router that does not event.
    pub eventing: bool,
    /// Whether the WANDevice offers WANCommonInterfaceConfig (link properties, traffic
    /// counters) and the device an admin page (`presentationURL`); without, like routers that
    /// leave both out.
    pub common_interface: bool,
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            igd_version: 2,
            service: SimService::WanIpConnection,
            secure_mode: false,
            external_ip: "203.0.113.7".to_string(),
            friendly_name: "Simulated gateway".to_string(),
            manufacturer: "MiniUPnP".to_string(),
            model_name: "MiniUPnPd".to_string(),
            only_permanent_leases: false,
            refuse_permanent_lease: false,
            protect_low_ports: true,
            list_page_limit: 1000,
            server: MINIUPNPD_SERVER.to_string(),
            http_port: None,
            eventing: true,
            common_interface: true,
        }
    }
}

/// One row of the gateway's port-mapping table, with the router's own (unvalidated) values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimMapping {
    /// The remote host the mapping is restricted to; empty for any.
    pub remote_host: String,
    /// The port opened on the WAN side.
    pub external_port: u16,
    /// "TCP" or "UDP" (stored as given by [`SimulatedGateway::insert`]).
    pub protocol: String,
    /// The port on the LAN host.
    pub internal_port: u16,
    /// The LAN host the traffic goes to.
    pub internal_client: String,
    /// Whether the mapping is active.
    pub enabled: bool,
    /// Free text set by the application.
    pub description: String,
    /// On insert: the lease in seconds, 0 = permanent. Read back: the seconds remaining (0 = permanent).
    pub lease_seconds: u32,
}

impl SimMapping {
    /// A permanent, enabled mapping of `external_port` to the same port on `internal_client`,
    /// for any remote host; change the other fields with struct update syntax.
    ///
    /// ```
    /// use portforward::simulator::SimMapping;
    /// let web = SimMapping { description: "web".into(), ..SimMapping::new(8080, "TCP", "192.168.1.20") };
    /// assert_eq!(web.internal_port, 8080);
    /// ```
    pub fn new(external_port: u16, protocol: &str, internal_client: &str) -> SimMapping {
        SimMapping {
            remote_host: String::new(),
            external_port,
            protocol: protocol.to_owned(),
            internal_port: external_port,
            internal_client: internal_client.to_owned(),
            enabled: true,
            description: String::new(),
            lease_seconds: 0,
        }
    }
}

/// Keeps control requests unanswered while it lives; dropping it releases them.
#[must_use = "the hold ends when the guard is dropped"]
pub struct HoldGuard {
    shared: Arc<Shared>,
}

impl Drop for HoldGuard {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.holds = state.holds.saturating_sub(1);
        drop(state);
        self.shared.wake.notify_all();
    }
}

/// An in-process gateway on 127.0.0.1; dropping it stops every thread it started.
pub struct SimulatedGateway {
    shared: Arc<Shared>,
    ssdp_thread: Option<JoinHandle<()>>,
    notify_thread: Option<JoinHandle<()>>,
}

impl SimulatedGateway {
    /// Starts the HTTP server on 127.0.0.1 (port 0 unless `config.http_port`) and the SSDP responder.
    pub fn start(mut config: SimConfig) -> std::io::Result<SimulatedGateway> {
        config.igd_version = config.igd_version.clamp(1, 2);
        let listener = TcpListener::bind(("127.0.0.1", config.http_port.unwrap_or(0)))?;
        let port = listener.local_addr()?.port();
        // IPv6 pinholes are asked for over IPv6: the same service on [::1] (the same port
        // when free), where IPv6 exists.
        let listener6 = TcpListener::bind(("::1", port))
            .or_else(|_| TcpListener::bind(("::1", 0)))
            .ok();
        let port6 = listener6.as_ref().and_then(|l| l.local_addr().ok()).map(|a| a.port());
        let ssdp_socket = UdpSocket::bind("127.0.0.1:0")?;
        let ssdp_addr = ssdp_socket.local_addr()?;
        let shared = Arc::new(Shared {
            config,
            port,
            port6,
            ssdp_addr,
            uuid: random_uuid(),
            state: Mutex::new(State {
                table: Table::default(),
                faults: Vec::new(),
                list_calls: 0,
                holds: 0,
                actions: Vec::new(),
                accepted: 0,
                started: Instant::now(),
                alive: true,
                dropped: false,
                generation: 0,
                conns: HashMap::new(),
                next_conn: 0,
                threads: Vec::new(),
                acceptor: None,
                pinholes: pinholes::PinholeTable::default(),
                acceptor6: None,
                events: events::Events::default(),
            }),
            wake: Condvar::new(),
        });
        let acceptor = server::spawn_acceptor(&shared, listener, 0)?;
        shared.lock().acceptor = Some(acceptor);
        if let Some(listener6) = listener6 {
            let acceptor6 = server::spawn_acceptor(&shared, listener6, 0)?;
            shared.lock().acceptor6 = Some(acceptor6);
        }
        let ssdp_shared = Arc::clone(&shared);
        let ssdp_thread = std::thread::Builder::new()
            .name("sim-ssdp".to_string())
            .spawn(move || ssdp::serve(ssdp_socket, &ssdp_shared))?;
        let notify_thread = events::spawn_notifier(&shared)?;
        tracing::debug!(port, %ssdp_addr, "simulated gateway started");
        Ok(SimulatedGateway {
            shared,
            ssdp_thread: Some(ssdp_thread),
            notify_thread: Some(notify_thread),
        })
    }

    /// A plausible home router for the product's demo: IGD:2 with a dozen mappings from several apps.
    pub fn demo() -> std::io::Result<SimulatedGateway> {
        SimulatedGateway::demo_with_rows(0)
    }

    /// The demo router with its table padded to `rows` mappings (for trying, and measuring,
    /// the window with a big table: `portforward --demo --demo-rows 10000`).
    pub fn demo_with_rows(rows: usize) -> std::io::Result<SimulatedGateway> {
        let gateway = SimulatedGateway::start(SimConfig {
            friendly_name: "PortForward demo router".to_string(),
            ..SimConfig::default()
        })?;
        let table = demo_table();
        let padding = rows.saturating_sub(table.len()).min(2 * 40_000);
        for mapping in table {
            gateway.insert(mapping);
        }
        for i in 0..padding {
            gateway.insert(SimMapping {
                remote_host: String::new(),
                external_port: 20_000 + (i / 2) as u16,
                protocol: if i % 2 == 0 { "TCP" } else { "UDP" }.to_string(),
                internal_port: 20_000 + (i / 2) as u16,
                internal_client: format!("192.168.1.{}", 100 + i % 50),
                enabled: true,
                description: format!("generated {i}"),
                lease_seconds: if i % 3 == 0 { 0 } else { 3600 },
            });
        }
        Ok(gateway)
    }

    /// The URL of the device description, `http://127.0.0.1:PORT/rootDesc.xml`.
    pub fn description_url(&self) -> String {
        format!("http://127.0.0.1:{}{}", self.shared.port, xml::DESCRIPTION_PATH)
    }

    /// The device description's URL over IPv6, `http://[::1]:PORT/rootDesc.xml` (where the
    /// pinhole service must be reached); `None` if this system has no IPv6 loopback.
    pub fn description_url_v6(&self) -> Option<String> {
        self.shared
            .port6
            .map(|port| format!("http://[::1]:{port}{}", xml::DESCRIPTION_PATH))
    }

    /// The IPv6 pinholes held, with the seconds left on each lease.
    pub fn pinholes(&self) -> Vec<SimPinhole> {
        self.shared.lock().pinholes.list(Instant::now())
    }

    /// Like `packets` packets from outside reaching pinhole `id` (its counter grows, and
    /// CheckPinholeWorking then answers 1); false if there is no such pinhole.
    pub fn pinhole_traffic(&self, id: u16, packets: u64) -> bool {
        self.shared.lock().pinholes.traffic(id, packets, Instant::now())
    }

    /// Seeds the table directly, without the router's rules (replaces an entry with the same port and protocol).
    /// Like a router, a new row (not a replaced one) sends a NOTIFY to event subscribers.
    pub fn insert(&self, mapping: SimMapping) {
        let now = Instant::now();
        let mut state = self.shared.lock();
        let before = state.table.entries().len();
        state.table.upsert(table::Entry::from_mapping(mapping, now));
        if state.table.entries().len() != before {
            events::changed(&self.shared, &mut state);
        }
    }

    /// Live event subscriptions (GENA) to the WAN connection service.
    pub fn subscriptions(&self) -> usize {
        self.shared.lock().events.count(Instant::now())
    }

    /// SUBSCRIBE requests answered 200 so far, new ones and renewals.
    pub fn subscribes_accepted(&self) -> usize {
        self.shared.lock().events.subscribes
    }

    /// NOTIFYs the subscribers answered so far.
    pub fn notifies_delivered(&self) -> usize {
        self.shared.lock().events.delivered
    }

    /// The current table in insertion order, with the seconds remaining on each lease.
    pub fn mappings(&self) -> Vec<SimMapping> {
        let now = Instant::now();
        let mut state = self.shared.lock();
        state.table.purge(now);
        state
            .table
            .entries()
            .iter()
            .map(|entry| entry.to_mapping(now))
            .collect()
    }

    /// Replaces the active faults (and restarts the `ListFailsAfter` count).
    pub fn set_faults(&self, faults: Vec<Fault>) {
        let mut state = self.shared.lock();
        state.faults = faults;
        state.list_calls = 0;
    }

    /// Holds every control request unanswered until the returned guard is dropped.
    pub fn hold(&self) -> HoldGuard {
        self.shared.lock().holds += 1;
        HoldGuard {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Like the daemon dying: closes the listener and every open connection; new connections are refused.
    pub fn kill(&self) {
        self.shared.kill();
    }

    /// Listens again on the same port; `keep_table = false` models a reboot (empty table, uptime from 0).
    pub fn restart(&self, keep_table: bool) {
        self.shared.kill();
        {
            let mut state = self.shared.lock();
            if state.dropped {
                return;
            }
            // Pinhole ids never survive a restart of miniupnpd: numbering starts again.
            state.pinholes.clear();
            if !keep_table {
                state.table.clear();
                state.started = Instant::now();
            }
            // The daemon's subscriptions live in its memory: a restart forgets them.
            state.events.forget();
        }
        let listener = match TcpListener::bind(("127.0.0.1", self.shared.port)) {
            Ok(listener) => listener,
            Err(error) => {
                tracing::error!(port = self.shared.port, %error, "simulated gateway could not listen again");
                return;
            }
        };
        let mut state = self.shared.lock();
        state.alive = true;
        let generation = state.generation;
        drop(state);
        match server::spawn_acceptor(&self.shared, listener, generation) {
            Ok(acceptor) => self.shared.lock().acceptor = Some(acceptor),
            Err(error) => {
                self.shared.lock().alive = false;
                tracing::error!(%error, "simulated gateway could not start its accept thread");
            }
        }
        if let Some(port6) = self.shared.port6 {
            match TcpListener::bind(("::1", port6)).and_then(|l| server::spawn_acceptor(&self.shared, l, generation)) {
                Ok(acceptor6) => self.shared.lock().acceptor6 = Some(acceptor6),
                Err(error) => tracing::error!(port6, %error, "simulated gateway could not listen again on [::1]"),
            }
        }
    }

    /// How many TCP connections the gateway has accepted so far.
    pub fn connections_accepted(&self) -> usize {
        self.shared.lock().accepted
    }

    /// The SOAP action names received so far, in order (including unanswered ones).
    pub fn actions(&self) -> Vec<String> {
        self.shared.lock().actions.clone()
    }

    /// The UDP address on 127.0.0.1 that answers unicast M-SEARCH requests.
    pub fn ssdp_addr(&self) -> SocketAddr {
        self.shared.ssdp_addr
    }
}

impl Drop for SimulatedGateway {
    fn drop(&mut self) {
        self.shared.kill();
        let threads = {
            let mut state = self.shared.lock();
            state.dropped = true;
            std::mem::take(&mut state.threads)
        };
        self.shared.wake.notify_all();
        for thread in threads {
            let _ = thread.join();
        }
        ssdp::wake(self.shared.ssdp_addr);
        if let Some(thread) = self.ssdp_thread.take() {
            let _ = thread.join();
        }
        if let Some(thread) = self.notify_thread.take() {
            let _ = thread.join();
        }
        tracing::debug!(port = self.shared.port, "simulated gateway stopped");
    }
}

/// What every thread of one gateway shares.
pub(crate) struct Shared {
    pub(crate) config: SimConfig,
    pub(crate) port: u16,
    /// The HTTP port on [::1], if IPv6 is there.
    pub(crate) port6: Option<u16>,
    pub(crate) ssdp_addr: SocketAddr,
    /// The UUID of the devices without its last four digits.
    pub(crate) uuid: String,
    pub(crate) state: Mutex<State>,
    /// Signalled when a hold ends, the gateway is killed or dropped.
    pub(crate) wake: Condvar,
}

/// The mutable part of the gateway, behind one lock.
pub(crate) struct State {
    pub(crate) table: Table,
    pub(crate) faults: Vec<Fault>,
    pub(crate) list_calls: usize,
    pub(crate) holds: usize,
    pub(crate) actions: Vec<String>,
    pub(crate) accepted: usize,
    pub(crate) started: Instant,
    /// Listening (false between `kill` and `restart`).
    pub(crate) alive: bool,
    pub(crate) dropped: bool,
    /// Bumped by every kill, so threads of an earlier life know they are dead.
    pub(crate) generation: u64,
    /// A handle on every open connection, so kill and drop can shut them down.
    pub(crate) conns: HashMap<u64, TcpStream>,
    pub(crate) next_conn: u64,
    pub(crate) threads: Vec<JoinHandle<()>>,
    pub(crate) acceptor: Option<JoinHandle<()>>,
    /// The IPv6 pinholes (WANIPv6FirewallControl).
    pub(crate) pinholes: pinholes::PinholeTable,
    /// The accept thread on [::1].
    pub(crate) acceptor6: Option<JoinHandle<()>>,
    pub(crate) events: events::Events,
}

impl State {
    /// Whether a thread started in `generation` must stop.
    pub(crate) fn is_dead(&self, generation: u64) -> bool {
        self.dropped || self.generation != generation
    }
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits `duration` unless the connection's generation dies first; true if still alive.
    pub(crate) fn pause(&self, generation: u64, duration: Duration) -> bool {
        let deadline = Instant::now() + duration;
        let mut state = self.lock();
        loop {
            if state.is_dead(generation) {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            state = self
                .wake
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Waits while a hold is active; true if still alive afterwards.
    pub(crate) fn wait_while_held(&self, generation: u64) -> bool {
        let mut state = self.lock();
        while state.holds > 0 && !state.is_dead(generation) {
            state = self.wake.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
        !state.is_dead(generation)
    }

    /// Stops listening, then shuts down every open connection, so a client that sees its connection
    /// drop finds the port refused. Safe to call from a connection thread.
    pub(crate) fn kill(&self) {
        let (acceptor, acceptor6) = {
            let mut state = self.lock();
            if !state.alive {
                return;
            }
            state.alive = false;
            state.generation += 1;
            state.events.forget();
            (state.acceptor.take(), state.acceptor6.take())
        };
        if let (Some(acceptor6), Some(port6)) = (acceptor6, self.port6) {
            server::wake_acceptor_at(SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port6)));
            let _ = acceptor6.join();
        }
        if let Some(acceptor) = acceptor {
            server::wake_acceptor(self.port);
            let _ = acceptor.join();
        }
        for (_, conn) in self.lock().conns.drain() {
            let _ = conn.shutdown(std::net::Shutdown::Both);
        }
        self.wake.notify_all();
        tracing::debug!(port = self.port, "simulated gateway killed");
    }
}

/// A whole random UUID (subscription IDs).
pub(crate) fn random_uuid_full() -> String {
    format!("{}{:04x}", random_uuid(), fastrand::u16(..))
}

fn random_uuid() -> String {
    let hex = |digits: usize| {
        (0..digits)
            .map(|_| char::from_digit(fastrand::u32(0..16), 16).unwrap_or('0'))
            .collect::<String>()
    };
    // The last four digits number the devices (xml::device_uuid).
    format!("{}-{}-4{}-a{}-{}", hex(8), hex(4), hex(3), hex(3), hex(8))
}

/// The demo router's table: apps on this computer (127.0.0.1, as the router sees the client) and other LAN hosts.
fn demo_table() -> Vec<SimMapping> {
    let row = |external_port: u16,
               protocol: &str,
               internal_client: &str,
               internal_port: u16,
               description: &str,
               lease_seconds: u32| SimMapping {
        remote_host: String::new(),
        external_port,
        protocol: protocol.to_string(),
        internal_port,
        internal_client: internal_client.to_string(),
        enabled: true,
        description: description.to_string(),
        lease_seconds,
    };
    let this_host = "127.0.0.1";
    vec![
        row(32400, "TCP", this_host, 32400, "Plex Media Server", 0),
        row(51413, "TCP", this_host, 51413, "Transmission at 51413", 3600),
        row(51413, "UDP", this_host, 51413, "Transmission at 51413", 3600),
        row(27015, "UDP", this_host, 27015, "Steam", 1800),
        row(22000, "TCP", this_host, 22000, "Syncthing", 604_800),
        row(2456, "UDP", "192.168.1.20", 2456, "Valheim dedicated server", 86_400),
        row(2457, "UDP", "192.168.1.20", 2457, "Valheim dedicated server", 86_400),
        row(25565, "TCP", "192.168.1.20", 25565, "Minecraft server", 0),
        row(3074, "UDP", "192.168.1.42", 3074, "Xbox Live", 120),
        SimMapping {
            enabled: false,
            ..row(8554, "TCP", "192.168.1.50", 554, "IP camera (RTSP)", 0)
        },
        SimMapping {
            remote_host: "198.51.100.23".to_string(),
            ..row(2222, "TCP", "192.168.1.10", 22, "SSH from the office", 0)
        },
        row(51820, "UDP", "192.168.1.10", 51820, "WireGuard", 0),
        row(6881, "TCP", "192.168.1.31", 6881, "qBittorrent", 7200),
    ]
}
