//! The PortMappingList document of a GetListOfPortMappings reply (the unescaped
//! NewPortListing value).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|listing: &[u8]| {
    portforward::fuzzing::port_listing(listing);
});
