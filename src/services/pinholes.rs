//! The IPv6 pinholes this computer made: opened, renewed, checked and closed on the router,
//! and remembered in a JSON file, because the router has no action that lists them.
//!
//! The record is reconciled with the router: a pinhole the router no longer knows (704:
//! expired, closed elsewhere, or the router restarted, which renumbers from 1) is dropped
//! from the record when listed, and re-added by a renewal ([`PinholeService::renew`]), which
//! is what keep-alive does at half the lease ([`PinholeService::renew_due`]).

use std::path::{Path, PathBuf};

use crate::model::{NewPinhole, Pinhole, PinholeLease, unix_now};
use crate::store::{FileError, JsonFile};
use crate::upnp::{FirewallControl, PinholeError};

/// The pinholes kept in a JSON file (every router's; each records its control URL).
#[derive(Debug, Default, Clone)]
pub struct PinholeStore {
    file: JsonFile<Vec<Pinhole>>,
    pinholes: Vec<Pinhole>,
}

impl PinholeStore {
    /// `pinholes.json` in the platform's config directory.
    pub fn default_path() -> Option<PathBuf> {
        crate::store::config_dir().map(|d| d.join("pinholes.json"))
    }

    /// A store that is never written to disk.
    pub fn in_memory() -> PinholeStore {
        PinholeStore::default()
    }

    /// Reads the pinholes in `path` (none if it does not exist), dropping those whose lease
    /// ended a day ago or more (a router forgets them at once; the grace keeps a recent one
    /// for the keep-alive to re-add).
    pub fn open(path: impl Into<PathBuf>) -> Result<PinholeStore, FileError> {
        let file = JsonFile::at(path, "read the pinholes in", "delete the file to start afresh");
        let mut pinholes: Vec<Pinhole> = file.read()?.unwrap_or_default();
        let now = unix_now();
        pinholes.retain(|p| p.expires_at + 86_400 > now);
        Ok(PinholeStore { file, pinholes })
    }

    /// The file, if any.
    pub fn path(&self) -> Option<&Path> {
        self.file.path()
    }

    /// Every pinhole kept, oldest first.
    pub fn all(&self) -> &[Pinhole] {
        &self.pinholes
    }

    /// The pinholes kept for the router at `gateway` (its firewall control URL).
    pub fn on(&self, gateway: &str) -> Vec<Pinhole> {
        self.pinholes.iter().filter(|p| p.gateway == gateway).cloned().collect()
    }

    /// The pinhole `id` on `gateway`.
    pub fn find(&self, gateway: &str, id: u16) -> Option<&Pinhole> {
        self.pinholes.iter().find(|p| p.gateway == gateway && p.id == id)
    }

    /// Records a pinhole made or renewed (replacing one with the same id or the same opening
    /// on the same router).
    pub fn record(&mut self, pinhole: Pinhole) -> Result<(), FileError> {
        self.pinholes.retain(|p| {
            p.gateway != pinhole.gateway || (p.id != pinhole.id && !p.opening.same_opening(&pinhole.opening))
        });
        self.pinholes.push(pinhole);
        self.save()
    }

    /// Forgets pinhole `id` on `gateway`; whether it was kept.
    pub fn forget(&mut self, gateway: &str, id: u16) -> Result<bool, FileError> {
        let before = self.pinholes.len();
        self.pinholes.retain(|p| !(p.gateway == gateway && p.id == id));
        let removed = self.pinholes.len() != before;
        if removed {
            self.save()?;
        }
        Ok(removed)
    }

    fn save(&self) -> Result<(), FileError> {
        self.file.write(&self.pinholes)
    }
}

/// What happened to a pinhole when it was renewed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Renewal {
    /// UpdatePinhole set its lease afresh.
    Renewed(Pinhole),
    /// The router no longer knew it (704); it was added again, under a new id.
    Readded {
        /// The id it had.
        old_id: u16,
        /// The pinhole as it is now.
        pinhole: Pinhole,
    },
}

impl Renewal {
    /// The pinhole as it is now.
    pub fn pinhole(&self) -> &Pinhole {
        match self {
            Renewal::Renewed(p) | Renewal::Readded { pinhole: p, .. } => p,
        }
    }
}

/// A pinhole as the router reports it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinholeState {
    /// The router knows it; with whether outside traffic reached it and its packet count.
    Held(Pinhole),
    /// The router does not know it any more (704); it was dropped from the record.
    Gone(Pinhole),
}

/// Pinholes on one router, and the record of them.
#[derive(Debug, Clone)]
pub struct PinholeService {
    control: FirewallControl,
    store: PinholeStore,
}

impl PinholeService {
    /// The service over `control`, keeping its record in `store`.
    pub fn new(control: FirewallControl, store: PinholeStore) -> PinholeService {
        PinholeService { control, store }
    }

    /// The router's firewall service.
    pub fn control(&self) -> &FirewallControl {
        &self.control
    }

    /// The record.
    pub fn store(&self) -> &PinholeStore {
        &self.store
    }

    /// Gives the record back (after work on a copy of the service).
    pub fn into_store(self) -> PinholeStore {
        self.store
    }

    fn gateway(&self) -> &str {
        self.control.control_url()
    }

    /// Opens `opening`. When the record holds the same opening on this router, its lease is
    /// renewed with UpdatePinhole instead (adding again would stretch the lease wrongly on
    /// miniupnpd); when the router no longer knows that one, it is added afresh.
    pub fn add(&mut self, opening: &NewPinhole) -> Result<Pinhole, ServiceError> {
        let known = self
            .store
            .on(self.gateway())
            .into_iter()
            .find(|p| p.opening.same_opening(opening));
        if let Some(mut known) = known {
            known.opening.lease = opening.lease;
            return Ok(self.renew_pinhole(known)?.pinhole().clone());
        }
        self.add_new(opening)
    }

    fn add_new(&mut self, opening: &NewPinhole) -> Result<Pinhole, ServiceError> {
        let first = self.add_one(opening)?;
        // A router that restarted numbers from 1 again: a new id that the record holds for
        // another opening means that one was lost in the restart too. It is added again
        // (each at most once: the record shrinks by one per round).
        let mut displaced = first.1;
        for _ in 0..self.store.all().len() + 1 {
            let Some(lost) = displaced.take() else { break };
            tracing::info!(
                id = lost.id,
                "pinhole lost in a router restart (its id was given to another); adding it again"
            );
            displaced = self.add_one(&lost.opening)?.1;
        }
        Ok(first.0)
    }

    /// AddPinhole and record it; the recorded pinhole of another opening that had its id.
    fn add_one(&mut self, opening: &NewPinhole) -> Result<(Pinhole, Option<Pinhole>), ServiceError> {
        let id = self.control.add(opening)?;
        let displaced = self
            .store
            .find(self.gateway(), id)
            .filter(|p| !p.opening.same_opening(opening))
            .cloned();
        let pinhole = Pinhole {
            id,
            opening: opening.clone(),
            gateway: self.gateway().to_owned(),
            expires_at: unix_now() + u64::from(opening.lease.as_secs()),
            packets: None,
            working: None,
        };
        self.store.record(pinhole.clone())?;
        Ok((pinhole, displaced))
    }

    /// Sets the lease of pinhole `id` to `lease` (after 704, added again). Only pinholes in
    /// the record: nothing is sent for another.
    pub fn update(&mut self, id: u16, lease: PinholeLease) -> Result<Renewal, ServiceError> {
        let mut known = self
            .store
            .find(self.gateway(), id)
            .cloned()
            .ok_or(ServiceError::NotOurs { id })?;
        known.opening.lease = lease;
        self.renew_pinhole(known)
    }

    /// Renews pinhole `id` with its own lease (UpdatePinhole; after 704, added again).
    pub fn renew(&mut self, id: u16) -> Result<Renewal, ServiceError> {
        let known = self
            .store
            .find(self.gateway(), id)
            .cloned()
            .ok_or(ServiceError::NotOurs { id })?;
        self.renew_pinhole(known)
    }

    fn renew_pinhole(&mut self, mut known: Pinhole) -> Result<Renewal, ServiceError> {
        match self.control.update(known.id, known.opening.lease) {
            Ok(()) => {
                known.expires_at = unix_now() + u64::from(known.opening.lease.as_secs());
                self.store.record(known.clone())?;
                Ok(Renewal::Renewed(known))
            }
            Err(e) if e.is_gone() => {
                let old_id = known.id;
                self.store.forget(self.control.control_url(), old_id)?;
                let pinhole = self.add_new(&known.opening)?;
                Ok(Renewal::Readded { old_id, pinhole })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Renews every recorded pinhole on this router that is at or past half its lease at
    /// `now` (seconds since the epoch); the keep-alive's one step. Each result in turn.
    pub fn renew_due(&mut self, now: u64) -> Vec<(u16, Result<Renewal, ServiceError>)> {
        let due: Vec<Pinhole> = self
            .store
            .on(self.gateway())
            .into_iter()
            .filter(|p| p.seconds_left_at(now) <= u64::from(p.opening.lease.as_secs()) / 2)
            .collect();
        due.into_iter().map(|p| (p.id, self.renew_pinhole(p))).collect()
    }

    /// When the next pinhole on this router is due for renewal (seconds since the epoch).
    pub fn next_due(&self) -> Option<u64> {
        self.store
            .on(self.gateway())
            .iter()
            .map(|p| p.expires_at.saturating_sub(u64::from(p.opening.lease.as_secs()) / 2))
            .min()
    }

    /// Closes pinhole `id`. One the router no longer knows (704) is forgotten too, and
    /// reported as [`ServiceError::Gone`].
    pub fn remove(&mut self, id: u16) -> Result<(), ServiceError> {
        match self.control.delete(id) {
            Ok(()) => {
                self.store.forget(self.control.control_url(), id)?;
                Ok(())
            }
            Err(e) if e.is_gone() => {
                self.store.forget(self.control.control_url(), id)?;
                Err(ServiceError::Gone { id })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Asks the router about pinhole `id`: whether outside traffic reached it
    /// (CheckPinholeWorking) and its packet count.
    pub fn check(&mut self, id: u16) -> Result<PinholeState, ServiceError> {
        let known = self.store.find(self.gateway(), id).cloned();
        let working = match self.control.check_working(id) {
            Ok(working) => working,
            Err(e) if e.is_gone() => {
                return match known {
                    Some(known) => {
                        self.store.forget(self.control.control_url(), id)?;
                        Ok(PinholeState::Gone(known))
                    }
                    None => Err(ServiceError::Gone { id }),
                };
            }
            Err(e) => return Err(e.into()),
        };
        let packets = self.control.packets(id).ok();
        let mut pinhole = known.ok_or(ServiceError::NotOurs { id })?;
        pinhole.working = Some(working);
        pinhole.packets = packets;
        self.store.record(pinhole.clone())?;
        Ok(PinholeState::Held(pinhole))
    }

    /// The recorded pinholes on this router, each checked with the router; those it no
    /// longer knows are dropped from the record and returned as [`PinholeState::Gone`].
    pub fn list(&mut self) -> Result<Vec<PinholeState>, ServiceError> {
        let ids: Vec<u16> = self.store.on(self.gateway()).iter().map(|p| p.id).collect();
        ids.into_iter().map(|id| self.check(id)).collect()
    }
}

/// What went wrong with a pinhole use case.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ServiceError {
    /// The router refused, or could not be reached.
    #[error(transparent)]
    Pinhole(#[from] PinholeError),
    /// The record could not be read or written.
    #[error(transparent)]
    File(#[from] FileError),
    /// The router does not know the pinhole (704): it expired, was closed, or the router
    /// restarted.
    #[error(
        "the router does not know pinhole {id} (error 704): it expired, was closed, or the router restarted; open it again with `pinhole add`"
    )]
    Gone {
        /// The id.
        id: u16,
    },
    /// The pinhole is not one this computer made (not in the record): the router may hold it
    /// for another program.
    #[error(
        "pinhole {id} is not one this computer made (the router has no list of pinholes, so only those made here are known)"
    )]
    NotOurs {
        /// The id.
        id: u16,
    },
}

/// What this computer can honestly say about reaching a pinhole from the internet. From
/// inside the LAN nothing proves a port open: only a packet from outside that reached the
/// rule (the router's CheckPinholeWorking) does; an address outside global unicast space
/// proves it closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PinholeReachability {
    /// The router saw a packet from outside reach the pinhole.
    Proven,
    /// Not known: no outside packet has reached it yet (or nobody asked the router). The
    /// pinhole exists; whether the ISP routes to the address was not checked.
    Unknown,
    /// The address is not reachable from the internet (unique local fc00::/7, or the
    /// documentation prefix 2001:db8::/32), whatever the router's firewall says, and no
    /// outside packet has shown otherwise.
    NotRoutable,
}

impl PinholeReachability {
    /// Judges a pinhole by its address and what the router last said.
    pub fn of(pinhole: &Pinhole) -> PinholeReachability {
        let segments = pinhole.opening.internal_ip.segments();
        let unique_local = segments[0] & 0xfe00 == 0xfc00;
        let documentation = segments[0] == 0x2001 && segments[1] == 0x0db8;
        // A packet that came in from the router's WAN side is proof whatever the address.
        if pinhole.working == Some(true) {
            return PinholeReachability::Proven;
        }
        if unique_local || documentation || pinhole.opening.internal_ip.is_loopback() {
            return PinholeReachability::NotRoutable;
        }
        PinholeReachability::Unknown
    }

    /// The sentence for the user.
    pub fn describe(self) -> &'static str {
        match self {
            PinholeReachability::Proven => "reachable from outside: the router saw an outside packet reach it",
            PinholeReachability::Unknown => {
                "open on the router; whether it can be reached from the internet is not known until an outside packet arrives (this computer cannot test it from inside)"
            }
            PinholeReachability::NotRoutable => {
                "not reachable from the internet: the address is a local or documentation one (fc00::/7, 2001:db8::/32, ::1), not a global one"
            }
        }
    }
}
