//! IPv6 pinholes over UPnP `WANIPv6FirewallControl:1`: AddPinhole, UpdatePinhole,
//! DeletePinhole, CheckPinholeWorking, GetPinholePackets, GetFirewallStatus.
//!
//! What a router insists on (measured on miniupnpd 2.3.1; see the README): the control
//! connection is IPv6 (over IPv4 everything but GetFirewallStatus answers 606), it comes from
//! the very address being opened (a second or temporary address as source: 606), and
//! `InternalClient` is that address in canonical form. ureq cannot bind a local address, so
//! the requests here go over a small HTTP/1.1 client of our own: one bound connection per
//! request (`Connection: close`), a deadline on the whole exchange and a size cap, with the
//! envelope and the reply reading of [`super::soap`].
//!
//! There is no action that lists pinholes: the caller keeps the ids it gets
//! ([`crate::services::PinholeService`] does), and ids do not survive a router restart.

use std::fmt;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::time::{Duration, Instant};

use url::Url;

use super::error::{HttpFailure, UpnpError};
use super::http::{Http, MAX_REPLY_BYTES, Reply, io_failure};
use super::soap::{Outputs, envelope, read_reply};
use super::xml;
use crate::model::{NewPinhole, PinholeLease};

/// The service's type, whatever the namespace a vendor puts it under.
const SERVICE_NAME: &str = "WANIPv6FirewallControl";

/// The largest HTTP header block we read.
const MAX_HEADER_BYTES: usize = 16 << 10;

/// A refusal of WANIPv6FirewallControl, by number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PinholeCode {
    /// 402: an argument out of range (a lease of 0 or over 86400 s).
    InvalidArgs,
    /// 606: not from the address being opened, not over IPv6, a port below 1024, or a
    /// pinhole of another host.
    NotAuthorized,
    /// 701: the router has no room for the pinhole (or its firewall is not set up).
    PinholeSpaceExhausted,
    /// 702: the router's IPv6 firewall is off.
    FirewallDisabled,
    /// 703: the router does not allow inbound pinholes.
    InboundPinholeNotAllowed,
    /// 704: no pinhole with this id (it expired, was removed, or the router restarted).
    NoSuchEntry,
    /// 705: the protocol is not supported (only TCP and UDP).
    ProtocolNotSupported,
    /// 706: the internal port may not be a wildcard.
    InternalPortWildcardingNotAllowed,
    /// 707: the protocol may not be a wildcard.
    ProtocolWildcardingNotAllowed,
    /// 708: the internal address may not be a wildcard.
    WildcardNotPermittedInSrcIp,
    /// 709: no outside traffic has reached the pinhole yet.
    NoTrafficReceived,
    /// Any other code (401 unknown action, 501 action failed, …).
    Other(u16),
}

impl PinholeCode {
    /// The code for a number.
    pub fn from_number(number: u16) -> PinholeCode {
        match number {
            402 => PinholeCode::InvalidArgs,
            606 => PinholeCode::NotAuthorized,
            701 => PinholeCode::PinholeSpaceExhausted,
            702 => PinholeCode::FirewallDisabled,
            703 => PinholeCode::InboundPinholeNotAllowed,
            704 => PinholeCode::NoSuchEntry,
            705 => PinholeCode::ProtocolNotSupported,
            706 => PinholeCode::InternalPortWildcardingNotAllowed,
            707 => PinholeCode::ProtocolWildcardingNotAllowed,
            708 => PinholeCode::WildcardNotPermittedInSrcIp,
            709 => PinholeCode::NoTrafficReceived,
            other => PinholeCode::Other(other),
        }
    }

    /// What the user can do about it.
    pub fn advice(self) -> &'static str {
        match self {
            PinholeCode::InvalidArgs => "the router refused the arguments: a pinhole lease is 1 to 86400 seconds",
            PinholeCode::NotAuthorized => {
                "the router opens only the address the request comes from, over IPv6, for ports from 1024: \
                 open a port of this computer, at its stable (not temporary) address"
            }
            PinholeCode::PinholeSpaceExhausted => {
                "the router has no room for another pinhole (or its IPv6 firewall is not set up): close unused ones"
            }
            PinholeCode::FirewallDisabled => {
                "the router's IPv6 firewall is off: every port is reachable already, no pinhole is needed"
            }
            PinholeCode::InboundPinholeNotAllowed => {
                "the router does not allow inbound pinholes: enable them in its IPv6 firewall settings"
            }
            PinholeCode::NoSuchEntry => {
                "the router does not know this pinhole: it expired, was closed, or the router restarted; open it again"
            }
            PinholeCode::ProtocolNotSupported => "the router opens TCP and UDP only",
            PinholeCode::InternalPortWildcardingNotAllowed => "give the port to open",
            PinholeCode::ProtocolWildcardingNotAllowed => "choose TCP or UDP",
            PinholeCode::WildcardNotPermittedInSrcIp => "give the IPv6 address to open",
            PinholeCode::NoTrafficReceived => {
                "no packet from outside has reached the pinhole yet (this says nothing about whether one could)"
            }
            PinholeCode::Other(501) => "the router could not do it",
            PinholeCode::Other(401) => "the router does not support this action",
            PinholeCode::Other(_) => "the router reported an error this program does not know",
        }
    }
}

/// What went wrong with a pinhole.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PinholeError {
    /// The router could not be reached, or answered nonsense.
    #[error(transparent)]
    Upnp(#[from] UpnpError),
    /// The router refused.
    #[error("{action} was refused (error {number}): {}", code.advice())]
    Refused {
        /// The SOAP action.
        action: &'static str,
        /// The error, by number.
        code: PinholeCode,
        /// The number as sent.
        number: u16,
    },
    /// The router's description has no `WANIPv6FirewallControl` service.
    #[error(
        "the router at {url} offers no IPv6 firewall control (WANIPv6FirewallControl): it cannot open IPv6 ports over UPnP; enable IPv6 and UPnP IGD:2 on it, or open the port in its settings"
    )]
    NoService {
        /// The description URL.
        url: String,
    },
    /// Only an IPv4 address of the router is known; pinholes must be asked for over IPv6.
    #[error(
        "the router's firewall service is at {control_url}, over IPv4, and no IPv6 address of the router is known (no IPv6 default route): pinholes must be requested over IPv6; give the router's IPv6 description URL"
    )]
    NoIpv6Route {
        /// The control URL from the description.
        control_url: String,
    },
    /// The router answered without a usable id or value.
    #[error("the router sent an unusable {what} in reply to {action}: {value:?}")]
    BadValue {
        /// The action.
        action: &'static str,
        /// Which output.
        what: &'static str,
        /// What it sent.
        value: String,
    },
}

impl PinholeError {
    /// The refusal's code, when the router refused.
    pub fn code(&self) -> Option<PinholeCode> {
        match self {
            PinholeError::Refused { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Whether the router does not know the pinhole (704).
    pub fn is_gone(&self) -> bool {
        self.code() == Some(PinholeCode::NoSuchEntry)
    }
}

/// The router's answer to GetFirewallStatus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct FirewallStatus {
    /// Whether its IPv6 firewall is on (off: everything is reachable, no pinhole needed).
    pub enabled: bool,
    /// Whether it lets clients open pinholes.
    pub inbound_pinhole_allowed: bool,
}

/// The router's `WANIPv6FirewallControl` service, reached over IPv6 from one local address.
#[derive(Debug, Clone)]
pub struct FirewallControl {
    control_url: Url,
    service_type: String,
    router: SocketAddrV6,
    local: Ipv6Addr,
    timeout: Duration,
}

impl FirewallControl {
    /// Reads the router's description at `description_url` and finds its firewall service.
    /// When the description names the service at an IPv4 address, `router6` (else the IPv6
    /// default route's next hop) stands in for it, on the same port and path (miniupnpd
    /// serves both). `local` is the address to open (and to send from); `None` chooses the
    /// stable address the route towards the router uses.
    pub fn connect(
        description_url: &str,
        router6: Option<Ipv6Addr>,
        local: Option<Ipv6Addr>,
        timeout: Duration,
    ) -> Result<FirewallControl, PinholeError> {
        let bad_url = |reason: String| UpnpError::Unreachable {
            url: description_url.to_owned(),
            failure: HttpFailure::BadUrl(reason),
        };
        let location = Url::parse(description_url).map_err(|e| bad_url(e.to_string()))?;
        let reply = Http::new(timeout).get(location.as_str())?;
        if reply.status != 200 {
            return Err(UpnpError::Unreachable {
                url: description_url.to_owned(),
                failure: HttpFailure::Status(reply.status),
            }
            .into());
        }
        let (service_type, mut control_url) =
            find_service(&reply.body, &location).ok_or_else(|| PinholeError::NoService {
                url: description_url.to_owned(),
            })?;
        let host = match control_url.host() {
            Some(url::Host::Ipv6(ip)) => ip,
            _ => {
                let ip = router6
                    .or_else(crate::host::default_ipv6_router)
                    .filter(|ip| !ip.is_unicast_link_local())
                    .ok_or_else(|| PinholeError::NoIpv6Route {
                        control_url: control_url.to_string(),
                    })?;
                control_url
                    .set_host(Some(&format!("[{ip}]")))
                    .map_err(|e| bad_url(e.to_string()))?;
                ip
            }
        };
        let port = control_url.port_or_known_default().unwrap_or(80);
        let local = match local {
            Some(local) => local,
            None => crate::host::pinhole_address_towards(host).map_err(|e| UpnpError::Unreachable {
                url: control_url.to_string(),
                failure: HttpFailure::Refused(e.to_string()),
            })?,
        };
        Ok(FirewallControl {
            control_url,
            service_type,
            router: SocketAddrV6::new(host, port, 0, 0),
            local,
            timeout,
        })
    }

    /// The same service, sending from (and opening) `local` instead.
    pub fn sending_from(mut self, local: Ipv6Addr) -> FirewallControl {
        self.local = local;
        self
    }

    /// The control URL requests go to (always an IPv6 address).
    pub fn control_url(&self) -> &str {
        self.control_url.as_str()
    }

    /// The local address requests come from: the one pinholes open.
    pub fn local_address(&self) -> Ipv6Addr {
        self.local
    }

    /// AddPinhole: opens `pinhole.internal_port` of [`FirewallControl::local_address`] and
    /// returns the router's id. `pinhole.internal_ip` must be the local address (the router
    /// would refuse with 606; this refuses before sending).
    ///
    /// Adding a pinhole that exists returns its id again, but miniupnpd then stretches the
    /// lease wrongly (by its own uptime): renew with [`FirewallControl::update`] instead.
    pub fn add(&self, pinhole: &NewPinhole) -> Result<u16, PinholeError> {
        const ACTION: &str = "AddPinhole";
        if pinhole.internal_ip != self.local {
            return Err(PinholeError::Refused {
                action: ACTION,
                code: PinholeCode::NotAuthorized,
                number: 606,
            });
        }
        let out = self.call(
            ACTION,
            &[
                (
                    "RemoteHost",
                    pinhole.remote_host.map(|h| h.to_string()).unwrap_or_default(),
                ),
                ("RemotePort", pinhole.remote_port.map_or(0, |p| p.get()).to_string()),
                ("InternalClient", pinhole.internal_ip.to_string()),
                ("InternalPort", pinhole.internal_port.to_string()),
                ("Protocol", pinhole.protocol_number().to_string()),
                ("LeaseTime", pinhole.lease.as_secs().to_string()),
            ],
        )?;
        unique_id(ACTION, out.get("UniqueID"))
    }

    /// UpdatePinhole: sets the lease of pinhole `id` to `lease` from now (exact, unlike
    /// adding again).
    pub fn update(&self, id: u16, lease: PinholeLease) -> Result<(), PinholeError> {
        self.call(
            "UpdatePinhole",
            &[
                ("UniqueID", id.to_string()),
                ("NewLeaseTime", lease.as_secs().to_string()),
            ],
        )
        .map(drop)
    }

    /// DeletePinhole.
    pub fn delete(&self, id: u16) -> Result<(), PinholeError> {
        self.call("DeletePinhole", &[("UniqueID", id.to_string())]).map(drop)
    }

    /// CheckPinholeWorking: whether a packet from outside has reached pinhole `id` (709,
    /// "no traffic yet", is `false`). True proves the path from outside; false proves
    /// nothing (nobody may have tried).
    pub fn check_working(&self, id: u16) -> Result<bool, PinholeError> {
        const ACTION: &str = "CheckPinholeWorking";
        match self.call(ACTION, &[("UniqueID", id.to_string())]) {
            Ok(out) => Ok(matches!(out.get("IsWorking").trim(), "1" | "true" | "yes")),
            Err(e) if e.code() == Some(PinholeCode::NoTrafficReceived) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// GetPinholePackets: the router's packet count for pinhole `id` (miniupnpd counts the
    /// first packet of each connection, and answers 0 for an id it does not know).
    pub fn packets(&self, id: u16) -> Result<u64, PinholeError> {
        const ACTION: &str = "GetPinholePackets";
        let out = self.call(ACTION, &[("UniqueID", id.to_string())])?;
        let text = out.get("PinholePackets").trim();
        text.parse().map_err(|_| PinholeError::BadValue {
            action: ACTION,
            what: "packet count",
            value: text.to_owned(),
        })
    }

    /// GetFirewallStatus.
    pub fn firewall_status(&self) -> Result<FirewallStatus, PinholeError> {
        let out = self.call("GetFirewallStatus", &[])?;
        let on = |name: &str| matches!(out.get(name).trim(), "1" | "true" | "yes");
        Ok(FirewallStatus {
            enabled: on("FirewallEnabled"),
            inbound_pinhole_allowed: on("InboundPinholeAllowed"),
        })
    }

    fn call(&self, action: &'static str, args: &[(&str, String)]) -> Result<Outputs, PinholeError> {
        tracing::debug!(action, ?args, url = %self.control_url, local = %self.local, "SOAP request over IPv6");
        let body = envelope(&self.service_type, action, args);
        let soap_action = format!("\"{}#{}\"", self.service_type, action);
        let reply = bound_post(
            self.local,
            self.router,
            &self.control_url,
            &soap_action,
            &body,
            self.timeout,
        )?;
        read_reply(self.control_url.as_str(), action, &reply).map_err(|e| match e {
            UpnpError::Refused { action, number, .. } => PinholeError::Refused {
                action,
                code: PinholeCode::from_number(number),
                number,
            },
            other => PinholeError::Upnp(other),
        })
    }
}

fn unique_id(action: &'static str, text: &str) -> Result<u16, PinholeError> {
    text.trim().parse().map_err(|_| PinholeError::BadValue {
        action,
        what: "pinhole id",
        value: text.to_owned(),
    })
}

/// The firewall service in a device description: its type and absolute control URL.
pub(crate) fn find_service(text: &str, location: &Url) -> Option<(String, Url)> {
    let repaired;
    let doc = match xml::parse(text) {
        Ok(doc) => doc,
        Err(_) => {
            repaired = xml::repair(text)?;
            xml::parse(&repaired).ok()?
        }
    };
    let root = doc.root_element();
    let base = xml::descendant(root, "URLBase")
        .and_then(|n| n.text())
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .and_then(|b| Url::parse(b).ok())
        .unwrap_or_else(|| location.clone());
    root.descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "service")
        .find_map(|service| {
            let service_type = xml::child_text(service, "serviceType")?;
            let mut parts = service_type.rsplit(':');
            let _version = parts.next()?;
            if parts.next()?.trim() != SERVICE_NAME {
                return None;
            }
            let control = xml::child_text(service, "controlURL").filter(|c| !c.is_empty())?;
            let url = base.join(&control).ok().filter(|u| u.scheme() == "http")?;
            Some((service_type, url))
        })
}

/// One POST over a TCP connection bound to `local`, within `timeout` for the whole
/// exchange, reading at most [`MAX_REPLY_BYTES`] of body.
fn bound_post(
    local: Ipv6Addr,
    router: SocketAddrV6,
    url: &Url,
    soap_action: &str,
    body: &str,
    timeout: Duration,
) -> Result<Reply, UpnpError> {
    let unreachable = |failure| UpnpError::Unreachable {
        url: url.to_string(),
        failure,
    };
    let io = |e: std::io::Error| unreachable(io_failure(&e, timeout));
    let deadline = Instant::now() + timeout;
    let socket = socket2::Socket::new(
        socket2::Domain::IPV6,
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )
    .map_err(io)?;
    socket
        .bind(&SocketAddr::V6(SocketAddrV6::new(local, 0, 0, 0)).into())
        .map_err(|e| {
            unreachable(HttpFailure::Refused(format!(
                "cannot send from {local}: {e} (is it an address of this computer?)"
            )))
        })?;
    socket
        .connect_timeout(&SocketAddr::V6(router).into(), timeout)
        .map_err(io)?;
    let mut stream: std::net::TcpStream = socket.into();
    let path = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    let host = match url.port() {
        Some(port) => format!("[{}]:{port}", router.ip()),
        None => format!("[{}]", router.ip()),
    };
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: PortForward/{} UPnP/1.1\r\n\
         Content-Type: text/xml; charset=\"utf-8\"\r\nSOAPAction: {soap_action}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        env!("CARGO_PKG_VERSION"),
        body.len()
    );
    stream.set_write_timeout(Some(timeout)).map_err(io)?;
    stream.write_all(request.as_bytes()).map_err(io)?;
    let raw = read_until_close(&mut stream, deadline, timeout).map_err(unreachable)?;
    parse_response(&raw)
        .ok_or_else(|| unreachable(HttpFailure::Garbled))?
        .map_err(|e| match e {
            UpnpError::Unreachable { failure, .. } => unreachable(failure),
            other => other,
        })
}

/// Reads the whole response (the server closes after it), bounded in time and size.
fn read_until_close(
    stream: &mut std::net::TcpStream,
    deadline: Instant,
    timeout: Duration,
) -> Result<Vec<u8>, HttpFailure> {
    let mut raw = Vec::with_capacity(4096);
    let mut chunk = [0u8; 16 << 10];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(HttpFailure::TimedOut(timeout));
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(|e| io_failure(&e, timeout))?;
        match stream.read(&mut chunk) {
            Ok(0) => return Ok(raw),
            Ok(n) => {
                raw.extend_from_slice(&chunk[..n]);
                if raw.len() > MAX_REPLY_BYTES + MAX_HEADER_BYTES {
                    return Err(HttpFailure::TooLarge(MAX_REPLY_BYTES));
                }
                // A complete reply with a length needs no wait for the close.
                if let Some(total) = complete_length(&raw)
                    && raw.len() >= total
                {
                    raw.truncate(total);
                    return Ok(raw);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_failure(&e, timeout)),
        }
    }
}

/// Head length + Content-Length, once the head is in.
fn complete_length(raw: &[u8]) -> Option<usize> {
    let end = find_head_end(raw)?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let length = header(head, "content-length")?.parse::<usize>().ok()?;
    Some(end + 4 + length)
}

fn find_head_end(raw: &[u8]) -> Option<usize> {
    raw.windows(4).take(MAX_HEADER_BYTES).position(|w| w == b"\r\n\r\n")
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// Status, Server header and body of a raw response (`None`: not HTTP); a chunked body is
/// decoded, a body larger than the cap is an error.
fn parse_response(raw: &[u8]) -> Option<Result<Reply, UpnpError>> {
    let end = find_head_end(raw)?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let status_line = head.lines().next()?;
    let mut words = status_line.split_whitespace();
    if !words.next()?.starts_with("HTTP/1.") {
        return None;
    }
    let status: u16 = words.next()?.parse().ok()?;
    let mut body = raw[end + 4..].to_vec();
    if let Some(length) = header(head, "content-length").and_then(|l| l.parse::<usize>().ok()) {
        if body.len() < length {
            return Some(Err(UpnpError::Unreachable {
                url: String::new(),
                failure: HttpFailure::Closed,
            }));
        }
        body.truncate(length);
    } else if header(head, "transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        body = dechunk(&body)?;
    }
    Some(Ok(Reply {
        status,
        server: header(head, "server").map(str::to_owned),
        body: String::from_utf8_lossy(&body).into_owned(),
    }))
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for _ in 0..100_000 {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
    None
}

impl fmt::Display for FirewallStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.enabled, self.inbound_pinhole_allowed) {
            (false, _) => f.write_str("IPv6 firewall off (everything is reachable)"),
            (true, true) => f.write_str("IPv6 firewall on, pinholes allowed"),
            (true, false) => f.write_str("IPv6 firewall on, pinholes not allowed"),
        }
    }
}

/// Whether `ip` can carry a pinhole request (the control connection must be IPv6).
pub fn is_ipv6(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_firewall_service_is_found_under_any_namespace() {
        let doc = r#"<root><device><serviceList><service>
            <serviceType>urn:schemas-upnp-org:service:WANIPConnection:2</serviceType><controlURL>/ctl/IPConn</controlURL>
            </service><service><serviceType>urn:schemas-upnp-org:service:WANIPv6FirewallControl:1</serviceType>
            <controlURL>/ctl/IP6FCtl</controlURL></service></serviceList></device></root>"#;
        let location = Url::parse("http://[2001:db8:77::1]:49000/rootDesc.xml").unwrap();
        let (kind, url) = find_service(doc, &location).unwrap();
        assert!(kind.ends_with("WANIPv6FirewallControl:1"));
        assert_eq!(url.as_str(), "http://[2001:db8:77::1]:49000/ctl/IP6FCtl");
        assert!(find_service("<root><device/></root>", &location).is_none());
    }

    #[test]
    fn responses_are_read_with_length_chunked_or_to_the_close() {
        let reply = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: x\r\n\r\nhello-extra")
            .unwrap()
            .unwrap();
        assert_eq!(
            (reply.status, reply.body.as_str(), reply.server.as_deref()),
            (200, "hello", Some("x"))
        );
        let chunked =
            parse_response(b"HTTP/1.1 500 E\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
                .unwrap()
                .unwrap();
        assert_eq!((chunked.status, chunked.body.as_str()), (500, "abcde"));
        let plain = parse_response(b"HTTP/1.0 200 OK\r\n\r\nall of it").unwrap().unwrap();
        assert_eq!(plain.body, "all of it");
        assert!(parse_response(b"SSH-2.0-OpenSSH\r\n\r\n").is_none());
        assert!(matches!(
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort"),
            Some(Err(UpnpError::Unreachable {
                failure: HttpFailure::Closed,
                ..
            }))
        ));
    }

    /// A server on [::1] that reads the request, then does `then` with the connection.
    fn hostile(then: fn(std::net::TcpStream)) -> SocketAddrV6 {
        let listener = std::net::TcpListener::bind("[::1]:0").unwrap();
        let SocketAddr::V6(addr) = listener.local_addr().unwrap() else {
            unreachable!()
        };
        std::thread::spawn(move || {
            if let Ok((mut conn, _)) = listener.accept() {
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf);
                then(conn);
            }
        });
        addr
    }

    #[test]
    fn a_router_that_stalls_or_floods_is_cut_off() {
        let url = Url::parse("http://[::1]:1/ctl/IP6FCtl").unwrap();
        let stall = hostile(|conn| {
            // Holds the connection open, silent, until the client gives up and closes it.
            let mut conn = conn;
            let _ = conn.read(&mut [0u8; 1]);
        });
        let started = Instant::now();
        let err = bound_post(
            Ipv6Addr::LOCALHOST,
            stall,
            &url,
            "\"x\"",
            "",
            Duration::from_millis(300),
        )
        .err()
        .expect("a timeout");
        assert!(
            matches!(
                err,
                UpnpError::Unreachable {
                    failure: HttpFailure::TimedOut(_),
                    ..
                }
            ),
            "{err}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        let flood = hostile(|mut conn| {
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\n\r\n");
            let chunk = vec![b'x'; 64 << 10];
            for _ in 0..(MAX_REPLY_BYTES / chunk.len() + 2) {
                if conn.write_all(&chunk).is_err() {
                    return;
                }
            }
        });
        let err = bound_post(Ipv6Addr::LOCALHOST, flood, &url, "\"x\"", "", Duration::from_secs(20))
            .err()
            .expect("too large");
        assert!(
            matches!(
                err,
                UpnpError::Unreachable {
                    failure: HttpFailure::TooLarge(_),
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn refusals_say_what_to_do() {
        assert_eq!(PinholeCode::from_number(704), PinholeCode::NoSuchEntry);
        assert_eq!(PinholeCode::from_number(709), PinholeCode::NoTrafficReceived);
        let err = PinholeError::Refused {
            action: "AddPinhole",
            code: PinholeCode::from_number(606),
            number: 606,
        };
        assert!(err.to_string().contains("stable (not temporary) address"), "{err}");
        for n in 701..=709 {
            assert!(!matches!(PinholeCode::from_number(n), PinholeCode::Other(_)), "{n}");
        }
    }
}
