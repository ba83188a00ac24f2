//! `UserFs`: dav-server's filesystem trait over the shared namespace, for one signed-in user.
//! A file put here is the same row (id, quota, later thumbnails and tags) as one uploaded
//! through the API; MOVE is a row update, so whatever hangs off the id stays.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use bytes::{Buf, Bytes};
use dav_server::davpath::DavPath;
use dav_server::fs::{
    DavDirEntry, DavFile, DavFileSystem, DavMetaData, DavProp, FsError, FsFuture, FsResult,
    FsStream, OpenOptions, ReadDirMeta,
};
use futures_util::FutureExt;

use crate::dav::win32;
use crate::error::{AppError, ErrorCode, Kind};
use crate::store::Node;
use crate::store::props::{Prop, PropChange, PropOutcome};
use crate::store::{NodeName, OnConflict, Store, UploadSink};

/// What a request knows about its user (read once per request).
#[derive(Debug, Clone)]
pub struct DavUser {
    pub id: String,
    pub username: String,
    pub quota_bytes: i64,
    pub used_bytes: i64,
}

#[derive(Clone)]
pub struct UserFs {
    store: Store,
    user: Arc<DavUser>,
    /// Per-request caches: nodes resolved so far, and which of them carry dead properties.
    nodes: Arc<Mutex<HashMap<Vec<String>, Node>>>,
    /// Children listed by this request (PROPFIND Depth 1): path → whether it carries dead
    /// properties. Only that is kept of them: a 10,000-entry folder's nodes, held for the whole
    /// answer, raised the server's peak memory by ~20 MB.
    listed: Arc<Mutex<HashMap<Vec<String>, bool>>>,
    /// What the PROPFIND being answered asked for (dav-server 0.11 appends `get_props` to every
    /// answer, so what that returns depends on it).
    propfind: PropfindKind,
    /// A LOCK is being answered: dav-server opens an unmapped URL for writing and drops the file
    /// unwritten, which here must create the empty file (RFC 4918 7.3).
    locking: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropfindKind {
    AllProp,
    PropName,
    /// (namespace, local name) of the properties asked for.
    Named(HashSet<(String, String)>),
}

pub fn fs_error(e: AppError) -> FsError {
    match e.kind {
        Kind::NotFound => FsError::NotFound,
        Kind::Conflict => FsError::Exists,
        Kind::QuotaExceeded | Kind::VolumeFull => FsError::InsufficientStorage,
        Kind::BadRequest | Kind::Forbidden => FsError::Forbidden,
        Kind::PayloadTooLarge => FsError::TooLarge,
        _ => FsError::GeneralFailure,
    }
}

pub(crate) fn segments(path: &DavPath) -> FsResult<Vec<String>> {
    path.as_bytes()
        .split(|&b| b == b'/')
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8(s.to_vec()).map_err(|_| FsError::NotFound))
        .collect()
}

fn time(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64)
}

#[derive(Debug, Clone)]
pub(crate) struct Meta {
    pub len: u64,
    pub modified: SystemTime,
    pub created: SystemTime,
    pub is_dir: bool,
    pub etag: String,
}

impl Meta {
    pub fn of(node: &Node, user: &DavUser) -> Meta {
        Meta {
            // dav-server reports quota-available-bytes below the root as quota minus the
            // folder's len(): a folder's "size" is the user's usage, so that comes out right.
            len: if node.is_dir() {
                user.used_bytes.max(0) as u64
            } else {
                node.size as u64
            },
            modified: time(node.modified_at),
            created: time(node.created_at),
            is_dir: node.is_dir(),
            etag: node.etag.clone(),
        }
    }
}

impl DavMetaData for Meta {
    fn len(&self) -> u64 {
        self.len
    }
    fn modified(&self) -> FsResult<SystemTime> {
        Ok(self.modified)
    }
    fn created(&self) -> FsResult<SystemTime> {
        Ok(self.created)
    }
    fn is_dir(&self) -> bool {
        self.is_dir
    }
    fn etag(&self) -> Option<String> {
        Some(self.etag.clone())
    }
}

struct Entry {
    name: Vec<u8>,
    meta: Meta,
}

impl DavDirEntry for Entry {
    fn name(&self) -> Vec<u8> {
        self.name.clone()
    }
    fn metadata(&self) -> FsFuture<'_, Box<dyn DavMetaData>> {
        let m: Box<dyn DavMetaData> = Box::new(self.meta.clone());
        async move { Ok(m) }.boxed()
    }
}

impl UserFs {
    pub fn new(store: Store, user: DavUser) -> UserFs {
        UserFs {
            store,
            user: Arc::new(user),
            nodes: Default::default(),
            listed: Default::default(),
            propfind: PropfindKind::AllProp,
            locking: false,
        }
    }

    pub fn answering(mut self, propfind: PropfindKind) -> UserFs {
        self.propfind = propfind;
        self
    }

    /// For a LOCK: opening a free name for writing creates the empty file there and then.
    pub fn locking(mut self, locking: bool) -> UserFs {
        self.locking = locking;
        self
    }

    async fn resolve(&self, path: &DavPath) -> FsResult<Node> {
        let segs = segments(path)?;
        if let Some(n) = self.nodes.lock().unwrap().get(&segs) {
            return Ok(n.clone());
        }
        // dav-server walks a tree parent first: from a resolved parent, one name is one lookup.
        let parent = match segs.split_last() {
            Some((_, up)) if !up.is_empty() => self.nodes.lock().unwrap().get(up).cloned(),
            _ => None,
        };
        let found = match parent {
            Some(p) => {
                let last = segs[segs.len() - 1..].to_vec();
                self.store.resolve_below(&self.user.id, &p, last).await
            }
            None => self.store.resolve_path(&self.user.id, segs.clone()).await,
        };
        let node = found.map_err(fs_error)?.ok_or(FsError::NotFound)?;
        self.nodes.lock().unwrap().insert(segs, node.clone());
        Ok(node)
    }

    /// For a child listed by this request: whether it carries dead properties.
    fn listed_with_props(&self, path: &DavPath) -> Option<bool> {
        let segs = segments(path).ok()?;
        self.listed.lock().unwrap().get(&segs).copied()
    }

    fn forget(&self) {
        self.nodes.lock().unwrap().clear();
        self.listed.lock().unwrap().clear();
    }

    /// DELETE of one node of the expected kind (never the root).
    async fn remove(&self, path: &DavPath, dir: bool) -> FsResult<()> {
        let node = self.resolve(path).await?;
        if node.is_dir() != dir || node.parent_id.is_none() {
            return Err(FsError::Forbidden);
        }
        self.store
            .delete_node(&self.user.id, &node.id)
            .await
            .map_err(fs_error)?;
        self.forget();
        Ok(())
    }

    /// The parent folder and the validated new name for a path that is to be created.
    async fn parent_and_name(&self, path: &DavPath) -> FsResult<(Node, NodeName)> {
        let (parent, name, _) = self.parent_name_existing(path, false).await?;
        Ok((parent, name))
    }

    /// As `parent_and_name`, plus (with `look`) what the name holds now: one trip to the
    /// database for the whole lookup (every PUT starts with it).
    async fn parent_name_existing(
        &self,
        path: &DavPath,
        look: bool,
    ) -> FsResult<(Node, NodeName, Option<Node>)> {
        let mut segs = segments(path)?;
        let last = segs.pop().ok_or(FsError::Forbidden)?;
        let name = NodeName::parse(&last).map_err(|_| FsError::Forbidden)?;
        let (parent, existing) = self
            .store
            .parent_and_child(&self.user.id, segs, &name, look)
            .await
            .map_err(fs_error)?
            .ok_or(FsError::NotFound)?;
        if !parent.is_dir() {
            return Err(FsError::NotFound);
        }
        Ok((parent, name, existing))
    }
}

impl DavFileSystem for UserFs {
    fn open<'a>(
        &'a self,
        path: &'a DavPath,
        options: OpenOptions,
    ) -> FsFuture<'a, Box<dyn DavFile>> {
        async move {
            if !options.write {
                let node = self.resolve(path).await?;
                if node.is_dir() {
                    return Err(FsError::Forbidden);
                }
                let (file, head) = self
                    .store
                    .open_body_with_head(&node, READ_HEAD)
                    .await
                    .map_err(fs_error)?;
                let meta = Meta::of(&node, &self.user);
                return Ok(Box::new(ReadFile::with_head(file, meta, head)) as Box<dyn DavFile>);
            }
            let (parent, name, existing) = self.parent_name_existing(path, true).await?;
            match &existing {
                Some(n) if n.is_dir() => return Err(FsError::Forbidden),
                Some(_) if options.create_new => return Err(FsError::Exists),
                None if !options.create => return Err(FsError::NotFound),
                _ => {}
            }
            if options.append || !(options.truncate || existing.is_none()) {
                return Err(FsError::NotImplemented); // partial PUT: bodies are written whole
            }
            if self.locking && existing.is_none() {
                // A LOCK on an unmapped URL (dav-server holds the lock already, and releases it
                // if this fails): an empty file like any other upload, committed now.
                let node = self
                    .store
                    .create_empty_file(&self.user.id, parent.id.clone(), name.clone())
                    .await
                    .map_err(fs_error)?;
                self.forget();
                return Ok(Box::new(WriteFile {
                    store: self.store.clone(),
                    user: self.user.clone(),
                    sink: None,
                    folder: parent.id,
                    name,
                    expected: Some(0),
                    on_conflict: OnConflict::Fail,
                    committed: Some(node),
                }) as Box<dyn DavFile>);
            }
            let mut sink = self
                .store
                .begin_upload(&self.user.id, &name, options.size)
                .await
                .map_err(fs_error)?;
            // With a known length, refuse over quota before the body is read (no 100-continue).
            sink.reserve_expected().await.map_err(fs_error)?;
            self.forget();
            Ok(Box::new(WriteFile {
                store: self.store.clone(),
                user: self.user.clone(),
                sink: Some(sink),
                folder: parent.id,
                name,
                expected: options.size,
                on_conflict: if options.create_new {
                    OnConflict::Fail
                } else {
                    OnConflict::Overwrite
                },
                committed: None,
            }) as Box<dyn DavFile>)
        }
        .boxed()
    }

    fn read_dir<'a>(
        &'a self,
        path: &'a DavPath,
        _meta: ReadDirMeta,
    ) -> FsFuture<'a, FsStream<Box<dyn DavDirEntry>>> {
        async move {
            let dir = self.resolve(path).await?;
            if !dir.is_dir() {
                return Err(FsError::Forbidden);
            }
            let (children, with_props) = self
                .store
                .list_all_children(&self.user.id, &dir.id)
                .await
                .map_err(fs_error)?;
            let base = segments(path)?;
            let mut entries: Vec<FsResult<Box<dyn DavDirEntry>>> =
                Vec::with_capacity(children.len());
            let mut listed = self.listed.lock().unwrap();
            for c in children {
                let mut segs = Vec::with_capacity(base.len() + 1);
                segs.extend_from_slice(&base);
                segs.push(c.name.clone());
                listed.insert(segs, with_props.contains(&c.id));
                let meta = Meta::of(&c, &self.user);
                entries.push(Ok(Box::new(Entry {
                    name: c.name.into_bytes(),
                    meta,
                }) as Box<dyn DavDirEntry>));
            }
            drop(listed);
            Ok(Box::pin(futures_util::stream::iter(entries)) as FsStream<Box<dyn DavDirEntry>>)
        }
        .boxed()
    }

    fn metadata<'a>(&'a self, path: &'a DavPath) -> FsFuture<'a, Box<dyn DavMetaData>> {
        async move {
            let node = self.resolve(path).await?;
            Ok(Box::new(Meta::of(&node, &self.user)) as Box<dyn DavMetaData>)
        }
        .boxed()
    }

    fn create_dir<'a>(&'a self, path: &'a DavPath) -> FsFuture<'a, ()> {
        async move {
            let (parent, name) = self.parent_and_name(path).await?;
            self.store
                .create_folder(&self.user.id, Some(parent.id), name)
                .await
                .map_err(fs_error)?;
            self.forget();
            Ok(())
        }
        .boxed()
    }

    fn remove_dir<'a>(&'a self, path: &'a DavPath) -> FsFuture<'a, ()> {
        self.remove(path, true).boxed()
    }

    fn remove_file<'a>(&'a self, path: &'a DavPath) -> FsFuture<'a, ()> {
        self.remove(path, false).boxed()
    }

    fn rename<'a>(&'a self, from: &'a DavPath, to: &'a DavPath) -> FsFuture<'a, ()> {
        async move {
            let node = self.resolve(from).await?;
            let (parent, name) = self.parent_and_name(to).await?;
            self.store
                .move_node(&self.user.id, &node.id, Some(parent.id), Some(name))
                .await
                .map_err(|e| {
                    if e.code == ErrorCode::InvalidMove {
                        FsError::Forbidden
                    } else {
                        fs_error(e)
                    }
                })?;
            self.forget();
            Ok(())
        }
        .boxed()
    }

    fn copy<'a>(&'a self, from: &'a DavPath, to: &'a DavPath) -> FsFuture<'a, ()> {
        async move {
            let node = self.resolve(from).await?;
            let (parent, name) = self.parent_and_name(to).await?;
            if node.is_dir() {
                // dav-server copies collections item by item: the folder itself is a MKCOL.
                let dir = self
                    .store
                    .create_folder(&self.user.id, Some(parent.id), name)
                    .await
                    .map_err(fs_error)?;
                self.store
                    .copy_props(&self.user.id, &node.id, &dir.id)
                    .await
                    .map_err(fs_error)?;
            } else {
                self.store
                    .copy_file(
                        &self.user.id,
                        &node,
                        Some(parent.id),
                        name,
                        OnConflict::Overwrite,
                    )
                    .await
                    .map_err(fs_error)?;
            }
            self.forget();
            Ok(())
        }
        .boxed()
    }

    fn set_modified<'a>(&'a self, path: &'a DavPath, tm: SystemTime) -> FsFuture<'a, ()> {
        async move {
            let ms = tm
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .map_err(|_| FsError::GeneralFailure)?;
            let segs = segments(path)?;
            match self
                .store
                .set_modified_at_path(&self.user.id, segs, ms)
                .await
                .map_err(fs_error)?
            {
                true => {
                    self.forget();
                    Ok(())
                }
                false => Err(FsError::NotFound),
            }
        }
        .boxed()
    }

    /// Access times are not kept (they would turn every read into a write).
    fn set_accessed<'a>(&'a self, path: &'a DavPath, _tm: SystemTime) -> FsFuture<'a, ()> {
        async move { self.resolve(path).await.map(|_| ()) }.boxed()
    }

    fn have_props<'a>(
        &'a self,
        path: &'a DavPath,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + 'a>> {
        async move {
            // Nextcloud's live properties are there for every node (the listing's shortcut
            // for nodes without dead properties must not hide them).
            let asks_live = match &self.propfind {
                PropfindKind::Named(asked) => asked
                    .iter()
                    .any(|(ns, name)| super::nextcloud_props::is_live(ns, name)),
                _ => false,
            };
            if let Some(has) = self.listed_with_props(path)
                && !asks_live
            {
                return has;
            }
            // Whether the resource can hold dead properties at all: yes, every node can.
            self.resolve(path).await.is_ok()
        }
        .boxed()
    }

    fn patch_props<'a>(
        &'a self,
        path: &'a DavPath,
        patch: Vec<(bool, DavProp)>,
    ) -> FsFuture<'a, Vec<(StatusCode, DavProp)>> {
        async move {
            let node = self.resolve(path).await?;
            // Explorer's file times, moved here by the door (`win32.rs`): a date that cannot be
            // read fails the request (409 for it, 424 for the rest: RFC 4918 9.2.1).
            let times: Vec<Option<Result<PropChange, ()>>> = patch
                .iter()
                .map(|(set, prop)| {
                    let time = match prop.namespace.as_deref() {
                        Some(win32::TIMES_NS) => win32::time_of(&prop.name)?,
                        _ => return None,
                    };
                    let ms = prop
                        .xml
                        .as_deref()
                        .filter(|_| *set)
                        .and_then(win32::parse_time);
                    Some(ms.map(|ms| PropChange::SetTime { time, ms }).ok_or(()))
                })
                .collect();
            let answered = |prop: DavProp| match prop.namespace.as_deref() {
                Some(win32::TIMES_NS) => DavProp {
                    namespace: Some(win32::MS_NS.to_string()),
                    prefix: None,
                    xml: None,
                    ..prop
                },
                _ => DavProp { xml: None, ..prop },
            };
            if times.iter().any(|t| matches!(t, Some(Err(())))) {
                return Ok(patch
                    .into_iter()
                    .zip(&times)
                    .map(|((_, prop), t)| match t {
                        Some(Err(())) => (StatusCode::CONFLICT, answered(prop)),
                        _ => (StatusCode::FAILED_DEPENDENCY, answered(prop)),
                    })
                    .collect());
            }
            let changes = patch
                .iter()
                .zip(times)
                .map(|((set, prop), time)| {
                    if let Some(Ok(change)) = time {
                        return change;
                    }
                    let namespace = prop.namespace.clone().unwrap_or_default();
                    match set {
                        true => PropChange::Set(Prop {
                            namespace,
                            name: prop.name.clone(),
                            prefix: prop.prefix.clone(),
                            xml: prop.xml.clone(),
                        }),
                        false => PropChange::Remove {
                            namespace,
                            name: prop.name.clone(),
                        },
                    }
                })
                .collect();
            let outcomes = self
                .store
                .patch_props(&self.user.id, &node.id, changes)
                .await
                .map_err(fs_error)?;
            // RFC 4918 9.2.1: 403 for a property the client may not change (or a value over
            // the bounds), 507 for one there is no room to record, 424 for the rest.
            let result: Vec<(StatusCode, DavProp)> = outcomes
                .iter()
                .zip(patch)
                .map(|(outcome, (_, prop))| {
                    let status = match outcome {
                        PropOutcome::Done => StatusCode::OK,
                        PropOutcome::Protected | PropOutcome::TooLarge | PropOutcome::NodeFull => {
                            StatusCode::FORBIDDEN
                        }
                        PropOutcome::QuotaExceeded => StatusCode::INSUFFICIENT_STORAGE,
                        PropOutcome::NotApplied => StatusCode::FAILED_DEPENDENCY,
                    };
                    (status, answered(prop))
                })
                .collect();
            if outcomes.iter().any(|o| *o != PropOutcome::Done) {
                return Ok(result);
            }
            if let Ok(segs) = segments(path)
                && let Some(has) = self.listed.lock().unwrap().get_mut(&segs)
            {
                *has = true;
            }
            Ok(result)
        }
        .boxed()
    }

    fn get_props<'a>(&'a self, path: &'a DavPath, do_content: bool) -> FsFuture<'a, Vec<DavProp>> {
        async move {
            if self.listed_with_props(path) == Some(false) {
                return Ok(Vec::new());
            }
            let node = self.resolve(path).await?;
            let props = self.store.list_props(&node).await.map_err(fs_error)?;
            // dav-server also calls this (with do_content) for <propname> and named requests;
            // it already answered the named ones through get_prop, so those are left out here.
            let with_values = do_content && self.propfind != PropfindKind::PropName;
            Ok(props
                .into_iter()
                .filter(|p| match &self.propfind {
                    PropfindKind::Named(asked) => {
                        !asked.contains(&(p.namespace.clone(), p.name.clone()))
                    }
                    _ => true,
                })
                .map(|p| DavProp {
                    name: p.name,
                    prefix: p.prefix,
                    namespace: Some(p.namespace).filter(|n| !n.is_empty()),
                    xml: if with_values { p.xml } else { None },
                })
                .collect())
        }
        .boxed()
    }

    fn get_prop<'a>(&'a self, path: &'a DavPath, prop: DavProp) -> FsFuture<'a, Vec<u8>> {
        async move {
            // Nextcloud's own properties, worked out from the node.
            if let Some(ns) = prop.namespace.as_deref()
                && super::nextcloud_props::is_live(ns, &prop.name)
            {
                let node = self.resolve(path).await?;
                let is_root = node.parent_id.is_none();
                return super::nextcloud_props::value(&node, is_root, &prop.name)
                    .ok_or(FsError::NotFound);
            }
            if self.listed_with_props(path) == Some(false) {
                return Err(FsError::NotFound);
            }
            let node = self.resolve(path).await?;
            let props = self.store.list_props(&node).await.map_err(fs_error)?;
            let ns = prop.namespace.unwrap_or_default();
            props
                .into_iter()
                .find(|p| p.name == prop.name && p.namespace == ns)
                .and_then(|p| p.xml)
                .ok_or(FsError::NotFound)
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

/// A body being PUT: streamed through the same sink as API uploads (quota reserved as it
/// streams), committed on flush only if every announced byte arrived.
struct WriteFile {
    store: Store,
    user: Arc<DavUser>,
    sink: Option<UploadSink>,
    folder: String,
    name: NodeName,
    expected: Option<u64>,
    on_conflict: OnConflict,
    committed: Option<Node>,
}

impl std::fmt::Debug for WriteFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteFile")
            .field("name", &self.name.as_str())
            .finish()
    }
}

impl DavFile for WriteFile {
    fn metadata(&mut self) -> FsFuture<'_, Box<dyn DavMetaData>> {
        let meta = match &self.committed {
            Some(n) => Meta::of(n, &self.user),
            None => Meta {
                len: self.sink.as_ref().map(|s| s.written() as u64).unwrap_or(0),
                modified: SystemTime::now(),
                created: SystemTime::now(),
                is_dir: false,
                etag: String::new(),
            },
        };
        async move { Ok(Box::new(meta) as Box<dyn DavMetaData>) }.boxed()
    }

    fn write_buf(&mut self, mut buf: Box<dyn Buf + Send>) -> FsFuture<'_, ()> {
        async move {
            while buf.has_remaining() {
                let chunk = buf.copy_to_bytes(buf.chunk().len());
                self.write_bytes(chunk).await?;
            }
            Ok(())
        }
        .boxed()
    }

    fn write_bytes(&mut self, buf: Bytes) -> FsFuture<'_, ()> {
        async move {
            let sink = self.sink.as_mut().ok_or(FsError::GeneralFailure)?;
            sink.write(&buf).await.map_err(fs_error)
        }
        .boxed()
    }

    fn read_bytes(&mut self, _count: usize) -> FsFuture<'_, Bytes> {
        async { Err(FsError::NotImplemented) }.boxed()
    }

    fn seek(&mut self, pos: SeekFrom) -> FsFuture<'_, u64> {
        let ok = matches!(pos, SeekFrom::Start(0))
            && self.sink.as_ref().is_some_and(|s| s.written() == 0);
        async move {
            if ok {
                Ok(0)
            } else {
                Err(FsError::NotImplemented)
            }
        }
        .boxed()
    }

    fn flush(&mut self) -> FsFuture<'_, ()> {
        async move {
            let Some(sink) = self.sink.take() else {
                return Ok(());
            };
            if let Some(n) = self.expected
                && sink.written() as u64 != n
            {
                // A short (or long) body: the connection broke. Nothing is committed.
                return Err(FsError::GeneralFailure);
            }
            let staged = sink.finish().await.map_err(fs_error)?;
            let node = self
                .store
                .commit_file(
                    &self.user.id,
                    Some(self.folder.clone()),
                    self.name.clone(),
                    staged,
                    self.on_conflict,
                )
                .await
                .map_err(fs_error)?;
            self.committed = Some(node);
            Ok(())
        }
        .boxed()
    }
}

/// Bytes read together with the open of a body: a file up to this size is served with one trip
/// to the blocking pool instead of two or three (small-file GETs, `bench/webdav.sh`).
pub(crate) const READ_HEAD: usize = 64 * 1024;

/// A body being read (GET): positioned reads on a blocking thread, the first bytes already read.
#[derive(Debug)]
pub(crate) struct ReadFile {
    file: Option<std::fs::File>,
    pos: u64,
    meta: Meta,
    /// Bytes `0..head.len()` of the body, read when it was opened.
    head: Bytes,
}

impl ReadFile {
    pub fn new(file: std::fs::File, meta: Meta) -> ReadFile {
        ReadFile::with_head(file, meta, Vec::new())
    }

    pub fn with_head(file: std::fs::File, meta: Meta, head: Vec<u8>) -> ReadFile {
        ReadFile {
            file: Some(file),
            pos: 0,
            meta,
            head: Bytes::from(head),
        }
    }
}

impl DavFile for ReadFile {
    fn metadata(&mut self) -> FsFuture<'_, Box<dyn DavMetaData>> {
        let m = self.meta.clone();
        async move { Ok(Box::new(m) as Box<dyn DavMetaData>) }.boxed()
    }
    fn write_buf(&mut self, _buf: Box<dyn Buf + Send>) -> FsFuture<'_, ()> {
        async { Err(FsError::Forbidden) }.boxed()
    }
    fn write_bytes(&mut self, _buf: Bytes) -> FsFuture<'_, ()> {
        async { Err(FsError::Forbidden) }.boxed()
    }
    fn read_bytes(&mut self, count: usize) -> FsFuture<'_, Bytes> {
        async move {
            let at = self.pos as usize;
            if at < self.head.len() && count > 0 {
                let end = self.head.len().min(at.saturating_add(count));
                self.pos = end as u64;
                return Ok(self.head.slice(at..end));
            }
            if self.pos >= self.meta.len && !self.head.is_empty() {
                // The whole body was in the head: the end, without a read.
                return Ok(Bytes::new());
            }
            let mut file = self.file.take().ok_or(FsError::GeneralFailure)?;
            let pos = self.pos;
            let (file, result) = tokio::task::spawn_blocking(move || {
                let mut buf = Vec::with_capacity(count);
                let r = file
                    .seek(SeekFrom::Start(pos))
                    .and_then(|_| (&mut file).take(count as u64).read_to_end(&mut buf));
                (file, r.map(|_| buf))
            })
            .await
            .map_err(|_| FsError::GeneralFailure)?;
            self.file = Some(file);
            let buf = result.map_err(|_| FsError::GeneralFailure)?;
            self.pos += buf.len() as u64;
            Ok(Bytes::from(buf))
        }
        .boxed()
    }
    fn seek(&mut self, pos: SeekFrom) -> FsFuture<'_, u64> {
        let new = match pos {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(d) => self.meta.len.checked_add_signed(d),
        };
        if let Some(n) = new {
            self.pos = n;
        }
        async move { new.ok_or(FsError::GeneralFailure) }.boxed()
    }
    fn flush(&mut self) -> FsFuture<'_, ()> {
        async { Ok(()) }.boxed()
    }
}
