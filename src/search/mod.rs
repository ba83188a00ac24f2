//! Search over a user's files: CLIP text → image similarity (the in-memory index), merged with
//! name, folder, place, date and tag matches (`query` understands what people type).

pub mod index;
pub mod int8;
pub mod query;
pub mod semantic;
pub mod service;

#[cfg(test)]
mod tests;
