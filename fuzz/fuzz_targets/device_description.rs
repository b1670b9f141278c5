//! A device description (rootDesc.xml) or a service description (SCPD): both are fetched
//! from the address an SSDP answer named, so both parsers get every input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    portforward::fuzzing::device_description(body);
    portforward::fuzzing::scpd(body);
});
