//! Integration tests: the real server on a random port, a real SQLite file and real files on disk.

mod admin;
mod auth;
mod backup;
mod browser;
mod cli;
mod clip;
mod crash;
mod dav;
mod dav_clients;
mod deep_trees;
mod disk_full;
mod files;
mod hazards;
mod helpers;
mod install;
mod media;
mod ml;
mod ops;
mod quota;
mod security;
mod slow_clients;
mod slow_transfers;
mod tags;
mod tus;
mod volumes;
mod xml_bodies;
