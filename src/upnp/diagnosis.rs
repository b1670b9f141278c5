//! "No router found", explained: what discovery tried and what came back. Searches every
//! usable interface (virtual adapters are skipped, and named), asks every device that answers
//! what it is, and turns that into what to try next.
//!
//! ```
//! use portforward::simulator::SimulatedMediaServer;
//! use portforward::upnp::{DiscoveryOptions, diagnose};
//! let nas = SimulatedMediaServer::start("NAS")?;
//! let options = DiscoveryOptions {
//!     search_addr: nas.ssdp_addr(),
//!     bind: std::net::Ipv4Addr::LOCALHOST,
//!     timeout: std::time::Duration::from_millis(500),
//!     ..Default::default()
//! };
//! let diagnosis = diagnose(&options);
//! assert!(diagnosis.gateways.is_empty());
//! assert!(diagnosis.lines().iter().any(|l| l.contains("MediaServer:1 (\"NAS\")")));
//! # Ok::<(), std::io::Error>(())
//! ```

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::ssdp::{self, SsdpAnswer};
use super::{DiscoveryOptions, Gateway, GatewayOptions, UpnpError};
use crate::host::{self, Interface};

/// The most devices whose description a diagnosis reads (each costs a request).
const DEVICES_LIMIT: usize = 16;
/// How long one description may take.
const DESCRIPTION_DEADLINE: Duration = Duration::from_secs(2);

/// What a search tried and what came back.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Diagnosis {
    /// The interfaces searched (a unicast search has one, its bind address).
    pub searched: Vec<Interface>,
    /// Interfaces left out, virtual adapters among them, with why.
    pub skipped: Vec<(Interface, String)>,
    /// How many SSDP answers came back, from any device.
    pub answers: usize,
    /// Gateways that answered and can be used: description URL and the interface that reached it.
    pub gateways: Vec<(String, String)>,
    /// Devices that answered but are not gateways: what each is, and where.
    pub not_gateways: Vec<String>,
    /// Gateways whose description could not be used: URL and why.
    pub unusable: Vec<(String, String)>,
    /// How long the search listened.
    pub waited: Duration,
}

impl Diagnosis {
    /// What was tried and what came back, a line each, for the user.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let names: Vec<String> = self.searched.iter().map(|i| format!("{} ({})", i.name, i.ip)).collect();
        lines.push(if names.is_empty() {
            "no usable network interface to search on".to_owned()
        } else {
            format!(
                "searched on {} for {:.1} s",
                names.join(", "),
                self.waited.as_secs_f64()
            )
        });
        for (interface, why) in &self.skipped {
            lines.push(format!("skipped {} ({}): {why}", interface.name, interface.ip));
        }
        if self.answers == 0 {
            lines.push("no device answered the search at all".to_owned());
        } else {
            lines.push(format!("{} answered", plural(self.answers, "SSDP answer")));
        }
        for (url, interface) in &self.gateways {
            lines.push(format!("a gateway at {url} answered via {interface}"));
        }
        for device in &self.not_gateways {
            lines.push(format!("not a gateway: {device}"));
        }
        for (url, why) in &self.unusable {
            lines.push(format!(
                "a gateway at {url} answered, but its description cannot be used: {why}"
            ));
        }
        lines
    }

    /// What to try next, most likely first.
    pub fn advice(&self) -> Vec<&'static str> {
        let mut advice = Vec::new();
        if !self.unusable.is_empty() {
            advice.push(
                "the router answered but cannot be used as it is: see the reason above; a firmware update may help",
            );
        }
        if self.gateways.is_empty() {
            advice.push("turn on UPnP (sometimes called \"UPnP IGD\" or \"NAT-PMP/UPnP\") in the router's settings");
            if self.answers > 0 && self.unusable.is_empty() {
                advice.push("only other devices answered: this network's router may not offer UPnP, or you are behind another router (mesh or ISP box) that does");
            }
            if self.answers == 0 {
                advice.push("a firewall on this computer may block the answers (UDP from port 1900), or the computer is on a guest network that isolates clients");
            }
            advice
                .push("if you know the router's description URL, enter it (e.g. http://192.168.1.1:5000/rootDesc.xml)");
        }
        advice
    }
}

fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// Searches the way `options` says (multicast: on every usable interface; unicast: from its
/// bind address), listens for the whole timeout, and reports everything that came back.
/// Sends nothing but the searches and one description request per device (at most
/// [`DEVICES_LIMIT`]).
pub fn diagnose(options: &DiscoveryOptions) -> Diagnosis {
    let started = Instant::now();
    let mut diagnosis = Diagnosis::default();
    let multicast = options.search_addr.ip().is_multicast();
    if multicast && options.bind.is_unspecified() {
        for interface in host::interfaces() {
            match interface.virtual_kind {
                Some(kind) => diagnosis
                    .skipped
                    .push((interface, format!("a {kind} adapter: no router is behind it"))),
                None => diagnosis.searched.push(interface),
            }
        }
    } else {
        diagnosis.searched.push(Interface {
            name: if multicast {
                "the chosen interface"
            } else {
                "a unicast search"
            }
            .to_owned(),
            ip: options.bind,
            virtual_kind: None,
        });
    }
    let mut sockets: Vec<(UdpSocket, String)> = Vec::new();
    for interface in &diagnosis.searched {
        match search_socket(interface.ip, multicast, options) {
            Ok(socket) => sockets.push((socket, interface.name.clone())),
            Err(e) => tracing::warn!(interface = %interface.name, %e, "cannot search on this interface"),
        }
    }
    let deadline = started + options.timeout;
    let mut seen = HashSet::new();
    let mut heard: Vec<(SsdpAnswer, String)> = Vec::new();
    let mut buffer = [0u8; 2048];
    while Instant::now() < deadline && !sockets.is_empty() {
        for (socket, name) in &sockets {
            let Ok((len, from)) = socket.recv_from(&mut buffer) else {
                continue;
            };
            diagnosis.answers += 1;
            if let Ok(answer) = ssdp::parse_any_answer(&buffer[..len], from)
                && seen.insert(answer.location.clone())
            {
                heard.push((answer, name.clone()));
            }
        }
    }
    diagnosis.waited = started.elapsed();
    for (answer, interface) in heard.into_iter().take(DEVICES_LIMIT) {
        let url = answer.location.to_string();
        let gateway_options = GatewayOptions {
            request_timeout: options.gateway.request_timeout.min(DESCRIPTION_DEADLINE),
        };
        match Gateway::connect(&url, &gateway_options) {
            Ok(_) => diagnosis
                .gateways
                .push((url, format!("{interface} ({})", answer.from.ip()))),
            Err(UpnpError::NotAGateway { what, .. }) => diagnosis.not_gateways.push(format!("{what} at {url}")),
            Err(e) => diagnosis.unusable.push((url, e.to_string())),
        }
    }
    diagnosis
}

/// A socket that sends the searches from `ip` (out of its interface, for multicast), with a
/// short read timeout so several can be listened to in turn.
fn search_socket(ip: Ipv4Addr, multicast: bool, options: &DiscoveryOptions) -> std::io::Result<UdpSocket> {
    let socket = UdpSocket::bind(SocketAddr::new(IpAddr::V4(ip), 0))?;
    if multicast {
        socket.set_multicast_ttl_v4(2)?;
        if !ip.is_unspecified() {
            socket2::SockRef::from(&socket).set_multicast_if_v4(&ip)?;
        }
    }
    socket.set_read_timeout(Some(Duration::from_millis(20)))?;
    let mx = options.timeout.as_secs().clamp(1, 3);
    for target in std::iter::once("ssdp:all").chain(ssdp::SEARCH_TARGETS) {
        socket.send_to(ssdp::m_search(target, mx).as_bytes(), options.search_addr)?;
    }
    Ok(socket)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::{SimConfig, SimulatedGateway};

    fn unicast(to: SocketAddr) -> DiscoveryOptions {
        DiscoveryOptions {
            search_addr: to,
            bind: Ipv4Addr::LOCALHOST,
            timeout: Duration::from_millis(300),
            ..Default::default()
        }
    }

    #[test]
    fn silence_is_reported_with_what_to_try() {
        // A port nobody answers on.
        let nobody = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let diagnosis = diagnose(&unicast(nobody));
        assert_eq!(diagnosis.answers, 0);
        let lines = diagnosis.lines();
        assert!(
            lines.iter().any(|l| l == "no device answered the search at all"),
            "{lines:?}"
        );
        assert!(diagnosis.advice().iter().any(|a| a.contains("turn on UPnP")));
        assert!(diagnosis.advice().iter().any(|a| a.contains("firewall")));
    }

    #[test]
    fn a_gateway_that_answers_is_found_with_the_interface_that_reached_it() {
        let router = SimulatedGateway::start(SimConfig::default()).unwrap();
        let diagnosis = diagnose(&unicast(router.ssdp_addr()));
        assert_eq!(diagnosis.gateways.len(), 1, "{diagnosis:?}");
        assert_eq!(diagnosis.gateways[0].0, router.description_url());
        assert!(diagnosis.advice().is_empty());
    }
}
