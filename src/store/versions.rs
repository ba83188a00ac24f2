//! Earlier versions of files. Overwriting a file's body (WebDAV PUT, an upload with
//! `on_conflict=overwrite`, tus or chunked onto an existing name, a COPY over it) keeps the old
//! body as a version of the same file id (an empty body is not kept); versions count in the
//! quota.
//!
//! Thinning, as Nextcloud does it: of the versions made in the last 10 seconds one per second
//! is kept, in the last hour one per minute, in the last day one per hour, in the last 30 days
//! one per day, and one per week before that — the newest of each such second, minute, hour,
//! day or week (counted from the Unix epoch, so the slots nest and a version's fate does not
//! depend on when thinning ran); versions older than `versions_max_age` go. Ages are measured
//! from when a version was made (when its body stopped being the current one).

use rusqlite::{Connection, TransactionBehavior};

use super::{Keep, Store, etag};
use crate::db::nodes::Node;
use crate::db::trash::TrashEntry;
use crate::db::versions::Version;
use crate::db::{self};
use crate::error::{AppError, AppResult, ErrorCode};

const SECOND: i64 = 1000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// The spacing kept between versions of this age.
fn spacing(age_ms: i64) -> i64 {
    match age_ms {
        a if a < 10 * SECOND => SECOND,
        a if a < HOUR => MINUTE,
        a if a < DAY => HOUR,
        a if a < 30 * DAY => DAY,
        _ => 7 * DAY,
    }
}

/// Which of `made` (the times versions were made, newest first) thinning removes at `now`: a
/// version goes when a newer one was made in the same slot (the second, minute, hour, day or
/// week its own age calls for), or when it is older than `max_age`. The slots nest and ages
/// only grow, so thinning often or once gives the same result.
pub fn thinned(made: &[i64], now: i64, max_age: i64) -> Vec<bool> {
    let mut newer: Option<i64> = None;
    made.iter()
        .map(|&t| {
            let age = (now - t).max(0);
            let step = spacing(age);
            // The next newer version is in this slot if any newer one is (slots are intervals).
            let remove =
                age > max_age || newer.is_some_and(|u| u.div_euclid(step) == t.div_euclid(step));
            newer = Some(t);
            remove
        })
        .collect()
}

pub(super) fn unlink_entry_of(v: &Version) -> TrashEntry {
    TrashEntry {
        volume: v.volume.clone(),
        user_id: v.owner_id.clone(),
        blob_id: v.blob_id.clone(),
        ext: v.ext.clone(),
    }
}

/// `file`'s current body becomes a version (inside the caller's transaction).
pub(super) fn keep_as_version_in(tx: &Connection, file: &Node, now: i64) -> AppResult<Version> {
    let v = Version {
        id: db::new_id(),
        node_id: file.id.clone(),
        owner_id: file.owner_id.clone(),
        size: file.size,
        content_type: file.content_type.clone(),
        blob_id: file.blob_id.clone().unwrap_or_default(),
        volume: file.volume.clone().unwrap_or_default(),
        ext: file.ext.clone().unwrap_or_default(),
        content_hash: file.content_hash.clone(),
        modified_at: file.modified_at,
        created_at: now,
    };
    db::versions::insert_version(tx, &v)?;
    Ok(v)
}

/// Removes version `v` for good (inside the caller's transaction): its bytes released, its
/// body listed for unlinking once the transaction commits.
pub(super) fn remove_version_in(tx: &Connection, v: &Version, now: i64) -> AppResult<TrashEntry> {
    let e = unlink_entry_of(v);
    db::trash::insert_trash(tx, &e, now)?;
    db::versions::delete_version(tx, &v.id)?;
    db::users::apply_usage(tx, &v.owner_id, -v.size, 0)?;
    Ok(e)
}

/// Thins the versions of file `node` (inside the caller's transaction); returns the bodies to
/// unlink once it commits.
pub(super) fn thin_in(tx: &Connection, node: &str, keep: &Keep) -> AppResult<Vec<TrashEntry>> {
    let now = keep.now_ms();
    let versions = db::versions::list_versions_by_age(tx, node)?;
    let made: Vec<i64> = versions.iter().map(|v| v.created_at).collect();
    let mut out = Vec::new();
    for (v, remove) in versions
        .iter()
        .zip(thinned(&made, now, keep.versions_max_age_ms))
    {
        if remove {
            out.push(remove_version_in(tx, v, now)?);
        }
    }
    Ok(out)
}

impl Store {
    /// A live file of `owner` (versions belong to files, not folders).
    fn owned_file(c: &Connection, owner: &str, id: &str) -> AppResult<Node> {
        match db::nodes::find_owned_node(c, owner, id)? {
            Some(n) if !n.is_dir() => Ok(n),
            Some(_) => Err(AppError::bad_request(
                ErrorCode::IsAFolder,
                "folders have no versions",
            )),
            None => Err(AppError::not_found()),
        }
    }

    /// The earlier versions of file `id`, newest first (the current body is the file itself).
    pub async fn list_versions(&self, owner: &str, id: &str) -> AppResult<Vec<Version>> {
        let (owner, id) = (owner.to_string(), id.to_string());
        self.db
            .run(move |c| {
                let file = Self::owned_file(c, &owner, &id)?;
                db::versions::list_versions_by_age(c, &file.id)
            })
            .await
    }

    /// Version `vid` of file `id` as the file it was: its name, that body, size, hash and
    /// time, and the version's id as its etag (so it downloads like any file).
    pub async fn version_as_file(&self, owner: &str, id: &str, vid: &str) -> AppResult<Node> {
        let (o, i, v) = (owner.to_string(), id.to_string(), vid.to_string());
        self.db
            .run(move |c| {
                let mut file = Self::owned_file(c, &o, &i)?;
                let v =
                    db::versions::find_version(c, &file.id, &v)?.ok_or_else(version_not_found)?;
                file.blob_id = Some(v.blob_id);
                file.volume = Some(v.volume);
                file.ext = Some(v.ext);
                file.size = v.size;
                file.content_hash = v.content_hash;
                file.content_type = v.content_type.or(file.content_type);
                file.modified_at = v.modified_at;
                file.etag = v.id;
                Ok(file)
            })
            .await
    }

    /// Makes version `vid` the file's body again; the current body becomes a version. The file
    /// keeps its id (and its tags); thumbnails and AI are made again for the restored body.
    pub async fn restore_version(&self, owner: &str, id: &str, vid: &str) -> AppResult<Node> {
        let (o, i, v) = (owner.to_string(), id.to_string(), vid.to_string());
        let keep = self.keep.clone();
        let (node, queued) = self
            .db
            .run(move |c| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let file = Self::owned_file(&tx, &o, &i)?;
                let version =
                    db::versions::find_version(&tx, &file.id, &v)?.ok_or_else(version_not_found)?;
                let now = keep.now_ms();
                keep_as_version_in(&tx, &file, now)?;
                db::versions::delete_version(&tx, &version.id)?;
                let mut node = file.clone();
                node.size = version.size;
                node.content_type = version.content_type.clone().or(file.content_type.clone());
                node.blob_id = Some(version.blob_id.clone());
                node.volume = Some(version.volume.clone());
                node.ext = Some(version.ext.clone());
                node.content_hash = version.content_hash.clone();
                node.modified_at = db::now_ms();
                node.etag = etag();
                // The two bodies swap places: `used_bytes` already counts both.
                db::nodes::update_body(&tx, &node)?;
                db::props::clear_checksums(&tx, &node.id)?;
                if let Some(parent) = &node.parent_id {
                    db::nodes::touch_dir(&tx, parent, now, &etag())?;
                }
                let queued = super::processing::queue_for_new_body(&tx, &node, true)?;
                tx.commit()?;
                Ok((node, queued))
            })
            .await?;
        if let Some(ev) = self.events.get() {
            ev.files_changed(&node.owner_id, std::slice::from_ref(&node.id));
            if queued {
                ev.jobs_queued();
            }
        }
        Ok(node)
    }

    /// Deletes version `vid` of file `id` for good.
    pub async fn delete_version(&self, owner: &str, id: &str, vid: &str) -> AppResult<()> {
        let (o, i, v) = (owner.to_string(), id.to_string(), vid.to_string());
        let now = self.keep.now_ms();
        let gone = self
            .db
            .run(move |c| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let file = Self::owned_file(&tx, &o, &i)?;
                let version =
                    db::versions::find_version(&tx, &file.id, &v)?.ok_or_else(version_not_found)?;
                let e = remove_version_in(&tx, &version, now)?;
                tx.commit()?;
                Ok(e)
            })
            .await?;
        self.purge(vec![gone]).await;
        Ok(())
    }

    /// The maintenance sweep's part for versions: every file's versions thinned at this clock
    /// (which drops those past `versions_max_age`). Returns how many went.
    pub async fn thin_all_versions(&self) -> AppResult<usize> {
        let mut after = String::new();
        let mut removed = 0;
        loop {
            let (keep, a) = (self.keep.clone(), after.clone());
            let (batch, unlink) = self
                .db
                .run(move |c| {
                    let ids = db::versions::list_nodes_with_versions(c, &a, 200)?;
                    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                    let mut unlink = Vec::new();
                    for id in &ids {
                        unlink.extend(thin_in(&tx, id, &keep)?);
                    }
                    tx.commit()?;
                    Ok((ids, unlink))
                })
                .await?;
            removed += unlink.len();
            self.purge(unlink).await;
            match batch.last() {
                Some(last) => after = last.clone(),
                None => return Ok(removed),
            }
        }
    }
}

fn version_not_found() -> AppError {
    AppError::new(ErrorCode::VersionNotFound, "no such version of this file")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 2_900 * 7 * DAY;

    fn kept(made_ago: &[i64]) -> Vec<i64> {
        let made: Vec<i64> = made_ago.iter().map(|a| NOW - a).collect();
        made_ago
            .iter()
            .zip(thinned(&made, NOW, 180 * DAY))
            .filter(|(_, r)| !*r)
            .map(|(a, _)| *a)
            .collect()
    }

    // NOW is a whole number of weeks since the epoch, so "ago" values map onto slots plainly.
    #[test]
    fn keeps_the_newest_per_second_then_minute_hour_day_week() {
        // Within the first 10 s: one per second (the slots are NOW-1s..NOW, NOW-2s..NOW-1s, ...).
        assert_eq!(kept(&[100, 300, 1_100, 1_500, 2_200]), [100, 1_100, 2_200]);
        // Within the first hour: one per minute.
        assert_eq!(
            kept(&[
                11 * SECOND,
                40 * SECOND,
                75 * SECOND,
                2 * MINUTE + 20 * SECOND
            ]),
            [11 * SECOND, 75 * SECOND, 2 * MINUTE + 20 * SECOND]
        );
        // Within the first day: one per hour.
        assert_eq!(
            kept(&[2 * HOUR + MINUTE, 2 * HOUR + 30 * MINUTE, 3 * HOUR + MINUTE]),
            [2 * HOUR + MINUTE, 3 * HOUR + MINUTE]
        );
        // Within 30 days: one per day; after: one per week.
        assert_eq!(
            kept(&[2 * DAY + HOUR, 2 * DAY + 2 * HOUR, 3 * DAY + HOUR]),
            [2 * DAY + HOUR, 3 * DAY + HOUR]
        );
        assert_eq!(
            kept(&[40 * DAY, 41 * DAY, 47 * DAY, 60 * DAY]),
            [40 * DAY, 47 * DAY, 60 * DAY]
        );
        // Past the maximum age: none.
        assert_eq!(kept(&[181 * DAY, 200 * DAY]), Vec::<i64>::new());
    }

    #[test]
    fn thinning_in_steps_ends_where_thinning_once_does() {
        // Versions made every 7 s for two days, thinned after each: the same as thinned once.
        let made: Vec<i64> = (0..(2 * DAY / (7 * SECOND)))
            .map(|i| NOW + i * 7 * SECOND)
            .collect();
        let mut live: Vec<i64> = Vec::new();
        for &t in &made {
            live.insert(0, t);
            let r = thinned(&live, t, 180 * DAY);
            live = live
                .iter()
                .zip(r)
                .filter(|(_, r)| !r)
                .map(|(t, _)| *t)
                .collect();
        }
        let end = *made.last().unwrap();
        let all: Vec<i64> = made.iter().rev().copied().collect();
        let once: Vec<i64> = all
            .iter()
            .zip(thinned(&all, end, 180 * DAY))
            .filter(|(_, r)| !r)
            .map(|(t, _)| *t)
            .collect();
        assert_eq!(live, once);
        assert!(live.len() < 100, "{}", live.len());
    }
}
