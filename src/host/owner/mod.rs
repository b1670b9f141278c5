//! Who is behind each mapping: for a mapping to this computer, the process that listens on
//! its internal port (TCP) or has it bound (UDP); for another LAN host, its name. A mapping
//! to this computer that nothing serves is stale: it opens a port on the router for nobody.
//!
//! [`resolve_owners`] reads the socket table once for a whole router table. The lookups need
//! no network: processes come from the operating system's socket table, with the PIDs behind
//! each socket (sock_diag and /proc on Linux, netstat2 on Windows, lsof on macOS), and their
//! names from sysinfo; host names come from the hosts
//! file, and from reverse DNS only when [`OwnerOptions::reverse_dns`] asks for it.
//!
//! ```
//! use std::net::{Ipv4Addr, TcpListener};
//! use portforward::{Owner, OwnerOptions, resolve_owners};
//! # use portforward::{Description, Lease, Mapping, Port, Protocol};
//! let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
//! let port = Port::new(listener.local_addr()?.port()).unwrap();
//! let mapping = Mapping {
//!     protocol: Protocol::Tcp, external_port: port, internal_client: "127.0.0.1".into(),
//!     internal_port: port, description: Description::default(), enabled: true,
//!     remote_host: String::new(), lease: Lease::PERMANENT,
//! };
//! let owners = resolve_owners(&[mapping], Ipv4Addr::LOCALHOST, &OwnerOptions::default());
//! assert!(matches!(&owners[0], Owner::Process { pid, .. } if *pid == std::process::id()));
//! # Ok::<(), std::io::Error>(())
//! ```

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use serde::Serialize;

use crate::model::{Mapping, Protocol};

// One file per operating system, each with `receiving_sockets` (the sockets, with their
// inodes where PIDs are found later) and `attach_pids`.
#[cfg(any(target_os = "linux", target_os = "android"))]
mod linux;
#[cfg(any(target_os = "linux", target_os = "android"))]
use linux as platform;
// macOS: lsof's field output (netstat2's and libproc's builds need Apple's SDK). Its parser
// is platform-neutral and tested everywhere.
#[cfg(any(test, target_os = "macos"))]
mod lsof;
#[cfg(target_os = "macos")]
use lsof as platform;
// The BSDs and the rest: no lookup, owners unknown, never stale.
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "macos", windows)))]
mod unsupported;
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "macos", windows)))]
use unsupported as platform;
#[cfg(windows)]
mod windows;
use platform::{attach_pids, receiving_sockets};
#[cfg(windows)]
use windows as platform;

/// Who a mapping serves.
///
/// As JSON (`portforward list --json`, field `"owner"`): `{"kind":"process","name":"nc","pid":123}`,
/// `{"kind":"host","name":"nas.lan"}`, `{"kind":"stale"}` or `{"kind":"unknown"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Owner {
    /// The process on this computer that listens on (TCP) or has bound (UDP) the internal port.
    Process {
        /// Its name (the executable's file name where the system shortens the name).
        name: String,
        /// Its process ID.
        pid: u32,
    },
    /// Another LAN host, by the name the hosts file (or reverse DNS) gives its address.
    Host {
        /// The host's name.
        name: String,
    },
    /// Nothing on this computer listens on the internal port: the mapping is stale.
    #[serde(rename = "stale")]
    Nobody,
    /// Not known: another host without a name, a socket whose process this user may not see
    /// (run as root or administrator to see every process), or an unreadable socket table.
    Unknown,
}

impl Owner {
    /// Whether the mapping points at this computer and nothing there listens.
    pub fn is_stale(&self) -> bool {
        matches!(self, Owner::Nobody)
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::Process { name, pid } => write!(f, "{name} (pid {pid})"),
            Owner::Host { name } => f.write_str(name),
            Owner::Nobody => f.write_str("stale"),
            Owner::Unknown => f.write_str("unknown"),
        }
    }
}

/// Where host names for other LAN hosts come from.
///
/// Only the hosts file by default: a reverse DNS query for a LAN address goes to whatever
/// resolver this computer uses, which may be outside the LAN, and can block for seconds when
/// none answers. Reverse DNS is one switch away for networks whose router names its clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerOptions {
    /// A hosts file (`/etc/hosts` format) to name LAN hosts from; `None` reads none.
    pub hosts_file: Option<PathBuf>,
    /// Also ask the system resolver (reverse DNS, which may send queries on the network) for
    /// hosts the file does not name.
    pub reverse_dns: bool,
}

impl Default for OwnerOptions {
    fn default() -> OwnerOptions {
        OwnerOptions {
            hosts_file: Some(system_hosts_file()),
            reverse_dns: false,
        }
    }
}

/// The system's hosts file.
fn system_hosts_file() -> PathBuf {
    if cfg!(windows) {
        let root = std::env::var_os("SystemRoot").unwrap_or_else(|| "C:\\Windows".into());
        PathBuf::from(root).join("System32\\drivers\\etc\\hosts")
    } else {
        PathBuf::from("/etc/hosts")
    }
}

/// The owner of each mapping, in the same order. `local_ip` is this computer's address
/// towards the router ([`crate::PortForwarder::local_ip`]): mappings to it are looked up in
/// this computer's socket table, read once for the whole call. Never fails: what cannot be
/// found out is [`Owner::Unknown`].
pub fn resolve_owners(mappings: &[Mapping], local_ip: Ipv4Addr, options: &OwnerOptions) -> Vec<Owner> {
    let protocols: HashSet<Protocol> = mappings
        .iter()
        .filter(|m| m.internal_ip() == Some(local_ip))
        .map(|m| m.protocol)
        .collect();
    let sockets = if protocols.is_empty() {
        LocalSockets::none()
    } else {
        LocalSockets::read_protocols(&protocols)
    };
    resolve_owners_from(&sockets, mappings, local_ip, options)
}

/// [`resolve_owners`] with a socket snapshot read beforehand, e.g. on another thread while
/// the router is being asked for its table (the snapshot needs no network).
///
/// ```no_run
/// # use portforward::{LocalSockets, OwnerOptions, PortForwarder, resolve_owners_from};
/// # let forwarder = PortForwarder::discover(&Default::default())?;
/// let (table, sockets) = std::thread::scope(|scope| {
///     let sockets = scope.spawn(LocalSockets::read);
///     (forwarder.get_all_mappings(), sockets.join().expect("reading sockets does not panic"))
/// });
/// let table = table?;
/// let owners = resolve_owners_from(&sockets, &table.mappings, forwarder.local_ip(), &OwnerOptions::default());
/// # Ok::<(), portforward::Error>(())
/// ```
pub fn resolve_owners_from(
    sockets: &LocalSockets,
    mappings: &[Mapping],
    local_ip: Ipv4Addr,
    options: &OwnerOptions,
) -> Vec<Owner> {
    let local = |m: &Mapping| m.internal_ip() == Some(local_ip);
    let wanted: HashSet<(Protocol, u16)> = mappings
        .iter()
        .filter(|m| local(m))
        .map(|m| (m.protocol, m.internal_port.get()))
        .collect();
    let sockets = (!wanted.is_empty()).then(|| sockets.table_for(local_ip, &wanted));
    let others: Vec<Ipv4Addr> = mappings
        .iter()
        .filter(|m| !local(m))
        .filter_map(Mapping::internal_ip)
        .collect();
    let names = host_names(&others, options);
    mappings
        .iter()
        .map(|m| match (m.internal_ip(), &sockets) {
            (Some(ip), Some(Ok(sockets))) if ip == local_ip => {
                sockets.owner(m.protocol, local_ip, m.internal_port.get())
            }
            (Some(ip), _) if ip == local_ip => Owner::Unknown,
            (Some(ip), _) => names
                .get(&ip)
                .map_or(Owner::Unknown, |name| Owner::Host { name: name.clone() }),
            (None, _) => Owner::Unknown,
        })
        .collect()
}

/// The stale mappings among `mappings` (their owners in the same order).
pub fn stale_mappings(mappings: &[Mapping], owners: &[Owner]) -> Vec<Mapping> {
    mappings
        .iter()
        .zip(owners)
        .filter(|(_, owner)| owner.is_stale())
        .map(|(m, _)| m.clone())
        .collect()
}

/// One socket of this computer, as the owner lookup needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OpenSocket {
    protocol: Protocol,
    addr: IpAddr,
    port: u16,
    /// TCP: in the LISTEN state. UDP: always (a bound UDP socket receives).
    receiving: bool,
    /// The processes holding it; empty when the system does not let us see them.
    pids: Vec<u32>,
}

impl OpenSocket {
    /// Whether traffic forwarded to `local_ip:port` over `protocol` reaches this socket: it
    /// listens (TCP) or is bound (UDP) on that port, on that address or on every address.
    fn serves(&self, protocol: Protocol, local_ip: Ipv4Addr, port: u16) -> bool {
        self.protocol == protocol
            && self.port == port
            && self.receiving
            && (self.addr.is_unspecified()
                || self.addr == IpAddr::V4(local_ip)
                || self.addr == IpAddr::V6(local_ip.to_ipv6_mapped()))
    }
}

/// A snapshot of this computer's receiving sockets (TCP listeners, bound UDP sockets), not
/// yet tied to processes. Reading it needs no network and takes well under a millisecond;
/// the processes behind the sockets that matter are looked up by [`resolve_owners_from`].
#[derive(Debug)]
pub struct LocalSockets {
    /// Each socket with its inode (Linux), or an error saying why the table is unreadable.
    sockets: Result<Vec<(OpenSocket, u32)>, String>,
}

impl LocalSockets {
    /// Reads the TCP and UDP sockets. A failure (or a panic inside the socket library, which
    /// expects a readable /proc) is kept as an error, never a crash: owners are then unknown.
    pub fn read() -> LocalSockets {
        LocalSockets::read_protocols(&HashSet::from([Protocol::Tcp, Protocol::Udp]))
    }

    /// Reads the sockets of these protocols only.
    fn read_protocols(protocols: &HashSet<Protocol>) -> LocalSockets {
        let sockets = std::panic::catch_unwind(|| receiving_sockets(protocols))
            .map_err(|_| "the socket table is unreadable".to_owned())
            .and_then(|read| read.map_err(|e| e.to_string()));
        LocalSockets { sockets }
    }

    /// No sockets read (nothing to look up).
    fn none() -> LocalSockets {
        LocalSockets {
            sockets: Ok(Vec::new()),
        }
    }

    /// The sockets that could receive traffic forwarded to one of `wanted` on `local_ip`,
    /// with the processes holding them and their names. Finding a socket's process is the
    /// costly part (on Linux, every process's open files are looked through), so it is done
    /// only for these sockets, and not at all when none serves a mapped port.
    fn table_for(&self, local_ip: Ipv4Addr, wanted: &HashSet<(Protocol, u16)>) -> Result<SocketTable, String> {
        let mut sockets: Vec<(OpenSocket, u32)> = self
            .sockets
            .as_ref()
            .map_err(Clone::clone)?
            .iter()
            .filter(|(s, _)| wanted.contains(&(s.protocol, s.port)) && s.serves(s.protocol, local_ip, s.port))
            .cloned()
            .collect();
        attach_pids(&mut sockets);
        let sockets: Vec<OpenSocket> = sockets.into_iter().map(|(socket, _)| socket).collect();
        #[cfg(target_os = "macos")]
        let sockets = {
            let mut sockets = sockets;
            add_unlisted_in_use(&mut sockets, local_ip, wanted);
            sockets
        };
        Ok(SocketTable {
            names: process_names(sockets.iter().flat_map(|s| &s.pids)),
            sockets,
        })
    }
}

/// Where the socket table may miss sockets (macOS's lsof, run as a user, lists only this
/// user's processes), a mapped port that no listed socket serves may still be served by
/// someone else's. Each such port is tried: if it cannot be bound on `local_ip` (without
/// SO_REUSEADDR, so any socket on it or on every address is in the way), something holds it
/// and its owner is unknown, not stale. Binding sends nothing; the socket is closed at once.
#[cfg(any(test, target_os = "macos"))]
fn add_unlisted_in_use(sockets: &mut Vec<OpenSocket>, local_ip: Ipv4Addr, wanted: &HashSet<(Protocol, u16)>) {
    let unlisted: Vec<(Protocol, u16)> = wanted
        .iter()
        .filter(|&&(protocol, port)| !sockets.iter().any(|s| s.serves(protocol, local_ip, port)))
        .copied()
        .collect();
    for (protocol, port) in unlisted {
        if port_in_use(protocol, local_ip, port) {
            sockets.push(OpenSocket {
                protocol,
                addr: IpAddr::V4(local_ip),
                port,
                receiving: true,
                pids: Vec::new(),
            });
        }
    }
}

/// Whether `local_ip:port` cannot be bound for `protocol`; any failure counts as in use
/// (what cannot be found out is never called stale).
#[cfg(any(test, target_os = "macos"))]
fn port_in_use(protocol: Protocol, local_ip: Ipv4Addr, port: u16) -> bool {
    use socket2::{Domain, Socket, Type};
    let kind = match protocol {
        Protocol::Tcp => Type::STREAM,
        Protocol::Udp => Type::DGRAM,
    };
    let Ok(socket) = Socket::new(Domain::IPV4, kind, None) else {
        return true;
    };
    socket
        .bind(&std::net::SocketAddr::from((local_ip, port)).into())
        .is_err()
}

/// The sockets serving mapped ports, with the names of the processes holding them.
#[derive(Debug, Default)]
struct SocketTable {
    sockets: Vec<OpenSocket>,
    names: HashMap<u32, String>,
}

impl SocketTable {
    /// Who receives traffic forwarded to `local_ip:port`.
    fn owner(&self, protocol: Protocol, local_ip: Ipv4Addr, port: u16) -> Owner {
        let mut serving = self
            .sockets
            .iter()
            .filter(|s| s.serves(protocol, local_ip, port))
            .peekable();
        if serving.peek().is_none() {
            return Owner::Nobody;
        }
        // Forked servers share one socket: the lowest PID is usually the parent. A process
        // whose name cannot be read (gone, or hidden from this user) is not named at all.
        match serving
            .flat_map(|s| &s.pids)
            .filter_map(|pid| Some((*pid, self.names.get(pid)?)))
            .min_by_key(|(pid, _)| *pid)
        {
            Some((pid, name)) => Owner::Process {
                name: name.clone(),
                pid,
            },
            None => Owner::Unknown,
        }
    }
}

/// The names of these processes. Linux shortens a process's own name to 15 bytes, so where
/// the executable's file name starts with it, that longer name is used.
fn process_names<'a>(pids: impl Iterator<Item = &'a u32>) -> HashMap<u32, String> {
    use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};
    let pids: Vec<Pid> = pids.map(|&p| Pid::from_u32(p)).collect();
    if pids.is_empty() {
        return HashMap::new();
    }
    let Ok(mut system) = System::new() else {
        return HashMap::new();
    };
    system.refresh_processes_specifics(
        ProcessesToUpdate::Some(&pids),
        true,
        ProcessRefreshKind::nothing().with_exe(UpdateKind::OnlyIfNotSet),
    );
    system
        .processes()
        .iter()
        .map(|(pid, process)| {
            let short = process.name().to_string_lossy().into_owned();
            let exe = process
                .exe()
                .and_then(|path| path.file_name())
                .map(|name| name.to_string_lossy().into_owned());
            let name = match exe {
                Some(exe) if exe.len() > short.len() && exe.starts_with(&short) => exe,
                _ => short,
            };
            (pid.as_u32(), name)
        })
        .collect()
}

/// Names for these LAN addresses: the hosts file first, then (if asked) reverse DNS.
fn host_names(addresses: &[Ipv4Addr], options: &OwnerOptions) -> HashMap<Ipv4Addr, String> {
    if addresses.is_empty() {
        return HashMap::new();
    }
    let mut names = options
        .hosts_file
        .as_ref()
        .and_then(|path| std::fs::read_to_string(path).ok())
        .map(|text| parse_hosts(&text))
        .unwrap_or_default();
    names.retain(|ip, _| addresses.contains(ip));
    if options.reverse_dns {
        let mut unnamed: Vec<Ipv4Addr> = addresses.iter().filter(|ip| !names.contains_key(ip)).copied().collect();
        unnamed.sort_unstable();
        unnamed.dedup();
        names.extend(reverse_dns(&unnamed));
    }
    names
}

/// Parses a hosts file: each address with its first (canonical) name; the first line wins.
fn parse_hosts(text: &str) -> HashMap<Ipv4Addr, String> {
    let mut names = HashMap::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut fields = line.split_whitespace();
        if let (Some(Ok(ip)), Some(name)) = (fields.next().map(str::parse::<Ipv4Addr>), fields.next()) {
            names.entry(ip).or_insert_with(|| name.to_owned());
        }
    }
    names
}

/// Reverse DNS through the system resolver, a few hosts at a time (each may block for the
/// resolver's timeout).
fn reverse_dns(addresses: &[Ipv4Addr]) -> Vec<(Ipv4Addr, String)> {
    const AT_ONCE: usize = 8;
    let mut found = Vec::new();
    for chunk in addresses.chunks(AT_ONCE) {
        std::thread::scope(|scope| {
            let lookups: Vec<_> = chunk
                .iter()
                .map(|&ip| scope.spawn(move || dns_lookup::lookup_addr(&IpAddr::V4(ip)).ok().map(|name| (ip, name))))
                .collect();
            found.extend(lookups.into_iter().filter_map(|l| l.join().ok().flatten()));
        });
    }
    found
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv6Addr, TcpListener, UdpSocket};

    use super::*;
    use crate::model::{Description, Lease, Port};

    fn socket(protocol: Protocol, addr: IpAddr, port: u16, receiving: bool, pids: &[u32]) -> OpenSocket {
        OpenSocket {
            protocol,
            addr,
            port,
            receiving,
            pids: pids.to_vec(),
        }
    }

    fn mapping(protocol: Protocol, client: &str, port: u16) -> Mapping {
        Mapping {
            protocol,
            external_port: Port::new(port).unwrap(),
            internal_client: client.to_owned(),
            internal_port: Port::new(port).unwrap(),
            description: Description::default(),
            enabled: true,
            remote_host: String::new(),
            lease: Lease::PERMANENT,
        }
    }

    const LAN: Ipv4Addr = Ipv4Addr::new(192, 168, 77, 10);

    #[test]
    fn a_socket_serves_a_mapping_on_its_address_or_any_address() {
        let table = SocketTable {
            sockets: vec![
                socket(Protocol::Tcp, IpAddr::V4(Ipv4Addr::UNSPECIFIED), 80, true, &[20, 10]),
                socket(Protocol::Tcp, IpAddr::V4(LAN), 81, true, &[11]),
                socket(Protocol::Tcp, IpAddr::V6(Ipv6Addr::UNSPECIFIED), 82, true, &[12]),
                socket(Protocol::Tcp, IpAddr::V6(LAN.to_ipv6_mapped()), 83, true, &[13]),
                // Loopback only: traffic forwarded to the LAN address never reaches it.
                socket(Protocol::Tcp, IpAddr::V4(Ipv4Addr::LOCALHOST), 84, true, &[14]),
                // A connection, not a listener.
                socket(Protocol::Tcp, IpAddr::V4(LAN), 85, false, &[15]),
                socket(Protocol::Udp, IpAddr::V4(Ipv4Addr::UNSPECIFIED), 86, true, &[16]),
                // Someone else's socket, its process hidden from us.
                socket(Protocol::Tcp, IpAddr::V4(Ipv4Addr::UNSPECIFIED), 87, true, &[]),
                // A process whose name cannot be read (gone, or another user's on Windows).
                socket(Protocol::Tcp, IpAddr::V4(Ipv4Addr::UNSPECIFIED), 88, true, &[17]),
            ],
            names: HashMap::from([
                (10, "nginx".to_owned()),
                (11, "a".to_owned()),
                (12, "b".to_owned()),
                (13, "c".to_owned()),
                (16, "game".to_owned()),
            ]),
        };
        let owner = |protocol, port| table.owner(protocol, LAN, port);
        assert_eq!(
            owner(Protocol::Tcp, 80),
            Owner::Process {
                name: "nginx".into(),
                pid: 10
            },
            "the parent of forked workers"
        );
        for port in [81, 82, 83] {
            assert!(matches!(owner(Protocol::Tcp, port), Owner::Process { .. }), "{port}");
        }
        assert_eq!(owner(Protocol::Tcp, 84), Owner::Nobody);
        assert_eq!(owner(Protocol::Tcp, 85), Owner::Nobody);
        assert_eq!(owner(Protocol::Udp, 80), Owner::Nobody, "the protocol must match");
        assert_eq!(
            owner(Protocol::Udp, 86),
            Owner::Process {
                name: "game".into(),
                pid: 16
            }
        );
        assert_eq!(owner(Protocol::Tcp, 87), Owner::Unknown);
        assert_eq!(owner(Protocol::Tcp, 88), Owner::Unknown, "no name, no guess");
    }

    #[test]
    fn real_listeners_are_found_and_their_absence_is_stale() {
        let tcp = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let gone = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let gone_port = gone.local_addr().unwrap().port();
        drop(gone);
        let mappings = [
            mapping(Protocol::Tcp, "127.0.0.1", tcp.local_addr().unwrap().port()),
            mapping(Protocol::Udp, "127.0.0.1", udp.local_addr().unwrap().port()),
            mapping(Protocol::Tcp, "127.0.0.1", gone_port),
        ];
        let owners = resolve_owners(&mappings, Ipv4Addr::LOCALHOST, &OwnerOptions::default());
        let me = std::process::id();
        for owner in &owners[..2] {
            if crate::simulator::running_under_wine() {
                // Wine reports PID 0 for every socket: found (not stale), its process unknown.
                assert_eq!(*owner, Owner::Unknown, "under Wine");
                continue;
            }
            match owner {
                Owner::Process { name, pid } => {
                    assert_eq!(*pid, me);
                    let exe = std::env::current_exe().unwrap();
                    let exe = exe.file_name().unwrap().to_string_lossy();
                    assert!(exe.starts_with(name.as_str()), "{name} vs {exe}");
                }
                other => panic!("expected this test process, got {other:?}"),
            }
        }
        assert_eq!(owners[2], Owner::Nobody);
        assert_eq!(stale_mappings(&mappings, &owners), [mappings[2].clone()]);
    }

    #[test]
    fn a_snapshot_read_ahead_names_the_listener_and_misses_a_later_one() {
        let early = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let sockets = LocalSockets::read();
        let late = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let mappings = [
            mapping(Protocol::Tcp, "127.0.0.1", early.local_addr().unwrap().port()),
            mapping(Protocol::Tcp, "127.0.0.1", late.local_addr().unwrap().port()),
        ];
        let owners = resolve_owners_from(&sockets, &mappings, Ipv4Addr::LOCALHOST, &OwnerOptions::default());
        if crate::simulator::running_under_wine() {
            // Wine reports PID 0 for every socket: found (not stale), its process unknown.
            assert_eq!(owners[0], Owner::Unknown, "under Wine");
        } else {
            assert!(
                matches!(&owners[0], Owner::Process { pid, .. } if *pid == std::process::id()),
                "{:?}",
                owners[0]
            );
        }
        assert_eq!(owners[1], Owner::Nobody, "the snapshot is of the moment it was read");
    }

    #[test]
    fn a_port_held_by_a_socket_the_table_does_not_list_is_unknown_not_stale() {
        let tcp = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let gone = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let (tcp, udp) = (tcp.local_addr().unwrap().port(), udp.local_addr().unwrap().port());
        let gone_port = gone.local_addr().unwrap().port();
        drop(gone);
        let listed = socket(Protocol::Tcp, IpAddr::V4(Ipv4Addr::LOCALHOST), 1, true, &[10]);
        let mut sockets = vec![listed.clone()];
        let wanted = HashSet::from([
            (Protocol::Tcp, 1),
            (Protocol::Tcp, tcp),
            (Protocol::Udp, udp),
            (Protocol::Tcp, gone_port),
        ]);
        add_unlisted_in_use(&mut sockets, Ipv4Addr::LOCALHOST, &wanted);
        let table = SocketTable {
            sockets,
            names: HashMap::from([(10, "listed".to_owned())]),
        };
        let owner = |protocol, port| table.owner(protocol, Ipv4Addr::LOCALHOST, port);
        assert_eq!(
            owner(Protocol::Tcp, 1),
            Owner::Process {
                name: "listed".into(),
                pid: 10
            },
            "a listed socket keeps its process"
        );
        assert_eq!(owner(Protocol::Tcp, tcp), Owner::Unknown);
        assert_eq!(owner(Protocol::Udp, udp), Owner::Unknown);
        assert_eq!(owner(Protocol::Tcp, gone_port), Owner::Nobody, "a free port is stale");
    }

    #[test]
    fn other_hosts_are_named_from_the_hosts_file_only_by_default() {
        let dir = std::env::temp_dir().join(format!("pfw-hosts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let hosts = dir.join("hosts");
        std::fs::write(
            &hosts,
            "# comment\n127.0.0.1 localhost\n192.168.1.20\tnas.lan nas # the NAS\n192.168.1.20 later\n::1 ip6-localhost\n",
        )
        .unwrap();
        let mappings = [
            mapping(Protocol::Tcp, "192.168.1.20", 5000),
            mapping(Protocol::Tcp, "192.168.1.21", 5001),
            mapping(Protocol::Tcp, "not-an-ip", 5002),
        ];
        let options = OwnerOptions {
            hosts_file: Some(hosts),
            reverse_dns: false,
        };
        let owners = resolve_owners(&mappings, LAN, &options);
        assert_eq!(
            owners,
            [Owner::Host { name: "nas.lan".into() }, Owner::Unknown, Owner::Unknown]
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn json_names_the_kind() {
        let json = |o: Owner| serde_json::to_string(&o).unwrap();
        assert_eq!(
            json(Owner::Process {
                name: "nc".into(),
                pid: 123
            }),
            r#"{"kind":"process","name":"nc","pid":123}"#
        );
        assert_eq!(
            json(Owner::Host { name: "nas.lan".into() }),
            r#"{"kind":"host","name":"nas.lan"}"#
        );
        assert_eq!(json(Owner::Nobody), r#"{"kind":"stale"}"#);
        assert_eq!(json(Owner::Unknown), r#"{"kind":"unknown"}"#);
    }
}
