//! Each user's WebDAV lock table: dav-server's in-memory `MemLs`, with what it lacks for a
//! server that stays up for months. `MemLs` never lets a lock expire (its `timeout_at` is only
//! reported) and takes any number of them, so one client could fill the memory with LOCKs. Here
//! a lock past its timeout is taken out before any lookup, and a user holds at most
//! [`MAX_LOCKS_PER_USER`] at once (423 Locked beyond it, as for a conflicting lock).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use dav_server::davpath::DavPath;
use dav_server::ls::{DavLock, DavLockSystem, LsFuture};
use dav_server::memls::MemLs;
use futures_util::FutureExt;
use xmltree::Element;

/// Far more than any client holds (Office and Finder lock the files they have open).
pub const MAX_LOCKS_PER_USER: usize = 1_000;

/// Every live lock: token → (its path, when it expires).
type Held = HashMap<String, (DavPath, Option<SystemTime>)>;

#[derive(Debug, Clone)]
pub struct UserLocks {
    inner: Box<MemLs>,
    held: Arc<Mutex<Held>>,
}

impl UserLocks {
    pub fn new() -> Box<UserLocks> {
        Box::new(UserLocks {
            inner: MemLs::new(),
            held: Default::default(),
        })
    }

    /// Takes the locks whose timeout has passed out of the table.
    async fn expire(&self) {
        let now = SystemTime::now();
        let stale: Vec<(String, DavPath)> = {
            let mut held = self.held.lock().unwrap();
            let stale: Vec<String> = held
                .iter()
                .filter(|(_, (_, at))| at.is_some_and(|at| at <= now))
                .map(|(t, _)| t.clone())
                .collect();
            stale
                .into_iter()
                .filter_map(|t| held.remove(&t).map(|(p, _)| (t, p)))
                .collect()
        };
        for (token, path) in stale {
            let _ = self.inner.unlock(&path, &token).await;
        }
    }

    fn refused(path: &DavPath) -> DavLock {
        DavLock {
            token: String::new(),
            path: Box::new(path.clone()),
            principal: None,
            owner: None,
            timeout_at: None,
            timeout: None,
            shared: false,
            deep: false,
        }
    }
}

impl DavLockSystem for UserLocks {
    fn lock(
        &'_ self,
        path: &DavPath,
        principal: Option<&str>,
        owner: Option<&Element>,
        timeout: Option<Duration>,
        shared: bool,
        deep: bool,
    ) -> LsFuture<'_, Result<DavLock, DavLock>> {
        let (path, principal, owner) =
            (path.clone(), principal.map(str::to_string), owner.cloned());
        async move {
            self.expire().await;
            if self.held.lock().unwrap().len() >= MAX_LOCKS_PER_USER {
                return Err(Self::refused(&path));
            }
            let lock = self
                .inner
                .lock(
                    &path,
                    principal.as_deref(),
                    owner.as_ref(),
                    timeout,
                    shared,
                    deep,
                )
                .await?;
            self.held
                .lock()
                .unwrap()
                .insert(lock.token.clone(), (path, lock.timeout_at));
            Ok(lock)
        }
        .boxed()
    }

    fn unlock(&'_ self, path: &DavPath, token: &str) -> LsFuture<'_, Result<(), ()>> {
        let (path, token) = (path.clone(), token.to_string());
        async move {
            self.expire().await;
            let r = self.inner.unlock(&path, &token).await;
            if r.is_ok() {
                self.held.lock().unwrap().remove(&token);
            }
            r
        }
        .boxed()
    }

    fn refresh(
        &'_ self,
        path: &DavPath,
        token: &str,
        timeout: Option<Duration>,
    ) -> LsFuture<'_, Result<DavLock, ()>> {
        let (path, token) = (path.clone(), token.to_string());
        async move {
            self.expire().await;
            let lock = self.inner.refresh(&path, &token, timeout).await?;
            if let Some(entry) = self.held.lock().unwrap().get_mut(&token) {
                entry.1 = lock.timeout_at;
            }
            Ok(lock)
        }
        .boxed()
    }

    fn check(
        &'_ self,
        path: &DavPath,
        principal: Option<&str>,
        ignore_principal: bool,
        deep: bool,
        submitted_tokens: &[String],
    ) -> LsFuture<'_, Result<(), DavLock>> {
        let (path, principal, tokens) = (
            path.clone(),
            principal.map(str::to_string),
            submitted_tokens.to_vec(),
        );
        async move {
            self.expire().await;
            self.inner
                .check(&path, principal.as_deref(), ignore_principal, deep, &tokens)
                .await
        }
        .boxed()
    }

    fn discover(&'_ self, path: &DavPath) -> LsFuture<'_, Vec<DavLock>> {
        let path = path.clone();
        async move {
            self.expire().await;
            self.inner.discover(&path).await
        }
        .boxed()
    }

    fn delete(&'_ self, path: &DavPath) -> LsFuture<'_, Result<(), ()>> {
        let path = path.clone();
        async move {
            let r = self.inner.delete(&path).await;
            // The locks at and below `path` are gone from the table: forget them here too.
            let gone = path
                .as_bytes()
                .strip_suffix(b"/")
                .unwrap_or(path.as_bytes())
                .to_vec();
            self.held.lock().unwrap().retain(|_, (p, _)| {
                let p = p.as_bytes();
                !(p.starts_with(&gone) && matches!(p.get(gone.len()), None | Some(b'/')))
            });
            r
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> DavPath {
        DavPath::new(p).unwrap()
    }

    #[tokio::test]
    async fn locks_expire_and_are_capped_per_user() {
        let ls = UserLocks::new();
        let short = ls
            .lock(
                &path("/a.txt"),
                Some("u"),
                None,
                Some(Duration::from_millis(1)),
                false,
                false,
            )
            .await
            .unwrap();
        // While it lasts, a write without its token is refused.
        std::thread::sleep(Duration::from_millis(5));
        assert!(
            ls.check(&path("/a.txt"), Some("u"), false, false, &[])
                .await
                .is_ok(),
            "an expired lock no longer holds"
        );
        assert!(ls.held.lock().unwrap().get(&short.token).is_none());

        let mut tokens = Vec::new();
        for i in 0..MAX_LOCKS_PER_USER {
            let l = ls
                .lock(
                    &path(&format!("/f{i}")),
                    Some("u"),
                    None,
                    None,
                    false,
                    false,
                )
                .await
                .unwrap();
            tokens.push((i, l.token));
        }
        assert!(
            ls.lock(&path("/one-more"), Some("u"), None, None, false, false)
                .await
                .is_err(),
            "the cap holds"
        );
        let (i, t) = &tokens[0];
        ls.unlock(&path(&format!("/f{i}")), t).await.unwrap();
        assert!(
            ls.lock(&path("/one-more"), Some("u"), None, None, false, false)
                .await
                .is_ok()
        );
        // A deleted folder takes the locks below it along.
        let ls = UserLocks::new();
        ls.lock(&path("/dir/x"), Some("u"), None, None, false, false)
            .await
            .unwrap();
        ls.lock(&path("/dirx"), Some("u"), None, None, false, false)
            .await
            .unwrap();
        ls.delete(&path("/dir/")).await.unwrap();
        let left: Vec<Vec<u8>> = ls
            .held
            .lock()
            .unwrap()
            .values()
            .map(|(p, _)| p.as_bytes().to_vec())
            .collect();
        assert_eq!(left, vec![b"/dirx".to_vec()]);
    }
}
