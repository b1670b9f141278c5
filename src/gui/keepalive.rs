//! The keep-alive worker: one thread per gateway that owns the [`KeepAlive`] scheduler,
//! sleeps until something is due (or a command comes), and wakes the window only when it did
//! something. The UI thread never waits on it.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use portforward::NewMapping;
use portforward::{KeepAlive, KeepAliveEvent, MappingKey, PortForwarder};

/// How long the worker sleeps when nothing is kept (a command wakes it sooner).
const IDLE_WAIT: Duration = Duration::from_secs(3600);

/// What the window asks of the worker.
enum Command {
    Keep(NewMapping),
    Release(MappingKey),
    CheckNow,
}

/// The handle the window holds; dropping it ends the worker after its current request.
pub struct KeepAliveWorker {
    commands: Sender<Command>,
    events: Receiver<KeepAliveEvent>,
}

impl KeepAliveWorker {
    /// Starts a worker for `forwarder`'s gateway.
    pub fn start(forwarder: Arc<PortForwarder>, ctx: egui::Context) -> KeepAliveWorker {
        let (commands, incoming) = mpsc::channel();
        let (outgoing, events) = mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("portforward keep-alive".to_owned())
            .spawn(move || run(&forwarder, &incoming, &outgoing, &ctx));
        if let Err(err) = spawned {
            tracing::error!(%err, "cannot start the keep-alive thread");
        }
        KeepAliveWorker { commands, events }
    }

    /// Starts keeping `mapping` alive: it is renewed at once, then at half its lease.
    pub fn keep(&self, mapping: NewMapping) {
        let _ = self.commands.send(Command::Keep(mapping));
    }

    /// Stops keeping the mapping with this key.
    pub fn release(&self, key: MappingKey) {
        let _ = self.commands.send(Command::Release(key));
    }

    /// Checks every kept mapping now (the table showed one missing).
    pub fn check_now(&self) {
        let _ = self.commands.send(Command::CheckNow);
    }

    /// What the worker did since the last call.
    pub fn poll(&self) -> Vec<KeepAliveEvent> {
        self.events.try_iter().collect()
    }
}

fn run(forwarder: &PortForwarder, commands: &Receiver<Command>, events: &Sender<KeepAliveEvent>, ctx: &egui::Context) {
    let mut keep = KeepAlive::default();
    loop {
        let wait = keep
            .next_due()
            .map_or(IDLE_WAIT, |due| due.saturating_duration_since(Instant::now()));
        match commands.recv_timeout(wait) {
            Ok(Command::Keep(mapping)) => keep.keep(mapping, Instant::now()),
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
        ctx.request_repaint();
    }
}
