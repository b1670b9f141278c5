//! What the platform under the tests can and cannot do, so that a test that cannot work somewhere
//! says why and skips there (explicitly, by these conditions) instead of failing or being deleted.

use std::net::{Ipv4Addr, UdpSocket};

/// True when this Windows build runs under Wine rather than Windows (CI runs the Windows build
/// under Wine). Wine's `ntdll.dll` exports `wine_get_version`; Windows' does not. Always false
/// on other systems.
pub fn running_under_wine() -> bool {
    #[cfg(windows)]
    {
        wine::detected()
    }
    #[cfg(not(windows))]
    {
        false
    }
}

/// Why a [`SimulatedPortControl`](super::SimulatedPortControl) cannot serve on `ip` here, or
/// `None` when it can. NAT-PMP's port 5351 is fixed, so parallel tests give each server its own
/// loopback address (127.0.53.x); on macOS only 127.0.0.1 exists unless aliased
/// (`sudo ifconfig lo0 alias 127.0.53.1 up`), and Wine binds a UDP socket on a local address to
/// 0.0.0.0 on that interface (its emulation of Windows' broadcast reception), so replies leave
/// from 127.0.0.1 and two servers on port 5351 collide.
pub fn port_control_unavailable(ip: Ipv4Addr) -> Option<String> {
    if running_under_wine() {
        return Some(format!(
            "under Wine a UDP socket bound to {ip} is bound to 0.0.0.0, so a NAT-PMP/PCP server there \
             answers from the wrong address (Windows itself has no such limit)"
        ));
    }
    loopback_address_missing(ip)
}

/// Why a [`SimulatedPortControl`](super::SimulatedPortControl) cannot serve PCP over IPv6 on
/// `[::1]:5351` here, or `None` when it can (no IPv6 loopback, or the port taken). Unlike
/// the IPv4 server's extra loopback addresses, `::1` works under Wine too: it is the only one.
pub fn pcp6_unavailable() -> Option<String> {
    match UdpSocket::bind((std::net::Ipv6Addr::LOCALHOST, 5351)) {
        Ok(_) => None,
        Err(error) => Some(format!("cannot serve PCP on [::1]:5351 here: {error}")),
    }
}

/// Why `ip` (an extra loopback address such as 127.0.53.1) cannot be used here, or `None`
/// when it can: macOS has only 127.0.0.1 unless aliased; Linux and Windows route all of 127/8.
pub fn loopback_address_missing(ip: Ipv4Addr) -> Option<String> {
    match UdpSocket::bind((ip, 0)) {
        Ok(_) => None,
        Err(error) if error.kind() == std::io::ErrorKind::AddrNotAvailable => Some(format!(
            "{ip} is not a loopback address on this system (on macOS: sudo ifconfig lo0 alias {ip} up)"
        )),
        // Any other failure is the test's to report.
        Err(_) => None,
    }
}

#[cfg(windows)]
mod wine {
    use std::ffi::c_void;

    #[link(name = "kernel32")]
    unsafe extern "system" {
        fn GetModuleHandleW(name: *const u16) -> *mut c_void;
        fn GetProcAddress(module: *mut c_void, name: *const u8) -> *mut c_void;
    }

    pub(super) fn detected() -> bool {
        let ntdll: Vec<u16> = "ntdll.dll".encode_utf16().chain(Some(0)).collect();
        // SAFETY: NUL-terminated strings that outlive the calls; ntdll is loaded in every process.
        unsafe {
            let module = GetModuleHandleW(ntdll.as_ptr());
            !module.is_null() && !GetProcAddress(module, c"wine_get_version".as_ptr().cast()).is_null()
        }
    }
}
