//! The data folder's lock: one server per store.

use std::path::Path;

pub const LOCK_FILE: &str = "cloudvault.lock";

/// Holds the exclusive lock on the data folder for as long as it lives: one server per store.
pub struct DataLock(#[allow(dead_code)] std::fs::File);

impl DataLock {
    pub fn acquire(data_dir: &Path) -> anyhow::Result<DataLock> {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(data_dir.join(LOCK_FILE))?;
        match f.try_lock() {
            Ok(()) => Ok(DataLock(f)),
            Err(std::fs::TryLockError::WouldBlock) => {
                anyhow::bail!(
                    "another cloudvault server is already running on {}",
                    data_dir.display()
                )
            }
            Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
        }
    }

    /// Whether a server holds the data folder right now (the CLI asks before touching temp files).
    pub fn is_held(data_dir: &Path) -> bool {
        match std::fs::OpenOptions::new()
            .write(true)
            .open(data_dir.join(LOCK_FILE))
        {
            Ok(f) => matches!(f.try_lock(), Err(std::fs::TryLockError::WouldBlock)),
            Err(_) => false,
        }
    }
}
