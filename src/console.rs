//! Windows: a GUI-subsystem program has no console of its own. Started from a terminal (cmd,
//! PowerShell, Windows Terminal), it attaches to the terminal's console so that `--help`, `list`
//! and every other command print there; started from Explorer it has none and opens none.
//!
//! Standard handles the parent already gave (a pipe or a file: `portforward list > out.txt`,
//! scripts, CI) are kept as they are; only missing ones are pointed at the console.

use std::ffi::c_void;

type Handle = *mut c_void;

const ATTACH_PARENT_PROCESS: u32 = u32::MAX;
const STD_INPUT_HANDLE: u32 = -10i32 as u32;
const STD_OUTPUT_HANDLE: u32 = -11i32 as u32;
const STD_ERROR_HANDLE: u32 = -12i32 as u32;
const GENERIC_READ: u32 = 0x8000_0000;
const GENERIC_WRITE: u32 = 0x4000_0000;
const FILE_SHARE_READ: u32 = 1;
const FILE_SHARE_WRITE: u32 = 2;
const OPEN_EXISTING: u32 = 3;
const INVALID_HANDLE_VALUE: Handle = -1isize as Handle;

#[link(name = "kernel32")]
unsafe extern "system" {
    fn AttachConsole(process_id: u32) -> i32;
    fn GetStdHandle(which: u32) -> Handle;
    fn SetStdHandle(which: u32, handle: Handle) -> i32;
    fn CreateFileW(
        name: *const u16,
        access: u32,
        share: u32,
        security: *mut c_void,
        disposition: u32,
        flags: u32,
        template: Handle,
    ) -> Handle;
}

/// Attaches to the parent's console, if it has one, and fills in the standard handles that are
/// missing. Does nothing when started without a console (from Explorer) or when every handle is
/// already set.
pub fn attach_to_parent() {
    let missing = |which| {
        // SAFETY: GetStdHandle has no preconditions.
        let handle = unsafe { GetStdHandle(which) };
        handle.is_null() || handle == INVALID_HANDLE_VALUE
    };
    let wanted: Vec<u32> = [STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE]
        .into_iter()
        .filter(|&which| missing(which))
        .collect();
    if wanted.is_empty() {
        return;
    }
    // SAFETY: plain call; fails harmlessly when the parent has no console.
    if unsafe { AttachConsole(ATTACH_PARENT_PROCESS) } == 0 {
        return;
    }
    for which in wanted {
        if !missing(which) {
            continue; // AttachConsole set it.
        }
        let name = if which == STD_INPUT_HANDLE { "CONIN$" } else { "CONOUT$" };
        let wide: Vec<u16> = name.encode_utf16().chain(std::iter::once(0)).collect();
        // SAFETY: `wide` is a NUL-terminated UTF-16 string that outlives the call; the other
        // pointers may be null.
        let handle = unsafe {
            CreateFileW(
                wide.as_ptr(),
                GENERIC_READ | GENERIC_WRITE,
                FILE_SHARE_READ | FILE_SHARE_WRITE,
                std::ptr::null_mut(),
                OPEN_EXISTING,
                0,
                std::ptr::null_mut(),
            )
        };
        if handle != INVALID_HANDLE_VALUE {
            // SAFETY: a handle we own, handed to the process for its lifetime.
            unsafe { SetStdHandle(which, handle) };
        }
    }
}

/// Whether this process has somewhere to print errors: a console (its own or the terminal's it
/// attached to) or a standard error handle the parent gave (a pipe, a file). Started from
/// Explorer it has neither, and an error printed would be seen by nobody.
pub fn has_stderr() -> bool {
    // SAFETY: GetStdHandle has no preconditions.
    let handle = unsafe { GetStdHandle(STD_ERROR_HANDLE) };
    !handle.is_null() && handle != INVALID_HANDLE_VALUE
}
