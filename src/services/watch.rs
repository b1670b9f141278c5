//! Watching a router: its events (GENA) turned into typed changes, or a slow poll when the
//! router does not event or its NOTIFYs cannot reach us, with the mode in use reported.
//!
//! While events work and nothing changes, nothing is read: the table is re-read once per burst
//! of NOTIFYs that say the number of mappings changed, the address and status once per burst
//! that names them. A replace that keeps the count sends no event (miniupnpd), so a watcher that
//! must see those too should also reload now and then.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::model::{Mapping, MappingKey};
use crate::upnp::{EventOptions, Gateway, GatewayEvent, Subscription, UpnpError};

/// How the watcher learns of changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum WatchMode {
    /// Starting: subscribed, waiting for the router's first NOTIFY.
    Starting,
    /// The router's events: changes show within about a second, nothing is read otherwise.
    Events,
    /// Reading the table every `interval`, because of `reason`.
    Polling {
        /// Why not events.
        reason: String,
        /// Seconds between reads.
        interval_secs: u64,
    },
}

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

/// How to watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchOptions {
    /// Try events first (otherwise poll from the start).
    pub use_events: bool,
    /// How long to wait for the router's first NOTIFY before polling.
    pub event_grace: Duration,
    /// Seconds between reads when polling.
    pub poll_interval: Duration,
    /// The subscription and listener.
    pub events: EventOptions,
}

impl Default for WatchOptions {
    fn default() -> WatchOptions {
        WatchOptions {
            use_events: true,
            event_grace: Duration::from_secs(3),
            poll_interval: Duration::from_secs(60),
            events: EventOptions::default(),
        }
    }
}

enum Message {
    Event(GatewayEvent),
    Stop,
}

/// A running watcher (a thread); stops, and unsubscribes, when dropped.
pub struct Watch {
    send: Sender<Message>,
    thread: Option<JoinHandle<()>>,
    mode: Arc<Mutex<WatchMode>>,
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
        let (send, receive) = channel();
        let mode = Arc::new(Mutex::new(WatchMode::Starting));
        let reads = Arc::new(AtomicUsize::new(0));
        let mut watcher = Watcher {
            gateway,
            options,
            on_change: Box::new(on_change),
            mode: Arc::clone(&mode),
            reads: Arc::clone(&reads),
            table: HashMap::new(),
            external_ip: None,
            status: String::new(),
        };
        let events = send.clone();
        let thread = std::thread::Builder::new()
            .name("watch".to_owned())
            .spawn(move || watcher.run(&receive, events))?;
        Ok(Watch {
            send,
            thread: Some(thread),
            mode,
            reads,
        })
    }

    /// The mode in use now.
    pub fn mode(&self) -> WatchMode {
        self.mode.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// How many times the table was read (the baseline included).
    pub fn table_reads(&self) -> usize {
        self.reads.load(Ordering::Relaxed)
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.send.send(Message::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Watcher {
    gateway: Arc<Gateway>,
    options: WatchOptions,
    on_change: Box<dyn FnMut(Change) + Send>,
    mode: Arc<Mutex<WatchMode>>,
    reads: Arc<AtomicUsize>,
    table: HashMap<MappingKey, Mapping>,
    external_ip: Option<Ipv4Addr>,
    status: String,
}

/// Whether a NOTIFY names a variable that says the table changed.
fn names_table(variables: &[String]) -> bool {
    variables.is_empty()
        || variables
            .iter()
            .any(|v| v == "PortMappingNumberOfEntries" || v == "SystemUpdateID")
}

fn names_status(variables: &[String]) -> bool {
    variables.is_empty()
        || variables
            .iter()
            .any(|v| v == "ExternalIPAddress" || v == "ConnectionStatus")
}

impl Watcher {
    fn run(&mut self, receive: &Receiver<Message>, events: Sender<Message>) {
        // Subscribe before the baseline read, so a change in between is not missed.
        let subscription = if self.options.use_events {
            let events = Mutex::new(events);
            match Subscription::start(&self.gateway, &self.options.events, move |event| {
                let _ = events
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .send(Message::Event(event));
            }) {
                Ok(subscription) => Some(subscription),
                Err(err) => {
                    self.poll_because(format!("the router does not send events ({err})"));
                    None
                }
            }
        } else {
            self.poll_because("events are turned off".to_owned());
            None
        };
        self.read_table(false);
        self.read_status(false);
        let started = Instant::now();
        let mut next_poll = Instant::now() + self.options.poll_interval;
        // The first subscription's report precedes the baseline read: no re-read for it.
        let mut subscribed_before = false;
        loop {
            let deadline = match self.mode() {
                WatchMode::Starting => started + self.options.event_grace,
                WatchMode::Events => Instant::now() + Duration::from_secs(3600),
                WatchMode::Polling { .. } => next_poll,
            };
            let message = match receive.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(message) => message,
                Err(RecvTimeoutError::Timeout) => {
                    match self.mode() {
                        WatchMode::Starting => {
                            self.poll_because("the router's events do not reach this computer".to_owned());
                        }
                        WatchMode::Polling { .. } => {
                            self.read_table(true);
                            self.read_status(true);
                        }
                        WatchMode::Events => {}
                    }
                    next_poll = Instant::now() + self.options.poll_interval;
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return,
            };
            // A burst of messages is one re-read.
            let mut batch = vec![message];
            batch.extend(receive.try_iter());
            let (mut table, mut status) = (false, false);
            for message in batch {
                match message {
                    Message::Stop => {
                        drop(subscription);
                        return;
                    }
                    Message::Event(GatewayEvent::Notify { seq, variables }) => {
                        if self.mode() != WatchMode::Events {
                            self.set_mode(WatchMode::Events);
                        }
                        // SEQ 0 comes right after subscribing: the baseline (or the
                        // re-read after a new subscription) already covers it.
                        if seq != 0 {
                            table |= names_table(&variables);
                            status |= names_status(&variables);
                        }
                    }
                    Message::Event(GatewayEvent::Subscribed { fresh: true, .. }) if subscribed_before => {
                        // Subscribed anew (the router restarted): its table may differ.
                        table = true;
                        status = true;
                    }
                    Message::Event(GatewayEvent::Subscribed { .. }) => subscribed_before = true,
                    Message::Event(GatewayEvent::Lost { reason }) => {
                        self.poll_because(format!("the router's subscription was lost ({reason})"));
                        next_poll = Instant::now() + self.options.poll_interval;
                    }
                }
            }
            if table {
                self.read_table(true);
            }
            if status {
                self.read_status(true);
            }
        }
    }

    fn mode(&self) -> WatchMode {
        self.mode.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn set_mode(&mut self, mode: WatchMode) {
        tracing::info!(?mode, "watch mode");
        *self.mode.lock().unwrap_or_else(PoisonError::into_inner) = mode.clone();
        (self.on_change)(Change::Mode { mode });
    }

    fn poll_because(&mut self, reason: String) {
        let interval_secs = self.options.poll_interval.as_secs();
        self.set_mode(WatchMode::Polling { reason, interval_secs });
    }

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
