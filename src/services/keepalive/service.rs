//! Keep-alive as a service: one thread per gateway owns the [`KeepAlive`] scheduler, sleeps
//! until something is due or a command comes, and hands back what it did as events. The
//! handle keeps the set of kept mappings, so a front end reads it from here instead of
//! mirroring it; dropping the handle ends the thread after its current request.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{KeepAlive, KeepAliveEvent, KeepAliveTimings};
use crate::model::{MappingKey, NewMapping};
use crate::services::{Enabled, PortForwarder};

/// How long the thread sleeps when nothing is kept (a command wakes it sooner).
const IDLE_WAIT: Duration = Duration::from_secs(3600);

/// What the handle asks of the thread.
enum Command {
    Keep(NewMapping),
    KeepRenewed(Box<Enabled>),
    Release(MappingKey),
    CheckNow,
}

/// A running keep-alive service over one gateway.
///
/// ```
/// use std::time::Duration;
/// use portforward::{EnableRequest, KeepAliveService, KeepAliveTimings, PortForwarder};
/// use portforward::simulator::SimulatedGateway;
/// let router = SimulatedGateway::demo()?;
/// let forwarder = std::sync::Arc::new(PortForwarder::connect(&router.description_url(), &Default::default())?);
/// let enabled = forwarder.enable(&EnableRequest::default())?;
/// let keep = KeepAliveService::start(forwarder, KeepAliveTimings::default(), || {})?;
/// keep.keep(enabled.request.clone()); // renewed at once, then at half its lease
/// assert!(keep.is_kept(&enabled.request.key()));
/// let event = keep.next_event(Duration::from_secs(30)).expect("the renewal");
/// println!("{event}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct KeepAliveService {
    commands: Sender<Command>,
    events: Receiver<KeepAliveEvent>,
    kept: Mutex<Vec<NewMapping>>,
}

impl KeepAliveService {
    /// Starts the thread for `forwarder`'s gateway. `wake` is called (on that thread) after
    /// each batch of events, e.g. to repaint a window or wake a command-line loop.
    pub fn start(
        forwarder: Arc<PortForwarder>,
        timings: KeepAliveTimings,
        wake: impl Fn() + Send + 'static,
    ) -> std::io::Result<KeepAliveService> {
        let (commands, incoming) = mpsc::channel();
        let (outgoing, events) = mpsc::channel();
        std::thread::Builder::new()
            .name("portforward keep-alive".to_owned())
            .spawn(move || run(&forwarder, KeepAlive::new(timings), &incoming, &outgoing, &wake))?;
        Ok(KeepAliveService {
            commands,
            events,
            kept: Mutex::new(Vec::new()),
        })
    }

    /// Keeps `mapping` alive: it is renewed at once (it may have been made long ago), then at
    /// half its lease. Replaces a kept mapping with the same key.
    pub fn keep(&self, mapping: NewMapping) {
        self.note_kept(&mapping);
        let _ = self.commands.send(Command::Keep(mapping));
    }

    /// Keeps a mapping that was just created or renewed: its first renewal is at half the lease
    /// the router listed.
    pub fn keep_renewed(&self, enabled: Enabled) {
        self.note_kept(&enabled.request);
        let _ = self.commands.send(Command::KeepRenewed(Box::new(enabled)));
    }

    /// Stops keeping the mapping with this key; returns whether it was kept.
    pub fn release(&self, key: &MappingKey) -> bool {
        let mut kept = self.kept.lock().expect("not poisoned");
        let before = kept.len();
        kept.retain(|m| m.key() != *key);
        let was_kept = kept.len() != before;
        if was_kept {
            let _ = self.commands.send(Command::Release(key.clone()));
        }
        was_kept
    }

    /// Checks every kept mapping now (e.g. a reading of the table showed one missing).
    pub fn check_now(&self) {
        let _ = self.commands.send(Command::CheckNow);
    }

    /// Whether the mapping with this key is kept.
    pub fn is_kept(&self, key: &MappingKey) -> bool {
        self.kept.lock().expect("not poisoned").iter().any(|m| m.key() == *key)
    }

    /// The kept mappings, in the order they were marked.
    pub fn kept(&self) -> Vec<NewMapping> {
        self.kept.lock().expect("not poisoned").clone()
    }

    /// What the service did since the last call; never waits.
    pub fn try_events(&self) -> Vec<KeepAliveEvent> {
        self.events.try_iter().collect()
    }

    /// The next thing the service does, waiting at most `timeout`.
    pub fn next_event(&self, timeout: Duration) -> Option<KeepAliveEvent> {
        self.events.recv_timeout(timeout).ok()
    }

    fn note_kept(&self, mapping: &NewMapping) {
        let mut kept = self.kept.lock().expect("not poisoned");
        kept.retain(|m| m.key() != mapping.key());
        kept.push(mapping.clone());
    }
}

fn run(
    forwarder: &PortForwarder,
    mut keep: KeepAlive,
    commands: &Receiver<Command>,
    events: &Sender<KeepAliveEvent>,
    wake: &dyn Fn(),
) {
    loop {
        let wait = keep
            .next_due()
            .map_or(IDLE_WAIT, |due| due.saturating_duration_since(Instant::now()));
        match commands.recv_timeout(wait) {
            Ok(Command::Keep(mapping)) => keep.keep(mapping, Instant::now()),
            Ok(Command::KeepRenewed(enabled)) => keep.keep_renewed(&enabled, Instant::now()),
            Ok(Command::Release(key)) => {
                keep.release(&key);
            }
            Ok(Command::CheckNow) => keep.check_all(Instant::now()),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        let done = keep.step(forwarder, Instant::now());
        if done.is_empty() {
            continue;
        }
        for event in done {
            if events.send(event).is_err() {
                return;
            }
        }
        wake();
    }
}
