//! `cloudvault install` into a staging root (a real useradd on the root's own /etc files), and
//! the shipped and generated systemd units through `systemd-analyze verify`.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_cloudvault");

fn have_systemd_analyze() -> bool {
    let ok = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("SKIPPED: systemd-analyze is not installed");
    }
    ok
}

/// `systemd-analyze verify` on units in `dir`: passes only with no complaint at all (verify
/// exits 0 on unknown keys, it only prints them).
fn verify(dir: &Path, units: &[&str]) {
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .args(units.iter().map(|u| format!("./{u}")))
        .current_dir(dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && text.trim().is_empty(), "{text}");
}

#[test]
fn shipped_units_pass_systemd_analyze_verify() {
    if !have_systemd_analyze() {
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/verify-systemd.sh");
    let out = Command::new(&script).arg(BIN).output().unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // And it does catch a broken unit.
    let bad = tempfile::tempdir().unwrap();
    std::fs::write(
        bad.path().join("broken.service"),
        "[Service]\nExecStart=/usr/local/bin/cloudvault serve\nProtectSytem=strict\n",
    )
    .unwrap();
    let out = Command::new(&script)
        .arg(BIN)
        .arg(bad.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
}

/// A root with the account files useradd needs.
fn fake_root() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let etc = root.path().join("etc");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::write(etc.join("passwd"), "root:x:0:0:root:/root:/bin/bash\n").unwrap();
    std::fs::write(etc.join("group"), "root:x:0:\n").unwrap();
    std::fs::write(etc.join("shadow"), "root:*:19000:0:99999:7:::\n").unwrap();
    std::fs::write(etc.join("gshadow"), "root:*::\n").unwrap();
    root
}

fn install(root: &Path, extra: &[&str]) -> (bool, String) {
    let out = Command::new(BIN)
        .env_clear()
        .args(["install", "--no-systemctl", "--root"])
        .arg(root)
        .args(["--bin", BIN])
        .args(extra)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn install_sets_up_user_folders_config_and_units() {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED: install test needs root (useradd, chown)");
        return;
    }
    let root = fake_root();
    let r = root.path();
    std::fs::create_dir_all(r.join("mnt/usb1")).unwrap();
    let (ok, text) = install(
        r,
        &["--volume", "usb1=/mnt/usb1", "--volume", "usb2=/mnt/usb2"],
    );
    assert!(ok, "{text}");

    // The user: a system account without a shell, at home in the data folder.
    let passwd = std::fs::read_to_string(r.join("etc/passwd")).unwrap();
    let line = passwd
        .lines()
        .find(|l| l.starts_with("cloudvault:"))
        .unwrap_or_else(|| panic!("{passwd}"));
    let f: Vec<&str> = line.split(':').collect();
    let (uid, gid): (u32, u32) = (f[2].parse().unwrap(), f[3].parse().unwrap());
    assert!(uid > 0 && uid < 1000, "a system uid: {line}");
    assert_eq!(f[5], "/var/lib/cloudvault");
    assert_eq!(f[6], "/usr/sbin/nologin");

    // Binary, folders and their owners.
    let bin = r.join(BIN.trim_start_matches('/'));
    assert_eq!(mode(&bin), 0o755);
    let data = r.join("var/lib/cloudvault");
    let meta = std::fs::metadata(&data).unwrap();
    assert_eq!((meta.uid(), meta.gid(), mode(&data)), (uid, gid, 0o750));
    let etc = r.join("etc/cloudvault");
    let meta = std::fs::metadata(&etc).unwrap();
    assert_eq!((meta.uid(), meta.gid(), mode(&etc)), (0, gid, 0o750));
    let usb1 = std::fs::metadata(r.join("mnt/usb1")).unwrap();
    assert_eq!((usb1.uid(), usb1.gid()), (uid, gid));
    assert!(
        text.contains("volume usb2:") && text.contains("does not exist"),
        "{text}"
    );

    // The config: only root writes it, the service reads it; it loads and names the volumes.
    let config_file = etc.join("cloudvault.toml");
    let meta = std::fs::metadata(&config_file).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), mode(&config_file)),
        (0, gid, 0o640)
    );
    let config = cloudvault::config::Config::load_from(
        &cloudvault::config::Overrides {
            config_file: Some(config_file.clone()),
            ..Default::default()
        },
        &[],
    )
    .unwrap();
    assert_eq!(config.data_dir, Path::new("/var/lib/cloudvault"));
    let vols: Vec<(String, String)> = config
        .volumes
        .iter()
        .map(|v| (v.name.clone(), v.path.display().to_string()))
        .collect();
    assert_eq!(
        vols,
        [
            ("usb1".to_string(), "/mnt/usb1".to_string()),
            ("usb2".to_string(), "/mnt/usb2".to_string())
        ]
    );
    assert!(etc.join("cloudvault.example.toml").is_file());

    // Units: the chosen paths, the volumes' drop-in, and systemd accepts them as written.
    let units = r.join("etc/systemd/system");
    let service = std::fs::read_to_string(units.join("cloudvault.service")).unwrap();
    assert!(service.contains(&format!(
        "ExecStart={BIN} --config /etc/cloudvault/cloudvault.toml serve"
    )));
    assert!(service.contains("RequiresMountsFor=/var/lib/cloudvault"));
    assert!(service.contains("ProtectSystem=strict"));
    let dropin = std::fs::read_to_string(units.join("cloudvault.service.d/volumes.conf")).unwrap();
    for want in [
        "After=mnt-usb1.mount",
        "Wants=mnt-usb1.mount",
        "After=mnt-usb2.mount",
        "ReadWritePaths=-/mnt/usb1",
        "ReadWritePaths=-/mnt/usb2",
    ] {
        assert!(dropin.contains(want), "{want} in {dropin}");
    }
    assert!(!dropin.contains("RequiresMountsFor"), "{dropin}");
    let maint = std::fs::read_to_string(units.join("cloudvault-maintenance.service")).unwrap();
    assert!(maint.contains(&format!(
        "ExecStart={BIN} --config /etc/cloudvault/cloudvault.toml backup /var/backups/cloudvault --files"
    )));
    let backups = std::fs::metadata(r.join("var/backups/cloudvault")).unwrap();
    assert_eq!(backups.uid(), uid);
    if have_systemd_analyze() {
        verify(
            &units,
            &[
                "cloudvault.service",
                "cloudvault-maintenance.service",
                "cloudvault-maintenance.timer",
            ],
        );
    }

    // Again: the user and an edited config are kept; --require-volumes changes the drop-in.
    std::fs::write(&config_file, "listen = \"127.0.0.1:9999\"\n").unwrap();
    let (ok, text) = install(r, &["--volume", "usb1=/mnt/usb1", "--require-volumes"]);
    assert!(ok, "{text}");
    assert!(text.contains("user cloudvault exists"), "{text}");
    assert!(text.contains("kept existing"), "{text}");
    assert_eq!(
        std::fs::read_to_string(&config_file).unwrap(),
        "listen = \"127.0.0.1:9999\"\n"
    );
    assert_eq!(passwd.lines().count(), 2);
    let dropin = std::fs::read_to_string(units.join("cloudvault.service.d/volumes.conf")).unwrap();
    assert!(dropin.contains("RequiresMountsFor=/mnt/usb1"), "{dropin}");
    assert!(!dropin.contains("After="), "{dropin}");

    // Bad input is refused before anything is written.
    let (ok, text) = install(r, &["--volume", "usb1"]);
    assert!(!ok && text.contains("NAME=PATH"), "{text}");
    let (ok, text) = install(r, &["--volume", "a/b=/mnt/x"]);
    assert!(!ok && text.contains("volume name"), "{text}");
    let (ok, text) = install(r, &["--user", "Root!"]);
    assert!(!ok && text.contains("user name"), "{text}");
}
