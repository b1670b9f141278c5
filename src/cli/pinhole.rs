//! `pinhole add|list|update|remove|check`: IPv6 pinholes in the router's firewall
//! (UPnP WANIPv6FirewallControl), for ports of this computer. Every flag is checked before
//! anything is sent (a bad one exits 2, naming it).

use std::net::Ipv6Addr;
use std::process::ExitCode;
use std::time::Duration;

use portforward::model::{NewPinhole, Pinhole, PinholeLease, parse_ipv6_field};
use portforward::services::{PinholeReachability, PinholeService, PinholeState, PinholeStore, Renewal};
use portforward::simulator::SimulatedGateway;
use portforward::upnp::{FirewallControl, discover, discover_ipv6};
use portforward::{Error, InputError, Port, Protocol};
use serde_json::json;

use super::{Args, discovery, internal_port, protocol};

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
    let path = match &args.config_dir {
        Some(dir) => dir.join("pinholes.json"),
        None => PinholeStore::default_path().ok_or_else(|| {
            InputError::new(
                "config dir",
                "",
                "this system has no config directory: give one with --config-dir",
            )
        })?,
    };
    Ok(PinholeStore::open(path)?)
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
                discover(&discovery(args))?.description_url().to_owned()
            }
        },
    };
    Ok((FirewallControl::connect(&url, None, local, timeout)?, None))
}

fn pinhole_json(pinhole: &Pinhole) -> serde_json::Value {
    let o = &pinhole.opening;
    json!({
        "id": pinhole.id,
        "internal_ip": o.internal_ip.to_string(),
        "internal_port": o.internal_port.get(),
        "protocol": o.protocol.as_str(),
        "remote_host": o.remote_host.map(|h| h.to_string()),
        "remote_port": o.remote_port.map(Port::get),
        "lease_secs": o.lease.as_secs(),
        "seconds_left": pinhole.seconds_left(),
        "packets": pinhole.packets,
        "working": pinhole.working,
        "gateway": pinhole.gateway,
        "reachability": PinholeReachability::of(pinhole),
    })
}

fn working_text(pinhole: &Pinhole) -> String {
    let working = match pinhole.working {
        Some(true) => "an outside packet has reached it",
        Some(false) => "no outside packet has reached it yet (that proves nothing either way)",
        None => "not checked",
    };
    match pinhole.packets {
        Some(packets) => format!("{working}; {packets} packets"),
        None => working.to_owned(),
    }
}

/// Runs a pinhole command.
pub fn run(args: &Args, command: &PinholeCommand) -> Result<ExitCode, Error> {
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
    run_with(args, command, PinholeService::new(control, store))
}

fn run_with(args: &Args, command: &PinholeCommand, mut service: PinholeService) -> Result<ExitCode, Error> {
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
            if args.json {
                outln!("{}", pinhole_json(&pinhole));
            } else {
                outln!("opened {pinhole}");
                outln!("{}", PinholeReachability::of(&pinhole).describe());
            }
        }
        PinholeCommand::List => {
            let states = service.list()?;
            if args.json {
                let rows: Vec<serde_json::Value> = states
                    .iter()
                    .map(|state| match state {
                        PinholeState::Held(p) => {
                            let mut row = pinhole_json(p);
                            row["state"] = json!("held");
                            row
                        }
                        PinholeState::Gone(p) => {
                            let mut row = pinhole_json(p);
                            row["state"] = json!("gone");
                            row
                        }
                    })
                    .collect();
                outln!("{}", serde_json::Value::Array(rows));
            } else if states.is_empty() {
                outln!("no pinholes made from this computer on this router");
            } else {
                for state in &states {
                    match state {
                        PinholeState::Held(p) => outln!("{p}; {}", working_text(p)),
                        PinholeState::Gone(p) => outln!(
                            "{p}: gone (the router no longer knows it: expired, closed elsewhere, or the router restarted)"
                        ),
                    }
                }
            }
        }
        PinholeCommand::Update { id, lease } => {
            let renewal = service.update(*id, *lease)?;
            print_renewal(args, &renewal);
        }
        PinholeCommand::Remove { id } => {
            service.remove(*id)?;
            if args.json {
                outln!("{}", json!({ "removed": id }));
            } else {
                outln!("closed pinhole {id}");
            }
        }
        PinholeCommand::Keep => return keep(args, service),
        PinholeCommand::Check { id } => match service.check(*id)? {
            PinholeState::Held(p) => {
                if args.json {
                    outln!("{}", pinhole_json(&p));
                } else {
                    outln!("{p}; {}", working_text(&p));
                    outln!("{}", PinholeReachability::of(&p).describe());
                }
            }
            PinholeState::Gone(p) => {
                return Err(portforward::services::PinholeServiceError::Gone { id: p.id }.into());
            }
        },
    }
    Ok(ExitCode::SUCCESS)
}

fn print_renewal(args: &Args, renewal: &Renewal) {
    let pinhole = renewal.pinhole();
    if args.json {
        let mut row = pinhole_json(pinhole);
        if let Renewal::Readded { old_id, .. } = renewal {
            row["readded_from"] = json!(old_id);
        }
        outln!("{row}");
        return;
    }
    match renewal {
        Renewal::Renewed(p) => outln!("renewed {p}"),
        Renewal::Readded { old_id, pinhole } => {
            outln!("the router had lost pinhole {old_id} (restarted?); opened it again: {pinhole}")
        }
    }
}

/// After a failed renewal, the wait before trying again.
const RETRY: Duration = Duration::from_secs(5);

fn keep(args: &Args, mut service: PinholeService) -> Result<ExitCode, Error> {
    use std::sync::mpsc::{self, RecvTimeoutError};
    let (stop, stopped) = mpsc::channel();
    if let Err(err) = ctrlc::set_handler(move || {
        let _ = stop.send(());
    }) {
        eprintln!("portforward: warning: cannot catch Ctrl-C ({err})");
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
    if !args.json {
        outln!("keeping {kept} pinhole(s) open until Ctrl-C");
    }
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
                Ok(renewal) => print_renewal(args, &renewal),
                Err(err) => {
                    failed = true;
                    eprintln!(
                        "portforward: pinhole {id} not renewed: {err}; retrying in {} s",
                        RETRY.as_secs()
                    );
                }
            }
        }
    }
    if !args.json {
        outln!("stopped; the pinholes stay until their leases run out");
    }
    Ok(ExitCode::SUCCESS)
}
