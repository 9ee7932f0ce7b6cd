//! The desktop adapter: a hyper 1 server and WebSockets over `click-core`, with ports on the
//! host (redb, argon2, jsonwebtoken, the outbox or SMTP, the OS random source and clock).

pub mod cli;
pub mod cloud;
pub mod config;
pub mod data_dir;
pub mod drives;
pub mod events;
pub mod form;
pub mod google;
pub mod http_client;
pub mod local_files;
pub mod logs;
pub mod mail;
pub mod metrics;
pub mod object_stream;
pub mod ports;
pub mod server;
pub mod shares;
pub mod sso;
pub mod storage;
pub mod store;
pub mod thread_cache;
pub mod transfers;
pub mod update;
pub mod ws;
