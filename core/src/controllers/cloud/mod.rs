//! Cloud (`cloud.md`): cloud accounts, storage operations on them, and client transfers.

pub mod accounts;
pub mod server_transfer;
pub mod storage;
pub mod transfers;
