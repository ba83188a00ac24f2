//! CloudVault: a self-hosted cloud storage server. One namespace in SQLite, file bodies on
//! disk volumes, a JSON API and a WebDAV door over the same code.

pub mod audit;
pub mod auth;
pub mod backup;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod dav;
pub mod db;
pub mod error;
pub mod error_code;
pub mod http;
pub mod jobs;
pub mod media;
pub mod ml;
pub mod ops;
pub mod photos;
pub mod search;
pub mod server;
pub mod shares;
pub mod state;
pub mod storage;
pub mod store;
pub mod uploads;
pub mod web;
