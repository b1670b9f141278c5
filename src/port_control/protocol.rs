//! Which protocol made a mapping, and which one to speak.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::InputError;

/// Which protocol made a mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PortControlProtocol {
    /// Port Control Protocol (RFC 6887), NAT-PMP's successor.
    #[serde(rename = "PCP")]
    Pcp,
    /// NAT Port Mapping Protocol (RFC 6886).
    #[serde(rename = "NAT-PMP")]
    NatPmp,
}

impl PortControlProtocol {
    /// "PCP" or "NAT-PMP".
    pub const fn as_str(self) -> &'static str {
        match self {
            PortControlProtocol::Pcp => "PCP",
            PortControlProtocol::NatPmp => "NAT-PMP",
        }
    }

    /// The protocol a router's description names: miniupnpd lists NAT-PMP mappings in its UPnP
    /// table as "NAT-PMP 6000 tcp" and PCP ones as "PCP MAP <nonce>".
    pub fn from_description(description: &str) -> Option<PortControlProtocol> {
        if description.starts_with("NAT-PMP ") {
            Some(PortControlProtocol::NatPmp)
        } else if description.starts_with("PCP ") {
            Some(PortControlProtocol::Pcp)
        } else {
            None
        }
    }
}

impl fmt::Display for PortControlProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which protocol to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum PortControlMode {
    /// PCP, falling back to NAT-PMP when the router does not answer PCP or says it only knows NAT-PMP.
    #[default]
    Auto,
    /// PCP only.
    Pcp,
    /// NAT-PMP only.
    NatPmp,
}

impl PortControlMode {
    /// Every mode, in menu order.
    pub const ALL: [PortControlMode; 3] = [PortControlMode::Auto, PortControlMode::Pcp, PortControlMode::NatPmp];

    /// Parses user input: `auto`, `pcp` or `nat-pmp` (`natpmp`).
    pub fn parse_field(field: &'static str, text: &str) -> Result<PortControlMode, InputError> {
        match text.trim().to_ascii_lowercase().replace(['-', '_'], "").as_str() {
            "auto" | "" => Ok(PortControlMode::Auto),
            "pcp" => Ok(PortControlMode::Pcp),
            "natpmp" => Ok(PortControlMode::NatPmp),
            _ => Err(InputError::new(field, text, "choose auto, pcp or nat-pmp")),
        }
    }
}

impl fmt::Display for PortControlMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PortControlMode::Auto => "PCP, else NAT-PMP",
            PortControlMode::Pcp => "PCP",
            PortControlMode::NatPmp => "NAT-PMP",
        })
    }
}
