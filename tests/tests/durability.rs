//! Restarting the agent loses nothing that a 200 acknowledged: writers hammer it, the process is
//! killed with SIGKILL mid-burst, and every acknowledged write must be there after a restart.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use click_blackbox::{Agent, Options, json, signup_and_login};

#[test]
fn sigkill_during_a_burst_of_writes_loses_no_acknowledged_write() {
    if click_blackbox::hosted_only("a restart (its state is in RAM)") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let options = Options {
        data_dir: Some(tmp.path().join("data")),
        ..Options::default()
    };
    let agent = Agent::start_with(options.clone());
    let token = signup_and_login(&agent, "crash@example.com");
    let acknowledged = Mutex::new(Vec::new());
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        for w in 0..4 {
            let (agent, token, acknowledged, stop) = (&agent, &token, &acknowledged, &stop);
            s.spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::SeqCst) {
                    let name = format!("group-{w}-{i}");
                    let r = agent
                        .post("/usergroup/insert", json!({"name": name}))
                        .token(token)
                        .try_send();
                    if let Some(r) = r
                        && r.status == 200
                    {
                        acknowledged.lock().unwrap().push(name);
                    }
                    i += 1;
                }
            });
        }
        std::thread::sleep(Duration::from_millis(1500));
        agent.kill();
        stop.store(true, Ordering::SeqCst);
    });
    let acknowledged = acknowledged.into_inner().unwrap();
    assert!(
        acknowledged.len() > 20,
        "only {} writes before the kill",
        acknowledged.len()
    );

    let agent = Agent::start_with(options);
    let mut stored = std::collections::HashSet::new();
    let mut total = 0;
    for page in 1.. {
        let path = format!("/usergroup/get_all?pagesize=1000&page={page}");
        let body = agent.get(&path).token(&token).send().expect(200).json();
        total = body["total"].as_u64().unwrap();
        let names = body["data"].as_array().unwrap();
        if names.is_empty() {
            break;
        }
        stored.extend(
            names
                .iter()
                .map(|g| g["name"].as_str().unwrap().to_string()),
        );
    }
    let missing: Vec<&String> = acknowledged
        .iter()
        .filter(|n| !stored.contains(*n))
        .collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged writes lost: {missing:?}",
        missing.len()
    );
    // The counter moved with the rows.
    assert_eq!(total, stored.len() as u64);
}
