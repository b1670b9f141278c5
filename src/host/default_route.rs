//! The system's default gateway: where NAT-PMP and PCP requests go.

use std::net::Ipv4Addr;

use super::HostError;

/// The system's default IPv4 gateway (Linux: read from `/proc/net/route`).
pub fn default_gateway() -> Result<Ipv4Addr, HostError> {
    let no_gateway = |reason: String| HostError::NoDefaultGateway { reason };
    #[cfg(target_os = "linux")]
    {
        let routes = std::fs::read_to_string("/proc/net/route").map_err(|e| no_gateway(e.to_string()))?;
        default_gateway_in(&routes).ok_or_else(|| no_gateway("the routing table has no default route".to_owned()))
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err(no_gateway("not known on this system".to_owned()))
    }
}

#[cfg(target_os = "linux")]
/// The gateway of the default route in the text of `/proc/net/route` (hexadecimal, in the
/// machine's byte order: little-endian on every platform Linux runs this on).
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

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn the_default_route_is_read_from_the_routing_table() {
        let routes = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                      eth0\t004DA8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
                      eth0\t00000000\t014DA8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n";
        assert_eq!(default_gateway_in(routes), Some(Ipv4Addr::new(192, 168, 77, 1)));
        assert_eq!(default_gateway_in("Iface\tDestination\n"), None);
    }
}
