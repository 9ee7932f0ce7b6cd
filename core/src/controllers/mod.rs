//! One file per controller of `spec/click-api/`; `shared` holds what the directory
//! controllers have in common.

pub mod accountlogsetting;
pub mod apitoken;
pub mod authentication;
#[cfg(feature = "cloud")]
pub mod cloud;
pub mod management;
pub mod projects;
mod shared;
pub mod sharedclouddrive;
pub mod user;
pub mod usergroup;
pub mod userspermission;
pub mod websocket;
