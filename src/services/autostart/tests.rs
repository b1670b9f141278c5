use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;

/// A fresh home directory for one test (never the real one).
fn temp_home(name: &str) -> AutostartHome {
    let dir = std::env::temp_dir().join(format!("pfw-autostart-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    AutostartHome::new(dir)
}

/// An executable that exists (systemd-analyze checks ExecStart's program).
fn program() -> PathBuf {
    std::env::current_exe().unwrap()
}

/// A name with everything the formats must escape.
const TRICKY: &str = r#"Game "50%" $HOME \ <b> & 'x' -- é"#;

fn tool(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(name))
        .find(|p| p.is_file())
}

/// Runs a validator; `None` (with the reason printed) where it is not installed.
fn validate(tool_name: &str, package: &str, args: &[&str], file: &Path) -> Option<(bool, String)> {
    let Some(path) = tool(tool_name) else {
        eprintln!("SKIPPED validation: {tool_name} is not installed (Debian package {package}; .ci/run installs it)");
        return None;
    };
    let out = Command::new(path).args(args).arg(file).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some((out.status.success() && text.trim().is_empty(), text))
}

#[test]
fn file_names_are_stable_and_never_shared() {
    assert_eq!(file_stem("minecraft"), "portforward-keep-minecraft");
    let names = [
        "Minecraft server",
        "minecraft server",
        "minecraft-server",
        "minecraft  server",
        "é",
        "è",
    ];
    let stems: std::collections::BTreeSet<String> = names.iter().map(|n| file_stem(n)).collect();
    assert_eq!(stems.len(), names.len(), "{stems:?}");
    assert!(file_stem("Minecraft server").starts_with("portforward-keep-minecraft-server-"));
    assert!(file_stem("é").chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    // The same name always gives the same file (an upgrade must find the old registration).
    assert_eq!(file_stem("Minecraft server"), file_stem("Minecraft server"));
    assert_eq!(unit_name("minecraft"), "portforward-keep-minecraft.service");
    assert_eq!(launchd_label("minecraft"), "net.portforward.keep.minecraft");
}

#[test]
fn the_job_passes_the_chosen_directories_and_gateway_on() {
    let job = KeepJob {
        config_dir: Some("/c".into()),
        data_dir: Some("/d".into()),
        gateway: Some("http://192.168.1.1:5000/rootDesc.xml".into()),
        ..KeepJob::new("/usr/bin/portforward", "NAS")
    };
    assert_eq!(
        job.command(),
        [
            "/usr/bin/portforward",
            "--config-dir",
            "/c",
            "--data-dir",
            "/d",
            "--gateway",
            "http://192.168.1.1:5000/rootDesc.xml",
            "keep",
            "--preset",
            "NAS"
        ]
    );
    assert_eq!(
        KeepJob::new("/p", "NAS").arguments(),
        ["keep", "--preset", "NAS"],
        "nothing else by default"
    );
}

#[test]
fn a_systemd_user_unit_is_written_enabled_and_valid() {
    let home = temp_home("systemd");
    let job = KeepJob::new(program(), TRICKY);
    let registration = home.enable(AutostartFormat::SystemdUser, &job).unwrap();
    let unit = home.home().join(".config/systemd/user").join(unit_name(TRICKY));
    assert_eq!(registration.path, unit);
    let text = std::fs::read_to_string(&unit).unwrap();
    let exec = text.lines().find_map(|l| l.strip_prefix("ExecStart=")).unwrap();
    assert_eq!(
        exec,
        format!(
            r#""{}" "keep" "--preset" "Game \"50%%\" $$HOME \\ <b> & 'x' -- é""#,
            // A backslash is systemd's escape, in the program's path too (a Windows path here).
            program().display().to_string().replace('\\', "\\\\")
        )
    );
    assert!(text.contains("\nWantedBy=default.target\n"), "{text}");
    assert!(
        text.contains("\nDescription=PortForward: keep the preset \"Game \"50%%\""),
        "{text}"
    );
    // Enabled as `systemctl --user enable` does it: a symbolic link, where there are such
    // (systemd units are for Linux; on Windows the contents are checked, and the link is not one).
    let link = home
        .home()
        .join(".config/systemd/user/default.target.wants")
        .join(unit_name(TRICKY));
    #[cfg(unix)]
    assert_eq!(std::fs::read_link(&link).unwrap(), unit);
    assert!(link.exists(), "the unit is enabled");

    if let Some((valid, said)) = validate("systemd-analyze", "systemd", &["verify"], &unit) {
        assert!(valid, "systemd-analyze verify: {said}");
    }

    assert_eq!(home.status().unwrap(), std::slice::from_ref(&registration));
    assert_eq!(home.disable(TRICKY).unwrap(), [registration]);
    assert!(!unit.exists());
    assert!(link.symlink_metadata().is_err(), "the wants link went too");
    assert!(home.status().unwrap().is_empty());
    std::fs::remove_dir_all(home.home()).unwrap();
}

#[test]
fn systemd_analyze_rejects_a_broken_unit_so_the_check_above_can_fail() {
    let home = temp_home("systemd-broken");
    let unit = home.home().join("broken.service");
    let good = entry_contents(AutostartFormat::SystemdUser, &KeepJob::new(program(), "x"));
    std::fs::write(&unit, good.replace("ExecStart=\"", "ExecStart=\"\"")).unwrap();
    if let Some((valid, said)) = validate("systemd-analyze", "systemd", &["verify"], &unit) {
        assert!(!valid, "{said}");
    }
    std::fs::remove_dir_all(home.home()).unwrap();
}

#[test]
fn an_xdg_autostart_entry_is_written_and_valid() {
    let home = temp_home("xdg");
    let job = KeepJob::new("/opt/port forward/portforward", TRICKY);
    let registration = home.enable(AutostartFormat::XdgAutostart, &job).unwrap();
    assert_eq!(
        registration.path.parent().unwrap(),
        home.home().join(".config/autostart")
    );
    assert_eq!(registration.path.extension().unwrap(), "desktop");
    let text = std::fs::read_to_string(&registration.path).unwrap();
    let exec = text.lines().find_map(|l| l.strip_prefix("Exec=")).unwrap();
    // Quoted for the Exec key, then backslashes doubled as a string value.
    assert_eq!(
        exec,
        r#""/opt/port forward/portforward" "keep" "--preset" "Game \\"50%%\\" \\$HOME \\\\ <b> & 'x' -- é""#
    );
    assert!(
        text.contains("\nNoDisplay=true\n") && text.contains("\nTerminal=false\n"),
        "{text}"
    );
    if let Some((valid, said)) = validate("desktop-file-validate", "desktop-file-utils", &[], &registration.path) {
        assert!(valid, "desktop-file-validate: {said}");
    }
    assert_eq!(home.status().unwrap(), [registration]);
    home.disable(TRICKY).unwrap();
    assert!(home.status().unwrap().is_empty());
    std::fs::remove_dir_all(home.home()).unwrap();
}

#[test]
fn desktop_file_validate_rejects_a_broken_entry_so_the_check_above_can_fail() {
    let home = temp_home("xdg-broken");
    let file = home.home().join("broken.desktop");
    let good = entry_contents(AutostartFormat::XdgAutostart, &KeepJob::new("/p", "x"));
    std::fs::write(&file, good.replace("Type=Application", "Type=Nonsense")).unwrap();
    if let Some((valid, said)) = validate("desktop-file-validate", "desktop-file-utils", &[], &file) {
        assert!(!valid, "{said}");
    }
    std::fs::remove_dir_all(home.home()).unwrap();
}

#[test]
fn a_launch_agent_runs_the_job_at_load_with_the_exact_arguments() {
    let home = temp_home("launchd");
    let job = KeepJob::new("/Applications/PortForward.app/Contents/MacOS/portforward", TRICKY);
    let registration = home.enable(AutostartFormat::LaunchAgent, &job).unwrap();
    assert_eq!(
        registration.path,
        home.home()
            .join("Library/LaunchAgents")
            .join(format!("{}.plist", launchd_label(TRICKY)))
    );
    let text = std::fs::read_to_string(&registration.path).unwrap();
    let doc = roxmltree::Document::parse_with_options(
        &text,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .expect("well-formed XML");
    let dict = doc.descendants().find(|n| n.has_tag_name("dict")).unwrap();
    let value_of = |key: &str| {
        let mut children = dict.children().filter(roxmltree::Node::is_element);
        children.find(|n| n.has_tag_name("key") && n.text() == Some(key))?;
        children.next()
    };
    assert_eq!(value_of("Label").unwrap().text(), Some(launchd_label(TRICKY).as_str()));
    let arguments: Vec<&str> = value_of("ProgramArguments")
        .unwrap()
        .children()
        .filter(|n| n.has_tag_name("string"))
        .map(|n| n.text().unwrap())
        .collect();
    assert_eq!(arguments, job.command());
    assert!(value_of("RunAtLoad").unwrap().has_tag_name("true"));
    assert_eq!(
        home.status().unwrap(),
        [registration],
        "the marker survives the XML comment"
    );
    home.disable(TRICKY).unwrap();
    assert!(home.status().unwrap().is_empty());
    std::fs::remove_dir_all(home.home()).unwrap();
}

/// Splits a command line as Windows' CommandLineToArgvW does (the rules `windows_quote` targets).
fn windows_split(line: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        if chars.peek().is_none() {
            return args;
        }
        let (mut arg, mut quoted, mut backslashes) = (String::new(), false, 0);
        for c in chars.by_ref() {
            match c {
                '\\' => backslashes += 1,
                '"' => {
                    arg.push_str(&"\\".repeat(backslashes / 2));
                    if backslashes % 2 == 1 {
                        arg.push('"');
                    } else {
                        quoted = !quoted;
                    }
                    backslashes = 0;
                }
                ' ' if !quoted => {
                    arg.push_str(&"\\".repeat(backslashes));
                    backslashes = 0;
                    break;
                }
                c => {
                    arg.push_str(&"\\".repeat(backslashes));
                    backslashes = 0;
                    arg.push(c);
                }
            }
        }
        arg.push_str(&"\\".repeat(backslashes));
        args.push(arg);
    }
}

#[test]
fn a_windows_run_entry_starts_the_job_without_a_window() {
    let home = temp_home("windows");
    let program = r"C:\Program Files\PortForward\portforward.exe";
    let name = format!(r"{TRICKY} trailing\");
    let job = KeepJob {
        config_dir: Some(r"C:\Users\ann\cfg dir\".into()),
        ..KeepJob::new(program, &name)
    };
    let registration = home.enable(AutostartFormat::WindowsRun, &job).unwrap();
    assert_eq!(
        registration.path.parent().unwrap(),
        home.home().join("AppData/Roaming/portforward/autostart")
    );
    let bytes = std::fs::read(&registration.path).unwrap();
    assert_eq!(
        bytes[..2],
        [0xff, 0xfe],
        "UTF-16LE with a byte-order mark, as regedit writes"
    );
    let units: Vec<u16> = bytes[2..].chunks(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    let text = String::from_utf16(&units).unwrap();
    let mut lines = text.split("\r\n");
    assert_eq!(lines.next(), Some("Windows Registry Editor Version 5.00"));
    assert!(text.contains(&format!("\r\n[{WINDOWS_RUN_KEY}]\r\n")), "{text}");
    let value = text
        .lines()
        .find(|l| l.starts_with("\"PortForward keep "))
        .unwrap()
        .trim_end();
    // `"NAME"="DATA"`, with `\` and `"` escaped inside each.
    let unreg = |s: &str| s.replace("\\\"", "\"").replace("\\\\", "\\");
    let (value_name, data) = value.split_once("\"=\"").unwrap();
    assert_eq!(unreg(&value_name[1..]), windows_value_name(&name));
    let line = unreg(&data[..data.len() - 1]);
    let argv = windows_split(&line);
    assert_eq!(argv[..2], ["conhost.exe", "--headless"]);
    assert_eq!(argv[2..], job.command());
    assert_eq!(home.status().unwrap(), std::slice::from_ref(&registration));
    assert_eq!(windows_import_command(&registration.path)[..2], ["reg", "import"]);
    assert_eq!(
        windows_delete_command(&name),
        ["reg", "delete", WINDOWS_RUN_KEY, "/v", &windows_value_name(&name), "/f"]
    );
    home.disable(&name).unwrap();
    assert!(home.status().unwrap().is_empty());
    std::fs::remove_dir_all(home.home()).unwrap();
}

#[test]
fn enabling_again_replaces_and_status_lists_only_ours() {
    let home = temp_home("status");
    let a = home
        .enable(AutostartFormat::XdgAutostart, &KeepJob::new("/p", "b"))
        .unwrap();
    home.enable(AutostartFormat::SystemdUser, &KeepJob::new("/p", "a"))
        .unwrap();
    // The same preset in another format replaces its first registration.
    let a2 = home
        .enable(AutostartFormat::XdgAutostart, &KeepJob::new("/p", "a"))
        .unwrap();
    // Someone else's entries in the same directories are not ours.
    std::fs::write(
        home.directory(AutostartFormat::XdgAutostart).join("other.desktop"),
        "[Desktop Entry]\n",
    )
    .unwrap();
    std::fs::write(
        home.directory(AutostartFormat::SystemdUser).join("other.service"),
        "# portforward-keep-preset: \n",
    )
    .unwrap();
    assert_eq!(home.status().unwrap(), [a2, a]);
    assert!(home.is_enabled("a").unwrap());
    assert!(!home.is_enabled("c").unwrap());
    assert!(
        home.entry_path(AutostartFormat::SystemdUser, "a")
            .symlink_metadata()
            .is_err()
            && home.wants_link("a").symlink_metadata().is_err(),
        "the systemd unit and its link went when xdg replaced it"
    );
    assert!(
        home.disable("c").unwrap().is_empty(),
        "disabling what is not registered is no error"
    );
    std::fs::remove_dir_all(home.home()).unwrap();
}

#[test]
fn formats_parse_by_name() {
    for format in AutostartFormat::ALL {
        assert_eq!(AutostartFormat::parse(format.name()).unwrap(), format);
    }
    let err = AutostartFormat::parse("cron").unwrap_err().to_string();
    assert!(err.contains("systemd, xdg, launchd or windows-run"), "{err}");
}
