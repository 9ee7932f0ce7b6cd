//! Fills a data directory with one large account, for the directory benchmark
//! (`bench/directory.sh`). Run it while no agent uses the directory.
//!
//! `seed DATA_DIR USERS GROUPS PROJECTS [STORE_URL]` prints an API token of the account's
//! owner. With a PostgreSQL URL the rows go to that database (`[store] url`), not to the data
//! directory's redb file.
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use click_core::auth::api_token::{self, ApiToken};
use click_core::directory::entities::{self, EntityInput};
use click_core::directory::users;
use click_core::model::{Account, User, UserStatus, UserType};
use click_core::ports::{Rng, RngExt, Store};
use click_core::store::Batch;
use click_core::store::keys::ACCOUNTS;
use click_core::store::table::CounterDeltas;
use click_tokio::config::StoreSettings;
use click_tokio::data_dir::{DATABASE_FILE, create_private_dir};
use click_tokio::ports::OsRng;
use click_tokio::store::AgentStore;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (dir, n_users, n_groups, n_projects, url) = match args.as_slice() {
        [_, dir, u, g, p] => (dir, u, g, p, ""),
        [_, dir, u, g, p, url] => (dir, u, g, p, url.as_str()),
        _ => {
            eprintln!("usage: seed DATA_DIR USERS GROUPS PROJECTS [STORE_URL]");
            std::process::exit(2);
        }
    };
    let (n_users, n_groups, n_projects): (usize, usize, usize) = (
        n_users.parse().unwrap(),
        n_groups.parse().unwrap(),
        n_projects.parse().unwrap(),
    );
    let dir = std::path::PathBuf::from(dir);
    create_private_dir(&dir).unwrap();
    // PostgreSQL's client runs on tokio.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _inside = runtime.enter();
    let settings = StoreSettings {
        url: url.into(),
        ..StoreSettings::default()
    };
    let store = AgentStore::open(&settings, &dir.join(DATABASE_FILE), 0).unwrap();
    let rng = OsRng;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let started = Instant::now();

    let account = Account {
        id: rng.uuid(),
        name: "Benchmark".into(),
        owner_id: String::new(),
        subscription_type: 1,
        create_date_ms: now,
    };
    let user = |i: usize, owner: bool| User {
        id: rng.uuid(),
        account_id: account.id.clone(),
        firstname: format!("First{i}"),
        lastname: format!("Last{i}"),
        username: if owner {
            "owner@example.com".into()
        } else {
            format!("user{i}@example.com")
        },
        email: format!("user{i}@example.com"),
        user_type: if owner {
            UserType::DESKTOP_ADMIN
        } else {
            UserType::DESKTOP_STANDARD_USER
        },
        status: UserStatus::ACTIVE,
        owner,
        auth_provider: 0,
        create_date_ms: now - (n_users - i) as u64 * 1000,
        mfa: false,
    };
    let owner = user(0, true);
    let mut batch = Batch::new();
    ACCOUNTS.put(
        &mut batch,
        &account.id,
        &Account {
            owner_id: owner.id.clone(),
            ..account.clone()
        },
    );
    let mut deltas = CounterDeltas::default();
    users::insert(&mut batch, &mut deltas, &owner);
    let mut secret = [0u8; 32];
    rng.fill(&mut secret);
    let token = format!("{}{}", api_token::PREFIX, click_core::ports::hex(&secret));
    api_token::put(
        &mut batch,
        &ApiToken {
            id: rng.uuid(),
            user_id: owner.id.clone(),
            account_id: account.id.clone(),
            title: "benchmark".into(),
            shown: token[..12].into(),
            hash: api_token::hash(&token),
            expires_ms: None,
            create_ms: now,
        },
    );
    for i in 1..n_users {
        users::insert(&mut batch, &mut deltas, &user(i, false));
        if i % 2000 == 0 {
            std::mem::take(&mut deltas).apply(&mut batch);
            store.commit(&std::mem::take(&mut batch)).unwrap();
        }
    }
    deltas.apply(&mut batch);
    store.commit(&batch).unwrap();
    for (kind, n, name) in [
        (&entities::USER_GROUPS, n_groups, "group"),
        (&entities::PROJECTS, n_projects, "project"),
    ] {
        for i in 0..n {
            let input = EntityInput {
                name: Some(format!("{name}-{i}")),
                ..EntityInput::default()
            };
            entities::insert(
                &store,
                kind,
                &owner,
                rng.uuid(),
                &input,
                &entities::unguarded,
            )
            .unwrap();
        }
    }
    eprintln!(
        "seeded {n_users} users, {n_groups} groups, {n_projects} projects in {:?}",
        started.elapsed()
    );
    println!("{token}");
}
