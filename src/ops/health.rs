//! `/healthz`: is the database reachable, is every volume online, writable and above its
//! low-space threshold. "down" (503) when nothing can be stored; "degraded" (200) when a
//! volume needs attention; "ok" otherwise.

use std::time::Duration;

use serde::Serialize;

use crate::db;
use crate::storage::volumes::VolumeStatus;
use crate::store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Degraded,
    Down,
}

#[derive(Debug, Serialize)]
pub struct DatabaseHealth {
    pub ok: bool,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Health {
    pub status: Status,
    pub version: &'static str,
    pub database: DatabaseHealth,
    pub volumes: Vec<VolumeStatus>,
    /// One sentence per thing that needs attention.
    pub problems: Vec<String>,
}

/// Checks now (on blocking threads; the database check gives up after a few seconds).
pub async fn check(store: &Store) -> Health {
    let pool = store.db.clone();
    let database = match tokio::time::timeout(
        Duration::from_secs(5),
        pool.run(|c| {
            db::users::count_users(c)?;
            Ok(())
        }),
    )
    .await
    {
        Ok(Ok(())) => DatabaseHealth {
            ok: true,
            error: None,
        },
        Ok(Err(e)) => DatabaseHealth {
            ok: false,
            error: Some(e.message),
        },
        Err(_) => DatabaseHealth {
            ok: false,
            error: Some("no answer within 5 s".into()),
        },
    };
    let volumes = store.volumes.clone();
    let volumes = tokio::task::spawn_blocking(move || volumes.status())
        .await
        .unwrap_or_default();
    assess(database, volumes)
}

pub fn assess(database: DatabaseHealth, volumes: Vec<VolumeStatus>) -> Health {
    let mut problems = Vec::new();
    if let Some(e) = &database.error {
        problems.push(format!("database: {e}"));
    }
    for v in &volumes {
        if !v.online {
            problems.push(format!(
                "volume {} is offline: {}",
                v.name,
                v.problem.as_deref().unwrap_or("not available")
            ));
        } else if v.read_only {
            problems.push(format!("volume {} is read-only", v.name));
        } else if v.low_space {
            problems.push(format!(
                "volume {} is low on space: {} bytes free, threshold {}",
                v.name,
                v.free_bytes.unwrap_or(0),
                v.low_space_bytes
            ));
        }
    }
    let writable = volumes
        .iter()
        .any(|v| v.enabled && v.online && !v.read_only);
    let status = if !database.ok || !writable {
        if !writable {
            problems.push("no enabled volume can take new files".into());
        }
        Status::Down
    } else if problems.is_empty() {
        Status::Ok
    } else {
        Status::Degraded
    };
    Health {
        status,
        version: env!("CARGO_PKG_VERSION"),
        database,
        volumes,
        problems,
    }
}
