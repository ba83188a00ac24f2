//! Natural-language photo search: the per-user in-memory embedding index and its int8 kernels.

pub mod index;
pub mod int8;

#[cfg(test)]
mod tests;
