//! A TCP or UDP port number, validated.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::input::InputError;

/// A TCP or UDP port number, 1–65535 (0 is never a valid mapping port).
///
/// ```
/// use portforward::Port;
/// assert_eq!("8080".parse::<Port>().unwrap().get(), 8080);
/// assert!("0".parse::<Port>().is_err());
/// assert!("70000".parse::<Port>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u16")]
pub struct Port(u16);

impl Port {
    /// A port from a number; `None` for 0.
    pub const fn new(value: u16) -> Option<Port> {
        if value == 0 { None } else { Some(Port(value)) }
    }

    /// The port number.
    pub const fn get(self) -> u16 {
        self.0
    }

    /// Parses user input for the field named `field`, with an error that names the field.
    pub fn parse_field(field: &'static str, text: &str) -> Result<Port, InputError> {
        let text = text.trim();
        let invalid = |reason: &str| InputError::new(field, text, reason);
        if text.is_empty() {
            return Err(invalid("enter a port number from 1 to 65535"));
        }
        let number: i64 = text
            .parse()
            .map_err(|_| invalid("a port is a whole number from 1 to 65535"))?;
        u16::try_from(number)
            .ok()
            .and_then(Port::new)
            .ok_or_else(|| invalid("a port must be from 1 to 65535"))
    }
}

impl TryFrom<u32> for Port {
    type Error = InputError;
    fn try_from(value: u32) -> Result<Port, InputError> {
        Port::parse_field("port", &value.to_string())
    }
}

impl From<Port> for u16 {
    fn from(port: Port) -> u16 {
        port.0
    }
}

impl FromStr for Port {
    type Err = InputError;
    fn from_str(text: &str) -> Result<Port, InputError> {
        Port::parse_field("port", text)
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_outside_the_range_name_the_field() {
        for bad in ["0", "65536", "70000", "-1", "abc", "", "8080.5"] {
            let err = Port::parse_field("external port", bad).unwrap_err();
            assert_eq!(err.field, "external port", "{bad}");
        }
        assert_eq!(Port::parse_field("p", " 65535 ").unwrap().get(), 65535);
        assert_eq!(Port::parse_field("p", "1").unwrap().get(), 1);
    }
}
