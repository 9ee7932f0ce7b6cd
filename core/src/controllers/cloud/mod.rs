//! Cloud (`cloud.md`): cloud accounts, and storage operations on them.

pub mod accounts;
pub mod storage;
