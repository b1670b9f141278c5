//! This computer's address towards the gateway, and the interface that holds it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};

use serde::Serialize;

use super::HostError;

/// This computer's address on the network that reaches the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocalAddress {
    /// The address.
    pub ip: Ipv4Addr,
    /// The interface that holds it, when known (e.g. `eth0`).
    pub interface: Option<String>,
}

/// The address (and interface) the system would use to reach `gateway`: not just any
/// address (VPNs and virtual adapters have addresses too). Sends nothing: a UDP "connect"
/// only asks the routing table.
///
/// ```
/// use std::net::{Ipv4Addr, SocketAddr};
/// let local = portforward::local_address_towards(SocketAddr::from((Ipv4Addr::LOCALHOST, 5000))).unwrap();
/// assert_eq!(local.ip, Ipv4Addr::LOCALHOST);
/// ```
pub fn local_address_towards(gateway: SocketAddr) -> Result<LocalAddress, HostError> {
    let ip = local_ip_towards(gateway)?;
    Ok(LocalAddress {
        ip,
        interface: interface_of(ip),
    })
}

/// Just the address of [`local_address_towards`], without the interface lookup.
pub fn local_ip_towards(gateway: SocketAddr) -> Result<Ipv4Addr, HostError> {
    let no_address = |reason: String| HostError::NoLocalAddress { reason };
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).map_err(|e| no_address(e.to_string()))?;
    socket.connect(gateway).map_err(|e| no_address(e.to_string()))?;
    let ip = match socket.local_addr().map_err(|e| no_address(e.to_string()))?.ip() {
        IpAddr::V4(ip) => ip,
        IpAddr::V6(ip) => return Err(no_address(format!("the route to the gateway uses IPv6 ({ip})"))),
    };
    Ok(ip)
}

/// The interface holding `ip`. Costs a netlink dump (milliseconds): ask only when shown.
pub fn interface_of(ip: Ipv4Addr) -> Option<String> {
    local_ip_address::list_afinet_netifas().ok().and_then(|list| {
        list.into_iter()
            .find(|(_, addr)| *addr == IpAddr::V4(ip))
            .map(|(name, _)| name)
    })
}

/// Every IPv4 address of this computer with its interface, for choosing one by hand.
pub fn local_addresses() -> Vec<LocalAddress> {
    local_ip_address::list_afinet_netifas()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(name, addr)| match addr {
            IpAddr::V4(ip) if !ip.is_loopback() => Some(LocalAddress {
                ip,
                interface: Some(name),
            }),
            _ => None,
        })
        .collect()
}
