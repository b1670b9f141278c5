//! `disable`: remove one mapping.

use std::process::ExitCode;

use portforward::{Error, Port, PortForwarder, Protocol};

use crate::cli::Out;

/// Runs `disable`; the protocol defaults to TCP.
pub fn run(
    out: Out,
    forwarder: &PortForwarder,
    external_port: Port,
    protocol: Option<Protocol>,
) -> Result<ExitCode, Error> {
    let removed = forwarder.disable(Some(external_port), Some(protocol.unwrap_or_default()))?;
    out.removed(&removed);
    Ok(ExitCode::SUCCESS)
}
