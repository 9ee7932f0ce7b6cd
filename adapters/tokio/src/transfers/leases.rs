//! This agent's side of the transfer leases (`click_core::transfers::lease`): which jobs it
//! may run, keeping them, letting them go.

use std::time::{Duration, Instant};

use click_core::ports::{Clock, Ports};
use click_core::transfers::{self, lease};

use crate::server::App;

#[derive(Clone)]
pub(super) struct Leases {
    agent: String,
    lease_ms: u64,
    renewed: Instant,
}

impl Leases {
    pub fn new(agent: String, lease_secs: u64) -> Leases {
        Leases {
            agent,
            lease_ms: lease_secs.max(1) * 1000,
            renewed: Instant::now(),
        }
    }

    fn now(app: &App) -> u64 {
        app.agent.ports.clock().now_ms()
    }

    /// Whether this agent may run transfer `id` now: its lease is taken (or was this
    /// agent's already). A `patient` claim (not asked for through this agent) leaves a
    /// transfer just made to the agent that made it.
    pub fn claim(&self, app: &App, id: &str, patient: bool) -> bool {
        let store = &app.agent.ports.store;
        let Ok(Some(t)) = transfers::get(store, id) else {
            return false;
        };
        let now = Self::now(app);
        if patient && lease::just_made(store, &t, now, self.lease_ms).unwrap_or(true) {
            return false;
        }
        match lease::claim(store, &t, &self.agent, now, self.lease_ms) {
            Ok(lease::Claim::Taken) => true,
            Ok(lease::Claim::Held(by)) => {
                tracing::debug!(transfer = %id, agent = %by, "transfer run by another agent");
                false
            }
            Err(e) => {
                tracing::warn!(transfer = %id, "cannot take the transfer's lease: {e:?}");
                false
            }
        }
    }

    /// Whether it is time to renew the running jobs' leases.
    pub fn due(&self) -> bool {
        self.renewed.elapsed() >= Duration::from_millis(self.lease_ms / 3)
    }

    /// Renews the lease of each of `running`; the ids whose lease another agent has taken.
    pub fn renew<'a>(
        &mut self,
        app: &App,
        running: impl Iterator<Item = &'a String>,
    ) -> Vec<String> {
        self.renewed = Instant::now();
        let store = &app.agent.ports.store;
        let now = Self::now(app);
        running
            .filter(|id| {
                // A failed write keeps the job: the lease is tried again at the next renewal.
                !lease::renew(store, id, &self.agent, now, self.lease_ms).unwrap_or(true)
            })
            .cloned()
            .collect()
    }

    pub fn release(&self, app: &App, id: &str) {
        if let Err(e) = lease::release(&app.agent.ports.store, id, &self.agent) {
            tracing::warn!(transfer = %id, "cannot release the transfer's lease: {e:?}");
        }
    }

    /// Whether another agent runs transfer `id` (so that agent stops and cleans it up).
    pub fn held_elsewhere(&self, app: &App, id: &str) -> bool {
        let store = &app.agent.ports.store;
        matches!(
            lease::held_elsewhere(store, id, &self.agent, Self::now(app)),
            Ok(Some(_))
        )
    }
}
