//! The whole share as one zip, streamed: entries are written as they are read (stored, not
//! compressed: photos and videos do not shrink), through a small in-memory pipe into the
//! response body, so neither the archive nor a file is ever held whole, and no thread is pinned
//! for the transfer (async_zip on tokio's file reads).

use std::collections::HashSet;

use async_zip::base::write::ZipFileWriter;
use async_zip::{Compression, ZipDateTimeBuilder, ZipEntryBuilder};
use axum::body::Body;
use tokio_util::compat::FuturesAsyncWriteCompatExt;
use tokio_util::io::ReaderStream;

use super::ShareRow;
use crate::db::{self};
use crate::error::AppResult;
use crate::store::{Node, Store};

/// Most files one archive holds.
pub const MAX_FILES: usize = 100_000;

/// Every file of the share with its path inside the archive: a folder share keeps its tree under
/// the folder's name; an album and a single file are flat. Equal names get " (2)", " (3)".
pub async fn entries(
    store: &Store,
    share: &ShareRow,
    top_name: &str,
) -> AppResult<Vec<(String, Node)>> {
    let (share, top) = (share.clone(), top_name.to_string());
    store
        .db
        .run(move |c| {
            let mut out: Vec<(String, Node)> = Vec::new();
            match share.kind.as_str() {
                "folder" => {
                    // Breadth first, keeping each folder's path.
                    let mut queue = vec![(share.target_id.clone(), top.clone())];
                    while let Some((folder, path)) = queue.pop() {
                        let children = db::nodes::list_children(
                            c,
                            &folder,
                            db::nodes::SortBy::Name,
                            false,
                            MAX_FILES as i64,
                            0,
                        )?;
                        for n in children {
                            let p = format!("{path}/{}", n.name);
                            if n.is_dir() {
                                queue.push((n.id.clone(), p));
                            } else if out.len() < MAX_FILES {
                                out.push((p, n));
                            }
                        }
                    }
                }
                kind => {
                    let ids = if kind == "file" {
                        vec![share.target_id.clone()]
                    } else {
                        db::albums::album_items(c, &share.target_id, true)?
                    };
                    for id in ids {
                        if let Some(n) = db::nodes::find_owned_node(c, &share.owner_id, &id)? {
                            out.push((n.name.clone(), n));
                        }
                    }
                }
            }
            Ok(unique(out))
        })
        .await
}

/// Renames repeated paths `a.jpg`, `a (2).jpg`, ... (an album may hold two files of one name).
fn unique(entries: Vec<(String, Node)>) -> Vec<(String, Node)> {
    let mut seen: HashSet<String> = HashSet::new();
    entries
        .into_iter()
        .map(|(path, n)| {
            let mut p = path.clone();
            let mut k = 2;
            while !seen.insert(p.to_lowercase()) {
                p = match path.rsplit_once('.') {
                    Some((stem, ext)) if !stem.is_empty() && !stem.ends_with('/') => {
                        format!("{stem} ({k}).{ext}")
                    }
                    _ => format!("{path} ({k})"),
                };
                k += 1;
            }
            (p, n)
        })
        .collect()
}

fn zip_time(ms: i64) -> async_zip::ZipDateTime {
    let days = ms.div_euclid(86_400_000);
    let (y, m, d) = crate::photos::civil_from_days(days);
    let secs = ms.rem_euclid(86_400_000) / 1000;
    ZipDateTimeBuilder::new()
        .year(y as i32)
        .month(m as u32)
        .day(d as u32)
        .hour((secs / 3600) as u32)
        .minute((secs / 60 % 60) as u32)
        .second((secs % 60) as u32)
        .build()
}

/// The archive of `entries` as a response body, written while it is sent. A file that cannot be
/// read ends the archive early (the client sees a cut-off download, never a wrong file).
pub fn stream(store: Store, entries: Vec<(String, Node)>) -> Body {
    let (writer, reader) = tokio::io::duplex(256 * 1024);
    tokio::spawn(async move {
        let mut zip = ZipFileWriter::with_tokio(writer);
        for (path, node) in entries {
            let file = match store.open_body(&node).await {
                Ok(f) => tokio::fs::File::from_std(f),
                Err(e) => {
                    tracing::warn!(file = %node.id, error = %e.message, "share zip: a file cannot be read");
                    return;
                }
            };
            let builder = ZipEntryBuilder::new(path.into(), Compression::Stored)
                .last_modification_date(zip_time(node.modified_at))
                .unix_permissions(0o644);
            let entry = match zip.write_entry_stream(builder).await {
                Ok(e) => e,
                Err(_) => return, // the client went away
            };
            let mut w = entry.compat_write();
            let mut r = file;
            if tokio::io::copy(&mut r, &mut w).await.is_err() {
                return;
            }
            if w.into_inner().close().await.is_err() {
                return;
            }
        }
        let _ = zip.close().await;
    });
    Body::from_stream(ReaderStream::new(reader))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str) -> Node {
        Node {
            id: name.into(),
            owner_id: "o".into(),
            parent_id: None,
            name: name.into(),
            kind: crate::db::nodes::NodeKind::File,
            size: 0,
            content_type: None,
            blob_id: None,
            volume: None,
            ext: None,
            content_hash: None,
            created_at: 0,
            modified_at: 0,
            etag: String::new(),
        }
    }

    #[test]
    fn repeated_names_get_a_number() {
        let got: Vec<String> = unique(vec![
            ("a.jpg".into(), node("1")),
            ("a.jpg".into(), node("2")),
            ("A.JPG".into(), node("3")),
            ("notes".into(), node("4")),
            ("notes".into(), node("5")),
        ])
        .into_iter()
        .map(|(p, _)| p)
        .collect();
        assert_eq!(
            got,
            ["a.jpg", "a (2).jpg", "A (3).JPG", "notes", "notes (2)"]
        );
        let t = zip_time(1_689_361_509_000); // 2023-07-14T19:05:09Z
        // DOS times count seconds in twos.
        assert_eq!(
            (t.year(), t.month(), t.day(), t.hour(), t.minute()),
            (2023, 7, 14, 19, 5)
        );
        assert!((8..=9).contains(&t.second()));
    }
}
