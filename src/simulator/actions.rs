//! The SOAP actions with miniupnpd 2.3.1's rules: lenient parsing, then the router's checks.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use super::faults::Fault;
use super::soap::Call;
use super::table::{Entry, Proto, expiry};
use super::xml::{escape, has_v2_actions};
use super::{SimConfig, State};

/// The longest lease an IGD:2 gateway grants; 0 and anything longer become this.
const MAX_LEASE: u32 = 604_800;

/// A UPnP error code with miniupnpd's wording.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct UpnpError {
    pub(crate) code: u16,
    pub(crate) description: String,
}

fn error(code: u16) -> UpnpError {
    let description = match code {
        401 => "Invalid Action",
        402 => "Invalid Args",
        501 => "Action Failed",
        606 => "Action not authorized",
        713 => "SpecifiedArrayIndexInvalid",
        714 => "NoSuchEntryInArray",
        716 => "WildCardNotPermittedInExtPort",
        718 => "ConflictInMappingEntry",
        725 => "OnlyPermanentLeasesSupported",
        728 => "NoPortMapsAvailable",
        730 => "PortMappingNotFound",
        733 => "InconsistentParameter",
        _ => "Error",
    };
    UpnpError {
        code,
        description: description.to_string(),
    }
}

/// Output arguments in reply order.
pub(crate) type Args = Vec<(&'static str, String)>;

/// What an action does to the connection.
pub(crate) enum Outcome {
    Reply(Result<Args, UpnpError>),
    /// Close the connection without a reply and die ([`Fault::ListCrashes`]).
    Crash,
}

/// Runs an action of the WAN connection service against the table.
pub(crate) fn execute(config: &SimConfig, state: &mut State, call: &Call, requester: IpAddr, now: Instant) -> Outcome {
    state.table.purge(now);
    let mut action = Action {
        config,
        state,
        call,
        requester,
        now,
    };
    let v2 = has_v2_actions(config);
    let result = match call.action.as_str() {
        "GetStatusInfo" => Ok(action.status_info()),
        "GetExternalIPAddress" => Ok(vec![("NewExternalIPAddress", config.external_ip.clone())]),
        "AddPortMapping" => action.add(),
        "DeletePortMapping" => action.delete(),
        "GetGenericPortMappingEntry" => action.generic_entry(),
        "GetSpecificPortMappingEntry" => action.specific_entry(),
        "AddAnyPortMapping" if v2 => action.add_any(),
        "DeletePortMappingRange" if v2 => match action.delete_range() {
            Some(result) => result,
            None => return Outcome::Crash,
        },
        "GetListOfPortMappings" if v2 => match action.list() {
            Some(result) => result,
            None => return Outcome::Crash,
        },
        _ => Err(error(401)),
    };
    Outcome::Reply(result)
}

/// Runs an action of WANCommonInterfaceConfig (only what clients commonly ask).
pub(crate) fn execute_common(call: &Call) -> Outcome {
    Outcome::Reply(match call.action.as_str() {
        "GetCommonLinkProperties" => Ok(vec![
            ("NewWANAccessType", "Ethernet".to_string()),
            ("NewLayer1UpstreamMaxBitRate", "100000000".to_string()),
            ("NewLayer1DownstreamMaxBitRate", "1000000000".to_string()),
            ("NewPhysicalLinkStatus", "Up".to_string()),
        ]),
        _ => Err(error(401)),
    })
}

struct Action<'a> {
    config: &'a SimConfig,
    state: &'a mut State,
    call: &'a Call,
    requester: IpAddr,
    now: Instant,
}

impl Action<'_> {
    fn has_fault(&self, wanted: impl Fn(&Fault) -> bool) -> bool {
        self.state.faults.iter().any(wanted)
    }

    fn status_info(&self) -> Args {
        let uptime = self.now.saturating_duration_since(self.state.started).as_secs();
        vec![
            ("NewConnectionStatus", "Connected".to_string()),
            ("NewLastConnectionError", "ERROR_NONE".to_string()),
            ("NewUptime", uptime.to_string()),
        ]
    }

    /// NewInternalClient as miniupnpd reads it: leading spaces trimmed; empty or not an IPv4 address -> 402.
    fn internal_client(&self) -> Result<Ipv4Addr, UpnpError> {
        let client = self.call.arg("NewInternalClient").unwrap_or("").trim_start_matches(' ');
        client.parse().map_err(|_| error(402))
    }

    /// The lease to store: the quirks look at the requested value, then IGD:2 clamps 0 and > 604800.
    fn lease(&self) -> Result<u32, UpnpError> {
        let requested = self.call.arg("NewLeaseDuration").map_or(0, |text| atoi(text) as u32);
        if self.config.only_permanent_leases && requested != 0 {
            return Err(error(725));
        }
        if self.config.refuse_permanent_lease && requested == 0 {
            return Err(error(402));
        }
        if self.config.igd_version >= 2 && (requested == 0 || requested > MAX_LEASE) {
            return Ok(MAX_LEASE);
        }
        Ok(requested)
    }

    fn entry(&self, external_port: u16, proto: Proto, internal_port: u16, client: Ipv4Addr, lease: u32) -> Entry {
        Entry {
            remote_host: self.call.arg("NewRemoteHost").unwrap_or("").to_string(),
            external_port,
            protocol: proto.as_str().to_string(),
            internal_port,
            internal_client: client.to_string(),
            enabled: self.call.arg("NewEnabled").is_none_or(|text| !is_false(text)),
            description: self.call.arg("NewPortMappingDescription").unwrap_or("").to_string(),
            expires: expiry(self.now, lease),
        }
    }

    /// Whether the port is held by a different client (the same client refreshes its own mapping).
    fn taken(&self, external_port: u16, proto: Proto, client: &str) -> bool {
        self.state
            .table
            .find(external_port, proto)
            .and_then(|index| self.state.table.get(index))
            .is_some_and(|entry| entry.internal_client != client)
    }

    fn low_port(&self, port: u16) -> bool {
        self.config.protect_low_ports && port < 1024
    }

    fn add(&mut self) -> Result<Args, UpnpError> {
        let client = self.internal_client()?;
        if self.config.secure_mode && IpAddr::V4(client) != self.requester {
            return Err(error(718));
        }
        let (Some(internal), Some(external), Some(protocol)) = (
            self.call.arg("NewInternalPort"),
            self.call.arg("NewExternalPort"),
            self.call.arg("NewProtocol"),
        ) else {
            return Err(error(402));
        };
        let external_port = c_port(external);
        if external == "*" || external_port == 0 {
            return Err(error(716));
        }
        let internal_port = c_port(internal);
        if internal_port == 0 {
            return Err(error(402));
        }
        let lease = self.lease()?;
        if self.config.external_ip.is_empty() {
            return Err(error(501));
        }
        if self.low_port(external_port) || self.low_port(internal_port) {
            return Err(error(606));
        }
        let proto = Proto::parse(protocol);
        if self.taken(external_port, proto, &client.to_string()) {
            return Err(error(718));
        }
        let entry = self.entry(external_port, proto, internal_port, client, lease);
        self.state.table.upsert(entry);
        Ok(Vec::new())
    }

    fn add_any(&mut self) -> Result<Args, UpnpError> {
        let (Some(_), Some(external), Some(internal), Some(protocol)) = (
            self.call.arg("NewInternalClient"),
            self.call.arg("NewExternalPort"),
            self.call.arg("NewInternalPort"),
            self.call.arg("NewProtocol"),
        ) else {
            return Err(error(402));
        };
        let internal_port = c_port(internal);
        if internal_port == 0 || (external != "*" && !is_numeric(external)) {
            return Err(error(402));
        }
        let client = self.internal_client()?;
        if self.config.secure_mode && IpAddr::V4(client) != self.requester {
            return Err(error(606));
        }
        let lease = self.lease()?;
        if self.config.external_ip.is_empty() {
            return Err(error(501));
        }
        if self.low_port(internal_port) {
            return Err(error(606));
        }
        let requested = if external == "*" { 0 } else { c_port(external) };
        let start = if requested == 0 {
            fastrand::u16(1024..=65535)
        } else {
            requested
        };
        let proto = Proto::parse(protocol);
        let client_text = client.to_string();
        // Search upward from the requested port, wrapping from 65535 to 1.
        let free = (0..65535u32)
            .map(|offset| ((u32::from(start) - 1 + offset) % 65535 + 1) as u16)
            .find(|&port| !self.low_port(port) && !self.taken(port, proto, &client_text));
        let Some(port) = free else {
            return Err(error(728));
        };
        let entry = self.entry(port, proto, internal_port, client, lease);
        self.state.table.upsert(entry);
        Ok(vec![("NewReservedPort", port.to_string())])
    }

    fn delete(&mut self) -> Result<Args, UpnpError> {
        let (Some(external), Some(protocol)) = (self.call.arg("NewExternalPort"), self.call.arg("NewProtocol")) else {
            return Err(error(402));
        };
        let external_port = c_port(external);
        if external_port == 0 {
            return Err(error(402));
        }
        if let Some(index) = self.state.table.find(external_port, Proto::parse(protocol)) {
            let owner = self.state.table.entries()[index].internal_client.parse::<IpAddr>();
            if self.config.secure_mode && owner.is_ok_and(|owner| owner != self.requester) {
                return Err(error(606));
            }
            self.state.table.remove(index);
        }
        // miniupnpd answers 200 for a mapping that does not exist (measured).
        Ok(Vec::new())
    }

    /// The port range and protocol of a range call (DeletePortMappingRange, GetListOfPortMappings),
    /// checked as miniupnpd does: 402 for a missing or non-numeric port, 733 for start > end;
    /// `None` when the gateway crashes ([`Fault::ListCrashes`]).
    fn port_range(&self) -> Option<Result<(u16, u16, Proto), UpnpError>> {
        let (Some(start), Some(end), Some(protocol)) = (
            self.call.arg("NewStartPort"),
            self.call.arg("NewEndPort"),
            self.call.arg("NewProtocol"),
        ) else {
            return Some(Err(error(402)));
        };
        if !is_numeric(start) || !is_numeric(end) {
            return Some(Err(error(402)));
        }
        let (start, end) = (c_port(start), c_port(end));
        if start > end {
            return Some(Err(error(733)));
        }
        if self.has_fault(|fault| *fault == Fault::ListCrashes) {
            return None;
        }
        Some(Ok((start, end, Proto::parse(protocol))))
    }

    /// `None` when the gateway crashes ([`Fault::ListCrashes`]).
    fn delete_range(&mut self) -> Option<Result<Args, UpnpError>> {
        let (start, end, proto) = match self.port_range()? {
            Ok(range) => range,
            Err(e) => return Some(Err(e)),
        };
        let manage = self.call.arg("NewManage").is_some_and(is_true);
        let only_own = self.config.secure_mode && !manage;
        let requester = self.requester;
        let selected = |entry: &Entry| {
            entry.proto() == proto
                && (start..=end).contains(&entry.external_port)
                && (!only_own || entry.internal_client.parse::<IpAddr>().is_ok_and(|ip| ip == requester))
        };
        let before = self.state.table.entries().len();
        self.state.table.retain(|entry| !selected(entry));
        if self.state.table.entries().len() == before {
            return Some(Err(error(730)));
        }
        Some(Ok(Vec::new()))
    }

    fn generic_entry(&self) -> Result<Args, UpnpError> {
        let text = self.call.arg("NewPortMappingIndex").ok_or_else(|| error(402))?;
        let index = strtol(text).ok_or_else(|| error(402))?;
        let entries = self.state.table.entries();
        let duplicated = self.has_fault(|fault| *fault == Fault::DuplicateEntries);
        let found = match usize::try_from(index) {
            Err(_) => None,
            Ok(_) if self.has_fault(|fault| *fault == Fault::EndlessWalk) => entries.first(),
            Ok(index) if duplicated => entries.get(index / 2),
            Ok(index) => entries.get(index),
        };
        let Some(entry) = found else {
            let custom = self.state.faults.iter().find_map(|fault| match fault {
                Fault::WalkEndsWith { code, description } => Some(UpnpError {
                    code: *code,
                    description: description.clone(),
                }),
                _ => None,
            });
            return Err(custom.unwrap_or_else(|| error(713)));
        };
        Ok(vec![
            ("NewRemoteHost", entry.remote_host.clone()),
            ("NewExternalPort", entry.external_port.to_string()),
            ("NewProtocol", entry.protocol.clone()),
            ("NewInternalPort", entry.internal_port.to_string()),
            ("NewInternalClient", entry.internal_client.clone()),
            ("NewEnabled", u8::from(entry.enabled).to_string()),
            ("NewPortMappingDescription", entry.description.clone()),
            ("NewLeaseDuration", entry.remaining(self.now).to_string()),
        ])
    }

    fn specific_entry(&self) -> Result<Args, UpnpError> {
        let (Some(external), Some(protocol)) = (self.call.arg("NewExternalPort"), self.call.arg("NewProtocol")) else {
            return Err(error(402));
        };
        let external_port = c_port(external);
        if external_port == 0 {
            return Err(error(402));
        }
        let table = &self.state.table;
        let entry = table
            .find(external_port, Proto::parse(protocol))
            .and_then(|index| table.get(index))
            .ok_or_else(|| error(714))?;
        Ok(vec![
            ("NewInternalPort", entry.internal_port.to_string()),
            ("NewInternalClient", entry.internal_client.clone()),
            ("NewEnabled", u8::from(entry.enabled).to_string()),
            ("NewPortMappingDescription", entry.description.clone()),
            ("NewLeaseDuration", entry.remaining(self.now).to_string()),
        ])
    }

    /// `None` when the gateway crashes ([`Fault::ListCrashes`]).
    fn list(&mut self) -> Option<Result<Args, UpnpError>> {
        let Some(number) = self.call.arg("NewNumberOfPorts").filter(|n| is_numeric(n)) else {
            return Some(Err(error(402)));
        };
        let (start, end, proto) = match self.port_range()? {
            Ok(range) => range,
            Err(e) => return Some(Err(e)),
        };
        self.state.list_calls += 1;
        let calls = self.state.list_calls;
        if self.has_fault(|fault| matches!(fault, Fault::ListFailsAfter { calls: allowed } if calls > *allowed)) {
            return Some(Err(error(501)));
        }
        let mut selected: Vec<&Entry> = self
            .state
            .table
            .entries()
            .iter()
            .filter(|entry| entry.proto() == proto && (start..=end).contains(&entry.external_port))
            .collect();
        selected.sort_by_key(|entry| entry.external_port);
        if self.has_fault(|fault| *fault == Fault::DuplicateEntries) {
            selected = selected.into_iter().flat_map(|entry| [entry, entry]).collect();
        }
        let asked = usize::try_from(atoi(number)).unwrap_or(0);
        let limit = match (asked, self.config.list_page_limit) {
            (0, 0) => usize::MAX,
            (0, page) | (page, 0) => page,
            (asked, page) => asked.min(page),
        };
        selected.truncate(limit);
        if selected.is_empty() {
            return Some(Err(error(730)));
        }
        Some(Ok(vec![("NewPortListing", port_listing(&selected, self.now))]))
    }
}

/// The PortMappingList document; the reply escapes it again as the value of NewPortListing.
fn port_listing(entries: &[&Entry], now: Instant) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><p:PortMappingList \
         xmlns:p=\"urn:schemas-upnp-org:gw:WANIPConnection\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xsi:schemaLocation=\"urn:schemas-upnp-org:gw:WANIPConnection \
         http://www.upnp.org/schemas/gw/WANIPConnection-v2.xsd\">",
    );
    for entry in entries {
        out.push_str(&format!(
            "<p:PortMappingEntry><p:NewRemoteHost>{}</p:NewRemoteHost><p:NewExternalPort>{}</p:NewExternalPort>\
             <p:NewProtocol>{}</p:NewProtocol><p:NewInternalPort>{}</p:NewInternalPort>\
             <p:NewInternalClient>{}</p:NewInternalClient><p:NewEnabled>{}</p:NewEnabled>\
             <p:NewDescription>{}</p:NewDescription><p:NewLeaseTime>{}</p:NewLeaseTime></p:PortMappingEntry>",
            escape(&entry.remote_host),
            entry.external_port,
            escape(&entry.protocol),
            entry.internal_port,
            escape(&entry.internal_client),
            u8::from(entry.enabled),
            escape(&entry.description),
            entry.remaining(now),
        ));
    }
    out.push_str("</p:PortMappingList>");
    out
}

/// C's `strtol(text, &end, 10)`: leading whitespace, a sign, digits; saturates; `None` without digits.
fn strtol(text: &str) -> Option<i64> {
    let text = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let digits: Vec<u8> = digits.bytes().take_while(u8::is_ascii_digit).collect();
    if digits.is_empty() {
        return None;
    }
    let magnitude = digits.iter().try_fold(0i64, |value, digit| {
        value.checked_mul(10)?.checked_add(i64::from(digit - b'0'))
    });
    Some(match (magnitude, negative) {
        (Some(value), false) => value,
        (Some(value), true) => -value,
        (None, false) => i64::MAX,
        (None, true) => i64::MIN,
    })
}

/// glibc's `atoi`: `(int) strtol(text, NULL, 10)`, 0 without digits.
fn atoi(text: &str) -> i32 {
    strtol(text).unwrap_or(0) as i32
}

/// `(unsigned short) atoi(text)`: "70000" is 4464, "-1" is 65535, "abc" is 0.
fn c_port(text: &str) -> u16 {
    atoi(text) as u16
}

/// miniupnpd's `is_numeric`: only digits (the empty string passes).
fn is_numeric(text: &str) -> bool {
    text.bytes().all(|byte| byte.is_ascii_digit())
}

fn is_true(text: &str) -> bool {
    let text = text.trim();
    text == "1" || text.eq_ignore_ascii_case("true") || text.eq_ignore_ascii_case("yes")
}

fn is_false(text: &str) -> bool {
    let text = text.trim();
    text == "0" || text.eq_ignore_ascii_case("false") || text.eq_ignore_ascii_case("no")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_mangled_like_c() {
        assert_eq!(c_port("70000"), 4464);
        assert_eq!(c_port("-1"), 65535);
        assert_eq!(c_port("abc"), 0);
        assert_eq!(c_port(" 80x"), 80);
        assert_eq!(c_port("99999999999999999999"), 65535);
        assert_eq!(atoi("-1") as u32, u32::MAX);
        assert_eq!(strtol("x"), None);
        assert!(is_numeric(""));
        assert!(!is_numeric("1a"));
    }
}
