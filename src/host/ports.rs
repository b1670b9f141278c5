//! Ports on this computer: a free one now, or a random one from the dynamic range.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::ops::RangeInclusive;

use crate::model::{Port, Protocol};

/// The dynamic (ephemeral) port range of RFC 6335, where random ports are drawn from.
pub const DYNAMIC_PORTS: RangeInclusive<u16> = 49152..=65535;

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
