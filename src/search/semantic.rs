//! The CLIP side of search, as the running server holds it: the model (when installed), the
//! label set's text embeddings (cached in SQLite per model), one in-memory embedding index per
//! user (built from SQLite at start, kept in step by the CLIP job and by deletes), and a small
//! cache of query embeddings.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use crate::db::{self, Db};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::ml::{ClipModel, ClipOptions, LabelIndex, LabelSet, MlError};
use crate::search::index::EmbeddingIndex;

/// Where the model stands, for the admin API and for search answers.
#[derive(Debug, Clone)]
pub enum ModelState {
    Loading,
    Ready,
    /// code (`runtime-missing`, `model-not-installed`, `model-error`) and words.
    Unavailable(ErrorCode, String),
}

pub struct Loaded {
    pub model: Arc<ClipModel>,
    pub labels: LabelIndex,
}

pub struct Semantic {
    db: Db,
    data_dir: PathBuf,
    model_dir: PathBuf,
    runtime: Option<PathBuf>,
    labels_path: Option<PathBuf>,
    opts: ClipOptions,
    state: RwLock<ModelState>,
    loaded: RwLock<Option<Arc<Loaded>>>,
    /// Serialises loading attempts.
    load_lock: Mutex<()>,
    indexes: RwLock<HashMap<String, Arc<RwLock<EmbeddingIndex>>>>,
    query_cache: Mutex<VecDeque<(String, Arc<Vec<f32>>)>>,
    threads: usize,
}

const QUERY_CACHE: usize = 256;

fn unavailable(e: &MlError) -> ModelState {
    match e {
        MlError::RuntimeMissing(m) => ModelState::Unavailable(ErrorCode::RuntimeMissing, m.clone()),
        MlError::ModelMissing(m) => {
            ModelState::Unavailable(ErrorCode::ModelNotInstalled, m.clone())
        }
        other => ModelState::Unavailable(ErrorCode::ModelError, other.to_string()),
    }
}

impl Semantic {
    pub fn new(db: Db, config: &crate::config::Config) -> Semantic {
        let ml = &config.ml;
        Semantic {
            db,
            data_dir: config.data_dir.clone(),
            model_dir: config.ml_model_dir(),
            runtime: crate::ml::find_runtime_in(ml.onnxruntime.as_deref(), &config.data_dir),
            labels_path: ml.labels.clone(),
            opts: ml.clip_options(),
            state: RwLock::new(ModelState::Loading),
            loaded: RwLock::new(None),
            load_lock: Mutex::new(()),
            indexes: RwLock::new(HashMap::new()),
            query_cache: Mutex::new(VecDeque::new()),
            threads: if ml.threads == 0 {
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1)
            } else {
                ml.threads
            },
        }
    }

    pub fn state(&self) -> ModelState {
        self.state.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn loaded(&self) -> Option<Arc<Loaded>> {
        self.loaded
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn model_name(&self) -> String {
        self.model_dir
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default()
    }

    /// Loads the runtime, the model and the label embeddings, then every stored embedding of
    /// this model into the per-user indexes. Blocking; cheap to call again when not ready
    /// (the housekeeping task retries every minute, so `model fetch` needs no restart).
    /// Returns true when the model became ready by this call.
    pub fn try_load(&self) -> bool {
        let _guard = self.load_lock.lock().unwrap_or_else(|e| e.into_inner());
        if self.loaded().is_some() {
            return false;
        }
        match self.load() {
            Ok(loaded) => {
                *self.loaded.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(loaded));
                *self.state.write().unwrap_or_else(|e| e.into_inner()) = ModelState::Ready;
                true
            }
            Err(e) => {
                let st = unavailable(&e);
                if !matches!(self.state(), ModelState::Unavailable(_, ref m) if *m == e.to_string())
                {
                    match &e {
                        // Not installed yet is the normal first start: one line that says what
                        // to do, not a warning.
                        MlError::RuntimeMissing(m) | MlError::ModelMissing(m) => tracing::info!(
                            "AI photo tags and search by description are off until this is done: {m} (picked up within a minute, no restart)"
                        ),
                        _ => {
                            tracing::warn!(error = %e, "CLIP model not available: AI tagging and search by description wait")
                        }
                    }
                }
                *self.state.write().unwrap_or_else(|e| e.into_inner()) = st;
                false
            }
        }
    }

    fn load(&self) -> Result<Loaded, MlError> {
        let runtime = self.runtime.clone().ok_or_else(|| {
            MlError::RuntimeMissing(format!(
                "ONNX Runtime is not installed: run scripts/fetch-onnxruntime.sh {} (or set [ml] onnxruntime)",
                self.data_dir.join("onnxruntime").display()
            ))
        })?;
        crate::ml::init_runtime(&runtime)?;
        let started = std::time::Instant::now();
        let model = Arc::new(ClipModel::load(&self.model_dir, &self.opts)?);
        let labels = self.label_index(&model)?;
        let mut by_user: HashMap<String, EmbeddingIndex> = HashMap::new();
        let dim = model.dim();
        let conn = self
            .db
            .conn()
            .map_err(|e| MlError::Inference(e.to_string()))?;
        db::embeddings::for_each_embedding(&conn, model.id(), |user, node, v| {
            by_user
                .entry(user)
                .or_insert_with(|| EmbeddingIndex::new(dim))
                .upsert(&node, &v);
        })
        .map_err(|e| MlError::Inference(e.to_string()))?;
        let count: usize = by_user.values().map(|i| i.len()).sum();
        *self.indexes.write().unwrap_or_else(|e| e.into_inner()) = by_user
            .into_iter()
            .map(|(u, i)| (u, Arc::new(RwLock::new(i))))
            .collect();
        let (weights, why) = model.weights();
        tracing::info!(model = %model.id(), %weights, why, embeddings = count, ms = started.elapsed().as_millis() as u64, "CLIP model ready");
        Ok(Loaded { model, labels })
    }

    /// The label set's text embeddings: from SQLite when this model already computed them for
    /// the same prompts, else computed now and stored.
    fn label_index(&self, model: &ClipModel) -> Result<LabelIndex, MlError> {
        let set = LabelSet::load_or_builtin(self.labels_path.as_deref())?;
        let want: Vec<(String, String)> = set
            .labels()
            .iter()
            .map(|l| (l.name.clone(), l.prompts.join("\n")))
            .collect();
        let conn = self
            .db
            .conn()
            .map_err(|e| MlError::Inference(e.to_string()))?;
        let cached = db::embeddings::load_label_embeddings(&conn, model.id())
            .map_err(|e| MlError::Inference(e.to_string()))?;
        if cached.len() == want.len()
            && cached
                .iter()
                .zip(&want)
                .all(|(c, w)| c.0 == w.0 && c.1 == w.1)
        {
            return Ok(LabelIndex::from_parts(
                cached.iter().map(|c| c.0.clone()).collect(),
                cached.into_iter().map(|c| c.2).collect(),
            ));
        }
        let index = LabelIndex::build(&set, model)?;
        let (names, vectors) = index.parts();
        let rows: Vec<(String, String, Vec<f32>)> = names
            .iter()
            .zip(vectors)
            .zip(&want)
            .map(|((n, v), w)| (n.clone(), w.1.clone(), v.clone()))
            .collect();
        drop(conn);
        let mut conn = self
            .db
            .conn()
            .map_err(|e| MlError::Inference(e.to_string()))?;
        db::embeddings::save_label_embeddings(&mut conn, model.id(), &rows)
            .map_err(|e| MlError::Inference(e.to_string()))?;
        Ok(index)
    }

    fn index_of(&self, user: &str, dim: usize) -> Arc<RwLock<EmbeddingIndex>> {
        if let Some(i) = self
            .indexes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(user)
        {
            return i.clone();
        }
        self.indexes
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(user.to_string())
            .or_insert_with(|| Arc::new(RwLock::new(EmbeddingIndex::new(dim))))
            .clone()
    }

    /// A new or changed image embedding (after its row is committed).
    pub fn upsert(&self, user: &str, node: &str, v: &[f32]) {
        let idx = self.index_of(user, v.len());
        idx.write()
            .unwrap_or_else(|e| e.into_inner())
            .upsert(node, v);
    }

    /// Files back from the trash: their stored vectors return to the index (blocking: SQLite).
    pub fn recall(&self, user: &str, nodes: &[String]) {
        let Some(loaded) = self.loaded() else {
            return; // loading the model reads every vector anyway
        };
        let found = self
            .db
            .conn()
            .and_then(|c| db::embeddings::find_embeddings(&c, loaded.model.id(), nodes));
        match found {
            Ok(found) => {
                for (node, v) in found {
                    self.upsert(user, &node, &v);
                }
            }
            Err(e) => tracing::warn!(error = %e, "reloading the vectors of restored files"),
        }
    }

    /// Files deleted or given a new body: their vectors go.
    pub fn forget(&self, user: &str, nodes: &[String]) {
        let idx = self
            .indexes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(user)
            .cloned();
        if let Some(idx) = idx {
            let mut idx = idx.write().unwrap_or_else(|e| e.into_inner());
            for n in nodes {
                idx.remove(n);
            }
        }
    }

    fn query_embedding(&self, loaded: &Loaded, q: &str) -> AppResult<Arc<Vec<f32>>> {
        {
            let cache = self.query_cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((_, v)) = cache.iter().find(|(k, _)| k == q) {
                return Ok(v.clone());
            }
        }
        let v = loaded
            .model
            .embed_texts(&[q])
            .map_err(|e| AppError::internal(format_args!("text embedding: {e}")))?
            .pop()
            .ok_or_else(|| AppError::internal("text embedding: no output"))?;
        let v = Arc::new(v);
        let mut cache = self.query_cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.push_front((q.to_string(), v.clone()));
        cache.truncate(QUERY_CACHE);
        Ok(v)
    }

    /// The user's pictures most similar to the query text, best first: (node id, cosine).
    /// Blocking (runs the text encoder): call from a blocking thread.
    pub fn search(&self, user: &str, q: &str, k: usize) -> AppResult<Vec<(String, f32)>> {
        let Some(loaded) = self.loaded() else {
            return Err(self.unavailable_error());
        };
        let qv = self.query_embedding(&loaded, q)?;
        let Some(idx) = self
            .indexes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(user)
            .cloned()
        else {
            return Ok(Vec::new());
        };
        let idx = idx.read().unwrap_or_else(|e| e.into_inner());
        let hits = idx.search_with(&qv, k, f32::MIN, self.threads);
        Ok(hits
            .into_iter()
            .map(|h| (h.id.to_string(), h.score))
            .collect())
    }

    pub fn unavailable_error(&self) -> AppError {
        match self.state() {
            ModelState::Loading => AppError::new(
                ErrorCode::ModelLoading,
                "the CLIP model is loading; try again shortly",
            ),
            ModelState::Ready => AppError::internal("model state"),
            // Every user reads this: what is missing and how to install it is for the admin's
            // page (`ModelStatusResponse` in src/http/dto/), not for the family.
            ModelState::Unavailable(code, _) => AppError::new(
                code,
                "search by description isn't available on this server yet: names, folders and tags are searched",
            ),
        }
    }
}
