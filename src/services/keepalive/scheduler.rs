//! The keep-alive scheduler: the caller passes the time in and calls [`KeepAlive::step`] when
//! [`KeepAlive::next_due`] says so; nothing in here sleeps. Each action comes back as a
//! [`KeepAliveEvent`] for a log or the command line.
//!
//! ```
//! use std::time::Instant;
//! use portforward::{EnableRequest, KeepAlive, PortForwarder, simulator::SimulatedGateway};
//! let router = SimulatedGateway::demo()?;
//! let forwarder = PortForwarder::connect(&router.description_url(), &Default::default())?;
//! let enabled = forwarder.enable(&EnableRequest::default())?;
//! let mut keep = KeepAlive::default();
//! keep.keep_renewed(&enabled, Instant::now());
//! let due = keep.next_due().unwrap();
//! // …sleep until `due`, then:
//! for event in keep.step(&forwarder, due) {
//!     println!("{event}");
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::model::{Lease, MappingKey, NewMapping};
use crate::services::{BulkReport, Enabled, PortForwarder};
use crate::upnp::UpnpCode;

/// How often kept mappings are looked at besides their renewals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepAliveTimings {
    /// How often to check that a kept mapping is still on the router (a reboot may have
    /// lost it long before its renewal is due). Permanent mappings are only checked.
    pub check_every: Duration,
    /// How soon to try again after the router failed to answer or refused; each further
    /// failure in a row doubles it, up to `check_every` (a router that keeps refusing is not
    /// asked, nor the log filled, every few seconds).
    pub retry_after: Duration,
}

impl Default for KeepAliveTimings {
    fn default() -> KeepAliveTimings {
        KeepAliveTimings {
            check_every: Duration::from_secs(60),
            retry_after: Duration::from_secs(10),
        }
    }
}

/// What is due for one kept mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Half its lease has passed: renew it.
    Renew,
    /// Only make sure the router still has it.
    Check,
}

/// What keep-alive did.
#[derive(Debug, Clone)]
pub enum KeepAliveEvent {
    /// The lease was renewed; `lease` is what the router now lists.
    Renewed {
        /// The mapping.
        mapping: NewMapping,
        /// The lease the router lists after renewing.
        lease: Lease,
    },
    /// The router no longer listed the mapping (it rebooted, or someone removed it): it was
    /// created again.
    Recreated {
        /// The mapping.
        mapping: NewMapping,
        /// The lease the router lists.
        lease: Lease,
    },
    /// The router failed to answer or refused; the next attempt is `retry_in` from now.
    Failed {
        /// The mapping.
        mapping: NewMapping,
        /// Why.
        error: Error,
        /// When it is tried again.
        retry_in: Duration,
    },
}

impl KeepAliveEvent {
    /// The mapping the event is about.
    pub fn mapping(&self) -> &NewMapping {
        match self {
            KeepAliveEvent::Renewed { mapping, .. }
            | KeepAliveEvent::Recreated { mapping, .. }
            | KeepAliveEvent::Failed { mapping, .. } => mapping,
        }
    }
}

impl fmt::Display for KeepAliveEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.mapping();
        let target = format!("{} -> {}:{}", m.key(), m.internal_ip, m.internal_port);
        match self {
            KeepAliveEvent::Renewed { lease, .. } => write!(f, "keep-alive: renewed {target} (lease {lease})"),
            KeepAliveEvent::Recreated { lease, .. } => write!(
                f,
                "keep-alive: {target} was no longer on the router (rebooted?): created again (lease {lease})"
            ),
            KeepAliveEvent::Failed { error, retry_in, .. } => write!(
                f,
                "keep-alive: could not keep {target}: {error}; trying again in {} s",
                retry_in.as_secs()
            ),
        }
    }
}

/// One kept mapping and its timers.
#[derive(Debug, Clone)]
struct Kept {
    mapping: NewMapping,
    /// When the lease is renewed next; `None` for a permanent lease.
    renew_at: Option<Instant>,
    /// When presence is checked next.
    check_at: Instant,
    /// Failures in a row, for the back-off.
    failures: u32,
}

/// The keep-alive scheduler over a set of kept mappings.
#[derive(Debug, Clone, Default)]
pub struct KeepAlive {
    timings: KeepAliveTimings,
    kept: Vec<Kept>,
}

impl KeepAlive {
    /// An empty scheduler.
    pub fn new(timings: KeepAliveTimings) -> KeepAlive {
        KeepAlive {
            timings,
            kept: Vec::new(),
        }
    }

    /// Keeps `mapping` alive, starting with a renewal at once (it may have been made long
    /// ago, with an unknown lease left). Replaces a kept mapping with the same key.
    pub fn keep(&mut self, mapping: NewMapping, now: Instant) {
        self.release(&mapping.key());
        self.kept.push(Kept {
            mapping,
            renew_at: Some(now),
            check_at: now,
            failures: 0,
        });
    }

    /// Keeps a mapping that was just created or renewed: its first renewal is at half the
    /// lease the router listed.
    pub fn keep_renewed(&mut self, enabled: &Enabled, now: Instant) {
        self.release(&enabled.request.key());
        let mut kept = Kept {
            mapping: enabled.request.clone(),
            renew_at: None,
            check_at: now,
            failures: 0,
        };
        self.schedule(&mut kept, effective_lease(enabled), now);
        self.kept.push(kept);
    }

    /// Stops keeping the mapping with this key; returns it if it was kept.
    pub fn release(&mut self, key: &MappingKey) -> Option<NewMapping> {
        let position = self.kept.iter().position(|k| k.mapping.key() == *key)?;
        Some(self.kept.remove(position).mapping)
    }

    /// Whether the mapping with this key is kept.
    pub fn is_kept(&self, key: &MappingKey) -> bool {
        self.kept.iter().any(|k| k.mapping.key() == *key)
    }

    /// The kept mappings, in the order they were marked.
    pub fn kept(&self) -> impl Iterator<Item = &NewMapping> {
        self.kept.iter().map(|k| &k.mapping)
    }

    /// How many mappings are kept.
    pub fn len(&self) -> usize {
        self.kept.len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }

    /// Makes every kept mapping due for a presence check at `now` (e.g. when a reading of
    /// the table shows one missing, there is no need to wait for the timer).
    pub fn check_all(&mut self, now: Instant) {
        for kept in &mut self.kept {
            kept.check_at = kept.check_at.min(now);
        }
    }

    /// When the next action is due; `None` when nothing is kept.
    pub fn next_due(&self) -> Option<Instant> {
        self.kept
            .iter()
            .map(|k| k.renew_at.map_or(k.check_at, |r| r.min(k.check_at)))
            .min()
    }

    /// What is due at `now`, by mapping, without doing it.
    pub fn due(&self, now: Instant) -> Vec<(MappingKey, Due)> {
        self.kept
            .iter()
            .filter_map(|k| due_of(k, now).map(|due| (k.mapping.key(), due)))
            .collect()
    }

    /// Does what is due at `now`: checks that each due mapping is still on the router,
    /// re-creates it if not, renews it if half its lease has passed. Blocks on the gateway.
    pub fn step(&mut self, forwarder: &PortForwarder, now: Instant) -> Vec<KeepAliveEvent> {
        let mut events = Vec::new();
        let timings = self.timings;
        for index in 0..self.kept.len() {
            let Some(due) = due_of(&self.kept[index], now) else {
                continue;
            };
            let mapping = self.kept[index].mapping.clone();
            let present = match forwarder.gateway().specific_entry(&mapping.key()) {
                Ok(_) => true,
                Err(e) if e.upnp_code() == Some(UpnpCode::NoSuchEntry) => false,
                Err(error) => {
                    let retry_in = self.failed(index, now, due);
                    events.push(KeepAliveEvent::Failed {
                        mapping,
                        error: error.into(),
                        retry_in,
                    });
                    continue;
                }
            };
            if present && due == Due::Check {
                self.kept[index].check_at = now + timings.check_every;
                self.kept[index].failures = 0;
                continue;
            }
            // A mapping held by another host now is refused here with a message naming it.
            match forwarder.renew(mapping.clone()) {
                Ok(enabled) => {
                    let lease = effective_lease(&enabled);
                    let mut kept = self.kept[index].clone();
                    self.schedule(&mut kept, lease, now);
                    self.kept[index] = kept;
                    events.push(if present {
                        KeepAliveEvent::Renewed { mapping, lease }
                    } else {
                        KeepAliveEvent::Recreated { mapping, lease }
                    });
                }
                Err(error) => {
                    let retry_in = self.failed(index, now, Due::Renew);
                    events.push(KeepAliveEvent::Failed {
                        mapping,
                        error,
                        retry_in,
                    });
                }
            }
        }
        events
    }

    /// Sets the timers after a renewal that left `lease` on the router.
    fn schedule(&self, kept: &mut Kept, lease: Lease, now: Instant) {
        kept.renew_at = lease
            .duration()
            .map(|lease| now + (lease / 2).max(Duration::from_secs(1)));
        kept.check_at = now + self.timings.check_every;
        kept.failures = 0;
    }

    /// Puts off what failed until the retry time, backing off; returns how long that is.
    fn failed(&mut self, index: usize, now: Instant, due: Due) -> Duration {
        let kept = &mut self.kept[index];
        let doublings = kept.failures.min(16);
        kept.failures = kept.failures.saturating_add(1);
        let wait = self
            .timings
            .retry_after
            .saturating_mul(1 << doublings)
            .min(self.timings.check_every.max(self.timings.retry_after));
        let retry = now + wait;
        kept.check_at = retry;
        if due == Due::Renew {
            kept.renew_at = Some(retry);
        }
        wait
    }
}

fn due_of(kept: &Kept, now: Instant) -> Option<Due> {
    if kept.renew_at.is_some_and(|r| r <= now) {
        Some(Due::Renew)
    } else if kept.check_at <= now {
        Some(Due::Check)
    } else {
        None
    }
}

/// The lease to schedule by: what the router lists (it may clamp "permanent" to 7 days),
/// else what it accepted.
fn effective_lease(enabled: &Enabled) -> Lease {
    if enabled.mapping.lease.is_finite() {
        enabled.mapping.lease
    } else {
        enabled.request.lease
    }
}

/// Removes the mappings this program created, if they are still as it made them: a port that
/// another host took in the meantime is left alone (reported as failed). Mappings already
/// gone are not reported. For "remove my mappings when I exit".
pub fn remove_created(forwarder: &PortForwarder, created: &[NewMapping]) -> BulkReport {
    let mut report = BulkReport::default();
    for mapping in created {
        let key = mapping.key();
        let listed = match forwarder.gateway().specific_entry(&key) {
            Ok(listed) => listed,
            Err(e) if e.upnp_code() == Some(UpnpCode::NoSuchEntry) => continue,
            Err(e) if e.is_unreachable() => {
                tracing::warn!(%key, %e, "the gateway stopped answering; not removing the rest");
                break;
            }
            Err(_) => continue,
        };
        if listed.internal_client != mapping.internal_ip.to_string() || listed.internal_port != mapping.internal_port {
            let reason = format!(
                "now forwarded to {}:{}, not created by this program: left alone",
                listed.internal_client, listed.internal_port
            );
            report.failed.push((listed, reason));
            continue;
        }
        match forwarder.gateway().delete_port_mapping(&key) {
            Ok(()) => report.done.push(listed),
            Err(e) => report.failed.push((listed, e.to_string())),
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::model::{Description, Port, Protocol};
    use crate::services::EnableRequest;
    use crate::simulator::{SimConfig, SimulatedGateway};
    use crate::upnp::GatewayOptions;

    const MINUTE: Duration = Duration::from_secs(60);

    fn new_mapping(port: u16, lease: u32) -> NewMapping {
        NewMapping {
            protocol: Protocol::Tcp,
            external_port: Port::new(port).unwrap(),
            internal_ip: Ipv4Addr::LOCALHOST,
            internal_port: Port::new(port).unwrap(),
            description: Description::from_router("kept".into()),
            lease: Lease::from_router(lease),
        }
    }

    fn enabled(mapping: NewMapping, listed_lease: u32) -> Enabled {
        Enabled {
            external_ip: None,
            mapping: crate::model::Mapping {
                protocol: mapping.protocol,
                external_port: mapping.external_port,
                internal_client: mapping.internal_ip.to_string(),
                internal_port: mapping.internal_port,
                description: mapping.description.clone(),
                enabled: true,
                remote_host: String::new(),
                lease: Lease::from_router(listed_lease),
            },
            request: mapping,
        }
    }

    #[test]
    fn renewal_falls_at_half_the_lease_and_checks_come_in_between() {
        let t0 = Instant::now();
        let mut keep = KeepAlive::new(KeepAliveTimings {
            check_every: MINUTE,
            retry_after: Duration::from_secs(10),
        });
        keep.keep_renewed(&enabled(new_mapping(5000, 3600), 3600), t0);
        let key = new_mapping(5000, 3600).key();
        assert!(keep.due(t0).is_empty(), "just renewed");
        assert_eq!(
            keep.next_due(),
            Some(t0 + MINUTE),
            "a presence check before the renewal"
        );
        assert_eq!(keep.due(t0 + MINUTE), [(key.clone(), Due::Check)]);
        assert_eq!(keep.due(t0 + 30 * MINUTE), [(key.clone(), Due::Renew)]);
        assert!(
            keep.due(t0 + 30 * MINUTE - Duration::from_secs(1))
                .iter()
                .all(|(_, d)| *d == Due::Check)
        );
    }

    #[test]
    fn a_permanent_mapping_is_only_checked_and_a_clamped_one_renewed() {
        let t0 = Instant::now();
        let mut keep = KeepAlive::default();
        keep.keep_renewed(&enabled(new_mapping(5000, 0), 0), t0);
        // IGD:2 routers turn "permanent" into 7 days: that lease is renewed at half.
        keep.keep_renewed(&enabled(new_mapping(5001, 0), 604_800), t0);
        let week = Duration::from_secs(604_800);
        let due = keep.due(t0 + week);
        assert_eq!(due[0].1, Due::Check, "permanent: never renewed");
        assert_eq!(due[1].1, Due::Renew);
        assert_eq!(keep.len(), 2);
        assert!(keep.release(&new_mapping(5000, 0).key()).is_some());
        assert!(!keep.is_kept(&new_mapping(5000, 0).key()));
        assert_eq!(keep.len(), 1);
    }

    #[test]
    fn a_newly_marked_mapping_is_due_at_once_and_check_all_brings_checks_forward() {
        let t0 = Instant::now();
        let mut keep = KeepAlive::default();
        assert_eq!(keep.next_due(), None);
        keep.keep(new_mapping(5000, 3600), t0);
        assert_eq!(keep.due(t0), [(new_mapping(5000, 0).key(), Due::Renew)]);
        keep.keep_renewed(&enabled(new_mapping(5000, 3600), 3600), t0);
        assert_eq!(keep.len(), 1, "the same key replaces");
        let later = t0 + Duration::from_secs(5);
        assert!(keep.due(later).is_empty());
        keep.check_all(later);
        assert_eq!(keep.due(later), [(new_mapping(5000, 0).key(), Due::Check)]);
    }

    #[test]
    fn step_renews_recreates_after_a_reboot_and_retries_when_the_router_is_down() {
        let sim = SimulatedGateway::start(SimConfig::default()).unwrap();
        let forwarder = PortForwarder::connect(&sim.description_url(), &GatewayOptions::default()).unwrap();
        let made = forwarder
            .enable(&EnableRequest {
                external_port: Port::new(15000),
                internal_port: Port::new(15001),
                lease: Some(Lease::seconds(600).unwrap()),
                ..EnableRequest::default()
            })
            .unwrap();
        let t0 = Instant::now();
        let mut keep = KeepAlive::default();
        keep.keep_renewed(&made, t0);
        // Time is passed in: "five minutes later" costs nothing.
        let events = keep.step(&forwarder, t0 + Duration::from_secs(300));
        assert!(
            matches!(events.as_slice(), [KeepAliveEvent::Renewed { .. }]),
            "{events:?}"
        );

        // The router reboots and forgets its table; the next check re-creates the mapping.
        sim.restart(false);
        assert!(sim.mappings().is_empty());
        let t1 = t0 + Duration::from_secs(360);
        let events = keep.step(&forwarder, t1);
        assert!(
            matches!(events.as_slice(), [KeepAliveEvent::Recreated { .. }]),
            "{events:?}"
        );
        assert!(events[0].to_string().contains("created again"), "{}", events[0]);
        let back = sim.mappings();
        assert_eq!(back.len(), 1);
        assert_eq!((back[0].external_port, back[0].internal_port), (15000, 15001));

        // The router is down: the failure is reported and retried later, not at once.
        sim.kill();
        let t2 = t1 + Duration::from_secs(400);
        let events = keep.step(&forwarder, t2);
        assert!(
            matches!(events.as_slice(), [KeepAliveEvent::Failed { .. }]),
            "{events:?}"
        );
        assert!(keep.due(t2).is_empty());
        assert_eq!(keep.next_due(), Some(t2 + KeepAliveTimings::default().retry_after));
        // Failing again waits twice as long.
        let t3 = t2 + Duration::from_secs(10);
        let events = keep.step(&forwarder, t3);
        assert!(
            matches!(events.as_slice(), [KeepAliveEvent::Failed { retry_in, .. }] if retry_in.as_secs() == 20),
            "{events:?}"
        );
        sim.restart(true);
        let events = keep.step(&forwarder, t3 + Duration::from_secs(20));
        assert!(
            matches!(events.as_slice(), [KeepAliveEvent::Renewed { .. }]),
            "{events:?}"
        );
    }

    #[test]
    fn remove_created_leaves_ports_others_took() {
        let sim = SimulatedGateway::start(SimConfig::default()).unwrap();
        let forwarder = PortForwarder::connect(&sim.description_url(), &GatewayOptions::default()).unwrap();
        let request = |port: u16| EnableRequest {
            external_port: Port::new(port),
            internal_port: Port::new(port),
            ..EnableRequest::default()
        };
        let mine = forwarder.enable(&request(16000)).unwrap().request;
        let taken = forwarder.enable(&request(16001)).unwrap().request;
        let gone = forwarder.enable(&request(16002)).unwrap().request;
        forwarder.disable(Some(taken.external_port), None).unwrap();
        forwarder.disable(Some(gone.external_port), None).unwrap();
        forwarder
            .enable(&EnableRequest {
                internal_ip: Some(Ipv4Addr::new(192, 168, 1, 9)),
                ..request(16001)
            })
            .unwrap();
        let report = remove_created(&forwarder, &[mine, taken, gone]);
        assert_eq!(report.done.len(), 1);
        assert_eq!(report.done[0].external_port.get(), 16000);
        assert_eq!(report.failed.len(), 1);
        assert!(report.failed[0].1.contains("left alone"), "{}", report.failed[0].1);
        let left: Vec<u16> = sim.mappings().iter().map(|m| m.external_port).collect();
        assert_eq!(left, [16001]);
    }
}
