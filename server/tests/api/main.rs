//! Integration tests: real servers on 127.0.0.1:0 with temp data dirs, over real HTTP and
//! WebSocket. One binary (so it links once), one module per area.

mod account;
mod admin;
mod auth;
mod authz_conversations;
mod authz_matrix;
mod binary;
mod channels;
mod cluster;
mod contacts;
mod conversations;
mod db_copy;
mod docs;
mod endpoints;
mod export;
mod failover;
mod gateway;
mod group_commit;
mod input;
mod limits;
mod logs;
mod media;
mod messages;
mod metrics;
mod names;
mod notifications;
mod realtime;
mod restart;
mod resume;
mod resume_props;
mod search;
mod support;
mod teams;
mod two_factor;
mod users;
