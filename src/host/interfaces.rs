//! This computer's network interfaces, and which of them are virtual (a VM host's adapter, a
//! VPN or TAP device, a container bridge): a router is never behind those, so discovery skips
//! them and says so.

use std::net::{IpAddr, Ipv4Addr};

use serde::Serialize;

/// One IPv4 address of this computer, on its interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interface {
    /// The interface's name (`eth0`, `Wi-Fi`, `vboxnet0`).
    pub name: String,
    /// The address on it.
    pub ip: Ipv4Addr,
    /// What kind of virtual adapter it is, when it is one ("VirtualBox", "VPN/TAP", …).
    pub virtual_kind: Option<&'static str>,
}

/// Every non-loopback IPv4 address of this computer with its interface (empty if the system
/// will not say).
pub fn interfaces() -> Vec<Interface> {
    local_ip_address::list_afinet_netifas()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(name, addr)| match addr {
            IpAddr::V4(ip) if !ip.is_loopback() && !ip.is_link_local() => Some(Interface {
                virtual_kind: virtual_kind(&name),
                name,
                ip,
            }),
            _ => None,
        })
        .collect()
}

/// The kind of virtual adapter an interface name says it is (Linux, macOS and Windows names).
pub fn virtual_kind(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    let starts = |prefixes: &[&str]| prefixes.iter().any(|p| lower.starts_with(p));
    if starts(&["vboxnet"]) || lower.contains("virtualbox") {
        Some("VirtualBox")
    } else if starts(&["vmnet"]) || lower.contains("vmware") {
        Some("VMware")
    } else if starts(&["vethernet"]) || lower.contains("hyper-v") {
        Some("Hyper-V")
    } else if starts(&["tun", "tap", "wg", "utun", "ppp", "ipsec", "zt", "tailscale"])
        || lower.contains("vpn")
        || lower.contains("tap-windows")
        || lower.contains("wireguard")
    {
        Some("VPN/TAP")
    } else if starts(&["docker", "br-", "virbr", "lxc", "lxd", "podman", "cni", "flannel"]) {
        Some("container or VM bridge")
    } else if starts(&["veth"]) {
        Some("virtual Ethernet (container)")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_adapters_are_recognised_by_name() {
        for (name, kind) in [
            ("vboxnet0", "VirtualBox"),
            ("VirtualBox Host-Only Network", "VirtualBox"),
            ("vEthernet (Default Switch)", "Hyper-V"),
            ("tun0", "VPN/TAP"),
            ("OpenVPN TAP-Windows6", "VPN/TAP"),
            ("wg0", "VPN/TAP"),
            ("docker0", "container or VM bridge"),
        ] {
            assert_eq!(virtual_kind(name), Some(kind), "{name}");
        }
        for real in ["eth0", "enp3s0", "wlan0", "Wi-Fi", "Ethernet", "en0"] {
            assert_eq!(virtual_kind(real), None, "{real}");
        }
    }
}
