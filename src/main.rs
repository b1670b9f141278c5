//! `portforward`: the window (no subcommand) or a command for scripts.

mod cli;
#[cfg(feature = "gui")]
mod gui;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    cli::init_logging(args.verbose);
    match args.command {
        None => open_window(args),
        Some(_) => cli::run(args),
    }
}

/// The window, on the router the flags name (or the first that answers discovery).
#[cfg(feature = "gui")]
fn open_window(args: cli::Args) -> ExitCode {
    gui::run(gui::Launch {
        gateway_url: args.gateway,
        demo: args.demo,
        demo_rows: args.demo_rows.unwrap_or(0),
        discovery: portforward::gateway::DiscoveryOptions {
            timeout: args.timeout,
            ..Default::default()
        },
    })
}

/// A build without the `gui` feature has no window: say so, and where the commands are.
#[cfg(not(feature = "gui"))]
fn open_window(_args: cli::Args) -> ExitCode {
    eprintln!(
        "portforward: this build has the command line only (built without the `gui` feature).\n\
         Run `portforward --help` for the commands, or build with default features for the window."
    );
    ExitCode::from(2)
}
