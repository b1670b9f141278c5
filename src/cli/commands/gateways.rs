//! `gateways`: every gateway that answers discovery; with --demo or --gateway, that one.

use std::process::ExitCode;

use portforward::Error;
use portforward::upnp::{Gateway, GatewayOptions, discover_all};

use crate::cli::{Args, Out, connect, discovery};

/// Runs `gateways`.
pub fn run(args: &Args, out: Out) -> Result<ExitCode, Error> {
    let (found, _demo) = if args.demo || args.gateway.is_some() {
        let (forwarder, demo) = connect(args)?;
        let gateway = Gateway::connect(forwarder.gateway().description_url(), &GatewayOptions::default())?;
        (vec![gateway], demo)
    } else {
        (discover_all(&discovery(args))?, None)
    };
    out.gateways(&found);
    Ok(ExitCode::SUCCESS)
}
