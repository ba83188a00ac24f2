//! Machine learning: the CLIP model (ONNX Runtime through `ort`, loaded at run time, plus the
//! `tokenizers` CLIP tokenizer), image preprocessing, the label set and the auto-tag rule, and
//! downloading models. No SQL and no HTTP routes here: callers store what these functions return.
//!
//! Start-up order: [`find_runtime`] → [`init_runtime`] (once per process) → [`ClipModel::load`]
//! → [`LabelIndex::build`] (or [`LabelIndex::from_parts`] from a cache). Every step fails with an
//! [`MlError`] an admin can act on, never a panic, so the server can run with AI switched off.

mod error;
pub mod fetch;
mod labels;
mod model;
mod onnx_pb;
pub mod preprocess;
pub mod quantize;
mod runtime;
#[cfg(test)]
mod tests;
pub mod weights;

pub use error::MlError;
pub use labels::{Label, LabelIndex, LabelScore, LabelSet, TagRule};
pub use model::{ClipModel, ClipOptions, ModelFiles, SessionTuning};
pub use preprocess::decode_for_clip;
pub use runtime::{find_runtime, find_runtime_in, init_runtime, runtime_ready};
pub use weights::{Weights, WeightsSetting};

/// The model `cloudvault model fetch` downloads when no name is given, and the default
/// `[ml] model_dir` folder name under `<data>/models/`.
pub const DEFAULT_MODEL: &str = "ViT-B-32__openai";

/// L2-normalises `v` in place; a zero vector stays zero (cosine with it is 0, not NaN).
pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 && norm.is_finite() {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Dot product; the cosine similarity of two L2-normalised embeddings.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
