//! `natpmp map|renew|unmap|list|ip`: this computer's own mappings over NAT-PMP / PCP, for
//! routers without UPnP. Needs no UPnP gateway.

use std::net::Ipv4Addr;
use std::process::ExitCode;

use portforward::port_control::{self, PortControlClient, PortControlError, PortControlMode};
use portforward::services::PortControlStore;
use portforward::{Error, InputError, Lease, Port, Protocol};
use serde_json::json;

use super::{Args, external_port, internal_port, protocol};

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
pub enum NatPmpCommand {
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
    let path = match &args.config_dir {
        Some(dir) => dir.join("port-control.json"),
        None => PortControlStore::default_path().ok_or_else(|| {
            InputError::new(
                "config dir",
                "",
                "this system has no config directory: give one with --config-dir",
            )
        })?,
    };
    Ok(PortControlStore::open(path)?)
}

fn client(target: &Target) -> Result<PortControlClient, Error> {
    let gateway = match target.gateway_ip {
        Some(ip) => ip,
        None => portforward::host::default_gateway()?,
    };
    Ok(PortControlClient::new(gateway)?.with_mode(target.via))
}

/// Runs a NAT-PMP / PCP command.
pub fn run(args: &Args, command: &NatPmpCommand) -> Result<ExitCode, Error> {
    match command {
        NatPmpCommand::Map {
            target,
            internal_port,
            external_port,
            protocol,
            lifetime,
        } => {
            let client = client(target)?;
            let mut store = store(args)?;
            let mapping = client.map(
                protocol.unwrap_or_default(),
                *internal_port,
                Some(external_port.unwrap_or(*internal_port)),
                *lifetime,
            )?;
            store.record(mapping.clone())?;
            print(args, "mapped", &mapping);
        }
        NatPmpCommand::Renew {
            target,
            external_port,
            protocol,
            lifetime,
        } => {
            let client = client(target)?;
            let mut store = store(args)?;
            let protocol = protocol.unwrap_or_default();
            let mapping = store
                .find(client.gateway(), *external_port, protocol)
                .cloned()
                .ok_or_else(|| not_ours(&client, *external_port, protocol))?;
            let renewed = client.renew(&mapping, *lifetime)?;
            store.record(renewed.clone())?;
            print(args, "renewed", &renewed);
        }
        NatPmpCommand::Unmap {
            target,
            external_port,
            internal_port,
            protocol,
        } => {
            let client = client(target)?;
            let mut store = store(args)?;
            let protocol = protocol.unwrap_or_default();
            let made_here = external_port.and_then(|port| store.find(client.gateway(), port, protocol).cloned());
            match (made_here, internal_port) {
                (Some(mapping), _) => {
                    client.unmap(&mapping)?;
                    store.forget(&mapping)?;
                    print(args, "removed", &mapping);
                }
                (None, Some(port)) => {
                    client.natpmp_unmap(protocol, *port)?;
                    if args.json {
                        outln!(
                            "{}",
                            json!({ "removed": { "internal_port": port, "protocol": protocol, "via": "NAT-PMP" } })
                        );
                    } else {
                        outln!("removed this computer's NAT-PMP mapping of {port}/{protocol}");
                    }
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
        NatPmpCommand::List => {
            let store = store(args)?;
            let live: Vec<_> = store.mappings().iter().filter(|m| m.seconds_left() > 0).collect();
            if args.json {
                outln!("{}", serde_json::to_string(&live).expect("mappings serialize"));
            } else {
                for m in &live {
                    outln!("{m}  (router {})", m.gateway);
                }
                outln!("{} mapping(s) made with `portforward natpmp map`", live.len());
            }
        }
        NatPmpCommand::Ip { target } => {
            let client = client(target)?;
            let external = client.external_ip()?;
            if args.json {
                outln!(
                    "{}",
                    json!({ "external_ip": external, "gateway": client.gateway(), "local_ip": client.local_ip() })
                );
            } else {
                outln!("external {external} (from {} over NAT-PMP)", client.gateway());
                outln!("local    {}", client.local_ip());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn not_ours(client: &PortControlClient, port: Port, protocol: Protocol) -> Error {
    PortControlError::NotOurs {
        key: portforward::MappingKey {
            external_port: port,
            protocol,
            remote_host: String::new(),
        },
        gateway: client.gateway(),
    }
    .into()
}

fn print(args: &Args, verb: &str, m: &port_control::PortControlMapping) {
    if args.json {
        let mut value = serde_json::to_value(m).expect("mappings serialize");
        value["duration"] = json!(m.seconds_left());
        outln!("{}", json!({ verb: value }));
    } else {
        outln!("{verb} {m}");
    }
}
