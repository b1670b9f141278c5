//! A SOAP reply body, read as a success (HTTP 200) and as a fault (HTTP 500); a
//! GetListOfPortMappings reply's listing is parsed too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    portforward::fuzzing::soap_reply(200, body);
    portforward::fuzzing::soap_reply(500, body);
});
