//! Reading the whole table: GetListOfPortMappings in pages where the router has it, the
//! entry-by-entry walk otherwise or when the list call fails. Both are bounded: a router
//! that repeats itself or never ends its table cannot make us loop.

use std::collections::HashSet;

use serde::Serialize;

use super::error::{UpnpCode, UpnpError};
use super::gateway::Gateway;
use super::parallel;
use crate::model::{Mapping, MappingKey, Port, Protocol};

/// Entries one GetListOfPortMappings call may return (miniupnpd's cap is 1000).
const PAGE: u16 = 1000;
/// The most entries a walk reads; no home router holds more.
pub const WALK_CAP: usize = 20_000;
/// Entries fetched per round of the walk.
const WALK_BATCH: u32 = 32;
/// Repeated entries in a row after which a walk is taken as going round in circles.
const REPEATS_CAP: usize = 64;

/// How the table was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ListMethod {
    /// GetListOfPortMappings (IGD:2).
    ListCall,
    /// GetGenericPortMappingEntry, index by index.
    Walk,
}

/// The router's table, with anything odd noticed while reading it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct MappingTable {
    /// The mappings, in the router's order (the list call: by protocol, then port).
    pub mappings: Vec<Mapping>,
    /// What the user should know about this reading (a truncated walk, a fallback, …).
    pub warnings: Vec<String>,
    /// How it was read.
    pub method: Option<ListMethod>,
}

impl Gateway {
    /// The whole table, by the fastest method the router supports.
    ///
    /// ```no_run
    /// # use portforward::upnp::{Gateway, GatewayOptions};
    /// # let gateway = Gateway::connect("http://192.168.1.1:5000/rootDesc.xml", &GatewayOptions::default())?;
    /// for mapping in gateway.list_all()?.mappings {
    ///     println!("{mapping}");
    /// }
    /// # Ok::<(), portforward::UpnpError>(())
    /// ```
    pub fn list_all(&self) -> Result<MappingTable, UpnpError> {
        let mut warnings = Vec::new();
        if self.list_call_usable() {
            match self.list_by_pages() {
                Ok(mappings) => {
                    return Ok(MappingTable {
                        mappings,
                        warnings,
                        method: Some(ListMethod::ListCall),
                    });
                }
                Err(err) => {
                    self.mark_list_call_broken();
                    tracing::warn!(%err, "GetListOfPortMappings failed; walking entry by entry");
                    warnings.push(format!(
                        "the router's list call failed ({err}); read entry by entry instead"
                    ));
                }
            }
        }
        let mut table = self.walk()?;
        warnings.append(&mut table.warnings);
        table.warnings = warnings;
        Ok(table)
    }

    /// GetListOfPortMappings for both protocols at once, each in pages.
    fn list_by_pages(&self) -> Result<Vec<Mapping>, UpnpError> {
        let per_protocol = parallel::map_until(&Protocol::ALL, 2, Result::is_err, |p| self.list_protocol(*p));
        let mut all = Vec::new();
        let mut seen = HashSet::new();
        for result in per_protocol.into_iter().flatten() {
            all.extend(result?.into_iter().filter(|m| seen.insert(m.key())));
        }
        Ok(all)
    }

    /// One protocol's mappings, page after page. A page shorter than asked for is taken as
    /// the last only from a router known to fill its pages ([`Gateway::short_page_is_last`]):
    /// others may cap a reply below 1000 (the spec lets them), so their listing ends only
    /// with an empty page, costing one extra call per protocol.
    fn list_protocol(&self, protocol: Protocol) -> Result<Vec<Mapping>, UpnpError> {
        let mut all = Vec::new();
        let mut start = Port::new(1).expect("1 is a port");
        loop {
            let page = self.list_page(protocol, start, Port::new(u16::MAX).expect("65535 is a port"), PAGE)?;
            let last = page.iter().map(|m| m.external_port).max();
            let was_short = page.len() < usize::from(PAGE);
            all.extend(page);
            if was_short && self.short_page_is_last() {
                return Ok(all);
            }
            if all.len() >= WALK_CAP {
                return Err(UpnpError::ListDidNotEnd { entries: all.len() });
            }
            // Continue after the last port seen; a page going backwards or sideways ends it.
            match last.and_then(|p| Port::new(p.get().checked_add(1)?)) {
                Some(next) if next > start => start = next,
                _ => return Ok(all),
            }
        }
    }

    /// The entry-by-entry walk: index 0, 1, … until the router says the index is past the end
    /// (713 — or, on some routers, 402 or another code). A few requests are in flight at once.
    pub fn walk(&self) -> Result<MappingTable, UpnpError> {
        let mut table = MappingTable {
            method: Some(ListMethod::Walk),
            ..MappingTable::default()
        };
        let mut seen: HashSet<MappingKey> = HashSet::new();
        let mut repeats = 0;
        let mut batch = Vec::new().into_iter();
        for index in 0..WALK_CAP as u32 {
            if batch.len() == 0 {
                batch = self.fetch_entries(index).into_iter();
            }
            // Every index before the one that ends the walk has a result.
            let Some(Some(entry)) = batch.next() else {
                unreachable!("fetch_entries fills every index up to the first that ends the walk")
            };
            let mapping = match entry {
                Ok(mapping) => mapping,
                Err(err) => match err.upnp_code() {
                    Some(UpnpCode::ArrayIndexInvalid | UpnpCode::NoSuchEntry | UpnpCode::InvalidArgs) => {
                        return Ok(table);
                    }
                    Some(_) => {
                        let warning = format!("the router ended its table after {index} entries with: {err}");
                        table.warnings.push(warning);
                        return Ok(table);
                    }
                    // One unreadable entry is skipped; a table of nothing but garbage is an error.
                    None if matches!(err, UpnpError::Malformed { .. }) && !table.mappings.is_empty() => {
                        table.warnings.push(format!("entry {index} skipped: {err}"));
                        repeats += 1;
                        if repeats == REPEATS_CAP {
                            return Ok(table);
                        }
                        continue;
                    }
                    None => return Err(err),
                },
            };
            if seen.insert(mapping.key()) {
                repeats = 0;
                table.mappings.push(mapping);
            } else {
                repeats += 1;
                if repeats == REPEATS_CAP {
                    table.warnings.push(format!(
                        "the router kept repeating entries; stopped after {} entries ({} distinct)",
                        index + 1,
                        table.mappings.len()
                    ));
                    return Ok(table);
                }
            }
        }
        table
            .warnings
            .push(UpnpError::ListDidNotEnd { entries: WALK_CAP }.to_string());
        Ok(table)
    }

    /// Entries `first..first + WALK_BATCH`, a few requests in flight, stopping at the first
    /// index that ends the walk (a UPnP error or a dead connection).
    fn fetch_entries(&self, first: u32) -> Vec<Option<Result<Mapping, UpnpError>>> {
        let indices: Vec<u32> = (first..first + WALK_BATCH).collect();
        let ends_walk =
            |r: &Result<Mapping, UpnpError>| matches!(r, Err(e) if !matches!(e, UpnpError::Malformed { .. }));
        parallel::map_until(&indices, parallel::IN_FLIGHT, ends_walk, |i| self.generic_entry(*i))
    }
}
