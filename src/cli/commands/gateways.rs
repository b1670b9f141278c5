//! `gateways`: every gateway that answers discovery; with --demo or --gateway, that one. When
//! none answers, what was tried and what came back, on stderr (exit 1).

use std::process::ExitCode;
use std::time::Duration;

use portforward::Error;
use portforward::upnp::{DiscoveryOptions, Gateway, GatewayOptions, diagnose, discover_all};

use crate::cli::{Args, Out, connect, discovery, output};

/// Runs `gateways`.
pub fn run(args: &Args, out: Out) -> Result<ExitCode, Error> {
    let (found, demo) = if args.demo || args.gateway.is_some() {
        let (forwarder, demo) = connect(args)?;
        let gateway = Gateway::connect(forwarder.gateway().description_url(), &GatewayOptions::default())?;
        (vec![gateway], demo)
    } else {
        let options = discovery(args);
        match discover_all(&options) {
            Ok(found) => (found, None),
            Err(err) => {
                // Nothing usable answered: a brief second search says what did, and why.
                let brief = DiscoveryOptions {
                    timeout: options.timeout.min(Duration::from_secs(1)),
                    ..options
                };
                let diagnosis = diagnose(&brief);
                for line in diagnosis.lines() {
                    output::error(&line);
                }
                for advice in diagnosis.advice() {
                    output::error(&format!("try: {advice}"));
                }
                return Err(err.into());
            }
        }
    };
    out.gateways(&found);
    // The clients before the demo router they talk to (see `cli::execute`).
    drop(found);
    drop(demo);
    Ok(ExitCode::SUCCESS)
}
