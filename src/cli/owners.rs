//! The owner column of `list` and the stale selection of `disable-all --stale`.

use portforward::upnp::MappingTable;
use portforward::{
    Error, LocalSockets, Mapping, MappingFilter, Owner, OwnerOptions, PortForwarder, resolve_owners,
    resolve_owners_from, stale_mappings,
};

/// How host names of other LAN hosts are found: the hosts file, plus reverse DNS when asked.
pub fn options(reverse_dns: bool) -> OwnerOptions {
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
pub fn list_with_owners(forwarder: &PortForwarder, reverse_dns: bool) -> Result<(MappingTable, Vec<Owner>), Error> {
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

/// The OWNER column's text: stale ones stand out, unknown ones are a dash.
pub fn owner_cell(owner: &Owner) -> String {
    match owner {
        Owner::Nobody => "STALE".to_owned(),
        Owner::Unknown => "-".to_owned(),
        other => other.to_string(),
    }
}

/// The stale mappings among those matching `filter` (every mapping when it is empty).
pub fn preview_stale(forwarder: &PortForwarder, filter: &MappingFilter) -> Result<Vec<Mapping>, Error> {
    let matching: Vec<Mapping> = forwarder
        .get_all_mappings()?
        .mappings
        .into_iter()
        .filter(|m| filter.is_empty() || filter.matches(m))
        .collect();
    let owners = owners_of(forwarder, &matching, false);
    Ok(stale_mappings(&matching, &owners))
}
