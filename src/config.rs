//! Configuration: defaults → TOML file → `CLOUDVAULT_*` environment → command-line flags, then `validate()`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::{Deserialize, Deserializer};

/// The whole configuration. Every key is documented in `config/cloudvault.example.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// Holds `cloudvault.db`, `jwt-secret` and (with no `[[volumes]]`) the default volume.
    pub data_dir: PathBuf,
    /// Quota given to new accounts.
    pub default_quota: ByteSize,
    /// How a new file body picks its volume.
    pub placement: Placement,
    /// Background worker threads (thumbnails, AI).
    pub workers: usize,
    /// Folder holding the built web UI (`webui/dist`); a built-in placeholder page is served when absent.
    pub webui_dir: Option<PathBuf>,
    /// Peers whose `X-Forwarded-For` / `CF-Connecting-IP` are believed (Caddy, cloudflared on this box).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub auth: AuthConfig,
    pub volumes: Vec<VolumeConfig>,
    pub ml: MlConfig,
    pub media: MediaConfig,
    pub http: HttpConfig,
    /// Entries of the audit log (admin actions, sign-ins) older than this are deleted.
    pub audit_retention: Dur,
    /// Items in a user's trash are deleted for good this long after they were deleted.
    pub trash_retention: Dur,
    /// Earlier versions of a file older than this are deleted (thinned before that, see
    /// `store/versions.rs`).
    pub versions_max_age: Dur,
}

/// `[http]`: limits that keep slow or hostile clients from holding the server (see `src/ops/`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// A client must send a request's whole header within this (slowloris); also how long an
    /// idle keep-alive connection stays open.
    pub header_read_timeout: Dur,
    /// A request body that sends nothing for this long is cut off (slow uploads that stall).
    pub body_idle_timeout: Dur,
    /// A client that reads nothing of an answer for this long is cut off (slow readers).
    pub send_timeout: Dur,
    /// Largest request line + headers, in bytes (431 beyond).
    pub max_header_bytes: ByteSize,
    /// Most header fields in one request (431 beyond).
    pub max_headers: usize,
    /// Open connections per client address; trusted proxies are exempt.
    pub max_connections_per_address: usize,
    /// On SIGTERM: how long requests in flight (uploads) may take to finish before they are
    /// aborted (their temp files removed, their quota reservations given back).
    pub shutdown_grace: Dur,
    /// Requests to `/api/auth/*` (login, register, refresh, ...) per client address per minute.
    pub auth_requests_per_minute: u32,
    /// Transfers (download and upload bodies) open at once; beyond it 503 + `Retry-After`.
    pub max_transfers: usize,
    /// Transfers open at once per signed-in user; beyond it 503 + `Retry-After`.
    pub max_transfers_per_user: usize,
    /// A transfer moving fewer bytes per second than this, over `min_rate_window` after
    /// `min_rate_grace`, is cut. 0 turns the rule off.
    pub min_transfer_rate: ByteSize,
    pub min_rate_window: Dur,
    pub min_rate_grace: Dur,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            header_read_timeout: Dur(Duration::from_secs(30)),
            body_idle_timeout: Dur(Duration::from_secs(60)),
            send_timeout: Dur(Duration::from_secs(60)),
            max_header_bytes: ByteSize(64 << 10),
            max_headers: 100,
            max_connections_per_address: 256,
            shutdown_grace: Dur(Duration::from_secs(30)),
            auth_requests_per_minute: 60,
            max_transfers: 256,
            max_transfers_per_user: 32,
            min_transfer_rate: ByteSize(2 << 10),
            min_rate_window: Dur(Duration::from_secs(30)),
            min_rate_grace: Dur(Duration::from_secs(10)),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    pub access_token_ttl: Dur,
    pub refresh_token_ttl: Dur,
    /// Lifetime of invite codes when none is given.
    pub invite_ttl: Dur,
    /// Failed logins allowed per account, and per client address, within `login_window`.
    pub login_failures_per_account: u32,
    pub login_failures_per_address: u32,
    pub login_window: Dur,
    /// Access requests accepted per client address within `login_window`.
    pub access_requests_per_address: u32,
}

/// `[ml]`: the CLIP model behind auto-tags and search (see `src/ml/`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MlConfig {
    /// Model folder (Immich layout). Default: `<data_dir>/models/ViT-B-32__openai`.
    pub model_dir: Option<PathBuf>,
    /// `libonnxruntime.so`. Default: `$ORT_DYLIB_PATH`, then `<data_dir>/onnxruntime/`, next to the binary, system folders.
    pub onnxruntime: Option<PathBuf>,
    /// ONNX Runtime threads per encoder; 0 = one per core.
    pub threads: usize,
    /// Pictures per inference call.
    pub batch_size: usize,
    /// Label file for auto-tags. Default: the built-in copy of `config/labels.txt`.
    pub labels: Option<PathBuf>,
    /// `auto` (what `model fetch` measured faster on this CPU, in `<model>/weights.json`),
    /// `float32` or `int8`.
    pub weights: crate::ml::WeightsSetting,
}

impl Default for MlConfig {
    fn default() -> Self {
        MlConfig {
            model_dir: None,
            onnxruntime: None,
            threads: 0,
            batch_size: 8,
            labels: None,
            weights: crate::ml::WeightsSetting::Auto,
        }
    }
}
/// `[media]`: thumbnails and video frames.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaConfig {
    /// ffmpeg and ffprobe programs (a name looked up on PATH, or a path).
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
    /// Images larger than this are refused from their header (decompression bombs).
    pub max_megapixels: u32,
    /// Wall-clock budget for one video (probe + frame).
    pub video_timeout: Dur,
}

impl Default for MediaConfig {
    fn default() -> Self {
        let limits = crate::media::MediaLimits::default();
        MediaConfig {
            ffmpeg: limits.ffmpeg,
            ffprobe: limits.ffprobe,
            max_megapixels: (limits.max_pixels / 1_000_000) as u32,
            video_timeout: Dur(limits.video_timeout),
        }
    }
}

impl MlConfig {
    pub fn clip_options(&self) -> crate::ml::ClipOptions {
        crate::ml::ClipOptions {
            threads: self.threads,
            batch_size: self.batch_size,
            weights: self.weights,
        }
    }
}
impl From<&MediaConfig> for crate::media::MediaLimits {
    fn from(c: &MediaConfig) -> Self {
        crate::media::MediaLimits {
            max_pixels: c.max_megapixels as u64 * 1_000_000,
            video_timeout: c.video_timeout.0,
            ffmpeg: c.ffmpeg.clone(),
            ffprobe: c.ffprobe.clone(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeConfig {
    pub name: String,
    pub path: PathBuf,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Below this much free space the volume is reported as low (admin page, /healthz).
    #[serde(default = "default_low_space")]
    pub low_space: ByteSize,
    /// New bodies are refused (`volume-full`) rather than leave less than this free: the disk
    /// never fills to the last byte, so deletes (and SQLite, when the data folder shares the
    /// disk) keep working.
    #[serde(default = "default_min_free")]
    pub min_free: ByteSize,
}

impl VolumeConfig {
    /// An enabled volume with the default thresholds.
    pub fn new(name: impl Into<String>, path: impl Into<PathBuf>) -> VolumeConfig {
        VolumeConfig {
            name: name.into(),
            path: path.into(),
            enabled: true,
            low_space: default_low_space(),
            min_free: default_min_free(),
        }
    }
}

fn yes() -> bool {
    true
}

fn default_low_space() -> ByteSize {
    ByteSize(5_000_000_000)
}

fn default_min_free() -> ByteSize {
    ByteSize(64 << 20)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Placement {
    /// The enabled, online volume with the most free space.
    MostFree,
    /// The first enabled, online volume in the order of the config file.
    FirstFit,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".parse().unwrap(),
            data_dir: PathBuf::from("./data"),
            default_quota: ByteSize(10 * 1000 * 1000 * 1000),
            placement: Placement::MostFree,
            workers: 2,
            webui_dir: None,
            trusted_proxies: vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()],
            auth: AuthConfig::default(),
            volumes: Vec::new(),
            ml: MlConfig::default(),
            media: MediaConfig::default(),
            http: HttpConfig::default(),
            audit_retention: Dur(Duration::from_secs(400 * 24 * 3600)),
            trash_retention: Dur(Duration::from_secs(30 * 24 * 3600)),
            versions_max_age: Dur(Duration::from_secs(180 * 24 * 3600)),
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            access_token_ttl: Dur(Duration::from_secs(15 * 60)),
            refresh_token_ttl: Dur(Duration::from_secs(7 * 24 * 3600)),
            invite_ttl: Dur(Duration::from_secs(7 * 24 * 3600)),
            login_failures_per_account: 10,
            login_failures_per_address: 50,
            login_window: Dur(Duration::from_secs(15 * 60)),
            access_requests_per_address: 5,
        }
    }
}

/// Overrides given on the command line; they win over file and environment.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
}

impl Config {
    /// Defaults → `--config FILE` (or `CLOUDVAULT_CONFIG`) → `CLOUDVAULT_*` → flags.
    pub fn load(overrides: &Overrides) -> anyhow::Result<Config> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(overrides, &env)
    }

    pub fn load_from(overrides: &Overrides, env: &[(String, String)]) -> anyhow::Result<Config> {
        let var = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let file = overrides
            .config_file
            .clone()
            .or_else(|| var("CLOUDVAULT_CONFIG").map(PathBuf::from));
        let mut config = match &file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading config file {}", path.display()))?;
                toml::from_str::<Config>(&text)
                    .with_context(|| format!("in config file {}", path.display()))?
            }
            None => Config::default(),
        };
        if let Some(v) = var("CLOUDVAULT_LISTEN") {
            config.listen = v
                .parse()
                .with_context(|| format!("CLOUDVAULT_LISTEN={v}"))?;
        }
        if let Some(v) = var("CLOUDVAULT_DATA_DIR") {
            config.data_dir = PathBuf::from(v);
        }
        if let Some(v) = var("CLOUDVAULT_DEFAULT_QUOTA") {
            config.default_quota = v
                .parse()
                .map_err(|e: String| anyhow::anyhow!("CLOUDVAULT_DEFAULT_QUOTA: {e}"))?;
        }
        if let Some(v) = var("CLOUDVAULT_WORKERS") {
            config.workers = v
                .parse()
                .with_context(|| format!("CLOUDVAULT_WORKERS={v}"))?;
        }
        if let Some(v) = var("CLOUDVAULT_WEBUI_DIR") {
            config.webui_dir = Some(PathBuf::from(v));
        }
        if let Some(v) = var("CLOUDVAULT_VOLUMES") {
            // name=path[,name=path...]
            config.volumes = v
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|entry| {
                    let (name, path) = entry.split_once('=').with_context(|| {
                        format!("CLOUDVAULT_VOLUMES entry {entry:?}: want name=path")
                    })?;
                    Ok(VolumeConfig::new(name.trim(), path.trim()))
                })
                .collect::<anyhow::Result<_>>()?;
        }
        if let Some(v) = var("CLOUDVAULT_ML_MODEL_DIR") {
            config.ml.model_dir = Some(PathBuf::from(v));
        }
        if let Some(v) = var("CLOUDVAULT_ML_ONNXRUNTIME") {
            config.ml.onnxruntime = Some(PathBuf::from(v));
        }
        if let Some(v) = var("CLOUDVAULT_ML_WEIGHTS") {
            use clap::ValueEnum;
            config.ml.weights = crate::ml::WeightsSetting::from_str(&v, true).map_err(|_| {
                anyhow::anyhow!("CLOUDVAULT_ML_WEIGHTS={v:?}: want auto, float32 or int8")
            })?;
        }
        if let Some(v) = var("CLOUDVAULT_FFMPEG") {
            config.media.ffmpeg = PathBuf::from(v);
        }
        if let Some(v) = var("CLOUDVAULT_FFPROBE") {
            config.media.ffprobe = PathBuf::from(v);
        }
        if let Some(v) = var("CLOUDVAULT_MAX_MEGAPIXELS") {
            config.media.max_megapixels = v
                .parse()
                .with_context(|| format!("CLOUDVAULT_MAX_MEGAPIXELS={v}"))?;
        }
        if let Some(v) = var("CLOUDVAULT_VIDEO_TIMEOUT") {
            config.media.video_timeout = v
                .parse()
                .map_err(|e: String| anyhow::anyhow!("CLOUDVAULT_VIDEO_TIMEOUT: {e}"))?;
        }
        if let Some(dir) = &overrides.data_dir {
            config.data_dir = dir.clone();
        }
        if let Some(listen) = overrides.listen {
            config.listen = listen;
        }
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        if self.workers == 0 || self.workers > 64 {
            bail!("workers must be between 1 and 64");
        }
        let mut names = std::collections::HashSet::new();
        for v in &self.volumes {
            if v.name.is_empty()
                || v.name.len() > 64
                || !v
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                bail!(
                    "volume name {:?}: use 1-64 letters, digits, '-' or '_'",
                    v.name
                );
            }
            if !names.insert(v.name.to_ascii_lowercase()) {
                bail!("volume name {:?} is used twice", v.name);
            }
        }
        if !self.volumes.is_empty() && !self.volumes.iter().any(|v| v.enabled) {
            bail!("no volume is enabled: at least one must take new files");
        }
        if self.ml.batch_size == 0 || self.ml.batch_size > 256 {
            bail!("ml.batch_size must be between 1 and 256");
        }
        if self.ml.threads > 256 {
            bail!("ml.threads must be between 0 (one per core) and 256");
        }
        if self.media.max_megapixels == 0 || self.media.max_megapixels > 10_000 {
            bail!("media.max_megapixels must be between 1 and 10000");
        }
        if self.media.video_timeout.0 < Duration::from_secs(1) {
            bail!("media.video_timeout must be at least 1 s");
        }
        if self.auth.access_token_ttl.0 < Duration::from_secs(10) {
            bail!("auth.access_token_ttl is too short");
        }
        let h = &self.http;
        for (name, d) in [
            ("http.header_read_timeout", h.header_read_timeout),
            ("http.body_idle_timeout", h.body_idle_timeout),
            ("http.send_timeout", h.send_timeout),
        ] {
            if d.0 < Duration::from_millis(100) {
                bail!("{name} must be at least 100ms");
            }
        }
        if !(8192..=1 << 20).contains(&h.max_header_bytes.0) {
            bail!("http.max_header_bytes must be between 8KiB and 1MiB");
        }
        if !(16..=1000).contains(&h.max_headers) {
            bail!("http.max_headers must be between 16 and 1000");
        }
        if h.max_transfers == 0 || h.max_transfers_per_user == 0 {
            bail!("http.max_transfers and http.max_transfers_per_user must be at least 1");
        }
        if h.min_transfer_rate.0 > 0 && h.min_rate_window.0.is_zero() {
            bail!("http.min_rate_window must be longer than 0s when min_transfer_rate is set");
        }
        if h.max_connections_per_address == 0 {
            bail!("http.max_connections_per_address must be at least 1");
        }
        if h.auth_requests_per_minute == 0 {
            bail!("http.auth_requests_per_minute must be at least 1");
        }
        Ok(())
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("cloudvault.db")
    }

    /// The configured volumes, or the embedded default: one volume inside the data folder.
    pub fn effective_volumes(&self) -> Vec<VolumeConfig> {
        if self.volumes.is_empty() {
            vec![VolumeConfig::new("default", self.data_dir.join("volume"))]
        } else {
            self.volumes.clone()
        }
    }

    /// `[ml] model_dir`, or `<data_dir>/models/ViT-B-32__openai`.
    pub fn ml_model_dir(&self) -> PathBuf {
        self.ml
            .model_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("models").join(crate::ml::DEFAULT_MODEL))
    }

    pub fn is_inside_data_dir(&self, path: &Path) -> bool {
        path.starts_with(&self.data_dir)
    }
}

/// A byte count written as `50GB`, `1.5TiB`, `500MiB` or a plain number of bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl FromStr for ByteSize {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let num: f64 = num
            .parse()
            .map_err(|_| format!("{s:?} is not a size (try 50GB, 500MiB or 1000000)"))?;
        let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kb" => 1000,
            "m" | "mb" => 1000u64.pow(2),
            "g" | "gb" => 1000u64.pow(3),
            "t" | "tb" => 1000u64.pow(4),
            "kib" => 1 << 10,
            "mib" => 1 << 20,
            "gib" => 1 << 30,
            "tib" => 1 << 40,
            other => {
                return Err(format!(
                    "{s:?}: unknown unit {other:?} (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)"
                ));
            }
        };
        let bytes = num * mult as f64;
        if !(0.0..=(u64::MAX as f64)).contains(&bytes) || bytes > i64::MAX as f64 {
            return Err(format!("{s:?} is out of range"));
        }
        Ok(ByteSize(bytes.round() as u64))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Ok(ByteSize(n)),
            Raw::S(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// A duration written as `15m`, `7d`, `3600s`, `1h 30m` (humantime) or a number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub Duration);

impl FromStr for Dur {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(secs) = s.trim().parse::<u64>() {
            return Ok(Dur(Duration::from_secs(secs)));
        }
        humantime::parse_duration(s.trim())
            .map(Dur)
            .map_err(|e| format!("{s:?} is not a duration (try 15m, 7d, 3600s): {e}"))
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Ok(Dur(Duration::from_secs(n))),
            Raw::S(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_in_decimal_and_binary_units() {
        assert_eq!("50GB".parse::<ByteSize>().unwrap().0, 50_000_000_000);
        assert_eq!("1.5 KiB".parse::<ByteSize>().unwrap().0, 1536);
        assert_eq!("1000".parse::<ByteSize>().unwrap().0, 1000);
        assert!("12 parsecs".parse::<ByteSize>().is_err());
        assert!("-5GB".parse::<ByteSize>().is_err());
    }

    #[test]
    fn durations_parse() {
        assert_eq!("15m".parse::<Dur>().unwrap().0, Duration::from_secs(900));
        assert_eq!(
            "7d".parse::<Dur>().unwrap().0,
            Duration::from_secs(7 * 86400)
        );
        assert_eq!("30".parse::<Dur>().unwrap().0, Duration::from_secs(30));
    }

    #[test]
    fn file_then_env_then_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\ndefault_quota = \"2GB\"\n[[volumes]]\nname = \"1tb\"\npath = \"/mnt/1tb\"\n",
        )
        .unwrap();
        let env = vec![("CLOUDVAULT_DEFAULT_QUOTA".to_string(), "3GB".to_string())];
        let o = Overrides {
            config_file: Some(file),
            data_dir: None,
            listen: Some("127.0.0.1:9001".parse().unwrap()),
        };
        let c = Config::load_from(&o, &env).unwrap();
        assert_eq!(c.listen.port(), 9001);
        assert_eq!(c.default_quota.0, 3_000_000_000);
        assert_eq!(c.volumes[0].name, "1tb");
        assert!(c.volumes[0].enabled);
    }

    #[test]
    fn media_table_then_env_gives_limits() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "[media]\nffmpeg = \"/opt/ff/ffmpeg\"\nmax_megapixels = 50\nvideo_timeout = \"2m\"\n",
        )
        .unwrap();
        let env = vec![(
            "CLOUDVAULT_FFPROBE".to_string(),
            "/opt/ff/ffprobe".to_string(),
        )];
        let o = Overrides {
            config_file: Some(file),
            ..Overrides::default()
        };
        let c = Config::load_from(&o, &env).unwrap();
        let limits = crate::media::MediaLimits::from(&c.media);
        assert_eq!(limits.ffmpeg, PathBuf::from("/opt/ff/ffmpeg"));
        assert_eq!(limits.ffprobe, PathBuf::from("/opt/ff/ffprobe"));
        assert_eq!(limits.max_pixels, 50_000_000);
        assert_eq!(limits.video_timeout, Duration::from_secs(120));
        let defaults = crate::media::MediaLimits::from(&Config::default().media);
        assert_eq!(defaults.max_pixels, 100_000_000);
        assert_eq!(defaults.video_timeout, Duration::from_secs(60));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = toml::from_str::<Config>("listn = \"x\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("listn"), "{err}");
    }

    #[test]
    fn example_config_parses() {
        let text = include_str!("../config/cloudvault.example.toml");
        let c: Config = toml::from_str(text).unwrap();
        c.validate().unwrap();
    }
}
