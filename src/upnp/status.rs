//! The router's status: connection type and state, uptime, link, traffic counters, bit rates
//! and the admin page. Each part is optional: routers leave out what they do not implement.

use serde::Serialize;

use super::error::UpnpError;
use super::gateway::{ConnectionStatus, Gateway};
use super::soap::{Outputs, SoapService};

/// The WAN link, from WANCommonInterfaceConfig's GetCommonLinkProperties.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkProperties {
    /// "Ethernet", "DSL", "Cable", …
    pub access_type: String,
    /// "Up", "Down", …
    pub physical_link_status: String,
    /// The most bits per second upstream (the router's configured value).
    pub upstream_max_bit_rate: u64,
    /// The most bits per second downstream.
    pub downstream_max_bit_rate: u64,
}

/// The WAN interface's counters. u64: real counters pass 2^32, though some routers wrap there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct Traffic {
    /// Bytes sent.
    pub bytes_sent: Option<u64>,
    /// Bytes received.
    pub bytes_received: Option<u64>,
    /// Packets sent.
    pub packets_sent: Option<u64>,
    /// Packets received.
    pub packets_received: Option<u64>,
}

/// Everything a router says about its WAN side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouterStatus {
    /// GetStatusInfo: connected or not, last error, uptime.
    pub connection: ConnectionStatus,
    /// GetConnectionTypeInfo's type ("IP_Routed"); `None` when not answered.
    pub connection_type: Option<String>,
    /// The external address; `None` when the router has none.
    pub external_ip: Option<std::net::Ipv4Addr>,
    /// Link properties, if the router offers WANCommonInterfaceConfig.
    pub link: Option<LinkProperties>,
    /// Traffic counters; each `None` when not answered.
    pub traffic: Traffic,
    /// The router's admin page.
    pub presentation_url: Option<String>,
}

impl Gateway {
    /// Reads the router's status: GetStatusInfo must answer; every other part is left out
    /// (`None`) when the router does not implement it.
    ///
    /// ```
    /// # use portforward::{simulator::SimulatedGateway, upnp::Gateway};
    /// let router = SimulatedGateway::demo()?;
    /// let gateway = Gateway::connect(&router.description_url(), &Default::default())?;
    /// let status = gateway.router_status()?;
    /// assert_eq!(status.connection.status, "Connected");
    /// assert!(status.traffic.bytes_sent.unwrap() > u64::from(u32::MAX));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn router_status(&self) -> Result<RouterStatus, UpnpError> {
        let connection = self.status()?;
        let connection_type = self
            .call("GetConnectionTypeInfo", &[])
            .ok()
            .map(|out| out.get("NewConnectionType").to_owned())
            .filter(|t| !t.is_empty());
        let external_ip = self.external_ip().ok().flatten();
        let common = self.description.common_control_url.as_ref().map(|url| SoapService {
            http: self.http().clone(),
            control_url: url.clone(),
            service_type: self
                .description
                .common_service_type
                .clone()
                .unwrap_or_else(|| "urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1".to_owned()),
        });
        let call = |action: &'static str| common.as_ref().and_then(|service| service.call(action, &[]).ok());
        let link = call("GetCommonLinkProperties").map(|out| LinkProperties {
            access_type: out.get("NewWANAccessType").to_owned(),
            physical_link_status: out.get("NewPhysicalLinkStatus").to_owned(),
            upstream_max_bit_rate: counter(&out, "NewLayer1UpstreamMaxBitRate").unwrap_or(0),
            downstream_max_bit_rate: counter(&out, "NewLayer1DownstreamMaxBitRate").unwrap_or(0),
        });
        let traffic = Traffic {
            bytes_sent: call("GetTotalBytesSent").and_then(|o| counter(&o, "NewTotalBytesSent")),
            bytes_received: call("GetTotalBytesReceived").and_then(|o| counter(&o, "NewTotalBytesReceived")),
            packets_sent: call("GetTotalPacketsSent").and_then(|o| counter(&o, "NewTotalPacketsSent")),
            packets_received: call("GetTotalPacketsReceived").and_then(|o| counter(&o, "NewTotalPacketsReceived")),
        };
        Ok(RouterStatus {
            connection,
            connection_type,
            external_ip,
            link,
            traffic,
            presentation_url: self.description.presentation_url.clone(),
        })
    }
}

/// A counter as u64; `None` when absent or not a number.
fn counter(out: &Outputs, name: &str) -> Option<u64> {
    parse_counter(out.get(name))
}

fn parse_counter(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// How much a counter grew from `before` to `after`, for a router whose counters wrap at
/// 2^32 (a smaller `after` below 2^32 is a wrap, not a reset).
pub fn counter_delta(before: u64, after: u64) -> u64 {
    if after >= before {
        after - before
    } else if before <= u64::from(u32::MAX) {
        (u64::from(u32::MAX) - before) + after + 1
    } else {
        // A 64-bit counter that went down: the router restarted.
        after
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_64_bit_and_wraps_at_32_are_understood() {
        assert_eq!(parse_counter("4505792774"), Some(4_505_792_774));
        assert_eq!(parse_counter(" 12 "), Some(12));
        assert_eq!(parse_counter("-1"), None);
        assert_eq!(parse_counter(""), None);
        assert_eq!(counter_delta(100, 250), 150);
        assert_eq!(counter_delta(u64::from(u32::MAX) - 9, 5), 15);
        assert_eq!(counter_delta(5_000_000_000, 7), 7);
    }
}
