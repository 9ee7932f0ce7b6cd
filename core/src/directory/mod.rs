//! The account's directory: users (and, later, groups, projects and shared drives) with the
//! indexes and counters that keep listings to one page of reads.

pub mod users;
