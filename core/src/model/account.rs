use alloc::string::String;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub owner_id: String,
    pub subscription_type: u32,
    pub create_date_ms: u64,
}
