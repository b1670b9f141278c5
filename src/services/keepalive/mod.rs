//! Keep-alive: mappings marked "keep" are renewed at half their lease and re-created when the
//! router lost them (a reboot empties most routers' tables). [`KeepAlive`] is the scheduler
//! (time passed in, nothing sleeps); [`KeepAliveService`] runs one on a thread of its own for
//! the window and `portforward keep`.

mod scheduler;
mod service;

pub use scheduler::{Due, KeepAlive, KeepAliveEvent, KeepAliveTimings, remove_created};
pub use service::KeepAliveService;
