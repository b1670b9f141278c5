//! This computer's side: its address towards the gateway, free local ports, random ports.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::ops::RangeInclusive;

use serde::Serialize;

use crate::error::GatewayError;
use crate::mapping::{Port, Protocol};

/// The dynamic (ephemeral) port range of RFC 6335, where random ports are drawn from.
pub const DYNAMIC_PORTS: RangeInclusive<u16> = 49152..=65535;

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
pub fn local_address_towards(gateway: SocketAddr) -> Result<LocalAddress, GatewayError> {
    let ip = local_ip_towards(gateway)?;
    Ok(LocalAddress {
        ip,
        interface: interface_of(ip),
    })
}

/// Just the address of [`local_address_towards`], without the interface lookup.
pub fn local_ip_towards(gateway: SocketAddr) -> Result<Ipv4Addr, GatewayError> {
    let no_address = |reason: String| GatewayError::NoLocalAddress { reason };
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

/// A local port that is free right now for `protocol` (the system picks it).
///
/// ```
/// let port = portforward::open_local_port(portforward::Protocol::Tcp).unwrap();
/// assert!(port.get() > 0);
/// ```
pub fn open_local_port(protocol: Protocol) -> std::io::Result<Port> {
    let any = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0));
    let port = match protocol {
        Protocol::Tcp => TcpListener::bind(any)?.local_addr()?.port(),
        Protocol::Udp => UdpSocket::bind(any)?.local_addr()?.port(),
    };
    Ok(Port::new(port).expect("the system never hands out port 0"))
}

/// A random port from the dynamic range 49152–65535.
///
/// ```
/// let port = portforward::random_port();
/// assert!(portforward::DYNAMIC_PORTS.contains(&port.get()));
/// ```
pub fn random_port() -> Port {
    Port::new(fastrand::u16(DYNAMIC_PORTS)).expect("the dynamic range excludes 0")
}

/// Whether an external address means forwarding cannot work from the Internet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ExternalReachability {
    /// A public address: forwards can be reached from the Internet.
    Public,
    /// A private (RFC 1918) or shared (100.64/10, carrier-grade NAT) address: the router is
    /// itself behind another NAT, so forwards on it are not reachable from the Internet.
    BehindAnotherNat,
    /// The router reports no external address (not connected, or CGNAT).
    NoAddress,
}

impl ExternalReachability {
    /// Classifies the address a router reports.
    ///
    /// ```
    /// use portforward::ExternalReachability as R;
    /// assert_eq!(R::of(Some("100.64.1.2".parse().unwrap())), R::BehindAnotherNat);
    /// assert_eq!(R::of(Some("10.0.0.2".parse().unwrap())), R::BehindAnotherNat);
    /// assert_eq!(R::of(Some("1.2.3.4".parse().unwrap())), R::Public);
    /// assert_eq!(R::of(None), R::NoAddress);
    /// ```
    pub fn of(ip: Option<Ipv4Addr>) -> ExternalReachability {
        match ip {
            None => ExternalReachability::NoAddress,
            Some(ip) if ip.is_private() || is_shared(ip) || ip.is_link_local() || ip.is_loopback() => {
                ExternalReachability::BehindAnotherNat
            }
            Some(_) => ExternalReachability::Public,
        }
    }

    /// A warning for the user, or `None` when all is well.
    pub fn warning(self) -> Option<&'static str> {
        match self {
            ExternalReachability::Public => None,
            ExternalReachability::BehindAnotherNat => Some(
                "the router's external address is private or carrier-grade NAT (100.64/10): it sits behind another NAT, so forwards will not be reachable from the Internet",
            ),
            ExternalReachability::NoAddress => Some(
                "the router reports no external address: it is not connected, or behind carrier-grade NAT; forwards will not be reachable from the Internet",
            ),
        }
    }
}

fn is_shared(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    a == 100 && (64..128).contains(&b)
}
