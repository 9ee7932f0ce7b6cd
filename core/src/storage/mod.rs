//! Built-in storage (`storage.md`): the agent serves its own disks over S3. The core keeps
//! what the server needs to decide and remember: the keys it issued, the buckets, and what
//! each object key holds; the host's S3 server moves the bytes.

pub mod buckets;
pub mod keys;
pub mod objects;
pub mod pushes;
