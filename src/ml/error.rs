//! The ML error type: four cases an admin can tell apart and act on.

#[derive(Debug, Clone, thiserror::Error)]
pub enum MlError {
    /// libonnxruntime could not be found or loaded (or is too old).
    #[error("{0}")]
    RuntimeMissing(String),
    /// The model folder or one of its files is missing.
    #[error("{0}")]
    ModelMissing(String),
    /// A model file is there but unusable: unreadable config, unexpected inputs/outputs, bad labels.
    #[error("{0}")]
    BadModel(String),
    /// Running the model failed (or an image could not be prepared for it).
    #[error("{0}")]
    Inference(String),
}

impl MlError {
    /// A short stable code for status reports (`/api/admin/jobs` model status, logs).
    pub fn code(&self) -> &'static str {
        match self {
            MlError::RuntimeMissing(_) => "runtime-missing",
            MlError::ModelMissing(_) => "model-not-installed",
            MlError::BadModel(_) => "bad-model",
            MlError::Inference(_) => "inference-failed",
        }
    }
}
