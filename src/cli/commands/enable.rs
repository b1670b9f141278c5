//! `enable`: forward a port; every flag is optional.

use std::process::ExitCode;

use portforward::{Error, PortForwarder};

use crate::cli::Out;
use crate::cli::commands::list::owners_of;
use crate::cli::flags::MappingArgs;

/// Runs `enable`: the mapping, the ports chosen for what was left out, and, for this
/// computer, who listens on the internal port already.
pub fn run(out: Out, forwarder: &PortForwarder, mapping: &MappingArgs) -> Result<ExitCode, Error> {
    let request = mapping.request();
    let enabled = forwarder.enable(&request)?;
    let chosen = request.explain(&enabled);
    let owner = (enabled.request.internal_ip == forwarder.local_ip())
        .then(|| owners_of(forwarder, std::slice::from_ref(&enabled.mapping), false).pop())
        .flatten();
    out.enabled_choice(&enabled, chosen.as_deref(), owner.as_ref());
    Ok(ExitCode::SUCCESS)
}
