//! What both doors (`http/`, `dav/`) share: the client's address, HTTP Basic parsing, file
//! bodies with their validators and ranges, draining refused bodies, and the layer around
//! every request (limits, metrics, security headers).

pub mod avatar;
pub mod basic;
pub mod client;
pub mod download;
pub mod layer;
pub mod linger;

pub use client::ClientAddr;
