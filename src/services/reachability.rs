//! Whether forwards on a router can be reached from the Internet at all, judged by the
//! external address it reports.

use std::net::Ipv4Addr;

use serde::Serialize;

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
