//! SSDP over IPv6: an M-SEARCH to the link-local multicast group `ff02::c` on every interface
//! with a stable global IPv6 address, for the router's IPv6 description URL (miniupnpd answers
//! `LOCATION: http://[2001:db8:77::1]:49000/rootDesc.xml`). Pinholes must be asked for over
//! IPv6, so this is how the pinhole commands find the router; IPv4 discovery plus the IPv6
//! default route is the fallback. Bounded: one wait for the whole search, a cap on datagrams.

use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6, UdpSocket};
use std::time::{Duration, Instant};

use super::error::UpnpError;
use super::ssdp::parse_answer;

/// The SSDP group on the link, and its port.
const SSDP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0xc);

/// The most datagrams read before giving up (a flood cannot hold us past the timeout anyway).
const MAX_DATAGRAMS: usize = 256;

/// The first IGD:2 gateway that answers over IPv6 within `timeout`: its description URL and
/// the local address the answer came to.
pub fn discover_ipv6(timeout: Duration) -> Result<(String, Ipv6Addr), UpnpError> {
    let started = Instant::now();
    let addresses: Vec<_> = crate::host::local_ipv6_addresses()
        .into_iter()
        .filter(|a| a.is_stable_global())
        .collect();
    if addresses.is_empty() {
        return Err(UpnpError::Search {
            reason: "this computer has no stable global IPv6 address".to_owned(),
        });
    }
    let mut sockets = Vec::new();
    let mut last_error = None;
    for local in &addresses {
        match send_search(local.ip, local.index) {
            Ok(socket) => sockets.push((socket, local.ip)),
            Err(e) => last_error = Some(format!("{} ({}): {e}", local.ip, local.interface)),
        }
    }
    if sockets.is_empty() {
        return Err(UpnpError::Search {
            reason: last_error.unwrap_or_default(),
        });
    }
    let mut buf = [0u8; 2048];
    let mut read = 0;
    while read < MAX_DATAGRAMS {
        let left = timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            break;
        }
        // Polled in short slices so that several interfaces are listened to in turn.
        let slice = left.min(Duration::from_millis(50)).max(Duration::from_millis(1));
        for (socket, local) in &sockets {
            let _ = socket.set_read_timeout(Some(slice / sockets.len() as u32 + Duration::from_millis(1)));
            if let Ok((n, from)) = socket.recv_from(&mut buf) {
                read += 1;
                let from = match from {
                    SocketAddr::V6(v6) => SocketAddr::V6(SocketAddrV6::new(*v6.ip(), v6.port(), 0, 0)),
                    other => other,
                };
                match parse_answer(&buf[..n], from) {
                    Ok(answer) => return Ok((answer.location.to_string(), *local)),
                    Err(why) => tracing::debug!(%from, %why, "SSDP over IPv6: answer ignored"),
                }
            }
        }
    }
    Err(UpnpError::NotFound {
        waited: started.elapsed(),
    })
}

fn send_search(local: Ipv6Addr, index: u32) -> std::io::Result<UdpSocket> {
    let socket = socket2::Socket::new(
        socket2::Domain::IPV6,
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    socket.bind(&SocketAddr::V6(SocketAddrV6::new(local, 0, 0, 0)).into())?;
    if index != 0 {
        socket.set_multicast_if_v6(index)?;
    }
    socket.set_multicast_hops_v6(2)?;
    let socket: UdpSocket = socket.into();
    let request = format!(
        "M-SEARCH * HTTP/1.1\r\nHOST: [FF02::C]:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\n\
         ST: urn:schemas-upnp-org:device:InternetGatewayDevice:2\r\nUSER-AGENT: PortForward/{} UPnP/1.1\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    );
    socket.send_to(request.as_bytes(), SocketAddrV6::new(SSDP_V6, 1900, 0, index))?;
    Ok(socket)
}
