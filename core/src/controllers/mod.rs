//! One file per controller of `spec/click-api/`; `shared` holds what the directory
//! controllers have in common.

pub mod accountlogsetting;
pub mod apitoken;
pub mod authentication;
#[cfg(feature = "cloud")]
pub mod backupreport;
#[cfg(feature = "cloud")]
pub mod cloud;
#[cfg(feature = "cloud")]
pub mod drivereport;
#[cfg(feature = "cloud")]
pub mod fastrsettings;
pub mod management;
pub mod projects;
#[cfg(feature = "cloud")]
pub(crate) mod reports;
pub(crate) mod shared;
pub mod sharedclouddrive;
#[cfg(feature = "sso")]
pub mod sso;
#[cfg(feature = "cloud")]
pub mod storage;
#[cfg(feature = "cloud")]
pub mod transfer;
#[cfg(feature = "cloud")]
pub mod transferhistory;
#[cfg(feature = "cloud")]
pub mod ui;
pub mod user;
pub mod usergroup;
pub mod userspermission;
pub mod websocket;
