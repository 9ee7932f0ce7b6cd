//! Who runs a transfer's job. Agents sharing one store (a fleet) each run an engine; a lease
//! row per active transfer says which agent moves its bytes, until when. The holder renews
//! it while the job runs; when an agent dies its leases run out and another agent takes the
//! job over, resuming from the checkpoints in the store. A transfer that reads or writes an
//! agent's own disk (an upload or download of local files) is bound to the agent that made
//! it ([`Transfer::agent`]) and is never taken over.
//!
//! Expiry compares the agents' wall clocks: a fleet's clocks must agree to well within a
//! lease (NTP does).

use alloc::string::String;
use serde::{Deserialize, Serialize};

use super::Transfer;
use crate::error::ApiResult;
use crate::store::keys::TRANSFER_LEASES;
use crate::store::{Batch, CommitError, Store};

/// A job's lease: its agent, until when.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The agent running the job (`CoreConfig::agent_id`).
    pub agent: String,
    /// When the lease runs out unless renewed, by the holder's clock.
    pub until_ms: u64,
}

/// What [`claim`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The lease is this agent's now: run the job.
    Taken,
    /// Another agent holds it and has renewed it in time (or the transfer is bound to it).
    Held(String),
}

/// Whether only the agent that made `t` can run it: it moves files of that agent's disk.
pub fn bound(t: &Transfer) -> bool {
    use super::Direction::{Download, Upload};
    matches!(t.direction, Upload | Download)
        && t.servers.is_none()
        && t.peer.is_none()
        && !t.agent.is_empty()
}

/// Takes the lease of transfer `t` for `agent` until `now_ms + lease_ms`, unless another
/// agent holds it unexpired or the transfer is bound to another agent.
pub fn claim(
    store: &impl Store,
    t: &Transfer,
    agent: &str,
    now_ms: u64,
    lease_ms: u64,
) -> ApiResult<Claim> {
    if bound(t) && t.agent != agent {
        return Ok(Claim::Held(t.agent.clone()));
    }
    let key = TRANSFER_LEASES.key(&t.id);
    for _ in 0..crate::store::table::COMMIT_ATTEMPTS {
        let old = store.get(&key)?.map(|v| v.as_ref().to_vec());
        if let Some(held) = old
            .as_deref()
            .and_then(|b| serde_json::from_slice::<Lease>(b).ok())
            && held.agent != agent
            && held.until_ms > now_ms
        {
            return Ok(Claim::Held(held.agent));
        }
        let mut batch = Batch::new();
        batch.require_value(key.clone(), old);
        let lease = Lease {
            agent: String::from(agent),
            until_ms: now_ms + lease_ms,
        };
        TRANSFER_LEASES.put(&mut batch, &t.id, &lease);
        match store.commit(&batch) {
            Ok(()) => return Ok(Claim::Taken),
            Err(CommitError::Conflict(_)) => continue,
            Err(e) => return Err(crate::store::table::failure(e)),
        }
    }
    Ok(Claim::Held(String::new()))
}

/// Extends `agent`'s lease of transfer `id`; false when it is no longer `agent`'s (it ran
/// out and another agent took the job: this one must stop moving its bytes).
pub fn renew(
    store: &impl Store,
    id: &str,
    agent: &str,
    now_ms: u64,
    lease_ms: u64,
) -> ApiResult<bool> {
    let key = TRANSFER_LEASES.key(id);
    for _ in 0..crate::store::table::COMMIT_ATTEMPTS {
        let Some(old) = store.get(&key)?.map(|v| v.as_ref().to_vec()) else {
            return Ok(false);
        };
        match serde_json::from_slice::<Lease>(&old) {
            Ok(held) if held.agent == agent => {}
            _ => return Ok(false),
        }
        let mut batch = Batch::new();
        batch.require_value(key.clone(), Some(old));
        let lease = Lease {
            agent: String::from(agent),
            until_ms: now_ms + lease_ms,
        };
        TRANSFER_LEASES.put(&mut batch, id, &lease);
        match store.commit(&batch) {
            Ok(()) => return Ok(true),
            Err(CommitError::Conflict(_)) => continue,
            Err(e) => return Err(crate::store::table::failure(e)),
        }
    }
    Ok(false)
}

/// Gives up `agent`'s lease of transfer `id`, if it holds it (the job ended or stopped here).
pub fn release(store: &impl Store, id: &str, agent: &str) -> ApiResult<()> {
    let key = TRANSFER_LEASES.key(id);
    let Some(old) = store.get(&key)?.map(|v| v.as_ref().to_vec()) else {
        return Ok(());
    };
    match serde_json::from_slice::<Lease>(&old) {
        Ok(held) if held.agent == agent => {}
        _ => return Ok(()),
    }
    let mut batch = Batch::new();
    batch.require_value(key.clone(), Some(old));
    batch.delete(key);
    match store.commit(&batch) {
        // Taken over meanwhile: it is the other agent's to release.
        Ok(()) | Err(CommitError::Conflict(_)) => Ok(()),
        Err(e) => Err(crate::store::table::failure(e)),
    }
}

/// Whether transfer `t` was made (or started) within the last lease and no agent leased it
/// yet: the agent that made it is about to, and others leave it to that one.
pub fn just_made(store: &impl Store, t: &Transfer, now_ms: u64, lease_ms: u64) -> ApiResult<bool> {
    Ok(t.start_ms.saturating_add(lease_ms) > now_ms
        && store.get(&TRANSFER_LEASES.key(&t.id))?.is_none())
}

/// The agent holding transfer `id`'s lease unexpired, if another than `agent`.
pub fn held_elsewhere(
    store: &impl Store,
    id: &str,
    agent: &str,
    now_ms: u64,
) -> ApiResult<Option<String>> {
    let held: Option<Lease> = TRANSFER_LEASES.get(store, id)?;
    Ok(held
        .filter(|l| l.agent != agent && l.until_ms > now_ms)
        .map(|l| l.agent))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::mem::MemStore;
    use crate::transfers::Direction;

    fn transfer(direction: Direction, agent: &str) -> Transfer {
        Transfer {
            id: "t1".into(),
            direction,
            agent: agent.into(),
            ..Transfer::default()
        }
    }

    #[test]
    fn a_live_lease_keeps_others_out_until_it_runs_out() {
        let store = MemStore::new();
        let t = transfer(Direction::Copy, "");
        assert_eq!(claim(&store, &t, "a", 1_000, 15_000).unwrap(), Claim::Taken);
        assert_eq!(
            claim(&store, &t, "b", 10_000, 15_000).unwrap(),
            Claim::Held("a".into())
        );
        assert!(renew(&store, "t1", "a", 10_000, 15_000).unwrap());
        assert!(!renew(&store, "t1", "b", 10_000, 15_000).unwrap());
        assert_eq!(
            held_elsewhere(&store, "t1", "b", 24_000).unwrap(),
            Some("a".into())
        );
        // a stopped renewing at 10 s: its lease ends at 25 s, and b takes the job over.
        assert_eq!(
            claim(&store, &t, "b", 25_001, 15_000).unwrap(),
            Claim::Taken
        );
        assert!(
            !renew(&store, "t1", "a", 25_002, 15_000).unwrap(),
            "a lost it"
        );
        release(&store, "t1", "a").unwrap();
        assert_eq!(
            held_elsewhere(&store, "t1", "a", 25_003).unwrap(),
            Some("b".into()),
            "only the holder releases"
        );
        release(&store, "t1", "b").unwrap();
        assert_eq!(held_elsewhere(&store, "t1", "a", 25_003).unwrap(), None);
    }

    #[test]
    fn a_transfer_of_local_files_stays_with_its_agent() {
        let store = MemStore::new();
        let t = transfer(Direction::Upload, "a");
        assert_eq!(
            claim(&store, &t, "b", 1_000, 15_000).unwrap(),
            Claim::Held("a".into())
        );
        assert_eq!(claim(&store, &t, "a", 1_000, 15_000).unwrap(), Claim::Taken);
        assert_eq!(
            claim(&store, &t, "b", 99_000, 15_000).unwrap(),
            Claim::Held("a".into()),
            "not even once its lease ran out"
        );
        // The same agent restarted finds its own lease and goes on at once.
        assert_eq!(claim(&store, &t, "a", 2_000, 15_000).unwrap(), Claim::Taken);
    }
}
