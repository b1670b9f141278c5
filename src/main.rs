//! `portforward`: the window (no subcommand) or a command for scripts.

// On Windows the app is a GUI program, so starting it from Explorer or the Start menu opens no
// console window beside the app; started from a terminal, it attaches to that terminal's console
// (`console::attach_to_parent`) so the command line still prints. The command-line-only build
// stays a console program.
#![cfg_attr(all(windows, feature = "gui"), windows_subsystem = "windows")]

mod cli;
#[cfg(all(windows, feature = "gui"))]
mod console;
#[cfg(feature = "gui")]
mod gui;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    #[cfg(all(windows, feature = "gui"))]
    console::attach_to_parent();
    let args = cli::Args::parse();
    cli::init_logging(args.verbose);
    match args.command {
        Some(_) => cli::run(args),
        #[cfg(feature = "gui")]
        None => open_window(args),
        // Without the window, clap requires a command (`subcommand_required` in cli::Args).
        #[cfg(not(feature = "gui"))]
        None => unreachable!("clap requires a command in a build without the window"),
    }
}

/// The window, on the router the flags name (or the first that answers discovery).
#[cfg(feature = "gui")]
fn open_window(args: cli::Args) -> ExitCode {
    gui::run(gui::Launch {
        gateway_url: args.gateway,
        demo: args.demo,
        demo_rows: args.demo_rows.unwrap_or(0),
        discovery: portforward::upnp::DiscoveryOptions {
            timeout: args.timeout,
            ..Default::default()
        },
    })
}
