//! Issue 15, "set and forget", against the simulated gateway on 127.0.0.1: the port defaults a
//! user expects (library and command line), the login-time registration written under a
//! temporary home, and `keep --preset` on its own.

use std::net::Ipv4Addr;

use portforward::simulator::{SimConfig, SimulatedGateway};
use portforward::upnp::GatewayOptions;
use portforward::{EnableRequest, Port, PortForwarder, Protocol};

fn port(p: u16) -> Port {
    Port::new(p).unwrap()
}

fn igd(version: u8) -> SimulatedGateway {
    SimulatedGateway::start(SimConfig {
        igd_version: version,
        ..SimConfig::default()
    })
    .expect("the simulator starts")
}

fn forwarder(sim: &SimulatedGateway) -> PortForwarder {
    PortForwarder::connect(&sim.description_url(), &GatewayOptions::default()).expect("connect")
}

#[test]
fn an_external_port_alone_is_forwarded_to_the_same_internal_port() {
    for version in [1, 2] {
        let sim = igd(version);
        let f = forwarder(&sim);
        for internal_ip in [None, Some(Ipv4Addr::new(192, 168, 1, 20))] {
            let request = EnableRequest {
                external_port: Some(port(25565)),
                internal_ip,
                protocol: Protocol::Udp,
                ..EnableRequest::default()
            };
            let enabled = f.enable(&request).unwrap();
            assert_eq!(
                enabled.request.internal_port,
                port(25565),
                "IGD:{version} {internal_ip:?}"
            );
            assert_eq!(enabled.mapping.internal_port, port(25565), "as the router lists it");
            assert_eq!(
                request.explain(&enabled).as_deref(),
                Some("internal port 25565: the same as the external port")
            );
            f.disable(None, None).unwrap();
        }
    }
}

#[test]
fn with_no_port_one_free_port_serves_both_sides() {
    for version in [1, 2] {
        let sim = igd(version);
        let f = forwarder(&sim);
        let request = EnableRequest::default();
        let enabled = f.enable(&request).unwrap();
        let chosen = enabled.request.external_port;
        assert_eq!(enabled.request.internal_port, chosen, "IGD:{version}");
        assert_eq!(sim.mappings()[0].internal_port, chosen.get());
        assert_eq!(
            request.explain(&enabled),
            Some(format!(
                "port {chosen} for both sides: free on the router and behind it"
            ))
        );
        // An internal port alone is used outside too, when the router has it free.
        let request = EnableRequest {
            internal_port: Some(port(40123)),
            ..EnableRequest::default()
        };
        let enabled = f.enable(&request).unwrap();
        assert_eq!(enabled.request.external_port, port(40123), "IGD:{version}");
        assert_eq!(
            request.explain(&enabled).as_deref(),
            Some("external port 40123: the same as the internal port")
        );
        let both = EnableRequest {
            external_port: Some(port(40200)),
            internal_port: Some(port(40201)),
            ..EnableRequest::default()
        };
        assert_eq!(both.explain(&f.enable(&both).unwrap()), None, "nothing was chosen");
    }
}
