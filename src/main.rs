//! `portforward`: the window (no subcommand) or a command for scripts.

mod cli;
mod gui;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    match args.command {
        None => gui::run(gui::Launch {
            gateway_url: args.gateway,
            demo: args.demo,
            demo_rows: args.demo_rows.unwrap_or(0),
            discovery: portforward::gateway::DiscoveryOptions {
                timeout: args.timeout,
                ..Default::default()
            },
        }),
        Some(_) => cli::run(args),
    }
}
