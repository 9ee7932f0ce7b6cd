//! The contract as a client written from the docs would use it, generated from the pages in
//! `spec/`: every documented route the agent serves is called with exactly the query parameter
//! names of its doc table (with their documented defaults), the doc's own request body (ids
//! and credentials swapped for real ones; nothing else changed unless a comment says why), and
//! every field the docs give for its response (the Click page first; the `web-api/` page where
//! the Click page only names a DTO) must be there, nested as documented, with the documented
//! JSON type. String filters are also sent with a value nothing matches, to prove the agent
//! reads them under that name. What the docs leave ambiguous, and what we chose, is listed in
//! README.md ("Differences from the documented API").

use std::collections::{BTreeMap, BTreeSet, HashMap};

use click_blackbox::docs::{self, Endpoint};
use click_blackbox::idp::{self, Flavor, Idp};
use click_blackbox::oauth;
use click_blackbox::s3::S3Server;
use click_blackbox::shares::{NfsServer, SambaServer};
use click_blackbox::{Agent, Options, PASSWORD, Resp, Value, form, identity, json};

/// Where the fields of a DTO that a Click page only names are documented.
enum Dto {
    /// The response of an endpoint (`dir`, `METHOD path`) at a JSON pointer.
    Response(&'static str, &'static str, &'static str),
    /// The request body of a Click endpoint ("Shape matches the Setup request body").
    Body(&'static str),
    /// Another DTO with arrays of related records inlined: the `...WithDetailsDTO`s, whose
    /// pages say "with their assigned users, user groups, and shared cloud drives inlined".
    Extends(&'static str, &'static [&'static str]),
    /// Named by the docs, with fields nowhere.
    Undocumented,
    /// An enum the page numbers in a table, answered as a bare integer (`FileState`).
    Integer,
}

const DTOS: &[(&str, Dto)] = &[
    (
        "SMBClientModel",
        Dto::Response("click-api", "GET /management/smbclient", "/0"),
    ),
    (
        "NFSClientModel",
        Dto::Response("click-api", "GET /management/nfsclient", "/0"),
    ),
    ("OktaSSO", Dto::Body("POST /sso/setup_okta")),
    ("EntraIDSSO", Dto::Body("POST /sso/setup_entraId")),
    ("SamlSSO", Dto::Body("POST /sso/setup_saml")),
    (
        "SSOUrlResponse",
        Dto::Response("click-api", "POST /sso/sso_url", ""),
    ),
    (
        "UserUserGroupRelation",
        Dto::Body("POST /usergroup/import_users"),
    ),
    (
        "User",
        Dto::Response("click-api", "GET /user/get_all_users", "/data/0"),
    ),
    (
        "UserWithDetailsDTO",
        Dto::Extends("User", &["userGroups", "projects", "sharedCloudDrives"]),
    ),
    (
        "UserGroup",
        Dto::Response("web-api", "GET /api/v1/usergroup/get_all", "/data/0"),
    ),
    (
        "UserGroupWithDetailsDTO",
        Dto::Extends("UserGroup", &["users", "projects", "sharedCloudDrives"]),
    ),
    (
        "Project",
        Dto::Response("web-api", "GET /api/v1/project/get_all", "/data/0"),
    ),
    (
        "ProjectWithDetailsDTO",
        Dto::Extends("Project", &["users", "userGroups", "sharedCloudDrives"]),
    ),
    (
        "SharedCloudDrive",
        Dto::Response("web-api", "GET /api/v1/sharedclouddrive/get_all", "/data/0"),
    ),
    (
        "SharedCloudDriveWithDetailsDTO",
        Dto::Extends("SharedCloudDrive", &["projects", "users", "userGroups"]),
    ),
    (
        "SharedCloudDriveProjectDTO",
        Dto::Response(
            "web-api",
            "GET /api/v1/project/get_assigned_sharedclouddrives",
            "/data/0",
        ),
    ),
    ("UserUserGroupDTO", Dto::Undocumented),
    ("UserProjectPermissionDTO", Dto::Undocumented),
    ("UserSharedCloudDrivePermissionDTO", Dto::Undocumented),
    ("UserGroupProjectPermissionDTO", Dto::Undocumented),
    ("UserGroupSharedCloudDrivePermissionDTO", Dto::Undocumented),
    (
        "ApiToken",
        Dto::Response("click-api", "GET /apitoken/get_all", "/0"),
    ),
    (
        "AccountLogSetting",
        Dto::Body("POST /accountlogsetting/setup"),
    ),
    (
        "CloudAccount",
        Dto::Response("web-api", "GET /api/v1/cloudaccount/get_all", "/data/0"),
    ),
    (
        "StorageApiKey",
        Dto::Response("web-api", "GET /api/v1/storage/get_storage_key", "/data/0"),
    ),
    (
        "ShowStorageApiKey",
        Dto::Response("web-api", "POST /api/v1/storage/create_storage_key", ""),
    ),
    (
        "BucketStatus",
        Dto::Response("web-api", "POST /api/v1/storage/bucket_status", ""),
    ),
    // "usage, object count, region, etc." and "total quota, used bytes, bucket count": named
    // in prose, no shape (tests/tests/storage.rs checks them against what is stored).
    ("BucketInfoResponse", Dto::Undocumented),
    ("CloudInfoResponse", Dto::Undocumented),
    (
        "CloudDriveModel",
        Dto::Response("click-api", "GET /management/clouddrive", "/0"),
    ),
    (
        "TransferHistoryDetail",
        Dto::Response("web-api", "GET /api/v1/transferhistory/get_all", ""),
    ),
    (
        "BackupSummaryReport",
        Dto::Response("click-api", "GET /backupreport/summary/{backupId}", ""),
    ),
    (
        "BackupSyncHealthReport",
        Dto::Response("click-api", "GET /backupreport/sync_health/{backupId}", ""),
    ),
    (
        "DriveSummaryReport",
        Dto::Response("click-api", "GET /drivereport/summary/{driveId}", ""),
    ),
    (
        "DriveSyncHealthReport",
        Dto::Response("click-api", "GET /drivereport/sync_health/{driveId}", ""),
    ),
    // "with `FileCountByExtension`, `SizeByExtension`, ... collections": names in prose, no
    // shape (tests/tests/backups.rs checks them against what a backup holds).
    ("DriveFileDistributionReport", Dto::Undocumented),
    ("BackupFileDistributionReport", Dto::Undocumented),
    (
        "CloudBackupModel",
        Dto::Response("click-api", "GET /management/cloudbackup", "/0"),
    ),
    (
        "Transfer",
        Dto::Response("web-api", "GET /api/v1/transfer/get_all", "/data/0"),
    ),
    (
        "FastrServerTransferStatus",
        Dto::Response(
            "click-api",
            "GET /cloud/server_transfer/{transferId}/status",
            "",
        ),
    ),
    (
        "FastrSettings",
        Dto::Response("web-api", "GET /api/v1/fastrsettings/get_all", "/data/0"),
    ),
    ("FileState", Dto::Integer),
    (
        "ICloudStorageObjectCollection",
        Dto::Response("web-api", "POST /api/v1/cloudaccount/list_objects", ""),
    ),
];

/// Objects the docs show nested that a record may not have, answered `null` then (as .NET
/// serializes a missing navigation property): a transfer outside any sync has no `syncCycle`.
const NULL_WHEN_NONE: &[&str] = &["/syncCycle"];

/// What a route's doc says its response is.
#[derive(Clone, Debug)]
enum Expected {
    /// Fields, nesting and types.
    Shape(Value),
    /// A DTO the docs name without fields.
    Named(String),
    /// "200 OK" and the like: nothing to check.
    Nothing,
}

/// Compares answers with documented shapes, collecting what differs.
#[derive(Default)]
struct Checker {
    problems: Vec<String>,
    fields_checked: usize,
}

impl Checker {
    fn problem(&mut self, route: &str, what: String) {
        self.problems.push(format!("{route}: {what}"));
    }

    fn check(&mut self, route: &str, doc: &Value, actual: &Value, at: &str) {
        if actual.is_null() && NULL_WHEN_NONE.iter().any(|f| at.ends_with(f)) {
            return;
        }
        let ok = match doc {
            Value::Null => true,
            Value::Bool(_) => actual.is_boolean(),
            Value::Number(_) => actual.is_number(),
            Value::String(s) => match doc_type(s) {
                Some("integer") => actual.is_i64() || actual.is_u64(),
                Some("number") => actual.is_number(),
                Some("boolean") => actual.is_boolean(),
                Some("object") => actual.is_object(),
                Some("array") => actual.is_array(),
                _ => actual.is_string(),
            },
            Value::Array(items) => match (items.first(), actual.as_array()) {
                (_, None) => false,
                (None, Some(_)) => true,
                (Some(item), Some(got)) => {
                    if got.is_empty() && item.as_object().is_some_and(|o| !o.is_empty()) {
                        let what = format!("{at}: empty, so its documented items go unchecked");
                        self.problem(route, what);
                    }
                    for (i, a) in got.iter().enumerate() {
                        self.check(route, item, a, &format!("{at}/{i}"));
                    }
                    true
                }
            },
            Value::Object(fields) => match actual.as_object() {
                None => false,
                Some(got) => {
                    for (name, d) in fields {
                        match got.get(name) {
                            None => self.problem(route, format!("{at}/{name} is missing")),
                            Some(a) => {
                                self.fields_checked += 1;
                                self.check(route, d, a, &format!("{at}/{name}"));
                            }
                        }
                    }
                    true
                }
            },
        };
        if !ok {
            self.problem(route, format!("{at} should be like {doc}, is {actual}"));
        }
    }
}

struct Contract<'a> {
    agent: &'a Agent,
    click: Vec<Endpoint>,
    web: Vec<Endpoint>,
    token: String,
    /// Values by query name or body field name (`userId`, `cloudAccountId`, ...).
    world: HashMap<String, Value>,
    called: BTreeSet<String>,
    checker: Checker,
    shaped: BTreeSet<String>,
    named_only: BTreeMap<String, String>,
    filters_checked: usize,
    /// Every call of [`Contract::call_expecting`] as the OpenAPI check reads it
    /// (`clients/check_calls_against_openapi.py`): method, route pattern, status, the query
    /// names sent, the JSON body sent (null for a form) and the JSON answer (null if none).
    calls: Vec<Value>,
}

fn key(method: &str, path: &str) -> String {
    format!("{method} {path}")
}

/// A query value as a client writes it.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The documented default of a query parameter, if it names one a client can send:
/// `"CreateDate"` -> CreateDate, `Active | Inactive | Pending (7)` -> 7, `false` -> false.
fn default_value(doc: &str) -> Option<String> {
    let d = doc.trim();
    // "Name (3)" is the value 3; "0 (All)" is 0, with its meaning.
    if let Some((before, inside)) = d.rsplit_once('(')
        && let Some(inside) = inside.strip_suffix(')')
    {
        let before = before.trim();
        let value = if before.parse::<i64>().is_ok() {
            before
        } else {
            inside.trim()
        };
        return Some(value.to_string());
    }
    let unquoted = d.trim_matches('"');
    let plain = unquoted.parse::<i64>().is_ok() || matches!(unquoted, "true" | "false");
    (d.starts_with('"') || plain).then(|| unquoted.to_string())
}

/// A doc value that names a type ("string (uuid)", "integer (enum)") rather than an example.
fn doc_type(s: &str) -> Option<&'static str> {
    let s = s.to_ascii_lowercase();
    let kinds = [
        ("string", "string"),
        ("integer", "integer"),
        ("long", "integer"),
        ("int", "integer"),
        ("number", "number"),
        ("double", "number"),
        ("boolean", "boolean"),
        ("bool", "boolean"),
        ("object", "object"),
        ("array", "array"),
    ];
    kinds
        .iter()
        .find(|(word, _)| s == *word || s.starts_with(&format!("{word} (")))
        .map(|(_, kind)| *kind)
}

fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

impl<'a> Contract<'a> {
    fn new(agent: &'a Agent) -> Contract<'a> {
        Contract {
            agent,
            click: docs::endpoints_of("click-api"),
            web: docs::endpoints_of("web-api"),
            token: String::new(),
            world: HashMap::new(),
            called: BTreeSet::new(),
            checker: Checker::default(),
            shaped: BTreeSet::new(),
            named_only: BTreeMap::new(),
            filters_checked: 0,
            calls: Vec::new(),
        }
    }

    fn set(&mut self, name: &str, value: Value) {
        self.world.insert(name.to_string(), value);
    }

    fn endpoint(&self, dir: &str, route: &str) -> &Endpoint {
        let pages = if dir == "web-api" {
            &self.web
        } else {
            &self.click
        };
        pages
            .iter()
            .find(|e| key(&e.method, &e.path) == route)
            .unwrap_or_else(|| panic!("{route} is not documented in {dir}"))
    }

    // ------------------------------------------------------------ what the docs expect

    fn dto(&self, name: &str) -> Expected {
        let Some((_, source)) = DTOS.iter().find(|(n, _)| *n == name) else {
            panic!("the docs name `{name}`: say in DTOS where its fields are documented");
        };
        match source {
            Dto::Response(dir, route, pointer) => {
                let ep = self.endpoint(dir, route);
                let doc = ep.response.as_ref().expect("a documented response");
                Expected::Shape(doc.pointer(pointer).expect("the pointer").clone())
            }
            Dto::Body(route) => {
                let ep = self.endpoint("click-api", route);
                Expected::Shape(ep.body.clone().expect("a documented body"))
            }
            Dto::Extends(base, arrays) => match self.dto(base) {
                Expected::Shape(Value::Object(mut fields)) => {
                    for a in *arrays {
                        fields.insert(a.to_string(), json!([]));
                    }
                    Expected::Shape(Value::Object(fields))
                }
                other => other,
            },
            Dto::Undocumented => Expected::Named(name.to_string()),
            Dto::Integer => Expected::Shape(json!("integer")),
        }
    }

    /// The documented paged collection (`web-api/project.md`), holding `item`s.
    fn page_of(&self, item: Value) -> Value {
        let ep = self.endpoint("web-api", "GET /api/v1/project/get_all");
        let mut page = ep.response.clone().unwrap();
        page["data"] = json!([item]);
        page
    }

    /// `doc` with each `{"...": "SomeDTO"}` placeholder (the report pages nest DTOs that
    /// way) replaced by that DTO's shape, or by nothing to check when it has none.
    fn resolve(&self, doc: &Value) -> Value {
        match doc {
            Value::Object(fields) => match (fields.len(), fields.get("...")) {
                (1, Some(Value::String(name))) => match self.dto(name) {
                    Expected::Shape(shape) => self.resolve(&shape),
                    _ => Value::Null,
                },
                _ => Value::Object(
                    fields
                        .iter()
                        .map(|(k, v)| (k.clone(), self.resolve(v)))
                        .collect(),
                ),
            },
            Value::Array(items) => Value::Array(items.iter().map(|v| self.resolve(v)).collect()),
            other => other.clone(),
        }
    }

    fn expected(&self, ep: &Endpoint) -> Expected {
        if let Some(doc) = &ep.response {
            return Expected::Shape(self.resolve(doc));
        }
        let text = &ep.response_text;
        let words = backticked(text);
        if text.to_lowercase().contains("same shape as") {
            let title = text.split_once('[').and_then(|(_, t)| t.split_once(']'));
            let other = match title {
                Some((title, _)) => self.click.iter().find(|e| e.title == title),
                None => words.first().and_then(|w| {
                    let suffix = format!("/{w}");
                    self.click
                        .iter()
                        .find(|e| e.file == ep.file && e.path.ends_with(&suffix))
                }),
            };
            let shape = self.expected(other.expect("the endpoint it has the shape of"));
            // "Array of `ObjectInfoModel` (same shape as [Get Object Info])": items of it.
            return match shape {
                Expected::Shape(item) if text.to_lowercase().contains("array of") => {
                    Expected::Shape(json!([item]))
                }
                other => other,
            };
        }
        let dto = words
            .iter()
            .find(|w| w.starts_with(|c: char| c.is_ascii_uppercase()));
        let Some(dto) = dto else {
            if text.contains("each contains") {
                let fields = words.iter().map(|w| (w.clone(), Value::Null)).collect();
                return Expected::Shape(json!([Value::Object(fields)]));
            }
            return match text.to_lowercase() {
                t if t.contains("string") => Expected::Shape(json!("string")),
                t if t.contains("boolean") || words.iter().any(|w| w == "true") => {
                    Expected::Shape(json!(true))
                }
                t if t.contains("integer") => Expected::Shape(json!("integer")),
                _ => Expected::Nothing,
            };
        };
        // `DTOResDesktopObject<T>`: "a wrapper containing the list ... and a total count".
        let listed = dto.strip_prefix("DTOResDesktopObject<");
        let (inner, collection) = match (dto.strip_prefix("DTOCollection<"), listed) {
            (Some(inner), _) | (_, Some(inner)) => (inner.trim_end_matches('>'), true),
            _ => (dto.as_str(), text.contains("collection of")),
        };
        let item = match self.dto(inner) {
            Expected::Shape(mut shape) => {
                // Lower-case names beside the DTO are fields the prose adds: "including the
                // generated `token` value", "plus an `id` field", "`data[]`".
                if let Value::Object(fields) = &mut shape {
                    for w in &words {
                        let w = w.trim_end_matches("[]");
                        let field = w.chars().all(|c| c.is_ascii_alphanumeric());
                        // `null` is what the route answers when there is nothing.
                        let literal = w == "null";
                        if field && !literal && w.starts_with(|c: char| c.is_ascii_lowercase()) {
                            fields.entry(w.to_string()).or_insert(Value::Null);
                        }
                    }
                }
                shape
            }
            named => return named,
        };
        Expected::Shape(match () {
            _ if listed.is_some() => json!({"data": [item], "total": 1}),
            _ if collection => self.page_of(item),
            _ if text.contains("array of") => json!([item]),
            _ => item,
        })
    }

    // ------------------------------------------------------------ making a call

    /// Fills a doc body: a field named in `set` by JSON pointer, or (ids and credentials)
    /// by its name in the world; placeholders the docs write as types must be filled.
    fn fill(&self, route: &str, value: &mut Value, at: &str, set: &HashMap<&str, Value>) {
        match value {
            Value::Object(fields) => {
                for (name, v) in fields.iter_mut() {
                    let here = format!("{at}/{name}");
                    if let Some(given) = set.get(here.as_str()) {
                        *v = given.clone();
                    } else if let (Some(known), false) = (self.world.get(name), name == "id") {
                        *v = known.clone();
                    } else {
                        self.fill(route, v, &here, set);
                    }
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter_mut().enumerate() {
                    self.fill(route, v, &format!("{at}/{i}"), set);
                }
            }
            Value::String(s) if doc_type(s).is_some() => {
                panic!("{route}: the doc body has a placeholder at {at} ({s}); set a value")
            }
            _ => {}
        }
    }

    fn request_path(&self, ep: &Endpoint, set: &HashMap<&str, Value>) -> String {
        let mut path = ep.path.clone();
        while let Some(open) = path.find('{') {
            let close = path[open..].find('}').unwrap() + open;
            let name = path[open + 1..close].to_string();
            let value = set
                .get(name.as_str())
                .or_else(|| self.world.get(&name))
                .unwrap_or_else(|| panic!("{}: no value for {{{name}}}", ep.path));
            path.replace_range(open..=close, &text(value));
        }
        let mut query: Vec<String> = Vec::new();
        for (name, default) in &ep.query {
            if name == "token" {
                continue;
            }
            let value = match set.get(name.as_str()).or_else(|| self.world.get(name)) {
                Some(Value::Null) => None,
                Some(v) => Some(text(v)),
                None => default_value(default),
            };
            if let Some(v) = value {
                query.push(format!("{name}={}", click_blackbox::encode(&v)));
            }
        }
        if !self.token.is_empty() && !set.contains_key("token") {
            query.push(format!("token={}", self.token));
        }
        match query.is_empty() {
            true => path,
            false => format!("{path}?{}", query.join("&")),
        }
    }

    fn send(&self, ep: &Endpoint, set: &HashMap<&str, Value>) -> Resp {
        let path = self.request_path(ep, set);
        let mut call = self.agent.call(&ep.method, &path);
        if !ep.form.is_empty() {
            let fields: Vec<(String, String)> = ep
                .form
                .iter()
                .filter(|(name, _)| name != "file")
                .filter_map(|(name, _)| {
                    let v = set.get(name.as_str()).or_else(|| self.world.get(name))?;
                    Some((name.clone(), text(v)))
                })
                .collect();
            let fields: Vec<(&str, &str)> = fields
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            let file = set.get("file").map(|v| v.as_str().unwrap().as_bytes());
            let body = form::body(&fields, file.map(|b| ("doc-contract.txt", b)));
            return call
                .header("Content-Type", &form::content_type())
                .raw(&body)
                .send();
        }
        if let Some(body) = self.json_body(ep, set) {
            call = call.json(&body);
        }
        call.send()
    }

    /// The JSON body a call sends: the whole body `set` gives, else the doc's, filled; `{}`
    /// for a POST or PUT the doc gives none; none for a form.
    fn json_body(&self, ep: &Endpoint, set: &HashMap<&str, Value>) -> Option<Value> {
        if !ep.form.is_empty() {
            return None;
        }
        match (set.get("/"), &ep.body) {
            (Some(whole), _) => Some(whole.clone()),
            (None, Some(doc)) => {
                let mut body = doc.clone();
                self.fill(&key(&ep.method, &ep.path), &mut body, "", set);
                Some(body)
            }
            (None, None) if matches!(ep.method.as_str(), "POST" | "PUT") => Some(json!({})),
            (None, None) => None,
        }
    }

    /// Calls a documented route as its doc says, expecting `status`, and checks the answer
    /// against the documented response. `set`: values by query name, path parameter,
    /// body JSON pointer (`/id`, or `/` for the whole body), form field, or `file`.
    fn call_expecting(&mut self, route: &str, status: u16, set: &[(&str, Value)]) -> Value {
        let (method, path) = route.split_once(' ').unwrap();
        let ep = self.endpoint("click-api", &key(method, path)).clone();
        let set: HashMap<&str, Value> = set.iter().cloned().collect();
        let r = self.send(&ep, &set);
        assert_eq!(r.status, status, "{route}: {}", r.text());
        self.called.insert(route.to_string());
        let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        // The doc's URL is the route pattern, as the document's paths spell it.
        let sent = self.request_path(&ep, &set);
        let record = json!({
            "method": method,
            "route": ep.path,
            "status": status,
            "query": query_names(&sent),
            "body": self.json_body(&ep, &set),
            "response": body,
        });
        self.calls.push(record);
        if (200..300).contains(&status) {
            match self.expected(&ep) {
                Expected::Shape(doc) => {
                    self.shaped.insert(route.to_string());
                    self.checker.check(route, &doc, &body, "");
                }
                Expected::Named(dto) => {
                    self.named_only.insert(route.to_string(), dto);
                }
                Expected::Nothing => {}
            }
            self.check_filters(&ep, route, &set, &body);
        }
        body
    }

    fn call(&mut self, route: &str, set: &[(&str, Value)]) -> Value {
        self.call_expecting(route, 200, set)
    }

    /// A filter a listing documents is read under that name: a value nothing matches
    /// leaves the page empty.
    fn check_filters(
        &mut self,
        ep: &Endpoint,
        route: &str,
        set: &HashMap<&str, Value>,
        page: &Value,
    ) {
        if page.get("total").is_none() {
            return;
        }
        for (name, default) in &ep.query {
            let paging = ["token", "page", "pagesize", "sortfield", "descending"];
            if paging.contains(&name.as_str())
                || self.world.contains_key(name)
                || set.contains_key(name.as_str())
            {
                continue;
            }
            let miss = match name.as_str() {
                "userStatus" => json!(2),
                "userType" => json!(1),
                _ if default_value(default).is_none() => json!("zz-no-match-zz"),
                _ => continue,
            };
            let mut with: HashMap<&str, Value> = set.clone();
            with.insert(name, miss);
            let r = self.send(ep, &with);
            let total = r.json()["total"].clone();
            if total != json!(0) {
                self.checker.problem(
                    route,
                    format!("the filter '{name}' is not applied (total {total})"),
                );
            }
            self.filters_checked += 1;
        }
    }
}

fn id(v: &Value) -> Value {
    v["id"].clone()
}

/// The names in a request path's query, in the order sent.
fn query_names(path: &str) -> Vec<&str> {
    let query = path.split_once('?').map_or("", |(_, q)| q);
    query
        .split('&')
        .filter_map(|p| p.split_once('=').map(|(name, _)| name))
        .collect()
}

/// The calls the contract made, checked by an independent validator against the OpenAPI
/// document the same agent serves: each operation exists, declares every query name sent,
/// takes the body sent and answers the status and JSON received. The problems it finds.
fn openapi_problems(agent: &Agent, calls: &[Value]) -> Vec<String> {
    let document = agent.get("/openapi.json").send().expect(200).json();
    let input = json!({"document": document, "calls": calls});
    let out = click_blackbox::python_filter(
        "check_calls_against_openapi.py",
        input.to_string().as_bytes(),
    );
    assert!(
        out.status.success(),
        "the OpenAPI check failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    eprintln!(
        "doc contract: {} calls checked against /openapi.json",
        report["checked"]
    );
    serde_json::from_value(report["problems"].clone()).unwrap()
}

#[test]
fn every_documented_route_the_agent_serves_honours_its_doc() {
    if click_blackbox::device_target() {
        // The devices serve the same core; cloud routes and mail need the desktop.
        eprintln!("skipped on devices: the contract runs against the desktop agent");
        return;
    }
    let s3 = S3Server::start();
    s3.put("my-bucket", "photos/file.jpg", b"a photo");
    s3.bucket("my-shared-bucket");
    let files = tempfile::tempdir().unwrap();
    let upload = files.path().join("file.bin");
    std::fs::write(&upload, b"bytes to upload").unwrap();
    // An update feed with no newer release: the update is refused, the agent stays.
    let feed = files.path().join("feed.json");
    std::fs::write(&feed, r#"{"releases": []}"#).unwrap();
    let providers = oauth::Providers::start();
    let agent = Agent::start_with(Options {
        config: format!(
            "{}\n[transfers]\nroots = [\"{}\"]\n[storage]\nlisten = \"127.0.0.1:{}\"\n[plan]\nsso = true\n\
             [update]\nfeed_url = \"{}\"\n{}",
            identity::google_config(),
            files.path().display(),
            click_blackbox::free_port(),
            feed.display(),
            providers.config(""),
        ),
        ..Options::default()
    });
    let mut c = Contract::new(&agent);
    authentication(&mut c);
    directory_and_cloud(&mut c, &s3, &upload, files.path());
    built_in_storage(&mut c, &upload);
    sso(&mut c);
    oauth_connections(&mut c, &providers);
    c.call("GET /management/check_update", &[]);
    c.call_expecting("POST /management/update", 499, &[]);
    share_mounts(&mut c, files.path());
    let served = click_blackbox::routes();
    let mut missing = Vec::new();
    for (method, path, _) in &served {
        let extension = matches!(
            path.as_str(),
            "/management/outbox"
                | "/notification"
                | "/statechange"
                | "/ui"
                | "/ui/{asset}"
                | "/sso/saml_acs"
                | "/metrics"
                | "/openapi.json"
        );
        if !extension && !c.called.contains(&key(method, path)) {
            missing.push(key(method, path));
        }
    }
    eprintln!(
        "doc contract: {} routes called, {} with documented fields ({} fields checked), {} \
         naming a DTO documented nowhere ({:?}), {} filters checked",
        c.called.len(),
        c.shaped.len(),
        c.checker.fields_checked,
        c.named_only.len(),
        c.named_only.values().collect::<BTreeSet<_>>(),
        c.filters_checked,
    );
    let openapi = openapi_problems(&agent, &c.calls);
    assert!(
        missing.is_empty(),
        "routes served but not called here: {missing:?}"
    );
    assert!(c.checker.problems.is_empty(), "{:#?}", c.checker.problems);
    assert!(openapi.is_empty(), "against /openapi.json: {openapi:#?}");
}

/// Each OAuth connection with the docs' bodies, approved at the provider's local stand-in.
fn oauth_connections(c: &mut Contract<'_>, providers: &oauth::Providers) {
    for (provider, _) in oauth::PROVIDERS {
        let url = c.call(
            &format!("POST /cloud/generate_{provider}_authorization_url"),
            &[],
        );
        let (code, state) = providers.approve(url.as_str().unwrap());
        c.call(
            &format!("POST /cloud/{provider}_authorization_callback"),
            &[("/code", json!(code)), ("/state", json!(state))],
        );
    }
}

/// SMB and NFS mounts with the docs' bodies against a real Samba and nfs-ganesha: insert,
/// list, update with the listed model, delete.
fn share_mounts(c: &mut Contract<'_>, root: &std::path::Path) {
    let served = tempfile::tempdir().unwrap();
    std::fs::write(served.path().join("brief.txt"), b"brief").unwrap();
    let samba = SambaServer::start(served.path(), "share", "user", "EXAMPLE_PASSWORD");
    let nfs = NfsServer::start(served.path(), "/media");
    let smb = c.call(
        "POST /management/smbclient",
        &[
            ("/smbShare", json!(samba.unc())),
            ("/username", json!("user")),
            ("/localPath", json!(root.join("smb").display().to_string())),
        ],
    );
    let listed = c.call("GET /management/smbclient", &[]);
    c.call(
        "PUT /management/smbclient/{id}",
        &[("id", id(&smb)), ("/", listed[0].clone())],
    );
    c.call("DELETE /management/smbclient/{id}", &[("id", id(&smb))]);
    let export = c.call(
        "POST /management/nfsclient",
        &[
            ("/nfsShare", json!(nfs.share())),
            ("/localPath", json!(root.join("nfs").display().to_string())),
        ],
    );
    let listed = c.call("GET /management/nfsclient", &[]);
    c.call(
        "PUT /management/nfsclient/{id}",
        &[("id", id(&export)), ("/", listed[0].clone())],
    );
    c.call("DELETE /management/nfsclient/{id}", &[("id", id(&export))]);
}

/// SSO with the docs' bodies against the test OpenID Provider (as Okta, and as Entra ID), and
/// a SAML configuration: setup, get, update, then a sign-in and an import through Okta (the
/// first active kind), then the deletes.
fn sso(c: &mut Contract<'_>) {
    let okta = Idp::start(Flavor::Okta, 2, 1);
    let entra = Idp::start(Flavor::Entra, 2, 1);
    for (idp, kind) in [(&okta, "okta"), (&entra, "entraId")] {
        let client = [
            ("/ClientId", json!(idp::CLIENT_ID)),
            ("/ClientSecret", json!(idp::CLIENT_SECRET)),
            ("/OpenIdURL", json!(idp.discovery_url())),
        ];
        let saved = c.call(&format!("POST /sso/setup_{kind}"), &client);
        c.call(&format!("GET /sso/get_{kind}"), &[]);
        c.call(&format!("PUT /sso/update_{kind}"), &[("/", saved)]);
    }
    let certificate = std::fs::read_to_string(identity::fixture("saml-idp.crt")).unwrap();
    let saml = [
        ("/Certificate", json!(certificate)),
        ("/SPEntityId", json!("urn:click:doc-contract")),
        ("/IdPSSOURL", json!("https://idp.example.com/sso")),
    ];
    let saved = c.call("POST /sso/setup_saml", &saml);
    c.call("GET /sso/get_saml", &[]);
    c.call("PUT /sso/update_saml", &[("/", saved)]);

    // The docs' sample: "user@example.com" is this contract's signed-up owner.
    let callback = ("/CallbackUrl", json!(idp::CALLBACK));
    let user = [callback.clone(), ("/Username", json!("user@example.com"))];
    let started = c.call("POST /sso/sso_url", &user);
    let back = okta.sign_in(
        started["Url"].as_str().unwrap(),
        "user1@example.com",
        "pass-1",
    );
    let answer = [
        ("/Identifier", started["Identifier"].clone()),
        ("/AuthorizationCode", json!(back.code)),
        callback.clone(),
    ];
    c.call("POST /sso/authenticate", &answer);
    let started = c.call("POST /sso/sso_url_import_user", &user);
    let url = started["Url"].as_str().unwrap();
    let back = okta.sign_in(url, "admin@example.com", "admin-pass");
    let listed = c.call(
        "GET /sso/get_user_usergroups",
        &[
            ("authorizationCode", json!(back.code)),
            ("callbackUrl", json!(idp::CALLBACK)),
        ],
    );
    assert_eq!(listed.as_array().map(Vec::len), Some(3), "{listed}");
    for kind in ["okta", "entraId", "saml"] {
        c.call(&format!("DELETE /sso/delete_{kind}"), &[]);
    }
}

/// The built-in storage: the Storj section's account, then its buckets and keys with the
/// docs' bodies.
fn built_in_storage(c: &mut Contract<'_>, upload: &std::path::Path) {
    let storage = c.call("POST /cloud/add_storage", &[]);
    let id = storage["id"].clone();
    let (at, bucket) = (
        ("/cloudAccountId", id.clone()),
        ("/bucketName", json!("my-new-bucket")),
    );
    c.call("POST /storage/create_bucket", &[at.clone(), bucket.clone()]);
    c.call("POST /storage/bucket_status", &[at.clone(), bucket.clone()]);
    c.call("PUT /storage/update_bucket", &[at.clone(), bucket]);
    let selected = (
        "/selectedBuckets",
        json!(["project-alpha", "my-new-bucket"]),
    );
    let key = c.call("POST /storage/create_storage_key", &[at, selected]);
    c.call("GET /storage/get_storage_key", &[]);
    p2p_transfer(c, &storage, &key, upload);
    c.call(
        "DELETE /storage/delete_storage_key",
        &[("id", key["id"].clone())],
    );
    c.call(
        "DELETE /storage/delete_bucket",
        &[
            ("cloudAccountId", id.clone()),
            ("bucketName", json!("my-new-bucket")),
        ],
    );
    // The Storj section's bucket routes, on the caller's storage.
    let storj = [("bucketName", json!("storj-bucket"))];
    c.call("POST /cloud/create_bucket", &storj);
    c.call("GET /cloud/get_bucket_info", &storj);
    c.call("GET /cloud/get_cloud_info", &[]);
    c.call("DELETE /cloud/delete_bucket", &storj);
    c.call("DELETE /cloud/delete_storage", &[("id", id)]);
    // The IDrive section, in the agent's one region.
    let regions = c.call("GET /cloud/idrive_regions", &[]);
    let code = regions[0]["code"].clone();
    let first = ("/bucketName", json!("idrive-first"));
    let idrive = c.call(
        "POST /cloud/idrive_add_storage",
        &[("/regionCode", code), first],
    );
    let id = idrive["id"].clone();
    let bucket = [
        ("cloudAccountId", id.clone()),
        ("bucketName", json!("idrive-bucket")),
    ];
    c.call("POST /cloud/idrive_create_bucket", &bucket);
    c.call("GET /cloud/idrive_get_usage", &[]);
    c.call("GET /cloud/idrive_get_daily_usage", &[]);
    c.call("DELETE /cloud/idrive_delete_bucket", &bucket);
    c.call("DELETE /cloud/idrive_delete_storage", &[("id", id)]);
}

/// Authentication and the caller's own settings, with the docs' own user.
fn authentication(c: &mut Contract<'_>) {
    let email = "user@example.com";
    // The docs' example password ("string") is shorter than the agent's minimum.
    c.call(
        "POST /authentication/signup",
        &[("/password", json!(PASSWORD))],
    );
    c.call("POST /authentication/resend_confirmation_email", &[]);
    let code = c.agent.last_mail("signup-confirmation", email).token;
    c.call(
        "POST /authentication/confirm_signup",
        &[("/token", json!(code))],
    );
    let login = [("/password", json!(PASSWORD)), ("/type", json!(16))];
    let session = c.call("POST /authentication/login", &login);
    c.token = session["jwtToken"].as_str().unwrap().to_string();
    c.call("GET /authentication/user", &[]);
    c.call("PUT /authentication/update_user", &[]);
    c.call("PUT /authentication/update_subscription", &[]);
    c.call("POST /authentication/forgot_password", &[]);
    let changed = "another correct horse";
    c.call(
        "POST /authentication/reset_password",
        &[
            ("/currentPassword", json!(PASSWORD)),
            ("/password", json!(changed)),
        ],
    );
    let login = [("/password", json!(changed)), ("/type", json!(16))];
    c.token = c.call("POST /authentication/login", &login)["jwtToken"]
        .as_str()
        .unwrap()
        .to_string();

    // MFA: a secret, a code from it, a challenged login answered with the next code.
    identity::away_from_step_boundary();
    let secret = c.call("POST /user/generate_mfa_token", &[]);
    let secret = secret.as_str().unwrap().to_string();
    let now_code = identity::code(&secret, 0);
    c.call("POST /user/set_mfa", &[("/userCode", json!(now_code))]);
    let challenge = c.call("POST /authentication/login", &login);
    let set = [
        ("/userCode", json!(identity::code(&secret, 1))),
        ("/session", challenge["session"].clone()),
    ];
    let answered = c.call("POST /authentication/mfa_respond", &set);
    c.token = answered["jwtToken"].as_str().unwrap().to_string();

    // Google: the docs' body carries an ID token from Google; the test key stands in.
    let google = identity::id_token(
        "google-test-key.pem",
        identity::claims("g-1", "gina@example.com"),
    );
    let saved = std::mem::take(&mut c.token);
    c.call(
        "POST /authentication/google_signup",
        &[("/idToken", json!(google))],
    );
    // "Same as Google Sign Up": the body is the same shape.
    let google_login = c.call(
        "POST /authentication/google_login",
        &[("/", json!({"idToken": google}))],
    );
    c.call(
        "POST /authentication/logout",
        &[("/jwtToken", google_login.clone())],
    );
    c.token = saved;
}

/// The directory, permissions, tokens, log settings, cloud accounts, storage and transfers
/// of the docs' user's account, then their removal.
fn directory_and_cloud(
    c: &mut Contract<'_>,
    s3: &S3Server,
    upload: &std::path::Path,
    downloads: &std::path::Path,
) {
    // Agent status and commands.
    c.call("GET /management/agent_status", &[]);
    c.call("POST /management/command/{cmd}", &[("cmd", json!(0))]);
    c.call("POST /management/notify", &[]);

    // Users: the docs' example invitee is the docs' signed-up user; invite another.
    let invite = [
        ("/username", json!("jane.doe@example.com")),
        ("/email", json!("jane.doe@example.com")),
    ];
    let member = c.call("POST /user/insert_user", &invite);
    c.set("userId", id(&member));
    let mut edited = member.clone();
    edited["firstname"] = json!("Janet");
    c.call("PUT /user/edit_user", &[("/", edited)]);
    // "A `User` object identifying the recipient".
    c.call("POST /user/resend_user_email", &[("/", member.clone())]);
    c.call("GET /user/package_inquiry", &[]);

    // Cloud account on the real S3 server; the docs' example is AWS.
    let stored = c.call(
        "POST /cloud/insert_account",
        &[
            ("/cloudType", json!(8)),
            ("/endpoint", json!(s3.endpoint())),
            ("/accessKey", json!(click_blackbox::s3::ACCESS_KEY)),
            ("/secretKey", json!(click_blackbox::s3::SECRET_KEY)),
        ],
    );
    c.set("cloudAccountId", id(&stored));
    c.call("GET /cloud/accounts", &[]);
    let account = c.call("GET /cloud/account", &[("id", id(&stored))]);
    let mut shared = account.clone();
    shared["shared"] = json!(true);
    c.call("PUT /cloud/manage_share", &[("/", shared)]);
    c.call("POST /cloud/list_buckets", &[("/", account.clone())]);

    // Named records.
    let group = c.call("POST /usergroup/insert", &[]);
    c.set("userGroupId", id(&group));
    c.call("PUT /usergroup/update", &[("/id", id(&group))]);
    let project = c.call("POST /projects/insert", &[]);
    c.set("projectId", id(&project));
    c.call("PUT /projects/update", &[("/id", id(&project))]);
    let drive = c.call("POST /sharedclouddrive/insert", &[]);
    c.set("sharedCloudDriveId", id(&drive));
    c.set("sharedCloudDrive", id(&drive));
    // "A `SharedCloudDrive` object including its `id`": what insert returned, changed.
    let mut changed = drive.clone();
    changed["allowDelete"] = json!(true);
    c.call("PUT /sharedclouddrive/update", &[("/", changed)]);

    // Relations, each as its doc's body with real ids.
    c.call("POST /usergroup/assign_users", &[]);
    c.call(
        "POST /usergroup/import_users",
        &[
            ("/0/user/username", json!("jane.doe@example.com")),
            ("/0/userGroups/0/id", id(&group)),
        ],
    );
    c.call("POST /projects/assign_sharedclouddrive", &[]);
    for route in [
        "users_project_permission",
        "usergroups_project_permission",
        "users_sharedclouddrive_permision",
        "usergroup_sharedclouddrive_permission",
    ] {
        c.call(&format!("POST /userspermission/{route}"), &[]);
    }

    // Every listing, each with its documented parameters.
    for route in [
        "GET /user/get_all_users",
        "GET /user/get_all_users_with_details",
        "GET /usergroup/get_all",
        "GET /usergroup/get_all_with_details",
        "GET /usergroup/get_assigned_users",
        "GET /usergroup/get_assigned_usergroups",
        "GET /projects/get_all",
        "GET /projects/get_all_with_details",
        "GET /projects/get_assigned_sharedclouddrives",
        "GET /projects/get_assigned_projects",
        "GET /sharedclouddrive/get_all",
        "GET /sharedclouddrive/get_all_with_details",
        "GET /userspermission/get_users_assigned_to_project",
        "GET /userspermission/get_projects_assigned_to_user",
        "GET /userspermission/get_usergroups_assigned_to_project",
        "GET /userspermission/get_projects_assigned_to_usergroup",
        "GET /userspermission/get_users_assigned_to_sharedclouddrive",
        "GET /userspermission/get_sharedclouddrive_assigned_to_user",
        "GET /userspermission/get_usergroups_assigned_to_sharedclouddrive",
        "GET /userspermission/get_sharedclouddrive_assigned_to_usergroup",
    ] {
        c.call(route, &[]);
    }

    // Permission edits and removals name the assignment by the id its listing gave.
    for (listing, route) in [
        ("get_users_assigned_to_project", "users_project_permission"),
        (
            "get_usergroups_assigned_to_project",
            "usergroups_project_permission",
        ),
        (
            "get_users_assigned_to_sharedclouddrive",
            "users_sharedclouddrive_permision",
        ),
        (
            "get_usergroups_assigned_to_sharedclouddrive",
            "usergroup_sharedclouddrive_permission",
        ),
    ] {
        let page = c.call(&format!("GET /userspermission/{listing}"), &[]);
        let assignment = page["data"][0]["id"].clone();
        let mut edit = page["data"][0]["permission"].clone();
        edit["permissionType"] = json!(1);
        c.call(
            &format!("PUT /userspermission/{route}"),
            &[("/", json!([edit]))],
        );
        c.call(
            &format!("DELETE /userspermission/{route}"),
            &[("id", assignment)],
        );
    }
    let page = c.call("GET /projects/get_assigned_projects", &[]);
    let assignment = page["data"][0]["projectSharedCloudDrive"]["id"].clone();
    c.call(
        "DELETE /projects/unassign_sharedclouddrive",
        &[("id", assignment)],
    );
    let page = c.call("GET /usergroup/get_assigned_users", &[]);
    c.call(
        "DELETE /usergroup/unassign_user",
        &[("id", page["data"][0]["id"].clone())],
    );

    storage_and_transfers(c, upload, downloads);
    cloud_drives(c, s3);
    cloud_backups(c, downloads);
    local_folders(c, downloads);

    // Tokens and log settings.
    let token = c.call("POST /apitoken/insert", &[]);
    c.call("GET /apitoken/get_all", &[]);
    c.call("DELETE /apitoken/delete", &[("id", id(&token))]);
    let setting = c.call("POST /accountlogsetting/setup", &[]);
    c.call("GET /accountlogsetting/get", &[]);
    let mut changed = setting.clone();
    changed["active"] = json!(false);
    c.call("PUT /accountlogsetting/update", &[("/", changed)]);
    c.call("DELETE /accountlogsetting/delete", &[]);

    fastr_settings(c);
    cloud_to_cloud(c, s3);
    server_transfer(c, s3);

    // Removal, dependants first.
    c.call("DELETE /sharedclouddrive/delete", &[("id", id(&drive))]);
    c.call("DELETE /projects/delete", &[("id", id(&project))]);
    c.call("DELETE /usergroup/delete", &[("id", id(&group))]);
    c.call("DELETE /user/delete_user", &[("id", id(&member))]);
    c.call("DELETE /cloud/delete", &[("id", id(&stored))]);
}

/// A cloud-to-cloud transfer of the docs' example shape, between two buckets of the stored
/// cloud account; then one of a path that holds nothing (it fails), cancelled; both in the
/// transfer history, and the failed one's record deleted.
fn cloud_to_cloud(c: &mut Contract<'_>, s3: &S3Server) {
    s3.put("source-bucket", "folder/file.mov", b"a movie");
    s3.bucket("destination-bucket");
    let account = c.world["cloudAccountId"].clone();
    let ends = [
        ("/sourceCloudAccountId", account.clone()),
        ("/destinationCloudAccountId", account.clone()),
    ];
    let queued = c.call("POST /transfer/transfer", &ends);
    let done = |c: &Contract<'_>, id: &Value, status: u64| {
        click_blackbox::wait_until("the transfer", std::time::Duration::from_secs(30), || {
            let page = c
                .agent
                .get("/transfer/get_all")
                .token(&c.token)
                .send()
                .expect(200)
                .json();
            let all = page["data"].as_array().cloned().unwrap_or_default();
            all.iter()
                .any(|t| t["id"] == *id && t["transferStatus"] == status)
        });
    };
    done(c, &queued["id"], 4);
    let copied = std::fs::read(s3.path("destination-bucket", "archive/folder/file.mov"));
    assert_eq!(copied.unwrap(), b"a movie");
    c.call("GET /transfer/get_all", &[]);
    let mut nothing = ends.to_vec();
    nothing.push(("/sourcePath", json!("nothing/here.mov")));
    let failing = c.call("POST /transfer/transfer", &nothing);
    done(c, &failing["id"], 16);
    c.call(
        "POST /transfer/cancel_transfer",
        &[("/id", failing["id"].clone())],
    );
    let history = c.call("GET /transferhistory/get_all", &[]);
    let ended = |id: &Value| {
        history["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == *id)
    };
    assert!(
        ended(&queued["id"]) && ended(&failing["id"]),
        "both in the history: {history}"
    );
    c.call(
        "DELETE /transferhistory/delete",
        &[("id", failing["id"].clone())],
    );
}

/// A P2P transfer of the docs' body within the agent's own storage (it is source, target
/// and orchestrator at once); then its status, the list, and the documented 400s for
/// pausing, resuming and cancelling it once completed.
fn p2p_transfer(c: &mut Contract<'_>, storage: &Value, key: &Value, upload: &std::path::Path) {
    let cloud = json!({"id": storage["id"], "cloudType": 8});
    let up = json!({"cloudAccount": cloud, "storageName": "project-alpha",
        "uploadPath": "files", "localFilePath": upload.display().to_string()});
    let r = c
        .agent
        .post("/cloud/upload_object", up)
        .token(&c.token)
        .send()
        .expect(200);
    let uploaded = r.json()["transferId"].as_str().unwrap().to_string();
    click_blackbox::wait_for_transfer(c.agent, &c.token, &uploaded, "completed");
    let endpoint = storage["endpoint"].clone();
    let set = [
        ("/sourceAccount/serviceUrl", endpoint.clone()),
        ("/sourceAccount/accessKey", key["accessKey"].clone()),
        ("/sourceAccount/secretKey", key["secretKey"].clone()),
        ("/targetAccount/id", storage["id"].clone()),
        ("/targetServerUrl", endpoint),
        ("/sourceBucket", json!("project-alpha")),
        ("/sourcePath", json!("files/file.bin")),
        ("/targetBucket", json!("project-alpha")),
    ];
    let queued = c.call("POST /cloud/p2p_transfer/initiate", &set);
    let id = ("transferId", queued["transferId"].clone());
    let path = format!("/cloud/p2p_transfer/{}/status", id.1.as_str().unwrap());
    click_blackbox::wait_until(
        "the P2P transfer",
        std::time::Duration::from_secs(30),
        || c.agent.get(&path).token(&c.token).send().expect(200).json()["status"] == "completed",
    );
    c.call(
        "GET /cloud/p2p_transfer/{transferId}/status",
        std::slice::from_ref(&id),
    );
    c.call("GET /cloud/p2p_transfer/all", &[]);
    for action in ["pause", "resume", "cancel"] {
        let route = format!("POST /cloud/p2p_transfer/{{transferId}}/{action}");
        c.call_expecting(&route, 400, std::slice::from_ref(&id));
    }
}

/// A server transfer of the docs' body between two buckets of one S3 server, both sides
/// through the stored cloud account; then its status, the list, and the documented 400 for
/// cancelling it once completed.
fn server_transfer(c: &mut Contract<'_>, s3: &S3Server) {
    s3.put("bucket-a", "files/video.mp4", b"a video");
    s3.bucket("bucket-b");
    let account = c.world["cloudAccountId"].clone();
    let set = [
        ("/sourceServerUrl", json!(s3.endpoint())),
        ("/targetServerUrl", json!(s3.endpoint())),
        ("/sourceAccountId", account.clone()),
        ("/targetAccountId", account),
    ];
    let queued = c.call_expecting("POST /cloud/server_transfer/initiate", 202, &set);
    let id = ("transferId", queued["transferId"].clone());
    click_blackbox::wait_until(
        "the server transfer",
        std::time::Duration::from_secs(30),
        || {
            let path = format!("/cloud/server_transfer/{}/status", id.1.as_str().unwrap());
            c.agent.get(&path).token(&c.token).send().expect(200).json()["status"] == "completed"
        },
    );
    let copied = std::fs::read(s3.path("bucket-b", "files/video.mp4"));
    assert_eq!(copied.unwrap(), b"a video");
    c.call(
        "GET /cloud/server_transfer/{transferId}/status",
        std::slice::from_ref(&id),
    );
    c.call("GET /cloud/server_transfer/all", &[]);
    c.call_expecting("DELETE /cloud/server_transfer/{transferId}", 400, &[id]);
}

/// The caller's own FastrSettings, then the member's through the admin routes, on the
/// shared cloud account.
fn fastr_settings(c: &mut Contract<'_>) {
    let (account, member) = (c.world["cloudAccountId"].clone(), c.world["userId"].clone());
    let own = c.call(
        "POST /fastrsettings/insert",
        &[("/CloudAccountId", account.clone())],
    );
    c.call("GET /fastrsettings/get_all", &[]);
    c.call(
        "GET /fastrsettings/get_by_cloud_account/{cloudAccountId}",
        &[],
    );
    let mut changed = own.clone();
    changed["maxUploadBytesPerSecond"] = json!(50_000_000);
    c.call("PUT /fastrsettings/update", &[("/", changed)]);
    // "Same body as Insert", for the member.
    let mut body = c
        .endpoint("click-api", "POST /fastrsettings/insert")
        .body
        .clone()
        .unwrap();
    body["CloudAccountId"] = account;
    body["UserId"] = member;
    let theirs = c.call("POST /fastrsettings/insert_for_user", &[("/", body)]);
    c.call("GET /fastrsettings/get_all/{userId}", &[]);
    let mut changed = theirs.clone();
    changed["fileExistsAction"] = json!(2);
    c.call("PUT /fastrsettings/update_for_user", &[("/", changed)]);
    c.call("DELETE /fastrsettings/delete", &[("id", id(&own))]);
    c.call(
        "DELETE /fastrsettings/delete_for_user",
        &[("id", id(&theirs))],
    );
}

fn storage_and_transfers(
    c: &mut Contract<'_>,
    upload: &std::path::Path,
    downloads: &std::path::Path,
) {
    let account = c.world["cloudAccountId"].clone();
    c.call(
        "POST /cloud/list_objects",
        &[("/account/id", account.clone())],
    );
    c.call(
        "POST /cloud/generate_download_url",
        &[("/cloudAccount/id", account.clone())],
    );
    c.call(
        "POST /cloud/generate_upload_url",
        &[("/cloudAccount/id", account.clone())],
    );
    c.call("POST /cloud/send_download_url", &[]);
    c.call(
        "POST /cloud/create_folder",
        &[("/cloudAccount/id", account.clone())],
    );
    let cloud = [
        ("/cloudAccount/id", account.clone()),
        ("/cloudAccount/cloudType", json!(8)),
    ];
    let mut set = cloud.to_vec();
    set.push(("/localFilePath", json!(upload.display().to_string())));
    let up = c.call("POST /cloud/upload_object", &set);
    let transfer = up["transferId"].clone();
    c.set("transferId", transfer.clone());
    click_blackbox::wait_for_transfer(c.agent, &c.token, transfer.as_str().unwrap(), "completed");
    let mut set = cloud.to_vec();
    set.push(("/downloadPath", json!(downloads.display().to_string())));
    let down = c.call("POST /cloud/download_object", &set);
    let id = down["transferId"].as_str().unwrap().to_string();
    click_blackbox::wait_for_transfer(c.agent, &c.token, &id, "completed");
    let form = [
        (
            "cloudAccountJson",
            json!(json!({"id": account, "cloudType": 8}).to_string()),
        ),
        ("storageName", json!("my-bucket")),
        ("uploadPath", json!("from-form")),
        ("file", json!("form bytes")),
    ];
    c.call("POST /cloud/upload_object_from_form", &form);
    c.call("GET /cloud/client_transfer/all", &[]);
    c.call("GET /cloud/client_transfer/{transferId}/status", &[]);
    // A finished transfer cannot be paused, resumed or cancelled: the documented 400s.
    for action in ["pause", "resume", "cancel"] {
        c.call_expecting(
            &format!("POST /cloud/client_transfer/{{transferId}}/{action}"),
            400,
            &[],
        );
    }
    c.call(
        "POST /cloud/delete_object",
        &[("/cloudAccount/id", account)],
    );
}

/// The local-folder routes, in the agent's one root.
fn local_folders(c: &mut Contract<'_>, root: &std::path::Path) {
    let root = json!(root.display().to_string());
    c.call("GET /management/list_drives", &[]);
    c.call("GET /management/list_available_drives", &[]);
    c.call(
        "POST /management/make_directory",
        &[("/path", root.clone())],
    );
    c.call(
        "GET /management/list_directories",
        &[("path", root.clone())],
    );
    c.call("GET /management/list_files_directories", &[("path", root)]);
}

/// Cloud drives and their objects, on the docs' `my-bucket` (it holds `photos/file.jpg`).
fn cloud_drives(c: &mut Contract<'_>, s3: &S3Server) {
    // Storage Operations deleted the docs' photo; the drive shows it again.
    s3.put("my-bucket", "photos/file.jpg", b"a photo");
    let account = c.world["cloudAccountId"].clone();
    let drive = c.call("POST /management/clouddrive", &[("/account/id", account)]);
    let drive_id = id(&drive);
    let root = drive["localPath"].as_str().unwrap().to_string();
    let file = json!(format!("{root}/photos/file.jpg"));
    let folder = json!(format!("{root}/photos"));
    c.call("GET /management/clouddrive", &[]);
    c.call("GET /management/clouddrive", &[("path", file.clone())]);
    c.call(
        "GET /management/exist_clouddrive",
        &[("path", file.clone())],
    );
    let mut changed = drive.clone();
    changed["syncIntervalSeconds"] = json!(120);
    c.call(
        "PUT /management/clouddrive/{id}",
        &[("id", drive_id.clone()), ("/", changed)],
    );
    let cache = json!({"maximumCacheSize": 1_073_741_824u64, "rotationalCache": true});
    c.call(
        "PUT /management/clouddrive_change_cache/{id}",
        &[("id", drive_id.clone()), ("/", cache)],
    );
    c.call(
        "GET /management/clouddrive/sync/{id}",
        &[("id", drive_id.clone())],
    );
    c.call("POST /management/sync_shareddrive", &[]);
    c.call("GET /management/object_status", &[("path", file.clone())]);
    c.call("GET /management/object_info", &[("path", file.clone())]);
    c.call("GET /management/objects_info", &[("path", folder.clone())]);
    c.call(
        "GET /management/get_object_stream",
        &[
            ("path", file.clone()),
            ("start", json!(2)),
            ("end", json!(6)),
        ],
    );
    let presign = [
        ("/driveName", drive["name"].clone()),
        ("/relativePath", json!("photos/file.jpg")),
        ("/uploadKey", json!("photos/new.jpg")),
    ];
    c.call("POST /management/generate_presigned_urls", &presign);
    c.call(
        "GET /management/get_directory_rename_status",
        &[("path", folder)],
    );
    // The drive is mounted once the agent has applied it; its cached data then follows the
    // commands (evicting what is not cached yet is no error; a pin hydrates in the
    // background; a delete goes through the mount).
    let mounted = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let probe = format!(
        "/management/object_remove_from_cache?path={}",
        click_blackbox::encode(file.as_str().unwrap())
    );
    // Settled: the drive answers several times in a row (the updates above remount it).
    let mut answered = 0;
    while answered < 3 {
        let r = c.agent.post(&probe, json!({})).token(&c.token).send();
        answered = if r.status == 200 { answered + 1 } else { 0 };
        assert!(
            std::time::Instant::now() < mounted,
            "the drive was not mounted: {}",
            r.text()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    for route in [
        "POST /management/object_remove_from_cache",
        "GET /management/object_download",
        "POST /management/read_object",
        "GET /management/object_make_offline",
        "POST /management/object_remove_offline",
    ] {
        c.call(route, &[("path", file.clone())]);
    }
    // The reports, once the object routes have given the journal a file to count and the
    // history a file moved (the pin above fetches in the background).
    let activity = format!("/drivereport/transfer_activity/{}", text(&drive_id));
    click_blackbox::wait_until(
        "a file moved by the drive",
        std::time::Duration::from_secs(20),
        || {
            let r = c
                .agent
                .get(&activity)
                .token(&c.token)
                .send()
                .expect(200)
                .json();
            r["Data"].as_array().is_some_and(|d| !d.is_empty())
        },
    );
    for route in [
        "GET /drivereport/summary/{driveId}",
        "GET /drivereport/sync_health/{driveId}",
        "GET /drivereport/transfer_activity/{driveId}",
        "GET /drivereport/historical_trends/{driveId}",
        "GET /drivereport/file_states/{driveId}",
        "GET /drivereport/file_distribution/{driveId}",
        "GET /drivereport/dashboard/{driveId}",
    ] {
        c.call(route, &[("driveId", drive_id.clone())]);
    }
    c.call("POST /management/object_delete", &[("path", file.clone())]);
    // Without a desktop session there is nothing to open the folder in: a clear 499.
    c.call_expecting(
        "POST /management/clouddrive_open/{id}",
        499,
        &[("id", drive_id.clone())],
    );
    c.call("DELETE /management/clouddrive/{id}", &[("id", drive_id)]);
}

/// Cloud backups of a folder in the agent's one root (the docs' own folder is elsewhere).
fn cloud_backups(c: &mut Contract<'_>, root: &std::path::Path) {
    let folder = root.join("Pictures");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("holiday.jpg"), b"a photo").unwrap();
    let account = c.world["cloudAccountId"].clone();
    let backup = c.call(
        "POST /management/cloudbackup",
        &[
            ("/account/id", account),
            ("/localPath", json!(folder.display().to_string())),
        ],
    );
    let backup_id = id(&backup);
    c.call("GET /management/cloudbackup", &[]);
    // The reports list files once the backup has run.
    let summary = format!("/backupreport/summary/{}", backup_id.as_str().unwrap());
    let ran = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while c.agent.get(&summary).token(&c.token).send().json()["TotalFiles"] != 1 {
        assert!(std::time::Instant::now() < ran, "the backup did not run");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    c.call(
        "GET /backupreport/summary/{backupId}",
        &[("backupId", backup_id.clone())],
    );
    for route in [
        "GET /backupreport/sync_health/{backupId}",
        "GET /backupreport/transfer_activity/{backupId}",
        "GET /backupreport/historical_trends/{backupId}",
        "GET /backupreport/file_states/{backupId}",
        "GET /backupreport/file_distribution/{backupId}",
        "GET /backupreport/dashboard/{backupId}",
    ] {
        c.call(route, &[("backupId", backup_id.clone())]);
    }
    let mut changed = backup.clone();
    changed["syncIntervalSeconds"] = json!(120);
    c.call(
        "PUT /management/cloudbackup/{id}",
        &[("id", backup_id.clone()), ("/", changed)],
    );
    // Without a desktop session there is nothing to open the folder in: a clear 499.
    c.call_expecting(
        "POST /management/cloudbackup_open/{id}",
        499,
        &[("id", backup_id.clone())],
    );
    c.call("DELETE /management/cloudbackup/{id}", &[("id", backup_id)]);
}

/// The generator itself: every route of endpoints.tsv is found in the pages, with its method.
#[test]
fn the_pages_document_every_route_of_the_endpoint_list() {
    let pages: BTreeSet<String> = docs::endpoints_of("click-api")
        .iter()
        .map(|e| key(&e.method, &e.path))
        .collect();
    let listed = docs::endpoints();
    let missing: Vec<String> = listed
        .iter()
        .map(|[_, _, method, route, _]| key(method, route))
        .filter(|k| !pages.contains(k))
        .collect();
    assert!(missing.is_empty(), "{missing:?}");
    assert_eq!(
        pages.len(),
        listed.len(),
        "{} endpoints in the pages",
        pages.len()
    );
}

/// The checker itself fails on what it is there to catch.
#[test]
fn the_checker_reports_missing_fields_wrong_types_and_flattened_nesting() {
    let mut c = Checker::default();
    let doc =
        json!({"data": [{"projectSharedCloudDrive": {"id": "string (uuid)"}}], "total": "integer"});
    let flattened = json!({"data": [{"id": "x", "projectId": "p"}], "total": 1});
    c.check("flat", &doc, &flattened, "");
    let typed = json!({"data": [{"projectSharedCloudDrive": {"id": 7}}], "total": "1"});
    c.check("types", &doc, &typed, "");
    let good = json!({"data": [{"projectSharedCloudDrive": {"id": "x"}}], "total": 1});
    c.check("good", &doc, &good, "");
    assert_eq!(
        c.problems,
        [
            "flat: /data/0/projectSharedCloudDrive is missing",
            "types: /data/0/projectSharedCloudDrive/id should be like \"string (uuid)\", is 7",
            "types: /total should be like \"integer\", is \"1\"",
        ]
    );
}
