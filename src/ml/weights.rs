//! Which weights the server runs: a model folder's float32 encoders as downloaded, or their int8
//! copies (`visual/model.int8.onnx`, `textual/model.int8.onnx`, made by [`super::quantize`]).
//!
//! Int8 is not always faster: it wins by 2-3x where the CPU has VNNI (AVX-512 VNNI, AVX-VNNI) and
//! by less on plain AVX2, and an old or unusual CPU may gain nothing. So `cloudvault model fetch`
//! (and `cloudvault model int8`) measures both on this machine, on the same pictures and threads as
//! the server, checks that the int8 embeddings agree with the float32 ones, and records the
//! choice and its reasons in `<model>/weights.json`. The server follows that file unless
//! `[ml] weights` says `float32` or `int8`. The two sets of weights give different embeddings, so
//! they have different model ids (the id hashes the encoder files): a switch re-embeds the pictures.

use std::path::{Path, PathBuf};
use std::time::Instant;

use image::RgbImage;
use serde::{Deserialize, Serialize};

use super::quantize::{QuantizeReport, quantize_model};
use super::{ClipModel, ClipOptions, MlError, ModelFiles, SessionTuning, dot};

/// The file that records the choice, in the model folder.
pub const CHOICE_FILE: &str = "weights.json";

/// Int8 must be at least this much faster (time per picture, int8 / float32) to be chosen.
pub const FASTER_BY: f64 = 0.9;
/// Every probe's int8 embedding must be at least this close (cosine) to its float32 one.
pub const MIN_AGREEMENT: f32 = 0.95;

/// `[ml] weights`: follow `weights.json` (auto), or always one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum WeightsSetting {
    #[default]
    Auto,
    Float32,
    Int8,
}

/// The weights a model runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weights {
    Float32,
    Int8,
}

impl std::fmt::Display for Weights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Weights::Float32 => "float32",
            Weights::Int8 => "int8",
        })
    }
}

/// What `weights.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub weights: Weights,
    /// One sentence for people (`model status`, the admin page's log line).
    pub why: String,
    pub float32_ms_per_picture: Option<f64>,
    pub int8_ms_per_picture: Option<f64>,
    /// The smallest cosine between a probe's float32 and int8 embeddings (pictures and texts).
    pub agreement: Option<f32>,
    pub cpu: String,
    pub measured_at: String,
}

/// `visual/model.onnx` → `visual/model.int8.onnx`.
pub fn int8_path(float32: &Path) -> PathBuf {
    float32.with_file_name("model.int8.onnx")
}

/// The int8 encoders' paths relative to the model folder.
pub const INT8_RELATIVE: [&str; 2] = ["textual/model.int8.onnx", "visual/model.int8.onnx"];

/// The files of `files` with the int8 encoders in place of the float32 ones.
pub fn int8_files(files: &ModelFiles) -> ModelFiles {
    ModelFiles {
        visual: int8_path(&files.visual),
        textual: int8_path(&files.textual),
        ..files.clone()
    }
}

pub fn read_choice(dir: &Path) -> Option<Choice> {
    let text = std::fs::read_to_string(dir.join(CHOICE_FILE)).ok()?;
    serde_json::from_str(&text).ok()
}

/// The weights to load from `dir` and why: `[ml] weights` when it names one, else the recorded
/// choice (when its int8 files are there), else float32.
pub fn resolve(
    dir: &Path,
    files: ModelFiles,
    setting: WeightsSetting,
) -> Result<(ModelFiles, Weights, String), MlError> {
    let int8 = int8_files(&files);
    let has_int8 = int8.visual.is_file() && int8.textual.is_file();
    match setting {
        WeightsSetting::Float32 => {
            Ok((files, Weights::Float32, "[ml] weights = \"float32\"".into()))
        }
        WeightsSetting::Int8 if has_int8 => {
            Ok((int8, Weights::Int8, "[ml] weights = \"int8\"".into()))
        }
        WeightsSetting::Int8 => Err(MlError::ModelMissing(format!(
            "[ml] weights = \"int8\", but {} has no int8 copy: make it with `cloudvault model int8`",
            dir.display()
        ))),
        WeightsSetting::Auto => match read_choice(dir) {
            Some(c) if c.weights == Weights::Int8 && has_int8 => Ok((int8, Weights::Int8, c.why)),
            Some(c) if c.weights == Weights::Float32 => Ok((files, Weights::Float32, c.why)),
            Some(_) => Ok((
                files,
                Weights::Float32,
                format!("{CHOICE_FILE} chose int8 but the int8 files are missing"),
            )),
            None => Ok((
                files,
                Weights::Float32,
                "as downloaded (no int8 copy measured: `cloudvault model int8`)".into(),
            )),
        },
    }
}

/// Writes the int8 copy of the encoder at `src` to `dest` (a temporary file, flushed, then
/// renamed: a reader never sees half a model).
pub fn write_int8(src: &Path, dest: &Path) -> anyhow::Result<QuantizeReport> {
    use anyhow::Context;
    let bytes = std::fs::read(src).with_context(|| format!("reading {}", src.display()))?;
    let (out, report) =
        quantize_model(&bytes).with_context(|| format!("quantising {}", src.display()))?;
    drop(bytes);
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = dest.with_extension("onnx.tmp");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&out)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, dest)?;
    Ok(report)
}

/// Probe pictures: smooth gradients with bands and a disc, different in every picture (what is
/// measured is the arithmetic, which does not depend on what the picture shows).
pub fn probe_pictures(n: usize, size: u32) -> Vec<RgbImage> {
    (0..n)
        .map(|k| {
            let k = k as f32;
            RgbImage::from_fn(size, size, |x, y| {
                let (fx, fy) = (x as f32 / size as f32, y as f32 / size as f32);
                let d = ((fx - 0.3 - k * 0.05).powi(2) + (fy - 0.6).powi(2)).sqrt();
                let band = ((fy * (6.0 + k)).floor() as u32 % 2) as f32;
                image::Rgb([
                    (255.0 * fx * (1.0 - band * 0.5)) as u8,
                    if d < 0.2 { 230 } else { (255.0 * fy) as u8 },
                    ((k * 37.0 + 255.0 * (1.0 - fx)) % 256.0) as u8,
                ])
            })
        })
        .collect()
}

const PROBE_TEXTS: [&str; 4] = [
    "a photo of a dog on a beach at sunset",
    "a birthday cake with candles",
    "snow on the mountains",
    "a receipt",
];

/// Time per picture (ms) and the embeddings of the probes, after one warm-up batch.
fn time_model(
    model: &ClipModel,
    probes: &[RgbImage],
    rounds: usize,
) -> Result<(f64, Vec<Vec<f32>>), MlError> {
    let warm = probes.len().min(4);
    model.embed_images(&probes[..warm])?;
    let t = Instant::now();
    let mut out = Vec::new();
    for _ in 0..rounds {
        out = model.embed_images(probes)?;
    }
    let ms = t.elapsed().as_secs_f64() * 1000.0 / (rounds * probes.len()) as f64;
    Ok((ms, out))
}

/// What this CPU offers for int8 (from /proc/cpuinfo): "AVX-512 VNNI", "AVX-VNNI", "AVX2", ...
pub fn cpu_summary() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = info
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split(':').nth(1))
        })
        .map(|s| s.trim().to_string());
    let flags: Vec<&str> = info
        .lines()
        .find_map(|l| l.strip_prefix("flags").and_then(|r| r.split(':').nth(1)))
        .map(|f| f.split_whitespace().collect())
        .unwrap_or_default();
    let has = |f: &str| flags.contains(&f);
    let simd = if has("avx512_vnni") {
        "AVX-512 VNNI"
    } else if has("avx_vnni") {
        "AVX-VNNI"
    } else if has("avx512f") {
        "AVX-512 (no VNNI)"
    } else if has("avx2") {
        "AVX2 (no VNNI)"
    } else if cfg!(target_arch = "aarch64") {
        "ARM64"
    } else {
        "no AVX2"
    };
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    match model {
        Some(m) => format!("{m}, {simd}, {cores} threads"),
        None => format!("{} {simd}, {cores} threads", std::env::consts::ARCH),
    }
}

/// Loads both weights (as the server would, with `opts`), times them on the same probe pictures,
/// compares their embeddings, and decides. `force` records a choice made by hand, still measured.
pub fn measure(
    float32: &ModelFiles,
    int8: &ModelFiles,
    name: &str,
    opts: &ClipOptions,
    force: Option<Weights>,
) -> Result<Choice, MlError> {
    let tuning = SessionTuning::default();
    let probes_n = opts.batch_size.clamp(4, 16);
    let f = ClipModel::load_files(float32, name, opts, &tuning)?;
    let probes = probe_pictures(probes_n, f.image_size());
    let (f_ms, f_emb) = time_model(&f, &probes, 2)?;
    let f_text = f.embed_texts(&PROBE_TEXTS)?;
    drop(f);
    let q = ClipModel::load_files(int8, name, opts, &tuning)?;
    let (q_ms, q_emb) = time_model(&q, &probes, 2)?;
    let q_text = q.embed_texts(&PROBE_TEXTS)?;
    drop(q);
    let agreement = f_emb
        .iter()
        .zip(&q_emb)
        .chain(f_text.iter().zip(&q_text))
        .map(|(a, b)| dot(a, b))
        .fold(1.0f32, f32::min);
    let speed = f_ms / q_ms;
    let measured = format!(
        "int8 {q_ms:.0} ms a picture, float32 {f_ms:.0} ms ({speed:.2}x), embeddings within cosine {agreement:.3}"
    );
    let (weights, why) = match force {
        Some(w) => (w, format!("chosen by hand; measured: {measured}")),
        None if agreement < MIN_AGREEMENT => (
            Weights::Float32,
            format!(
                "int8 embeddings stray from float32 (cosine {agreement:.3} < {MIN_AGREEMENT}): {measured}"
            ),
        ),
        None if q_ms > f_ms * FASTER_BY => (
            Weights::Float32,
            format!("int8 is not faster on this CPU: {measured}"),
        ),
        None => (
            Weights::Int8,
            format!("int8 is {speed:.1}x as fast on this CPU: {measured}"),
        ),
    };
    Ok(Choice {
        weights,
        why,
        float32_ms_per_picture: Some((f_ms * 100.0).round() / 100.0),
        int8_ms_per_picture: Some((q_ms * 100.0).round() / 100.0),
        agreement: Some(agreement),
        cpu: cpu_summary(),
        measured_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
    })
}

/// Writes `weights.json` into `dir` (temporary file, flushed, renamed).
pub fn write_choice(dir: &Path, choice: &Choice) -> anyhow::Result<()> {
    use std::io::Write;
    let path = dir.join(CHOICE_FILE);
    let tmp = dir.join(format!("{CHOICE_FILE}.tmp"));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(serde_json::to_string_pretty(choice)?.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    Ok(())
}

/// What [`make_and_choose`] did.
pub struct Prepared {
    /// Files written under the output folder, relative to it.
    pub written: Vec<String>,
    /// The choice recorded in `weights.json` (None: nothing measured or chosen).
    pub choice: Option<Choice>,
    /// Why there is no choice, when there is none.
    pub not_measured: Option<String>,
    pub reports: Vec<QuantizeReport>,
}

/// Makes the int8 copy of the encoders of `float32` under `out` (same relative paths as in a
/// model folder), then measures and records the choice in `out/weights.json`: `setting` Auto
/// picks by measurement, Int8 or Float32 records that choice (measured too when possible). Without
/// ONNX Runtime loaded nothing can be measured: Auto then records nothing (the server keeps
/// float32) and says why. Float32 by hand makes no int8 copy at all.
pub fn make_and_choose(
    float32: &ModelFiles,
    out: &Path,
    name: &str,
    opts: &ClipOptions,
    setting: WeightsSetting,
    progress: bool,
) -> anyhow::Result<Prepared> {
    let mut prepared = Prepared {
        written: Vec::new(),
        choice: None,
        not_measured: None,
        reports: Vec::new(),
    };
    let by_hand = |w: Weights, why: &str| Choice {
        weights: w,
        why: why.to_string(),
        float32_ms_per_picture: None,
        int8_ms_per_picture: None,
        agreement: None,
        cpu: cpu_summary(),
        measured_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
    };
    if setting == WeightsSetting::Float32 {
        let c = by_hand(
            Weights::Float32,
            "chosen by hand (--weights float32); no int8 copy made",
        );
        write_choice(out, &c)?;
        prepared.written.push(CHOICE_FILE.into());
        prepared.choice = Some(c);
        return Ok(prepared);
    }
    let int8 = ModelFiles {
        visual: out.join(INT8_RELATIVE[1]),
        textual: out.join(INT8_RELATIVE[0]),
        ..float32.clone()
    };
    for (src, dest, rel) in [
        (&float32.textual, &int8.textual, INT8_RELATIVE[0]),
        (&float32.visual, &int8.visual, INT8_RELATIVE[1]),
    ] {
        let t = Instant::now();
        let r = write_int8(src, dest)?;
        if progress {
            eprintln!(
                "{rel}: {} weight matrices as int8 ({} MB -> {} MB) in {:.1} s",
                r.quantized,
                r.bytes_before / 1_000_000,
                r.bytes_after / 1_000_000,
                t.elapsed().as_secs_f64()
            );
        }
        prepared.written.push(rel.to_string());
        prepared.reports.push(r);
    }
    let force = (setting == WeightsSetting::Int8).then_some(Weights::Int8);
    if !super::runtime_ready() {
        let why =
            "ONNX Runtime is not loaded, so float32 and int8 could not be compared on this CPU";
        if let Some(w) = force {
            prepared.choice = Some(by_hand(
                w,
                &format!("chosen by hand (--weights int8); not measured: {why}"),
            ));
        } else {
            prepared.not_measured = Some(why.into());
        }
    } else {
        if progress {
            eprintln!(
                "measuring float32 and int8 on this CPU ({})...",
                cpu_summary()
            );
        }
        prepared.choice = Some(measure(float32, &int8, name, opts, force)?);
    }
    if let Some(c) = &prepared.choice {
        write_choice(out, c)?;
        prepared.written.push(CHOICE_FILE.into());
    }
    Ok(prepared)
}
