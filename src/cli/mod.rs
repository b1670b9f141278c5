//! The command line: the same library, for scripts. `--json` gives machine output; the exit
//! code is non-zero on any failure, with the reason on stderr.
//!
//! The map: [`Args`] and [`Command`] here say what the user can type, and [`run`] sends each
//! command to its file in [`commands`] (one file a command). Commands compute and call the
//! library; what they show goes through [`output::Printer`], written once as text
//! ([`output::text`]) and once as JSON ([`output::json`]). Shared flags and their parsers are in
//! [`flags`]. The library's errors are neutral; [`hint`] adds the flag that helps.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use portforward::simulator::SimulatedGateway;
use portforward::upnp::{DiscoveryOptions, Gateway, GatewayOptions};
use portforward::{Error, PortForwarder};

mod commands;
mod flags;
mod output;

use commands::{autostart, disable_all, export, import, keep, keep_preset, pinhole, port_control, preset, watch};
use flags::{MappingArgs, external_port, parse_timeout, protocol};
use output::Printer;

/// Manage your router's port forwards over UPnP IGD. Without a command, opens the window.
#[derive(Debug, Parser)]
#[command(name = "portforward", version, about)]
#[cfg_attr(
    not(feature = "gui"),
    command(
        about = "Manage your router's port forwards over UPnP IGD (this build: the command line only, no window).",
        subcommand_required = true,
        arg_required_else_help = true
    )
)]
pub struct Args {
    /// The gateway's description URL (e.g. http://192.168.1.1:5000/rootDesc.xml); skips discovery.
    #[arg(long, global = true, value_name = "URL")]
    pub gateway: Option<String>,
    /// Upper bound of discovery, in seconds (it returns as soon as the router answers).
    #[arg(long, global = true, value_name = "SECONDS", default_value = "3", value_parser = parse_timeout)]
    pub timeout: Duration,
    /// Machine-readable output.
    #[arg(long, global = true)]
    pub json: bool,
    /// Use the built-in simulated router (on 127.0.0.1) instead of a real one.
    #[arg(long, global = true)]
    pub demo: bool,
    /// Where presets and NAT-PMP/PCP mappings are kept (default: the platform's config directory).
    #[arg(long, global = true, value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
    /// Where `keep --preset` writes its log and state file, which the window reads (default:
    /// the platform's data directory).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// With --demo: pad the demo router's table to N mappings.
    #[arg(long, global = true, value_name = "N", requires = "demo")]
    pub demo_rows: Option<usize>,
    /// More log output on stderr (-v, -vv).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Search this address by unicast instead of the SSDP multicast group, from 127.0.0.1
    /// (tests against the simulator; hidden from the help, and last, so that the visible flags keep
    /// their order in every command's help).
    #[arg(long, global = true, value_name = "ADDR", hide = true)]
    pub search_addr: Option<std::net::SocketAddr>,
    /// What to do; none opens the window.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Every gateway that answers discovery (waits the whole --timeout), with name, IGD version, URL.
    Gateways,
    /// The router's external IP and this computer's local IP.
    Ip,
    /// The router's whole port-mapping table, with who is behind each mapping (OWNER).
    List {
        /// Name other LAN hosts by reverse DNS too (sends queries to your DNS server); without
        /// it, names come from the hosts file only.
        #[arg(long)]
        reverse_dns: bool,
    },
    /// Forward a port. Every flag is optional: a free port, this computer, TCP, "PortForward", 1 h.
    Enable(MappingArgs),
    /// Remove one mapping.
    Disable {
        /// The external port of the mapping.
        #[arg(long, value_name = "P", value_parser = external_port, allow_negative_numbers = true)]
        external_port: portforward::Port,
        /// TCP (default) or UDP.
        #[arg(long, value_name = "TCP|UDP", value_parser = protocol)]
        protocol: Option<portforward::Protocol>,
    },
    /// Renew a mapping's lease in place (same flags as enable; --external-port required).
    Refresh(MappingArgs),
    /// Remove every mapping matching ALL the given filters. Lists them and changes nothing without --yes.
    DisableAll(disable_all::DisableAllArgs),
    /// Write the table to a JSON or CSV file.
    Export(export::ExportArgs),
    /// Add the mappings of a JSON or CSV file. Shows the plan and changes nothing without --yes.
    Import(import::ImportArgs),
    /// Saved sets of mappings, applied in one go.
    #[command(subcommand)]
    Preset(preset::PresetCommand),
    /// This computer's own mappings over NAT-PMP / PCP (routers without UPnP).
    #[command(subcommand)]
    Natpmp(port_control::PortControlCommand),
    /// IPv6 pinholes: open ports of this computer in the router's IPv6 firewall.
    #[command(subcommand)]
    Pinhole(pinhole::PinholeCommand),
    /// Forward a port (same flags as enable), or every mapping of a preset, and keep it: renew
    /// at half its lease, re-create it if the router loses it, until Ctrl-C or SIGTERM.
    Keep(keep::KeepArgs),
    /// Print each change of the router's table, external address and connection as it happens
    /// (by the router's events, else by reading it every --interval), until Ctrl-C or SIGTERM.
    Watch(watch::WatchArgs),
    /// The router's connection, link, traffic counters and admin page.
    Status,
    /// Keep a preset forwarded from login on, with no window: a per-user login-time job
    /// running `portforward keep --preset NAME` (no root needed).
    #[command(subcommand)]
    Autostart(autostart::AutostartCommand),
}

/// Runs a subcommand and reports failure on stderr.
pub fn run(args: Args) -> ExitCode {
    match execute(&args) {
        Ok(code) => code,
        Err(err) => {
            output::error(&format!("{err}{}", hint(&err)));
            ExitCode::FAILURE
        }
    }
}

/// What the command line adds to a library error: the flag that helps.
pub(crate) fn hint(err: &Error) -> &'static str {
    match err {
        Error::Upnp(portforward::UpnpError::NotFound { .. }) => ", or give its description URL with --gateway",
        Error::Host(portforward::HostError::NoDefaultGateway { .. }) => ": give the router's address (--gateway-ip)",
        _ => "",
    }
}

/// Log to stderr: warnings by default, more with -v/-vv, or as RUST_LOG says.
pub fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| level.into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// The router to talk to: the demo, a URL, or the first that answers discovery. The demo
/// router, when there is one, lives as long as the second value.
fn connect(args: &Args) -> Result<(PortForwarder, Option<SimulatedGateway>), Error> {
    let (gateway, demo) = connect_gateway(args)?;
    Ok((PortForwarder::new(gateway)?, demo))
}

/// The router as [`connect`] finds it, without this computer's address (`watch`, `status`).
fn connect_gateway(args: &Args) -> Result<(Gateway, Option<SimulatedGateway>), Error> {
    if args.demo {
        let sim = SimulatedGateway::demo_with_rows(args.demo_rows.unwrap_or(0)).map_err(|e| {
            portforward::HostError::NoLocalAddress {
                reason: format!("cannot start the demo router: {e}"),
            }
        })?;
        return Ok((
            Gateway::connect(&sim.description_url(), &GatewayOptions::default())?,
            Some(sim),
        ));
    }
    let gateway = match &args.gateway {
        Some(url) => Gateway::connect(url, &GatewayOptions::default())?,
        None => portforward::upnp::discover(&discovery(args))?,
    };
    Ok((gateway, None))
}

/// Discovery as the flags ask.
fn discovery(args: &Args) -> DiscoveryOptions {
    let mut options = DiscoveryOptions {
        timeout: args.timeout,
        ..DiscoveryOptions::default()
    };
    if let Some(to) = args.search_addr {
        options.search_addr = to;
        options.bind = std::net::Ipv4Addr::LOCALHOST;
    }
    options
}

/// Sends the command to its file: first those that need no UPnP router, then the others with
/// the router connected.
fn execute(args: &Args) -> Result<ExitCode, Error> {
    let command = args.command.as_ref().expect("run only with a subcommand");
    let out = output::printer(args.json);
    match command {
        Command::Gateways => return commands::gateways::run(args, out),
        Command::Natpmp(natpmp) => return port_control::run(args, out, natpmp),
        Command::Pinhole(p) => return pinhole::run(args, out, p),
        Command::Preset(preset) if !preset.needs_router() => return preset::run(args, out, preset, None),
        Command::Autostart(autostart) => return autostart::run(args, out, autostart),
        Command::Keep(k) if k.preset.is_some() => return keep_preset::run(args, out, k),
        Command::Watch(w) => return watch::run(out, connect_gateway(args)?, w),
        Command::Status => return commands::status::run(out, connect_gateway(args)?),
        _ => {}
    }
    let (forwarder, demo) = connect(args)?;
    let forwarder = Arc::new(forwarder);
    let result = match command {
        Command::Gateways
        | Command::Natpmp(_)
        | Command::Autostart(_)
        | Command::Pinhole(_)
        | Command::Watch(_)
        | Command::Status => {
            unreachable!("handled above")
        }
        Command::Ip => commands::ip::run(out, &forwarder),
        Command::List { reverse_dns } => commands::list::run(out, &forwarder, *reverse_dns),
        Command::Enable(m) => commands::enable::run(out, &forwarder, m),
        Command::Refresh(m) => commands::refresh::run(out, &forwarder, m),
        Command::Disable {
            external_port,
            protocol,
        } => commands::disable::run(out, &forwarder, *external_port, *protocol),
        Command::DisableAll(d) => disable_all::run(out, &forwarder, d),
        Command::Export(e) => export::run(out, &forwarder, e),
        Command::Import(i) => import::run(out, &forwarder, i),
        Command::Preset(preset) => preset::run(args, out, preset, Some(&forwarder)),
        Command::Keep(k) => keep::run(out, Arc::clone(&forwarder), k),
    };
    // The client first: its keep-alive connection closes, so the demo router's connection thread
    // ends on its own before the router is stopped.
    drop(forwarder);
    drop(demo);
    result
}

/// A printer for the chosen format, for the commands' signatures.
type Out = &'static dyn Printer;
