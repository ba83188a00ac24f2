//! One query → ranked hits, each saying why it matched. Only the caller's files, ever: every
//! source below is keyed by the caller's user id, and every hit is re-read as the caller's row.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use unicode_normalization::UnicodeNormalization;

use crate::db::nodes::Node;
use crate::db::{self};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::store::Store;

use super::query::{Parsed, STOP_WORDS, parse};
use super::semantic::Semantic;
pub use crate::db::search::SearchFilter;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Reason {
    Semantic {
        score: f32,
    },
    Tag {
        tag: String,
    },
    /// Every word of the query is in the file's name or the name of a folder it is in.
    Name,
    /// Taken in a place the query names ("Nice, France").
    Place {
        place: String,
    },
    /// Taken in the time the query names ("july 2023").
    Date {
        date: String,
    },
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
pub const PLACE_WEIGHT: f32 = 0.25;
/// Only given when the query is nothing but a date: then every photo of that time matches.
pub const DATE_WEIGHT: f32 = 0.1;

/// Most matches any one text source contributes.
const TEXT_LIMIT: i64 = 5000;

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

/// Adds `reason` to the hit of node `id` (read as the caller's live node), once.
fn add_reason(
    c: &rusqlite::Connection,
    owner: &str,
    out: &mut HashMap<String, (Node, Vec<Reason>)>,
    id: &str,
    reason: Reason,
) -> AppResult<()> {
    if let Some(e) = out.get_mut(id) {
        if !e.1.contains(&reason) {
            e.1.push(reason);
        }
        return Ok(());
    }
    if let Some(n) = db::nodes::find_owned_node(c, owner, id)? {
        out.insert(id.to_string(), (n, vec![reason]));
    }
    Ok(())
}

/// The words that carry meaning ("photos in nice" → "nice"), or all of them when none does.
fn content_words(words: &[String]) -> Vec<String> {
    let content: Vec<String> = words
        .iter()
        .filter(|w| !STOP_WORDS.contains(&w.as_str()))
        .cloned()
        .collect();
    if content.is_empty() {
        words.to_vec()
    } else {
        content
    }
}

/// Nodes every word of which is in their own name or in the name of a folder above them.
fn name_matches(
    c: &rusqlite::Connection,
    owner: &str,
    words: &[String],
) -> AppResult<HashSet<String>> {
    let mut result: Option<HashSet<String>> = None;
    for w in words {
        let mut covered = HashSet::new();
        for (id, is_dir) in db::search::nodes_named_with(c, owner, w, TEXT_LIMIT)? {
            if is_dir {
                covered.extend(db::search::descendants(c, &id, 4 * TEXT_LIMIT)?);
            }
            covered.insert(id);
        }
        let next = match result {
            None => covered,
            Some(r) => r.intersection(&covered).cloned().collect(),
        };
        if next.is_empty() {
            return Ok(next);
        }
        result = Some(next);
    }
    Ok(result.unwrap_or_default())
}

/// Tag, name, place and date matches for the parsed query, by node id, with their reasons
/// (blocking: a DB thread).
pub fn text_matches(
    c: &rusqlite::Connection,
    owner: &str,
    q: &Parsed,
    limit: i64,
) -> AppResult<HashMap<String, (Node, Vec<Reason>)>> {
    let mut out: HashMap<String, (Node, Vec<Reason>)> = HashMap::new();
    let ws = &q.words;
    let content = content_words(ws);
    // Tags: the whole query ("city at night") or any of its words ("dog").
    if !ws.is_empty() {
        let mut tag_terms = vec![q.phrase()];
        tag_terms.extend(content.iter().filter(|w| w.chars().count() > 1).cloned());
        tag_terms.dedup();
        for term in &tag_terms {
            for (node_id, tag) in db::tags::find_nodes_by_tag_word(c, owner, term, limit)? {
                add_reason(c, owner, &mut out, &node_id, Reason::Tag { tag })?;
            }
        }
    }
    // Names: every content word, whole, in the name or a folder's name above.
    let mut named = false;
    if !content.is_empty() {
        for id in name_matches(c, owner, &content)? {
            add_reason(c, owner, &mut out, &id, Reason::Name)?;
            named = true;
        }
    }
    // Places: the whole phrase ("new york"); when neither it nor the names matched, each word
    // of three letters or more ("dog nice": the dogs by CLIP, Nice by its place).
    let phrase = content.join(" ");
    let mut places = Vec::new();
    if !content.is_empty() {
        places = db::search::photos_in_place(c, owner, &phrase, TEXT_LIMIT)?;
        if places.is_empty() && !named && content.len() > 1 {
            for w in content.iter().filter(|w| w.chars().count() >= 3) {
                places.extend(db::search::photos_in_place(c, owner, w, TEXT_LIMIT)?);
            }
        }
    }
    for (id, place) in places {
        add_reason(c, owner, &mut out, &id, Reason::Place { place })?;
    }
    // A date alone: every photo of that time.
    if let (Some(d), true) = (&q.date, ws.is_empty()) {
        for id in db::search::photos_between(c, owner, d.from, d.to, TEXT_LIMIT)? {
            add_reason(
                c,
                owner,
                &mut out,
                &id,
                Reason::Date {
                    date: d.label.clone(),
                },
            )?;
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
                Reason::Place { .. } => PLACE_WEIGHT,
                Reason::Date { .. } => DATE_WEIGHT,
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

/// A search: the query, the page, the caller's time zone and the filters.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub q: String,
    pub limit: usize,
    pub offset: usize,
    /// Minutes east of UTC, for the dates in the query.
    pub tz: i64,
    pub filter: SearchFilter,
}

/// Searches `owner`'s files: names and folders, places, dates and tags now; CLIP similarity when
/// the model is there. A date in the query ("july 2023") and the filters restrict every source.
pub async fn search(
    store: &Store,
    semantic: &Arc<Semantic>,
    owner: &str,
    req: SearchRequest,
) -> AppResult<Found> {
    let q = normalise_query(&req.q)?;
    let parsed = parse(&q, req.tz);
    let mut filter = req.filter.clone();
    if let Some(d) = &parsed.date {
        filter.from = Some(filter.from.map_or(d.from, |f| f.max(d.from)));
        filter.to = Some(filter.to.map_or(d.to, |t| t.min(d.to)));
    }
    let (o, pq) = (owner.to_string(), parsed.clone());
    let text = store
        .db
        .run(move |c| text_matches(c, &o, &pq, 1000))
        .await?;
    let clip_text = parsed.phrase();
    let (semantic, model_status) = if clip_text.is_empty() {
        (Vec::new(), None)
    } else if semantic.loaded().is_some() {
        let (sem, o) = (Arc::clone(semantic), owner.to_string());
        let hits =
            tokio::task::spawn_blocking(move || sem.search(&o, &clip_text, SEMANTIC_CANDIDATES))
                .await??;
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
    let ran = model_status.is_none() && !parsed.words.is_empty();
    let mut hits = rank(text, semantic);
    if !filter.is_empty() {
        let (o, ids) = (
            owner.to_string(),
            hits.iter().map(|h| h.node.id.clone()).collect::<Vec<_>>(),
        );
        let keep = store
            .db
            .run(move |c| db::search::passing(c, &o, &ids, &filter))
            .await?;
        hits.retain(|h| keep.contains(&h.node.id));
    }
    let total = hits.len();
    Ok(Found {
        items: hits.into_iter().skip(req.offset).take(req.limit).collect(),
        total,
        semantic: ran,
        model_status,
    })
}
