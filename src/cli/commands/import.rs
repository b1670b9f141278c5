//! `import FILE`: a file's rows added after a plan that shows what would be added, what
//! conflicts and what is already there; only with `--yes` is anything sent.

use std::path::PathBuf;
use std::process::ExitCode;

use portforward::services::plan_import_from;
use portforward::{Error, PortForwarder};

use crate::cli::Out;

/// `import`'s arguments.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// A JSON or CSV file, as `export` or `list --json` writes (format from the extension, else the content).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Really add the rows (without it, only shows the plan).
    #[arg(long)]
    yes: bool,
}

/// Runs `import`. The exit status is non-zero when any row is invalid, conflicts or fails.
pub fn run(out: Out, forwarder: &PortForwarder, i: &ImportArgs) -> Result<ExitCode, Error> {
    let (_file, plan) = plan_import_from(forwarder, &i.file)?;
    let report = (i.yes && !plan.to_add.is_empty()).then(|| forwarder.add_mappings(&plan.mappings_to_add()));
    out.import(&i.file, &plan, i.yes, report.as_ref());
    let failed = report.as_ref().is_some_and(|r| !r.is_complete());
    Ok(if plan.is_clean() && !failed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
