//! `cloudvault install`: sets up a Debian box for the service — the system user, the binary,
//! folders, a config file, the hardened unit with a drop-in for the volumes, and the nightly
//! backup + fsck timer. Safe to run again: existing config is kept, units are rewritten.
//! `--root DIR` writes everything under DIR (staging, tests) and runs no systemctl.

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

pub const SERVICE_UNIT: &str = include_str!("../../systemd/cloudvault.service");
pub const MAINTENANCE_SERVICE: &str = include_str!("../../systemd/cloudvault-maintenance.service");
pub const MAINTENANCE_TIMER: &str = include_str!("../../systemd/cloudvault-maintenance.timer");
const EXAMPLE_CONFIG: &str = include_str!("../../config/cloudvault.example.toml");

/// The paths of the units as shipped; replaced by the chosen ones.
const SHIPPED_BIN: &str = "/usr/local/bin/cloudvault";
const SHIPPED_CONFIG: &str = "/etc/cloudvault/cloudvault.toml";
const SHIPPED_DATA: &str = "/var/lib/cloudvault";
const SHIPPED_BACKUPS: &str = "/var/backups/cloudvault";

#[derive(Debug, Clone)]
pub struct InstallOptions {
    /// Everything is written under this folder ("/" for a real install).
    pub root: PathBuf,
    pub user: String,
    pub bin: PathBuf,
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
    pub backup_dir: PathBuf,
    pub unit_dir: PathBuf,
    pub listen: String,
    /// (name, path) of each disk.
    pub volumes: Vec<(String, PathBuf)>,
    /// RequiresMountsFor= on the volumes instead of After=/Wants= of their mounts.
    pub require_volumes: bool,
    /// Run `systemctl daemon-reload` (never with a root other than "/").
    pub systemctl: bool,
}

impl Default for InstallOptions {
    fn default() -> Self {
        InstallOptions {
            root: "/".into(),
            user: "cloudvault".into(),
            bin: SHIPPED_BIN.into(),
            config_dir: "/etc/cloudvault".into(),
            data_dir: SHIPPED_DATA.into(),
            backup_dir: SHIPPED_BACKUPS.into(),
            unit_dir: "/etc/systemd/system".into(),
            listen: "127.0.0.1:8080".into(),
            volumes: Vec::new(),
            require_volumes: false,
            systemctl: true,
        }
    }
}

impl InstallOptions {
    fn staged(&self, p: &Path) -> PathBuf {
        self.root.join(p.strip_prefix("/").unwrap_or(p))
    }
    fn config_file(&self) -> PathBuf {
        self.config_dir.join("cloudvault.toml")
    }
    fn is_real_root(&self) -> bool {
        self.root == Path::new("/")
    }
}

/// Runs the install, printing each step. Returns the lines printed (for tests and the caller).
pub fn install(o: &InstallOptions) -> anyhow::Result<Vec<String>> {
    let mut log = Vec::new();
    let mut say = |s: String| {
        println!("{s}");
        log.push(s);
    };
    check_install_options(o)?;

    // 1. The system user.
    let ids = ensure_system_user(o, &mut say)?;
    let chown = |p: &Path, owner: bool| -> anyhow::Result<()> {
        if let Some((uid, gid)) = ids {
            let uid = if owner { Some(uid) } else { Some(0) };
            std::os::unix::fs::chown(p, uid, Some(gid))
                .with_context(|| format!("chown {}", p.display()))?;
        }
        Ok(())
    };

    // 2. The binary.
    install_binary(o, &mut say)?;

    // 3. Folders: data and backups belong to the user; config is root's, readable by the group.
    for (dir, owner) in [
        (&o.data_dir, true),
        (&o.backup_dir, true),
        (&o.config_dir, false),
    ] {
        let d = o.staged(dir);
        std::fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o750))?;
        chown(&d, owner)?;
        say(format!("folder {} ready", d.display()));
    }

    // 4. The config file (kept if there is one) and the documented example beside it.
    write_config_files(o, &chown, &mut say)?;

    // 5. The volumes: each is a mounted disk whose root folder the service user owns.
    prepare_volumes(o, &chown, &mut say)?;

    // 6. Units.
    write_units(o, &mut say)?;

    if o.systemctl && o.is_real_root() {
        let ok = Command::new(program("systemctl"))
            .arg("daemon-reload")
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        say(if ok {
            "systemctl daemon-reload: done".into()
        } else {
            "systemctl daemon-reload failed: run it yourself".into()
        });
    }
    let cv = format!(
        "sudo -u {} {} --config {}",
        o.user,
        o.bin.display(),
        o.config_file().display()
    );
    say("next steps:".into());
    say(format!("  review {}", o.config_file().display()));
    say(format!("  {cv} admin create-user NAME --admin"));
    say("  sudo systemctl enable --now cloudvault cloudvault-maintenance.timer".into());
    say("  then Caddy / cloudflared in front: README.md, \"Deployment\"".into());
    Ok(log)
}

/// Paths must be absolute, the user name plain, and a real install must run as root.
fn check_install_options(o: &InstallOptions) -> anyhow::Result<()> {
    for p in [
        &o.bin,
        &o.config_dir,
        &o.data_dir,
        &o.backup_dir,
        &o.unit_dir,
    ] {
        if !p.is_absolute() {
            bail!("{} must be an absolute path", p.display());
        }
    }
    for (name, path) in &o.volumes {
        if !path.is_absolute() {
            bail!("volume {name}: {} must be an absolute path", path.display());
        }
    }
    if o.is_real_root() && unsafe { libc::geteuid() } != 0 {
        bail!("run as root (sudo cloudvault install ...), or stage into a folder with --root");
    }
    if !valid_user_name(&o.user) {
        bail!(
            "user name {:?}: use lower-case letters, digits, '-' and '_'",
            o.user
        );
    }
    Ok(())
}

/// Finds or creates the system user; returns its (uid, gid), or `None` when the staged root
/// has no passwd file.
fn ensure_system_user(
    o: &InstallOptions,
    say: &mut impl FnMut(String),
) -> anyhow::Result<Option<(u32, u32)>> {
    let passwd = o.staged(Path::new("/etc/passwd"));
    let ids = match lookup_user(&passwd, &o.user)? {
        Some(ids) => {
            say(format!("user {} exists (uid {})", o.user, ids.0));
            Some(ids)
        }
        None if passwd.is_file() => {
            let mut cmd = Command::new(program("useradd"));
            if !o.is_real_root() {
                cmd.arg("--root").arg(&o.root);
            }
            cmd.args(["--system", "--user-group", "--no-create-home"])
                .arg("--home-dir")
                .arg(&o.data_dir)
                .args(["--shell", "/usr/sbin/nologin", "--comment", "CloudVault"])
                .arg(&o.user);
            let out = cmd.output().context("running useradd (package passwd)")?;
            if !out.status.success() {
                bail!(
                    "useradd failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
            let ids = lookup_user(&passwd, &o.user)?
                .context("useradd succeeded but the user is not in /etc/passwd")?;
            say(format!("created system user {} (uid {})", o.user, ids.0));
            Some(ids)
        }
        None => {
            say(format!(
                "no {} here: create the user {} on the target machine",
                passwd.display(),
                o.user
            ));
            None
        }
    };
    Ok(ids)
}

/// Copies this program to `o.bin`, unless it is running from there.
fn install_binary(o: &InstallOptions, say: &mut impl FnMut(String)) -> anyhow::Result<()> {
    let bin = o.staged(&o.bin);
    let me = std::env::current_exe().context("finding this program")?;
    if std::fs::canonicalize(&me).ok() != std::fs::canonicalize(&bin).ok() {
        std::fs::create_dir_all(bin.parent().unwrap())?;
        // Copy beside, then rename: a running service keeps its old inode.
        let tmp = bin.with_extension("new");
        std::fs::copy(&me, &tmp)
            .with_context(|| format!("copying {} to {}", me.display(), tmp.display()))?;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))?;
        std::fs::rename(&tmp, &bin)?;
        say(format!("installed {}", bin.display()));
    } else {
        say(format!("{} is this program already", bin.display()));
    }
    Ok(())
}

/// Writes the config file (kept if there is one) and the documented example beside it.
fn write_config_files(
    o: &InstallOptions,
    chown: &impl Fn(&Path, bool) -> anyhow::Result<()>,
    say: &mut impl FnMut(String),
) -> anyhow::Result<()> {
    let config = o.staged(&o.config_file());
    if config.exists() {
        say(format!("kept existing {}", config.display()));
    } else {
        std::fs::write(&config, render_config(o))?;
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o640))?;
        chown(&config, false)?;
        say(format!("wrote {}", config.display()));
    }
    let example = o.staged(&o.config_dir.join("cloudvault.example.toml"));
    std::fs::write(&example, EXAMPLE_CONFIG)?;
    std::fs::set_permissions(&example, std::fs::Permissions::from_mode(0o644))?;
    Ok(())
}

/// Gives each volume's root folder to the service user (a missing one is reported, not made).
fn prepare_volumes(
    o: &InstallOptions,
    chown: &impl Fn(&Path, bool) -> anyhow::Result<()>,
    say: &mut impl FnMut(String),
) -> anyhow::Result<()> {
    for (name, path) in &o.volumes {
        let p = o.staged(path);
        if !p.is_dir() {
            say(format!(
                "volume {name}: {} does not exist — mount the disk, then `chown {}: {}`",
                p.display(),
                o.user,
                path.display()
            ));
            continue;
        }
        if o.is_real_root() && !is_mount_point(path) {
            say(format!(
                "volume {name}: warning: {} is not a mount point (is the disk mounted?)",
                path.display()
            ));
        }
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o750))?;
        chown(&p, true)?;
        say(format!(
            "volume {name}: {} owned by {}",
            p.display(),
            o.user
        ));
    }
    Ok(())
}

/// Writes the systemd units and the volumes drop-in.
fn write_units(o: &InstallOptions, say: &mut impl FnMut(String)) -> anyhow::Result<()> {
    let unit_dir = o.staged(&o.unit_dir);
    let dropin_dir = unit_dir.join("cloudvault.service.d");
    std::fs::create_dir_all(&dropin_dir)?;
    let files = [
        (
            unit_dir.join("cloudvault.service"),
            render_unit(SERVICE_UNIT, o),
        ),
        (
            unit_dir.join("cloudvault-maintenance.service"),
            render_unit(MAINTENANCE_SERVICE, o),
        ),
        (
            unit_dir.join("cloudvault-maintenance.timer"),
            MAINTENANCE_TIMER.to_string(),
        ),
        (dropin_dir.join("volumes.conf"), render_volumes_dropin(o)),
    ];
    for (path, text) in files {
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
        say(format!("wrote {}", path.display()));
    }
    Ok(())
}

/// A system program by its usual path: sudo and cron may run us with a PATH without sbin.
fn program(name: &str) -> PathBuf {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

fn valid_user_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && !s.starts_with('-')
}

/// (uid, gid) of `user` in a passwd file.
fn lookup_user(passwd: &Path, user: &str) -> anyhow::Result<Option<(u32, u32)>> {
    let text = match std::fs::read_to_string(passwd) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", passwd.display())),
    };
    for line in text.lines() {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() >= 4 && f[0] == user {
            return Ok(Some((f[2].parse()?, f[3].parse()?)));
        }
    }
    Ok(None)
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn render_config(o: &InstallOptions) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# CloudVault configuration, written by `cloudvault install`. Every key is documented in\n\
         # cloudvault.example.toml beside this file; restart the service after a change."
    );
    let _ = writeln!(t, "listen = {}", toml_string(&o.listen));
    let _ = writeln!(
        t,
        "data_dir = {}",
        toml_string(&o.data_dir.display().to_string())
    );
    let _ = writeln!(t, "default_quota = \"50GB\"");
    if o.volumes.is_empty() {
        let _ = writeln!(
            t,
            "\n# No [[volumes]]: files are kept in data_dir/volume. Add your disks like this:\n\
             # [[volumes]]\n# name = \"1tb\"\n# path = \"/mnt/storage/1tb\""
        );
    }
    for (name, path) in &o.volumes {
        let _ = writeln!(
            t,
            "\n[[volumes]]\nname = {}\npath = {}\nlow_space = \"20GB\"   # reported on the admin page and /healthz below this",
            toml_string(name),
            toml_string(&path.display().to_string())
        );
    }
    t
}

/// The shipped unit with the chosen paths.
fn render_unit(text: &str, o: &InstallOptions) -> String {
    let data = o.data_dir.display().to_string();
    let mut out = text
        .replace(SHIPPED_BIN, &o.bin.display().to_string())
        .replace(SHIPPED_CONFIG, &o.config_file().display().to_string())
        .replace(SHIPPED_BACKUPS, &o.backup_dir.display().to_string())
        .replace(SHIPPED_DATA, &data)
        .replace("User=cloudvault", &format!("User={}", o.user))
        .replace("Group=cloudvault", &format!("Group={}", o.user));
    // StateDirectory= only names folders under /var/lib; elsewhere the folder was made above.
    if o.data_dir != Path::new(SHIPPED_DATA) {
        out = out
            .lines()
            .filter(|l| !l.starts_with("StateDirectory"))
            .collect::<Vec<_>>()
            .join("\n")
            + "\n";
    }
    out
}

/// Ordering after the volumes' mounts and write access to them.
fn render_volumes_dropin(o: &InstallOptions) -> String {
    let mut t = String::from(
        "# Written by `cloudvault install`: the volumes (USB disks) of this box.\n[Unit]\n",
    );
    if o.volumes.is_empty() {
        t.push_str("# No volumes configured: files live in the data folder.\n");
        return t;
    }
    if o.require_volumes {
        t.push_str("# --require-volumes: the service does not start without every disk mounted.\n");
        for (_, p) in &o.volumes {
            let _ = writeln!(t, "RequiresMountsFor={}", p.display());
        }
    } else {
        t.push_str(
            "# Start after the disks' mounts when they are there; an absent disk leaves its\n\
             # volume offline, the service runs (no Requires=).\n",
        );
        for (_, p) in &o.volumes {
            let mount = if o.is_real_root() {
                mount_point_of(p)
            } else {
                Some(p.clone())
            };
            match mount {
                Some(m) if m != Path::new("/") => {
                    let unit = escape_mount_unit(&m);
                    let _ = writeln!(t, "After={unit}\nWants={unit}");
                }
                _ => {
                    let _ = writeln!(
                        t,
                        "# {}: not on a mount of its own (yet); add After=/Wants= of its .mount unit",
                        p.display()
                    );
                }
            }
        }
    }
    t.push_str("\n[Service]\n");
    for (_, p) in &o.volumes {
        // "-": a missing path must not keep the service from starting.
        let _ = writeln!(t, "ReadWritePaths=-{}", p.display());
    }
    t
}

/// `systemd-escape -p --suffix=mount PATH`.
pub fn escape_mount_unit(path: &Path) -> String {
    let s = path.display().to_string();
    let trimmed = s.trim_matches('/');
    if trimmed.is_empty() {
        return "-.mount".into();
    }
    let mut out = String::new();
    for (i, part) in trimmed.split('/').filter(|p| !p.is_empty()).enumerate() {
        if i > 0 {
            out.push('-');
        }
        for (j, b) in part.bytes().enumerate() {
            let keep = b.is_ascii_alphanumeric()
                || b == b':'
                || b == b'_'
                || (b == b'.' && (i, j) != (0, 0));
            if keep {
                out.push(b as char);
            } else {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out + ".mount"
}

/// The mount point holding `path` (longest prefix in /proc/self/mountinfo).
fn mount_point_of(path: &Path) -> Option<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|m| PathBuf::from(m.replace("\\040", " ")))
        .filter(|m| path.starts_with(m))
        .max_by_key(|m| m.as_os_str().len())
}

fn is_mount_point(path: &Path) -> bool {
    mount_point_of(path).is_some_and(|m| m == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_units_are_escaped_like_systemd() {
        assert_eq!(
            escape_mount_unit(Path::new("/mnt/storage/1tb")),
            "mnt-storage-1tb.mount"
        );
        assert_eq!(
            escape_mount_unit(Path::new("/media/usb disk/x-y")),
            "media-usb\\x20disk-x\\x2dy.mount"
        );
        assert_eq!(escape_mount_unit(Path::new("/")), "-.mount");
        assert_eq!(
            escape_mount_unit(Path::new("/mnt/.hidden/a.b")),
            "mnt-.hidden-a.b.mount"
        );
    }

    #[test]
    fn units_get_the_chosen_paths() {
        let o = InstallOptions {
            bin: "/opt/cv/bin/cloudvault".into(),
            data_dir: "/srv/cloudvault".into(),
            ..InstallOptions::default()
        };
        let unit = render_unit(SERVICE_UNIT, &o);
        assert!(unit.contains(
            "ExecStart=/opt/cv/bin/cloudvault --config /etc/cloudvault/cloudvault.toml serve"
        ));
        assert!(unit.contains("RequiresMountsFor=/srv/cloudvault"));
        assert!(unit.contains("ReadWritePaths=/srv/cloudvault -/mnt/storage"));
        assert!(!unit.contains("StateDirectory"));
        assert!(!unit.contains("/var/lib/cloudvault"));
    }
}
