//! `GET /api/search?q=`: the caller's files ranked by CLIP similarity, tags and filenames.

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{AppError, AppResult};
use crate::http::dto::FileResponse;
use crate::http::extract::AuthUser;
use crate::state::App;

#[derive(Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
}

pub async fn search(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    q: Result<Query<SearchQuery>, axum::extract::rejection::QueryRejection>,
) -> AppResult<Json<Value>> {
    let Query(q) = q.map_err(|e| AppError::bad_request("invalid-query", e.body_text()))?;
    let (limit, offset) = (q.limit.unwrap_or(50), q.offset.unwrap_or(0));
    if !(1..=500).contains(&limit) || offset > 100_000 {
        return Err(AppError::bad_request("invalid-query", "limit is 1..500"));
    }
    let query = crate::search::service::normalise_query(q.q.as_deref().unwrap_or(""))?;
    let found =
        crate::search::service::search(&app.store, &app.semantic, &user.id, &query, limit, offset)
            .await?;
    let nodes: Vec<_> = found.items.iter().map(|h| h.node.clone()).collect();
    let media = crate::catalog::media_of(&app.store, &nodes).await?;
    let items: Vec<Value> = found
        .items
        .iter()
        .map(|h| json!({ "file": FileResponse::with_media(&h.node, media.get(&h.node.id)), "score": h.score, "reasons": h.reasons }))
        .collect();
    let mut body = json!({ "query": query, "total": found.total, "semantic": found.semantic, "items": items, "limit": limit, "offset": offset });
    if let Some(e) = found.model_status {
        body["model_status"] = json!({ "code": e.code, "message": e.message });
    }
    Ok(Json(body))
}
