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
    /// Minutes east of UTC (for the dates in `q` and in `from`/`to`).
    tz: Option<i64>,
    /// `photo` or `video`.
    #[serde(rename = "type")]
    kind: Option<String>,
    /// Days, `YYYY-MM-DD`, both included.
    from: Option<String>,
    to: Option<String>,
    /// An ISO country code or a city name (as `GET /api/places` gives them).
    place: Option<String>,
    album: Option<String>,
}

/// Midnight starting day `YYYY-MM-DD` in time zone `tz`, in ms.
fn day_ms(s: &str, tz: i64) -> AppResult<i64> {
    let bad = || AppError::bad_request(ErrorCode::InvalidQuery, "from and to are days: YYYY-MM-DD");
    let mut parts = s.splitn(3, '-').map(|p| p.parse::<i64>());
    let (Some(Ok(y)), Some(Ok(m)), Some(Ok(d))) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    if s.len() != 10 || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    Ok(crate::photos::local_midnight_ms(y, m, d, tz))
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
    let tz = crate::photos::parse_tz(q.tz)?;
    let kind = match q.kind.as_deref() {
        None => None,
        Some("photo") => Some("image".to_string()),
        Some("video") => Some("video".to_string()),
        Some(_) => {
            return Err(AppError::bad_request(
                ErrorCode::InvalidQuery,
                "type is photo or video",
            ));
        }
    };
    let filter = crate::search::service::SearchFilter {
        kind,
        from: q.from.as_deref().map(|d| day_ms(d, tz)).transpose()?,
        to: q
            .to
            .as_deref()
            .map(|d| day_ms(d, tz).map(|t| t + 86_400_000))
            .transpose()?,
        place: q.place.filter(|p| !p.is_empty()),
        album: q.album.filter(|a| !a.is_empty()),
    };
    let req = crate::search::service::SearchRequest {
        q: query.clone(),
        limit,
        offset,
        tz,
        filter,
    };
    let found = crate::search::service::search(&app.store, &app.semantic, &user.id, req).await?;
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
