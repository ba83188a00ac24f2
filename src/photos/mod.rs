//! Photos as a family sees them: the timeline (every picture and video newest first, by when it
//! was taken, in month buckets), places (countries and cities from GPS), "on this day", and
//! albums. The read and edit side for the JSON door; the media job writes the facts.

pub use crate::db::albums::AlbumRow;
use crate::db::nodes::Node;
use crate::db::photos::PhotoFilter;
pub use crate::db::photos::PlaceRow;
use crate::db::{self};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::store::Store;

/// Most items a page answers.
pub const MAX_PAGE: i64 = 2000;

/// A month of the timeline and how many photos it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    /// `YYYY-MM` in the caller's time zone.
    pub month: String,
    pub count: i64,
}

/// The caller's time zone as minutes east of UTC (what `-new Date().getTimezoneOffset()` gives).
pub fn parse_tz(tz: Option<i64>) -> AppResult<i64> {
    match tz {
        None => Ok(0),
        Some(t) if (-14 * 60..=14 * 60).contains(&t) => Ok(t),
        Some(_) => Err(AppError::bad_request(
            ErrorCode::InvalidQuery,
            "tz is minutes east of UTC, -840..840",
        )),
    }
}

pub async fn buckets(store: &Store, owner: &str, tz: i64) -> AppResult<Vec<Bucket>> {
    let owner = owner.to_string();
    let rows = store
        .db
        .run(move |c| db::photos::month_buckets(c, &owner, tz))
        .await?;
    Ok(rows
        .into_iter()
        .map(|(month, count)| Bucket { month, count })
        .collect())
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day number since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Milliseconds since the epoch of local midnight starting `y-m-d` in time zone `tz` (minutes east).
pub fn local_midnight_ms(y: i64, m: i64, d: i64, tz: i64) -> i64 {
    days_from_civil(y, m, d) * 86_400_000 - tz * 60_000
}

/// `[start, end)` in ms of month `YYYY-MM` in time zone `tz`.
pub fn month_bounds(month: &str, tz: i64) -> AppResult<(i64, i64)> {
    let bad = || AppError::bad_request(ErrorCode::InvalidQuery, "month is YYYY-MM");
    let (y, m) = month.split_once('-').ok_or_else(bad)?;
    let (y, m): (i64, i64) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if !(1..=12).contains(&m) || !(1..=9999).contains(&y) || month.len() != 7 {
        return Err(bad());
    }
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    Ok((
        local_midnight_ms(y, m, 1, tz),
        local_midnight_ms(ny, nm, 1, tz),
    ))
}

/// What a page of photos asks for.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub month: Option<String>,
    pub cc: Option<String>,
    pub city: Option<String>,
    /// `photo` or `video`.
    pub kind: Option<String>,
    pub cursor: Option<String>,
    pub limit: i64,
    pub tz: i64,
}

fn parse_cursor(c: &str) -> AppResult<(i64, String)> {
    let bad = || {
        AppError::bad_request(
            ErrorCode::InvalidQuery,
            "cursor is the next_cursor of a page",
        )
    };
    let (t, id) = c.split_once('.').ok_or_else(bad)?;
    Ok((t.parse().map_err(|_| bad())?, id.to_string()))
}

/// The filters of a page request (month bounds in its time zone, place, type).
fn filter_of(req: &PageRequest) -> AppResult<PhotoFilter> {
    let (from, to) = match &req.month {
        Some(m) => {
            let (a, b) = month_bounds(m, req.tz)?;
            (Some(a), Some(b))
        }
        None => (None, None),
    };
    let kind = match req.kind.as_deref() {
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
    Ok(PhotoFilter {
        from,
        to,
        cc: req.cc.clone(),
        city: req.city.clone(),
        kind,
    })
}

/// A page of the owner's photos, newest first, and the cursor of the next page (None at the end).
pub async fn page(
    store: &Store,
    owner: &str,
    req: PageRequest,
) -> AppResult<(Vec<Node>, Option<String>)> {
    if !(1..=MAX_PAGE).contains(&req.limit) {
        return Err(AppError::bad_request(
            ErrorCode::InvalidQuery,
            format!("limit is 1..{MAX_PAGE}"),
        ));
    }
    let filter = filter_of(&req)?;
    let cursor = req.cursor.as_deref().map(parse_cursor).transpose()?;
    let (owner, limit) = (owner.to_string(), req.limit);
    store
        .db
        .run(move |c| {
            let rows = db::photos::photo_page(
                c,
                &owner,
                &filter,
                cursor.as_ref().map(|(t, id)| (*t, id.as_str())),
                limit + 1,
            )?;
            let more = rows.len() as i64 > limit;
            let mut nodes = Vec::with_capacity(rows.len());
            let mut next = None;
            for (id, t) in rows.into_iter().take(limit as usize) {
                if let Some(n) = db::nodes::find_owned_node(c, &owner, &id)? {
                    nodes.push(n);
                }
                next = Some(format!("{t}.{id}"));
            }
            Ok((nodes, if more { next } else { None }))
        })
        .await
}

/// The photos just newer and just older than `id` in the timeline (with the request's filters),
/// for a viewer that pages through it; 404 when `id` is not one of the owner's photos.
pub async fn neighbours(
    store: &Store,
    owner: &str,
    id: &str,
    req: PageRequest,
) -> AppResult<(Option<Node>, Option<Node>)> {
    let filter = filter_of(&req)?;
    let (owner, id) = (owner.to_string(), id.to_string());
    store
        .db
        .run(move |c| {
            let (newer, older) = db::photos::photo_neighbours(c, &owner, &filter, &id)?
                .ok_or_else(|| AppError::new(ErrorCode::NotFound, "no such photo"))?;
            let node = |n: Option<String>| match n {
                Some(n) => db::nodes::find_owned_node(c, &owner, &n),
                None => Ok(None),
            };
            Ok((node(newer)?, node(older)?))
        })
        .await
}

/// A country with its cities.
#[derive(Debug, Clone, PartialEq)]
pub struct Country {
    pub cc: String,
    pub country: String,
    pub count: i64,
    pub cover_id: String,
    pub cities: Vec<PlaceRow>,
}

/// The owner's places: countries by photo count, each with its cities by count.
pub async fn places(store: &Store, owner: &str) -> AppResult<Vec<Country>> {
    let owner = owner.to_string();
    let rows = store.db.run(move |c| db::photos::places(c, &owner)).await?;
    let mut out: Vec<Country> = Vec::new();
    for r in rows {
        match out.last_mut() {
            Some(c) if c.cc == r.cc => {
                c.count += r.count;
                c.cities.push(r);
            }
            _ => out.push(Country {
                cc: r.cc.clone(),
                country: r.country.clone(),
                count: r.count,
                cover_id: r.cover_id.clone(),
                cities: vec![r],
            }),
        }
    }
    // The cover of a country: the cover of its biggest city (cities come by count).
    out.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.country.cmp(&b.country))
    });
    Ok(out)
}

/// Photos taken on today's month and day in earlier years, by year (newest year first).
pub async fn on_this_day(store: &Store, owner: &str, tz: i64) -> AppResult<Vec<(i32, Vec<Node>)>> {
    let now_ms = db::now_ms();
    let (y, m, d) = civil_from_days((now_ms + tz * 60_000).div_euclid(86_400_000));
    let md = format!("{m:02}-{d:02}");
    let owner = owner.to_string();
    store
        .db
        .run(move |c| {
            let rows = db::photos::on_this_day(c, &owner, tz, &md, y as i32, 200)?;
            let mut out: Vec<(i32, Vec<Node>)> = Vec::new();
            for (id, year) in rows {
                let Some(n) = db::nodes::find_owned_node(c, &owner, &id)? else {
                    continue;
                };
                match out.last_mut() {
                    Some((yy, v)) if *yy == year => v.push(n),
                    _ => out.push((year, vec![n])),
                }
            }
            Ok(out)
        })
        .await
}

// ---- Albums ----

/// An album name as people type it: trimmed, 1..=200 characters, no control characters.
pub fn parse_album_name(raw: &str) -> AppResult<String> {
    let n = raw.trim();
    if n.is_empty() || n.chars().count() > 200 || n.chars().any(char::is_control) {
        return Err(AppError::bad_request(
            ErrorCode::InvalidAlbum,
            "an album name is 1 to 200 characters, without control characters",
        ));
    }
    Ok(n.to_string())
}

fn album_missing() -> AppError {
    AppError::new(ErrorCode::AlbumNotFound, "no such album")
}

/// Ids of `ids` that are not the owner's photos.
fn not_photos(c: &rusqlite::Connection, owner: &str, ids: &[String]) -> AppResult<Vec<String>> {
    let ok = db::photos::owned_photos(c, owner, ids)?;
    Ok(ids.iter().filter(|i| !ok.contains(i)).cloned().collect())
}

fn refuse_not_photos(bad: &[String]) -> AppResult<()> {
    if bad.is_empty() {
        return Ok(());
    }
    Err(AppError::bad_request(
        ErrorCode::NotAPhoto,
        format!(
            "{} of the items {} not among your pictures and videos: {}",
            bad.len(),
            if bad.len() == 1 { "is" } else { "are" },
            bad.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
        ),
    ))
}

pub async fn create_album(
    store: &Store,
    owner: &str,
    name: &str,
    ids: Vec<String>,
) -> AppResult<AlbumRow> {
    let name = parse_album_name(name)?;
    let owner = owner.to_string();
    store
        .db
        .run(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            refuse_not_photos(&not_photos(&tx, &owner, &ids)?)?;
            let id = db::new_id();
            let now = db::now_ms();
            db::albums::insert_album(&tx, &id, &owner, &name, now)?;
            for n in &ids {
                db::albums::add_item(&tx, &id, n, now)?;
            }
            let row = db::albums::find_album(&tx, &owner, &id)?.ok_or_else(album_missing)?;
            tx.commit()?;
            Ok(row)
        })
        .await
}

pub async fn list_albums(store: &Store, owner: &str) -> AppResult<Vec<AlbumRow>> {
    let owner = owner.to_string();
    store
        .db
        .run(move |c| db::albums::list_albums(c, &owner))
        .await
}

/// An album and its items (live files, in the album's order).
pub async fn album(store: &Store, owner: &str, id: &str) -> AppResult<(AlbumRow, Vec<Node>)> {
    let (owner, id) = (owner.to_string(), id.to_string());
    store
        .db
        .run(move |c| {
            let a = db::albums::find_album(c, &owner, &id)?.ok_or_else(album_missing)?;
            let mut nodes = Vec::new();
            for n in db::albums::album_items(c, &a.id, a.sort == "asc")? {
                if let Some(node) = db::nodes::find_owned_node(c, &owner, &n)? {
                    nodes.push(node);
                }
            }
            Ok((a, nodes))
        })
        .await
}

/// Runs `f` on the owner's album `id` (404 when it is not one) in one write transaction, and
/// returns its result with the album as it is afterwards (None once deleted).
async fn change_album<T: Send + 'static>(
    store: &Store,
    owner: &str,
    id: &str,
    f: impl FnOnce(&rusqlite::Transaction, &AlbumRow) -> AppResult<T> + Send + 'static,
) -> AppResult<(T, Option<AlbumRow>)> {
    let (owner, id) = (owner.to_string(), id.to_string());
    store
        .db
        .run(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let a = db::albums::find_album(&tx, &owner, &id)?.ok_or_else(album_missing)?;
            let out = f(&tx, &a)?;
            let after = db::albums::find_album(&tx, &owner, &id)?;
            tx.commit()?;
            Ok((out, after))
        })
        .await
}

/// What an album edit changes (None: unchanged; `cover: Some(None)`: back to the newest item).
#[derive(Debug, Clone, Default)]
pub struct AlbumEdit {
    pub name: Option<String>,
    pub cover: Option<Option<String>>,
    pub sort: Option<String>,
}

pub async fn edit_album(
    store: &Store,
    owner: &str,
    id: &str,
    edit: AlbumEdit,
) -> AppResult<AlbumRow> {
    let name = edit.name.as_deref().map(parse_album_name).transpose()?;
    if let Some(s) = &edit.sort
        && s != "asc"
        && s != "desc"
    {
        return Err(AppError::bad_request(
            ErrorCode::InvalidAlbum,
            "sort is asc or desc",
        ));
    }
    let (_, after) = change_album(store, owner, id, move |tx, a| {
        let cover = match &edit.cover {
            Some(Some(node)) => {
                if !db::albums::album_has(tx, &a.id, node)? {
                    return Err(AppError::bad_request(
                        ErrorCode::NotAPhoto,
                        "the cover must be an item of the album",
                    ));
                }
                Some(node.clone())
            }
            Some(None) => None,
            None => db::albums::explicit_cover(tx, &a.id)?,
        };
        db::albums::update_album(
            tx,
            &a.id,
            name.as_deref().unwrap_or(&a.name),
            cover.as_deref(),
            edit.sort.as_deref().unwrap_or(&a.sort),
            db::now_ms(),
        )
    })
    .await?;
    after.ok_or_else(album_missing)
}

/// Deletes the album; its files stay where they are.
pub async fn delete_album(store: &Store, owner: &str, id: &str) -> AppResult<()> {
    change_album(store, owner, id, |tx, a| {
        db::albums::delete_album(tx, &a.id)
    })
    .await?;
    Ok(())
}

/// Adds (or removes) files; returns the album and how many were added (removed). Adding refuses
/// the whole request when any id is not one of the owner's photos.
pub async fn change_items(
    store: &Store,
    owner: &str,
    id: &str,
    ids: Vec<String>,
    add: bool,
) -> AppResult<(AlbumRow, usize)> {
    if ids.is_empty() || ids.len() > 10_000 {
        return Err(AppError::bad_request(
            ErrorCode::InvalidQuery,
            "ids: 1 to 10,000 file ids",
        ));
    }
    let who = owner.to_string();
    let (changed, after) = change_album(store, owner, id, move |tx, a| {
        let now = db::now_ms();
        let mut changed = 0;
        if add {
            refuse_not_photos(&not_photos(tx, &who, &ids)?)?;
            for n in &ids {
                changed += usize::from(db::albums::add_item(tx, &a.id, n, now)?);
            }
        } else {
            for n in &ids {
                changed += usize::from(db::albums::remove_item(tx, &a.id, n)?);
            }
        }
        db::albums::touch_album(tx, &a.id, now)?;
        Ok(changed)
    })
    .await?;
    Ok((after.ok_or_else(album_missing)?, changed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip_and_months_have_their_bounds() {
        for (y, m, d) in [
            (1970, 1, 1),
            (2000, 2, 29),
            (2023, 7, 14),
            (2024, 12, 31),
            (1969, 12, 31),
        ] {
            assert_eq!(civil_from_days(days_from_civil(y, m, d)), (y, m, d));
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        // July 2023 in Paris (UTC+2 in summer): from 2023-06-30T22:00Z to 2023-07-31T22:00Z.
        let (a, b) = month_bounds("2023-07", 120).unwrap();
        assert_eq!(a, 1_688_162_400_000);
        assert_eq!(b - a, 31 * 86_400_000);
        let (_, dec_end) = month_bounds("2023-12", 0).unwrap();
        assert_eq!(dec_end, month_bounds("2024-01", 0).unwrap().0);
        for bad in ["2023-13", "2023-7", "july", "2023-00", ""] {
            assert!(month_bounds(bad, 0).is_err(), "{bad}");
        }
        assert!(parse_tz(Some(900)).is_err());
        assert_eq!(parse_tz(Some(-300)).unwrap(), -300);
    }

    #[test]
    fn album_names_are_trimmed_and_checked() {
        assert_eq!(parse_album_name("  Summer 2023 ").unwrap(), "Summer 2023");
        assert!(parse_album_name("   ").is_err());
        assert!(parse_album_name("a\u{7}b").is_err());
        assert!(parse_album_name(&"x".repeat(201)).is_err());
    }
}
