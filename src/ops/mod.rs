//! Running in production: the accept loop with slow-client limits and graceful shutdown
//! (`serve`), metrics, health, the limits on transfers and clients, and the installer. The
//! layer every request passes through, which applies them, is `web::layer`.

pub mod health;
pub mod install;
pub mod limits;
pub mod metrics;
pub mod serve;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::auth::limiter::RateLimiter;
use crate::config::Config;
use limits::{MinRate, PerClient, Transfers};
use metrics::Metrics;

/// Operational state shared by the server: metrics and the per-address limit on the routes
/// that check passwords.
pub struct Ops {
    pub metrics: Arc<Metrics>,
    /// POSTs to login, register and password change (each costs an argon2 hash) per address.
    pub password_routes: RateLimiter,
    pub started: Instant,
    /// Download and upload bodies open now, capped in all and per user.
    pub transfers: Arc<Transfers>,
    /// Requests open per client address behind a trusted proxy.
    pub per_client: Arc<PerClient>,
    pub min_rate: MinRate,
}

impl Ops {
    pub fn new(config: &Config) -> Ops {
        Ops {
            metrics: Arc::default(),
            password_routes: RateLimiter::new(
                config.http.auth_requests_per_minute,
                Duration::from_secs(60),
            ),
            started: Instant::now(),
            transfers: Transfers::new(
                config.http.max_transfers,
                config.http.max_transfers_per_user,
            ),
            per_client: PerClient::new(config.http.max_connections_per_address),
            min_rate: MinRate::from_config(config),
        }
    }
}
