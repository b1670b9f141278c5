//! Requests to the gateway, each on its own worker thread behind a [`Promise`], so the UI
//! thread never waits on the network. A request goes in, a typed [`Outcome`] comes out.

use std::net::Ipv4Addr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use poll_promise::Promise;
use portforward::upnp::{ConnectionStatus, DiscoveryOptions, MappingTable};
use portforward::{BulkReport, EnableRequest, Enabled, Error, Mapping, MappingFilter, Port, PortForwarder, Protocol};

/// Something the user (or a timer) asked of the gateway.
#[derive(Debug, Clone)]
pub enum Request {
    /// Search the network for gateways.
    Discover(DiscoveryOptions),
    /// Connect to the gateway described at this URL.
    Connect(String, DiscoveryOptions),
    /// Read the external IP and the connection status.
    Info,
    /// Read the whole table.
    List,
    /// Create a mapping.
    Enable(EnableRequest),
    /// Remove one mapping (`None`: the last enable's).
    Disable(Option<Port>, Protocol),
    /// Read which mappings a disable-all filter matches, changing nothing.
    Preview(MappingFilter),
    /// Remove exactly these (confirmed) mappings.
    Remove(Vec<Mapping>),
    /// Renew a lease (`None`: the last enable).
    Refresh(Option<EnableRequest>),
    /// Re-create removed mappings (undo).
    Restore(Vec<Mapping>),
}

/// Which part of the window a request belongs to: it shows the spinner and the result, and
/// at most one request of each kind is in flight (no double submits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Discovery or connecting.
    Connect,
    /// External IP and status.
    Info,
    /// Reading the table.
    List,
    /// The enable form.
    Enable,
    /// The disable form.
    Disable,
    /// Disable-all (preview and removal) and removals of the selection.
    DisableAll,
    /// The refresh form.
    Refresh,
    /// Undo.
    Restore,
}

/// What came back.
#[derive(Debug)]
pub enum Outcome {
    /// Gateways found by discovery.
    Found(Result<Vec<Arc<PortForwarder>>, Error>),
    /// A gateway connected by URL.
    Connected(Result<Arc<PortForwarder>, Error>),
    /// External IP and connection status.
    Info {
        /// The router's external address.
        external_ip: Result<Option<Ipv4Addr>, Error>,
        /// The WAN connection's state.
        status: Result<ConnectionStatus, Error>,
    },
    /// The table.
    Table(Result<MappingTable, Error>),
    /// A mapping was created.
    Enabled(Result<Enabled, Error>),
    /// A mapping was removed (as it was, for undo).
    Disabled(Result<Mapping, Error>),
    /// What a disable-all filter matches.
    Preview(Result<Vec<Mapping>, Error>),
    /// A removal, row by row.
    Removed(BulkReport),
    /// A lease was renewed.
    Refreshed(Result<Enabled, Error>),
    /// An undo, row by row.
    Restored(BulkReport),
    /// The worker failed without an answer (a bug): the text says how.
    Crashed(String),
}

impl Request {
    /// The part of the window the request belongs to.
    pub fn kind(&self) -> Kind {
        match self {
            Request::Discover(_) | Request::Connect(..) => Kind::Connect,
            Request::Info => Kind::Info,
            Request::List => Kind::List,
            Request::Enable(_) => Kind::Enable,
            Request::Disable(..) => Kind::Disable,
            Request::Preview(_) | Request::Remove(_) => Kind::DisableAll,
            Request::Refresh(_) => Kind::Refresh,
            Request::Restore(_) => Kind::Restore,
        }
    }

    /// Whether it needs a connected gateway.
    pub fn needs_gateway(&self) -> bool {
        !matches!(self, Request::Discover(_) | Request::Connect(..))
    }

    /// Does the work. Runs on a worker thread: it may block for as long as the gateway takes.
    fn run(self, forwarder: Option<Arc<PortForwarder>>) -> Outcome {
        let gateway = || forwarder.clone().expect("checked by Task::spawn");
        match self {
            Request::Discover(options) => Outcome::Found(
                portforward::upnp::discover_all(&options)
                    .map_err(Error::from)
                    .and_then(|all| {
                        all.into_iter()
                            .map(|g| PortForwarder::new(g).map(Arc::new))
                            .collect::<Result<Vec<_>, _>>()
                    }),
            ),
            Request::Connect(url, options) => {
                Outcome::Connected(PortForwarder::connect(&url, &options.gateway).map(Arc::new))
            }
            Request::Info => {
                let f = gateway();
                Outcome::Info {
                    external_ip: f.external_ip(),
                    status: f.status(),
                }
            }
            Request::List => Outcome::Table(gateway().get_all_mappings()),
            Request::Enable(request) => Outcome::Enabled(gateway().enable(&request)),
            Request::Disable(port, protocol) => Outcome::Disabled(gateway().disable(port, Some(protocol))),
            Request::Preview(filter) => Outcome::Preview(gateway().preview_disable_all(&filter)),
            Request::Remove(mappings) => Outcome::Removed(gateway().remove_mappings(&mappings)),
            Request::Refresh(request) => Outcome::Refreshed(gateway().refresh(request.as_ref())),
            Request::Restore(mappings) => Outcome::Restored(gateway().restore_mappings(&mappings)),
        }
    }
}

/// A request in flight.
pub struct Task {
    /// Where its spinner and result go.
    pub kind: Kind,
    promise: Option<Promise<Outcome>>,
}

impl Task {
    /// Starts `request` on a new worker thread. When it finishes, the worker asks `ctx` for a
    /// repaint, so the window wakes at once without polling on a timer.
    pub fn spawn(request: Request, forwarder: Option<Arc<PortForwarder>>, ctx: &egui::Context) -> Task {
        debug_assert!(!request.needs_gateway() || forwarder.is_some());
        let kind = request.kind();
        let ctx = ctx.clone();
        let promise = Promise::spawn_thread(format!("portforward {kind:?}"), move || {
            // A bug in the library must not take the window down with it.
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| request.run(forwarder)))
                .unwrap_or_else(|panic| Outcome::Crashed(panic_text(&panic)));
            ctx.request_repaint();
            outcome
        });
        Task {
            kind,
            promise: Some(promise),
        }
    }

    /// The outcome, once (and only once) the worker is done.
    pub fn poll(&mut self) -> Option<Outcome> {
        match self.promise.take()?.try_take() {
            Ok(outcome) => Some(outcome),
            Err(pending) => {
                self.promise = Some(pending);
                None
            }
        }
    }
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown failure".to_owned())
}
