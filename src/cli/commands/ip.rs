//! `ip`: the router's external address and this computer's, with a warning when forwards
//! cannot be reached from outside (the router is behind another NAT).

use std::process::ExitCode;

use portforward::{Error, ExternalReachability, PortForwarder};

use crate::cli::{Out, output};

/// Runs `ip`.
pub fn run(out: Out, forwarder: &PortForwarder) -> Result<ExitCode, Error> {
    let external = forwarder.external_ip()?;
    let reachability = ExternalReachability::of(external);
    out.ip(external, forwarder.local_address(), reachability);
    if let Some(warning) = reachability.warning() {
        output::warning(&warning);
    }
    Ok(ExitCode::SUCCESS)
}
