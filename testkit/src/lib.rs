//! Test support: real services for the workspace's tests (see README.md).

pub mod nginx;
pub mod postgres;
pub mod redis;
mod supervised;
