//! `portforward status`: what the router says of its WAN side ([`Gateway::router_status`]):
//! connection, link, bit rates, traffic counters, external address and admin page.

use std::process::ExitCode;

use portforward::Error;
use portforward::simulator::SimulatedGateway;
use portforward::upnp::Gateway;

use crate::cli::Out;

/// Runs `status` on `router` (the gateway, and the demo router it may be).
pub fn run(out: Out, router: (Gateway, Option<SimulatedGateway>)) -> Result<ExitCode, Error> {
    let (gateway, _demo) = router;
    let status = gateway.router_status()?;
    out.router_status(&gateway, &status);
    Ok(ExitCode::SUCCESS)
}
