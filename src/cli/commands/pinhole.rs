//! `pinhole add|list|update|remove|check`: IPv6 pinholes in the router's firewall
//! (UPnP WANIPv6FirewallControl), for ports of this computer. Every flag is checked before
//! anything is sent (a bad one exits 2, naming it).

use std::net::Ipv6Addr;
use std::process::ExitCode;
use std::time::Duration;

use portforward::model::{NewPinhole, PinholeLease, parse_ipv6_field};
use portforward::services::{PinholeService, PinholeStore};
use portforward::simulator::SimulatedGateway;
use portforward::upnp::{FirewallControl, discover, discover_ipv6};
use portforward::{Error, InputError, Port, Protocol};

use crate::cli::flags::{config_file, internal_port, protocol};
use crate::cli::{Args, Out};

/// What to do with IPv6 pinholes.
#[derive(Debug, clap::Subcommand)]
pub enum PinholeCommand {
    /// Open a port of this computer to the IPv6 internet; prints the pinhole and its id.
    Add {
        /// The port on this computer.
        #[arg(long, value_name = "P", value_parser = internal_port, allow_negative_numbers = true)]
        internal_port: Port,
        /// tcp or udp.
        #[arg(long, value_name = "tcp|udp", value_parser = protocol)]
        protocol: Protocol,
        /// Seconds, 1 to 86400 (routers have no permanent pinholes).
        #[arg(long, value_name = "SECONDS", value_parser = lease, default_value = "3600", allow_negative_numbers = true)]
        lease: PinholeLease,
        /// Only this IPv6 host may come in (default: anyone).
        #[arg(long, value_name = "H", value_parser = remote_host)]
        remote_host: Option<Ipv6Addr>,
        /// Only from this remote port (default: any).
        #[arg(long, value_name = "P", value_parser = remote_port, allow_negative_numbers = true)]
        remote_port: Option<Port>,
        /// The address to open, one of this computer's (default: its stable global address
        /// towards the router).
        #[arg(long, value_name = "ADDR", value_parser = own_ipv6)]
        internal_ip: Option<Ipv6Addr>,
    },
    /// The pinholes this computer made on the router, each asked of the router (those it
    /// no longer knows are dropped).
    List,
    /// Set a pinhole's lease afresh (UpdatePinhole; added again if the router lost it).
    Update {
        /// The pinhole's id.
        #[arg(long, value_name = "N", value_parser = id)]
        id: u16,
        /// Seconds, 1 to 86400.
        #[arg(long, value_name = "SECONDS", value_parser = lease, allow_negative_numbers = true)]
        lease: PinholeLease,
    },
    /// Close a pinhole.
    Remove {
        /// The pinhole's id.
        #[arg(long, value_name = "N", value_parser = id)]
        id: u16,
    },
    /// Keep every pinhole made here on this router open: renew each at half its lease
    /// (UpdatePinhole), open it again if the router lost it (704), until Ctrl-C.
    Keep,
    /// Whether a packet from outside has reached a pinhole, and its packet count.
    Check {
        /// The pinhole's id.
        #[arg(long, value_name = "N", value_parser = id)]
        id: u16,
    },
}

fn lease(text: &str) -> Result<PinholeLease, InputError> {
    PinholeLease::parse_field("lease", text)
}
fn remote_port(text: &str) -> Result<Port, InputError> {
    Port::parse_field("remote port", text)
}
fn remote_host(text: &str) -> Result<Ipv6Addr, InputError> {
    parse_ipv6_field("remote host", text)
}
fn own_ipv6(text: &str) -> Result<Ipv6Addr, InputError> {
    let addr = parse_ipv6_field("internal ip", text)?;
    portforward::host::check_own_ipv6("internal ip", addr)
}
fn id(text: &str) -> Result<u16, InputError> {
    text.trim()
        .parse::<u16>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| InputError::new("id", text, "a pinhole id is a number from 1 to 65535"))
}

/// The file of pinholes made here: in --config-dir, else in the platform's config directory
/// (with --demo and no --config-dir: memory only).
fn store(args: &Args) -> Result<PinholeStore, Error> {
    // The demo router lives as long as the command: nothing of it is worth keeping.
    if args.demo && args.config_dir.is_none() {
        return Ok(PinholeStore::in_memory());
    }
    Ok(PinholeStore::open(config_file(
        args,
        "pinholes.json",
        PinholeStore::default_path(),
    )?)?)
}

/// The router's firewall service: the demo's, the one at --gateway, or the discovered
/// router's (over IPv6, via the IPv6 default route).
fn connect(args: &Args, local: Option<Ipv6Addr>) -> Result<(FirewallControl, Option<SimulatedGateway>), Error> {
    let timeout = Duration::from_secs(5);
    if args.demo {
        let sim = SimulatedGateway::demo().map_err(|e| portforward::HostError::NoLocalAddress {
            reason: format!("cannot start the demo router: {e}"),
        })?;
        let url = sim
            .description_url_v6()
            .ok_or_else(|| portforward::HostError::NoLocalAddress {
                reason: "this system has no IPv6 loopback for the demo router".to_owned(),
            })?;
        let local = local.or(Some(Ipv6Addr::LOCALHOST));
        return Ok((FirewallControl::connect(&url, None, local, timeout)?, Some(sim)));
    }
    let url = match &args.gateway {
        Some(url) => url.clone(),
        // Over IPv6 first (the router's IPv6 URL); else over IPv4, then the IPv6 default route.
        None => match discover_ipv6(args.timeout) {
            Ok((url, _)) => url,
            Err(e) => {
                tracing::info!(%e, "no answer over IPv6; searching over IPv4");
                discover(&crate::cli::discovery(args))?.description_url().to_owned()
            }
        },
    };
    Ok((FirewallControl::connect(&url, None, local, timeout)?, None))
}

/// Runs a pinhole command.
pub fn run(args: &Args, out: Out, command: &PinholeCommand) -> Result<ExitCode, Error> {
    let local = match command {
        PinholeCommand::Add { internal_ip, .. } => *internal_ip,
        _ => None,
    };
    let store = store(args)?;
    let (mut control, _demo) = connect(args, local)?;
    // Without --internal-ip, the other commands act from the address the record's pinholes
    // were made for (the router accepts changes only from it).
    if local.is_none()
        && let Some(recorded) = store.on(control.control_url()).first().map(|p| p.opening.internal_ip)
    {
        control = control.sending_from(recorded);
    }
    run_with(out, command, PinholeService::new(control, store))
}

fn run_with(out: Out, command: &PinholeCommand, mut service: PinholeService) -> Result<ExitCode, Error> {
    match command {
        PinholeCommand::Add {
            internal_port,
            protocol,
            lease,
            remote_host,
            remote_port,
            internal_ip: _,
        } => {
            let opening = NewPinhole {
                internal_ip: service.control().local_address(),
                internal_port: *internal_port,
                protocol: *protocol,
                remote_host: *remote_host,
                remote_port: *remote_port,
                lease: *lease,
            };
            let pinhole = service.add(&opening)?;
            out.pinhole("opened", &pinhole);
        }
        PinholeCommand::List => out.pinholes(&service.list()?),
        PinholeCommand::Update { id, lease } => out.pinhole_renewal(&service.update(*id, *lease)?),
        PinholeCommand::Remove { id } => {
            service.remove(*id)?;
            out.pinhole_closed(*id);
        }
        PinholeCommand::Keep => return keep(out, service),
        PinholeCommand::Check { id } => match service.check(*id)? {
            portforward::services::PinholeState::Held(p) => out.pinhole("checked", &p),
            portforward::services::PinholeState::Gone(p) => {
                return Err(portforward::services::PinholeServiceError::Gone { id: p.id }.into());
            }
        },
    }
    Ok(ExitCode::SUCCESS)
}

/// After a failed renewal, the wait before trying again.
const RETRY: Duration = Duration::from_secs(5);

fn keep(out: Out, mut service: PinholeService) -> Result<ExitCode, Error> {
    use std::sync::mpsc::{self, RecvTimeoutError};
    let (stop, stopped) = mpsc::channel();
    if let Err(err) = ctrlc::set_handler(move || {
        let _ = stop.send(());
    }) {
        crate::cli::output::warning(&format!("cannot catch Ctrl-C ({err})"));
    }
    let kept = service.store().on(service.control().control_url()).len();
    if kept == 0 {
        return Err(InputError::new(
            "pinhole",
            "",
            "no pinholes made here on this router: open one with `pinhole add`",
        )
        .into());
    }
    out.pinhole_keeping(kept);
    let mut failed = false;
    loop {
        let now = portforward::model::unix_now();
        let wait = match service.next_due() {
            Some(due) => Duration::from_secs(due.saturating_sub(now)),
            None => Duration::from_secs(3600),
        };
        let wait = if failed { wait.max(RETRY) } else { wait };
        match stopped.recv_timeout(wait) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
        }
        failed = false;
        for (id, result) in service.renew_due(portforward::model::unix_now()) {
            match result {
                Ok(renewal) => out.pinhole_renewal(&renewal),
                Err(err) => {
                    failed = true;
                    crate::cli::output::warning(&format!(
                        "pinhole {id} not renewed: {err}; retrying in {} s",
                        RETRY.as_secs()
                    ));
                }
            }
        }
    }
    out.pinhole_keep_stopped();
    Ok(ExitCode::SUCCESS)
}
