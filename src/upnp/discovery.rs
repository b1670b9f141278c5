//! Finding gateways: SSDP answers turned into connected [`Gateway`]s.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use super::error::UpnpError;
use super::gateway::{Gateway, GatewayOptions};
use super::ssdp::{self, SSDP_MULTICAST};

/// How to search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscoveryOptions {
    /// The upper bound of the search: discovery returns as soon as it has its answer.
    pub timeout: Duration,
    /// Where M-SEARCH goes: the SSDP multicast group, or one device's address (unicast).
    pub search_addr: SocketAddr,
    /// The local address to search from (choose the interface); unspecified = any.
    pub bind: Ipv4Addr,
    /// How to talk to the gateways found.
    pub gateway: GatewayOptions,
}

impl Default for DiscoveryOptions {
    fn default() -> DiscoveryOptions {
        DiscoveryOptions {
            timeout: Duration::from_secs(3),
            search_addr: SSDP_MULTICAST,
            bind: Ipv4Addr::UNSPECIFIED,
            gateway: GatewayOptions::default(),
        }
    }
}

/// Finds the first gateway that answers and describes itself validly; returns at once.
///
/// ```no_run
/// let gateway = portforward::upnp::discover(&Default::default())?;
/// println!("found {}", gateway.description().friendly_name);
/// # Ok::<(), portforward::UpnpError>(())
/// ```
pub fn discover(options: &DiscoveryOptions) -> Result<Gateway, UpnpError> {
    run(options, true).map(|mut found| found.remove(0))
}

/// Finds every gateway that answers within the timeout (waits for the whole of it).
pub fn discover_all(options: &DiscoveryOptions) -> Result<Vec<Gateway>, UpnpError> {
    run(options, false)
}

fn run(options: &DiscoveryOptions, first_only: bool) -> Result<Vec<Gateway>, UpnpError> {
    let started = Instant::now();
    let mut found: Vec<Gateway> = Vec::new();
    let mut last_error = None;
    ssdp::search(options.search_addr, options.bind, options.timeout, |answer, deadline| {
        let remaining = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(200));
        let gateway_options = GatewayOptions {
            request_timeout: options.gateway.request_timeout.min(remaining),
        };
        match Gateway::connect(answer.location.as_str(), &gateway_options) {
            Ok(gateway) => {
                tracing::info!(url = %answer.location, name = %gateway.description().friendly_name, "gateway found");
                let gateway = gateway.with_options(&options.gateway);
                if !found.iter().any(|g| g.description().control_url == gateway.description().control_url) {
                    found.push(gateway);
                }
                first_only
            }
            Err(err) => {
                tracing::warn!(url = %answer.location, %err, "an SSDP answer led to no usable gateway");
                last_error = Some(err);
                false
            }
        }
    })
    .map_err(|e| UpnpError::Search { reason: e.to_string() })?;
    if found.is_empty() {
        return Err(match last_error {
            Some(err) if !err.is_unreachable() => err,
            _ => UpnpError::NotFound {
                waited: started.elapsed(),
            },
        });
    }
    Ok(found)
}
