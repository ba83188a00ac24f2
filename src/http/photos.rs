//! Photos: `GET /api/photos/buckets`, `GET /api/photos` (a page of the timeline, a month, a
//! place), `GET /api/photos/on-this-day`, `GET /api/places`, and albums under `/api/albums`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use crate::error::{AppError, AppResult, ErrorCode};
use crate::http::dto::{
    AlbumChangeResponse, AlbumItemsResponse, AlbumResponse, AlbumsResponse, BucketResponse,
    BucketsResponse, CountryResponse, FileResponse, OnThisDayResponse, OnThisDayYearResponse,
    PhotoNeighboursResponse, PhotoPageResponse, PlacesResponse,
};
use crate::http::extract::{ApiJson, AuthUser};
use crate::photos::{self, AlbumEdit, PageRequest};
use crate::state::App;
use crate::store::Node;

/// The photo routes, under `/api`.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/photos", get(page))
        .route("/photos/buckets", get(buckets))
        .route("/photos/{id}/neighbours", get(neighbours))
        .route("/photos/on-this-day", get(on_this_day))
        .route("/places", get(places))
        .route("/albums", get(list_albums).post(create_album))
        .route(
            "/albums/{id}",
            get(get_album).patch(edit_album).delete(delete_album),
        )
        .route("/albums/{id}/items", post(add_items).delete(remove_items))
}

type QueryResult<T> = Result<Query<T>, axum::extract::rejection::QueryRejection>;

fn query<T>(q: QueryResult<T>) -> AppResult<T> {
    q.map(|Query(q)| q)
        .map_err(|e| AppError::bad_request(ErrorCode::InvalidQuery, e.body_text()))
}

/// Files of a page as listings show them (media facts, Live Photo partner).
async fn files(app: &App, nodes: &[Node]) -> AppResult<Vec<FileResponse>> {
    let facts = crate::catalog::page_facts(&app.store, nodes).await?;
    Ok(nodes
        .iter()
        .map(|n| FileResponse::listed(n, &facts))
        .collect())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TzQuery {
    tz: Option<i64>,
}

pub async fn buckets(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    q: QueryResult<TzQuery>,
) -> AppResult<Json<BucketsResponse>> {
    let tz = photos::parse_tz(query(q)?.tz)?;
    let b = photos::buckets(&app.store, &user.id, tz).await?;
    Ok(Json(BucketsResponse {
        total: b.iter().map(|b| b.count).sum(),
        buckets: b.iter().map(BucketResponse::from).collect(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    month: Option<String>,
    cc: Option<String>,
    city: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
    tz: Option<i64>,
}

fn page_request(q: PageQuery) -> AppResult<PageRequest> {
    Ok(PageRequest {
        month: q.month,
        cc: q.cc,
        city: q.city,
        kind: q.kind,
        cursor: q.cursor,
        limit: q.limit.unwrap_or(500),
        tz: photos::parse_tz(q.tz)?,
    })
}

pub async fn page(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    q: QueryResult<PageQuery>,
) -> AppResult<Json<PhotoPageResponse>> {
    let req = page_request(query(q)?)?;
    let (nodes, next_cursor) = photos::page(&app.store, &user.id, req).await?;
    Ok(Json(PhotoPageResponse {
        items: files(&app, &nodes).await?,
        next_cursor,
    }))
}

/// The viewer's previous and next photo in the timeline (the same filters as a page).
pub async fn neighbours(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    q: QueryResult<PageQuery>,
) -> AppResult<Json<PhotoNeighboursResponse>> {
    let req = page_request(query(q)?)?;
    let (newer, older) = photos::neighbours(&app.store, &user.id, &id, req).await?;
    let both: Vec<Node> = newer.iter().chain(older.iter()).cloned().collect();
    let mut listed = files(&app, &both).await?.into_iter();
    Ok(Json(PhotoNeighboursResponse {
        newer: newer.and_then(|_| listed.next()),
        older: older.and_then(|_| listed.next()),
    }))
}

pub async fn on_this_day(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    q: QueryResult<TzQuery>,
) -> AppResult<Json<OnThisDayResponse>> {
    let tz = photos::parse_tz(query(q)?.tz)?;
    let found = photos::on_this_day(&app.store, &user.id, tz).await?;
    let mut years = Vec::with_capacity(found.len());
    for (year, nodes) in found {
        years.push(OnThisDayYearResponse {
            year,
            items: files(&app, &nodes).await?,
        });
    }
    Ok(Json(OnThisDayResponse { years }))
}

pub async fn places(
    State(app): State<App>,
    AuthUser(user): AuthUser,
) -> AppResult<Json<PlacesResponse>> {
    let countries = photos::places(&app.store, &user.id).await?;
    Ok(Json(PlacesResponse {
        countries: countries.iter().map(CountryResponse::from).collect(),
    }))
}

pub async fn list_albums(
    State(app): State<App>,
    AuthUser(user): AuthUser,
) -> AppResult<Json<AlbumsResponse>> {
    let albums = photos::list_albums(&app.store, &user.id).await?;
    Ok(Json(AlbumsResponse {
        albums: albums.iter().map(AlbumResponse::from).collect(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateAlbumRequest {
    name: String,
    #[serde(default)]
    ids: Vec<String>,
}

pub async fn create_album(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    ApiJson(req): ApiJson<CreateAlbumRequest>,
) -> AppResult<(StatusCode, Json<AlbumResponse>)> {
    let a = photos::create_album(&app.store, &user.id, &req.name, req.ids).await?;
    Ok((StatusCode::CREATED, Json(AlbumResponse::from(&a))))
}

pub async fn get_album(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> AppResult<Json<AlbumItemsResponse>> {
    let (a, nodes) = photos::album(&app.store, &user.id, &id).await?;
    Ok(Json(AlbumItemsResponse {
        album: AlbumResponse::from(&a),
        items: files(&app, &nodes).await?,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditAlbumRequest {
    name: Option<String>,
    /// A file id, or null for "the newest item".
    #[serde(default, deserialize_with = "present")]
    cover_id: Option<Option<String>>,
    sort: Option<String>,
}

/// `"cover_id": null` (back to automatic) differs from no `cover_id` (unchanged).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(Option::deserialize(d)?))
}

pub async fn edit_album(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<EditAlbumRequest>,
) -> AppResult<Json<AlbumResponse>> {
    let edit = AlbumEdit {
        name: req.name,
        cover: req.cover_id,
        sort: req.sort,
    };
    let a = photos::edit_album(&app.store, &user.id, &id, edit).await?;
    Ok(Json(AlbumResponse::from(&a)))
}

pub async fn delete_album(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    photos::delete_album(&app.store, &user.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemsRequest {
    ids: Vec<String>,
}

pub async fn add_items(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ItemsRequest>,
) -> AppResult<Json<AlbumChangeResponse>> {
    let (a, changed) = photos::change_items(&app.store, &user.id, &id, req.ids, true).await?;
    Ok(Json(AlbumChangeResponse {
        album: AlbumResponse::from(&a),
        changed,
    }))
}

pub async fn remove_items(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ItemsRequest>,
) -> AppResult<Json<AlbumChangeResponse>> {
    let (a, changed) = photos::change_items(&app.store, &user.id, &id, req.ids, false).await?;
    Ok(Json(AlbumChangeResponse {
        album: AlbumResponse::from(&a),
        changed,
    }))
}
