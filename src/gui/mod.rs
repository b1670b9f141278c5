//! The desktop window (being built).

use std::process::ExitCode;
use std::time::Duration;

/// How the window was asked to start.
pub struct Launch {
    /// A description URL given with --gateway (skips discovery).
    pub gateway_url: Option<String>,
    /// Run against the built-in simulated gateway.
    pub demo: bool,
    /// The discovery bound.
    pub discovery_timeout: Duration,
}

/// Opens the window.
pub fn run(_launch: Launch) -> ExitCode {
    eprintln!("portforward: the window is not built yet; use a subcommand (see --help)");
    ExitCode::FAILURE
}
