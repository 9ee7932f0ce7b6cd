//! Cloud (`cloud.md`): cloud accounts, storage operations on them, and client transfers.

pub mod accounts;
pub mod oauth;
pub mod p2p_transfer;
pub mod server_transfer;
pub mod storage;
pub mod transfers;
