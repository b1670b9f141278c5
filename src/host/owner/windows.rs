//! Windows: this computer's receiving sockets and their processes, from netstat2 (the system's
//! socket tables, `GetExtendedTcpTable` / `GetExtendedUdpTable`, which carry the owning PID).

use std::collections::HashSet;

use super::OpenSocket;
use crate::model::Protocol;

/// The receiving sockets of these protocols with their processes, from netstat2 (the
/// system's socket tables).
pub(super) fn receiving_sockets(protocols: &HashSet<Protocol>) -> std::io::Result<Vec<(OpenSocket, u32)>> {
    use netstat2::{AddressFamilyFlags, ProtocolFlags, ProtocolSocketInfo, TcpState};
    let mut flags = ProtocolFlags::empty();
    for protocol in protocols {
        flags |= match protocol {
            Protocol::Tcp => ProtocolFlags::TCP,
            Protocol::Udp => ProtocolFlags::UDP,
        };
    }
    let infos = netstat2::get_sockets_info(AddressFamilyFlags::IPV4 | AddressFamilyFlags::IPV6, flags)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(infos
        .into_iter()
        .map(|info| {
            let (protocol, addr, port, receiving) = match &info.protocol_socket_info {
                ProtocolSocketInfo::Tcp(t) => (Protocol::Tcp, t.local_addr, t.local_port, t.state == TcpState::Listen),
                ProtocolSocketInfo::Udp(u) => (Protocol::Udp, u.local_addr, u.local_port, true),
            };
            // PID 0 is the System Idle Process, never a socket's real owner: Windows gives it
            // for sockets whose owner it does not say (and Wine for every socket). No PID
            // makes the owner unknown, never stale: the socket is there.
            let pids = info.associated_pids.into_iter().filter(|&pid| pid != 0).collect();
            let socket = OpenSocket {
                protocol,
                addr,
                port,
                receiving,
                pids,
            };
            (socket, 0)
        })
        .filter(|(socket, _)| socket.receiving)
        .collect())
}

/// netstat2 attached the processes already.
pub(super) fn attach_pids(_: &mut [(OpenSocket, u32)]) {}
