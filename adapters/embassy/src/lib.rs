//! The click agent over any `embedded-io-async` byte stream, without std: the request path an
//! embassy-net TCP socket (or an in-memory pipe, in tests) serves, and WebSocket framing.
//!
//! The core's route table, auth and security rules are used unchanged; this crate only moves
//! bytes. Buffers are the caller's: a connection task owns one and reuses it for every request.
#![no_std]
#![warn(missing_docs)]

extern crate alloc;

pub mod config;
pub mod flash_store;
pub mod http;
pub mod mem;
#[cfg(feature = "net")]
pub mod net;
pub mod ports;
pub mod ram_flash;
pub mod ws;
