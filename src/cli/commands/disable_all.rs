//! `disable-all`: remove every mapping matching all the filters given; without `--yes`, only
//! show what would go.

use std::process::ExitCode;

use portforward::{Error, Mapping, MappingFilter, PortForwarder, stale_mappings};

use crate::cli::Out;
use crate::cli::commands::list::owners_of;
use crate::cli::flags::PortFlags;

/// disable-all's filters: enable's port flags, said as filters, and its own.
#[derive(Debug, clap::Args)]
#[command(
    mut_arg("external_port", |a| a.help("Only this external port")),
    mut_arg("internal_port", |a| a.help("Only this internal port")),
    mut_arg("internal_ip", |a| a.help("Only mappings to this LAN host")),
    mut_arg("protocol", |a| a.help("Only TCP or only UDP"))
)]
pub struct DisableAllArgs {
    /// Ports, host, protocol.
    #[command(flatten)]
    ports: PortFlags,
    /// Only mappings with exactly this description.
    #[arg(long, value_name = "D")]
    description: Option<String>,
    /// Without any filter: every mapping on the router, other programs' included.
    #[arg(long)]
    all: bool,
    /// Only stale mappings: to this computer, on a port nothing here listens on.
    #[arg(long)]
    stale: bool,
    /// Really remove them (without it, only lists what would go).
    #[arg(long)]
    yes: bool,
}

/// Runs `disable-all`. The exit status is non-zero when any row was not removed.
pub fn run(out: Out, forwarder: &PortForwarder, d: &DisableAllArgs) -> Result<ExitCode, Error> {
    let filter = MappingFilter {
        external_port: d.ports.external_port,
        internal_port: d.ports.internal_port,
        internal_ip: d.ports.internal_ip.map(|ip| ip.to_string()),
        protocol: d.ports.protocol,
        description: d.description.clone(),
        everything: d.all,
    };
    let chosen = if d.stale {
        preview_stale(forwarder, &filter)?
    } else {
        forwarder.preview_disable_all(&filter)?
    };
    if !d.yes {
        out.removal_plan(&chosen);
        return Ok(ExitCode::SUCCESS);
    }
    let report = forwarder.remove_mappings(&chosen);
    out.removed_all(&report);
    Ok(if report.is_complete() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The stale mappings among those matching `filter` (every mapping when it is empty).
fn preview_stale(forwarder: &PortForwarder, filter: &MappingFilter) -> Result<Vec<Mapping>, Error> {
    let matching: Vec<Mapping> = forwarder
        .get_all_mappings()?
        .mappings
        .into_iter()
        .filter(|m| filter.is_empty() || filter.matches(m))
        .collect();
    let owners = owners_of(forwarder, &matching, false);
    Ok(stale_mappings(&matching, &owners))
}
