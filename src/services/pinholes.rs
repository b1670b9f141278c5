//! The IPv6 pinholes this computer made: opened, renewed, checked and closed on the router,
//! and remembered in a JSON file, because the router has no action that lists them.
//!
//! The record is reconciled with the router: a pinhole the router no longer knows (704:
//! expired, closed elsewhere, or the router restarted, which renumbers from 1) is dropped
//! from the record when listed, and re-added by a renewal ([`PinholeService::renew`]), which
//! is what keep-alive does at half the lease ([`PinholeService::renew_due`]).
//!
//! Where the router's UPnP has no WANIPv6FirewallControl, pinholes are opened with PCP MAP
//! instead ([`PcpFirewall`]); they are kept in the same record, marked `via: pcp` with the
//! nonce that renews and closes them, under an id of our own.

use std::path::{Path, PathBuf};

use crate::model::{NewPinhole, PCP_MIN_LIFETIME, Pinhole, PinholeLease, PinholeVia, unix_now};
use crate::port_control::{PcpFirewall, PortControlError};
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

/// Pinholes on one router, and the record of them: over UPnP WANIPv6FirewallControl, over
/// PCP, or both (each pinhole is renewed and closed the way it was made).
#[derive(Debug, Clone)]
pub struct PinholeService {
    control: Option<FirewallControl>,
    pcp: Option<PcpFirewall>,
    store: PinholeStore,
}

impl PinholeService {
    /// The service over `control`, keeping its record in `store`.
    pub fn new(control: FirewallControl, store: PinholeStore) -> PinholeService {
        PinholeService {
            control: Some(control),
            pcp: None,
            store,
        }
    }

    /// The service over PCP only (the router's UPnP has no firewall control).
    pub fn over_pcp(pcp: PcpFirewall, store: PinholeStore) -> PinholeService {
        PinholeService {
            control: None,
            pcp: Some(pcp),
            store,
        }
    }

    /// The same service, able to use PCP too.
    pub fn with_pcp(mut self, pcp: PcpFirewall) -> PinholeService {
        self.pcp = Some(pcp);
        self
    }

    /// The router's UPnP firewall service, if it has one.
    pub fn control(&self) -> Option<&FirewallControl> {
        self.control.as_ref()
    }

    /// PCP towards the router, if set up.
    pub fn pcp(&self) -> Option<&PcpFirewall> {
        self.pcp.as_ref()
    }

    /// How a pinhole is opened when the user does not say: UPnP when the router offers
    /// WANIPv6FirewallControl, PCP otherwise.
    pub fn default_via(&self) -> PinholeVia {
        if self.control.is_some() {
            PinholeVia::Upnp
        } else {
            PinholeVia::Pcp
        }
    }

    /// The address pinholes opened `via` are for (the one requests come from).
    pub fn local_address(&self, via: PinholeVia) -> Option<std::net::Ipv6Addr> {
        match via {
            PinholeVia::Upnp => self.control.as_ref().map(FirewallControl::local_address),
            PinholeVia::Pcp => self.pcp.as_ref().map(PcpFirewall::local_address),
        }
    }

    /// The record.
    pub fn store(&self) -> &PinholeStore {
        &self.store
    }

    /// Gives the record back (after work on a copy of the service).
    pub fn into_store(self) -> PinholeStore {
        self.store
    }

    /// The record's names of this router: its UPnP control URL and its PCP address.
    fn gateways(&self) -> Vec<String> {
        let upnp = self.control.as_ref().map(|c| c.control_url().to_owned());
        let pcp = self.pcp.as_ref().map(PcpFirewall::gateway_id);
        upnp.into_iter().chain(pcp).collect()
    }

    /// The recorded pinholes on this router, UPnP ones first.
    pub fn recorded(&self) -> Vec<Pinhole> {
        self.gateways().iter().flat_map(|g| self.store.on(g)).collect()
    }

    fn find(&self, id: u16) -> Option<Pinhole> {
        self.recorded().into_iter().find(|p| p.id == id)
    }

    fn upnp(&self) -> Result<&FirewallControl, ServiceError> {
        self.control.as_ref().ok_or(ServiceError::NoUpnpFirewall)
    }

    fn pcp_or_err(&self) -> Result<&PcpFirewall, ServiceError> {
        self.pcp.as_ref().ok_or(ServiceError::NoPcp)
    }

    /// Opens `opening` the default way ([`PinholeService::default_via`]).
    pub fn add(&mut self, opening: &NewPinhole) -> Result<Pinhole, ServiceError> {
        self.add_via(opening, self.default_via())
    }

    /// Opens `opening` via `via`. When the record holds the same opening on this router made
    /// the same way, its lease is renewed instead (adding again would stretch the lease wrongly
    /// on miniupnpd; PCP renews with the nonce that made it); when the router no longer knows
    /// a UPnP one, it is added afresh.
    pub fn add_via(&mut self, opening: &NewPinhole, via: PinholeVia) -> Result<Pinhole, ServiceError> {
        let known = self
            .recorded()
            .into_iter()
            .find(|p| p.via == via && p.opening.same_opening(opening));
        if let Some(mut known) = known {
            known.opening.lease = opening.lease;
            return Ok(self.renew_pinhole(known)?.pinhole().clone());
        }
        match via {
            PinholeVia::Upnp => self.add_new(opening),
            PinholeVia::Pcp => self.add_pcp(opening, None, None),
        }
    }

    /// PCP MAP for `opening` (with `nonce` and `id` when renewing) and record it.
    fn add_pcp(
        &mut self,
        opening: &NewPinhole,
        nonce: Option<[u32; 3]>,
        id: Option<u16>,
    ) -> Result<Pinhole, ServiceError> {
        let pcp = self.pcp_or_err()?.clone();
        pcp.check_opening(opening)?;
        let grant = pcp.open(opening, nonce).map_err(ServiceError::from_pcp)?;
        let id = id.unwrap_or_else(|| self.free_pcp_id());
        let lease =
            PinholeLease::seconds(u64::from(grant.lifetime_secs.max(PCP_MIN_LIFETIME))).unwrap_or(PinholeLease::MAX);
        let pinhole = Pinhole {
            id,
            opening: NewPinhole {
                lease,
                ..opening.clone()
            },
            gateway: pcp.gateway_id(),
            expires_at: unix_now() + u64::from(grant.lifetime_secs),
            packets: None,
            working: None,
            via: PinholeVia::Pcp,
            nonce: Some(grant.nonce),
        };
        self.store.record(pinhole.clone())?;
        Ok(pinhole)
    }

    /// An id for a new PCP pinhole: the highest not in the record, from 65535 down (routers
    /// number theirs from 1 up).
    fn free_pcp_id(&self) -> u16 {
        let taken: Vec<u16> = self.store.all().iter().map(|p| p.id).collect();
        (1..=u16::MAX).rev().find(|id| !taken.contains(id)).unwrap_or(u16::MAX)
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
        let control = self.upnp()?;
        let id = control.add(opening)?;
        let gateway = control.control_url().to_owned();
        let displaced = self
            .store
            .find(&gateway, id)
            .filter(|p| !p.opening.same_opening(opening))
            .cloned();
        let pinhole = Pinhole {
            id,
            opening: opening.clone(),
            gateway,
            expires_at: unix_now() + u64::from(opening.lease.as_secs()),
            packets: None,
            working: None,
            via: PinholeVia::Upnp,
            nonce: None,
        };
        self.store.record(pinhole.clone())?;
        Ok((pinhole, displaced))
    }

    /// Sets the lease of pinhole `id` to `lease` (after 704, added again). Only pinholes in
    /// the record: nothing is sent for another.
    pub fn update(&mut self, id: u16, lease: PinholeLease) -> Result<Renewal, ServiceError> {
        let mut known = self.find(id).ok_or(ServiceError::NotOurs { id })?;
        known.opening.lease = lease;
        self.renew_pinhole(known)
    }

    /// Renews pinhole `id` with its own lease (UpdatePinhole, after 704 added again; or a
    /// PCP MAP with its nonce).
    pub fn renew(&mut self, id: u16) -> Result<Renewal, ServiceError> {
        let known = self.find(id).ok_or(ServiceError::NotOurs { id })?;
        self.renew_pinhole(known)
    }

    fn renew_pinhole(&mut self, mut known: Pinhole) -> Result<Renewal, ServiceError> {
        if known.via == PinholeVia::Pcp {
            // The same nonce renews; a router that lost it (restarted) makes it afresh.
            let pinhole = self.add_pcp(&known.opening, known.nonce, Some(known.id))?;
            return Ok(Renewal::Renewed(pinhole));
        }
        match self.upnp()?.update(known.id, known.opening.lease) {
            Ok(()) => {
                known.expires_at = unix_now() + u64::from(known.opening.lease.as_secs());
                self.store.record(known.clone())?;
                Ok(Renewal::Renewed(known))
            }
            Err(e) if e.is_gone() => {
                let old_id = known.id;
                self.store.forget(&known.gateway, old_id)?;
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
            .recorded()
            .into_iter()
            .filter(|p| p.seconds_left_at(now) <= u64::from(p.opening.lease.as_secs()) / 2)
            .collect();
        due.into_iter().map(|p| (p.id, self.renew_pinhole(p))).collect()
    }

    /// When the next pinhole on this router is due for renewal (seconds since the epoch).
    pub fn next_due(&self) -> Option<u64> {
        self.recorded()
            .iter()
            .map(|p| p.expires_at.saturating_sub(u64::from(p.opening.lease.as_secs()) / 2))
            .min()
    }

    /// Closes pinhole `id`. One the router no longer knows (704) is forgotten too, and
    /// reported as [`ServiceError::Gone`]. A PCP one is closed with the nonce that made it.
    pub fn remove(&mut self, id: u16) -> Result<(), ServiceError> {
        let known = self.find(id);
        if let Some(known) = known.filter(|p| p.via == PinholeVia::Pcp) {
            let nonce = known.nonce.ok_or(ServiceError::NotOurs { id })?;
            self.pcp_or_err()?
                .close(&known.opening, nonce)
                .map_err(ServiceError::from_pcp)?;
            self.store.forget(&known.gateway, id)?;
            return Ok(());
        }
        let control = self.upnp()?;
        let gateway = control.control_url().to_owned();
        match control.delete(id) {
            Ok(()) => {
                self.store.forget(&gateway, id)?;
                Ok(())
            }
            Err(e) if e.is_gone() => {
                self.store.forget(&gateway, id)?;
                Err(ServiceError::Gone { id })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Asks the router about pinhole `id`: whether outside traffic reached it
    /// (CheckPinholeWorking) and its packet count. UPnP only: PCP has no such question.
    pub fn check(&mut self, id: u16) -> Result<PinholeState, ServiceError> {
        let known = self.find(id);
        if known.as_ref().is_some_and(|p| p.via == PinholeVia::Pcp) {
            return Err(ServiceError::PcpUnchecked { id });
        }
        let control = self.upnp()?;
        let gateway = control.control_url().to_owned();
        let working = match control.check_working(id) {
            Ok(working) => working,
            Err(e) if e.is_gone() => {
                return match known {
                    Some(known) => {
                        self.store.forget(&gateway, id)?;
                        Ok(PinholeState::Gone(known))
                    }
                    None => Err(ServiceError::Gone { id }),
                };
            }
            Err(e) => return Err(e.into()),
        };
        let packets = control.packets(id).ok();
        let mut pinhole = known.ok_or(ServiceError::NotOurs { id })?;
        pinhole.working = Some(working);
        pinhole.packets = packets;
        self.store.record(pinhole.clone())?;
        Ok(PinholeState::Held(pinhole))
    }

    /// The recorded pinholes on this router: UPnP ones each checked with the router (those
    /// it no longer knows are dropped from the record and returned as
    /// [`PinholeState::Gone`]); PCP ones as recorded (PCP cannot be asked), gone once their
    /// lifetime ended.
    pub fn list(&mut self) -> Result<Vec<PinholeState>, ServiceError> {
        let now = unix_now();
        let mut states = Vec::new();
        for pinhole in self.recorded() {
            if pinhole.via == PinholeVia::Upnp {
                states.push(self.check(pinhole.id)?);
            } else if pinhole.seconds_left_at(now) == 0 {
                self.store.forget(&pinhole.gateway, pinhole.id)?;
                states.push(PinholeState::Gone(pinhole));
            } else {
                states.push(PinholeState::Held(pinhole));
            }
        }
        Ok(states)
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
    /// A PCP request failed (no answer, or the router refused).
    #[error(transparent)]
    Pcp(#[from] PortControlError),
    /// The pinhole asked for cannot be opened over PCP (nothing was sent).
    #[error(transparent)]
    Input(#[from] crate::model::InputError),
    /// This computer's address or route does not allow a PCP pinhole.
    #[error(transparent)]
    Host(#[from] crate::host::HostError),
    /// UPnP was asked for, and the router's UPnP has no firewall control.
    #[error(
        "the router's UPnP has no IPv6 firewall control (WANIPv6FirewallControl): open the pinhole with PCP (--via pcp), or turn IPv6 pinholes on in the router"
    )]
    NoUpnpFirewall,
    /// The router's UPnP has no firewall control, and PCP, the fallback, failed too.
    #[error("{upnp}; and PCP, the fallback, cannot be used either: {pcp}")]
    NeitherWay {
        /// Why not UPnP.
        upnp: PinholeError,
        /// Why not PCP.
        pcp: String,
    },
    /// PCP was asked for, and no router address for it is known.
    #[error("no IPv6 router to send PCP to: give its IPv6 address (--gateway-ip), or use UPnP (--via upnp)")]
    NoPcp,
    /// `check` of a PCP pinhole: PCP has no way to ask.
    #[error(
        "pinhole {id} was opened with PCP, which cannot tell whether outside traffic reached it or count its packets (only UPnP's WANIPv6FirewallControl can); test it from outside instead"
    )]
    PcpUnchecked {
        /// The id.
        id: u16,
    },
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

impl ServiceError {
    /// A failure of [`PcpFirewall`] (whose calls return the crate's error: a PCP failure,
    /// input it refused, or this computer's address; never a UPnP or file error, which are
    /// kept as their message should that change).
    fn from_pcp(err: crate::Error) -> ServiceError {
        match err {
            crate::Error::PortControl(e) => ServiceError::Pcp(e),
            crate::Error::Input(e) => ServiceError::Input(e),
            crate::Error::Host(e) => ServiceError::Host(e),
            crate::Error::Pinhole(e) => e,
            other => ServiceError::Host(crate::host::HostError::NoLocalAddress {
                reason: other.to_string(),
            }),
        }
    }
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
