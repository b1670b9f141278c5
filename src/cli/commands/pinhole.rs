//! `pinhole add|list|update|remove|check`: IPv6 pinholes in the router's firewall
//! (UPnP WANIPv6FirewallControl, else PCP MAP over IPv6), for ports of this computer. Every
//! flag is checked before anything is sent (a bad one exits 2, naming it).

use std::net::Ipv6Addr;
use std::process::ExitCode;
use std::time::Duration;

use portforward::model::{NewPinhole, PinholeLease, PinholeVia, parse_ipv6_field};
use portforward::port_control::{PcpFirewall, check_pcp_opening};
use portforward::services::{PinholeService, PinholeServiceError, PinholeStore};
use portforward::simulator::{PortControlSimConfig, SimulatedGateway, SimulatedPortControl};
use portforward::upnp::{FirewallControl, PinholeError, discover, discover_ipv6};
use portforward::{Error, InputError, Port, Protocol};

use crate::cli::flags::{config_file, internal_port, protocol};
use crate::cli::{Args, Out};

/// What to do with IPv6 pinholes.
#[derive(Debug, clap::Subcommand)]
pub enum PinholeCommand {
    /// Open a port of this computer to the IPv6 internet; prints the pinhole and its id.
    /// Over UPnP when the router offers WANIPv6FirewallControl, else over PCP.
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
        /// upnp (WANIPv6FirewallControl) or pcp (PCP MAP to the router's IPv6 address);
        /// default: UPnP when the router offers it, else PCP.
        #[arg(long, value_name = "upnp|pcp", value_parser = via)]
        via: Option<PinholeVia>,
        /// The router's IPv6 address for PCP (default: the description's host when it came
        /// over IPv6, else the IPv6 default route's router).
        #[arg(long, value_name = "IPV6", value_parser = gateway_ip)]
        gateway_ip: Option<Ipv6Addr>,
    },
    /// The pinholes this computer made on the router, UPnP ones each asked of the router
    /// (those it no longer knows are dropped), PCP ones as recorded (PCP cannot be asked).
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
    /// (UpdatePinhole, or PCP MAP with its nonce), open it again if the router lost it
    /// (704), until Ctrl-C.
    Keep,
    /// Whether a packet from outside has reached a pinhole, and its packet count (UPnP
    /// pinholes only: PCP cannot be asked).
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
fn via(text: &str) -> Result<PinholeVia, InputError> {
    PinholeVia::parse_field("via", text)
}
fn gateway_ip(text: &str) -> Result<Ipv6Addr, InputError> {
    let invalid = |reason: &str| InputError::new("gateway ip", text, reason);
    let ip: Ipv6Addr = text
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .map_err(|_| invalid("enter the router's IPv6 address, e.g. 2001:db8::1"))?;
    if ip.is_unspecified() || ip.is_multicast() {
        return Err(invalid("a router has a unicast address"));
    }
    if ip.is_unicast_link_local() {
        return Err(invalid(
            "a link-local address needs its interface: give the router's global address, or leave --gateway-ip out to use the IPv6 default route",
        ));
    }
    Ok(ip)
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

/// What `pinhole add` asked for, beside the opening.
#[derive(Debug, Clone, Copy, Default)]
struct Choice {
    /// `pinhole add` (the others act on recorded pinholes).
    adding: bool,
    local: Option<Ipv6Addr>,
    via: Option<PinholeVia>,
    gateway_ip: Option<Ipv6Addr>,
}

/// The simulated routers of --demo, kept as long as the command runs.
#[derive(Default)]
struct Demo {
    _upnp: Option<SimulatedGateway>,
    _pcp: Option<SimulatedPortControl>,
}

/// The description URL: the demo's, --gateway, or the discovered router's (over IPv6 first,
/// else over IPv4).
fn description_url(args: &Args, demo: &mut Demo) -> Result<String, Error> {
    if args.demo {
        let sim = SimulatedGateway::demo().map_err(|e| portforward::HostError::NoLocalAddress {
            reason: format!("cannot start the demo router: {e}"),
        })?;
        let url = sim
            .description_url_v6()
            .ok_or_else(|| portforward::HostError::NoLocalAddress {
                reason: "this system has no IPv6 loopback for the demo router".to_owned(),
            })?;
        demo._upnp = Some(sim);
        return Ok(url);
    }
    Ok(match &args.gateway {
        Some(url) => url.clone(),
        None => match discover_ipv6(args.timeout) {
            Ok((url, _)) => url,
            Err(e) => {
                tracing::info!(%e, "no answer over IPv6; searching over IPv4");
                discover(&crate::cli::discovery(args))?.description_url().to_owned()
            }
        },
    })
}

/// The router's IPv6 address for PCP: --gateway-ip, the description URL's host when it is
/// IPv6, else the IPv6 default route's router (with its interface when link-local).
fn pcp_router(choice: &Choice, url: Option<&str>) -> Result<(Ipv6Addr, u32), Error> {
    if let Some(ip) = choice.gateway_ip {
        return Ok((ip, 0));
    }
    let from_url = url.and_then(|u| url::Url::parse(u).ok()).and_then(|u| match u.host() {
        Some(url::Host::Ipv6(ip)) if !ip.is_unicast_link_local() => Some(ip),
        _ => None,
    });
    match from_url {
        Some(ip) => Ok((ip, 0)),
        None => Ok(portforward::host::default_ipv6_gateway()?),
    }
}

/// PCP towards the router, sending from `local` (else from the recorded PCP pinholes'
/// address on it, else the route's own source). --demo starts a PCP server on ::1.
fn pcp(
    args: &Args,
    store: &PinholeStore,
    choice: &Choice,
    url: Option<&str>,
    demo: &mut Demo,
) -> Result<PcpFirewall, Error> {
    let found = pcp_router(choice, url);
    // Acting on recorded pinholes, a router that holds none of the recorded PCP pinholes gives
    // way to the one router that does (made there with --gateway-ip, say), so that they can
    // still be listed, renewed and closed.
    let mut recorded_routers: Vec<Ipv6Addr> = store
        .all()
        .iter()
        .filter(|p| p.via == PinholeVia::Pcp)
        .filter_map(|p| PcpFirewall::router_of(&p.gateway))
        .collect();
    recorded_routers.sort_unstable();
    recorded_routers.dedup();
    let holds_none = |router: &Ipv6Addr| !recorded_routers.contains(router);
    let (router, scope) = match (found, &recorded_routers[..]) {
        (Ok(found), [only]) if !choice.adding && holds_none(&found.0) => (*only, 0),
        (Err(_), [only]) if !choice.adding => (*only, 0),
        (found, _) => found?,
    };
    if args.demo && router.is_loopback() && demo._pcp.is_none() {
        let server = SimulatedPortControl::start(router, PortControlSimConfig::default()).map_err(|e| {
            portforward::HostError::NoLocalAddress {
                reason: format!("cannot start the demo PCP server on [{router}]:5351: {e}"),
            }
        })?;
        demo._pcp = Some(server);
    }
    let probe = PcpFirewall::new(router, scope, None);
    let recorded = probe
        .as_ref()
        .ok()
        .and_then(|p| store.on(&p.gateway_id()).first().map(|p| p.opening.internal_ip));
    match choice.local.or(recorded) {
        Some(local) => PcpFirewall::new(router, scope, Some(local)),
        None => probe,
    }
}

/// The pinhole service for the command: UPnP's firewall control when the router offers it
/// (and --via pcp was not asked), PCP beside it or instead of it.
fn service(args: &Args, store: PinholeStore, choice: Choice, demo: &mut Demo) -> Result<PinholeService, Error> {
    let timeout = Duration::from_secs(5);
    if choice.via == Some(PinholeVia::Pcp) && (choice.gateway_ip.is_some() || args.gateway.is_some()) {
        // No UPnP needed: the router's address is known.
        let url = args.gateway.clone();
        let pcp = pcp(args, &store, &choice, url.as_deref(), demo)?;
        return Ok(PinholeService::over_pcp(pcp, store));
    }
    let url = description_url(args, demo)?;
    let local6 = if args.demo {
        choice.local.or(Some(Ipv6Addr::LOCALHOST))
    } else {
        choice.local
    };
    match FirewallControl::connect(&url, None, local6, timeout) {
        Ok(mut control) => {
            // Without --internal-ip, the other commands act from the address the record's
            // pinholes were made for (the router accepts changes only from it).
            if choice.local.is_none()
                && let Some(recorded) = store.on(control.control_url()).first().map(|p| p.opening.internal_ip)
            {
                control = control.sending_from(recorded);
            }
            let wants_pcp = choice.via == Some(PinholeVia::Pcp) || store.all().iter().any(|p| p.via == PinholeVia::Pcp);
            let service = PinholeService::new(control, store.clone());
            if !wants_pcp {
                return Ok(service);
            }
            match pcp(args, &store, &choice, Some(&url), demo) {
                Ok(pcp) => Ok(service.with_pcp(pcp)),
                Err(e) if choice.via != Some(PinholeVia::Pcp) => {
                    tracing::info!(%e, "PCP not usable; UPnP only");
                    Ok(service)
                }
                Err(e) => Err(e),
            }
        }
        Err(no_service @ PinholeError::NoService { .. }) if choice.via != Some(PinholeVia::Upnp) => {
            tracing::info!(%no_service, "no WANIPv6FirewallControl; using PCP");
            match pcp(args, &store, &choice, Some(&url), demo) {
                Ok(pcp) => Ok(PinholeService::over_pcp(pcp, store)),
                Err(e) => Err(PinholeServiceError::NeitherWay {
                    upnp: no_service,
                    pcp: format!("{e}{}", crate::cli::hint(&e)),
                }
                .into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Runs a pinhole command.
pub fn run(args: &Args, out: Out, command: &PinholeCommand) -> Result<ExitCode, Error> {
    let choice = match command {
        PinholeCommand::Add {
            internal_ip,
            via,
            gateway_ip,
            ..
        } => Choice {
            adding: true,
            local: *internal_ip,
            via: *via,
            gateway_ip: *gateway_ip,
        },
        _ => Choice::default(),
    };
    // What PCP cannot open is refused before anything is sent, as a bad flag is (exit 2).
    if let PinholeCommand::Add {
        internal_port,
        protocol,
        lease,
        remote_host,
        remote_port,
        via: Some(PinholeVia::Pcp),
        ..
    } = command
    {
        let opening = NewPinhole {
            remote_host: *remote_host,
            remote_port: *remote_port,
            lease: *lease,
            ..NewPinhole::new(Ipv6Addr::LOCALHOST, *internal_port, *protocol)
        };
        if let Err(err) = check_pcp_opening(&opening) {
            crate::cli::output::error(&err.to_string());
            return Ok(ExitCode::from(2));
        }
    }
    let store = store(args)?;
    let mut demo = Demo::default();
    let service = service(args, store, choice, &mut demo)?;
    run_with(out, command, service)
}

fn run_with(out: Out, command: &PinholeCommand, mut service: PinholeService) -> Result<ExitCode, Error> {
    match command {
        PinholeCommand::Add {
            internal_port,
            protocol,
            lease,
            remote_host,
            remote_port,
            via,
            ..
        } => {
            let via = via.unwrap_or(service.default_via());
            let opening = NewPinhole {
                internal_ip: service
                    .local_address(via)
                    .expect("the service was made for the protocol it defaults to or was asked for"),
                internal_port: *internal_port,
                protocol: *protocol,
                remote_host: *remote_host,
                remote_port: *remote_port,
                lease: *lease,
            };
            if via == PinholeVia::Pcp {
                check_pcp_opening(&opening)?;
            }
            let pinhole = service.add_via(&opening, via)?;
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
    let kept = service.recorded().len();
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
