//! Placeholder: the FUSE file system of a VirtualDrive (being written).
