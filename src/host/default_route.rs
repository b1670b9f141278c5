//! The system's default gateway: where NAT-PMP and PCP requests go.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::HostError;

/// The system's default IPv4 gateway: the gateway of the interface that holds this computer's
/// outgoing address, from the system's own tables (netlink on Linux, `GetAdaptersAddresses` on
/// Windows, the routing socket on macOS, through netdev). Nothing is sent on the network.
pub fn default_gateway() -> Result<Ipv4Addr, HostError> {
    let no_gateway = |reason: String| HostError::NoDefaultGateway { reason };
    let device = netdev::get_default_gateway().map_err(|reason| no_gateway(reason.to_lowercase()))?;
    device
        .ipv4
        .iter()
        .copied()
        .find(|ip| !ip.is_unspecified())
        .ok_or_else(|| no_gateway("the default gateway has no IPv4 address".to_owned()))
}

/// The router of the IPv6 default route, where PCP requests for IPv6 pinholes go, with the
/// scope (interface index) a link-local one needs (0 for a global one). A global next hop is
/// preferred: the kernel's default route (Linux), else the gateways netdev reads from the
/// system's tables. Nothing is sent on the network.
pub fn default_ipv6_gateway() -> Result<(Ipv6Addr, u32), HostError> {
    if let Some(router) = super::default_ipv6_router().filter(|ip| !ip.is_unicast_link_local()) {
        return Ok((router, 0));
    }
    let mut link_local = None;
    for interface in netdev::get_interfaces() {
        let Some(gateway) = &interface.gateway else { continue };
        for ip in gateway.ipv6.iter().copied().filter(|ip| !ip.is_unspecified()) {
            if !ip.is_unicast_link_local() {
                return Ok((ip, 0));
            }
            link_local.get_or_insert((ip, interface.index));
        }
    }
    link_local.ok_or_else(|| HostError::NoDefaultGateway {
        reason: "there is no IPv6 default route (no IPv6 router on this network?)".to_owned(),
    })
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The gateway of the default route in the text of `/proc/net/route` (hexadecimal, in the
    /// machine's byte order: little-endian on every platform Linux runs this on): the kernel's
    /// own answer, to check netdev's against.
    fn default_gateway_in(routes: &str) -> Option<Ipv4Addr> {
        routes.lines().skip(1).find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (destination, gateway, flags) = (fields.get(1)?, fields.get(2)?, fields.get(3)?);
            let up_and_gateway = u16::from_str_radix(flags, 16).ok()? & 0x3 == 0x3;
            if *destination != "00000000" || !up_and_gateway {
                return None;
            }
            let raw = u32::from_str_radix(gateway, 16).ok()?;
            Some(Ipv4Addr::from(raw.to_le_bytes()))
        })
    }

    #[test]
    fn the_default_gateway_is_the_one_the_kernel_routes_through() {
        // Reads the routing tables only; no packet leaves this computer.
        let routes = std::fs::read_to_string("/proc/net/route").unwrap();
        match (default_gateway_in(&routes), default_gateway()) {
            (Some(kernel), found) => assert_eq!(found.ok(), Some(kernel), "{routes}"),
            (None, found) => {
                let err = found.expect_err("no default route, so no gateway");
                assert!(err.to_string().contains("gateway"), "{err}");
            }
        }
    }
}
