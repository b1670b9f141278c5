//! Forwards kept at login: registers, for the current user and without root, a job that runs
//! `portforward keep --preset NAME` (no window) each time the user logs in.
//!
//! One format per platform, all written as plain files under a home directory that the
//! caller names (tests point it at a temporary directory; [`AutostartHome::for_current_user`]
//! is the real one, or `$PORTFORWARD_HOME` when set):
//!
//! | format | file |
//! |---|---|
//! | [`AutostartFormat::SystemdUser`] | `~/.config/systemd/user/portforward-keep-….service`, enabled by a link in `default.target.wants/` (what `systemctl --user enable` makes) |
//! | [`AutostartFormat::XdgAutostart`] | `~/.config/autostart/portforward-keep-….desktop` (desktop sessions without systemd) |
//! | [`AutostartFormat::LaunchAgent`] | `~/Library/LaunchAgents/net.portforward.keep.….plist` (macOS) |
//! | [`AutostartFormat::WindowsRun`] | `%APPDATA%\portforward\autostart\portforward-keep-….reg`: the per-user `Run` value, for `reg import` |
//!
//! Building a file's contents ([`entry_contents`]) is pure; [`AutostartHome`] writes, removes
//! and lists them. Each file carries the preset's name on a marker line, so that
//! [`AutostartHome::status`] can name the preset whatever the file is called.
//!
//! ```
//! use portforward::services::autostart::{AutostartFormat, AutostartHome, KeepJob};
//! let home = std::env::temp_dir().join(format!("pfw-doc-autostart-{}", std::process::id()));
//! let home = AutostartHome::new(&home);
//! let job = KeepJob::new("/usr/bin/portforward", "minecraft");
//! let registration = home.enable(AutostartFormat::SystemdUser, &job)?;
//! assert!(registration.path.ends_with(".config/systemd/user/portforward-keep-minecraft.service"));
//! assert_eq!(home.status()?.len(), 1);
//! home.disable("minecraft")?;
//! assert!(home.status()?.is_empty());
//! # std::fs::remove_dir_all(home.home()).ok();
//! # Ok::<(), portforward::FileError>(())
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use crate::{FileError, InputError};

/// The environment variable that, when set, replaces the user's home directory for
/// registrations (tests, or a portable install).
pub const HOME_VARIABLE: &str = "PORTFORWARD_HOME";

/// The first line of every file this module writes, after the format's comment sign: the
/// preset's name as a JSON string.
const MARKER: &str = "portforward-keep-preset: ";

/// The registry key of the per-user `Run` values on Windows.
pub const WINDOWS_RUN_KEY: &str = r"HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Run";

/// How a login-time job is registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AutostartFormat {
    /// A systemd user unit, wanted by `default.target` (Linux with systemd; also runs without a
    /// desktop session, e.g. with `loginctl enable-linger`).
    SystemdUser,
    /// An XDG autostart entry, started by the desktop session (Linux/BSD desktops).
    XdgAutostart,
    /// A launchd LaunchAgent (macOS).
    LaunchAgent,
    /// A value under the per-user `Run` key (Windows), as a `.reg` file.
    WindowsRun,
}

impl AutostartFormat {
    /// Every format.
    pub const ALL: [AutostartFormat; 4] = [
        AutostartFormat::SystemdUser,
        AutostartFormat::XdgAutostart,
        AutostartFormat::LaunchAgent,
        AutostartFormat::WindowsRun,
    ];

    /// The format for this system: a LaunchAgent on macOS, a `Run` value on Windows, and on
    /// other systems a systemd user unit where systemd runs (`/run/systemd/system` exists),
    /// else an XDG autostart entry.
    pub fn for_this_system() -> AutostartFormat {
        if cfg!(target_os = "macos") {
            AutostartFormat::LaunchAgent
        } else if cfg!(windows) {
            AutostartFormat::WindowsRun
        } else if Path::new("/run/systemd/system").is_dir() {
            AutostartFormat::SystemdUser
        } else {
            AutostartFormat::XdgAutostart
        }
    }

    /// The name used on the command line: `systemd`, `xdg`, `launchd`, `windows-run`.
    pub fn name(self) -> &'static str {
        match self {
            AutostartFormat::SystemdUser => "systemd",
            AutostartFormat::XdgAutostart => "xdg",
            AutostartFormat::LaunchAgent => "launchd",
            AutostartFormat::WindowsRun => "windows-run",
        }
    }

    /// Parses a [`AutostartFormat::name`].
    pub fn parse(text: &str) -> Result<AutostartFormat, InputError> {
        AutostartFormat::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| InputError::new("autostart format", text, "choose systemd, xdg, launchd or windows-run"))
    }

    /// The comment sign that starts the marker line in this format's file.
    fn comment(self) -> &'static str {
        match self {
            AutostartFormat::SystemdUser | AutostartFormat::XdgAutostart => "# ",
            AutostartFormat::LaunchAgent => "<!-- ",
            AutostartFormat::WindowsRun => "; ",
        }
    }
}

impl fmt::Display for AutostartFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AutostartFormat::SystemdUser => "systemd user unit",
            AutostartFormat::XdgAutostart => "XDG autostart entry",
            AutostartFormat::LaunchAgent => "LaunchAgent",
            AutostartFormat::WindowsRun => "Run entry",
        })
    }
}

/// The job to run at login: `PROGRAM keep --preset NAME`, with the directories the user chose
/// (so that the job finds the same presets and writes where the window reads).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeepJob {
    /// The `portforward` executable (an absolute path).
    pub program: PathBuf,
    /// The preset to keep.
    pub preset: String,
    /// `--config-dir`, when not the platform's default.
    pub config_dir: Option<PathBuf>,
    /// `--data-dir`, when not the platform's default.
    pub data_dir: Option<PathBuf>,
    /// `--gateway`, when the router is named rather than discovered.
    pub gateway: Option<String>,
}

impl KeepJob {
    /// The job for `preset`, run by `program`, with the default directories and discovery.
    pub fn new(program: impl Into<PathBuf>, preset: &str) -> KeepJob {
        KeepJob {
            program: program.into(),
            preset: preset.to_owned(),
            config_dir: None,
            data_dir: None,
            gateway: None,
        }
    }

    /// The arguments after the program: global flags, then `keep --preset NAME`.
    pub fn arguments(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(dir) = &self.config_dir {
            args.extend(["--config-dir".to_owned(), dir.display().to_string()]);
        }
        if let Some(dir) = &self.data_dir {
            args.extend(["--data-dir".to_owned(), dir.display().to_string()]);
        }
        if let Some(url) = &self.gateway {
            args.extend(["--gateway".to_owned(), url.clone()]);
        }
        args.extend(["keep".to_owned(), "--preset".to_owned(), self.preset.clone()]);
        args
    }

    /// The program and its arguments.
    pub fn command(&self) -> Vec<String> {
        let mut command = vec![self.program.display().to_string()];
        command.extend(self.arguments());
        command
    }
}

/// The file name, without extension, for a preset: `portforward-keep-` and the name in
/// lower-case ASCII letters, digits and dashes. A name that is not already in that form
/// ("Minecraft server") also gets a short hash of itself, so that two names never share a file.
pub fn file_stem(preset: &str) -> String {
    let mut slug = String::new();
    for c in preset.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_matches('-');
    if slug == preset {
        return format!("portforward-keep-{slug}");
    }
    let hash = fnv1a(preset.as_bytes());
    if slug.is_empty() {
        format!("portforward-keep-{hash:08x}")
    } else {
        format!("portforward-keep-{slug}-{hash:08x}")
    }
}

/// 32-bit FNV-1a: a stable short hash (the standard library's hasher may change between
/// releases, and a file name must not).
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |hash, b| {
        (hash ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

/// The systemd unit (and launchd label) name for a preset.
pub fn unit_name(preset: &str) -> String {
    format!("{}.service", file_stem(preset))
}

/// The launchd label of a preset's LaunchAgent.
pub fn launchd_label(preset: &str) -> String {
    format!(
        "net.portforward.keep.{}",
        &file_stem(preset)["portforward-keep-".len()..]
    )
}

/// The name of a preset's value under [`WINDOWS_RUN_KEY`].
pub fn windows_value_name(preset: &str) -> String {
    format!("PortForward keep {preset}")
}

/// The contents of the file that registers `job` in `format`.
pub fn entry_contents(format: AutostartFormat, job: &KeepJob) -> String {
    let mut name = serde_json::to_string(&job.preset).expect("a string serializes");
    if format == AutostartFormat::LaunchAgent {
        // The marker is an XML comment there, which may not contain "--".
        name = name.replace("--", "-\u{2010}");
    }
    let marker = format!("{}{MARKER}{name}", format.comment());
    let title = format!("PortForward: keep the preset \"{}\" forwarded", job.preset);
    match format {
        AutostartFormat::SystemdUser => {
            let exec: Vec<String> = job.command().iter().map(|a| systemd_quote(a)).collect();
            format!(
                "{marker}\n\
                 [Unit]\n\
                 Description={}\n\
                 \n\
                 [Service]\n\
                 Type=exec\n\
                 ExecStart={}\n\
                 Restart=on-failure\n\
                 RestartSec=30\n\
                 \n\
                 [Install]\n\
                 WantedBy=default.target\n",
                systemd_specifiers(&title),
                exec.join(" ")
            )
        }
        AutostartFormat::XdgAutostart => {
            let exec: Vec<String> = job.command().iter().map(|a| desktop_exec_quote(a)).collect();
            format!(
                "{marker}\n\
                 [Desktop Entry]\n\
                 Type=Application\n\
                 Name={}\n\
                 Comment=Renews and re-creates the preset's port forwards while you are logged in\n\
                 Exec={}\n\
                 Terminal=false\n\
                 NoDisplay=true\n\
                 X-GNOME-Autostart-enabled=true\n",
                desktop_string(&title),
                exec.join(" ")
            )
        }
        AutostartFormat::LaunchAgent => {
            let arguments: String = job
                .command()
                .iter()
                .map(|a| format!("        <string>{}</string>\n", xml_escape(a)))
                .collect();
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
                 <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
                 {marker} -->\n\
                 <plist version=\"1.0\">\n\
                 <dict>\n\
                 \x20   <key>Label</key>\n\
                 \x20   <string>{}</string>\n\
                 \x20   <key>ProgramArguments</key>\n\
                 \x20   <array>\n\
                 {arguments}\
                 \x20   </array>\n\
                 \x20   <key>RunAtLoad</key>\n\
                 \x20   <true/>\n\
                 \x20   <key>KeepAlive</key>\n\
                 \x20   <dict>\n\
                 \x20       <key>SuccessfulExit</key>\n\
                 \x20       <false/>\n\
                 \x20   </dict>\n\
                 \x20   <key>ProcessType</key>\n\
                 \x20   <string>Background</string>\n\
                 </dict>\n\
                 </plist>\n",
                xml_escape(&launchd_label(&job.preset)),
            )
        }
        AutostartFormat::WindowsRun => {
            // `conhost --headless` runs the console program without opening a window.
            let mut line = String::from("conhost.exe --headless");
            for arg in job.command() {
                line.push(' ');
                line.push_str(&windows_quote(&arg));
            }
            format!(
                "Windows Registry Editor Version 5.00\r\n\
                 \r\n\
                 {marker}\r\n\
                 [{WINDOWS_RUN_KEY}]\r\n\
                 {}={}\r\n",
                reg_string(&windows_value_name(&job.preset)),
                reg_string(&line)
            )
        }
    }
}

/// The command that makes Windows read a `.reg` file written by [`AutostartHome::enable`]
/// (`reg import FILE`): the file alone registers nothing there.
pub fn windows_import_command(path: &Path) -> Vec<String> {
    vec!["reg".to_owned(), "import".to_owned(), path.display().to_string()]
}

/// The command that removes a preset's `Run` value on Windows.
pub fn windows_delete_command(preset: &str) -> Vec<String> {
    [
        "reg",
        "delete",
        WINDOWS_RUN_KEY,
        "/v",
        &windows_value_name(preset),
        "/f",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// A word of a systemd command line: double-quoted, with C escapes and `%`/`$` doubled.
fn systemd_quote(arg: &str) -> String {
    let mut out = String::from("\"");
    for c in arg.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '%' => out.push_str("%%"),
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A unit file value outside a command line: only specifiers need escaping.
fn systemd_specifiers(text: &str) -> String {
    text.replace('%', "%%")
}

/// An argument of a desktop entry's `Exec`: quoted, with `"`, `` ` ``, `$` and `\` escaped,
/// `%` doubled (field codes), then escaped again as a string value (backslashes doubled).
fn desktop_exec_quote(arg: &str) -> String {
    let mut quoted = String::from("\"");
    for c in arg.chars() {
        match c {
            '"' | '`' | '$' | '\\' => {
                quoted.push('\\');
                quoted.push(c);
            }
            '%' => quoted.push_str("%%"),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted.replace('\\', "\\\\")
}

/// A desktop entry string value: backslashes escaped.
fn desktop_string(text: &str) -> String {
    text.replace('\\', "\\\\")
}

/// Text for XML content.
fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An argument as Windows' command-line parser (CommandLineToArgvW) reads it back.
fn windows_quote(arg: &str) -> String {
    let mut out = String::from("\"");
    let mut backslashes = 0;
    for c in arg.chars() {
        match c {
            '\\' => backslashes += 1,
            '"' => {
                out.push_str(&"\\".repeat(backslashes * 2 + 1));
                out.push('"');
                backslashes = 0;
            }
            c => {
                out.push_str(&"\\".repeat(backslashes));
                out.push(c);
                backslashes = 0;
            }
        }
    }
    out.push_str(&"\\".repeat(backslashes * 2));
    out.push('"');
    out
}

/// A `.reg` file string: quoted, `\` and `"` escaped.
fn reg_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A registration found or made.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Registration {
    /// The preset the job keeps.
    pub preset: String,
    /// How it is registered.
    pub format: AutostartFormat,
    /// The file.
    pub path: PathBuf,
}

/// The directories of one user's login-time registrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutostartHome {
    home: PathBuf,
    config_home: PathBuf,
    app_data: PathBuf,
}

impl AutostartHome {
    /// Registrations under `home` as a home directory: `home/.config` (Linux),
    /// `home/Library` (macOS), `home/AppData/Roaming` (Windows).
    pub fn new(home: impl AsRef<Path>) -> AutostartHome {
        let home = home.as_ref().to_path_buf();
        AutostartHome {
            config_home: home.join(".config"),
            app_data: home.join("AppData").join("Roaming"),
            home,
        }
    }

    /// The current user's: `$PORTFORWARD_HOME` when set (as [`AutostartHome::new`]), else the
    /// home directory, with `$XDG_CONFIG_HOME` and `%APPDATA%` honoured. `None` when the system
    /// names no home directory.
    pub fn for_current_user() -> Option<AutostartHome> {
        if let Some(home) = std::env::var_os(HOME_VARIABLE).filter(|h| !h.is_empty()) {
            return Some(AutostartHome::new(PathBuf::from(home)));
        }
        let dirs = directories::BaseDirs::new()?;
        Some(AutostartHome {
            home: dirs.home_dir().to_path_buf(),
            // On Linux config_dir() is $XDG_CONFIG_HOME or ~/.config; on Windows it is the
            // roaming AppData directory.
            config_home: dirs.config_dir().to_path_buf(),
            app_data: dirs.config_dir().to_path_buf(),
        })
    }

    /// The home directory.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The directory holding `format`'s files.
    pub fn directory(&self, format: AutostartFormat) -> PathBuf {
        match format {
            AutostartFormat::SystemdUser => self.config_home.join("systemd").join("user"),
            AutostartFormat::XdgAutostart => self.config_home.join("autostart"),
            AutostartFormat::LaunchAgent => self.home.join("Library").join("LaunchAgents"),
            AutostartFormat::WindowsRun => self.app_data.join("portforward").join("autostart"),
        }
    }

    /// The file that registers `preset` in `format`.
    pub fn entry_path(&self, format: AutostartFormat, preset: &str) -> PathBuf {
        let name = match format {
            AutostartFormat::SystemdUser => unit_name(preset),
            AutostartFormat::XdgAutostart => format!("{}.desktop", file_stem(preset)),
            AutostartFormat::LaunchAgent => format!("{}.plist", launchd_label(preset)),
            AutostartFormat::WindowsRun => format!("{}.reg", file_stem(preset)),
        };
        self.directory(format).join(name)
    }

    /// The link that enables a systemd unit (`default.target.wants/UNIT`).
    fn wants_link(&self, preset: &str) -> PathBuf {
        self.directory(AutostartFormat::SystemdUser)
            .join("default.target.wants")
            .join(unit_name(preset))
    }

    /// Registers `job` in `format`, replacing an earlier registration of the same preset in
    /// any format. A systemd unit is also enabled (linked from `default.target.wants/`, as
    /// `systemctl --user enable` does). On Windows the `.reg` file still has to be imported
    /// ([`windows_import_command`]).
    pub fn enable(&self, format: AutostartFormat, job: &KeepJob) -> Result<Registration, FileError> {
        self.disable(&job.preset)?;
        let path = self.entry_path(format, &job.preset);
        let contents = entry_contents(format, job);
        let bytes = if format == AutostartFormat::WindowsRun {
            // regedit's "Version 5.00" files are UTF-16 little-endian with a byte-order mark.
            let mut bytes = vec![0xff, 0xfe];
            bytes.extend(contents.encode_utf16().flat_map(u16::to_le_bytes));
            bytes
        } else {
            contents.into_bytes()
        };
        write_atomically(&path, &bytes)?;
        if format == AutostartFormat::SystemdUser {
            let link = self.wants_link(&job.preset);
            let parent = link.parent().expect("a link has a directory");
            std::fs::create_dir_all(parent).map_err(|e| FileError::new("create", parent, e))?;
            symlink(&path, &link)?;
        }
        Ok(Registration {
            preset: job.preset.clone(),
            format,
            path,
        })
    }

    /// Removes every registration of `preset`, in every format; returns what was removed
    /// (empty when it was not registered).
    pub fn disable(&self, preset: &str) -> Result<Vec<Registration>, FileError> {
        let mut removed = Vec::new();
        for found in self.status()? {
            if found.preset == preset {
                remove_file(&found.path)?;
                removed.push(found);
            }
        }
        // A dangling link from an earlier unit is removed whether or not its unit was found.
        let link = self.wants_link(preset);
        if link.symlink_metadata().is_ok() {
            remove_file(&link)?;
        }
        Ok(removed)
    }

    /// Every registration this program made, in every format, sorted by preset.
    pub fn status(&self) -> Result<Vec<Registration>, FileError> {
        let mut found = Vec::new();
        for format in AutostartFormat::ALL {
            let directory = self.directory(format);
            let entries = match std::fs::read_dir(&directory) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(FileError::new("read", &directory, e)),
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if !path.is_file() {
                    continue;
                }
                if let Some(preset) = read_marker(&path, format) {
                    found.push(Registration { preset, format, path });
                }
            }
        }
        found.sort_by(|a, b| (&a.preset, a.format.name()).cmp(&(&b.preset, b.format.name())));
        Ok(found)
    }

    /// Whether `preset` is registered (in any format).
    pub fn is_enabled(&self, preset: &str) -> Result<bool, FileError> {
        Ok(self.status()?.iter().any(|r| r.preset == preset))
    }
}

/// The preset named on the marker line of one of our files; `None` for other files.
fn read_marker(path: &Path, format: AutostartFormat) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    let text = if format == AutostartFormat::WindowsRun {
        let units: Vec<u16> = bytes
            .get(2..)?
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16(&units).ok()?
    } else {
        String::from_utf8(bytes).ok()?
    };
    let prefix = format!("{}{MARKER}", format.comment());
    let line = text.lines().find_map(|l| l.strip_prefix(prefix.as_str()))?;
    let json = line.trim_end_matches("-->").trim().replace("-\u{2010}", "--");
    serde_json::from_str(&json).ok()
}

/// Writes through a temporary file in the same directory, so that a login never reads half a file.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let parent = path.parent().expect("an entry has a directory");
    std::fs::create_dir_all(parent).map_err(|e| FileError::new("create", parent, e))?;
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, bytes).map_err(|e| FileError::new("write", &temporary, e))?;
    std::fs::rename(&temporary, path).map_err(|e| FileError::new("write", path, e))
}

fn remove_file(path: &Path) -> Result<(), FileError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(FileError::new("remove", path, e)),
    }
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> Result<(), FileError> {
    remove_file(link)?;
    std::os::unix::fs::symlink(target, link).map_err(|e| FileError::new("link", link, e))
}

#[cfg(not(unix))]
fn symlink(target: &Path, link: &Path) -> Result<(), FileError> {
    // systemd exists only on Unix; elsewhere a copy serves the same tests.
    std::fs::copy(target, link)
        .map(drop)
        .map_err(|e| FileError::new("link", link, e))
}

#[cfg(test)]
mod tests;
