//! Embeds the icon and the version information in the Windows exe (Explorer, the taskbar and the
//! file's Properties show them). Other targets: nothing to do.

fn main() {
    println!("cargo:rerun-if-changed=assets/icon.ico");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("windows") {
        return;
    }
    let mut resource = winresource::WindowsResource::new();
    resource
        .set_icon("assets/icon.ico")
        .set("FileDescription", "PortForward: your router's port forwards")
        .set("ProductName", "PortForward")
        .set("LegalCopyright", "MIT License");
    if let Err(error) = resource.compile() {
        // A Windows build without its icon is a broken release: fail loudly.
        panic!("cannot embed the Windows resources (is mingw's windres installed?): {error}");
    }
}
