//! This computer's receiving sockets and their processes where Linux's sock_diag is not
//! available (Windows, macOS, the BSDs), from netstat2 (the system's socket tables).

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
            let socket = OpenSocket {
                protocol,
                addr,
                port,
                receiving,
                pids: info.associated_pids,
            };
            (socket, 0)
        })
        .filter(|(socket, _)| socket.receiving)
        .collect())
}

/// netstat2 attached the processes already.
pub(super) fn attach_pids(_: &mut [(OpenSocket, u32)]) {}
