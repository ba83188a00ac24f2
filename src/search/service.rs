//! One query → ranked hits, each saying why it matched. Only the caller's files, ever: every
//! source below is keyed by the caller's user id, and every hit is re-read as the caller's row.

use std::collections::HashMap;
use std::sync::Arc;

use unicode_normalization::UnicodeNormalization;

use crate::db::nodes::Node;
use crate::db::{self};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::store::Store;

use super::semantic::Semantic;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Reason {
    Semantic { score: f32 },
    Tag { tag: String },
    Name,
}

#[derive(Debug, Clone)]
pub struct Hit {
    pub node: Node,
    pub score: f32,
    pub reasons: Vec<Reason>,
}

#[derive(Debug)]
pub struct Found {
    pub items: Vec<Hit>,
    pub total: usize,
    /// Whether the CLIP part ran; when not, why (`model_status`).
    pub semantic: bool,
    pub model_status: Option<AppError>,
}

/// How much a tag or filename match adds to a hit's score. CLIP cosines of a good match are
/// ~0.25–0.35 for real models: an exact tag is worth about as much as a strong visual match,
/// a filename word a little less, and both together rank first.
pub const TAG_WEIGHT: f32 = 0.3;
pub const NAME_WEIGHT: f32 = 0.2;

/// How many pictures the CLIP scan returns before the relevance cut.
pub const SEMANTIC_CANDIDATES: usize = 500;
/// A picture is a semantic match when its cosine to the query is at least this, and at least
/// `SEMANTIC_RELATIVE` of the best one's. Real CLIP models give unrelated pictures ~0.1–0.18
/// and good matches 0.25–0.35; the relative cut keeps "the best few" when nothing is strong.
pub const SEMANTIC_MIN: f32 = 0.18;
pub const SEMANTIC_RELATIVE: f32 = 0.8;

pub fn keep_relevant(mut hits: Vec<(String, f32)>) -> Vec<(String, f32)> {
    hits.sort_by(|a, b| b.1.total_cmp(&a.1));
    let Some(best) = hits.first().map(|h| h.1) else {
        return hits;
    };
    let cut = SEMANTIC_MIN.max(best * SEMANTIC_RELATIVE);
    hits.retain(|h| h.1 >= cut);
    hits
}

/// The query as text to match: trimmed, NFC, lower case, 1..=200 characters.
pub fn normalise_query(q: &str) -> AppResult<String> {
    let q: String = q.trim().nfc().collect::<String>().to_lowercase();
    if q.is_empty() || q.chars().count() > 200 {
        return Err(AppError::bad_request(
            ErrorCode::InvalidQuery,
            "the query is 1 to 200 characters",
        ));
    }
    Ok(q)
}

pub fn words(q: &str) -> Vec<String> {
    q.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Tag and filename matches for `q`, by node id, with their reasons (blocking: a DB thread).
pub fn text_matches(
    c: &rusqlite::Connection,
    owner: &str,
    q: &str,
    limit: i64,
) -> AppResult<HashMap<String, (Node, Vec<Reason>)>> {
    let mut out: HashMap<String, (Node, Vec<Reason>)> = HashMap::new();
    let ws = words(q);
    // Tags: the whole query ("city at night") or any of its words ("dog").
    let mut tag_terms = vec![q.to_string()];
    tag_terms.extend(ws.iter().filter(|w| w.chars().count() > 1).cloned());
    tag_terms.dedup();
    for term in &tag_terms {
        for (node_id, tag) in db::tags::find_nodes_by_tag_word(c, owner, term, limit)? {
            if let Some(n) = db::nodes::find_owned_node(c, owner, &node_id)? {
                let e = out.entry(node_id).or_insert_with(|| (n, Vec::new()));
                if !e
                    .1
                    .iter()
                    .any(|r| matches!(r, Reason::Tag { tag: t } if *t == tag))
                {
                    e.1.push(Reason::Tag { tag });
                }
            }
        }
    }
    // Filenames: every word of the query appears in the name.
    if !ws.is_empty() {
        for n in db::nodes::find_files_by_name_words(c, owner, &ws, limit)? {
            let e = out.entry(n.id.clone()).or_insert_with(|| (n, Vec::new()));
            e.1.push(Reason::Name);
        }
    }
    Ok(out)
}

/// Ranks text matches and semantic hits (node id → cosine) together; best first.
pub fn rank(text: HashMap<String, (Node, Vec<Reason>)>, semantic: Vec<(Node, f32)>) -> Vec<Hit> {
    let mut hits: HashMap<String, Hit> = HashMap::new();
    for (node, score) in semantic {
        hits.insert(
            node.id.clone(),
            Hit {
                node,
                score,
                reasons: vec![Reason::Semantic { score }],
            },
        );
    }
    for (id, (node, reasons)) in text {
        let h = hits.entry(id).or_insert_with(|| Hit {
            node,
            score: 0.0,
            reasons: Vec::new(),
        });
        for r in reasons {
            h.score += match r {
                Reason::Tag { .. } => TAG_WEIGHT,
                Reason::Name => NAME_WEIGHT,
                Reason::Semantic { .. } => 0.0,
            };
            h.reasons.push(r);
        }
    }
    let mut v: Vec<Hit> = hits.into_values().collect();
    v.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| b.node.modified_at.cmp(&a.node.modified_at))
            .then_with(|| a.node.id.cmp(&b.node.id))
    });
    v
}

/// Searches `owner`'s files: tags and filenames now; CLIP similarity when the model is there.
pub async fn search(
    store: &Store,
    semantic: &Arc<Semantic>,
    owner: &str,
    q: &str,
    limit: usize,
    offset: usize,
) -> AppResult<Found> {
    let q = normalise_query(q)?;
    let (o, qq) = (owner.to_string(), q.clone());
    let text = store
        .db
        .run(move |c| text_matches(c, &o, &qq, 1000))
        .await?;
    let (semantic, model_status) = if semantic.loaded().is_some() {
        let (sem, o, qq) = (Arc::clone(semantic), owner.to_string(), q.clone());
        let hits =
            tokio::task::spawn_blocking(move || sem.search(&o, &qq, SEMANTIC_CANDIDATES)).await??;
        let hits = keep_relevant(hits);
        // Re-read every hit as the caller's current row: deleted files drop out here.
        let o = owner.to_string();
        let nodes = store
            .db
            .run(move |c| {
                let mut out = Vec::with_capacity(hits.len());
                for (id, score) in hits {
                    if let Some(n) = db::nodes::find_owned_node(c, &o, &id)? {
                        out.push((n, score));
                    }
                }
                Ok(out)
            })
            .await?;
        (nodes, None)
    } else {
        (Vec::new(), Some(semantic.unavailable_error()))
    };
    let ran = model_status.is_none();
    let hits = rank(text, semantic);
    let total = hits.len();
    Ok(Found {
        items: hits.into_iter().skip(offset).take(limit).collect(),
        total,
        semantic: ran,
        model_status,
    })
}

/// Text-only search (no model): tags and filenames.
pub async fn search_text(store: &Store, owner: &str, q: &str, limit: i64) -> AppResult<Vec<Hit>> {
    let (owner, q) = (owner.to_string(), q.to_string());
    let text = store
        .db
        .run(move |c| text_matches(c, &owner, &q, limit))
        .await?;
    Ok(rank(text, Vec::new()))
}
