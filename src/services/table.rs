//! The table the user sees: the router's UPnP table with the NAT-PMP / PCP mappings made here
//! marked, and added where the router does not list them.

use std::collections::HashMap;

use crate::model::{Mapping, MappingKey};
use crate::port_control::{PortControlMapping, PortControlProtocol};

/// The router's UPnP table with the NAT-PMP / PCP mappings marked, each shown once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MarkedTable {
    /// The rows: the UPnP table, then those of `ours` it does not list.
    pub mappings: Vec<Mapping>,
    /// The rows made through NAT-PMP or PCP, by key.
    pub via: HashMap<MappingKey, PortControlProtocol>,
}

/// Marks the rows of a UPnP table that NAT-PMP or PCP made: ours (`ours` on this gateway) and
/// those the router's description names (miniupnpd lists them as "NAT-PMP …" / "PCP …").
/// Our mappings the table does not list (a router without UPnP, or one that keeps them apart)
/// are added as rows of their own.
pub fn mark_port_control(upnp: Vec<Mapping>, ours: &[PortControlMapping]) -> MarkedTable {
    let mut via: HashMap<MappingKey, PortControlProtocol> = upnp
        .iter()
        .filter_map(|m| Some((m.key(), PortControlProtocol::from_description(m.description.as_str())?)))
        .collect();
    let mut mappings = upnp;
    let listed: HashMap<MappingKey, usize> = mappings.iter().enumerate().map(|(i, m)| (m.key(), i)).collect();
    for mine in ours.iter().filter(|m| m.seconds_left() > 0) {
        match listed.get(&mine.key()) {
            Some(&i) if mappings[i].internal_client == mine.internal_ip.to_string() => {
                via.insert(mine.key(), mine.via);
            }
            // The port is someone else's now: ours has gone (the router rebooted?).
            Some(_) => {}
            None => {
                via.insert(mine.key(), mine.via);
                mappings.push(mine.as_mapping());
            }
        }
    }
    MarkedTable { mappings, via }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Description, Lease, Port, Protocol};

    fn ours(external: u16, via: PortControlProtocol) -> PortControlMapping {
        PortControlMapping::sample(external, via)
    }

    #[test]
    fn port_control_rows_are_shown_once_and_marked() {
        let listed = |port: u16, client: &str, description: &str| Mapping {
            protocol: Protocol::Tcp,
            external_port: Port::new(port).unwrap(),
            internal_client: client.to_owned(),
            internal_port: Port::new(port).unwrap(),
            description: Description::from_router(description.to_owned()),
            enabled: true,
            remote_host: String::new(),
            lease: Lease::from_router(500),
        };
        let upnp = vec![
            listed(6000, "192.168.77.10", "NAT-PMP 6000 tcp"),
            listed(6001, "192.168.77.11", "PCP MAP 0a0b0c"),
            listed(8080, "192.168.77.10", "web"),
            listed(9000, "192.168.77.11", "someone else's now"),
        ];
        let table = mark_port_control(
            upnp,
            &[
                ours(6000, PortControlProtocol::NatPmp),
                ours(7000, PortControlProtocol::Pcp),
                ours(9000, PortControlProtocol::Pcp),
            ],
        );
        let ports: Vec<u16> = table.mappings.iter().map(|m| m.external_port.get()).collect();
        assert_eq!(ports, [6000, 6001, 8080, 9000, 7000], "each once; ours unlisted added");
        let key = |p: u16| {
            table
                .mappings
                .iter()
                .find(|m| m.external_port.get() == p)
                .unwrap()
                .key()
        };
        assert_eq!(table.via.get(&key(6000)), Some(&PortControlProtocol::NatPmp));
        assert_eq!(
            table.via.get(&key(6001)),
            Some(&PortControlProtocol::Pcp),
            "by description"
        );
        assert_eq!(table.via.get(&key(7000)), Some(&PortControlProtocol::Pcp));
        assert_eq!(table.via.get(&key(8080)), None);
        assert_eq!(table.via.get(&key(9000)), None, "the port is another host's now");
        assert_eq!(table.mappings[4].description.as_str(), "made via PCP");
    }
}
