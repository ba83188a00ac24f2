//! Reading what is left of a refused request's body before answering ("lingering close", as
//! nginx and Apache do): a client still sending it then reads the answer (a 413 or a 507)
//! instead of a connection reset that hides it. Bounded in bytes and time, so a client cannot
//! keep the server reading for nothing.

use std::time::Duration;

use axum::body::Body;
use futures_util::StreamExt;

/// At most this much of a refused body is read and thrown away.
const MAX_BYTES: usize = 4 << 20;
/// For at most this long.
const MAX_TIME: Duration = Duration::from_secs(2);

/// Reads and discards what is left of `body`, within the bounds above.
pub async fn drain(body: Body) {
    let mut stream = body.into_data_stream();
    let deadline = tokio::time::Instant::now() + MAX_TIME;
    let mut left = MAX_BYTES;
    while let Ok(Some(Ok(chunk))) = tokio::time::timeout_at(deadline, stream.next()).await {
        if chunk.len() >= left {
            return;
        }
        left -= chunk.len();
    }
}
