//! `GET /api/search?q=`: the caller's files ranked by CLIP similarity, tags and filenames.

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;

use crate::error::{AppError, AppResult, ErrorCode};
use crate::http::dto::{
    FileResponse, SearchHitResponse, SearchModelStatusResponse, SearchReasonResponse,
    SearchResponse,
};
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
) -> AppResult<Json<SearchResponse>> {
    let Query(q) = q.map_err(|e| AppError::bad_request(ErrorCode::InvalidQuery, e.body_text()))?;
    let (limit, offset) = (q.limit.unwrap_or(50), q.offset.unwrap_or(0));
    if !(1..=500).contains(&limit) || offset > 100_000 {
        return Err(AppError::bad_request(
            ErrorCode::InvalidQuery,
            "limit is 1..500",
        ));
    }
    let query = crate::search::service::normalise_query(q.q.as_deref().unwrap_or(""))?;
    let found =
        crate::search::service::search(&app.store, &app.semantic, &user.id, &query, limit, offset)
            .await?;
    let nodes: Vec<_> = found.items.iter().map(|h| h.node.clone()).collect();
    let facts = crate::catalog::page_facts(&app.store, &nodes).await?;
    let items = found
        .items
        .iter()
        .map(|h| SearchHitResponse {
            file: FileResponse::listed(&h.node, &facts),
            score: h.score,
            reasons: h.reasons.iter().map(SearchReasonResponse::from).collect(),
        })
        .collect();
    Ok(Json(SearchResponse {
        query,
        total: found.total,
        semantic: found.semantic,
        model_status: found.model_status.map(|e| SearchModelStatusResponse {
            code: e.code,
            message: e.message,
        }),
        items,
        limit,
        offset,
    }))
}
