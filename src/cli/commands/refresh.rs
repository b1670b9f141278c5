//! `refresh`: renew a mapping's lease in place.

use std::process::ExitCode;

use portforward::{Error, InputError, PortForwarder};

use crate::cli::Out;
use crate::cli::flags::MappingArgs;

/// Runs `refresh`: the same flags as `enable`, with `--external-port` required.
pub fn run(out: Out, forwarder: &PortForwarder, mapping: &MappingArgs) -> Result<ExitCode, Error> {
    if mapping.ports.external_port.is_none() {
        return Err(InputError::new("external port", "", "refresh needs --external-port").into());
    }
    let enabled = forwarder.refresh(Some(&mapping.request()))?;
    out.enabled("renewed", &enabled);
    Ok(ExitCode::SUCCESS)
}
