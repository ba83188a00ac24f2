//! What both doors (`http/`, `dav/`) share: the client's address, HTTP Basic parsing, file
//! bodies with their validators and ranges, and draining refused bodies.

pub mod basic;
pub mod client;
pub mod download;
pub mod linger;

pub use client::ClientAddr;
