//! Watching a router: the table and the address and status, read when [`Live`] says a reading
//! is due (an event, a new subscription, a poll), and what differs reported as typed changes.
//!
//! While events work and nothing changes, nothing is read: the table is re-read once per burst
//! of NOTIFYs that say the number of mappings changed, the address and status once per burst
//! that names them. A replace that keeps the count sends no event (miniupnpd), so a watcher that
//! must see those too should also reload now and then.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;

use super::live::{Live, Trigger};
pub use super::live::{WatchMode, WatchOptions};
use crate::model::{Mapping, MappingKey};
use crate::upnp::{Gateway, UpnpError};

/// One change on the router.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// A new mapping.
    Added {
        /// It.
        mapping: Mapping,
    },
    /// A mapping gone.
    Removed {
        /// It, as last read.
        mapping: Mapping,
    },
    /// A mapping with the same key and other values (a lease counting down is no change).
    Changed {
        /// As last read.
        before: Mapping,
        /// As read now.
        after: Mapping,
    },
    /// The external address changed.
    ExternalAddress {
        /// As last read.
        before: Option<Ipv4Addr>,
        /// As read now.
        after: Option<Ipv4Addr>,
    },
    /// The connection status changed ("Connected", "Disconnected", …).
    ConnectionStatus {
        /// As last read.
        before: String,
        /// As read now.
        after: String,
    },
    /// The watcher changed how it learns of changes.
    Mode {
        /// The mode now.
        mode: WatchMode,
    },
    /// A read failed; the watcher tries again at the next event or poll.
    ReadFailed {
        /// Why.
        reason: String,
    },
}

/// A running watcher (a thread); stops, and unsubscribes, when dropped.
pub struct Watch {
    live: Live,
    reads: Arc<AtomicUsize>,
}

impl Watch {
    /// Reads the table and status once (the baseline, reported as no change), then reports
    /// every change to `on_change`, starting with the mode.
    pub fn start(
        gateway: Arc<Gateway>,
        options: WatchOptions,
        on_change: impl FnMut(Change) + Send + 'static,
    ) -> std::io::Result<Watch> {
        let reads = Arc::new(AtomicUsize::new(0));
        let mut watcher = Watcher {
            gateway: Arc::clone(&gateway),
            on_change: Box::new(on_change),
            reads: Arc::clone(&reads),
            table: HashMap::new(),
            external_ip: None,
            status: String::new(),
        };
        let live = Live::start(gateway, options, move |trigger| match trigger {
            Trigger::Start => {
                watcher.read_table(false);
                watcher.read_status(false);
            }
            Trigger::Mode(mode) => (watcher.on_change)(Change::Mode { mode }),
            Trigger::Reread { table, status, .. } => {
                if table {
                    watcher.read_table(true);
                }
                if status {
                    watcher.read_status(true);
                }
            }
        })?;
        Ok(Watch { live, reads })
    }

    /// The mode in use now.
    pub fn mode(&self) -> WatchMode {
        self.live.mode()
    }

    /// How many times the table was read (the baseline included).
    pub fn table_reads(&self) -> usize {
        self.reads.load(Ordering::Relaxed)
    }
}

struct Watcher {
    gateway: Arc<Gateway>,
    on_change: Box<dyn FnMut(Change) + Send>,
    reads: Arc<AtomicUsize>,
    table: HashMap<MappingKey, Mapping>,
    external_ip: Option<Ipv4Addr>,
    status: String,
}

impl Watcher {
    fn failed(&mut self, err: &UpnpError) {
        (self.on_change)(Change::ReadFailed {
            reason: err.to_string(),
        });
    }

    /// Reads the table; with `report`, tells what differs from the last reading.
    fn read_table(&mut self, report: bool) {
        self.reads.fetch_add(1, Ordering::Relaxed);
        let mappings = match self.gateway.list_all() {
            Ok(table) => table.mappings,
            Err(err) => return self.failed(&err),
        };
        let new: HashMap<MappingKey, Mapping> = mappings.into_iter().map(|m| (m.key(), m)).collect();
        if report {
            let mut changes = diff(&self.table, &new);
            changes.sort_by_key(|c| match c {
                Change::Removed { mapping } | Change::Added { mapping } => Some(mapping.key()),
                Change::Changed { after, .. } => Some(after.key()),
                _ => None,
            });
            for change in changes {
                (self.on_change)(change);
            }
        }
        self.table = new;
    }

    fn read_status(&mut self, report: bool) {
        let ip = match self.gateway.external_ip() {
            Ok(ip) => ip,
            Err(err) => return self.failed(&err),
        };
        let status = match self.gateway.status() {
            Ok(status) => status.status,
            Err(err) => return self.failed(&err),
        };
        if report && ip != self.external_ip {
            (self.on_change)(Change::ExternalAddress {
                before: self.external_ip,
                after: ip,
            });
        }
        if report && status != self.status {
            (self.on_change)(Change::ConnectionStatus {
                before: self.status.clone(),
                after: status.clone(),
            });
        }
        self.external_ip = ip;
        self.status = status;
    }
}

/// What changed between two readings; a lease counting down is no change.
fn diff(old: &HashMap<MappingKey, Mapping>, new: &HashMap<MappingKey, Mapping>) -> Vec<Change> {
    let mut changes = Vec::new();
    for (key, mapping) in old {
        match new.get(key) {
            None => changes.push(Change::Removed {
                mapping: mapping.clone(),
            }),
            Some(after) => {
                let same = Mapping {
                    lease: after.lease,
                    ..mapping.clone()
                };
                if same != *after {
                    changes.push(Change::Changed {
                        before: mapping.clone(),
                        after: after.clone(),
                    });
                }
            }
        }
    }
    for (key, mapping) in new {
        if !old.contains_key(key) {
            changes.push(Change::Added {
                mapping: mapping.clone(),
            });
        }
    }
    changes
}
