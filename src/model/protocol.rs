//! TCP or UDP.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::input::InputError;

/// The transport protocol of a mapping.
///
/// ```
/// use portforward::Protocol;
/// assert_eq!("udp".parse::<Protocol>().unwrap(), Protocol::Udp);
/// assert!("XYZ".parse::<Protocol>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
pub enum Protocol {
    /// TCP.
    #[default]
    #[serde(rename = "TCP", alias = "tcp")]
    Tcp,
    /// UDP.
    #[serde(rename = "UDP", alias = "udp")]
    Udp,
}

impl Protocol {
    /// Both protocols, in display order.
    pub const ALL: [Protocol; 2] = [Protocol::Tcp, Protocol::Udp];

    /// The name used on the wire: `TCP` or `UDP`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
        }
    }

    /// Parses user input for the field named `field`.
    pub fn parse_field(field: &'static str, text: &str) -> Result<Protocol, InputError> {
        match text.trim().to_ascii_uppercase().as_str() {
            "TCP" => Ok(Protocol::Tcp),
            "UDP" => Ok(Protocol::Udp),
            _ => Err(InputError::new(field, text, "the protocol must be TCP or UDP")),
        }
    }
}

impl FromStr for Protocol {
    type Err = InputError;
    fn from_str(text: &str) -> Result<Protocol, InputError> {
        Protocol::parse_field("protocol", text)
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_accepts_only_tcp_and_udp() {
        assert_eq!(Protocol::parse_field("p", "tcp").unwrap(), Protocol::Tcp);
        assert_eq!(Protocol::parse_field("p", "UDP").unwrap(), Protocol::Udp);
        assert!(Protocol::parse_field("p", "XYZ").is_err());
        assert!(Protocol::parse_field("p", "").is_err());
    }
}
