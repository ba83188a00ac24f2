//! The command line: `serve`, `admin ...`, `fsck` and `model ...`, all on the same data folder
//! (the admin commands and fsck work while the server runs).

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::audit::{Entry, action};
use crate::auth;
use crate::config::{ByteSize, Config, Dur, Overrides};
use crate::store::fsck;
use crate::{server::Server, state::App, storage::DataLock};

#[derive(Parser, Debug)]
#[command(
    name = "cloudvault",
    version,
    about = "Self-hosted cloud storage: WebDAV, JSON API, quotas, smart photo search"
)]
pub struct Cli {
    /// TOML configuration file (default: none, or $CLOUDVAULT_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data folder holding the database, the JWT secret and the default volume.
    #[arg(long = "data", global = true, value_name = "DIR")]
    pub data: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server.
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080.
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Manage users, invites and quotas.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Check the store: rows against bodies, used_bytes against sizes, stale temp files.
    Fsck {
        /// Fix what can be fixed (orphan bodies, counters, stale temp files).
        #[arg(long)]
        repair: bool,
    },
    /// Copy the database (consistent, while the server runs), the JWT secret and the config
    /// into DEST/cloudvault-<time>/; with --files also every body and thumbnail, hard-linked
    /// from the previous backup in DEST when unchanged.
    Backup {
        dest: PathBuf,
        /// Include file bodies and thumbnails (incremental).
        #[arg(long)]
        files: bool,
    },
    /// Bring a backup (a DEST/cloudvault-<time> folder, or DEST for its latest) back into the
    /// data folder and volumes. The server must be stopped.
    Restore {
        src: PathBuf,
        /// Replace an existing database.
        #[arg(long)]
        force: bool,
    },
    /// The CLIP model behind photo tags and search: download it, check it.
    Model {
        #[command(subcommand)]
        command: ModelCommand,
    },
    /// Set up this Debian box for the service (as root): system user, binary, folders, config,
    /// the hardened systemd unit and the nightly backup + fsck timer. Safe to run again.
    Install(InstallArgs),
}

#[derive(clap::Args, Debug)]
pub struct InstallArgs {
    /// Write everything under this folder instead of / (staging; no systemctl).
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// The system user the service runs as.
    #[arg(long, default_value = "cloudvault")]
    pub user: String,
    #[arg(long, value_name = "PATH", default_value = "/usr/local/bin/cloudvault")]
    pub bin: PathBuf,
    #[arg(long, value_name = "DIR", default_value = "/etc/cloudvault")]
    pub config_dir: PathBuf,
    /// Database, JWT secret (and the default volume when no --volume is given).
    #[arg(long, value_name = "DIR", default_value = "/var/lib/cloudvault")]
    pub data_dir: PathBuf,
    /// Where the nightly backups go (best on another disk).
    #[arg(long, value_name = "DIR", default_value = "/var/backups/cloudvault")]
    pub backup_dir: PathBuf,
    #[arg(long, value_name = "DIR", default_value = "/etc/systemd/system")]
    pub unit_dir: PathBuf,
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// A disk, as NAME=PATH (repeat for each): written into the new config, owned by the user,
    /// writable by the service, its mount ordered before the service.
    #[arg(long = "volume", value_name = "NAME=PATH")]
    pub volumes: Vec<String>,
    /// Do not start without every volume mounted (RequiresMountsFor=) instead of running with
    /// an absent disk's volume offline.
    #[arg(long)]
    pub require_volumes: bool,
    /// Do not run `systemctl daemon-reload`.
    #[arg(long)]
    pub no_systemctl: bool,
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create an account (the password is asked without echo, or read as one line from a
    /// non-terminal stdin, unless --password is given).
    CreateUser {
        name: String,
        #[arg(long)]
        password: Option<String>,
        /// Give the account the admin role.
        #[arg(long)]
        admin: bool,
        /// Quota, e.g. 50GB (default: default_quota from the config).
        #[arg(long)]
        quota: Option<ByteSize>,
    },
    /// Invite codes.
    Invite {
        #[command(subcommand)]
        command: InviteCommand,
    },
    /// List users with usage and quota.
    Users,
    /// Quotas.
    Quota {
        #[command(subcommand)]
        command: QuotaCommand,
    },
    /// Keep a user's new files on one volume (`--none` to go back to the placement policy).
    Pin {
        user: String,
        /// Volume name from the configuration.
        volume: Option<String>,
        #[arg(long, conflicts_with = "volume")]
        none: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum InviteCommand {
    /// Make invite codes.
    Create {
        #[arg(long, default_value_t = 1)]
        count: u32,
        /// Lifetime, e.g. 7d or 12h (default: auth.invite_ttl).
        #[arg(long)]
        expires: Option<Dur>,
    },
    /// List unused, unexpired codes.
    List,
}

#[derive(Subcommand, Debug)]
pub enum QuotaCommand {
    /// Set a user's quota, e.g. `quota set alice 50GB`.
    Set { user: String, size: ByteSize },
}

#[derive(Subcommand, Debug)]
pub enum ModelCommand {
    /// Download a CLIP model (default ViT-B-32__openai, Immich's ONNX export on Hugging Face),
    /// verifying every file's checksum before it is put in place. Re-run it to resume or update.
    Fetch {
        /// Model name: a repository of https://huggingface.co/immich-app (see `model list`).
        name: Option<String>,
        /// Folder to write. Default: [ml] model_dir for the configured model, else <data>/models/NAME.
        #[arg(long, value_name = "DIR")]
        dest: Option<PathBuf>,
        /// Download from <URL>/<NAME>/resolve/main/<file>, or from a template containing {name} and {file}.
        #[arg(long, value_name = "URL", default_value = crate::ml::fetch::DEFAULT_BASE_URL)]
        base_url: String,
        /// Accept files the server sends without a checksum (a plain mirror you trust).
        #[arg(long)]
        allow_unverified: bool,
        /// Which weights the server runs: auto makes an int8 copy and keeps it when it is faster
        /// on this CPU (measured); int8 or float32 decide by hand.
        #[arg(long, value_enum, default_value = "auto")]
        weights: crate::ml::WeightsSetting,
    },
    /// Make the int8 copy of an installed model's encoders, measure it against float32 on this
    /// CPU, and record which one the server runs (<model>/weights.json). Restart to switch.
    Int8 {
        /// Model folder instead of [ml] model_dir.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// auto: the faster one (when the embeddings agree); int8 or float32: by hand.
        #[arg(long, value_enum, default_value = "auto")]
        weights: crate::ml::WeightsSetting,
    },
    /// Check that ONNX Runtime and the model load, and show what they are (exit 1 if not).
    Status {
        /// Model folder to check instead of [ml] model_dir.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// List the models in <data>/models and the ones that can be fetched.
    List,
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // Installing needs no configuration (it writes one).
    if let Command::Install(args) = &cli.command {
        return install(args);
    }
    let listen = match &cli.command {
        Command::Serve { listen } => *listen,
        _ => None,
    };
    let overrides = Overrides {
        config_file: cli.config.clone(),
        data_dir: cli.data.clone(),
        listen,
    };
    let config = Config::load(&overrides)?;
    init_tracing(matches!(cli.command, Command::Serve { .. }));
    match cli.command {
        Command::Serve { .. } => serve(config),
        Command::Admin { command } => admin(config, command),
        Command::Fsck { repair } => run_fsck(config, repair),
        Command::Backup { dest, files } => {
            let config_file = cli
                .config
                .clone()
                .or_else(|| std::env::var_os("CLOUDVAULT_CONFIG").map(PathBuf::from));
            let r = crate::backup::backup(&config, config_file.as_deref(), &dest, files)?;
            println!(
                "backup written to {}: {} files copied ({} bytes), {} unchanged files linked from the previous backup",
                r.path.display(),
                r.files_copied,
                r.bytes_copied,
                r.files_linked
            );
            for m in &r.missing {
                println!("warning: {m} was deleted during the backup");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore { src, force } => {
            let r = crate::backup::restore(&config, &src, force)?;
            println!(
                "restored {} into {} ({} files on volumes {}); run `{} fsck` to check it",
                src.display(),
                config.data_dir.display(),
                r.files,
                r.volumes.join(", "),
                command_line(&config.data_dir)
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Model { command } => model(config, command),
        Command::Install(_) => unreachable!("handled above"),
    }
}

fn install(a: &InstallArgs) -> anyhow::Result<ExitCode> {
    let volumes = a
        .volumes
        .iter()
        .map(|v| {
            let (name, path) = v
                .split_once('=')
                .with_context(|| format!("--volume {v:?}: want NAME=PATH"))?;
            Ok((name.trim().to_string(), PathBuf::from(path.trim())))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    // The same rules as the config file's.
    let check = Config {
        volumes: volumes
            .iter()
            .map(|(n, p)| crate::config::VolumeConfig::new(n.clone(), p.clone()))
            .collect(),
        ..Config::default()
    };
    check.validate()?;
    crate::ops::install::install(&crate::ops::install::InstallOptions {
        root: a.root.clone(),
        user: a.user.clone(),
        bin: a.bin.clone(),
        config_dir: a.config_dir.clone(),
        data_dir: a.data_dir.clone(),
        backup_dir: a.backup_dir.clone(),
        unit_dir: a.unit_dir.clone(),
        listen: a.listen.clone(),
        volumes,
        require_volumes: a.require_volumes,
        systemctl: !a.no_systemctl,
    })?;
    Ok(ExitCode::SUCCESS)
}

fn init_tracing(server: bool) {
    let default = if server {
        "info,tower_http=warn"
    } else {
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CLOUDVAULT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // No colour codes when stderr is a file or journald.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .try_init();
}

fn serve(config: Config) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let data = config.data_dir.clone();
        let server = Server::build(config).await?;
        let addr = server.local_addr();
        let app = server.app().clone();
        println!("CloudVault listening on http://{addr}/ (data folder {})", data.display());
        if let Some(token) = app.accounts.setup_link_token().await? {
            // The token goes in the fragment: a browser never sends it to a proxy or a log.
            let host = if addr.ip().is_unspecified() {
                std::net::SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port())
            } else {
                addr
            };
            println!(
                "No admin account yet. Open this one-time link to create it (valid until used or the server restarts):\n  http://{host}/setup#token={token}\nor create it here: {} admin create-user NAME --admin",
                command_line(&data)
            );
        }
        server.run_until(shutdown_signal()).await
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = ctrl_c => {},
        _ = term.recv() => {},
    }
    tracing::info!("shutting down");
}

/// How to run this very binary on this data folder, for hints: its real path (`cloudvault` is
/// not on PATH after `scripts/start.sh`) and the data folder as an absolute path.
fn command_line(data: &std::path::Path) -> String {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "cloudvault".into());
    let data = std::path::absolute(data).unwrap_or_else(|_| data.to_path_buf());
    format!(
        "{} --data {}",
        shell_word(&exe),
        shell_word(&data.display().to_string())
    )
}

/// `s` as one shell word (quoted when it holds anything but plain path characters).
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The password for a new account: asked twice without echo on a terminal, else one line of
/// stdin (scripts pipe it in).
fn read_new_password(username: &str) -> anyhow::Result<String> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("Password for {username}: "))?;
        let again = rpassword::prompt_password("Repeat the password: ")?;
        if first != again {
            bail!("the two passwords differ: nothing was created");
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

async fn find_user(app: &App, name: &str) -> anyhow::Result<auth::User> {
    app.accounts
        .find_user_by_name(name)
        .await?
        .with_context(|| format!("no user named {name:?}"))
}

fn human(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1000.0 && i < UNITS.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    if i == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

/// The admin commands go through the accounts service, as the API's do (same rules), which
/// writes their audit entry in the transaction that makes the change. A current-thread runtime runs the service's database work on
/// its blocking threads.
fn admin(config: Config, command: AdminCommand) -> anyhow::Result<ExitCode> {
    let app = App::open(config)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        match command {
            AdminCommand::CreateUser {
                name,
                password,
                admin,
                quota,
            } => admin_create_user(&app, &name, password, admin, quota).await,
            AdminCommand::Invite {
                command: InviteCommand::Create { count, expires },
            } => admin_create_invites(&app, count, expires).await,
            AdminCommand::Invite {
                command: InviteCommand::List,
            } => admin_list_invites(&app).await,
            AdminCommand::Users => admin_list_users(&app).await,
            AdminCommand::Pin { user, volume, none } => {
                admin_pin_volume(&app, &user, volume, none).await
            }
            AdminCommand::Quota {
                command: QuotaCommand::Set { user, size },
            } => admin_set_quota(&app, &user, size).await,
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn admin_create_user(
    app: &App,
    name: &str,
    password: Option<String>,
    admin: bool,
    quota: Option<ByteSize>,
) -> anyhow::Result<()> {
    let username = auth::parse_username(name)?;
    let password = match password {
        Some(p) => p,
        None => read_new_password(&username)?,
    };
    let audit = Entry::by_cli(action::USER_CREATE);
    let user = app
        .accounts
        .create_user_by_admin(&username, password, admin, quota.map(|q| q.0), audit)
        .await?;
    println!(
        "created {}{} (id {}, quota {})",
        user.username,
        if admin { " [admin]" } else { "" },
        user.id,
        human(user.quota_bytes)
    );
    Ok(())
}

async fn admin_create_invites(app: &App, count: u32, expires: Option<Dur>) -> anyhow::Result<()> {
    if !(1..=100).contains(&count) {
        bail!("--count must be between 1 and 100");
    }
    let ttl = expires.map(|d| d.0.as_secs() as i64);
    // Audited in the transaction that makes the codes.
    let audit = Entry::by_cli(action::INVITES_CREATE);
    let codes = app.accounts.create_invites(count, ttl, None, audit).await?;
    print_invites(&codes);
    Ok(())
}

fn print_invites(codes: &[auth::Invite]) {
    for i in codes {
        println!(
            "{}  (expires {})",
            i.code,
            crate::http::dto::rfc3339(i.expires_at)
        );
    }
}

async fn admin_list_invites(app: &App) -> anyhow::Result<()> {
    let codes = app.accounts.list_active_invites().await?;
    if codes.is_empty() {
        println!("no active invite codes");
    }
    print_invites(&codes);
    Ok(())
}

async fn admin_list_users(app: &App) -> anyhow::Result<()> {
    println!(
        "{:<24} {:>12} {:>12} {:>6}  flags",
        "username", "used", "quota", "use%"
    );
    for u in app.accounts.list_users().await? {
        let pct = if u.quota_bytes > 0 {
            u.used_bytes as f64 * 100.0 / u.quota_bytes as f64
        } else {
            0.0
        };
        let mut flags = Vec::new();
        if u.is_admin {
            flags.push("admin");
        }
        if u.disabled {
            flags.push("disabled");
        }
        println!(
            "{:<24} {:>12} {:>12} {:>5.1}%  {}",
            u.username,
            human(u.used_bytes),
            human(u.quota_bytes),
            pct,
            flags.join(",")
        );
    }
    Ok(())
}

async fn admin_pin_volume(
    app: &App,
    user: &str,
    volume: Option<String>,
    none: bool,
) -> anyhow::Result<()> {
    let u = find_user(app, user).await?;
    if volume.is_none() && !none {
        bail!("name a volume, or --none");
    }
    if let Some(v) = &volume
        && app.store.volumes.get(v).is_none()
    {
        bail!("no volume named {v:?} in the configuration");
    }
    let audit = Entry::by_cli(action::VOLUME_PIN);
    let u = app
        .accounts
        .pin_volume(&u.id, volume.clone(), audit)
        .await?;
    match volume {
        Some(v) => println!("{}: new files go to volume {v}", u.username),
        None => println!("{}: new files follow the placement policy", u.username),
    }
    Ok(())
}

async fn admin_set_quota(app: &App, user: &str, size: ByteSize) -> anyhow::Result<()> {
    let u = find_user(app, user).await?;
    let audit = Entry::by_cli(action::QUOTA_SET);
    let u = app.accounts.set_quota(&u.id, size.0, audit).await?;
    println!(
        "{}: quota {} (used {})",
        u.username,
        human(u.quota_bytes),
        human(u.used_bytes)
    );
    if u.used_bytes > u.quota_bytes {
        println!(
            "note: usage is above the new quota; uploads are refused until files are deleted (nothing is deleted)"
        );
    }
    Ok(())
}

fn run_fsck(config: Config, repair: bool) -> anyhow::Result<ExitCode> {
    let running = DataLock::is_held(&config.data_dir);
    if !config.db_path().exists() {
        bail!("no database at {}", config.db_path().display());
    }
    let app = App::open(config)?;
    let report = fsck::run_fsck(&app.store, repair, running)?;
    for v in app.store.volumes.status() {
        match v.problem {
            None => println!("volume {}: online ({})", v.name, v.path),
            Some(p) => println!("volume {}: OFFLINE: {p}", v.name),
        }
    }
    for n in &report.notes {
        println!("note: {n}");
    }
    for p in &report.problems {
        println!("problem: {p}");
    }
    for r in &report.repaired {
        println!("repaired: {r}");
    }
    if report.is_consistent() {
        println!(
            "fsck: store consistent ({} files, {} users checked)",
            report.files_checked, report.users_checked
        );
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "fsck: {} problem(s) found{}",
            report.problems.len() - report.repaired.len(),
            if repair {
                " that could not be repaired"
            } else {
                "; run with --repair to fix what can be fixed"
            }
        );
        Ok(ExitCode::from(1))
    }
}

fn model(config: Config, command: ModelCommand) -> anyhow::Result<ExitCode> {
    match command {
        ModelCommand::Fetch {
            name,
            dest,
            base_url,
            allow_unverified,
            weights,
        } => model_fetch(&config, name, dest, base_url, allow_unverified, weights),
        ModelCommand::Int8 { dir, weights } => model_int8(&config, dir, weights),
        ModelCommand::Status { dir } => model_status(&config, dir),
        ModelCommand::List => model_list(&config),
    }
}

fn model_fetch(
    config: &Config,
    name: Option<String>,
    dest: Option<PathBuf>,
    base_url: String,
    allow_unverified: bool,
    weights: crate::ml::WeightsSetting,
) -> anyhow::Result<ExitCode> {
    use crate::ml;
    let configured = config.ml_model_dir();
    let configured_name = configured
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    let name = name
        .or_else(|| configured_name.clone())
        .unwrap_or_else(|| ml::DEFAULT_MODEL.to_string());
    let dest = dest.unwrap_or_else(|| {
        if configured_name.as_deref() == Some(name.as_str()) {
            configured.clone()
        } else {
            config.data_dir.join("models").join(&name)
        }
    });
    let opts = ml::fetch::FetchOptions {
        name: name.clone(),
        dest: dest.clone(),
        base_url,
        allow_unverified,
        progress: true,
    };
    eprintln!("fetching {name} into {}", dest.display());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // The int8 copy and the choice are made before the model is put in place, so a server waiting
    // for the model loads the chosen weights the first time (no restart).
    load_runtime_quietly(config);
    let mut prepared = None;
    let report = rt.block_on(ml::fetch::fetch_model_then(&opts, |staged| {
        let p = ml::weights::make_and_choose(
            &staged.files,
            staged.staging,
            &name,
            &config.ml.clip_options(),
            weights,
            true,
        )?;
        let written = p.written.clone();
        prepared = Some(p);
        Ok(written)
    }))?;
    let fetched: u64 = report
        .files
        .iter()
        .map(|(_, o)| match o {
            ml::fetch::FileOutcome::Downloaded { bytes } => *bytes,
            ml::fetch::FileOutcome::AlreadyPresent => 0,
        })
        .sum();
    let checked = if report.unverified.is_empty() {
        "every file verified".to_string()
    } else {
        format!("NOT verified: {}", report.unverified.join(", "))
    };
    println!(
        "model {name} ready in {} ({} downloaded, {checked})",
        dest.display(),
        human(fetched as i64)
    );
    if let Some(p) = &prepared {
        say_weights(p, config);
    }
    if dest != configured {
        println!(
            "to use it, set in the config:\n  [ml]\n  model_dir = \"{}\"",
            dest.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Loads ONNX Runtime when it is installed, to measure int8 against float32; silent when not.
fn load_runtime_quietly(config: &Config) {
    if let Some(lib) =
        crate::ml::find_runtime_in(config.ml.onnxruntime.as_deref(), &config.data_dir)
        && let Err(e) = crate::ml::init_runtime(&lib)
    {
        eprintln!("onnxruntime: {e}");
    }
}

/// One line: which weights the server runs and why (and when the config overrides the choice).
fn say_weights(p: &crate::ml::weights::Prepared, config: &Config) {
    use crate::ml::WeightsSetting;
    match (&p.choice, &p.not_measured) {
        (Some(c), _) => println!("weights: the server runs {}: {}", c.weights, c.why),
        (None, Some(why)) => println!(
            "weights: the server runs float32: {why}; once it is installed, compare them with `cloudvault model int8`"
        ),
        (None, None) => {}
    }
    if config.ml.weights != WeightsSetting::Auto {
        println!(
            "note: [ml] weights = \"{}\" in the config overrides this choice",
            match config.ml.weights {
                WeightsSetting::Float32 => "float32",
                _ => "int8",
            }
        );
    }
}

fn model_int8(
    config: &Config,
    dir: Option<PathBuf>,
    weights: crate::ml::WeightsSetting,
) -> anyhow::Result<ExitCode> {
    use crate::ml;
    let dir = dir.unwrap_or_else(|| config.ml_model_dir());
    let files = ml::ModelFiles::in_dir(&dir);
    files.check()?;
    load_runtime_quietly(config);
    if weights == ml::WeightsSetting::Auto && !ml::runtime_ready() {
        anyhow::bail!(
            "ONNX Runtime is not installed, so int8 cannot be measured against float32: install it \
             (scripts/fetch-onnxruntime.sh {}) or choose by hand with --weights int8",
            config.data_dir.join("onnxruntime").display()
        );
    }
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    let p = ml::weights::make_and_choose(
        &files,
        &dir,
        &name,
        &config.ml.clip_options(),
        weights,
        true,
    )?;
    say_weights(&p, config);
    println!("a running server keeps the weights it loaded until it is restarted");
    Ok(ExitCode::SUCCESS)
}

fn model_status(config: &Config, dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    use crate::ml;
    let mut ok = true;
    match ml::find_runtime_in(config.ml.onnxruntime.as_deref(), &config.data_dir) {
        None => {
            ok = false;
            println!(
                "onnxruntime: not found (set [ml] onnxruntime, or run scripts/fetch-onnxruntime.sh {})",
                config.data_dir.join("onnxruntime").display()
            );
        }
        Some(lib) => match ml::init_runtime(&lib) {
            Ok(()) => println!("onnxruntime: {} (loaded)", lib.display()),
            Err(e) => {
                ok = false;
                println!("onnxruntime: {e}");
            }
        },
    }
    let dir = dir.unwrap_or_else(|| config.ml_model_dir());
    let loaded = if ml::runtime_ready() {
        ml::ClipModel::load(&dir, &config.ml.clip_options()).map(Some)
    } else {
        ml::ModelFiles::in_dir(&dir).check().map(|()| None)
    };
    match loaded {
        Ok(Some(m)) => {
            println!(
                "model: {} ({}: {}-dim embeddings, {}px pictures, {} text tokens)",
                dir.display(),
                m.id(),
                m.dim(),
                m.image_size(),
                m.context_length()
            );
            let (w, why) = m.weights();
            println!("weights: {w} ({why})");
        }
        Ok(None) => println!(
            "model: {} (files present; not loaded without ONNX Runtime)",
            dir.display()
        ),
        Err(e) => {
            ok = false;
            println!("model: {e}");
        }
    }
    match ml::LabelSet::load_or_builtin(config.ml.labels.as_deref()) {
        Ok(set) => println!(
            "labels: {} labels, {} prompts ({}, fingerprint {})",
            set.labels().len(),
            set.prompt_count(),
            config
                .ml
                .labels
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "built in".into()),
            set.fingerprint()
        ),
        Err(e) => {
            ok = false;
            println!("labels: {e}");
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn model_list(config: &Config) -> anyhow::Result<ExitCode> {
    use crate::ml;
    let models = config.data_dir.join("models");
    let mut found = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&models) {
        for e in entries.flatten().filter(|e| e.path().is_dir()) {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".download") {
                continue;
            }
            let files = ml::ModelFiles::in_dir(&e.path());
            let size: u64 = ml::ModelFiles::RELATIVE
                .iter()
                .filter_map(|r| std::fs::metadata(e.path().join(r)).ok())
                .map(|m| m.len())
                .sum();
            let state = if files.check().is_ok() {
                "complete"
            } else {
                "incomplete"
            };
            found.push(format!("  {name:<32} {:>10}  {state}", human(size as i64)));
        }
    }
    found.sort();
    println!("in {}:", models.display());
    if found.is_empty() {
        println!("  (none)");
    }
    found.iter().for_each(|l| println!("{l}"));
    println!(
        "can be fetched ({} model fetch NAME):",
        command_line(&config.data_dir)
    );
    for (name, what) in ml::fetch::KNOWN_MODELS {
        println!("  {name:<32} {what}");
    }
    Ok(ExitCode::SUCCESS)
}
