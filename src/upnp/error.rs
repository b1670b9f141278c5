//! What can go wrong talking UPnP to a gateway, typed by cause. Messages say what happened
//! and what the user can do about it, in words that fit every front end; the command line and
//! the window add their own hints (a flag, a button).

use std::fmt;
use std::time::Duration;

use crate::model::MappingKey;

/// A UPnP error code from a SOAP fault, by number (never by its text, which varies by router).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UpnpCode {
    /// 401: the router does not know this action.
    InvalidAction,
    /// 402: invalid arguments (also: lease refused, table full).
    InvalidArgs,
    /// 501: the action failed on the router.
    ActionFailed,
    /// 605: a string (usually the description) is too long.
    StringTooLong,
    /// 606: not authorized (secure mode, or a port the router protects).
    NotAuthorized,
    /// 713: the index is past the end of the table.
    ArrayIndexInvalid,
    /// 714: no such mapping.
    NoSuchEntry,
    /// 715 or 716: the router does not accept wildcards here.
    WildcardNotPermitted,
    /// 718: the port is held by another mapping.
    Conflict,
    /// 724: the router requires external port = internal port.
    SamePortValuesRequired,
    /// 725: the router accepts only permanent leases.
    OnlyPermanentLeases,
    /// 726 or 727: the router requires a wildcard here.
    WildcardRequired,
    /// 728: no free ports left.
    NoPortsAvailable,
    /// 729: conflict with another mechanism (e.g. NAT-PMP).
    ConflictWithOtherMechanisms,
    /// 730: port mapping not found (IGD:2 range calls).
    MappingNotFound,
    /// 733: inconsistent parameters (IGD:2 range calls).
    InconsistentParameters,
    /// Any other code.
    Other(u16),
}

impl UpnpCode {
    /// The code for a number.
    pub fn from_number(code: u16) -> UpnpCode {
        match code {
            401 => UpnpCode::InvalidAction,
            402 => UpnpCode::InvalidArgs,
            501 => UpnpCode::ActionFailed,
            605 => UpnpCode::StringTooLong,
            606 => UpnpCode::NotAuthorized,
            713 => UpnpCode::ArrayIndexInvalid,
            714 => UpnpCode::NoSuchEntry,
            715 | 716 => UpnpCode::WildcardNotPermitted,
            718 => UpnpCode::Conflict,
            724 => UpnpCode::SamePortValuesRequired,
            725 => UpnpCode::OnlyPermanentLeases,
            726 | 727 => UpnpCode::WildcardRequired,
            728 => UpnpCode::NoPortsAvailable,
            729 => UpnpCode::ConflictWithOtherMechanisms,
            730 => UpnpCode::MappingNotFound,
            733 => UpnpCode::InconsistentParameters,
            other => UpnpCode::Other(other),
        }
    }

    /// What the user can do about it.
    fn advice(self) -> &'static str {
        match self {
            UpnpCode::InvalidAction => "the router does not support this action",
            UpnpCode::InvalidArgs => {
                "the router refused the arguments (some refuse finite or permanent leases, or have a full table)"
            }
            UpnpCode::ActionFailed => {
                "the router could not do it; if its WAN address is private it is behind another NAT and cannot forward"
            }
            UpnpCode::StringTooLong => "use a shorter description",
            UpnpCode::NotAuthorized => {
                "the router does not allow this: it may protect ports below 1024, or run in secure mode, where a host may only change its own mappings"
            }
            UpnpCode::ArrayIndexInvalid => "there is no entry at that index",
            UpnpCode::NoSuchEntry => "there is no such mapping on the router; refresh the table",
            UpnpCode::WildcardNotPermitted => "the router needs a specific remote host or port here",
            UpnpCode::Conflict => "choose another external port, or remove the other mapping first",
            UpnpCode::SamePortValuesRequired => "this router needs the external and internal port to be equal",
            UpnpCode::OnlyPermanentLeases => "this router accepts only permanent mappings (lease 0)",
            UpnpCode::WildcardRequired => "this router only accepts an empty remote host",
            UpnpCode::NoPortsAvailable => "the router has no free port left; remove unused mappings",
            UpnpCode::ConflictWithOtherMechanisms => {
                "the port is held through another protocol (NAT-PMP/PCP); choose another"
            }
            UpnpCode::MappingNotFound => "no mapping matched",
            UpnpCode::InconsistentParameters => "the range is inconsistent: the first port must not exceed the last",
            UpnpCode::Other(_) => "the router reported an error this program does not know",
        }
    }
}

/// What went wrong with a UPnP gateway.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpnpError {
    /// Discovery found nothing.
    #[error(
        "no UPnP gateway answered within {:.1} s: check that UPnP (IGD) is enabled on your router",
        waited.as_secs_f64()
    )]
    NotFound {
        /// How long discovery waited.
        waited: Duration,
    },
    /// The search itself could not be sent (no usable network interface).
    #[error("cannot send the SSDP search: {reason}: check the network connection")]
    Search {
        /// What the system said.
        reason: String,
    },
    /// The gateway could not be reached or stopped talking.
    #[error("the gateway at {url} {failure}; it may be restarting: retry in a moment")]
    Unreachable {
        /// The URL that was requested.
        url: String,
        /// What happened on the wire.
        failure: HttpFailure,
    },
    /// The gateway answered something that is not a valid reply.
    #[error("the gateway sent an unreadable reply to {action}: {reason}")]
    Malformed {
        /// The request that got the reply.
        action: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The gateway refused with a UPnP error.
    #[error("{}", upnp_message(action, *code, *number, key.as_ref(), holder.as_deref()))]
    Refused {
        /// The SOAP action.
        action: &'static str,
        /// The error, by number.
        code: UpnpCode,
        /// The number as sent.
        number: u16,
        /// The mapping concerned, where there was one.
        key: Option<MappingKey>,
        /// Who holds the port (for conflicts), when known.
        holder: Option<String>,
    },
    /// The device answered but is not an Internet gateway (a media server, a printer, an
    /// access point): what it is.
    #[error("{url} is not an Internet gateway: it is {what}; give the URL of your router's description")]
    NotAGateway {
        /// The description URL.
        url: String,
        /// What the device is, by its type and name (`a MediaServer:1 ("NAS")`).
        what: String,
    },
    /// The gateway does not offer an action.
    #[error("the gateway does not support {action}")]
    Unsupported {
        /// The missing SOAP action.
        action: &'static str,
    },
    /// The entry-by-entry walk went past the cap without an end.
    #[error(
        "the gateway's table did not end after {entries} entries; showing the first {entries} (the router may be repeating itself)"
    )]
    ListDidNotEnd {
        /// Entries read before giving up.
        entries: usize,
    },
}

impl UpnpError {
    /// A refusal with this UPnP error number.
    pub fn refused(action: &'static str, number: u16) -> UpnpError {
        UpnpError::Refused {
            action,
            code: UpnpCode::from_number(number),
            number,
            key: None,
            holder: None,
        }
    }

    /// The UPnP error code, when the gateway sent one.
    pub fn upnp_code(&self) -> Option<UpnpCode> {
        match self {
            UpnpError::Refused { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The UPnP error number as sent, when the gateway sent one.
    pub fn upnp_number(&self) -> Option<u16> {
        match self {
            UpnpError::Refused { number, .. } => Some(*number),
            _ => None,
        }
    }

    /// Whether the gateway could not be reached (as opposed to having refused).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, UpnpError::Unreachable { .. } | UpnpError::NotFound { .. })
    }

    /// Adds the mapping concerned to a UPnP error, for a message that names the port.
    pub fn for_key(mut self, mapping: &MappingKey) -> UpnpError {
        if let UpnpError::Refused { key, .. } = &mut self {
            key.get_or_insert_with(|| mapping.clone());
        }
        self
    }
}

fn upnp_message(action: &str, code: UpnpCode, number: u16, key: Option<&MappingKey>, holder: Option<&str>) -> String {
    match (code, key, holder) {
        (UpnpCode::Conflict, Some(key), Some(holder)) => {
            format!(
                "port {key} is already forwarded to {holder} (error 718): {}",
                code.advice()
            )
        }
        (UpnpCode::Conflict, Some(key), None) => {
            format!(
                "port {key} is already in use on the router (error 718): {}",
                code.advice()
            )
        }
        (_, Some(key), _) => format!("{action} for {key} was refused (error {number}): {}", code.advice()),
        (_, None, _) => format!("{action} was refused (error {number}): {}", code.advice()),
    }
}

/// How an HTTP exchange with the gateway failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpFailure {
    /// Nothing answered within the deadline.
    TimedOut(Duration),
    /// The connection was refused or could not be made.
    Refused(String),
    /// The gateway closed the connection before a full reply.
    Closed,
    /// The reply was larger than we accept.
    TooLarge(usize),
    /// An HTTP status without a SOAP fault.
    Status(u16),
    /// A URL we cannot use.
    BadUrl(String),
    /// Bytes that are not an HTTP reply.
    Garbled,
}

impl fmt::Display for HttpFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpFailure::TimedOut(after) => write!(f, "did not answer within {:.1} s", after.as_secs_f64()),
            HttpFailure::Refused(reason) => write!(f, "refused the connection ({reason})"),
            HttpFailure::Closed => f.write_str("closed the connection mid-reply"),
            HttpFailure::TooLarge(limit) => write!(f, "sent a reply larger than {} KiB", limit / 1024),
            HttpFailure::Status(status) => write!(f, "answered HTTP {status}"),
            HttpFailure::BadUrl(reason) => write!(f, "has an unusable URL ({reason})"),
            HttpFailure::Garbled => f.write_str("answered with something that is not HTTP"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Port, Protocol};

    #[test]
    fn conflict_names_port_and_holder() {
        let err = UpnpError::Refused {
            action: "AddPortMapping",
            code: UpnpCode::from_number(718),
            number: 718,
            key: Some(MappingKey {
                external_port: Port::new(8080).unwrap(),
                protocol: Protocol::Tcp,
                remote_host: String::new(),
            }),
            holder: Some("192.168.1.20".into()),
        };
        assert!(
            err.to_string()
                .starts_with("port 8080/TCP is already forwarded to 192.168.1.20 (error 718)"),
            "{err}"
        );
    }

    #[test]
    fn codes_are_matched_by_number() {
        assert_eq!(UpnpCode::from_number(713), UpnpCode::ArrayIndexInvalid);
        assert_eq!(UpnpCode::from_number(716), UpnpCode::WildcardNotPermitted);
        assert_eq!(UpnpCode::from_number(999), UpnpCode::Other(999));
    }
}
