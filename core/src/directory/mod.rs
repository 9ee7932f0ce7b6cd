//! The account's directory: users, user groups, projects and the relations between them, with
//! the indexes and counters that keep listings to one page of reads.

pub mod entities;
pub mod relations;
pub mod users;
