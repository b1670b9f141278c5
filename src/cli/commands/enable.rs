//! `enable`: forward a port; every flag is optional.

use std::process::ExitCode;

use portforward::{Error, PortForwarder};

use crate::cli::Out;
use crate::cli::flags::MappingArgs;

/// Runs `enable`.
pub fn run(out: Out, forwarder: &PortForwarder, mapping: &MappingArgs) -> Result<ExitCode, Error> {
    let enabled = forwarder.enable(&mapping.request())?;
    out.enabled("forwarded", &enabled);
    Ok(ExitCode::SUCCESS)
}
