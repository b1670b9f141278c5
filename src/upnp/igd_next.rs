//! The igd-next adapter: the one place igd-next is used. It performs the write actions it
//! implements well (AddPortMapping, AddAnyPortMapping) on our [`Gateway`]; its errors come back
//! as [`UpnpError`]s with the UPnP number kept.

use std::collections::HashMap;
use std::net::{SocketAddr, SocketAddrV4};
use std::time::Duration;

use url::Url;

use super::Gateway;
use super::error::{HttpFailure, UpnpError};
use super::http::io_failure;
use crate::model::{NewMapping, Port, Protocol};

/// igd-next's fixed request deadline.
const IGD_NEXT_TIMEOUT: Duration = Duration::from_secs(10);

impl Gateway {
    /// igd-next's view of this gateway, for the actions it performs.
    fn igd(&self) -> &igd_next::Gateway {
        self.igd.get_or_init(|| igd_next::Gateway {
            addr: self.addr,
            root_url: Url::parse(&self.description_url)
                .map(|u| u.path().to_owned())
                .unwrap_or_default(),
            control_url: self.description.control_url.clone(),
            control_schema_url: self.description.scpd_url.clone(),
            control_schema: self
                .actions()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<HashMap<_, _>>(),
            service_type: self.description.service_type.clone(),
        })
    }

    /// AddPortMapping (through igd-next). Re-adding the same mapping renews it on most routers.
    pub fn add_port_mapping(&self, mapping: &NewMapping) -> Result<(), UpnpError> {
        use igd_next::AddPortError as E;
        let local = SocketAddr::V4(SocketAddrV4::new(mapping.internal_ip, mapping.internal_port.get()));
        let result = self.igd().add_port(
            igd_protocol(mapping.protocol),
            mapping.external_port.get(),
            local,
            mapping.lease.as_secs(),
            mapping.description.as_str(),
        );
        const ACTION: &str = "AddPortMapping";
        result.map_err(|err| {
            match err {
                E::ActionNotAuthorized => upnp(ACTION, 606),
                E::PortInUse => upnp(ACTION, 718),
                E::SamePortValuesRequired => upnp(ACTION, 724),
                E::OnlyPermanentLeasesSupported => upnp(ACTION, 725),
                E::DescriptionTooLong => upnp(ACTION, 605),
                E::InternalPortZeroInvalid | E::ExternalPortZeroInvalid => upnp(ACTION, 402),
                E::RequestError(e) => from_igd(ACTION, &self.description.control_url, e),
            }
            .for_key(&mapping.key())
        })
    }

    /// AddAnyPortMapping (IGD:2, through igd-next): the router picks a free external port
    /// (our `external_port` is a suggestion). Returns the port it picked.
    pub fn add_any_port_mapping(&self, mapping: &NewMapping) -> Result<Port, UpnpError> {
        use igd_next::AddAnyPortError as E;
        const ACTION: &str = "AddAnyPortMapping";
        if !self.supports(ACTION) {
            return Err(UpnpError::Unsupported { action: ACTION });
        }
        let local = SocketAddr::V4(SocketAddrV4::new(mapping.internal_ip, mapping.internal_port.get()));
        let port = self
            .igd()
            .add_any_port(
                igd_protocol(mapping.protocol),
                local,
                mapping.lease.as_secs(),
                mapping.description.as_str(),
            )
            .map_err(|err| match err {
                E::ActionNotAuthorized => upnp(ACTION, 606),
                E::NoPortsAvailable => upnp(ACTION, 728),
                E::ExternalPortInUse => upnp(ACTION, 718),
                E::OnlyPermanentLeasesSupported => upnp(ACTION, 725),
                E::DescriptionTooLong => upnp(ACTION, 605),
                E::InternalPortZeroInvalid => upnp(ACTION, 402),
                E::RequestError(e) => from_igd(ACTION, &self.description.control_url, e),
            })?;
        Port::new(port).ok_or_else(|| UpnpError::Malformed {
            action: ACTION.to_owned(),
            reason: "the router reserved port 0".to_owned(),
        })
    }
}

fn igd_protocol(protocol: Protocol) -> igd_next::PortMappingProtocol {
    match protocol {
        Protocol::Tcp => igd_next::PortMappingProtocol::TCP,
        Protocol::Udp => igd_next::PortMappingProtocol::UDP,
    }
}

fn upnp(action: &'static str, number: u16) -> UpnpError {
    UpnpError::refused(action, number)
}

/// Converts igd-next's request errors, keeping the UPnP number and the kind of failure.
fn from_igd(action: &'static str, url: &str, err: igd_next::RequestError) -> UpnpError {
    use igd_next::RequestError as R;
    let unreachable = |failure| UpnpError::Unreachable {
        url: url.to_owned(),
        failure,
    };
    match err {
        R::ErrorCode(number, _) => upnp(action, number),
        R::UnsupportedAction(_) => UpnpError::Unsupported { action },
        R::InvalidResponse(text) => UpnpError::Malformed {
            action: action.to_owned(),
            reason: format!("unexpected reply ({} bytes)", text.len()),
        },
        R::IoError(io) => unreachable(io_failure(&io, IGD_NEXT_TIMEOUT)),
        other => {
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&other);
            while let Some(err) = source {
                if let Some(io) = err.downcast_ref::<std::io::Error>() {
                    return unreachable(io_failure(io, IGD_NEXT_TIMEOUT));
                }
                source = err.source();
            }
            unreachable(HttpFailure::Refused(other.to_string()))
        }
    }
}
