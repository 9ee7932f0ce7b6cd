//! Sans-IO core of the click agent.
//!
//! The core never opens a socket, reads the clock, touches a disk or spawns a task. A host
//! hands [`Agent::handle`] a [`Request`] and implements the [`ports`]; it gets back a
//! [`Response`] and, through the [`ports::EventSink`], the events to push to WebSocket clients.
#![no_std]

extern crate alloc;

pub mod agent;
pub mod audit;
pub mod auth;
pub mod cloud;
pub mod config;
pub mod controllers;
pub mod directory;
pub mod error;
pub mod events;
pub mod http;
pub mod json;
pub mod mail;
pub mod model;
pub mod paging;
pub mod ports;
pub mod routes;
pub mod secrets;
pub mod security;
pub mod store;
pub mod sync;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod time;
pub mod transfers;
pub mod websocket;

pub use agent::Agent;
pub use config::{CoreConfig, Mode};
pub use error::{ApiError, ErrorCode};
pub use http::{Header, Method, Request, Response};
