//! Test support: the real server and real services for the workspace's tests (see README.md).

pub mod nginx;
pub mod postgres;
pub mod redis;
pub mod server;
mod supervised;
