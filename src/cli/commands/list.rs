//! `list`: the router's whole table, with who is behind each mapping.

use std::process::ExitCode;

use portforward::upnp::MappingTable;
use portforward::{
    Error, LocalSockets, Mapping, Owner, OwnerOptions, PortForwarder, resolve_owners, resolve_owners_from,
};

use crate::cli::{Out, output};

/// Runs `list`.
pub fn run(out: Out, forwarder: &PortForwarder, reverse_dns: bool) -> Result<ExitCode, Error> {
    let (table, owners) = with_owners(forwarder, reverse_dns)?;
    out.table(&table.mappings, &owners);
    for warning in &table.warnings {
        output::warning(warning);
    }
    Ok(ExitCode::SUCCESS)
}

/// How host names of other LAN hosts are found: the hosts file, plus reverse DNS when asked.
fn options(reverse_dns: bool) -> OwnerOptions {
    OwnerOptions {
        reverse_dns,
        ..OwnerOptions::default()
    }
}

/// The owner of each mapping, in order.
pub fn owners_of(forwarder: &PortForwarder, mappings: &[Mapping], reverse_dns: bool) -> Vec<Owner> {
    resolve_owners(mappings, forwarder.local_ip(), &options(reverse_dns))
}

/// The router's table and the owner of each mapping. This computer's sockets are read on a
/// thread while the router answers, so the owner column costs no time of its own.
fn with_owners(forwarder: &PortForwarder, reverse_dns: bool) -> Result<(MappingTable, Vec<Owner>), Error> {
    let (table, sockets) = std::thread::scope(|scope| {
        let sockets = scope.spawn(LocalSockets::read);
        let table = forwarder.get_all_mappings();
        (table, sockets.join())
    });
    let table = table?;
    let owners = match sockets {
        Ok(sockets) => resolve_owners_from(&sockets, &table.mappings, forwarder.local_ip(), &options(reverse_dns)),
        Err(_) => owners_of(forwarder, &table.mappings, reverse_dns),
    };
    Ok((table, owners))
}
