//! What a refusal means on routers we can recognise from their description: the setting to
//! change, by name, where a vendor is known to refuse port mappings until the user allows them.

use crate::upnp::{DeviceDescription, UpnpCode};

/// The router setting that most likely caused `code`, for the router `description` names;
/// `None` when we know nothing more than the code's own advice.
///
/// ```
/// # use portforward::upnp::UpnpCode;
/// assert!(portforward::services::refusal_setting("AVM Berlin", "FRITZ!Box 7590", UpnpCode::NotAuthorized)
///     .unwrap()
///     .contains("Permit independent port sharing"));
/// ```
pub fn refusal_setting(manufacturer: &str, model: &str, code: UpnpCode) -> Option<&'static str> {
    let maker = manufacturer.to_ascii_lowercase();
    let model = model.to_ascii_lowercase();
    let refused = matches!(code, UpnpCode::NotAuthorized | UpnpCode::InvalidAction);
    if refused && (maker.starts_with("avm") || model.contains("fritz!box")) {
        // FRITZ!OS answers 606 (older versions 401) while UPnP changes are not allowed.
        return Some(
            "on a FRITZ!Box, allow it: Internet > Permit Access > this computer > \"Permit independent port sharing for this device\" (FRITZ!OS 7), or Home Network > Network > Network Settings > \"Allow changes to security settings over UPnP\" (older FRITZ!OS)",
        );
    }
    if refused && (maker.contains("technicolor") || maker.contains("thomson")) {
        return Some("on a Technicolor gateway, turn on UPnP with \"Allow UPnP changes\" (Advanced > Network > UPnP)");
    }
    if refused && (maker.contains("sagem") || model.contains("livebox")) {
        return Some("on a Sagemcom or Livebox gateway, turn UPnP on in its Network > NAT/PAT settings");
    }
    None
}

/// [`refusal_setting`] for the router described by `description`.
pub fn refusal_setting_for(description: &DeviceDescription, code: UpnpCode) -> Option<&'static str> {
    refusal_setting(&description.manufacturer, &description.model_name, code)
}
