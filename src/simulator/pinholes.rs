//! `WANIPv6FirewallControl:1` with miniupnpd 2.3.1's rules and quirks (measured on the real
//! daemon): requests must come over IPv6 from the address being opened, `InternalClient`
//! in canonical form; ids count from 1 and do not survive a restart; adding the same pinhole
//! again returns its id and stretches its lease by the router's uptime; GetPinholePackets
//! answers 0 for an unknown id; CheckPinholeWorking is 709 until a packet reached the rule.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::actions::UpnpError;
use super::soap::Call;

pub(crate) const SERVICE_TYPE: &str = "urn:schemas-upnp-org:service:WANIPv6FirewallControl:1";
pub(crate) const CONTROL_PATH: &str = "/ctl/IP6FCtl";
pub(crate) const SCPD_PATH: &str = "/WANIP6FC.xml";

/// The longest pinhole lease; 0 and longer are refused with 402 (not clamped).
const MAX_LEASE: u32 = 86_400;

/// One pinhole as the simulated router holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimPinhole {
    /// The router's UniqueID.
    pub id: u16,
    /// The remote host it is limited to; empty for any.
    pub remote_host: String,
    /// The remote port it is limited to; 0 for any.
    pub remote_port: u16,
    /// The address opened, as sent.
    pub internal_client: String,
    /// The port opened.
    pub internal_port: u16,
    /// 6 (TCP) or 17 (UDP).
    pub protocol: u16,
    /// Seconds left on its lease.
    pub lease_seconds_left: u64,
    /// Packets counted (see [`super::SimulatedGateway::pinhole_traffic`]).
    pub packets: u64,
}

#[derive(Clone, Debug)]
struct Entry {
    pinhole: SimPinhole,
    expires: Instant,
}

/// The pinhole table and its id counter.
#[derive(Debug)]
pub(crate) struct PinholeTable {
    entries: Vec<Entry>,
    next_id: u16,
}

impl Default for PinholeTable {
    fn default() -> PinholeTable {
        PinholeTable {
            entries: Vec::new(),
            next_id: 1,
        }
    }
}

fn error(code: u16) -> UpnpError {
    let description = match code {
        401 => "Invalid Action",
        402 => "Invalid Args",
        501 => "Action Failed",
        606 => "Action not authorized",
        701 => "PinholeSpaceExhausted",
        702 => "FirewallDisabled",
        704 => "NoSuchEntry",
        705 => "ProtocolNotSupported",
        706 => "InternalPortWilcardingNotAllowed",
        707 => "ProtocolWilcardingNotAllowed",
        708 => "WildCardNotPermittedInSrcIP",
        709 => "NoPacketSent",
        _ => "Error",
    };
    UpnpError {
        code,
        description: description.to_string(),
    }
}

impl PinholeTable {
    /// Forgets every id and restarts the numbering (a daemon restart).
    pub(crate) fn clear(&mut self) {
        *self = PinholeTable::default();
    }

    fn purge(&mut self, now: Instant) {
        self.entries.retain(|e| e.expires > now);
    }

    /// The pinholes held, with the seconds left at `now`.
    pub(crate) fn list(&mut self, now: Instant) -> Vec<SimPinhole> {
        self.purge(now);
        self.entries
            .iter()
            .map(|e| SimPinhole {
                lease_seconds_left: e.expires.saturating_duration_since(now).as_secs(),
                ..e.pinhole.clone()
            })
            .collect()
    }

    /// Counts `packets` outside packets on pinhole `id`; false if there is none.
    pub(crate) fn traffic(&mut self, id: u16, packets: u64, now: Instant) -> bool {
        self.purge(now);
        match self.entries.iter_mut().find(|e| e.pinhole.id == id) {
            Some(entry) => {
                entry.pinhole.packets += packets;
                true
            }
            None => false,
        }
    }

    /// Runs one action of the firewall service for `requester`; `uptime` is the router's.
    pub(crate) fn execute(
        &mut self,
        call: &Call,
        requester: IpAddr,
        now: Instant,
        uptime: Duration,
    ) -> Result<Vec<(&'static str, String)>, UpnpError> {
        self.purge(now);
        // Over IPv4 only the status works.
        let requester = match requester {
            IpAddr::V6(ip) if ip.to_ipv4_mapped().is_none() => ip.to_string(),
            _ if call.action == "GetFirewallStatus" => String::new(),
            _ => return Err(error(606)),
        };
        let arg = |name: &str| call.arg(name).unwrap_or("").trim().to_string();
        let number = |name: &str| arg(name).parse::<i64>().ok();
        match call.action.as_str() {
            "GetFirewallStatus" => Ok(vec![
                ("FirewallEnabled", "1".to_string()),
                ("InboundPinholeAllowed", "1".to_string()),
            ]),
            "GetOutboundPinholeTimeout" => Err(error(501)),
            "AddPinhole" => {
                let client = arg("InternalClient");
                if client.is_empty() || client == "*" {
                    return Err(error(708));
                }
                if client != requester {
                    return Err(error(606));
                }
                let port = number("InternalPort").unwrap_or(0);
                if port == 0 {
                    return Err(error(706));
                }
                if !(1024..=65535).contains(&port) {
                    return Err(error(606));
                }
                let protocol = number("Protocol").unwrap_or(0);
                if protocol == 65535 {
                    return Err(error(707));
                }
                if protocol != 6 && protocol != 17 {
                    return Err(error(705));
                }
                let lease = lease(number("LeaseTime"))?;
                let remote_host = arg("RemoteHost");
                let remote_port = number("RemotePort").and_then(|p| u16::try_from(p).ok()).unwrap_or(0);
                let same = |p: &SimPinhole| {
                    p.internal_client == client
                        && i64::from(p.internal_port) == port
                        && i64::from(p.protocol) == protocol
                        && p.remote_host == remote_host
                        && p.remote_port == remote_port
                };
                if let Some(entry) = self.entries.iter_mut().find(|e| same(&e.pinhole)) {
                    // miniupnpd's quirk: the same id, the lease stretched by its uptime.
                    entry.expires = now + Duration::from_secs(u64::from(lease)) + uptime;
                    return Ok(vec![("UniqueID", entry.pinhole.id.to_string())]);
                }
                let id = self.next_id;
                self.next_id = self.next_id.wrapping_add(1).max(1);
                self.entries.push(Entry {
                    pinhole: SimPinhole {
                        id,
                        remote_host,
                        remote_port,
                        internal_client: client,
                        internal_port: port as u16,
                        protocol: protocol as u16,
                        lease_seconds_left: 0,
                        packets: 0,
                    },
                    expires: now + Duration::from_secs(u64::from(lease)),
                });
                Ok(vec![("UniqueID", id.to_string())])
            }
            "UpdatePinhole" => {
                let lease = lease(number("NewLeaseTime"))?;
                let entry = self.own(number("UniqueID"), &requester)?;
                entry.expires = now + Duration::from_secs(u64::from(lease));
                Ok(Vec::new())
            }
            "DeletePinhole" => {
                let id = self.own(number("UniqueID"), &requester)?.pinhole.id;
                self.entries.retain(|e| e.pinhole.id != id);
                Ok(Vec::new())
            }
            "CheckPinholeWorking" => {
                let entry = self.own(number("UniqueID"), &requester)?;
                if entry.pinhole.packets == 0 {
                    return Err(error(709));
                }
                Ok(vec![("IsWorking", "1".to_string())])
            }
            "GetPinholePackets" => {
                let id = number("UniqueID");
                let packets = self
                    .entries
                    .iter()
                    .find(|e| Some(i64::from(e.pinhole.id)) == id)
                    .map_or(0, |e| e.pinhole.packets);
                Ok(vec![("PinholePackets", packets.to_string())])
            }
            _ => Err(error(401)),
        }
    }

    /// The pinhole `id` if it exists (else 704) and belongs to `requester` (else 606).
    fn own(&mut self, id: Option<i64>, requester: &str) -> Result<&mut Entry, UpnpError> {
        let entry = self
            .entries
            .iter_mut()
            .find(|e| Some(i64::from(e.pinhole.id)) == id)
            .ok_or_else(|| error(704))?;
        if entry.pinhole.internal_client != requester {
            return Err(error(606));
        }
        Ok(entry)
    }
}

fn lease(value: Option<i64>) -> Result<u32, UpnpError> {
    match value {
        Some(secs @ 1..) if secs <= i64::from(MAX_LEASE) => Ok(secs as u32),
        _ => Err(error(402)),
    }
}

/// The service element for the device description.
pub(crate) fn service_element() -> String {
    format!(
        "<service><serviceType>{SERVICE_TYPE}</serviceType><serviceId>urn:upnp-org:serviceId:WANIPv6Firewall1</serviceId>\
         <SCPDURL>{SCPD_PATH}</SCPDURL><controlURL>{CONTROL_PATH}</controlURL><eventSubURL>/evt/IP6FCtl</eventSubURL></service>"
    )
}

/// The service description.
pub(crate) fn scpd() -> String {
    let action = |name: &str, args: &[(&str, &str)]| {
        let args: String = args
            .iter()
            .map(|(arg, dir)| format!("<argument><name>{arg}</name><direction>{dir}</direction></argument>"))
            .collect();
        format!("<action><name>{name}</name><argumentList>{args}</argumentList></action>")
    };
    let actions = [
        action(
            "GetFirewallStatus",
            &[("FirewallEnabled", "out"), ("InboundPinholeAllowed", "out")],
        ),
        action(
            "AddPinhole",
            &[
                ("RemoteHost", "in"),
                ("RemotePort", "in"),
                ("InternalClient", "in"),
                ("InternalPort", "in"),
                ("Protocol", "in"),
                ("LeaseTime", "in"),
                ("UniqueID", "out"),
            ],
        ),
        action("UpdatePinhole", &[("UniqueID", "in"), ("NewLeaseTime", "in")]),
        action("DeletePinhole", &[("UniqueID", "in")]),
        action("GetPinholePackets", &[("UniqueID", "in"), ("PinholePackets", "out")]),
        action("CheckPinholeWorking", &[("UniqueID", "in"), ("IsWorking", "out")]),
    ];
    format!(
        "<?xml version=\"1.0\"?>\r\n<scpd xmlns=\"urn:schemas-upnp-org:service-1-0\"><specVersion><major>1</major><minor>0</minor></specVersion>\
         <actionList>{}</actionList></scpd>\r\n",
        actions.concat()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(action: &str, args: &[(&str, &str)]) -> Call {
        Call {
            action: action.to_string(),
            args: args.iter().map(|(a, v)| (a.to_string(), v.to_string())).collect(),
        }
    }

    fn add_call(client: &str, port: &str, protocol: &str, lease: &str) -> Call {
        call(
            "AddPinhole",
            &[
                ("RemoteHost", ""),
                ("RemotePort", "0"),
                ("InternalClient", client),
                ("InternalPort", port),
                ("Protocol", protocol),
                ("LeaseTime", lease),
            ],
        )
    }

    fn code(result: Result<Vec<(&'static str, String)>, UpnpError>) -> u16 {
        result.map_or_else(|e| e.code, |_| 200)
    }

    #[test]
    fn every_refusal_of_miniupnpd_is_reproduced() {
        let mut table = PinholeTable::default();
        let me: IpAddr = "2001:db8:77::10".parse().unwrap();
        let v4: IpAddr = "192.168.77.10".parse().unwrap();
        let now = Instant::now();
        let up = Duration::ZERO;
        let mut run = |c: Call, from: IpAddr| code(table.execute(&c, from, now, up));
        assert_eq!(
            run(add_call("2001:db8:77::10", "8080", "6", "3600"), v4),
            606,
            "over IPv4"
        );
        assert_eq!(run(call("GetFirewallStatus", &[]), v4), 200, "status works over IPv4");
        assert_eq!(
            run(add_call("2001:DB8:77::10", "8080", "6", "3600"), me),
            606,
            "not canonical"
        );
        assert_eq!(
            run(add_call("2001:db8:77::11", "8080", "6", "3600"), me),
            606,
            "other host"
        );
        assert_eq!(
            run(add_call("2001:db8:77::10", "80", "6", "3600"), me),
            606,
            "port < 1024"
        );
        assert_eq!(run(add_call("2001:db8:77::10", "0", "6", "3600"), me), 706);
        assert_eq!(run(add_call("", "8080", "6", "3600"), me), 708);
        assert_eq!(run(add_call("*", "8080", "6", "3600"), me), 708);
        assert_eq!(run(add_call("2001:db8:77::10", "8080", "65535", "3600"), me), 707);
        assert_eq!(run(add_call("2001:db8:77::10", "8080", "TCP", "3600"), me), 705);
        assert_eq!(run(add_call("2001:db8:77::10", "8080", "1", "3600"), me), 705);
        assert_eq!(run(add_call("2001:db8:77::10", "8080", "6", "0"), me), 402);
        assert_eq!(run(add_call("2001:db8:77::10", "8080", "6", "86401"), me), 402);
        assert_eq!(run(add_call("2001:db8:77::10", "8080", "6", "86400"), me), 200);
        assert_eq!(run(call("CheckPinholeWorking", &[("UniqueID", "1")]), me), 709);
        assert_eq!(run(call("CheckPinholeWorking", &[("UniqueID", "9")]), me), 704);
        assert_eq!(
            run(call("UpdatePinhole", &[("UniqueID", "1"), ("NewLeaseTime", "0")]), me),
            402
        );
        assert_eq!(
            run(call("UpdatePinhole", &[("UniqueID", "9"), ("NewLeaseTime", "60")]), me),
            704
        );
        let other: IpAddr = "2001:db8:77::11".parse().unwrap();
        assert_eq!(run(call("DeletePinhole", &[("UniqueID", "1")]), other), 606);
        assert_eq!(run(call("GetOutboundPinholeTimeout", &[]), me), 501);
        assert_eq!(run(call("DeletePinhole", &[("UniqueID", "1")]), me), 200);
        assert_eq!(run(call("DeletePinhole", &[("UniqueID", "1")]), me), 704);
    }

    #[test]
    fn adding_again_returns_the_same_id_and_stretches_the_lease() {
        let mut table = PinholeTable::default();
        let me: IpAddr = "::1".parse().unwrap();
        let now = Instant::now();
        let first = table.execute(&add_call("::1", "8080", "6", "100"), me, now, Duration::ZERO);
        let again = table.execute(&add_call("::1", "8080", "6", "100"), me, now, Duration::from_secs(5000));
        assert_eq!(first.unwrap(), again.unwrap());
        assert!(table.list(now)[0].lease_seconds_left >= 5000, "stretched by the uptime");
        table.clear();
        let renumbered = table.execute(&add_call("::1", "9090", "17", "100"), me, now, Duration::ZERO);
        assert_eq!(renumbered.unwrap(), vec![("UniqueID", "1".to_string())]);
    }
}
