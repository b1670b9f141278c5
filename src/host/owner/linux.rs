//! This computer's receiving sockets on Linux, straight from the kernel's sock_diag netlink
//! interface, and the processes holding them, from `/proc/PID/fd`.
//!
//! Only TCP listeners are asked for: the kernel then skips its connection table, which is
//! shared by every network namespace and holds each TIME-WAIT connection (a client that has
//! just listed the router leaves hundreds). Asking for every TCP socket, as netstat2 does,
//! costs about a millisecond more, a quarter of a whole `portforward list`.

use std::collections::{HashMap, HashSet};
use std::io;

use netlink_packet_core::{NLM_F_DUMP, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload};
use netlink_packet_sock_diag::SockDiagMessage;
use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6, IPPROTO_TCP, IPPROTO_UDP};
use netlink_packet_sock_diag::inet::{ExtensionFlags, InetRequest, SocketId, StateFlags};
use netlink_sys::protocols::NETLINK_SOCK_DIAG;
use netlink_sys::{Socket, SocketAddr};

use super::OpenSocket;
use crate::model::Protocol;

/// Messages one dump may return before we stop reading: far more sockets than any computer
/// has, so a kernel that never says "done" cannot keep us here.
const MAX_MESSAGES: usize = 1 << 20;

/// The TCP sockets listening and the UDP sockets bound on this computer (both address
/// families) for these protocols, each with its inode; no PIDs yet.
pub(super) fn receiving_sockets(protocols: &HashSet<Protocol>) -> io::Result<Vec<(OpenSocket, u32)>> {
    let mut sockets = Vec::new();
    for &protocol in protocols {
        for family in [AF_INET, AF_INET6] {
            dump(family, protocol, &mut sockets)?;
        }
    }
    Ok(sockets)
}

/// One sock_diag dump: the sockets of one family and protocol, appended to `out`.
fn dump(family: u8, protocol: Protocol, out: &mut Vec<(OpenSocket, u32)>) -> io::Result<()> {
    let (ip_protocol, states) = match protocol {
        Protocol::Tcp => (IPPROTO_TCP, StateFlags::LISTEN),
        Protocol::Udp => (IPPROTO_UDP, StateFlags::all()),
    };
    let mut socket = Socket::new(NETLINK_SOCK_DIAG)?;
    socket.bind_auto()?;
    socket.connect(&SocketAddr::new(0, 0))?;
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    let mut request = NetlinkMessage::new(
        header,
        SockDiagMessage::InetRequest(InetRequest {
            family,
            protocol: ip_protocol,
            extensions: ExtensionFlags::empty(),
            states,
            socket_id: if family == AF_INET6 {
                SocketId::new_v6()
            } else {
                SocketId::new_v4()
            },
        })
        .into(),
    );
    request.finalize();
    let mut bytes = vec![0; request.buffer_len()];
    request.serialize(&mut bytes);
    socket.send(&bytes, 0)?;

    let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
    let mut buffer = vec![0u8; 32 * 1024];
    let mut messages = 0;
    loop {
        let size = socket.recv(&mut &mut buffer[..], 0)?;
        if size == 0 {
            return Err(invalid(
                "the socket table dump ended without its last message".to_owned(),
            ));
        }
        let mut offset = 0;
        while offset < size {
            let message = NetlinkMessage::<SockDiagMessage>::deserialize(&buffer[offset..size])
                .map_err(|e| invalid(format!("unreadable socket table entry: {e}")))?;
            let length = message.header.length as usize;
            messages += 1;
            if length == 0 || messages > MAX_MESSAGES {
                return Err(invalid("the socket table dump does not end".to_owned()));
            }
            offset += length;
            match message.payload {
                NetlinkPayload::InnerMessage(SockDiagMessage::InetResponse(response)) => {
                    let id = &response.header.socket_id;
                    let socket = OpenSocket {
                        protocol,
                        addr: id.source_address,
                        port: id.source_port,
                        // Asked for listeners only (TCP); a bound UDP socket receives.
                        receiving: true,
                        pids: Vec::new(),
                    };
                    out.push((socket, response.header.inode));
                }
                NetlinkPayload::Done(_) => return Ok(()),
                NetlinkPayload::Error(e) => return Err(invalid(format!("the kernel refused the socket dump: {e}"))),
                _ => {}
            }
        }
    }
}

/// The processes holding each of these sockets (by inode), from every process's open files.
/// Processes this user may not look into are skipped: their sockets get no PID.
fn pids_holding(inodes: &HashSet<u32>) -> HashMap<u32, Vec<u32>> {
    let mut holders: HashMap<u32, Vec<u32>> = HashMap::new();
    if inodes.is_empty() {
        return holders;
    }
    let Ok(processes) = std::fs::read_dir("/proc") else {
        return holders;
    };
    let pids = processes.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok());
    for pid in pids {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.filter_map(Result::ok) {
            let Ok(target) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let inode = target
                .to_str()
                .and_then(|t| t.strip_prefix("socket:[")?.strip_suffix(']')?.parse::<u32>().ok());
            if let Some(inode) = inode.filter(|i| inodes.contains(i)) {
                let pids = holders.entry(inode).or_default();
                if !pids.contains(&pid) {
                    pids.push(pid);
                }
            }
        }
    }
    holders
}

/// The processes holding these sockets, from /proc.
pub(super) fn attach_pids(sockets: &mut [(OpenSocket, u32)]) {
    let mut holders = pids_holding(&sockets.iter().map(|(_, inode)| *inode).collect());
    for (socket, inode) in sockets {
        socket.pids = holders.remove(inode).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, TcpListener, TcpStream, UdpSocket};

    use super::*;

    #[test]
    fn listeners_and_bound_udp_sockets_are_found_with_their_process_but_connections_are_not() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let listening = listener.local_addr().unwrap().port();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let connected = client.local_addr().unwrap().port();
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let bound = udp.local_addr().unwrap().port();

        let sockets = receiving_sockets(&HashSet::from([Protocol::Tcp, Protocol::Udp])).unwrap();
        let find = |protocol, port| sockets.iter().find(|(s, _)| s.protocol == protocol && s.port == port);
        let (tcp, tcp_inode) = find(Protocol::Tcp, listening).expect("the listener");
        assert_eq!(tcp.addr, Ipv4Addr::LOCALHOST);
        assert!(
            find(Protocol::Tcp, connected).is_none(),
            "a connection is not a listener"
        );
        let (_, udp_inode) = find(Protocol::Udp, bound).expect("the UDP socket");

        let holders = pids_holding(&HashSet::from([*tcp_inode, *udp_inode]));
        let me = std::process::id();
        assert_eq!(holders.get(tcp_inode), Some(&vec![me]));
        assert_eq!(holders.get(udp_inode), Some(&vec![me]));

        let tcp_only = receiving_sockets(&HashSet::from([Protocol::Tcp])).unwrap();
        assert!(tcp_only.iter().all(|(s, _)| s.protocol == Protocol::Tcp));
    }
}
