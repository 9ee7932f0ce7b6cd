//! One file per controller of `spec/click-api/`.

pub mod authentication;
pub mod management;
pub mod user;
pub mod websocket;
