//! Integration tests: the real server on a random port, a real SQLite file and real files on disk.

mod admin;
mod auth;
mod backup;
mod browser;
mod cli;
mod clip;
mod crash;
mod dav;
mod dav_answers;
mod dav_clients;
mod deep_trees;
mod disk_full;
mod exact_names;
mod exact_names_clients;
mod files;
mod hazards;
mod helpers;
mod install;
mod media;
mod ml;
mod ops;
#[path = "../fixtures/photo_fixtures.rs"]
mod photo_fixtures;
mod photo_formats;
mod quota;
mod security;
mod setup;
mod slow_clients;
mod slow_transfers;
mod tags;
mod trash;
mod tus;
mod untested;
mod versions;
mod volumes;
mod xml_bodies;
