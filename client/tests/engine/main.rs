//! The engine against a real `jeco-server` on `127.0.0.1:0`, over real HTTP and WebSocket.
//! One test binary (links once); one module per concern.

mod account;
mod admin;
mod auth;
mod cache_model;
mod directory;
mod endpoints;
mod export;
mod limits;
mod mute;
mod profile;
mod queues;
mod support;
mod sync;
mod threads;
mod tokens;
mod two_factor;
mod viewing;
mod window;
