//! An SSDP answer datagram, as any device on the LAN may send to our M-SEARCH.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|datagram: &[u8]| {
    // The socket reads at most 2048 bytes; longer inputs are still fine to try.
    portforward::fuzzing::ssdp_answer(datagram);
});
