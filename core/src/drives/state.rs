//! File states. The documents number them two ways and both are kept on the wire: the
//! `/statechange` frames (and the reports) carry [`Flags`], bits that can combine (a pinned
//! file being uploaded); `object_status` answers one [`FileState`], the sequential enum of
//! its page, derived from the flags by [`FileState::of`].

use serde::{Deserialize, Serialize};

/// `FileState` as `/statechange` numbers it: bits of what is happening to a file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Flags(pub u32);

impl Flags {
    /// In sync, nothing happening.
    pub const NORMAL: Flags = Flags(0);
    /// Known locally but its data stays in the cloud (a Stream drive's file, not pinned).
    pub const TEMPORARY: Flags = Flags(1);
    /// Its data is being fetched.
    pub const DOWNLOADING: Flags = Flags(2);
    /// Local changes are being uploaded.
    pub const UPLOADING: Flags = Flags(4);
    /// Being deleted in the cloud.
    pub const DELETING: Flags = Flags(8);
    /// Not synced (a name no local file system can hold, a local-only change on a read-only
    /// drive).
    pub const IGNORE: Flags = Flags(16);
    /// The old copy of a renamed folder being removed.
    pub const RENAME_DELETING: Flags = Flags(32);
    /// Deleted.
    pub const DELETED: Flags = Flags(64);
    /// Being read.
    pub const READING: Flags = Flags(128);
    /// The last operation on it failed (the journal keeps the reason).
    pub const ERROR: Flags = Flags(256);

    /// Whether every bit of `other` is set.
    pub fn has(self, other: Flags) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }

    /// These flags with `other`'s bits set.
    pub fn with(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }

    /// These flags with `other`'s bits cleared.
    pub fn without(self, other: Flags) -> Flags {
        Flags(self.0 & !other.0)
    }
}

/// `FileState` as `object_status` numbers it (sequential).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum FileState {
    /// In sync (also a Stream drive's file whose data is in the cloud).
    Normal = 0,
    /// Uploading.
    Uploading = 1,
    /// Downloading.
    Downloading = 2,
    /// Being read.
    Reading = 3,
    /// Being deleted.
    Deleting = 4,
    /// Deleted.
    Deleted = 5,
    /// Not synced.
    Ignore = 6,
    /// Being encrypted.
    Encrypting = 7,
    /// Being decrypted.
    Decrypting = 8,
    /// The old copy of a renamed folder being removed.
    RenameDeleting = 9,
    /// The last operation failed.
    Error = 10,
}

impl FileState {
    /// The one state `object_status` reports for `flags`: the most telling bit wins (an
    /// error over activity, activity over rest).
    pub fn of(flags: Flags) -> FileState {
        const ORDER: [(Flags, FileState); 8] = [
            (Flags::ERROR, FileState::Error),
            (Flags::DELETED, FileState::Deleted),
            (Flags::RENAME_DELETING, FileState::RenameDeleting),
            (Flags::DELETING, FileState::Deleting),
            (Flags::UPLOADING, FileState::Uploading),
            (Flags::DOWNLOADING, FileState::Downloading),
            (Flags::READING, FileState::Reading),
            (Flags::IGNORE, FileState::Ignore),
        ];
        ORDER
            .iter()
            .find(|(bit, _)| flags.has(*bit))
            .map_or(FileState::Normal, |(_, state)| *state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_map_to_the_sequential_state() {
        assert_eq!(FileState::of(Flags::NORMAL), FileState::Normal);
        assert_eq!(FileState::of(Flags::TEMPORARY), FileState::Normal);
        assert_eq!(FileState::of(Flags(1 | 4)), FileState::Uploading);
        assert_eq!(FileState::of(Flags(2 | 256)), FileState::Error);
        assert_eq!(FileState::of(Flags::RENAME_DELETING) as u8, 9);
        assert_eq!(FileState::of(Flags::READING) as u8, 3);
        assert!(Flags(5).has(Flags::UPLOADING) && !Flags(5).has(Flags::NORMAL));
        assert_eq!(Flags(5).without(Flags::TEMPORARY), Flags::UPLOADING);
    }
}
