//! `natpmp map|renew|unmap|list|ip`: this computer's own mappings over NAT-PMP / PCP, for
//! routers without UPnP. Needs no UPnP gateway. (The command keeps the name users know; the
//! code says port control, as the library does.)

use std::net::Ipv4Addr;
use std::process::ExitCode;

use portforward::port_control::{PortControlClient, PortControlError, PortControlMapping, PortControlMode};
use portforward::services::PortControlStore;
use portforward::{Error, InputError, Lease, Port, Protocol};

use crate::cli::flags::{config_file, external_port, internal_port, protocol};
use crate::cli::{Args, Out};

/// The router and protocol to use.
#[derive(Debug, clap::Args)]
pub struct Target {
    /// The router's address (default: the default gateway).
    #[arg(long, value_name = "IP")]
    gateway_ip: Option<Ipv4Addr>,
    /// auto (PCP, else NAT-PMP), pcp or nat-pmp.
    #[arg(long, value_name = "auto|pcp|nat-pmp", default_value = "auto", value_parser = mode)]
    via: PortControlMode,
}

/// What to do over NAT-PMP / PCP.
#[derive(Debug, clap::Subcommand)]
pub enum PortControlCommand {
    /// Forward a port of the router to this computer.
    Map {
        #[command(flatten)]
        target: Target,
        /// The port on this computer.
        #[arg(long, value_name = "P", value_parser = internal_port, allow_negative_numbers = true)]
        internal_port: Port,
        /// The port wanted on the router (the router may give another); default: the internal port.
        #[arg(long, value_name = "P", value_parser = external_port, allow_negative_numbers = true)]
        external_port: Option<Port>,
        /// TCP (default) or UDP.
        #[arg(long, value_name = "TCP|UDP", value_parser = protocol)]
        protocol: Option<Protocol>,
        /// Seconds, 1 to 604800 (NAT-PMP and PCP have no permanent mappings).
        #[arg(long, value_name = "SECONDS", value_parser = lifetime, default_value = "7200")]
        lifetime: Lease,
    },
    /// Renew a mapping made with `map`.
    Renew {
        #[command(flatten)]
        target: Target,
        /// The router's port of the mapping.
        #[arg(long, value_name = "P", value_parser = external_port, allow_negative_numbers = true)]
        external_port: Port,
        /// TCP (default) or UDP.
        #[arg(long, value_name = "TCP|UDP", value_parser = protocol)]
        protocol: Option<Protocol>,
        /// Seconds (default: the mapping's last lifetime).
        #[arg(long, value_name = "SECONDS", value_parser = lifetime)]
        lifetime: Option<Lease>,
    },
    /// Remove a mapping made with `map` (or, with --internal-port, any NAT-PMP mapping of this computer).
    Unmap {
        #[command(flatten)]
        target: Target,
        /// The router's port of the mapping.
        #[arg(long, value_name = "P", value_parser = external_port, allow_negative_numbers = true)]
        external_port: Option<Port>,
        /// This computer's port: removes its NAT-PMP mapping even if it was not made here.
        #[arg(long, value_name = "P", value_parser = internal_port, allow_negative_numbers = true)]
        internal_port: Option<Port>,
        /// TCP (default) or UDP.
        #[arg(long, value_name = "TCP|UDP", value_parser = protocol)]
        protocol: Option<Protocol>,
    },
    /// The mappings made with `map` that have not expired.
    List,
    /// The router's external address, over NAT-PMP.
    Ip {
        #[command(flatten)]
        target: Target,
    },
}

fn mode(text: &str) -> Result<PortControlMode, InputError> {
    PortControlMode::parse_field("via", text)
}

fn lifetime(text: &str) -> Result<Lease, InputError> {
    let lease = Lease::parse_field("lifetime", text)?;
    if lease.is_permanent() {
        return Err(InputError::new(
            "lifetime",
            text,
            "NAT-PMP and PCP have no permanent mappings: give 1 to 604800 seconds",
        ));
    }
    Ok(lease)
}

/// The file of mappings made here: in --config-dir, else in the platform's config directory.
fn store(args: &Args) -> Result<PortControlStore, Error> {
    Ok(PortControlStore::open(config_file(
        args,
        "port-control.json",
        PortControlStore::default_path(),
    )?)?)
}

/// The client for `target` and the file of mappings made here: what map, renew and unmap need.
fn open(args: &Args, target: &Target) -> Result<(PortControlClient, PortControlStore), Error> {
    let client = client(target)?;
    Ok((client, store(args)?))
}

/// The client for `target`'s router (the default gateway when none is given).
fn client(target: &Target) -> Result<PortControlClient, Error> {
    let gateway = match target.gateway_ip {
        Some(ip) => ip,
        None => portforward::host::default_gateway()?,
    };
    Ok(PortControlClient::new(gateway)?.with_mode(target.via))
}

/// Runs a NAT-PMP / PCP command.
pub fn run(args: &Args, out: Out, command: &PortControlCommand) -> Result<ExitCode, Error> {
    match command {
        PortControlCommand::Map {
            target,
            internal_port,
            external_port,
            protocol,
            lifetime,
        } => {
            let (client, mut store) = open(args, target)?;
            let mapping = client.map(
                protocol.unwrap_or_default(),
                *internal_port,
                Some(external_port.unwrap_or(*internal_port)),
                *lifetime,
            )?;
            recorded(out, &mut store, "mapped", mapping)?;
        }
        PortControlCommand::Renew {
            target,
            external_port,
            protocol,
            lifetime,
        } => {
            let (client, mut store) = open(args, target)?;
            let mapping = made_here(&client, &store, *external_port, protocol.unwrap_or_default())?;
            let renewed = client.renew(&mapping, *lifetime)?;
            recorded(out, &mut store, "renewed", renewed)?;
        }
        PortControlCommand::Unmap {
            target,
            external_port,
            internal_port,
            protocol,
        } => {
            let (client, mut store) = open(args, target)?;
            let protocol = protocol.unwrap_or_default();
            let found = external_port.and_then(|port| store.find(client.gateway(), port, protocol).cloned());
            match (found, internal_port) {
                (Some(mapping), _) => {
                    client.unmap(&mapping)?;
                    store.forget(&mapping)?;
                    out.port_control("removed", &mapping);
                }
                (None, Some(port)) => {
                    client.natpmp_unmap(protocol, *port)?;
                    out.port_control_unmapped(*port, protocol);
                }
                (None, None) => {
                    let port = external_port.ok_or_else(|| {
                        InputError::new(
                            "external port",
                            "",
                            "give --external-port (or --internal-port for NAT-PMP)",
                        )
                    })?;
                    return Err(not_ours(&client, port, protocol));
                }
            }
        }
        PortControlCommand::List => {
            let store = store(args)?;
            let live: Vec<_> = store.mappings().iter().filter(|m| m.seconds_left() > 0).collect();
            out.port_control_list(&live);
        }
        PortControlCommand::Ip { target } => {
            let client = client(target)?;
            let external = client.external_ip()?;
            out.port_control_ip(external, client.gateway(), client.local_ip());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Keeps `mapping` in the file for a later run, then shows it.
fn recorded(out: Out, store: &mut PortControlStore, verb: &str, mapping: PortControlMapping) -> Result<(), Error> {
    store.record(mapping.clone())?;
    out.port_control(verb, &mapping);
    Ok(())
}

/// The mapping made here with this port and protocol on the client's router.
fn made_here(
    client: &PortControlClient,
    store: &PortControlStore,
    port: Port,
    protocol: Protocol,
) -> Result<PortControlMapping, Error> {
    store
        .find(client.gateway(), port, protocol)
        .cloned()
        .ok_or_else(|| not_ours(client, port, protocol))
}

fn not_ours(client: &PortControlClient, port: Port, protocol: Protocol) -> Error {
    PortControlError::NotOurs {
        key: portforward::MappingKey {
            external_port: port,
            protocol,
            remote_host: String::new(),
        },
        gateway: client.gateway().into(),
    }
    .into()
}
