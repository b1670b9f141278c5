//! Systems without an owner lookup yet (macOS, the BSDs): every owner is unknown, never stale.

use std::collections::HashSet;

use super::OpenSocket;
use crate::model::Protocol;

/// The socket table is not read on this system.
pub(super) fn receiving_sockets(_: &HashSet<Protocol>) -> std::io::Result<Vec<(OpenSocket, u32)>> {
    Err(std::io::Error::other(
        "finding a port's process is not supported on this system",
    ))
}

/// Nothing to attach.
pub(super) fn attach_pids(_: &mut [(OpenSocket, u32)]) {}
