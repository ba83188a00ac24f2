//! Tags: the caller's tags with counts, the files under a tag, and adding/removing a file's tags.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;

use crate::error::{AppError, AppResult, ErrorCode};
use crate::http::dto::{
    FileResponse, FileTagsResponse, TagCountResponse, TagFilesResponse, TagsResponse, tags_response,
};
use crate::http::extract::AuthUser;
use crate::state::App;

pub async fn list(
    State(app): State<App>,
    AuthUser(user): AuthUser,
) -> AppResult<Json<TagsResponse>> {
    let tags = crate::catalog::list_tags(&app.store, &user.id).await?;
    let tags = tags
        .into_iter()
        .map(|(tag, count)| TagCountResponse { tag, count })
        .collect();
    Ok(Json(TagsResponse { tags }))
}

#[derive(Deserialize)]
pub struct PageQuery {
    limit: Option<i64>,
    offset: Option<i64>,
}

pub fn page(
    q: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> AppResult<(i64, i64)> {
    let Query(q) = q.map_err(|e| AppError::bad_request(ErrorCode::InvalidQuery, e.body_text()))?;
    let (limit, offset) = (q.limit.unwrap_or(100), q.offset.unwrap_or(0));
    if !(1..=1000).contains(&limit) || offset < 0 {
        return Err(AppError::bad_request(
            ErrorCode::InvalidQuery,
            "limit is 1..1000 and offset is 0 or more",
        ));
    }
    Ok((limit, offset))
}

pub async fn files(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    Path(tag): Path<String>,
    q: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> AppResult<Json<TagFilesResponse>> {
    let (limit, offset) = page(q)?;
    let (nodes, total) =
        crate::catalog::files_with_tag(&app.store, &user.id, &tag, limit, offset).await?;
    let facts = crate::catalog::page_facts(&app.store, &nodes).await?;
    let items: Vec<FileResponse> = nodes
        .iter()
        .map(|n| FileResponse::listed(n, &facts))
        .collect();
    Ok(Json(TagFilesResponse {
        tag: crate::catalog::parse_tag(&tag)?,
        items,
        total,
        limit,
        offset,
    }))
}

pub async fn add(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    Path((id, tag)): Path<(String, String)>,
) -> AppResult<Json<FileTagsResponse>> {
    let tags = crate::catalog::add_tag(
        &app.store,
        &user.id,
        &crate::http::files::parse_id(&id)?,
        &tag,
    )
    .await?;
    Ok(Json(FileTagsResponse {
        tags: tags_response(&tags),
    }))
}

pub async fn remove(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    Path((id, tag)): Path<(String, String)>,
) -> AppResult<Json<FileTagsResponse>> {
    let tags = crate::catalog::remove_tag(
        &app.store,
        &user.id,
        &crate::http::files::parse_id(&id)?,
        &tag,
    )
    .await?;
    Ok(Json(FileTagsResponse {
        tags: tags_response(&tags),
    }))
}
