//! Read-only virtual trees over a user's files: `/dav/tags/{user}/{tag}/` and
//! `/dav/search/{user}/{query}/`. Separate mounts from `/dav/files/`, so a sync client never
//! sees them; opening a file in one streams the real body.

use std::collections::HashSet;
use std::time::SystemTime;

use dav_server::davpath::DavPath;
use dav_server::fs::{
    DavDirEntry, DavFile, DavFileSystem, DavMetaData, FsError, FsFuture, FsResult, FsStream,
    OpenOptions, ReadDirMeta,
};
use futures_util::FutureExt;

use crate::dav::fs::{DavUser, Meta, ReadFile, fs_error, segments};
use crate::state::App;
use crate::store::Node;

/// Which virtual tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Tags,
    Search,
}

/// Most files listed in one virtual folder (a file manager cannot page).
const MAX_LISTED: i64 = 2_000;

#[derive(Clone)]
pub struct ViewFs {
    app: App,
    user: DavUser,
    view: View,
}

enum Resolved {
    Dir(Meta),
    File(Node),
}

fn dir_meta(etag: String) -> Meta {
    Meta {
        len: 0,
        modified: SystemTime::now(),
        created: SystemTime::UNIX_EPOCH,
        is_dir: true,
        etag,
    }
}

/// Display names, unique within the folder: a second `IMG_1.jpg` becomes `IMG_1 (2).jpg`.
pub fn unique_names(nodes: Vec<Node>) -> Vec<(String, Node)> {
    let mut seen: HashSet<String> = HashSet::new();
    nodes
        .into_iter()
        .map(|n| {
            let mut name = n.name.clone();
            let mut i = 2;
            while !seen.insert(name.clone()) {
                name = match n.name.rsplit_once('.') {
                    Some((stem, ext)) if !stem.is_empty() => format!("{stem} ({i}).{ext}"),
                    _ => format!("{} ({i})", n.name),
                };
                i += 1;
            }
            (name, n)
        })
        .collect()
}

impl ViewFs {
    pub fn new(app: App, user: DavUser, view: View) -> ViewFs {
        ViewFs { app, user, view }
    }

    /// The files in the virtual folder named `key` (a tag or a query).
    async fn files_in(&self, key: &str) -> FsResult<Vec<(String, Node)>> {
        let nodes = match self.view {
            View::Tags => {
                crate::catalog::files_with_tag(&self.app.store, &self.user.id, key, MAX_LISTED, 0)
                    .await
                    .map_err(|_| FsError::NotFound)?
                    .0
            }
            View::Search => {
                let req = crate::search::service::SearchRequest {
                    q: key.to_string(),
                    limit: MAX_LISTED as usize,
                    ..Default::default()
                };
                let found = crate::search::service::search(
                    &self.app.store,
                    &self.app.semantic,
                    &self.user.id,
                    req,
                )
                .await
                .map_err(fs_error)?;
                found.items.into_iter().map(|hit| hit.node).collect()
            }
        };
        Ok(unique_names(nodes))
    }

    async fn resolve(&self, path: &DavPath) -> FsResult<Resolved> {
        let segs = segments(path)?;
        match segs.as_slice() {
            [] => Ok(Resolved::Dir(dir_meta(format!("{:?}-root", self.view)))),
            [key] => {
                if self.view == View::Tags {
                    let tag = crate::catalog::parse_tag(key).map_err(|_| FsError::NotFound)?;
                    let tags = crate::catalog::list_tags(&self.app.store, &self.user.id)
                        .await
                        .map_err(fs_error)?;
                    if !tags.iter().any(|(t, _)| *t == tag) {
                        return Err(FsError::NotFound);
                    }
                }
                Ok(Resolved::Dir(dir_meta(format!("{:016x}", blake3_64(key)))))
            }
            [key, name] => self
                .files_in(key)
                .await?
                .into_iter()
                .find(|(n, _)| n == name)
                .map(|(_, node)| Resolved::File(node))
                .ok_or(FsError::NotFound),
            _ => Err(FsError::NotFound),
        }
    }

    fn meta(&self, node: &Node) -> Meta {
        Meta::of(node, &self.user)
    }
}

fn blake3_64(s: &str) -> u64 {
    let h = blake3::hash(s.as_bytes());
    u64::from_le_bytes(h.as_bytes()[..8].try_into().unwrap_or_default())
}

struct ViewEntry {
    name: String,
    meta: Meta,
}

impl DavDirEntry for ViewEntry {
    fn name(&self) -> Vec<u8> {
        self.name.as_bytes().to_vec()
    }
    fn metadata(&self) -> FsFuture<'_, Box<dyn DavMetaData>> {
        let m: Box<dyn DavMetaData> = Box::new(self.meta.clone());
        async move { Ok(m) }.boxed()
    }
}

impl DavFileSystem for ViewFs {
    fn open<'a>(
        &'a self,
        path: &'a DavPath,
        options: OpenOptions,
    ) -> FsFuture<'a, Box<dyn DavFile>> {
        async move {
            if options.write
                || options.append
                || options.create
                || options.create_new
                || options.truncate
            {
                return Err(FsError::Forbidden);
            }
            match self.resolve(path).await? {
                Resolved::Dir(_) => Err(FsError::Forbidden),
                Resolved::File(node) => {
                    let file = self.app.store.open_body(&node).await.map_err(fs_error)?;
                    Ok(Box::new(ReadFile::new(file, self.meta(&node))) as Box<dyn DavFile>)
                }
            }
        }
        .boxed()
    }

    fn read_dir<'a>(
        &'a self,
        path: &'a DavPath,
        _meta: ReadDirMeta,
    ) -> FsFuture<'a, FsStream<Box<dyn DavDirEntry>>> {
        async move {
            let segs = segments(path)?;
            let entries: Vec<Box<dyn DavDirEntry>> = match (self.view, segs.as_slice()) {
                (View::Tags, []) => crate::catalog::list_tags(&self.app.store, &self.user.id)
                    .await
                    .map_err(fs_error)?
                    .into_iter()
                    .map(|(tag, _)| {
                        let meta = dir_meta(format!("{:016x}", blake3_64(&tag)));
                        Box::new(ViewEntry { name: tag, meta }) as Box<dyn DavDirEntry>
                    })
                    .collect(),
                // Queries are typed into the path; there is nothing to list at the top.
                (View::Search, []) => Vec::new(),
                (_, [key]) => self
                    .files_in(key)
                    .await?
                    .into_iter()
                    .map(|(name, node)| {
                        Box::new(ViewEntry {
                            name,
                            meta: self.meta(&node),
                        }) as Box<dyn DavDirEntry>
                    })
                    .collect(),
                _ => return Err(FsError::Forbidden),
            };
            let entries: Vec<FsResult<Box<dyn DavDirEntry>>> =
                entries.into_iter().map(Ok).collect();
            Ok(Box::pin(futures_util::stream::iter(entries)) as FsStream<Box<dyn DavDirEntry>>)
        }
        .boxed()
    }

    fn metadata<'a>(&'a self, path: &'a DavPath) -> FsFuture<'a, Box<dyn DavMetaData>> {
        async move {
            let m = match self.resolve(path).await? {
                Resolved::Dir(m) => m,
                Resolved::File(node) => self.meta(&node),
            };
            Ok(Box::new(m) as Box<dyn DavMetaData>)
        }
        .boxed()
    }

    fn get_quota(&self) -> FsFuture<'_, (u64, Option<u64>)> {
        let (used, quota) = (
            self.user.used_bytes.max(0) as u64,
            self.user.quota_bytes.max(0) as u64,
        );
        async move { Ok((used, Some(quota))) }.boxed()
    }
}
