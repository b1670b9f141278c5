//! This computer's IPv6 addresses, and the one to open a pinhole for.
//!
//! A pinhole opens one address. The right one is the address the system uses towards the
//! router (the route decides, as for IPv4), but a stable one: privacy ("temporary")
//! addresses change every day or so, and a pinhole for one dies with it; link-local
//! addresses are not reachable from outside; a deprecated address is on its way out. On
//! Linux the flags come from `/proc/net/if_inet6`; elsewhere every address counts as stable.

use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6, UdpSocket};

use serde::Serialize;

use super::HostError;
use crate::model::{InputError, check_ipv6};

/// One IPv6 address of this computer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocalIpv6 {
    /// The address.
    pub ip: Ipv6Addr,
    /// The interface that holds it.
    pub interface: String,
    /// The interface's index (the scope for multicast on it); 0 where unknown.
    pub index: u32,
    /// A privacy (temporary) address, RFC 8981.
    pub temporary: bool,
    /// Deprecated: still works, no longer preferred for new connections.
    pub deprecated: bool,
    /// Still being checked for duplicates (not usable yet).
    pub tentative: bool,
}

impl LocalIpv6 {
    /// Whether a pinhole may be opened for it: global scope (or unique local), not
    /// link-local, not temporary, not deprecated or tentative, not loopback.
    pub fn is_stable_global(&self) -> bool {
        !self.temporary
            && !self.deprecated
            && !self.tentative
            && !self.ip.is_loopback()
            && check_ipv6("internal-ip", self.ip).is_ok()
    }
}

/// Every IPv6 address of this computer, with its flags where the system tells them.
pub fn local_ipv6_addresses() -> Vec<LocalIpv6> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Ok(text) = std::fs::read_to_string("/proc/net/if_inet6") {
        return parse_if_inet6(&text);
    }
    local_ip_address::list_afinet_netifas()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(name, addr)| match addr {
            IpAddr::V6(ip) => Some(LocalIpv6 {
                ip,
                interface: name,
                index: 0,
                temporary: false,
                deprecated: false,
                tentative: false,
            }),
            IpAddr::V4(_) => None,
        })
        .collect()
}

/// Reads Linux's `/proc/net/if_inet6`: `ADDRESS IFINDEX PREFIXLEN SCOPE FLAGS NAME` in hex.
/// A pure parser, tested on every system, used on Linux only.
#[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
fn parse_if_inet6(text: &str) -> Vec<LocalIpv6> {
    const TEMPORARY: u32 = 0x01;
    const DEPRECATED: u32 = 0x20;
    const TENTATIVE: u32 = 0x40;
    text.lines()
        .take(4096)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [hex, index, _prefix, _scope, flags, name] = fields.as_slice() else {
                return None;
            };
            let bits = u128::from_str_radix(hex, 16).ok().filter(|_| hex.len() == 32)?;
            let flags = u32::from_str_radix(flags, 16).ok()?;
            Some(LocalIpv6 {
                ip: Ipv6Addr::from(bits),
                interface: (*name).to_owned(),
                index: u32::from_str_radix(index, 16).unwrap_or(0),
                temporary: flags & TEMPORARY != 0,
                deprecated: flags & DEPRECATED != 0,
                tentative: flags & TENTATIVE != 0,
            })
        })
        .collect()
}

/// The IPv6 address the route towards `router` uses. Sends nothing: a UDP "connect" only
/// asks the routing table.
pub fn ipv6_source_towards(router: Ipv6Addr) -> Result<Ipv6Addr, HostError> {
    ipv6_source_towards_scoped(router, 0)
}

/// [`ipv6_source_towards`] for a router that may be link-local, on interface `scope`.
pub fn ipv6_source_towards_scoped(router: Ipv6Addr, scope: u32) -> Result<Ipv6Addr, HostError> {
    let no_address = |reason: String| HostError::NoLocalAddress { reason };
    let socket = UdpSocket::bind((Ipv6Addr::UNSPECIFIED, 0)).map_err(|e| no_address(format!("no IPv6: {e}")))?;
    socket
        .connect(SocketAddr::V6(SocketAddrV6::new(router, 9, 0, scope)))
        .map_err(|e| no_address(format!("no IPv6 route to {router}: {e}")))?;
    match socket.local_addr().map_err(|e| no_address(e.to_string()))?.ip() {
        IpAddr::V6(ip) => Ok(ip),
        IpAddr::V4(ip) => Err(no_address(format!("the route to {router} uses IPv4 ({ip})"))),
    }
}

/// The address to open a pinhole for when talking to `router`: the route's own source if it
/// is stable (or the router is this computer's loopback, as the simulator is), else a stable
/// global address on the same interface.
pub fn pinhole_address_towards(router: Ipv6Addr) -> Result<Ipv6Addr, HostError> {
    let source = ipv6_source_towards(router)?;
    if source.is_loopback() && router.is_loopback() {
        return Ok(source);
    }
    choose_stable(source, &local_ipv6_addresses())
}

/// Whether `source` (the address a request to the router leaves from) is one to open: stable
/// and global, or loopback towards a loopback router. A request that cannot choose its source
/// address (PCP's, whose client field must equal it) needs this to hold.
pub fn is_openable_source(source: Ipv6Addr, router: Ipv6Addr) -> bool {
    (source.is_loopback() && router.is_loopback())
        || choose_stable(source, &local_ipv6_addresses()).is_ok_and(|chosen| chosen == source)
}

fn choose_stable(source: Ipv6Addr, addresses: &[LocalIpv6]) -> Result<Ipv6Addr, HostError> {
    let found = addresses.iter().find(|a| a.ip == source);
    if found.is_none_or(LocalIpv6::is_stable_global) && check_ipv6("internal-ip", source).is_ok() {
        return Ok(source);
    }
    let interface = found.map(|a| a.interface.as_str());
    addresses
        .iter()
        .filter(|a| a.is_stable_global())
        .find(|a| Some(a.interface.as_str()) == interface)
        .map(|a| a.ip)
        .ok_or_else(|| HostError::NoLocalAddress {
            reason: format!(
                "the route uses {source}, a temporary, deprecated or link-local address, and {} has no stable global IPv6 address",
                interface.unwrap_or("its interface")
            ),
        })
}

/// The next hop of the IPv6 default route (Linux: `/proc/net/ipv6_route`), the router's
/// address to use when its description was found over IPv4. A link-local next hop (the usual
/// case with router adverts) is returned too; the caller decides whether it can use it.
pub fn default_ipv6_router() -> Option<Ipv6Addr> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let text = std::fs::read_to_string("/proc/net/ipv6_route").ok()?;
        parse_ipv6_route(&text)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        None
    }
}

/// The default route's next hop in `/proc/net/ipv6_route`, a global one preferred.
#[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
fn parse_ipv6_route(text: &str) -> Option<Ipv6Addr> {
    let hops: Vec<Ipv6Addr> = text
        .lines()
        .take(65_536)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 10 || fields[0] != "0".repeat(32) || fields[1] != "00" {
                return None;
            }
            let hop = Ipv6Addr::from(u128::from_str_radix(fields[4], 16).ok()?);
            (!hop.is_unspecified()).then_some(hop)
        })
        .collect();
    hops.iter()
        .find(|h| !h.is_unicast_link_local())
        .or(hops.first())
        .copied()
}

/// Checks that `addr` can be opened by this computer: a global (or unique local) unicast
/// address held by one of its interfaces. The error names `field`.
pub fn check_own_ipv6(field: &'static str, addr: Ipv6Addr) -> Result<Ipv6Addr, InputError> {
    let addr = check_ipv6(field, addr)?;
    let ours = local_ipv6_addresses();
    match ours.iter().find(|a| a.ip == addr) {
        // The loopback address is this computer's too (the simulator runs there).
        _ if addr.is_loopback() && ours.iter().any(|a| a.ip.is_loopback()) => Ok(addr),
        Some(_) => Ok(addr),
        None => Err(InputError::new(
            field,
            &addr.to_string(),
            "not an IPv6 address of this computer: the router opens only the address the request comes from",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
00000000000000000000000000000001 01 80 10 80       lo
20010db8007700000000000000000010 02 40 00 80     eth0
20010db80077000012345678abcdef01 02 40 00 01     eth0
20010db8007700000000000000000020 02 40 00 20     eth0
fe800000000000000000000000000001 02 40 20 80     eth0
";

    #[test]
    fn the_flags_of_linux_addresses_are_read() {
        let list = parse_if_inet6(SAMPLE);
        assert_eq!(list.len(), 5);
        assert_eq!(list[1].ip.to_string(), "2001:db8:77::10");
        assert!(list[1].is_stable_global());
        assert!(list[2].temporary && !list[2].is_stable_global());
        assert!(list[3].deprecated && !list[3].is_stable_global());
        assert!(!list[4].is_stable_global(), "link-local");
        assert!(!list[0].is_stable_global(), "loopback");
    }

    #[test]
    fn a_temporary_source_gives_way_to_the_stable_address_beside_it() {
        let list = parse_if_inet6(SAMPLE);
        let temporary = list[2].ip;
        assert_eq!(choose_stable(temporary, &list).unwrap().to_string(), "2001:db8:77::10");
        assert_eq!(choose_stable(list[1].ip, &list).unwrap(), list[1].ip);
        let only_temporary = vec![list[2].clone()];
        assert!(choose_stable(temporary, &only_temporary).is_err());
    }

    #[test]
    fn the_default_route_names_the_router() {
        let table = "\
00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 20010db8007700000000000000000001 00000400 00000001 00000000 00000003     eth0
20010db8007700000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0
";
        assert_eq!(parse_ipv6_route(table).unwrap().to_string(), "2001:db8:77::1");
        assert_eq!(parse_ipv6_route(""), None);
    }

    #[test]
    fn loopback_is_ours_and_a_documentation_address_is_not() {
        assert!(check_own_ipv6("internal-ip", Ipv6Addr::LOCALHOST).is_ok());
        let err = check_own_ipv6("internal-ip", "2001:db8:dead::beef".parse().unwrap()).unwrap_err();
        assert_eq!(err.field, "internal-ip");
        assert!(err.reason.contains("not an IPv6 address of this computer"));
    }
}
