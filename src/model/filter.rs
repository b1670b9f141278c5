//! Choosing mappings by their fields: what disable-all removes.

use serde::{Deserialize, Serialize};

use super::{Mapping, Port, Protocol};

/// Which mappings to act on: a mapping matches when it matches ALL the fields given.
/// An empty filter matches nothing unless `everything` is set, so "remove all" is never an
/// accident.
///
/// ```
/// use portforward::{MappingFilter, Protocol};
/// let filter = MappingFilter { protocol: Some(Protocol::Udp), ..Default::default() };
/// assert!(!filter.is_empty());
/// assert!(MappingFilter::default().is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingFilter {
    /// The external port.
    pub external_port: Option<Port>,
    /// The internal port.
    pub internal_port: Option<Port>,
    /// The internal client, exactly.
    pub internal_ip: Option<String>,
    /// TCP or UDP.
    pub protocol: Option<Protocol>,
    /// The description, exactly.
    pub description: Option<String>,
    /// Match every mapping when no field is given (other programs' mappings too).
    pub everything: bool,
}

impl MappingFilter {
    /// Whether no field is given.
    pub fn is_empty(&self) -> bool {
        self.external_port.is_none()
            && self.internal_port.is_none()
            && self.internal_ip.is_none()
            && self.protocol.is_none()
            && self.description.is_none()
    }

    /// Whether `mapping` matches every field given (and, for an empty filter, whether
    /// `everything` is set).
    pub fn matches(&self, mapping: &Mapping) -> bool {
        if self.is_empty() {
            return self.everything;
        }
        self.external_port.is_none_or(|p| p == mapping.external_port)
            && self.internal_port.is_none_or(|p| p == mapping.internal_port)
            && self
                .internal_ip
                .as_ref()
                .is_none_or(|ip| *ip == mapping.internal_client)
            && self.protocol.is_none_or(|p| p == mapping.protocol)
            && self
                .description
                .as_ref()
                .is_none_or(|d| d == mapping.description.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Description, Lease};

    fn mapping(port: u16, protocol: Protocol, client: &str, desc: &str) -> Mapping {
        Mapping {
            protocol,
            external_port: Port::new(port).unwrap(),
            internal_client: client.into(),
            internal_port: Port::new(port).unwrap(),
            description: Description::from_router(desc.into()),
            enabled: true,
            remote_host: String::new(),
            lease: Lease::PERMANENT,
        }
    }

    #[test]
    fn all_given_fields_must_match_and_numbers_compare_as_numbers() {
        let filter = MappingFilter {
            internal_ip: Some("192.168.1.5".into()),
            protocol: Some(Protocol::Udp),
            ..Default::default()
        };
        assert!(filter.matches(&mapping(5000, Protocol::Udp, "192.168.1.5", "x")));
        assert!(!filter.matches(&mapping(5000, Protocol::Tcp, "192.168.1.5", "x")));
        assert!(!filter.matches(&mapping(5000, Protocol::Udp, "192.168.1.6", "x")));
        let by_port = MappingFilter {
            external_port: Some(Port::new(5000).unwrap()),
            ..Default::default()
        };
        assert!(by_port.matches(&mapping(5000, Protocol::Tcp, "a", "b")));
    }

    #[test]
    fn an_empty_filter_matches_nothing_unless_everything_is_meant() {
        let m = mapping(1, Protocol::Tcp, "a", "b");
        assert!(!MappingFilter::default().matches(&m));
        assert!(
            MappingFilter {
                everything: true,
                ..Default::default()
            }
            .matches(&m)
        );
    }
}
