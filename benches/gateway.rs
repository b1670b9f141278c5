//! Gateway benchmark: PortForward against the reference tools on the same real gateway and
//! table, in the same run. Run by `tests/real-gateway/bench.sh` inside the client namespace
//! (it brings the gateway up); prints one JSON object per measurement on stdout.
//!
//! Nothing here fails on a time: it measures and reports medians and ratios.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use portforward::upnp::{Gateway, GatewayOptions};

struct Options {
    url: String,
    config: String,
    cli: String,
    /// The command-line-only build (`--no-default-features`), timed beside the full one.
    cli_only: Option<String>,
    igd: u8,
    sizes: Vec<usize>,
    reps: usize,
    disable_all: Vec<usize>,
    lan_ip: String,
}

fn options() -> Options {
    let mut o = Options {
        url: String::new(),
        config: String::new(),
        cli: String::new(),
        cli_only: None,
        igd: 2,
        sizes: vec![10, 100],
        reps: 5,
        disable_all: Vec::new(),
        lan_ip: "192.168.77.10".into(),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = || args.get(i + 1).cloned().unwrap_or_default();
        let list = |v: String| {
            v.split(',')
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().unwrap())
                .collect()
        };
        match args[i].as_str() {
            "--url" => o.url = value(),
            "--config" => o.config = value(),
            "--cli" => o.cli = value(),
            "--cli-only" => o.cli_only = Some(value()).filter(|v| !v.is_empty()),
            "--igd" => o.igd = value().parse().unwrap(),
            "--sizes" => o.sizes = list(value()),
            "--reps" => o.reps = value().parse().unwrap(),
            "--disable-all" => o.disable_all = list(value()),
            "--lan-ip" => o.lan_ip = value(),
            // cargo bench passes --bench; ignore anything else.
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    assert!(
        !o.url.is_empty() && !o.cli.is_empty(),
        "usage: gateway --url URL --cli PATH [...]"
    );
    o
}

/// A minimal SOAP client: one request per connection, nothing else. Used to fill tables and
/// as the "router's own time" floor (what no client can beat).
struct Raw {
    addr: String,
    path: String,
    service: String,
}

impl Raw {
    fn call(&self, action: &str, args: &[(&str, String)]) -> u16 {
        let mut body = format!(
            "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" \
             s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body><u:{action} xmlns:u=\"{}\">",
            self.service
        );
        for (k, v) in args {
            body.push_str(&format!("<{k}>{v}</{k}>"));
        }
        body.push_str(&format!("</u:{action}></s:Body></s:Envelope>"));
        let request = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: text/xml; charset=\"utf-8\"\r\nSOAPAction: \"{}#{action}\"\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.path,
            self.addr,
            self.service,
            body.len()
        );
        let mut stream = TcpStream::connect(&self.addr).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut reply = Vec::new();
        stream.read_to_end(&mut reply).unwrap();
        let status = String::from_utf8_lossy(&reply[..reply.len().min(12)]).to_string();
        status.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0)
    }

    fn add(&self, port: u16, ip: &str) {
        let status = self.call(
            "AddPortMapping",
            &[
                ("NewRemoteHost", String::new()),
                ("NewExternalPort", port.to_string()),
                ("NewProtocol", "TCP".into()),
                ("NewInternalPort", port.to_string()),
                ("NewInternalClient", ip.into()),
                ("NewEnabled", "1".into()),
                ("NewPortMappingDescription", format!("bench {port}")),
                ("NewLeaseDuration", "0".into()),
            ],
        );
        assert_eq!(status, 200, "AddPortMapping {port}");
    }

    fn delete(&self, port: u16) {
        self.call(
            "DeletePortMapping",
            &[
                ("NewRemoteHost", String::new()),
                ("NewExternalPort", port.to_string()),
                ("NewProtocol", "TCP".into()),
            ],
        );
    }

    fn list(&self) {
        let status = self.call(
            "GetListOfPortMappings",
            &[
                ("NewStartPort", "1".into()),
                ("NewEndPort", "65535".into()),
                ("NewProtocol", "TCP".into()),
                ("NewManage", "1".into()),
                ("NewNumberOfPorts", "1000".into()),
            ],
        );
        assert_eq!(status, 200);
    }
}

const FIRST_PORT: u16 = 20000;

fn time(mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

fn median(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1000.0
}

/// The median of `reps` runs of `program args`, in milliseconds.
fn median_run(reps: usize, program: &str, args: &[&str]) -> f64 {
    median((0..reps).map(|_| time(|| run_quiet(program, args))).collect())
}

fn run_quiet(program: &str, args: &[&str]) {
    let status = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(status.success(), "{program} {args:?} failed");
}

fn report(o: &Options, what: &str, n: usize, ours: f64, reference: &str, theirs: f64) {
    println!(
        "{}",
        serde_json::json!({
            "config": o.config, "what": what, "n": n, "ours_ms": ours,
            "reference": reference, "reference_ms": theirs, "ratio": ours / theirs,
        })
    );
}

fn main() {
    let o = options();
    let gateway = Gateway::connect(&o.url, &GatewayOptions::default()).expect("gateway");
    let control = url::Url::parse(&gateway.description().control_url).unwrap();
    let raw = Raw {
        addr: format!(
            "{}:{}",
            control.host_str().unwrap(),
            control.port_or_known_default().unwrap()
        ),
        path: control.path().to_owned(),
        service: gateway.description().service_type.clone(),
    };
    let clear = || {
        for m in gateway.list_all().expect("list").mappings {
            raw.delete(m.external_port.get());
        }
    };
    let fill = |n: usize| {
        clear();
        for i in 0..n {
            raw.add(FIRST_PORT + i as u16, &o.lan_ip);
        }
    };

    // Discovery to a usable gateway: our whole command (discovery, description, external IP)
    // against upnpc's.
    report(
        &o,
        "discovery (portforward ip vs upnpc -s)",
        0,
        median_run(o.reps, &o.cli, &["ip", "--timeout", "3"]),
        "upnpc -s",
        median_run(o.reps, "upnpc", &["-s"]),
    );

    for &n in &o.sizes {
        fill(n);
        let listed = gateway.list_all().unwrap().mappings.len();
        assert_eq!(listed, n, "the table holds what was filled");
        let list_with = |cli: &str| median_run(o.reps, cli, &["--gateway", &o.url, "list", "--json"]);
        let ours = list_with(&o.cli);
        let ours_cli_only = o.cli_only.as_deref().map(list_with);
        let upnpc = |flag: &str| median_run(o.reps, "upnpc", &["-u", &o.url, flag]);
        let l = upnpc("-l");
        // The references ours is set against; -L (GetListOfPortMappings) is IGD:2 only.
        let mut references = vec![("upnpc -l", l)];
        if o.igd == 2 {
            let big_l = upnpc("-L");
            references.push(("upnpc -L", big_l));
            references.push(("faster of upnpc -l/-L", l.min(big_l)));
        }
        for &(reference, theirs) in &references {
            report(&o, "list", n, ours, reference, theirs);
        }
        if let Some(lean) = ours_cli_only {
            for &(reference, theirs) in references.iter().filter(|(r, _)| *r != "upnpc -L") {
                report(&o, "list, CLI-only build", n, lean, reference, theirs);
            }
        }
    }

    for &n in &o.disable_all {
        let reps = o.reps.min(3);
        let ports: Vec<String> = (0..n).map(|i| (FIRST_PORT + i as u16).to_string()).collect();
        let mut ours = Vec::new();
        let mut shell = Vec::new();
        let mut floor = Vec::new();
        for _ in 0..reps {
            fill(n);
            ours.push(time(|| {
                run_quiet(&o.cli, &["--gateway", &o.url, "disable-all", "--all", "--yes"])
            }));
            assert_eq!(gateway.list_all().unwrap().mappings.len(), 0);
            fill(n);
            let script = format!("for p in {}; do upnpc -u '{}' -d $p TCP; done", ports.join(" "), o.url);
            shell.push(time(|| run_quiet("sh", &["-c", &script])));
            fill(n);
            floor.push(time(|| {
                raw.list();
                for i in 0..n {
                    raw.delete(FIRST_PORT + i as u16);
                }
            }));
        }
        let ours = median(ours);
        report(&o, "disable-all", n, ours, "upnpc -d shell loop", median(shell));
        report(
            &o,
            "disable-all",
            n,
            ours,
            "router's own time (list + deletes, minimal client)",
            median(floor),
        );
    }
    clear();
}
