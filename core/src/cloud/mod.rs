//! Cloud accounts: the providers an account stores data with, their sealed credentials, who
//! sees them, and how a request's `cloudAccount` becomes a [`CloudTarget`](crate::ports::CloudTarget) for the
//! [`ObjectStorage`](crate::ports::ObjectStorage) port.

pub mod account;
pub mod cloud_type;
pub mod oauth;

#[cfg(feature = "cloud")]
pub(crate) use account::AccountRef;
pub use account::CloudAccount;

use alloc::format;

use crate::error::{ApiError, ErrorCode};
use crate::ports::StorageError;

/// How a provider's failure reaches the client: a 499 whose code says what to fix.
pub(crate) fn storage_error(cloud_type: u32, e: StorageError) -> ApiError {
    match e {
        StorageError::Unsupported => ApiError::invalid(format!(
            "cloudType {cloud_type} ({}) is not supported by this agent yet; supported: {}.",
            cloud_type::name(cloud_type),
            cloud_type::SUPPORTED_NAMES,
        )),
        StorageError::Denied(reason) => ApiError::new(
            ErrorCode::Access,
            format!("The provider refused the request: {reason}"),
        ),
        StorageError::NotFound(what) => ApiError::new(
            ErrorCode::NotFound,
            format!("The provider has no such bucket or object: {what}"),
        ),
        StorageError::Invalid(reason) => ApiError::invalid(reason),
        StorageError::Failed(reason) => ApiError::new(
            ErrorCode::Transfer,
            format!("The provider could not be reached or failed: {reason}"),
        ),
    }
}
