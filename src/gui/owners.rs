//! Owner lookups for the table, on a worker thread: reading the socket table and the
//! processes behind it takes milliseconds to seconds, never a frame's time.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use poll_promise::Promise;
use portforward::{Mapping, MappingKey, Owner, OwnerOptions, resolve_owners};

/// The owners of one reading of the table, by mapping.
pub type Owners = HashMap<MappingKey, Owner>;

/// The lookup in flight, if any. A new reading of the table supersedes it.
#[derive(Default)]
pub struct OwnerLookup {
    promise: Option<Promise<Owners>>,
}

impl OwnerLookup {
    /// Looks up the owners of `mappings` (this computer is `local_ip`) in the background; the
    /// window is woken when they are known.
    pub fn start(&mut self, ctx: &egui::Context, mappings: Vec<Mapping>, local_ip: Ipv4Addr, options: OwnerOptions) {
        let ctx = ctx.clone();
        self.promise = Some(Promise::spawn_thread("portforward owners", move || {
            let owners = resolve_owners(&mappings, local_ip, &options);
            ctx.request_repaint();
            mappings.iter().map(Mapping::key).zip(owners).collect()
        }));
    }

    /// The owners, once (and only once) the lookup is done.
    pub fn poll(&mut self) -> Option<Owners> {
        match self.promise.take()?.try_take() {
            Ok(owners) => Some(owners),
            Err(pending) => {
                self.promise = Some(pending);
                None
            }
        }
    }
}
