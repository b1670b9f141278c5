//! SSDP discovery: one M-SEARCH burst for every kind of gateway we can drive, answers
//! read as they come, the first valid gateway returned at once.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use url::Url;

/// The SSDP multicast group and port.
pub const SSDP_MULTICAST: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(239, 255, 255, 250)), 1900);

/// The search targets we send, most capable first.
pub(crate) const SEARCH_TARGETS: [&str; 5] = [
    "urn:schemas-upnp-org:device:InternetGatewayDevice:2",
    "urn:schemas-upnp-org:device:InternetGatewayDevice:1",
    "urn:schemas-upnp-org:service:WANIPConnection:2",
    "urn:schemas-upnp-org:service:WANIPConnection:1",
    "urn:schemas-upnp-org:service:WANPPPConnection:1",
];

/// A valid SSDP answer: where the device description is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsdpAnswer {
    /// Who answered.
    pub from: SocketAddr,
    /// The description URL (its host is the sender).
    pub location: Url,
    /// The search target the device answered for.
    pub search_target: String,
}

/// Why an SSDP datagram was ignored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SsdpReject {
    /// Not an HTTP 200 answer.
    #[error("not an SSDP answer")]
    NotAnAnswer,
    /// No LOCATION header, or not a URL.
    #[error("no usable LOCATION")]
    NoLocation,
    /// LOCATION points at a host other than the sender: a device may not send us elsewhere.
    #[error("LOCATION {0} is not the sender's address")]
    ForeignLocation(String),
    /// Answers for something that is not a gateway.
    #[error("not a gateway ({0})")]
    NotAGateway(String),
}

/// Builds one M-SEARCH request.
pub(crate) fn m_search(target: &str, mx: u64) -> String {
    format!(
        "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: {mx}\r\nST: {target}\r\n\
         USER-AGENT: PortForward/{} UPnP/1.1\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// Reads one SSDP datagram from `from`, keeping it only if it is a gateway that describes
/// itself at its own address. The search target is matched as tolerant clients do: by its
/// type name whatever the case, namespace or spacing; an answer without one is kept (the
/// description decides), one for another kind of device is not.
pub fn parse_answer(datagram: &[u8], from: SocketAddr) -> Result<SsdpAnswer, SsdpReject> {
    let answer = parse_any_answer(datagram, from)?;
    if answer.search_target.is_empty() || is_gateway_target(&answer.search_target) {
        Ok(answer)
    } else {
        Err(SsdpReject::NotAGateway(answer.search_target))
    }
}

/// Whether a search target names a gateway device or a WAN connection service.
fn is_gateway_target(st: &str) -> bool {
    let st = st.to_ascii_lowercase();
    [
        ":device:internetgatewaydevice:",
        ":service:wanipconnection:",
        ":service:wanpppconnection:",
    ]
    .iter()
    .any(|kind| st.contains(kind))
}

/// Reads one SSDP answer from any kind of device (for diagnosing a search that found no
/// gateway), keeping it only if it describes itself at its own address.
pub fn parse_any_answer(datagram: &[u8], from: SocketAddr) -> Result<SsdpAnswer, SsdpReject> {
    let text = std::str::from_utf8(datagram).map_err(|_| SsdpReject::NotAnAnswer)?;
    let mut lines = text.split("\r\n").flat_map(|l| l.split('\n'));
    let status = lines.next().unwrap_or("");
    let mut parts = status.split_whitespace();
    if !parts
        .next()
        .is_some_and(|v| v.to_ascii_uppercase().starts_with("HTTP/1."))
        || parts.next() != Some("200")
    {
        return Err(SsdpReject::NotAnAnswer);
    }
    let mut location = None;
    let mut st = None;
    for line in lines.take(64) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        match name.trim().to_ascii_uppercase().as_str() {
            "LOCATION" => location = Some(value.trim().to_owned()),
            "ST" => st = Some(value.trim().to_owned()),
            _ => {}
        }
    }
    let location = location
        .and_then(|l| Url::parse(&l).ok())
        .filter(|u| u.scheme() == "http")
        .ok_or(SsdpReject::NoLocation)?;
    let host_ip = match location.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        _ => None,
    };
    // Another port on the sender is fine (many routers serve HTTP on a port of their own).
    if host_ip != Some(from.ip()) {
        return Err(SsdpReject::ForeignLocation(location.to_string()));
    }
    Ok(SsdpAnswer {
        from,
        location,
        search_target: st.unwrap_or_default(),
    })
}

/// Sends the searches to `search_addr` and calls `on_answer` for every new valid answer
/// until it returns `true` (done) or `timeout` has passed.
pub(crate) fn search(
    search_addr: SocketAddr,
    bind: Ipv4Addr,
    timeout: Duration,
    mut on_answer: impl FnMut(SsdpAnswer, Instant) -> bool,
) -> std::io::Result<()> {
    let deadline = Instant::now() + timeout;
    let socket = UdpSocket::bind(SocketAddr::new(IpAddr::V4(bind), 0))?;
    socket.set_multicast_ttl_v4(2)?;
    let mx = timeout.as_secs().clamp(1, 3);
    for target in SEARCH_TARGETS {
        socket.send_to(m_search(target, mx).as_bytes(), search_addr)?;
    }
    let mut seen = HashSet::new();
    let mut buffer = [0u8; 2048];
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Ok(());
        }
        socket.set_read_timeout(Some(deadline - now))?;
        let (len, from) = match socket.recv_from(&mut buffer) {
            Ok(received) => received,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        match parse_answer(&buffer[..len], from) {
            Ok(answer) => {
                if seen.insert(answer.location.clone()) && on_answer(answer, deadline) {
                    return Ok(());
                }
            }
            Err(reason) => tracing::debug!(%from, %reason, "ignored an SSDP datagram"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(ip: &str) -> SocketAddr {
        SocketAddr::new(ip.parse().unwrap(), 1900)
    }

    const ANSWER: &str = "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\n\
        ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nUSN: uuid:x\r\n\
        Location: http://192.168.77.1:49000/rootDesc.xml\r\nSERVER: x\r\n\r\n";

    #[test]
    fn a_gateway_answer_is_read() {
        let a = parse_answer(ANSWER.as_bytes(), from("192.168.77.1")).unwrap();
        assert_eq!(a.location.as_str(), "http://192.168.77.1:49000/rootDesc.xml");
        assert!(a.search_target.ends_with("InternetGatewayDevice:1"));
    }

    #[test]
    fn a_location_elsewhere_is_ignored() {
        assert!(matches!(
            parse_answer(ANSWER.as_bytes(), from("192.168.77.99")),
            Err(SsdpReject::ForeignLocation(_))
        ));
        let named = ANSWER.replace("192.168.77.1:49000", "evil.example:80");
        assert!(parse_answer(named.as_bytes(), from("192.168.77.1")).is_err());
    }

    #[test]
    fn odd_header_case_a_vendor_namespace_and_a_missing_st_are_tolerated() {
        let odd = ANSWER
            .replace("ST: urn:schemas-upnp-org:", "st:  urn:dslforum-org:")
            .replace("Location:", "LOCATION:");
        assert!(parse_answer(odd.as_bytes(), from("192.168.77.1")).is_ok(), "{odd}");
        let no_st = ANSWER.replace("ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n", "");
        assert_eq!(
            parse_answer(no_st.as_bytes(), from("192.168.77.1"))
                .unwrap()
                .search_target,
            ""
        );
        let other_port = ANSWER.replace(":49000/", ":5431/");
        assert!(parse_answer(other_port.as_bytes(), from("192.168.77.1")).is_ok());
    }

    #[test]
    fn other_devices_and_garbage_are_ignored() {
        let printer = ANSWER.replace("device:InternetGatewayDevice:1", "device:Printer:1");
        assert!(matches!(
            parse_answer(printer.as_bytes(), from("192.168.77.1")),
            Err(SsdpReject::NotAGateway(_))
        ));
        assert_eq!(parse_answer(b"\xff\xfe", from("1.1.1.1")), Err(SsdpReject::NotAnAnswer));
        assert_eq!(
            parse_answer(b"NOTIFY * HTTP/1.1\r\n\r\n", from("1.1.1.1")),
            Err(SsdpReject::NotAnAnswer)
        );
    }
}
