//! What agents sharing one store (a fleet) divide among themselves. A cloud drive's mount and
//! cache, a backup's watched folder and a share's mount are on one machine's disk: the agent
//! that first runs one owns it, and the others leave it alone, so no two agents ever write
//! one drive's journal. Transfer jobs, which any agent can run, are leased instead
//! ([`crate::transfers::lease`]).

use alloc::format;
use alloc::string::String;

use crate::error::ApiResult;
use crate::store::keys::LOCAL_OWNERS;
use crate::store::{Batch, CommitError, Store};

/// Which kind of thing an owner row is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Local {
    /// A cloud drive or a backup (both run as drives).
    Drive,
    /// An SMB or NFS share's mount.
    Share,
}

impl Local {
    fn key(self, id: &str) -> String {
        match self {
            Local::Drive => format!("drive/{id}"),
            Local::Share => format!("share/{id}"),
        }
    }
}

/// The agent that owns `id`: `agent` when it did already or nobody did (it does now), else
/// the other agent.
pub fn claim(store: &impl Store, kind: Local, id: &str, agent: &str) -> ApiResult<String> {
    let row = kind.key(id);
    loop {
        if let Some(owner) = LOCAL_OWNERS.get_str(store, &row)? {
            return Ok(owner);
        }
        let mut batch = Batch::new();
        batch.require_absent(LOCAL_OWNERS.key(&row));
        LOCAL_OWNERS.put_str(&mut batch, &row, agent);
        match store.commit(&batch) {
            Ok(()) => return Ok(String::from(agent)),
            Err(CommitError::Conflict(_)) => continue,
            Err(e) => return Err(crate::store::table::failure(e)),
        }
    }
}

/// Whether `agent` may run `id`: it owns it, or nobody does yet.
pub fn runs_here(store: &impl Store, kind: Local, id: &str, agent: &str) -> ApiResult<bool> {
    let owner = LOCAL_OWNERS.get_str(store, &kind.key(id))?;
    Ok(owner.is_none_or(|o| o == agent))
}

/// Forgets who owned `id` (it was deleted), in `batch`.
pub fn forget(batch: &mut Batch, kind: Local, id: &str) {
    LOCAL_OWNERS.delete(batch, &kind.key(id));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::mem::MemStore;

    #[test]
    fn the_first_agent_to_run_a_drive_keeps_it() {
        let store = MemStore::new();
        assert!(runs_here(&store, Local::Drive, "d1", "b").unwrap());
        assert_eq!(claim(&store, Local::Drive, "d1", "a").unwrap(), "a");
        assert_eq!(claim(&store, Local::Drive, "d1", "b").unwrap(), "a");
        assert!(!runs_here(&store, Local::Drive, "d1", "b").unwrap());
        assert!(
            runs_here(&store, Local::Share, "d1", "b").unwrap(),
            "kinds apart"
        );
        let mut gone = Batch::new();
        forget(&mut gone, Local::Drive, "d1");
        store.commit(&gone).unwrap();
        assert_eq!(claim(&store, Local::Drive, "d1", "b").unwrap(), "b");
    }
}
