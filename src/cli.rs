//! The command line: the same library, for scripts. `--json` gives machine output; the exit
//! code is non-zero on any failure, with the reason on stderr.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use portforward::simulator::SimulatedGateway;
use portforward::upnp::{DiscoveryOptions, GatewayOptions, discover_all};
use portforward::{
    Description, EnableRequest, Enabled, Error, ExternalReachability, InputError, Lease, Mapping, MappingFilter, Port,
    PortForwarder, Protocol,
};
use serde_json::json;

/// `println!` that ends quietly when stdout is closed (`portforward list | head`).
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        // Formatted first, then written at once: stdout's line buffer would otherwise send
        // a long line (a listing as JSON) to the terminal or pipe a kilobyte at a time.
        let mut text = format!($($arg)*);
        text.push('\n');
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
    }};
}

// After the macro, so that they can use it.
mod keep;
mod natpmp;
mod owners;
mod presets;
mod transfer;

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
    /// With --demo: pad the demo router's table to N mappings.
    #[arg(long, global = true, value_name = "N", requires = "demo")]
    pub demo_rows: Option<usize>,
    /// More log output on stderr (-v, -vv).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
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
        external_port: Port,
        /// TCP (default) or UDP.
        #[arg(long, value_name = "TCP|UDP", value_parser = protocol)]
        protocol: Option<Protocol>,
    },
    /// Renew a mapping's lease in place (same flags as enable; --external-port required).
    Refresh(MappingArgs),
    /// Remove every mapping matching ALL the given filters. Lists them and changes nothing without --yes.
    DisableAll(DisableAllArgs),
    /// Write the table to a JSON or CSV file.
    Export(transfer::ExportArgs),
    /// Add the mappings of a JSON or CSV file. Shows the plan and changes nothing without --yes.
    Import(transfer::ImportArgs),
    /// Saved sets of mappings, applied in one go.
    #[command(subcommand)]
    Preset(presets::PresetCommand),
    /// This computer's own mappings over NAT-PMP / PCP (routers without UPnP).
    #[command(subcommand)]
    Natpmp(natpmp::NatPmpCommand),
    /// Forward a port (same flags as enable) and keep it: renew at half its lease, re-create it
    /// if the router loses it, until Ctrl-C.
    Keep {
        /// The mapping.
        #[command(flatten)]
        mapping: MappingArgs,
        /// Remove the mapping when stopped.
        #[arg(long)]
        remove_on_exit: bool,
    },
}

/// The fields of a mapping, as flags.
#[derive(Debug, clap::Args)]
pub struct MappingArgs {
    /// The port on the router.
    #[arg(long, value_name = "P", value_parser = external_port, allow_negative_numbers = true)]
    external_port: Option<Port>,
    /// The port on the LAN host.
    #[arg(long, value_name = "P", value_parser = internal_port, allow_negative_numbers = true)]
    internal_port: Option<Port>,
    /// The LAN host (IPv4); this computer by default.
    #[arg(long, value_name = "IP", value_parser = internal_ip)]
    internal_ip: Option<Ipv4Addr>,
    /// TCP (default) or UDP.
    #[arg(long, value_name = "TCP|UDP", value_parser = protocol)]
    protocol: Option<Protocol>,
    /// A description other programs' users will see (at most 255 bytes).
    #[arg(long, value_name = "D", value_parser = description)]
    description: Option<Description>,
    /// The lease in seconds, 0 (permanent) to 604800 (7 days).
    #[arg(long, value_name = "SECONDS", value_parser = duration, allow_negative_numbers = true)]
    duration: Option<Lease>,
}

/// disable-all's filters.
#[derive(Debug, clap::Args)]
pub struct DisableAllArgs {
    /// Only this external port.
    #[arg(long, value_name = "P", value_parser = external_port, allow_negative_numbers = true)]
    external_port: Option<Port>,
    /// Only this internal port.
    #[arg(long, value_name = "P", value_parser = internal_port, allow_negative_numbers = true)]
    internal_port: Option<Port>,
    /// Only mappings to this LAN host.
    #[arg(long, value_name = "IP", value_parser = internal_ip)]
    internal_ip: Option<Ipv4Addr>,
    /// Only TCP or only UDP.
    #[arg(long, value_name = "TCP|UDP", value_parser = protocol)]
    protocol: Option<Protocol>,
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

fn external_port(s: &str) -> Result<Port, InputError> {
    Port::parse_field("external port", s)
}
fn internal_port(s: &str) -> Result<Port, InputError> {
    Port::parse_field("internal port", s)
}
fn internal_ip(s: &str) -> Result<Ipv4Addr, InputError> {
    portforward::parse_internal_ip("internal ip", s)
}
fn protocol(s: &str) -> Result<Protocol, InputError> {
    Protocol::parse_field("protocol", s)
}
fn description(s: &str) -> Result<Description, InputError> {
    Description::parse_field("description", s)
}
fn duration(s: &str) -> Result<Lease, InputError> {
    Lease::parse_field("duration", s)
}
fn parse_timeout(s: &str) -> Result<Duration, InputError> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|secs| (0.1..=60.0).contains(secs))
        .map(Duration::from_secs_f64)
        .ok_or_else(|| InputError::new("timeout", s, "give seconds from 0.1 to 60"))
}

/// Runs a subcommand and reports failure on stderr.
pub fn run(args: Args) -> ExitCode {
    match execute(&args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("portforward: {err}{}", hint(&err));
            ExitCode::FAILURE
        }
    }
}

/// What the command line adds to a library error: the flag that helps.
fn hint(err: &Error) -> &'static str {
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

/// The router to talk to: the demo, a URL, or the first that answers discovery.
fn connect(args: &Args) -> Result<(PortForwarder, Option<SimulatedGateway>), Error> {
    if args.demo {
        let sim = SimulatedGateway::demo_with_rows(args.demo_rows.unwrap_or(0)).map_err(|e| {
            portforward::HostError::NoLocalAddress {
                reason: format!("cannot start the demo router: {e}"),
            }
        })?;
        return Ok((
            PortForwarder::connect(&sim.description_url(), &GatewayOptions::default())?,
            Some(sim),
        ));
    }
    let forwarder = match &args.gateway {
        Some(url) => PortForwarder::connect(url, &GatewayOptions::default())?,
        None => PortForwarder::discover(&discovery(args))?,
    };
    Ok((forwarder, None))
}

fn discovery(args: &Args) -> DiscoveryOptions {
    DiscoveryOptions {
        timeout: args.timeout,
        ..DiscoveryOptions::default()
    }
}

fn execute(args: &Args) -> Result<ExitCode, Error> {
    let command = args.command.as_ref().expect("run only with a subcommand");
    match command {
        Command::Gateways => return gateways(args),
        Command::Natpmp(natpmp) => return natpmp::run(args, natpmp),
        Command::Preset(preset) if !preset.needs_router() => return presets::run(args, preset, None),
        _ => {}
    }
    let (forwarder, demo) = connect(args)?;
    let result = match command {
        Command::Gateways | Command::Natpmp(_) => unreachable!("handled above"),
        Command::Ip => ip(args, &forwarder),
        Command::List { reverse_dns } => list(args, &forwarder, *reverse_dns),
        Command::Keep {
            mapping,
            remove_on_exit,
        } => keep::run(args, &forwarder, &enable_request(mapping), *remove_on_exit),
        Command::Enable(m) => {
            let enabled = forwarder.enable(&enable_request(m))?;
            print_enabled(args, "forwarded", &enabled);
            Ok(ExitCode::SUCCESS)
        }
        Command::Refresh(m) => {
            if m.external_port.is_none() {
                return Err(InputError::new("external port", "", "refresh needs --external-port").into());
            }
            let enabled = forwarder.refresh(Some(&enable_request(m)))?;
            print_enabled(args, "renewed", &enabled);
            Ok(ExitCode::SUCCESS)
        }
        Command::Disable {
            external_port,
            protocol,
        } => {
            let removed = forwarder.disable(Some(*external_port), Some(protocol.unwrap_or_default()))?;
            if args.json {
                outln!("{}", json!({ "removed": mapping_json(&removed) }));
            } else {
                outln!("removed {removed}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::DisableAll(d) => disable_all(args, &forwarder, d),
        Command::Export(e) => transfer::export(args, &forwarder, e),
        Command::Import(i) => transfer::import(args, &forwarder, i),
        Command::Preset(preset) => presets::run(args, preset, Some(&forwarder)),
    };
    // The client first: its keep-alive connection closes, so the demo router's connection thread
    // ends on its own before the router is stopped.
    drop(forwarder);
    drop(demo);
    result
}

fn enable_request(m: &MappingArgs) -> EnableRequest {
    EnableRequest {
        external_port: m.external_port,
        internal_port: m.internal_port,
        internal_ip: m.internal_ip,
        protocol: m.protocol.unwrap_or_default(),
        description: m.description.clone(),
        lease: m.duration,
    }
}

fn gateways(args: &Args) -> Result<ExitCode, Error> {
    let (found, demo) = if args.demo || args.gateway.is_some() {
        let (forwarder, demo) = connect(args)?;
        (
            vec![portforward::upnp::Gateway::connect(
                forwarder.gateway().description_url(),
                &GatewayOptions::default(),
            )?],
            demo,
        )
    } else {
        (discover_all(&discovery(args))?, None)
    };
    if args.json {
        let list: Vec<_> = found
            .iter()
            .map(|g| {
                let d = g.description();
                json!({
                    "name": d.friendly_name, "manufacturer": d.manufacturer, "model": d.model_name,
                    "igd_version": d.igd_version, "service_type": d.service_type,
                    "url": g.description_url(), "control_url": d.control_url,
                })
            })
            .collect();
        outln!("{}", serde_json::Value::Array(list));
    } else {
        for g in &found {
            let d = g.description();
            outln!(
                "{}  {}  {}  ({} {}, {})",
                d.friendly_name,
                d.igd_version,
                g.description_url(),
                d.manufacturer,
                d.model_name,
                d.service_type.rsplit(':').nth(1).unwrap_or("")
            );
        }
    }
    // The clients before the demo router they talk to (see `execute`).
    drop(found);
    drop(demo);
    Ok(ExitCode::SUCCESS)
}

fn ip(args: &Args, forwarder: &PortForwarder) -> Result<ExitCode, Error> {
    let external = forwarder.external_ip()?;
    let reachability = ExternalReachability::of(external);
    let local = forwarder.local_address();
    if args.json {
        outln!(
            "{}",
            json!({
                "external_ip": external, "local_ip": local.ip, "interface": local.interface,
                "reachability": reachability, "warning": reachability.warning(),
            })
        );
    } else {
        outln!("external {}", external.map_or("(none)".to_owned(), |ip| ip.to_string()));
        outln!(
            "local    {}{}",
            local.ip,
            local.interface.as_ref().map(|i| format!(" ({i})")).unwrap_or_default()
        );
    }
    if let Some(warning) = reachability.warning() {
        eprintln!("portforward: warning: {warning}");
    }
    Ok(ExitCode::SUCCESS)
}

fn list(args: &Args, forwarder: &PortForwarder, reverse_dns: bool) -> Result<ExitCode, Error> {
    let (table, owners) = owners::list_with_owners(forwarder, reverse_dns)?;
    if args.json {
        use std::io::Write as _;
        let rows: Vec<MappingRow> = table
            .mappings
            .iter()
            .zip(&owners)
            .map(|(m, owner)| MappingRow::new(m, Some(owner)))
            .collect();
        let mut text = serde_json::to_vec(&rows).expect("rows of strings and numbers serialize");
        text.push(b'\n');
        let _ = std::io::stdout().lock().write_all(&text);
    } else {
        print_table(&table.mappings, Some(&owners));
    }
    for warning in &table.warnings {
        eprintln!("portforward: warning: {warning}");
    }
    Ok(ExitCode::SUCCESS)
}

/// One mapping with PyForward's keys plus `enabled` and `remote_host`.
fn mapping_json(m: &Mapping) -> serde_json::Value {
    serde_json::to_value(MappingRow::new(m, None)).expect("a row of strings and numbers serializes")
}

/// A mapping as JSON: PyForward's keys plus `enabled`, `remote_host` and, in a listing,
/// `owner`; in alphabetical order. Serialized straight from the mapping (a listing of 500 is
/// written in a tenth of the time a `serde_json::Value` per row takes).
#[derive(serde::Serialize)]
struct MappingRow<'a> {
    description: &'a portforward::Description,
    duration: u32,
    enabled: bool,
    external_port: portforward::Port,
    internal_ip: &'a str,
    internal_port: portforward::Port,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<&'a portforward::Owner>,
    protocol: portforward::Protocol,
    remote_host: &'a str,
}

impl<'a> MappingRow<'a> {
    fn new(m: &'a Mapping, owner: Option<&'a portforward::Owner>) -> MappingRow<'a> {
        MappingRow {
            description: &m.description,
            duration: m.lease.as_secs(),
            enabled: m.enabled,
            external_port: m.external_port,
            internal_ip: &m.internal_client,
            internal_port: m.internal_port,
            owner,
            protocol: m.protocol,
            remote_host: &m.remote_host,
        }
    }
}

/// The table on stdout; with `owners`, an OWNER column after the internal port.
fn print_table(mappings: &[Mapping], owners: Option<&[portforward::Owner]>) {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let owner_cells: Vec<String> = owners.map_or_else(Vec::new, |o| o.iter().map(owners::owner_cell).collect());
    let width = owner_cells
        .iter()
        .map(|c| c.chars().count() + 1)
        .max()
        .unwrap_or(0)
        .max(6);
    let owner_column = |cell: &str| {
        if owners.is_some() {
            format!("{cell:<width$} ")
        } else {
            String::new()
        }
    };
    let _ = writeln!(
        out,
        "{:<5} {:>8}  {:<21} {:>8}  {}{:<12} {:<7} {:<15} DESCRIPTION",
        "PROTO",
        "EXTERNAL",
        "INTERNAL CLIENT",
        "INTERNAL",
        owner_column("OWNER"),
        "LEASE",
        "ENABLED",
        "REMOTE HOST"
    );
    for (i, m) in mappings.iter().enumerate() {
        let _ = writeln!(
            out,
            "{:<5} {:>8}  {:<21} {:>8}  {}{:<12} {:<7} {:<15} {}",
            m.protocol,
            m.external_port,
            m.internal_client,
            m.internal_port,
            owner_column(owner_cells.get(i).map_or("", String::as_str)),
            m.lease.to_string(),
            if m.enabled { "yes" } else { "no" },
            if m.remote_host.is_empty() { "*" } else { &m.remote_host },
            m.description
        );
    }
    let _ = writeln!(
        out,
        "{} mapping{}",
        mappings.len(),
        if mappings.len() == 1 { "" } else { "s" }
    );
}

fn print_enabled(args: &Args, verb: &str, e: &Enabled) {
    let r = &e.request;
    if args.json {
        outln!(
            "{}",
            json!({
                "external_ip": e.external_ip, "external_port": r.external_port,
                "internal_ip": r.internal_ip, "internal_port": r.internal_port,
                "protocol": r.protocol, "description": r.description, "duration": e.mapping.lease.as_secs(),
            })
        );
    } else {
        outln!(
            "{verb} {}:{} -> {}:{} {} \"{}\" (lease {})",
            e.external_ip
                .map_or("(no external address)".to_owned(), |ip| ip.to_string()),
            r.external_port,
            r.internal_ip,
            r.internal_port,
            r.protocol,
            r.description,
            e.mapping.lease
        );
    }
}

fn disable_all(args: &Args, forwarder: &PortForwarder, d: &DisableAllArgs) -> Result<ExitCode, Error> {
    let filter = MappingFilter {
        external_port: d.external_port,
        internal_port: d.internal_port,
        internal_ip: d.internal_ip.map(|ip| ip.to_string()),
        protocol: d.protocol,
        description: d.description.clone(),
        everything: d.all,
    };
    let chosen = if d.stale {
        owners::preview_stale(forwarder, &filter)?
    } else {
        forwarder.preview_disable_all(&filter)?
    };
    if !d.yes {
        if args.json {
            let rows: Vec<_> = chosen.iter().map(mapping_json).collect();
            outln!("{}", json!({ "would_remove": rows, "removed": [] }));
        } else {
            outln!("would remove {} mapping(s); nothing was changed:", chosen.len());
            print_table(&chosen, None);
            if !chosen.is_empty() {
                outln!("run again with --yes to remove them");
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let report = forwarder.remove_mappings(&chosen);
    if args.json {
        let failed: Vec<_> = report
            .failed
            .iter()
            .map(|(m, why)| json!({ "mapping": mapping_json(m), "error": why }))
            .collect();
        outln!(
            "{}",
            json!({
                "removed": report.done.iter().map(mapping_json).collect::<Vec<_>>(),
                "failed": failed,
                "not_attempted": report.not_attempted.iter().map(mapping_json).collect::<Vec<_>>(),
            })
        );
    } else {
        for m in &report.done {
            outln!("removed {m}");
        }
        for (m, why) in &report.failed {
            outln!("FAILED  {m}: {why}");
        }
        for m in &report.not_attempted {
            outln!("skipped {m}: the gateway stopped answering");
        }
        outln!(
            "{} removed, {} failed, {} not attempted",
            report.done.len(),
            report.failed.len(),
            report.not_attempted.len()
        );
    }
    Ok(if report.is_complete() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
