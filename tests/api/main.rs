//! Integration tests: the real server on a random port, a real SQLite file and real files on disk.

mod admin;
mod browser;
mod auth;
mod cli;
mod crash;
mod dav;
mod dav_clients;
mod files;
mod helpers;
mod quota;
mod security;
mod tus;
mod volumes;
