//! Sans-IO core of the click agent: the whole Click API (routes, auth, errors, models,
//! controllers, events) as a library that never does I/O of its own.
//!
//! The core never opens a socket, reads the clock, touches a disk or spawns a task. A host
//! (the desktop's `click-tokio`, the devices' `click-embassy`, or any Rust program that embeds
//! the agent) supplies all of that through the [`ports`]:
//!
//! 1. Implement [`Ports`]: a [`Store`](store::Store), a clock, randomness, a token signer, a
//!    password hasher, a mailer, an [`EventSink`](ports::EventSink) and the rest (the
//!    `No*` types of [`ports`] stand in for what a host does not have).
//! 2. Build the agent once with [`Agent::new`], from the ports and a [`CoreConfig`].
//! 3. For each HTTP request, borrow it into a [`Request`] and call [`Agent::handle`]; write the
//!    [`Response`] back, then do its [`HostAction`] if it has one (switch the connection to a
//!    WebSocket, or shut down). A host that must know how a route takes its body before
//!    reading it (a streamed form upload) looks the route up with [`routes::find`], asks
//!    [`Agent::admit`] and then calls [`Agent::handle_matched`].
//! 4. Push the [`Event`]s the agent publishes to its [`EventSink`](ports::EventSink) to the
//!    WebSocket clients of their [`Channel`].
//!
//! Features: `cloud` (default) adds the Cloud controller (cloud accounts, storage operations,
//! client transfers; without it those routes answer 404); `std` makes the core's futures
//! `Send`, for multi-threaded hosts; `testing` adds the `testing` module, in-memory ports and
//! a test agent for hosts' own tests.
//!
//! How the crate is layered (controllers -> domain -> store and ports), the store's key
//! layout and how to add a controller: `ARCHITECTURE.md` at the repository's root.
#![no_std]
#![warn(missing_docs)]

extern crate alloc;

// The agent: the request path every host calls, and the context handlers get.
mod agent;
// Audit events forwarded to an account's log destination (AccountLogSetting).
mod audit;
// Who is calling: the route auth policies, session token claims and a JWT signer, API tokens.
pub mod auth;
// Cloud accounts: the stored account, its sealed credentials, the `CloudType` flags.
// Without the `cloud` feature (firmware) nothing uses the parts of `cloud` and `transfers`
// that serve the Cloud controller.
#[cfg_attr(not(feature = "cloud"), allow(dead_code))]
pub mod cloud;
// The core's settings, and the sections of a configuration file hosts share.
pub mod config;
// The route handlers, one module per controller of the Click API.
mod controllers;
// Cloud drives: configuration, key/path mapping, file states, journal, planner, cache policy.
#[cfg(feature = "cloud")]
pub mod drives;
// The account's directory: users and named records (groups, projects) with their indexes.
pub mod directory;
// The error type and its one mapping to HTTP responses.
mod error;
// What agents sharing one store divide among themselves: drives, backups and shares each
// run on one agent.
pub mod fleet;
// Events for the WebSocket clients, and the frames they carry.
pub mod events;
// The request and response model, independent of any HTTP library.
mod http;
// Reading request bodies: either casing, errors that name the field.
mod json;
// The messages the agent sends, handed to the host's mailer.
mod mail;
// Stored rows (accounts, users) and the documented user enums.
pub mod model;
// The shared paging query and response shape of listings.
mod paging;
// What a host provides: the port traits, their data types, stand-ins for missing ones.
pub mod ports;
// The route table: matching, auth policy and body handling of every route.
pub mod routes;
// Secrets at rest: cloud keys sealed under a key the host keeps.
mod secrets;
// Host and Origin checks and CORS.
mod security;
// Built-in storage: the keys, buckets and objects of the agent's own S3 server.
#[cfg(feature = "cloud")]
pub mod storage;
// The OpenAPI document of the routes served, made from the route table.
#[cfg(feature = "openapi")]
pub mod openapi;
// SMB and NFS shares mounted on this agent: their configuration and how they show.
#[cfg(feature = "cloud")]
pub mod share_mounts;
// Single sign-on: identity provider configurations, pending sign-ins, linked identities.
#[cfg(feature = "sso")]
pub mod sso;
// The store port, its batches, helpers for implementing it, typed tables and key prefixes.
pub mod store;
// A spin lock for state shared without an OS.
pub mod sync;
// In-memory ports and a test agent (feature `testing`).
#[cfg(any(test, feature = "testing"))]
pub mod testing;
// ISO 8601 dates without an OS.
pub mod time;
// Client transfers: the record the host's engine moves bytes for, and its updates.
#[cfg_attr(not(feature = "cloud"), allow(dead_code))]
pub mod transfers;
// The WebSocket opening handshake.
mod websocket;

pub use agent::Agent;
pub use config::{CoreConfig, Mode};
pub use error::{ApiError, ApiResult, ErrorCode};
pub use events::{Channel, Event};
pub use http::{Header, HostAction, Method, Request, Response};
pub use ports::Ports;
