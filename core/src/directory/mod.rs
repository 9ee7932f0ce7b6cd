//! The account's directory: users, user groups, projects, shared cloud drives and the relations
//! between them, with the indexes and counters that keep listings to one page of reads.

pub(crate) mod accounts;
pub(crate) mod drives;
pub mod entities;
pub(crate) mod relations;
pub mod users;
