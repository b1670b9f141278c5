//! Knowing when to read a router again: its events (GENA), or a slow poll when the router does
//! not event or its NOTIFYs cannot reach us, with the mode in use reported. It reads nothing
//! itself: it tells its consumer when a reading is due ([`Trigger`]), so the window (which
//! reads the table its own way) and [`Watch`](super::watch::Watch) (which reads and diffs)
//! share one subscription logic.
//!
//! While events work and nothing changes, nothing is due: a reading is triggered once per
//! burst of NOTIFYs that say the number of mappings changed, the address and status once per
//! burst that names them. A replace that keeps the count sends no event (miniupnpd), so a
//! consumer that must see those too should also reload now and then.

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::upnp::{EventOptions, Gateway, GatewayEvent, Subscription};

/// How changes are learnt of.
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

/// Why a reading is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// A NOTIFY named what changed.
    Event,
    /// Subscribed anew (the router restarted and forgot us): its table may differ.
    Resubscribed,
    /// Polling: the interval is up.
    Poll,
}

/// What the consumer should do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// The first trigger: subscribed (or given up on events), so a baseline read now misses
    /// nothing that changes later.
    Start,
    /// The mode changed.
    Mode(WatchMode),
    /// Read again: the table, the address and status, or both.
    Reread {
        /// The table may have changed.
        table: bool,
        /// The external address or the connection status may have changed.
        status: bool,
        /// Why.
        why: Why,
    },
}

enum Message {
    Event(GatewayEvent),
    Stop,
}

/// A running subscription-or-poll (a thread); stops, and unsubscribes, when dropped (which
/// may wait for the router up to the UNSUBSCRIBE's deadline: drop it off the UI thread).
pub struct Live {
    send: Sender<Message>,
    thread: Option<JoinHandle<()>>,
    mode: Arc<Mutex<WatchMode>>,
}

impl Live {
    /// Subscribes to `gateway`'s events on a thread of its own and reports to `on_trigger`:
    /// [`Trigger::Start`] first, then every mode change and every reading due. `gateway` is the
    /// gateway or what holds it (a [`PortForwarder`](crate::PortForwarder)).
    pub fn start<G: AsRef<Gateway> + Send + Sync + 'static>(
        gateway: Arc<G>,
        options: WatchOptions,
        on_trigger: impl FnMut(Trigger) + Send + 'static,
    ) -> std::io::Result<Live> {
        let (send, receive) = channel();
        let mode = Arc::new(Mutex::new(WatchMode::Starting));
        let mut runner = Runner {
            options,
            on_trigger: Box::new(on_trigger),
            mode: Arc::clone(&mode),
        };
        let events = send.clone();
        let thread = std::thread::Builder::new()
            .name("live".to_owned())
            .spawn(move || runner.run((*gateway).as_ref(), &receive, events))?;
        Ok(Live {
            send,
            thread: Some(thread),
            mode,
        })
    }

    /// The mode in use now.
    pub fn mode(&self) -> WatchMode {
        self.mode.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        let _ = self.send.send(Message::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Runner {
    options: WatchOptions,
    on_trigger: Box<dyn FnMut(Trigger) + Send>,
    mode: Arc<Mutex<WatchMode>>,
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

impl Runner {
    fn run(&mut self, gateway: &Gateway, receive: &Receiver<Message>, events: Sender<Message>) {
        // Subscribe before the baseline read, so a change in between is not missed.
        let subscription = if self.options.use_events {
            let events = Mutex::new(events);
            match Subscription::start(gateway, &self.options.events, move |event| {
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
        (self.on_trigger)(Trigger::Start);
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
                        WatchMode::Polling { .. } => self.reread(true, true, Why::Poll),
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
            let (mut table, mut status, mut why) = (false, false, Why::Event);
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
                        why = Why::Resubscribed;
                    }
                    Message::Event(GatewayEvent::Subscribed { .. }) => subscribed_before = true,
                    Message::Event(GatewayEvent::Lost { reason }) => {
                        self.poll_because(format!("the router's subscription was lost ({reason})"));
                        next_poll = Instant::now() + self.options.poll_interval;
                    }
                }
            }
            if table || status {
                self.reread(table, status, why);
            }
        }
    }

    fn reread(&mut self, table: bool, status: bool, why: Why) {
        (self.on_trigger)(Trigger::Reread { table, status, why });
    }

    fn mode(&self) -> WatchMode {
        self.mode.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn set_mode(&mut self, mode: WatchMode) {
        tracing::info!(?mode, "watch mode");
        *self.mode.lock().unwrap_or_else(PoisonError::into_inner) = mode.clone();
        (self.on_trigger)(Trigger::Mode(mode));
    }

    fn poll_because(&mut self, reason: String) {
        let interval_secs = self.options.poll_interval.as_secs();
        self.set_mode(WatchMode::Polling { reason, interval_secs });
    }
}
