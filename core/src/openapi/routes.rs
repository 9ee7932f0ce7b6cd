//! Every route's contract: one arm per [`Handler`], with no catch-all, so a route cannot be
//! added without saying what it takes and gives. Parameter names are the docs' own (the
//! handlers read them under these names); body and answer types are the ones the handlers
//! parse and serialize (`Ctx::body` checks the body type in debug builds).

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use serde_json::{Map, Value, json};

use super::contract::{
    Contract, Kind, MakeSchema, Param, optional, page_of, required, route, schema_of, with_arrays,
};
use crate::controllers as c;
use crate::directory::entities::{self, Entity, EntityInput};
use crate::directory::relations::{self, RelationKind};
use crate::routes::Handler;
#[cfg(feature = "cloud")]
use {
    crate::cloud::account::CloudAccountDto,
    crate::controllers::cloud::p2p_transfer as cp,
    crate::controllers::cloud::storage as cs,
    crate::controllers::cloud::transfers as ct,
    crate::controllers::fastrsettings as fs,
    crate::controllers::storage as st,
    crate::drives::backup::BackupView,
    crate::drives::drive::{CloudDrive, DriveInput},
    crate::drives::report as rp,
    crate::share_mounts::ShareView,
    crate::transfers::history::Detail,
    crate::transfers::peer::ServerTransferStatus,
};

const ID: Param = required("id");
const NAME: Param = optional("name", Kind::Text);
#[cfg(feature = "cloud")]
const PATH: Param = required("path");
#[cfg(feature = "cloud")]
const BUCKET: Param = required("bucketName");

/// A page of directory records (user groups, projects), filtered by `name`.
fn entities(gives: MakeSchema) -> Contract {
    route()
        .paged(&entities::SORT_FIELDS)
        .query(&[NAME])
        .gives_schema(page_of(gives))
}

/// A relation as its routes take and list it: the two ids by their field names (and the
/// permission of permission pairs).
fn relation_schema(kind: &'static RelationKind) -> Value {
    let mut properties = Map::new();
    properties.insert("id".into(), json!({"type": "string"}));
    properties.insert(kind.left.id_field().into(), json!({"type": "string"}));
    properties.insert(kind.right.id_field().into(), json!({"type": "string"}));
    if kind.permission {
        properties.insert(
            "permissionType".into(),
            json!({"type": "integer", "description": "1 Read, 2 ReadWrite"}),
        );
    }
    json!({"type": "object", "properties": properties})
}

/// The assignments of one record (`id_param`), filtered on the other side by `filter`.
fn assigned(
    kind: &'static RelationKind,
    on: relations::Side,
    id_params: &'static [&'static str],
    filter: &'static str,
) -> Contract {
    let other = if on == kind.left {
        kind.right
    } else {
        kind.left
    };
    let row = move |_: &mut schemars::SchemaGenerator| {
        let mut schema = relation_schema(kind);
        let extra = [
            (on.object_field(), json!({"type": "object"})),
            (other.object_field(), json!({"type": "object"})),
            (kind.dto_field, relation_schema(kind)),
        ];
        if let Some(p) = schema["properties"].as_object_mut() {
            for (field, s) in extra {
                p.insert(field.into(), s);
            }
            if kind.permission {
                p.insert("permission".into(), relation_schema(kind));
            }
        }
        schemars::Schema::try_from(schema).unwrap_or_default()
    };
    // The documented name first; the aliases its handler also reads are extensions.
    let (documented, aliases) = id_params.split_first().expect("a name");
    let aliases: Vec<Param> = aliases.iter().map(|a| optional(a, Kind::Text)).collect();
    route()
        .query(&[required(documented), optional(filter, Kind::Text)])
        .query(&aliases)
        .paged(other.sort_fields())
        .gives_schema(page_of(Box::new(row)))
}

/// Assigns (or changes the permission of) the pairs of the body, all or none.
fn assign(kind: &'static RelationKind) -> Contract {
    let mut c = route();
    c.takes = super::contract::Takes::Json(
        "[relation]",
        Box::new(move |_| {
            let items = relation_schema(kind);
            schemars::Schema::try_from(json!({"type": "array", "items": items})).unwrap_or_default()
        }),
    );
    c
}

fn unassign() -> Contract {
    route().query(&[ID])
}

/// A record of the directory with related records inlined under `fields`.
fn with_details(base: MakeSchema, fields: &'static [&'static str]) -> Contract {
    route()
        .paged(&entities::SORT_FIELDS)
        .query(&[NAME])
        .gives_schema(page_of(with_arrays(base, fields)))
}

/// A shared cloud drive on the wire: the record, its own fields, its creator and the cloud
/// account it points at (`directory::drives::to_wire`).
fn drive() -> MakeSchema {
    Box::new(|g| {
        let entity = g.subschema_for::<Entity>();
        let (mut properties, _) = crate::directory::drives::fields_schema();
        properties.insert("creatorUserId".into(), json!({"type": "string"}));
        properties.insert("cloudAccount".into(), json!({"type": ["object", "null"]}));
        let own = json!({"type": "object", "properties": properties});
        schemars::json_schema!({"allOf": [entity, own]})
    })
}

/// An insert or update of a shared cloud drive: a record's fields and the drive's own.
fn drive_input(inserting: bool) -> Contract {
    let mut c = route().takes::<EntityInput>();
    if let super::contract::Takes::Json(name, _) = c.takes {
        c.takes = super::contract::Takes::Json(
            name,
            Box::new(move |g| {
                let input = g.subschema_for::<EntityInput>();
                let (properties, required) = crate::directory::drives::fields_schema();
                let required = if inserting { required } else { Vec::new() };
                let own = json!({"type": "object", "properties": properties, "required": required});
                schemars::json_schema!({"allOf": [input, own]})
            }),
        );
    }
    c.gives_schema(drive())
}

/// A report route: a 404 for an unknown backup or drive id, as the pages document.
#[cfg(feature = "cloud")]
fn report() -> Contract {
    route().refuses(404)
}

#[cfg(feature = "cloud")]
const BACKUP_ID: &str = "BackupId";
#[cfg(feature = "cloud")]
const DRIVE_ID: &str = "DriveId";

/// A report body after its `BackupId` or `DriveId` (`controllers::reports::with_id`).
#[cfg(feature = "cloud")]
fn with_id<T: schemars::JsonSchema>(id_name: &'static str) -> MakeSchema {
    Box::new(move |g| {
        let body = g.subschema_for::<T>();
        let id = json!({"type": "object", "properties": {id_name: {"type": "string"}},
            "required": [id_name]});
        schemars::json_schema!({"allOf": [id, body]})
    })
}

#[cfg(feature = "cloud")]
fn file_states(id_name: &'static str) -> Contract {
    report()
        .query(&[
            optional("state", Kind::Integer),
            optional("page", Kind::Integer),
            optional("pageSize", Kind::Integer),
        ])
        .gives_schema(with_id::<crate::drives::contents::FileStates>(id_name))
}

#[cfg(feature = "cloud")]
const TOP: [Param; 2] = [
    optional("topFiles", Kind::Integer),
    optional("topDirectories", Kind::Integer),
];

#[cfg(feature = "cloud")]
fn distribution(id_name: &'static str) -> Contract {
    report()
        .query(&TOP)
        .gives_schema(with_id::<crate::drives::contents::Distribution>(id_name))
}

#[cfg(feature = "cloud")]
fn activity(id_name: &'static str) -> Contract {
    report()
        .query(&[
            optional("status", Kind::Integer),
            optional("page", Kind::Integer),
            optional("pageSize", Kind::Integer),
        ])
        .gives_schema(with_id::<crate::drives::activity::ActivityPage<'static>>(
            id_name,
        ))
}

#[cfg(feature = "cloud")]
fn trends(id_name: &'static str) -> Contract {
    report()
        .query(&[optional("days", Kind::Integer)])
        .gives_schema(with_id::<crate::drives::activity::Trends>(id_name))
}

/// The summary, the sync health and the file distribution in one answer.
#[cfg(feature = "cloud")]
fn dashboard<S: schemars::JsonSchema, H: schemars::JsonSchema>(id_name: &'static str) -> Contract {
    let distribution = with_id::<crate::drives::contents::Distribution>(id_name);
    report().query(&TOP).gives_schema(Box::new(move |g| {
        let summary = g.subschema_for::<S>();
        let health = g.subschema_for::<H>();
        let distribution = distribution(g);
        schemars::json_schema!({"type": "object", "properties": {
            "Summary": summary, "SyncHealth": health, "FileDistribution": distribution},
            "required": ["Summary", "SyncHealth", "FileDistribution"]})
    }))
}

/// The contract of `handler`'s route.
pub(crate) fn contract(handler: Handler) -> Contract {
    use Handler as H;
    use c::authentication as auth;
    match handler {
        // Authentication
        H::Login => route()
            .takes::<auth::login::LoginRequest>()
            .gives::<auth::LoginResponse>(),
        H::Logout => route().takes::<auth::login::LogoutRequest>(),
        H::MfaRespond => route()
            .takes::<auth::login::MfaRespondRequest>()
            .gives::<auth::LoginResponse>(),
        H::ForgotPassword => route().takes::<auth::password::UsernameRequest>(),
        H::Signup => route().takes::<auth::signup::SignupRequest>(),
        H::ConfirmSignup => route()
            .takes::<auth::signup::ConfirmSignupRequest>()
            .gives::<bool>(),
        H::ResendConfirmation => route().takes::<auth::signup::EmailRequest>(),
        H::GoogleSignup | H::GoogleLogin => route()
            .takes::<auth::google::GoogleRequest>()
            .gives::<String>(),
        H::GetUser => route().gives::<auth::profile::Profile>(),
        H::UpdateUser => route()
            .takes::<auth::profile::UpdateUserRequest>()
            .gives::<auth::profile::Profile>(),
        H::UpdateSubscription => route().takes::<auth::profile::UpdateSubscriptionRequest>(),
        H::ResetPassword => route().takes::<auth::password::ResetPasswordRequest>(),
        // User
        H::GetAllUsers => users().gives_schema(page_of(schema_of::<crate::model::UserDto>())),
        H::GetAllUsersWithDetails => {
            users().gives_schema(page_of(schema_of::<c::user::UserWithDetails>()))
        }
        H::InsertUser => route()
            .takes::<c::user::InsertUserRequest>()
            .gives::<crate::model::UserDto>(),
        H::EditUser => route()
            .takes::<c::user::EditUserRequest>()
            .gives::<crate::model::UserDto>(),
        H::DeleteUser => route().query(&[ID]),
        H::ResendUserEmail => route().takes::<c::user::UserRef>(),
        H::PackageInquiry => route().gives::<c::user::PackageInquiry>(),
        H::SetMfa => route().takes::<c::user::SetMfaRequest>(),
        H::GenerateMfaToken => route().gives::<String>(),
        // UserGroup
        H::GroupsGetAll => entities(schema_of::<Entity>()),
        H::GroupsGetAllWithDetails => with_details(
            schema_of::<Entity>(),
            &["users", "projects", "sharedCloudDrives"],
        ),
        H::GroupsInsert | H::GroupsUpdate | H::ProjectsInsert | H::ProjectsUpdate => {
            route().takes::<EntityInput>().gives::<Entity>()
        }
        H::GroupsDelete | H::ProjectsDelete | H::DriveDelete => route().query(&[ID]),
        H::GroupsAssignedUsers => assigned(
            &relations::GROUP_MEMBERS,
            relations::Side::UserGroup,
            &["userGroupId"],
            "username",
        ),
        H::GroupsAssignedGroups => assigned(
            &relations::GROUP_MEMBERS,
            relations::Side::User,
            &["userId"],
            "name",
        ),
        H::GroupsAssignUsers => assign(&relations::GROUP_MEMBERS),
        H::GroupsUnassignUser => unassign(),
        H::GroupsImportUsers => route().takes::<Vec<c::usergroup::Relation>>(),
        // SSO
        #[cfg(feature = "sso")]
        H::SsoUrl | H::SsoUrlImportUser => route()
            .takes::<c::sso::UrlRequest>()
            .gives::<c::sso::UrlResponse>(),
        #[cfg(feature = "sso")]
        H::SsoAuthenticate => route()
            .takes::<c::sso::sign_in::AuthenticateRequest>()
            .gives::<String>(),
        #[cfg(feature = "sso")]
        H::SsoSamlAcs => route()
            .url_encoded(&["SAMLResponse", "RelayState"])
            .redirect(),
        #[cfg(feature = "sso")]
        H::SsoUserGroups => route()
            .query(&[
                optional("authorizationCode", Kind::Text),
                optional("callbackUrl", Kind::Text),
            ])
            .gives::<Vec<c::sso::import::Relation>>(),
        #[cfg(feature = "sso")]
        H::SsoSetupOkta | H::SsoUpdateOkta | H::SsoSetupEntraId | H::SsoUpdateEntraId => route()
            .takes::<c::sso::setup::OidcInput>()
            .gives::<c::sso::setup::OidcDto>(),
        #[cfg(feature = "sso")]
        H::SsoGetOkta | H::SsoGetEntraId => route().gives::<Option<c::sso::setup::OidcDto>>(),
        #[cfg(feature = "sso")]
        H::SsoSetupSaml | H::SsoUpdateSaml => route()
            .takes::<c::sso::setup::SamlInput>()
            .gives::<c::sso::setup::SamlDto>(),
        #[cfg(feature = "sso")]
        H::SsoGetSaml => route().gives::<Option<c::sso::setup::SamlDto>>(),
        #[cfg(feature = "sso")]
        H::SsoDeleteOkta | H::SsoDeleteEntraId | H::SsoDeleteSaml => route(),
        // Projects
        H::ProjectsGetAll => entities(schema_of::<Entity>()),
        H::ProjectsGetAllWithDetails => with_details(
            schema_of::<Entity>(),
            &["users", "userGroups", "sharedCloudDrives"],
        ),
        H::ProjectDrives => assigned(
            &relations::PROJECT_DRIVE,
            relations::Side::Project,
            &["projectId"],
            "name",
        ),
        H::DriveProjects => assigned(
            &relations::PROJECT_DRIVE,
            relations::Side::SharedCloudDrive,
            &["sharedCloudDriveId"],
            "name",
        ),
        H::ProjectDriveAssign => assign(&relations::PROJECT_DRIVE),
        H::ProjectDriveUnassign => unassign(),
        // SharedCloudDrive
        H::DrivesGetAll => entities(drive()),
        H::DrivesGetAllWithDetails => with_details(drive(), &["projects", "users", "userGroups"]),
        H::DriveInsert => drive_input(true),
        H::DriveUpdate => drive_input(false),
        // UsersPermission
        H::UserProjectAdd | H::UserProjectEdit => assign(&relations::USER_PROJECT),
        H::GroupProjectAdd | H::GroupProjectEdit => assign(&relations::GROUP_PROJECT),
        H::UserDriveAdd | H::UserDriveEdit => assign(&relations::USER_DRIVE),
        H::GroupDriveAdd | H::GroupDriveEdit => assign(&relations::GROUP_DRIVE),
        H::UserProjectDelete | H::GroupProjectDelete | H::UserDriveDelete | H::GroupDriveDelete => {
            unassign()
        }
        H::UsersOfProject => assigned(
            &relations::USER_PROJECT,
            relations::Side::Project,
            &["projectId"],
            "username",
        ),
        H::ProjectsOfUser => assigned(
            &relations::USER_PROJECT,
            relations::Side::User,
            &["userId"],
            "name",
        ),
        H::GroupsOfProject => assigned(
            &relations::GROUP_PROJECT,
            relations::Side::Project,
            &["projectId"],
            "name",
        ),
        H::ProjectsOfGroup => assigned(
            &relations::GROUP_PROJECT,
            relations::Side::UserGroup,
            &["userGroupId"],
            "name",
        ),
        H::UsersOfDrive => assigned(
            &relations::USER_DRIVE,
            relations::Side::SharedCloudDrive,
            &["sharedCloudDriveId"],
            "username",
        ),
        H::DrivesOfUser => assigned(
            &relations::USER_DRIVE,
            relations::Side::User,
            &["userId"],
            "name",
        ),
        H::GroupsOfDrive => assigned(
            &relations::GROUP_DRIVE,
            relations::Side::SharedCloudDrive,
            relations::GROUPS_OF_DRIVE_ID,
            "name",
        ),
        H::DrivesOfGroup => assigned(
            &relations::GROUP_DRIVE,
            relations::Side::UserGroup,
            &["userGroupId"],
            "name",
        ),
        // AccountLogSetting
        H::LogSettingSetup | H::LogSettingUpdate => route()
            .takes::<c::accountlogsetting::SettingInput>()
            .gives::<crate::audit::setting::AccountLogSetting>(),
        H::LogSettingGet => route().gives::<Option<crate::audit::setting::AccountLogSetting>>(),
        H::LogSettingDelete => route(),
        // ApiToken
        H::ApiTokensGetAll => route().gives::<Vec<c::apitoken::ApiTokenDto<'static>>>(),
        H::ApiTokensInsert => route()
            .takes::<c::apitoken::InsertRequest>()
            .gives::<c::apitoken::ApiTokenDto<'static>>(),
        H::ApiTokensDelete => route().query(&[ID]),
        // Management
        H::AgentStatus => route().gives::<u8>(),
        H::Command => route(),
        H::Notify => route().takes::<c::management::NotifyRequest>(),
        H::Outbox => route().gives::<Vec<c::management::KeptMail<'static>>>(),
        H::NotificationSocket | H::StateChangeSocket => route().socket(),
        #[cfg(feature = "openapi")]
        H::OpenApi => route().gives::<Map<String, Value>>(),
        #[cfg(feature = "metrics")]
        H::Metrics => route().media("application/openmetrics-text"),
        // Cloud: accounts
        #[cfg(feature = "cloud")]
        H::CloudAccounts => route().gives::<Vec<CloudAccountDto<'static>>>(),
        #[cfg(feature = "cloud")]
        H::CloudAccount => route().query(&[ID]).gives::<CloudAccountDto<'static>>(),
        #[cfg(feature = "cloud")]
        H::CloudInsertAccount => route()
            .takes::<c::cloud::accounts::InsertInput>()
            .gives::<CloudAccountDto<'static>>(),
        #[cfg(feature = "cloud")]
        H::CloudManageShare => route().takes::<c::cloud::accounts::ShareInput>(),
        #[cfg(feature = "cloud")]
        H::CloudDelete | H::CloudDeleteStorage | H::IdriveDeleteStorage => {
            route().query(&[ID]).gives::<bool>()
        }
        // Cloud: OAuth authorization
        #[cfg(feature = "cloud")]
        H::DropboxAuthorizationUrl
        | H::BoxAuthorizationUrl
        | H::OneDriveAuthorizationUrl
        | H::GoogleDriveAuthorizationUrl => route()
            .takes::<c::cloud::oauth::StartInput>()
            .gives::<String>(),
        #[cfg(feature = "cloud")]
        H::DropboxAuthorizationCallback
        | H::BoxAuthorizationCallback
        | H::OneDriveAuthorizationCallback
        | H::GoogleDriveAuthorizationCallback => route()
            .takes::<c::cloud::oauth::CallbackInput>()
            .gives::<CloudAccountDto<'static>>(),
        // Cloud: storage operations
        #[cfg(feature = "cloud")]
        H::CloudListBuckets => route()
            .query(&[optional("includeRegion", Kind::Boolean)])
            .takes::<crate::cloud::AccountRef>()
            .gives::<cs::Collection<cs::BucketDto>>(),
        #[cfg(feature = "cloud")]
        H::CloudListObjects => route()
            .takes::<cs::ListObjectsInput>()
            .gives::<cs::ObjectCollection>(),
        #[cfg(feature = "cloud")]
        H::CloudDownloadUrl | H::CloudUploadUrl => {
            route().takes::<cs::ObjectInput>().gives::<String>()
        }
        #[cfg(feature = "cloud")]
        H::CloudSendDownloadUrl => route().takes::<cs::SendInput>(),
        #[cfg(feature = "cloud")]
        H::CloudDeleteObject => route().takes::<cs::ObjectInput>(),
        #[cfg(feature = "cloud")]
        H::CloudCreateFolder => route().takes::<cs::FolderInput>(),
        #[cfg(feature = "cloud")]
        H::CloudUploadObject => route()
            .takes::<ct::UploadInput>()
            .gives::<ct::TransferStarted<'static>>(),
        #[cfg(feature = "cloud")]
        H::CloudDownloadObject => route()
            .takes::<ct::DownloadInput>()
            .gives::<ct::TransferStarted<'static>>(),
        #[cfg(feature = "cloud")]
        H::CloudUploadFromForm => route()
            .form::<ct::FormUpload>()
            .gives::<ct::TransferStarted<'static>>(),
        // Cloud: client transfers
        #[cfg(feature = "cloud")]
        H::ClientTransferAll => route().gives::<Vec<ct::SummaryDto<'static>>>(),
        #[cfg(feature = "cloud")]
        H::ClientTransferPause | H::ClientTransferResume | H::ClientTransferCancel => {
            route().refuses(400)
        }
        #[cfg(feature = "cloud")]
        H::ClientTransferStatus => route().gives::<ct::StatusDto<'static>>(),
        // Cloud: server-to-server and P2P transfers
        #[cfg(feature = "cloud")]
        H::ServerTransferInitiate => route()
            .takes::<c::cloud::server_transfer::InitiateInput>()
            .refuses(400)
            .gives_status::<c::cloud::server_transfer::Initiated<'static>>(202),
        #[cfg(feature = "cloud")]
        H::ServerTransferStatus => route()
            .refuses(404)
            .gives::<ServerTransferStatus<'static>>(),
        #[cfg(feature = "cloud")]
        H::ServerTransferCancel => route().refuses(400).refuses(404),
        #[cfg(feature = "cloud")]
        H::ServerTransferAll | H::P2pTransferAll => {
            route().gives::<Vec<ServerTransferStatus<'static>>>()
        }
        #[cfg(feature = "cloud")]
        H::P2pTransferInitiate => route()
            .takes::<cp::InitiateInput>()
            .gives::<cp::Initiated<'static>>(),
        #[cfg(feature = "cloud")]
        H::P2pTransferStatus => route().gives::<cp::StatusDto<'static>>(),
        #[cfg(feature = "cloud")]
        H::P2pTransferCancel => route().refuses(400).gives::<cp::Cancelled>(),
        #[cfg(feature = "cloud")]
        H::P2pTransferPause | H::P2pTransferResume => route().refuses(400).gives::<cp::Steered>(),
        // Transfer: cloud-to-cloud
        #[cfg(feature = "cloud")]
        H::TransferGetAll => route()
            .paged(c::transfer::SORTABLE)
            .query(&[optional("type", Kind::Integer)])
            .gives_schema(page_of(schema_of::<c::transfer::TransferDto<'static>>())),
        #[cfg(feature = "cloud")]
        H::TransferTransfer => route()
            .takes::<c::transfer::TransferInput>()
            .gives::<c::transfer::TransferDto<'static>>(),
        #[cfg(feature = "cloud")]
        H::TransferCancel => route().takes::<c::transfer::CancelInput>(),
        // Storage: the built-in S3 server's keys and buckets
        #[cfg(feature = "cloud")]
        H::StorageGetKeys => route()
            .paged(st::KEY_SORTABLE)
            .gives_schema(page_of(schema_of::<st::KeyDto<'static>>())),
        #[cfg(feature = "cloud")]
        H::StorageCreateKey => route()
            .takes::<st::KeyInput>()
            .gives::<st::KeyDto<'static>>(),
        #[cfg(feature = "cloud")]
        H::StorageDeleteKey => route().query(&[ID]),
        #[cfg(feature = "cloud")]
        H::StorageCreateBucket | H::StorageUpdateBucket => route().takes::<st::BucketInput>(),
        #[cfg(feature = "cloud")]
        H::StorageBucketStatus => route()
            .takes::<st::BucketInput>()
            .gives::<st::BucketStatus>(),
        #[cfg(feature = "cloud")]
        H::StorageDeleteBucket | H::IdriveCreateBucket | H::IdriveDeleteBucket => {
            route().query(&[required("cloudAccountId"), BUCKET])
        }
        #[cfg(feature = "cloud")]
        H::CloudAddStorage => route()
            .takes::<st::AddStorageInput>()
            .gives::<CloudAccountDto<'static>>(),
        #[cfg(feature = "cloud")]
        H::IdriveAddStorage => route()
            .takes::<st::IdriveAddInput>()
            .gives::<CloudAccountDto<'static>>(),
        #[cfg(feature = "cloud")]
        H::CloudCreateBucket | H::CloudDeleteBucket => route().query(&[BUCKET]),
        #[cfg(feature = "cloud")]
        H::CloudBucketInfo => route().query(&[BUCKET]).gives::<st::BucketInfo<'static>>(),
        #[cfg(feature = "cloud")]
        H::CloudCloudInfo => route().gives::<st::CloudInfo>(),
        #[cfg(feature = "cloud")]
        H::IdriveRegions => route().gives::<Vec<st::Region<'static>>>(),
        #[cfg(feature = "cloud")]
        H::IdriveDailyUsage | H::IdriveUsage => route()
            .query(&[optional("storageTier", Kind::Integer)])
            .gives::<f64>(),
        // TransferHistory
        #[cfg(feature = "cloud")]
        H::TransferHistoryGetAll => route()
            .paged(c::transferhistory::SORTABLE)
            .query(&[
                optional("origin", Kind::Integer),
                optional("status", Kind::Integer),
                optional("direction", Kind::Integer),
            ])
            .gives_schema(page_of(schema_of::<Detail<'static>>())),
        #[cfg(feature = "cloud")]
        H::TransferHistoryDelete => route().query(&[ID]),
        // FastrSettings
        #[cfg(feature = "cloud")]
        H::FastrSettingsGetAll | H::FastrSettingsGetAllForUser => {
            route().gives::<fs::SettingsList<'static>>()
        }
        #[cfg(feature = "cloud")]
        H::FastrSettingsGetByCloudAccount => route().gives::<Option<fs::SettingsDto<'static>>>(),
        #[cfg(feature = "cloud")]
        H::FastrSettingsInsert
        | H::FastrSettingsInsertForUser
        | H::FastrSettingsUpdate
        | H::FastrSettingsUpdateForUser => route()
            .takes::<fs::SettingsInput>()
            .gives::<fs::SettingsDto<'static>>(),
        #[cfg(feature = "cloud")]
        H::FastrSettingsDelete | H::FastrSettingsDeleteForUser => route().query(&[ID]),
        // Management: updates
        #[cfg(feature = "cloud")]
        H::CheckUpdate => route().gives::<c::management::updates::CheckResponse>(),
        #[cfg(feature = "cloud")]
        H::ApplyUpdate => route(),
        // Management: SMB / NFS mounts
        #[cfg(feature = "cloud")]
        H::SmbClients | H::NfsClients => route().gives::<Vec<ShareView<'static>>>(),
        #[cfg(feature = "cloud")]
        H::SmbClientInsert | H::SmbClientUpdate | H::NfsClientInsert | H::NfsClientUpdate => {
            route()
                .takes::<crate::share_mounts::ShareInput>()
                .gives::<ShareView<'static>>()
        }
        #[cfg(feature = "cloud")]
        H::SmbClientDelete | H::NfsClientDelete => route(),
        // Management: local folders
        #[cfg(feature = "cloud")]
        H::LocalDrives => route().gives::<Vec<String>>(),
        #[cfg(feature = "cloud")]
        H::AvailableDriveLetters => route().gives::<Vec<String>>(),
        #[cfg(feature = "cloud")]
        H::LocalDirectories => route()
            .query(&[optional("path", Kind::Text)])
            .gives::<Vec<String>>(),
        #[cfg(feature = "cloud")]
        H::LocalEntries => route()
            .query(&[optional("path", Kind::Text)])
            .gives::<Vec<c::management::folders::EntryDto>>(),
        #[cfg(feature = "cloud")]
        H::MakeDirectory => route().takes::<c::management::folders::NewFolder>(),
        // Reports of backups and drives
        #[cfg(feature = "cloud")]
        H::BackupSummary => report().gives::<rp::BackupSummary<'static>>(),
        #[cfg(feature = "cloud")]
        H::BackupSyncHealth => report().gives::<rp::BackupHealth<'static>>(),
        #[cfg(feature = "cloud")]
        H::DriveSummary => report().gives::<rp::DriveSummary<'static>>(),
        #[cfg(feature = "cloud")]
        H::DriveSyncHealth => report().gives::<rp::DriveHealth<'static>>(),
        #[cfg(feature = "cloud")]
        H::BackupDashboard => {
            dashboard::<rp::BackupSummary<'static>, rp::BackupHealth<'static>>(BACKUP_ID)
        }
        #[cfg(feature = "cloud")]
        H::DriveDashboard => {
            dashboard::<rp::DriveSummary<'static>, rp::DriveHealth<'static>>(DRIVE_ID)
        }
        #[cfg(feature = "cloud")]
        H::BackupFileStates => file_states(BACKUP_ID),
        #[cfg(feature = "cloud")]
        H::DriveFileStates => file_states(DRIVE_ID),
        #[cfg(feature = "cloud")]
        H::BackupFileDistribution => distribution(BACKUP_ID),
        #[cfg(feature = "cloud")]
        H::DriveFileDistribution => distribution(DRIVE_ID),
        #[cfg(feature = "cloud")]
        H::BackupTransferActivity => activity(BACKUP_ID),
        #[cfg(feature = "cloud")]
        H::DriveTransferActivity => {
            activity(DRIVE_ID).query(&[optional("direction", Kind::Integer)])
        }
        #[cfg(feature = "cloud")]
        H::BackupTrends => trends(BACKUP_ID),
        #[cfg(feature = "cloud")]
        H::DriveTrends => trends(DRIVE_ID),
        // Management: cloud backups
        #[cfg(feature = "cloud")]
        H::CloudBackups => route().gives::<Vec<BackupView<'static>>>(),
        #[cfg(feature = "cloud")]
        H::CloudBackupInsert | H::CloudBackupUpdate => {
            route().takes::<DriveInput>().gives::<BackupView<'static>>()
        }
        #[cfg(feature = "cloud")]
        H::CloudBackupDelete | H::CloudBackupOpen => route(),
        // Management: cloud drives and their objects
        #[cfg(feature = "cloud")]
        H::CloudDrives => route()
            .query(&[optional("path", Kind::Text)])
            .gives::<Vec<CloudDrive>>(),
        #[cfg(feature = "cloud")]
        H::CloudDriveExists => route()
            .query(&[optional("path", Kind::Text)])
            .gives::<String>(),
        #[cfg(feature = "cloud")]
        H::CloudDriveInsert | H::CloudDriveUpdate | H::CloudDriveCache => {
            route().takes::<DriveInput>().gives::<CloudDrive>()
        }
        #[cfg(feature = "cloud")]
        H::CloudDriveOpen | H::CloudDriveDelete | H::SyncSharedDrives => route(),
        #[cfg(feature = "cloud")]
        H::CloudDriveSync => route().query(&[optional("path", Kind::Text)]).refuses(404),
        #[cfg(feature = "cloud")]
        H::ObjectStatus => route().query(&[PATH]).refuses(404).gives::<u8>(),
        #[cfg(feature = "cloud")]
        H::ObjectInfo => route()
            .query(&[PATH])
            .gives::<c::management::objects::ObjectInfoDto>(),
        #[cfg(feature = "cloud")]
        H::ObjectsInfo => route()
            .query(&[PATH])
            .gives::<Vec<c::management::objects::ObjectInfoDto>>(),
        #[cfg(feature = "cloud")]
        H::ObjectDownload => route().query(&[PATH]).refuses(404),
        #[cfg(feature = "cloud")]
        H::ObjectMakeOffline
        | H::ObjectRemoveFromCache
        | H::ObjectRemoveOffline
        | H::ObjectDelete
        | H::ObjectRead => route().query(&[PATH]),
        #[cfg(feature = "cloud")]
        H::ObjectStream => route()
            .query(&[
                PATH,
                optional("start", Kind::Integer),
                optional("end", Kind::Integer),
            ])
            .refuses(404)
            .media("application/octet-stream"),
        #[cfg(feature = "cloud")]
        H::ObjectPresignedUrls => route()
            .takes::<c::management::objects::PresignInput>()
            .refuses(404)
            .gives::<c::management::objects::PresignedPair>(),
        #[cfg(feature = "cloud")]
        H::DirectoryRenameStatus => route().query(&[PATH]).refuses(404).gives::<bool>(),
        // The dashboard page
        #[cfg(feature = "cloud")]
        H::UiPage => route().media("text/html"),
        #[cfg(feature = "cloud")]
        H::UiAsset => route().refuses(404).media("*/*"),
    }
}

/// `get_all_users` and its details variant: paging and the documented filters.
fn users() -> Contract {
    route()
        .paged(&crate::directory::users::SORT_FIELDS)
        .query(&[
            optional("userStatus", Kind::Integer),
            optional("userType", Kind::Integer),
            optional("username", Kind::Text),
        ])
}
