//! A bounded fan-out for blocking gateway requests.
//!
//! A router answers one request at a time, but while it works on one, the next can be on
//! the wire and the last one's reply being parsed: a few requests in flight hide the
//! round trips (the entry walk and bulk deletes get about a third faster on miniupnpd).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Requests in flight at once. Measured on miniupnpd, listing 100 entries by the walk:
/// 1 in flight 22.5 ms, 2: 15.3 ms, 4: 17.9 ms, 8: 2.8 s (its listen backlog overflows and
/// connections wait for SYN retransmits). Two hide the round trip and stay polite.
pub(crate) const IN_FLIGHT: usize = 2;

/// Applies `work` to every item with up to `workers` threads, taking items in order. Once a
/// result satisfies `stop`, no further item is started (those in flight finish). Returns
/// each item's result by position; `None` for items never started. Every item before the
/// first stopping one has a result.
pub(crate) fn map_until<T: Sync, R: Send>(
    items: &[T],
    workers: usize,
    stop: impl Fn(&R) -> bool + Sync,
    work: impl Fn(&T) -> R + Sync,
) -> Vec<Option<R>> {
    let next = AtomicUsize::new(0);
    let stopped = AtomicBool::new(false);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    let worker = || {
        while !stopped.load(Ordering::Acquire) {
            let i = next.fetch_add(1, Ordering::AcqRel);
            let Some(item) = items.get(i) else { break };
            let result = work(item);
            if stop(&result) {
                stopped.store(true, Ordering::Release);
            }
            results.lock().expect("no panics while holding it")[i] = Some(result);
        }
    };
    std::thread::scope(|scope| {
        // The calling thread is one of the workers: it starts at once, and one item needs
        // no thread at all.
        for _ in 1..workers.clamp(1, items.len().max(1)) {
            scope.spawn(worker);
        }
        worker();
    });
    results.into_inner().expect("no panics while holding it")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_their_positions() {
        let items: Vec<u32> = (0..100).collect();
        let out = map_until(&items, 4, |_| false, |x| x * 2);
        assert_eq!(out, items.iter().map(|x| Some(x * 2)).collect::<Vec<_>>());
    }

    #[test]
    fn nothing_starts_after_a_stop_and_everything_before_it_is_done() {
        let items: Vec<u32> = (0..1000).collect();
        let out = map_until(&items, 4, |r: &u32| *r == 10, |x| *x);
        assert!(out[..=10].iter().all(Option::is_some));
        // At most the items already taken by the other workers ran after the stop.
        assert!(out.iter().filter(|r| r.is_some()).count() <= 10 + 1 + 4);
    }

    #[test]
    fn no_items_no_threads() {
        let out: Vec<Option<u8>> = map_until(&[] as &[u8], 4, |_| true, |x| *x);
        assert!(out.is_empty());
    }
}
