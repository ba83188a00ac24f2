//! The disks: volumes and where file bodies live on them, and the data folder's lock.

mod lock;
pub mod nowait;
pub mod volumes;

pub use lock::{DataLock, LOCK_FILE};
