//! Cloud drives: a bucket (or a prefix of one) kept as a local drive. The pure parts of the
//! drive engine live here so that every host runs the same logic and tests drive it with the
//! fake clock: the drive's stored configuration, the mapping between object keys and local
//! paths, file states and their `/statechange` frames, the per-path journal, the sync planner
//! and the cache policy. Hosts mount, watch and move bytes (`adapters/tokio/src/drives/`).

pub mod activity;
pub mod backup;
pub mod cache;
pub mod contents;
pub mod drive;
pub mod history;
pub mod journal;
pub mod paths;
pub mod planner;
pub mod ranks;
pub mod report;
pub mod sealed;
pub mod state;
pub mod sync;
pub mod tally;
