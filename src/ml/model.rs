//! The CLIP model: a visual and a textual ONNX encoder in Immich's Hugging Face folder layout,
//! their configs and tokenizer, run through ONNX Runtime. Outputs are L2-normalised embeddings.
//!
//! Folder layout (what `cloudvault model fetch` downloads, e.g. `immich-app/ViT-B-32__openai`):
//! ```text
//! <dir>/config.json                   embed_dim, text_cfg.context_length (open_clip model config)
//! <dir>/visual/model.onnx             image f32 [N,3,S,S] -> embedding f32 [N,D]
//! <dir>/visual/preprocess_cfg.json    size, mean, std, interpolation, resize_mode
//! <dir>/textual/model.onnx            text i32|i64 [N,L] -> embedding f32 [N,D]
//! <dir>/textual/tokenizer.json        Hugging Face tokenizer
//! <dir>/textual/tokenizer_config.json pad_token (when tokenizer.json sets no padding)
//! ```
//! Input and output names, element types and fixed dimensions are read from the ONNX sessions,
//! not assumed: Immich's exports call them `image`/`text` → `embedding` and take int32 token ids;
//! Hugging Face style exports say `pixel_values`/`input_ids` → `image_embeds`/`text_embeds` with
//! int64; some exports fix the batch size to 1 (then batches are run one picture at a time).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc;

use image::RgbImage;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::{TensorElementType, TensorRef, ValueType};
use serde::Deserialize;
use tokenizers::{PaddingDirection, PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use super::preprocess::{Preprocess, decode_for_clip};
use super::weights::{Weights, WeightsSetting};
use super::{MlError, normalize, runtime};

/// How the model runs. `threads: 0` means one per core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClipOptions {
    /// Intra-op threads of each ONNX Runtime session (0 = number of cores).
    pub threads: usize,
    /// Pictures (or texts) per inference call, when the model allows any batch size.
    pub batch_size: usize,
    /// Float32 or int8 encoders (`[ml] weights`; see [`super::weights`]).
    pub weights: WeightsSetting,
}

impl Default for ClipOptions {
    fn default() -> Self {
        ClipOptions {
            threads: 0,
            batch_size: 8,
            weights: WeightsSetting::Auto,
        }
    }
}

/// ONNX Runtime session settings. The defaults are what measured best for CLIP on a 2-core box
/// (`bench/clip.sh`, bench/RESULTS.md); the benchmark changes them to compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTuning {
    /// Let idle intra-op threads spin briefly before sleeping (ORT's default).
    pub intra_op_spinning: bool,
    /// Graph optimisation: 0 none, 1 basic, 2 extended, 3 all (layout).
    pub optimization: u8,
    /// Reuse activation buffers planned from the first run (ORT's default).
    pub memory_pattern: bool,
    /// Keep freed activation memory in an arena (ORT's default).
    pub cpu_arena: bool,
}

impl Default for SessionTuning {
    fn default() -> Self {
        SessionTuning {
            intra_op_spinning: true,
            optimization: 3,
            memory_pattern: true,
            cpu_arena: true,
        }
    }
}

/// The files of a model folder, with their paths.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    pub config: PathBuf,
    pub visual: PathBuf,
    pub preprocess: PathBuf,
    pub textual: PathBuf,
    pub tokenizer: PathBuf,
    pub tokenizer_config: PathBuf,
}

impl ModelFiles {
    /// Paths inside a model folder, in download order (small files first).
    pub const RELATIVE: [&'static str; 6] = [
        "config.json",
        "visual/preprocess_cfg.json",
        "textual/tokenizer.json",
        "textual/tokenizer_config.json",
        "textual/model.onnx",
        "visual/model.onnx",
    ];

    pub fn in_dir(dir: &Path) -> ModelFiles {
        ModelFiles {
            config: dir.join("config.json"),
            visual: dir.join("visual/model.onnx"),
            preprocess: dir.join("visual/preprocess_cfg.json"),
            textual: dir.join("textual/model.onnx"),
            tokenizer: dir.join("textual/tokenizer.json"),
            tokenizer_config: dir.join("textual/tokenizer_config.json"),
        }
    }

    /// `ModelMissing` naming the first missing file.
    pub fn check(&self) -> Result<(), MlError> {
        for p in [
            &self.config,
            &self.preprocess,
            &self.tokenizer,
            &self.tokenizer_config,
            &self.textual,
            &self.visual,
        ] {
            if !p.is_file() {
                return Err(MlError::ModelMissing(format!(
                    "CLIP model file missing: {} (download a model with `cloudvault model fetch`, or set [ml] model_dir)",
                    p.display()
                )));
            }
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct ModelConfig {
    embed_dim: Option<usize>,
    #[serde(default)]
    text_cfg: TextConfig,
}

#[derive(Deserialize, Default)]
struct TextConfig {
    context_length: Option<usize>,
}

#[derive(Deserialize, Default)]
struct TokenizerConfig {
    pad_token: Option<serde_json::Value>,
}

/// One ONNX session and how to feed it.
struct Encoder {
    session: Mutex<Session>,
    input: String,
    output: String,
    /// Some(b) when the graph only takes batches of exactly b.
    fixed_batch: Option<usize>,
}

impl Encoder {
    fn batch(&self, wanted: usize) -> usize {
        self.fixed_batch.unwrap_or(wanted.max(1))
    }
}

/// A loaded CLIP model. `Send + Sync`: share it in an `Arc`; each encoder runs one call at a time.
pub struct ClipModel {
    id: String,
    name: String,
    dir: PathBuf,
    dim: usize,
    pre: Preprocess,
    visual: Encoder,
    textual: Encoder,
    ids_are_i64: bool,
    /// Name of an `attention_mask` input (multilingual text encoders have one).
    mask_input: Option<String>,
    tokenizer: Tokenizer,
    context_length: usize,
    batch_size: usize,
    weights: Weights,
    /// Why these weights (for `model status` and the log).
    weights_why: String,
}

impl std::fmt::Debug for ClipModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClipModel")
            .field("id", &self.id)
            .field("dir", &self.dir)
            .field("dim", &self.dim)
            .finish()
    }
}

fn bad(path: &Path, what: impl std::fmt::Display) -> MlError {
    MlError::BadModel(format!("{}: {what}", path.display()))
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, MlError> {
    let text = std::fs::read_to_string(path).map_err(|e| bad(path, e))?;
    serde_json::from_str(&text).map_err(|e| bad(path, e))
}

fn threads_for(opts: &ClipOptions) -> usize {
    if opts.threads > 0 {
        opts.threads
    } else {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    }
}

fn open_session(path: &Path, threads: usize, tuning: &SessionTuning) -> Result<Session, MlError> {
    let env = runtime::environment()?;
    let builder_err = |e: ort::Error<_>| bad(path, format!("session options: {e}"));
    let level = match tuning.optimization {
        0 => GraphOptimizationLevel::Disable,
        1 => GraphOptimizationLevel::Level1,
        2 => GraphOptimizationLevel::Level2,
        _ => GraphOptimizationLevel::All,
    };
    Session::builder(env)
        .map_err(|e| bad(path, e))?
        .with_execution_providers([ort::ep::CPU::default()
            .with_arena_allocator(tuning.cpu_arena)
            .build()])
        .map_err(builder_err)?
        .with_optimization_level(level)
        .map_err(builder_err)?
        .with_intra_threads(threads)
        .map_err(builder_err)?
        .with_inter_threads(1)
        .map_err(builder_err)?
        .with_intra_op_spinning(tuning.intra_op_spinning)
        .map_err(builder_err)?
        .with_memory_pattern(tuning.memory_pattern)
        .map_err(builder_err)?
        .commit_from_file(path)
        .map_err(|e| bad(path, format!("ONNX Runtime cannot load it: {e}")))
}

/// (element type, shape with -1 for dynamic dims) of a tensor outlet.
fn tensor_sig(t: &ValueType) -> Option<(TensorElementType, Vec<i64>)> {
    match t {
        ValueType::Tensor { ty, shape, .. } => Some((*ty, shape.iter().copied().collect())),
        _ => None,
    }
}

fn pick_output(session: &Session, path: &Path) -> Result<(String, Option<usize>), MlError> {
    let outputs = session.outputs();
    let out = outputs
        .iter()
        .find(|o| o.name().contains("embed"))
        .or_else(|| outputs.first())
        .ok_or_else(|| bad(path, "the graph has no outputs"))?;
    let (ty, shape) =
        tensor_sig(out.dtype()).ok_or_else(|| bad(path, "the output is not a tensor"))?;
    if ty != TensorElementType::Float32 {
        return Err(bad(
            path,
            format!("output {} is {ty}, expected float32", out.name()),
        ));
    }
    let dim = shape.last().copied().filter(|d| *d > 0).map(|d| d as usize);
    Ok((out.name().to_string(), dim))
}

fn fixed(d: i64) -> Option<usize> {
    (d > 0).then_some(d as usize)
}

impl ClipModel {
    /// Loads the model in `dir` (layout in the module docs). Needs [`super::init_runtime`] first.
    pub fn load(dir: &Path, opts: &ClipOptions) -> Result<ClipModel, MlError> {
        ClipModel::load_with(dir, opts, &SessionTuning::default())
    }

    /// [`Self::load`] with other ONNX Runtime session settings (benchmarks).
    pub fn load_with(
        dir: &Path,
        opts: &ClipOptions,
        tuning: &SessionTuning,
    ) -> Result<ClipModel, MlError> {
        if !dir.is_dir() {
            return Err(MlError::ModelMissing(format!(
                "no CLIP model at {} (download one with `cloudvault model fetch`, or set [ml] model_dir)",
                dir.display()
            )));
        }
        let files = ModelFiles::in_dir(dir);
        files.check()?;
        let (files, weights, why) = super::weights::resolve(dir, files, opts.weights)?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".into());
        let mut model = ClipModel::load_files(&files, &name, opts, tuning)?;
        model.dir = dir.to_path_buf();
        (model.weights, model.weights_why) = (weights, why);
        Ok(model)
    }

    /// Loads the encoders and files named in `files` (wherever they are) as model `name`. Its
    /// weights are reported as float32 unless the visual encoder is an int8 copy.
    pub fn load_files(
        files: &ModelFiles,
        name: &str,
        opts: &ClipOptions,
        tuning: &SessionTuning,
    ) -> Result<ClipModel, MlError> {
        files.check()?;
        let dir = files.config.parent().unwrap_or(Path::new("."));
        runtime::environment()?;
        let threads = threads_for(opts);

        let config: ModelConfig = read_json(&files.config)?;
        let pre_text =
            std::fs::read_to_string(&files.preprocess).map_err(|e| bad(&files.preprocess, e))?;
        let pre = Preprocess::from_json(&pre_text).map_err(|e| bad(&files.preprocess, e))?;

        // Visual encoder: one float32 NCHW input.
        let (visual, visual_dim) = Self::open_visual_encoder(files, &pre, threads, tuning)?;

        // Textual encoder: token ids (int32 or int64), maybe an attention mask.
        // A text query runs alone and the index scan follows at once on the same cores: the
        // encoder's threads must not stay spinning after it (bench/search.sh, whole-query row).
        let text_tuning = SessionTuning {
            intra_op_spinning: false,
            ..*tuning
        };
        let session = open_session(&files.textual, threads, &text_tuning)?;
        let mut ids = None;
        let mut mask_input = None;
        for input in session.inputs() {
            let (ty, shape) = tensor_sig(input.dtype())
                .ok_or_else(|| bad(&files.textual, "input is not a tensor"))?;
            if !matches!(ty, TensorElementType::Int32 | TensorElementType::Int64)
                || shape.len() != 2
            {
                return Err(bad(
                    &files.textual,
                    format!(
                        "input {} is {}, expected int32/int64 [N,L]",
                        input.name(),
                        input.dtype()
                    ),
                ));
            }
            if input.name().contains("mask") {
                mask_input = Some(input.name().to_string());
            } else if ids.is_none() {
                ids = Some((input.name().to_string(), ty, shape));
            } else {
                return Err(bad(
                    &files.textual,
                    format!("unexpected input {}", input.name()),
                ));
            }
        }
        let (text_input, text_ty, text_shape) =
            ids.ok_or_else(|| bad(&files.textual, "no token-id input"))?;
        let (text_output, text_dim) = pick_output(&session, &files.textual)?;
        let context_length = match (config.text_cfg.context_length, fixed(text_shape[1])) {
            (Some(c), Some(l)) if c != l => {
                return Err(bad(
                    &files.textual,
                    format!("input length {l} but config.json says context_length {c}"),
                ));
            }
            (Some(c), _) | (None, Some(c)) => c,
            (None, None) => 77,
        };
        let textual = Encoder {
            session: Mutex::new(session),
            input: text_input,
            output: text_output,
            fixed_batch: fixed(text_shape[0]),
        };

        let dim = Self::embed_dim(files, dir, config.embed_dim, visual_dim, text_dim)?;

        let tokenizer = load_tokenizer(files, context_length)?;
        let id = format!("{name}@{}", fingerprint(&[&files.visual, &files.textual])?);
        let weights = if files.visual == super::weights::int8_path(&files.visual) {
            Weights::Int8
        } else {
            Weights::Float32
        };
        tracing::info!(model = %id, dim, image_size = pre.size, context_length, threads, "CLIP model loaded");
        Ok(ClipModel {
            id,
            name: name.to_string(),
            dir: dir.to_path_buf(),
            dim,
            pre,
            visual,
            textual,
            ids_are_i64: text_ty == TensorElementType::Int64,
            mask_input,
            tokenizer,
            context_length,
            batch_size: opts.batch_size.max(1),
            weights,
            weights_why: String::new(),
        })
    }

    /// Opens the visual encoder and checks its input against `pre`; returns it with its output
    /// width when the graph fixes one.
    fn open_visual_encoder(
        files: &ModelFiles,
        pre: &Preprocess,
        threads: usize,
        tuning: &SessionTuning,
    ) -> Result<(Encoder, Option<usize>), MlError> {
        let session = open_session(&files.visual, threads, tuning)?;
        let [input] = session.inputs() else {
            return Err(bad(
                &files.visual,
                format!("expected 1 input, the graph has {}", session.inputs().len()),
            ));
        };
        let (ty, shape) =
            tensor_sig(input.dtype()).ok_or_else(|| bad(&files.visual, "input is not a tensor"))?;
        if ty != TensorElementType::Float32 || shape.len() != 4 || !matches!(shape[1], -1 | 3) {
            return Err(bad(
                &files.visual,
                format!(
                    "input {} is {}, expected float32 [N,3,H,W]",
                    input.name(),
                    input.dtype()
                ),
            ));
        }
        for d in &shape[2..] {
            if fixed(*d).is_some_and(|d| d != pre.size as usize) {
                return Err(bad(
                    &files.visual,
                    format!(
                        "input is {}, but preprocess_cfg.json says size {}",
                        input.dtype(),
                        pre.size
                    ),
                ));
            }
        }
        let visual_input = input.name().to_string();
        let visual_batch = fixed(shape[0]);
        let (visual_output, visual_dim) = pick_output(&session, &files.visual)?;
        let visual = Encoder {
            session: Mutex::new(session),
            input: visual_input,
            output: visual_output,
            fixed_batch: visual_batch,
        };
        Ok((visual, visual_dim))
    }

    /// The embedding width: config.json's `embed_dim` and both encoders' outputs must agree.
    fn embed_dim(
        files: &ModelFiles,
        dir: &Path,
        configured: Option<usize>,
        visual_dim: Option<usize>,
        text_dim: Option<usize>,
    ) -> Result<usize, MlError> {
        let dim = match (configured, visual_dim, text_dim) {
            (Some(d), v, t) if v.is_some_and(|v| v != d) || t.is_some_and(|t| t != d) => {
                return Err(bad(
                    &files.config,
                    format!("embed_dim {d}, but the encoders output {v:?} / {t:?}"),
                ));
            }
            (_, Some(v), Some(t)) if v != t => {
                return Err(bad(
                    dir,
                    format!("visual embeddings have {v} values, textual {t}"),
                ));
            }
            (Some(d), _, _) | (None, Some(d), _) | (None, None, Some(d)) => d,
            (None, None, None) => return Err(bad(&files.config, "embed_dim is missing")),
        };
        Ok(dim)
    }

    /// Stable id stored beside every embedding: `<folder name>@<first 12 hex of blake3(visual ‖ textual)>`.
    /// Another model, or the same folder with other weights (an int8 copy), gets another id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Float32 or int8 encoders, and why (see [`super::weights`]).
    pub fn weights(&self) -> (Weights, &str) {
        (self.weights, &self.weights_why)
    }

    /// The model folder's name, e.g. `ViT-B-32__openai`.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Length of every embedding.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Side of the square the visual encoder sees (224 for ViT-B/32).
    pub fn image_size(&self) -> u32 {
        self.pre.size
    }

    pub fn context_length(&self) -> usize {
        self.context_length
    }

    /// The preprocessing of this model (for tests and tools).
    pub fn preprocess(&self) -> &Preprocess {
        &self.pre
    }

    /// Token ids of `text` as the textual encoder receives them (padded/truncated to the context length).
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>, MlError> {
        let enc = self
            .tokenizer
            .encode(clean_text(text), true)
            .map_err(|e| MlError::Inference(format!("tokenizer: {e}")))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Embeds pictures: preprocessing, batches of `batch_size`, L2-normalised outputs in input order.
    /// With more than one batch, the next batch is prepared on another thread while the current one
    /// runs. Fails as a whole if any picture cannot be embedded; see [`Self::embed_files`] for per-item results.
    pub fn embed_images(&self, imgs: &[RgbImage]) -> Result<Vec<Vec<f32>>, MlError> {
        self.embed_with(imgs, |img, slot| self.pre.to_tensor(img, slot))
            .into_iter()
            .collect()
    }

    /// Decodes (JPEG at reduced DCT scale, EXIF orientation applied) and embeds picture files, the
    /// decoding of the next batch overlapping the inference of the current one. One result per file.
    pub fn embed_files(&self, paths: &[PathBuf]) -> Vec<Result<Vec<f32>, MlError>> {
        self.embed_with(paths, |p, slot| {
            let img = decode_for_clip(p, self.pre.size)?;
            self.pre.to_tensor(&img, slot)
        })
    }

    fn embed_with<T: Sync>(
        &self,
        items: &[T],
        prepare: impl Fn(&T, &mut [f32]) -> Result<(), MlError> + Sync,
    ) -> Vec<Result<Vec<f32>, MlError>> {
        let batch = self.visual.batch(self.batch_size);
        let tlen = self.pre.tensor_len();
        let make = |chunk: &[T]| -> Prepared {
            // Pictures that fail are left out of the tensor; a fixed-size graph gets zero padding.
            let rows = self.visual.fixed_batch.unwrap_or(chunk.len());
            let mut buf = vec![0f32; rows * tlen];
            let mut status = Vec::with_capacity(chunk.len());
            let mut n = 0;
            for item in chunk {
                match prepare(item, &mut buf[n * tlen..(n + 1) * tlen]) {
                    Ok(()) => {
                        status.push(None);
                        n += 1;
                    }
                    Err(e) => status.push(Some(e)),
                }
            }
            Prepared { buf, n, status }
        };
        let mut results = Vec::with_capacity(items.len());
        let mut finish = |p: Prepared| {
            let rows = if p.n == 0 {
                Ok(Vec::new())
            } else {
                self.run_visual(&p.buf, p.n)
            };
            let mut rows = rows.map(|r| r.into_iter());
            for s in p.status {
                results.push(match (s, &mut rows) {
                    (Some(e), _) => Err(e),
                    (None, Ok(it)) => it
                        .next()
                        .ok_or_else(|| MlError::Inference("model returned too few rows".into())),
                    (None, Err(e)) => Err(e.clone()),
                });
            }
        };
        let chunks: Vec<&[T]> = items.chunks(batch).collect();
        if chunks.len() <= 1 {
            chunks.into_iter().for_each(|c| finish(make(c)));
            return results;
        }
        std::thread::scope(|scope| {
            // Depth 1: one batch being prepared while one runs; memory stays at two tensors.
            let (tx, rx) = mpsc::sync_channel::<Prepared>(1);
            let make = &make;
            scope.spawn(move || {
                for c in chunks {
                    if tx.send(make(c)).is_err() {
                        break;
                    }
                }
            });
            for p in rx {
                finish(p);
            }
        });
        results
    }

    fn run_visual(&self, tensor: &[f32], n: usize) -> Result<Vec<Vec<f32>>, MlError> {
        let s = self.pre.size as usize;
        let rows = tensor.len() / self.pre.tensor_len();
        let input = TensorRef::from_array_view(([rows, 3, s, s], tensor))
            .map_err(|e| MlError::Inference(e.to_string()))?;
        let mut session = self
            .visual
            .session
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let outputs = session
            .run(ort::inputs![self.visual.input.as_str() => input])
            .map_err(|e| MlError::Inference(format!("visual encoder: {e}")))?;
        self.rows(&outputs[self.visual.output.as_str()], n, "visual")
    }

    fn rows(
        &self,
        value: &ort::value::DynValue,
        n: usize,
        which: &str,
    ) -> Result<Vec<Vec<f32>>, MlError> {
        let (_, data) = value
            .try_extract_tensor::<f32>()
            .map_err(|e| MlError::Inference(format!("{which} encoder output: {e}")))?;
        if data.len() < n * self.dim || data.len() % self.dim != 0 {
            return Err(MlError::Inference(format!(
                "{which} encoder returned {} values for {n} inputs of dimension {}",
                data.len(),
                self.dim
            )));
        }
        Ok(data
            .chunks_exact(self.dim)
            .take(n)
            .map(|r| {
                let mut v = r.to_vec();
                normalize(&mut v);
                v
            })
            .collect())
    }

    /// Embeds texts (tokenized, padded/truncated to the context length), L2-normalised, in input order.
    pub fn embed_texts(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, MlError> {
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(self.textual.batch(self.batch_size)) {
            out.extend(self.run_textual(chunk)?);
        }
        Ok(out)
    }

    fn run_textual(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, MlError> {
        let cleaned: Vec<String> = texts.iter().map(|t| clean_text(t)).collect();
        let encodings = self
            .tokenizer
            .encode_batch(cleaned.iter().map(String::as_str).collect::<Vec<_>>(), true)
            .map_err(|e| MlError::Inference(format!("tokenizer: {e}")))?;
        let rows = self.textual.fixed_batch.unwrap_or(texts.len());
        let l = self.context_length;
        let mut ids = vec![0i64; rows * l];
        let mut mask = vec![0i64; rows * l];
        for (i, enc) in encodings.iter().enumerate() {
            for (j, (&id, &m)) in enc
                .get_ids()
                .iter()
                .zip(enc.get_attention_mask())
                .take(l)
                .enumerate()
            {
                ids[i * l + j] = id as i64;
                mask[i * l + j] = m as i64;
            }
        }
        let shape = [rows, l];
        let to_value = |v: Vec<i64>| -> Result<ort::value::DynValue, MlError> {
            let r = if self.ids_are_i64 {
                ort::value::Tensor::from_array((shape, v)).map(|t| t.into_dyn())
            } else {
                ort::value::Tensor::from_array((
                    shape,
                    v.into_iter().map(|x| x as i32).collect::<Vec<i32>>(),
                ))
                .map(|t| t.into_dyn())
            };
            r.map_err(|e| MlError::Inference(e.to_string()))
        };
        let mut inputs = ort::inputs![self.textual.input.as_str() => to_value(ids)?];
        if let Some(m) = &self.mask_input {
            inputs.push((m.as_str().into(), to_value(mask)?.into()));
        }
        let mut session = self
            .textual
            .session
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let outputs = session
            .run(inputs)
            .map_err(|e| MlError::Inference(format!("textual encoder: {e}")))?;
        self.rows(
            &outputs[self.textual.output.as_str()],
            texts.len(),
            "textual",
        )
    }
}

struct Prepared {
    buf: Vec<f32>,
    /// Rows of `buf` holding pictures.
    n: usize,
    /// Per input item: None = embedded (in order), Some = why not.
    status: Vec<Option<MlError>>,
}

/// Whitespace runs to one space, trimmed (as Immich and open_clip clean text before tokenizing).
fn clean_text(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn load_tokenizer(files: &ModelFiles, context_length: usize) -> Result<Tokenizer, MlError> {
    let path = &files.tokenizer;
    let mut tok = Tokenizer::from_file(path).map_err(|e| bad(path, e))?;
    // Padding: tokenizer.json's own settings if it has any (open_clip pads with id 0), else the
    // tokenizer_config.json pad_token (Immich's exports: <|endoftext|>). Either works for CLIP:
    // the text encoder reads the features at the first end-of-text token, and the causal mask
    // keeps padding after it from mattering.
    let (pad_id, pad_token) = match tok.get_padding() {
        Some(p) => (p.pad_id, p.pad_token.clone()),
        None => {
            let cfg: TokenizerConfig = read_json(&files.tokenizer_config)?;
            let token = match cfg.pad_token {
                Some(serde_json::Value::String(s)) => Some(s),
                Some(serde_json::Value::Object(o)) => o
                    .get("content")
                    .and_then(|c| c.as_str())
                    .map(str::to_string),
                _ => None,
            };
            match token
                .as_deref()
                .and_then(|t| tok.token_to_id(t).map(|id| (id, t.to_string())))
            {
                Some(found) => found,
                None => (0, tok.id_to_token(0).unwrap_or_default()),
            }
        }
    };
    tok.with_padding(Some(PaddingParams {
        strategy: PaddingStrategy::Fixed(context_length),
        direction: PaddingDirection::Right,
        pad_to_multiple_of: None,
        pad_id,
        pad_type_id: 0,
        pad_token,
    }));
    tok.with_truncation(Some(TruncationParams {
        max_length: context_length,
        ..Default::default()
    }))
    .map_err(|e| bad(path, e))?;
    Ok(tok)
}

/// First 12 hex digits of blake3 over the files' bytes, in order.
fn fingerprint(paths: &[&Path]) -> Result<String, MlError> {
    let mut h = blake3::Hasher::new();
    for p in paths {
        let f = std::fs::File::open(p).map_err(|e| bad(p, e))?;
        h.update_reader(f).map_err(|e| bad(p, e))?;
    }
    Ok(h.finalize().to_hex()[..12].to_string())
}
