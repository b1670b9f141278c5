//! One parameterised test over every hostile- and quirky-gateway scenario in
//! `tests/scenarios/*.toml`: the library returns a typed error or a correct result, within a
//! bounded time (a hang is a failure, reported by name), and never panics.

#[path = "support/scenario.rs"]
mod scenario;

use std::sync::mpsc;
use std::time::Duration;

use portforward::upnp::{DiscoveryOptions, Gateway, GatewayOptions, MappingTable};
use portforward::{Error, PortForwarder, UpnpError};
use scenario::Scenario;

/// Longer than any scenario's own deadlines: reaching it means something hung.
const HANG: Duration = Duration::from_secs(20);

/// What an action produced, in a form the expectations can check.
#[derive(Debug)]
enum Outcome {
    Connected { igd_version: String, service: String },
    Table { table: MappingTable, service: String },
    Done,
}

fn kind(err: &Error) -> &'static str {
    match err {
        Error::Upnp(UpnpError::NotFound { .. }) => "NotFound",
        Error::Upnp(UpnpError::Unreachable { .. }) => "Unreachable",
        Error::Upnp(UpnpError::Malformed { .. }) => "Malformed",
        Error::Upnp(UpnpError::Refused { .. }) => "Upnp",
        Error::Upnp(UpnpError::Unsupported { .. }) => "Unsupported",
        Error::Upnp(UpnpError::ListDidNotEnd { .. }) => "ListDidNotEnd",
        _ => "Other",
    }
}

fn act(s: &Scenario, url: String, ssdp: std::net::SocketAddr) -> Result<Outcome, Error> {
    let options = GatewayOptions {
        request_timeout: s.request_timeout(),
    };
    if s.run.action == "discover" {
        let gateway = portforward::upnp::discover(&DiscoveryOptions {
            timeout: s.discovery_timeout(),
            search_addr: ssdp,
            bind: std::net::Ipv4Addr::LOCALHOST,
            gateway: options,
        })?;
        let d = gateway.description();
        return Ok(Outcome::Connected {
            igd_version: d.igd_version.to_string(),
            service: d.service_type.clone(),
        });
    }
    let gateway = Gateway::connect(&url, &options)?;
    let d = gateway.description();
    let service = d.service_type.clone();
    let connected = Outcome::Connected {
        igd_version: d.igd_version.to_string(),
        service: service.clone(),
    };
    let forwarder = PortForwarder::new(gateway)?;
    match s.run.action.as_str() {
        "connect" => Ok(connected),
        "list" => forwarder
            .get_all_mappings()
            .map(|table| Outcome::Table { table, service }),
        "external_ip" => forwarder.external_ip().map(|_| Outcome::Done),
        "status" => forwarder.status().map(|_| Outcome::Done),
        other => panic!("unknown action {other}"),
    }
}

/// Checks one scenario; `Err` says what went wrong.
fn check(s: &Scenario) -> Result<(), String> {
    let sim = s.start_gateway();
    let (url, ssdp) = (sim.description_url(), sim.ssdp_addr());
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let _ = tx.send(act(s, url, ssdp));
        });
        let result = match rx.recv_timeout(HANG) {
            Ok(result) => result,
            Err(_) => {
                // Unblock the stuck request so the scope can end, then report the hang.
                sim.kill();
                return Err(format!("no result within {HANG:?}: the client hung"));
            }
        };
        let e = &s.expect;
        match (&result, &e.error) {
            (Err(err), Some(want)) => {
                if kind(err) != want {
                    return Err(format!("expected a {want} error, got {err:?}"));
                }
                if let Some(text) = &e.message
                    && !err.to_string().contains(text.as_str())
                {
                    return Err(format!("the message {:?} does not say {text:?}", err.to_string()));
                }
                Ok(())
            }
            (Err(err), None) => Err(format!("expected success, got: {err}")),
            (Ok(outcome), Some(want)) => Err(format!("expected a {want} error, got {outcome:?}")),
            (Ok(outcome), None) => check_outcome(outcome, e),
        }
    })
}

fn check_outcome(outcome: &Outcome, e: &scenario::Expect) -> Result<(), String> {
    match outcome {
        Outcome::Connected { igd_version, service } => {
            if e.igd_version.as_ref().is_some_and(|v| v != igd_version) {
                return Err(format!("IGD version {igd_version}, expected {:?}", e.igd_version));
            }
            if e.service.as_ref().is_some_and(|v| v != service) {
                return Err(format!("service {service}, expected {:?}", e.service));
            }
        }
        Outcome::Table { table, service } => {
            if let Some(n) = e.mappings
                && table.mappings.len() != n
            {
                return Err(format!("{} mappings listed, expected {n}", table.mappings.len()));
            }
            if let Some(method) = &e.method
                && format!("{:?}", table.method) != format!("Some({method})")
            {
                return Err(format!("listed by {:?}, expected {method}", table.method));
            }
            if let Some(w) = &e.warning
                && !table.warnings.iter().any(|x| x.contains(w.as_str()))
            {
                return Err(format!("no warning says {w:?}: {:?}", table.warnings));
            }
            if e.no_warnings && !table.warnings.is_empty() {
                return Err(format!("unexpected warnings {:?}", table.warnings));
            }
            if let Some(want) = &e.descriptions {
                let mut rows = table.mappings.clone();
                rows.sort_by_key(|m| m.external_port);
                let got: Vec<&str> = rows.iter().map(|m| m.description.as_str()).collect();
                if got != want.iter().map(String::as_str).collect::<Vec<_>>() {
                    return Err(format!("descriptions {got:?}, expected {want:?}"));
                }
            }
            if e.service.as_ref().is_some_and(|v| v != service) {
                return Err(format!("service {service}, expected {:?}", e.service));
            }
        }
        Outcome::Done => {}
    }
    Ok(())
}

#[test]
fn every_scenario_ends_in_a_typed_error_or_a_correct_result() {
    let scenarios = Scenario::all();
    assert!(scenarios.len() >= 20, "only {} scenarios found", scenarios.len());
    let failures: Vec<String> = scenarios
        .iter()
        .filter_map(|s| check(s).err().map(|why| format!("{} ({}): {why}", s.name, s.about)))
        .collect();
    assert!(
        failures.is_empty(),
        "{} scenario(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
