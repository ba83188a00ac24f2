//! Photos: the timeline, places, "on this day" and albums.

use serde::Serialize;
use ts_rs::TS;

use super::{FileResponse, rfc3339};
use crate::photos::{AlbumRow, Bucket, Country, PlaceRow};

/// One month of the timeline.
#[derive(Serialize, TS)]
#[ts(rename = "PhotoBucket")]
pub struct BucketResponse {
    /// `YYYY-MM` in the time zone asked for (`tz`).
    pub month: String,
    pub count: i64,
}

impl From<&Bucket> for BucketResponse {
    fn from(b: &Bucket) -> Self {
        BucketResponse {
            month: b.month.clone(),
            count: b.count,
        }
    }
}

/// `GET /api/photos/buckets`: months newest first.
#[derive(Serialize, TS)]
#[ts(rename = "PhotoBuckets")]
pub struct BucketsResponse {
    pub buckets: Vec<BucketResponse>,
    pub total: i64,
}

/// `GET /api/photos`: a page newest first; `next_cursor` asks for the next one (null at the end).
#[derive(Serialize, TS)]
#[ts(rename = "PhotoPage")]
pub struct PhotoPageResponse {
    pub items: Vec<FileResponse>,
    pub next_cursor: Option<String>,
}

/// `GET /api/photos/{id}/neighbours`: the photos just newer and just older in the timeline
/// (null at either end), for a viewer that pages through it.
#[derive(Serialize, TS)]
#[ts(rename = "PhotoNeighbours")]
pub struct PhotoNeighboursResponse {
    pub newer: Option<FileResponse>,
    pub older: Option<FileResponse>,
}

/// Photos of one earlier year on today's date.
#[derive(Serialize, TS)]
#[ts(rename = "OnThisDayYear")]
pub struct OnThisDayYearResponse {
    pub year: i32,
    pub items: Vec<FileResponse>,
}

/// `GET /api/photos/on-this-day`: newest year first; empty when there is none.
#[derive(Serialize, TS)]
#[ts(rename = "OnThisDay")]
pub struct OnThisDayResponse {
    pub years: Vec<OnThisDayYearResponse>,
}

#[derive(Serialize, TS)]
#[ts(rename = "PlaceCity")]
pub struct CityResponse {
    pub city: String,
    pub region: String,
    pub count: i64,
    /// The newest photo taken there.
    pub cover_id: String,
}

impl From<&PlaceRow> for CityResponse {
    fn from(p: &PlaceRow) -> Self {
        CityResponse {
            city: p.city.clone(),
            region: p.region.clone(),
            count: p.count,
            cover_id: p.cover_id.clone(),
        }
    }
}

#[derive(Serialize, TS)]
#[ts(rename = "PlaceCountry")]
pub struct CountryResponse {
    /// ISO 3166-1 alpha-2 (the `cc` filter of `GET /api/photos`).
    pub cc: String,
    pub country: String,
    pub count: i64,
    pub cover_id: String,
    /// By photo count.
    pub cities: Vec<CityResponse>,
}

impl From<&Country> for CountryResponse {
    fn from(c: &Country) -> Self {
        CountryResponse {
            cc: c.cc.clone(),
            country: c.country.clone(),
            count: c.count,
            cover_id: c.cover_id.clone(),
            cities: c.cities.iter().map(CityResponse::from).collect(),
        }
    }
}

/// `GET /api/places`: countries by photo count.
#[derive(Serialize, TS)]
#[ts(rename = "Places")]
pub struct PlacesResponse {
    pub countries: Vec<CountryResponse>,
}

#[derive(Serialize, TS)]
#[ts(rename = "Album")]
pub struct AlbumResponse {
    pub id: String,
    pub name: String,
    /// The cover chosen, else the newest item; null for an empty album.
    pub cover_id: Option<String>,
    /// `asc` (oldest first) or `desc`.
    #[ts(type = "\"asc\" | \"desc\"")]
    pub sort: String,
    pub count: i64,
    /// When its oldest and newest items were taken.
    pub first_at: Option<String>,
    pub last_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&AlbumRow> for AlbumResponse {
    fn from(a: &AlbumRow) -> Self {
        AlbumResponse {
            id: a.id.clone(),
            name: a.name.clone(),
            cover_id: a.cover_id.clone(),
            sort: a.sort.clone(),
            count: a.count,
            first_at: a.first_at.map(rfc3339),
            last_at: a.last_at.map(rfc3339),
            created_at: rfc3339(a.created_at),
            updated_at: rfc3339(a.updated_at),
        }
    }
}

/// `GET /api/albums`.
#[derive(Serialize, TS)]
#[ts(rename = "Albums")]
pub struct AlbumsResponse {
    pub albums: Vec<AlbumResponse>,
}

/// `GET /api/albums/{id}`: the album and its items in its order.
#[derive(Serialize, TS)]
#[ts(rename = "AlbumWithItems")]
pub struct AlbumItemsResponse {
    pub album: AlbumResponse,
    pub items: Vec<FileResponse>,
}

/// `POST` / `DELETE /api/albums/{id}/items`.
#[derive(Serialize, TS)]
#[ts(rename = "AlbumChange")]
pub struct AlbumChangeResponse {
    pub album: AlbumResponse,
    /// How many were added (removed); ids already in (not in) do not count.
    pub changed: usize,
}
