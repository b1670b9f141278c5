//! Flags more than one command takes, and the parsers behind every flag: each value is checked
//! by the library's own parser, so the command line refuses what the window refuses, with the
//! same words.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use portforward::{Description, EnableRequest, Error, InputError, Lease, Port, Protocol};

use super::Args;

/// The ports, host and protocol of a mapping, as flags: enable, refresh and keep take them as
/// they are; disable-all takes them as filters, with its own help (`mut_arg` there).
#[derive(Debug, clap::Args)]
pub struct PortFlags {
    /// The port on the router.
    #[arg(long, value_name = "P", value_parser = external_port, allow_negative_numbers = true)]
    pub external_port: Option<Port>,
    /// The port on the LAN host.
    #[arg(long, value_name = "P", value_parser = internal_port, allow_negative_numbers = true)]
    pub internal_port: Option<Port>,
    /// The LAN host (IPv4); this computer by default.
    #[arg(long, value_name = "IP", value_parser = internal_ip)]
    pub internal_ip: Option<Ipv4Addr>,
    /// TCP (default) or UDP.
    #[arg(long, value_name = "TCP|UDP", value_parser = protocol)]
    pub protocol: Option<Protocol>,
}

/// The fields of a mapping, as flags.
#[derive(Debug, clap::Args)]
pub struct MappingArgs {
    /// Ports, host, protocol.
    #[command(flatten)]
    pub ports: PortFlags,
    /// A description other programs' users will see (at most 255 bytes).
    #[arg(long, value_name = "D", value_parser = description)]
    pub description: Option<Description>,
    /// The lease in seconds, 0 (permanent) to 604800 (7 days).
    #[arg(long, value_name = "SECONDS", value_parser = duration, allow_negative_numbers = true)]
    pub duration: Option<Lease>,
}

impl MappingArgs {
    /// What to ask the library for; what is not given takes the library's defaults.
    pub fn request(&self) -> EnableRequest {
        EnableRequest {
            external_port: self.ports.external_port,
            internal_port: self.ports.internal_port,
            internal_ip: self.ports.internal_ip,
            protocol: self.ports.protocol.unwrap_or_default(),
            description: self.description.clone(),
            lease: self.duration,
        }
    }
}

/// Parses `--external-port`.
pub fn external_port(s: &str) -> Result<Port, InputError> {
    Port::parse_field("external port", s)
}

/// Parses `--internal-port`.
pub fn internal_port(s: &str) -> Result<Port, InputError> {
    Port::parse_field("internal port", s)
}

/// Parses `--internal-ip`: a LAN host's IPv4 address.
pub fn internal_ip(s: &str) -> Result<Ipv4Addr, InputError> {
    portforward::parse_internal_ip("internal ip", s)
}

/// Parses `--protocol`.
pub fn protocol(s: &str) -> Result<Protocol, InputError> {
    Protocol::parse_field("protocol", s)
}

/// Parses `--description`.
pub fn description(s: &str) -> Result<Description, InputError> {
    Description::parse_field("description", s)
}

/// Parses `--duration`.
pub fn duration(s: &str) -> Result<Lease, InputError> {
    Lease::parse_field("duration", s)
}

/// Parses `--timeout`: seconds from 0.1 to 60.
pub fn parse_timeout(s: &str) -> Result<Duration, InputError> {
    seconds("timeout", s, 60.0)
}

/// Parses `keep --check-every`: seconds from 0.1 to a day.
pub fn parse_check_every(s: &str) -> Result<Duration, InputError> {
    seconds("check every", s, 86400.0)
}

/// Parses `watch --interval`: whole seconds from 1 to a day.
pub fn parse_interval(s: &str) -> Result<Duration, InputError> {
    s.trim()
        .parse::<u64>()
        .ok()
        .filter(|secs| (1..=86_400).contains(secs))
        .map(Duration::from_secs)
        .ok_or_else(|| InputError::new("interval", s, "give whole seconds from 1 to 86400"))
}

/// Seconds from 0.1 to `max`, fractions allowed.
fn seconds(field: &'static str, s: &str, max: f64) -> Result<Duration, InputError> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|secs| (0.1..=max).contains(secs))
        .map(Duration::from_secs_f64)
        .ok_or_else(|| InputError::new(field, s, &format!("give seconds from 0.1 to {max}")))
}

/// The file `name` in `--config-dir`, else `default` (the platform's config directory).
pub fn config_file(args: &Args, name: &str, default: Option<PathBuf>) -> Result<PathBuf, Error> {
    match &args.config_dir {
        Some(dir) => Ok(dir.join(name)),
        None => default.ok_or_else(|| {
            InputError::new(
                "config dir",
                "",
                "this system has no config directory: give one with --config-dir",
            )
            .into()
        }),
    }
}

/// The data directory: `--data-dir`, else the platform's.
pub fn data_dir(args: &Args) -> Result<PathBuf, Error> {
    args.data_dir
        .clone()
        .or_else(portforward::store::data_dir)
        .ok_or_else(|| {
            InputError::new(
                "data dir",
                "",
                "this system has no data directory: give one with --data-dir",
            )
            .into()
        })
}

/// Whether a file argument is `-`: standard output.
pub fn is_stdout(file: &Path) -> bool {
    file.as_os_str() == "-"
}
