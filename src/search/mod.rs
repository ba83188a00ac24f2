//! Search over a user's files: CLIP text → image similarity (the in-memory index), merged with
//! tag and filename matches.

pub mod index;
pub mod int8;
pub mod semantic;
pub mod service;

#[cfg(test)]
mod tests;
