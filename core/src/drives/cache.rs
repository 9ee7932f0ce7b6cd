//! Placeholder: the cache policy (being written).
