//! Placeholder: the sync planner (being written).
