//! The route table: every route declared once, as data, with its handler.
//!
//! The table drives matching, auth, the `click-agent routes` listing and the test that compares it with
//! `spec/endpoints.tsv`. Dispatch is one `match`, so handlers are plain `async fn`s generic
//! over the host's ports and nothing is boxed.

use crate::agent::Ctx;
use crate::auth::AuthPolicy;
#[cfg(feature = "sso")]
use crate::controllers::sso;
use crate::controllers::{
    accountlogsetting, apitoken, authentication, management, projects, sharedclouddrive, user,
    usergroup, userspermission, websocket,
};
#[cfg(feature = "cloud")]
use crate::controllers::{
    backupreport, cloud, drivereport, fastrsettings, storage, transfer, transferhistory, ui,
};
use crate::error::ApiResult;
use crate::http::{Method, Response};
use crate::ports::Ports;

/// How a route takes its request body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    /// Read whole by the host, up to its body limit, and handed to the handler.
    Buffered,
    /// A `multipart/form-data` upload the host streams to disk itself (the file may be far
    /// larger than the body limit); the handler gets the form's other fields as JSON with the
    /// staged file's path. See `controllers::cloud::transfers::upload_object_from_form`.
    StreamedForm,
}

/// One route of the API: one row of [`ROUTES`].
#[derive(Debug)]
pub struct Route {
    /// The method it answers (HEAD is served as GET).
    pub method: Method,
    /// Path pattern; `{name}` matches one segment.
    pub path: &'static str,
    /// Who may call it.
    pub auth: AuthPolicy,
    /// How the host hands it the request body.
    pub body: Body,
    pub(crate) handler: Handler,
    /// Length of the pattern before its first `{`: compared as a whole before any splitting.
    literal_len: usize,
}

const fn literal_len(pattern: &str) -> usize {
    let bytes = pattern.as_bytes();
    let mut i = 0;
    while i < bytes.len() && bytes[i] != b'{' {
        i += 1;
    }
    i
}

macro_rules! routes {
    (@body) => { Body::Buffered };
    (@body $body:ident) => { Body::$body };
    ($( $(#[$meta:meta])* $handler:ident: $method:ident $path:literal $auth:ident $(+ $body:ident)? => $func:path; )*) => {
        /// One variant per route.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum Handler { $($(#[$meta])* $handler,)* }

        /// Every route the agent serves, in the order they are matched (without the `cloud`
        /// feature, the Cloud routes are left out and answer 404).
        pub static ROUTES: &[Route] = &[
            $( $(#[$meta])* Route {
                method: Method::$method,
                path: $path,
                auth: AuthPolicy::$auth,
                body: routes!(@body $($body)?),
                handler: Handler::$handler,
                literal_len: literal_len($path),
            }, )*
        ];

        pub(crate) async fn dispatch<P: Ports>(handler: Handler, cx: &Ctx<'_, P>) -> ApiResult<Response> {
            match handler { $( $(#[$meta])* Handler::$handler => $func(cx).await, )* }
        }
    };
}

routes! {
    // Authentication
    Login: Post "/authentication/login" Public => authentication::login;
    Logout: Post "/authentication/logout" Public => authentication::logout;
    MfaRespond: Post "/authentication/mfa_respond" Public => authentication::mfa_respond;
    ForgotPassword: Post "/authentication/forgot_password" Public => authentication::forgot_password;
    Signup: Post "/authentication/signup" Public => authentication::signup;
    ConfirmSignup: Post "/authentication/confirm_signup" Public => authentication::confirm_signup;
    ResendConfirmation: Post "/authentication/resend_confirmation_email" Public => authentication::resend_confirmation_email;
    GoogleSignup: Post "/authentication/google_signup" Public => authentication::google_signup;
    GoogleLogin: Post "/authentication/google_login" Public => authentication::google_login;
    GetUser: Get "/authentication/user" User => authentication::get_user;
    UpdateUser: Put "/authentication/update_user" User => authentication::update_user;
    UpdateSubscription: Put "/authentication/update_subscription" User => authentication::update_subscription;
    ResetPassword: Post "/authentication/reset_password" Optional => authentication::reset_password;
    // User
    GetAllUsers: Get "/user/get_all_users" Admin => user::get_all_users;
    GetAllUsersWithDetails: Get "/user/get_all_users_with_details" Admin => user::get_all_users_with_details;
    InsertUser: Post "/user/insert_user" Admin => user::insert_user;
    EditUser: Put "/user/edit_user" Admin => user::edit_user;
    DeleteUser: Delete "/user/delete_user" Admin => user::delete_user;
    ResendUserEmail: Post "/user/resend_user_email" Admin => user::resend_user_email;
    PackageInquiry: Get "/user/package_inquiry" User => user::package_inquiry;
    SetMfa: Post "/user/set_mfa" User => user::set_mfa;
    GenerateMfaToken: Post "/user/generate_mfa_token" User => user::generate_mfa_token;
    // UserGroup
    GroupsGetAll: Get "/usergroup/get_all" User => usergroup::get_all;
    GroupsGetAllWithDetails: Get "/usergroup/get_all_with_details" User => usergroup::get_all_with_details;
    GroupsInsert: Post "/usergroup/insert" Admin => usergroup::insert;
    GroupsUpdate: Put "/usergroup/update" Admin => usergroup::update;
    GroupsDelete: Delete "/usergroup/delete" Admin => usergroup::delete;
    GroupsAssignedUsers: Get "/usergroup/get_assigned_users" User => usergroup::get_assigned_users;
    GroupsAssignedGroups: Get "/usergroup/get_assigned_usergroups" User => usergroup::get_assigned_usergroups;
    GroupsAssignUsers: Post "/usergroup/assign_users" Admin => usergroup::assign_users;
    GroupsUnassignUser: Delete "/usergroup/unassign_user" Admin => usergroup::unassign_user;
    GroupsImportUsers: Post "/usergroup/import_users" Admin => usergroup::import_users;
    // SSO
    #[cfg(feature = "sso")] SsoUrl: Post "/sso/sso_url" Public => sso::sso_url;
    #[cfg(feature = "sso")] SsoUrlImportUser: Post "/sso/sso_url_import_user" Admin => sso::sso_url_import_user;
    #[cfg(feature = "sso")] SsoAuthenticate: Post "/sso/authenticate" Public => sso::authenticate;
    #[cfg(feature = "sso")] SsoSamlAcs: Post "/sso/saml_acs" CrossSite => sso::saml_acs;
    #[cfg(feature = "sso")] SsoUserGroups: Get "/sso/get_user_usergroups" Admin => sso::get_user_usergroups;
    #[cfg(feature = "sso")] SsoSetupOkta: Post "/sso/setup_okta" Admin => sso::setup_okta;
    #[cfg(feature = "sso")] SsoGetOkta: Get "/sso/get_okta" Admin => sso::get_okta;
    #[cfg(feature = "sso")] SsoUpdateOkta: Put "/sso/update_okta" Admin => sso::update_okta;
    #[cfg(feature = "sso")] SsoDeleteOkta: Delete "/sso/delete_okta" Admin => sso::delete_okta;
    #[cfg(feature = "sso")] SsoSetupEntraId: Post "/sso/setup_entraId" Admin => sso::setup_entra_id;
    #[cfg(feature = "sso")] SsoGetEntraId: Get "/sso/get_entraId" Admin => sso::get_entra_id;
    #[cfg(feature = "sso")] SsoUpdateEntraId: Put "/sso/update_entraId" Admin => sso::update_entra_id;
    #[cfg(feature = "sso")] SsoDeleteEntraId: Delete "/sso/delete_entraId" Admin => sso::delete_entra_id;
    #[cfg(feature = "sso")] SsoSetupSaml: Post "/sso/setup_saml" Admin => sso::setup_saml;
    #[cfg(feature = "sso")] SsoGetSaml: Get "/sso/get_saml" Admin => sso::get_saml;
    #[cfg(feature = "sso")] SsoUpdateSaml: Put "/sso/update_saml" Admin => sso::update_saml;
    #[cfg(feature = "sso")] SsoDeleteSaml: Delete "/sso/delete_saml" Admin => sso::delete_saml;
    // Projects
    ProjectsGetAll: Get "/projects/get_all" User => projects::get_all;
    ProjectsGetAllWithDetails: Get "/projects/get_all_with_details" User => projects::get_all_with_details;
    ProjectsInsert: Post "/projects/insert" Admin => projects::insert;
    ProjectsUpdate: Put "/projects/update" Admin => projects::update;
    ProjectsDelete: Delete "/projects/delete" Admin => projects::delete;
    ProjectDrives: Get "/projects/get_assigned_sharedclouddrives" User => projects::get_assigned_sharedclouddrives;
    DriveProjects: Get "/projects/get_assigned_projects" User => projects::get_assigned_projects;
    ProjectDriveAssign: Post "/projects/assign_sharedclouddrive" Admin => projects::assign_sharedclouddrive;
    ProjectDriveUnassign: Delete "/projects/unassign_sharedclouddrive" Admin => projects::unassign_sharedclouddrive;
    // SharedCloudDrive
    DrivesGetAll: Get "/sharedclouddrive/get_all" User => sharedclouddrive::get_all;
    DrivesGetAllWithDetails: Get "/sharedclouddrive/get_all_with_details" User => sharedclouddrive::get_all_with_details;
    DriveInsert: Post "/sharedclouddrive/insert" Admin => sharedclouddrive::insert;
    DriveUpdate: Put "/sharedclouddrive/update" Admin => sharedclouddrive::update;
    DriveDelete: Delete "/sharedclouddrive/delete" Admin => sharedclouddrive::delete;
    // UsersPermission
    UserProjectAdd: Post "/userspermission/users_project_permission" Admin => userspermission::add_user_project;
    UserProjectEdit: Put "/userspermission/users_project_permission" Admin => userspermission::edit_user_project;
    UserProjectDelete: Delete "/userspermission/users_project_permission" Admin => userspermission::delete_user_project;
    UsersOfProject: Get "/userspermission/get_users_assigned_to_project" User => userspermission::users_of_project;
    ProjectsOfUser: Get "/userspermission/get_projects_assigned_to_user" User => userspermission::projects_of_user;
    GroupProjectAdd: Post "/userspermission/usergroups_project_permission" Admin => userspermission::add_group_project;
    GroupProjectEdit: Put "/userspermission/usergroups_project_permission" Admin => userspermission::edit_group_project;
    GroupProjectDelete: Delete "/userspermission/usergroups_project_permission" Admin => userspermission::delete_group_project;
    GroupsOfProject: Get "/userspermission/get_usergroups_assigned_to_project" User => userspermission::groups_of_project;
    ProjectsOfGroup: Get "/userspermission/get_projects_assigned_to_usergroup" User => userspermission::projects_of_group;
    UserDriveAdd: Post "/userspermission/users_sharedclouddrive_permision" Admin => userspermission::add_user_drive;
    UserDriveEdit: Put "/userspermission/users_sharedclouddrive_permision" Admin => userspermission::edit_user_drive;
    UserDriveDelete: Delete "/userspermission/users_sharedclouddrive_permision" Admin => userspermission::delete_user_drive;
    UsersOfDrive: Get "/userspermission/get_users_assigned_to_sharedclouddrive" User => userspermission::users_of_drive;
    DrivesOfUser: Get "/userspermission/get_sharedclouddrive_assigned_to_user" User => userspermission::drives_of_user;
    GroupDriveAdd: Post "/userspermission/usergroup_sharedclouddrive_permission" Admin => userspermission::add_group_drive;
    GroupDriveEdit: Put "/userspermission/usergroup_sharedclouddrive_permission" Admin => userspermission::edit_group_drive;
    GroupDriveDelete: Delete "/userspermission/usergroup_sharedclouddrive_permission" Admin => userspermission::delete_group_drive;
    GroupsOfDrive: Get "/userspermission/get_usergroups_assigned_to_sharedclouddrive" User => userspermission::groups_of_drive;
    DrivesOfGroup: Get "/userspermission/get_sharedclouddrive_assigned_to_usergroup" User => userspermission::drives_of_group;
    // AccountLogSetting
    LogSettingSetup: Post "/accountlogsetting/setup" Admin => accountlogsetting::setup;
    LogSettingGet: Get "/accountlogsetting/get" Admin => accountlogsetting::get;
    LogSettingUpdate: Put "/accountlogsetting/update" Admin => accountlogsetting::update;
    LogSettingDelete: Delete "/accountlogsetting/delete" Admin => accountlogsetting::delete;
    // Cloud: accounts
    #[cfg(feature = "cloud")]
    CloudAccounts: Get "/cloud/accounts" User => cloud::accounts::get_all;
    #[cfg(feature = "cloud")]
    CloudAccount: Get "/cloud/account" User => cloud::accounts::get;
    #[cfg(feature = "cloud")]
    CloudInsertAccount: Post "/cloud/insert_account" User => cloud::accounts::insert;
    #[cfg(feature = "cloud")]
    CloudManageShare: Put "/cloud/manage_share" User => cloud::accounts::manage_share;
    #[cfg(feature = "cloud")]
    CloudDelete: Delete "/cloud/delete" User => cloud::accounts::delete;
    // Cloud: OAuth authorization
    #[cfg(feature = "cloud")]
    DropboxAuthorizationUrl: Post "/cloud/generate_dropbox_authorization_url" User => cloud::oauth::generate_dropbox;
    #[cfg(feature = "cloud")]
    DropboxAuthorizationCallback: Post "/cloud/dropbox_authorization_callback" User => cloud::oauth::dropbox_callback;
    #[cfg(feature = "cloud")]
    BoxAuthorizationUrl: Post "/cloud/generate_box_authorization_url" User => cloud::oauth::generate_box;
    #[cfg(feature = "cloud")]
    BoxAuthorizationCallback: Post "/cloud/box_authorization_callback" User => cloud::oauth::box_callback;
    #[cfg(feature = "cloud")]
    OneDriveAuthorizationUrl: Post "/cloud/generate_onedrive_authorization_url" User => cloud::oauth::generate_onedrive;
    #[cfg(feature = "cloud")]
    OneDriveAuthorizationCallback: Post "/cloud/onedrive_authorization_callback" User => cloud::oauth::onedrive_callback;
    #[cfg(feature = "cloud")]
    GoogleDriveAuthorizationUrl: Post "/cloud/generate_googledrive_authorization_url" User => cloud::oauth::generate_googledrive;
    #[cfg(feature = "cloud")]
    GoogleDriveAuthorizationCallback: Post "/cloud/googledrive_authorization_callback" User => cloud::oauth::googledrive_callback;
    // Cloud: storage operations
    #[cfg(feature = "cloud")]
    CloudListBuckets: Post "/cloud/list_buckets" User => cloud::storage::list_buckets;
    #[cfg(feature = "cloud")]
    CloudListObjects: Post "/cloud/list_objects" User => cloud::storage::list_objects;
    #[cfg(feature = "cloud")]
    CloudDownloadUrl: Post "/cloud/generate_download_url" User => cloud::storage::generate_download_url;
    #[cfg(feature = "cloud")]
    CloudUploadUrl: Post "/cloud/generate_upload_url" User => cloud::storage::generate_upload_url;
    #[cfg(feature = "cloud")]
    CloudSendDownloadUrl: Post "/cloud/send_download_url" User => cloud::storage::send_download_url;
    #[cfg(feature = "cloud")]
    CloudDeleteObject: Post "/cloud/delete_object" User => cloud::storage::delete_object;
    #[cfg(feature = "cloud")]
    CloudCreateFolder: Post "/cloud/create_folder" User => cloud::storage::create_folder;
    #[cfg(feature = "cloud")]
    CloudUploadObject: Post "/cloud/upload_object" User => cloud::transfers::upload_object;
    #[cfg(feature = "cloud")]
    CloudDownloadObject: Post "/cloud/download_object" User => cloud::transfers::download_object;
    #[cfg(feature = "cloud")]
    CloudUploadFromForm: Post "/cloud/upload_object_from_form" Local + StreamedForm => cloud::transfers::upload_object_from_form;
    // Cloud: client transfers
    #[cfg(feature = "cloud")]
    ClientTransferAll: Get "/cloud/client_transfer/all" User => cloud::transfers::all;
    #[cfg(feature = "cloud")]
    ClientTransferPause: Post "/cloud/client_transfer/{transferId}/pause" User => cloud::transfers::pause;
    #[cfg(feature = "cloud")]
    ClientTransferResume: Post "/cloud/client_transfer/{transferId}/resume" User => cloud::transfers::resume;
    #[cfg(feature = "cloud")]
    ClientTransferCancel: Post "/cloud/client_transfer/{transferId}/cancel" User => cloud::transfers::cancel;
    #[cfg(feature = "cloud")]
    ClientTransferStatus: Get "/cloud/client_transfer/{transferId}/status" User => cloud::transfers::status;
    // Cloud: server-to-server transfers
    #[cfg(feature = "cloud")]
    ServerTransferInitiate: Post "/cloud/server_transfer/initiate" User => cloud::server_transfer::initiate;
    #[cfg(feature = "cloud")]
    ServerTransferStatus: Get "/cloud/server_transfer/{transferId}/status" User => cloud::server_transfer::status;
    #[cfg(feature = "cloud")]
    ServerTransferCancel: Delete "/cloud/server_transfer/{transferId}" User => cloud::server_transfer::cancel;
    #[cfg(feature = "cloud")]
    ServerTransferAll: Get "/cloud/server_transfer/all" User => cloud::server_transfer::all;
    // Cloud: P2P transfers
    #[cfg(feature = "cloud")]
    P2pTransferInitiate: Post "/cloud/p2p_transfer/initiate" User => cloud::p2p_transfer::initiate;
    #[cfg(feature = "cloud")]
    P2pTransferStatus: Get "/cloud/p2p_transfer/{transferId}/status" User => cloud::p2p_transfer::status;
    #[cfg(feature = "cloud")]
    P2pTransferCancel: Post "/cloud/p2p_transfer/{transferId}/cancel" User => cloud::p2p_transfer::cancel;
    #[cfg(feature = "cloud")]
    P2pTransferPause: Post "/cloud/p2p_transfer/{transferId}/pause" User => cloud::p2p_transfer::pause;
    #[cfg(feature = "cloud")]
    P2pTransferResume: Post "/cloud/p2p_transfer/{transferId}/resume" User => cloud::p2p_transfer::resume;
    #[cfg(feature = "cloud")]
    P2pTransferAll: Get "/cloud/p2p_transfer/all" User => cloud::p2p_transfer::all;
    // Transfer: cloud-to-cloud
    #[cfg(feature = "cloud")]
    TransferGetAll: Get "/transfer/get_all" User => transfer::get_all;
    #[cfg(feature = "cloud")]
    TransferTransfer: Post "/transfer/transfer" User => transfer::transfer;
    #[cfg(feature = "cloud")]
    TransferCancel: Post "/transfer/cancel_transfer" User => transfer::cancel_transfer;
    // Storage: the built-in S3 server's keys and buckets
    #[cfg(feature = "cloud")]
    StorageGetKeys: Get "/storage/get_storage_key" User => storage::get_storage_key;
    #[cfg(feature = "cloud")]
    StorageCreateKey: Post "/storage/create_storage_key" User => storage::create_storage_key;
    #[cfg(feature = "cloud")]
    StorageDeleteKey: Delete "/storage/delete_storage_key" User => storage::delete_storage_key;
    #[cfg(feature = "cloud")]
    StorageCreateBucket: Post "/storage/create_bucket" User => storage::create_bucket;
    #[cfg(feature = "cloud")]
    StorageBucketStatus: Post "/storage/bucket_status" User => storage::bucket_status;
    #[cfg(feature = "cloud")]
    StorageUpdateBucket: Put "/storage/update_bucket" User => storage::update_bucket;
    #[cfg(feature = "cloud")]
    StorageDeleteBucket: Delete "/storage/delete_bucket" User => storage::delete_bucket;
    #[cfg(feature = "cloud")]
    CloudAddStorage: Post "/cloud/add_storage" User => storage::add_storage;
    #[cfg(feature = "cloud")]
    CloudDeleteStorage: Delete "/cloud/delete_storage" User => storage::delete_storage;
    #[cfg(feature = "cloud")]
    CloudCreateBucket: Post "/cloud/create_bucket" User => storage::storj_create_bucket;
    #[cfg(feature = "cloud")]
    CloudDeleteBucket: Delete "/cloud/delete_bucket" User => storage::storj_delete_bucket;
    #[cfg(feature = "cloud")]
    CloudBucketInfo: Get "/cloud/get_bucket_info" User => storage::get_bucket_info;
    #[cfg(feature = "cloud")]
    CloudCloudInfo: Get "/cloud/get_cloud_info" User => storage::get_cloud_info;
    #[cfg(feature = "cloud")]
    IdriveAddStorage: Post "/cloud/idrive_add_storage" User => storage::idrive_add_storage;
    #[cfg(feature = "cloud")]
    IdriveDeleteStorage: Delete "/cloud/idrive_delete_storage" User => storage::delete_storage;
    #[cfg(feature = "cloud")]
    IdriveCreateBucket: Post "/cloud/idrive_create_bucket" User => storage::idrive_create_bucket;
    #[cfg(feature = "cloud")]
    IdriveDeleteBucket: Delete "/cloud/idrive_delete_bucket" User => storage::delete_bucket;
    #[cfg(feature = "cloud")]
    IdriveRegions: Get "/cloud/idrive_regions" User => storage::idrive_regions;
    #[cfg(feature = "cloud")]
    IdriveDailyUsage: Get "/cloud/idrive_get_daily_usage" User => storage::idrive_get_daily_usage;
    #[cfg(feature = "cloud")]
    IdriveUsage: Get "/cloud/idrive_get_usage" User => storage::idrive_get_usage;
    // TransferHistory
    #[cfg(feature = "cloud")]
    TransferHistoryGetAll: Get "/transferhistory/get_all" User => transferhistory::get_all;
    #[cfg(feature = "cloud")]
    TransferHistoryDelete: Delete "/transferhistory/delete" User => transferhistory::delete;
    // FastrSettings
    #[cfg(feature = "cloud")]
    FastrSettingsGetAll: Get "/fastrsettings/get_all" User => fastrsettings::get_all;
    #[cfg(feature = "cloud")]
    FastrSettingsGetAllForUser: Get "/fastrsettings/get_all/{userId}" Admin => fastrsettings::get_all_for_user;
    #[cfg(feature = "cloud")]
    FastrSettingsGetByCloudAccount: Get "/fastrsettings/get_by_cloud_account/{cloudAccountId}" User => fastrsettings::get_by_cloud_account;
    #[cfg(feature = "cloud")]
    FastrSettingsInsert: Post "/fastrsettings/insert" User => fastrsettings::insert;
    #[cfg(feature = "cloud")]
    FastrSettingsInsertForUser: Post "/fastrsettings/insert_for_user" Admin => fastrsettings::insert_for_user;
    #[cfg(feature = "cloud")]
    FastrSettingsUpdate: Put "/fastrsettings/update" User => fastrsettings::update;
    #[cfg(feature = "cloud")]
    FastrSettingsUpdateForUser: Put "/fastrsettings/update_for_user" Admin => fastrsettings::update_for_user;
    #[cfg(feature = "cloud")]
    FastrSettingsDelete: Delete "/fastrsettings/delete" User => fastrsettings::delete;
    #[cfg(feature = "cloud")]
    FastrSettingsDeleteForUser: Delete "/fastrsettings/delete_for_user" Admin => fastrsettings::delete_for_user;
    // ApiToken
    ApiTokensGetAll: Get "/apitoken/get_all" User => apitoken::get_all;
    ApiTokensInsert: Post "/apitoken/insert" User => apitoken::insert;
    ApiTokensDelete: Delete "/apitoken/delete" User => apitoken::delete;
    // Management
    AgentStatus: Get "/management/agent_status" Public => management::agent_status;
    Command: Post "/management/command/{cmd}" Local => management::command;
    Notify: Post "/management/notify" Local => management::notify;
    Outbox: Get "/management/outbox" Local => management::outbox;
    #[cfg(feature = "cloud")]
    CheckUpdate: Get "/management/check_update" Local => management::updates::check_update;
    #[cfg(feature = "cloud")]
    ApplyUpdate: Post "/management/update" Local => management::updates::update;
    // Management: SMB / NFS mounts
    #[cfg(feature = "cloud")]
    SmbClients: Get "/management/smbclient" Local => management::shares::smb_get_all;
    #[cfg(feature = "cloud")]
    SmbClientInsert: Post "/management/smbclient" Local => management::shares::smb_insert;
    #[cfg(feature = "cloud")]
    SmbClientUpdate: Put "/management/smbclient/{id}" Local => management::shares::smb_update;
    #[cfg(feature = "cloud")]
    SmbClientDelete: Delete "/management/smbclient/{id}" Local => management::shares::smb_delete;
    #[cfg(feature = "cloud")]
    NfsClients: Get "/management/nfsclient" Local => management::shares::nfs_get_all;
    #[cfg(feature = "cloud")]
    NfsClientInsert: Post "/management/nfsclient" Local => management::shares::nfs_insert;
    #[cfg(feature = "cloud")]
    NfsClientUpdate: Put "/management/nfsclient/{id}" Local => management::shares::nfs_update;
    #[cfg(feature = "cloud")]
    NfsClientDelete: Delete "/management/nfsclient/{id}" Local => management::shares::nfs_delete;
    // Management: local folders
    #[cfg(feature = "cloud")]
    LocalDrives: Get "/management/list_drives" Local => management::folders::list_drives;
    #[cfg(feature = "cloud")]
    AvailableDriveLetters: Get "/management/list_available_drives" Local => management::folders::list_available_drives;
    #[cfg(feature = "cloud")]
    LocalDirectories: Get "/management/list_directories" Local => management::folders::list_directories;
    #[cfg(feature = "cloud")]
    LocalEntries: Get "/management/list_files_directories" Local => management::folders::list_files_directories;
    #[cfg(feature = "cloud")]
    MakeDirectory: Post "/management/make_directory" Local => management::folders::make_directory;
    // Reports of backups and drives
    #[cfg(feature = "cloud")]
    BackupSummary: Get "/backupreport/summary/{backupId}" Local => backupreport::summary;
    #[cfg(feature = "cloud")]
    BackupSyncHealth: Get "/backupreport/sync_health/{backupId}" Local => backupreport::sync_health;
    #[cfg(feature = "cloud")]
    BackupTransferActivity: Get "/backupreport/transfer_activity/{backupId}" User => backupreport::transfer_activity;
    #[cfg(feature = "cloud")]
    BackupTrends: Get "/backupreport/historical_trends/{backupId}" User => backupreport::historical_trends;
    #[cfg(feature = "cloud")]
    BackupFileStates: Get "/backupreport/file_states/{backupId}" Local => backupreport::file_states;
    #[cfg(feature = "cloud")]
    BackupFileDistribution: Get "/backupreport/file_distribution/{backupId}" Local => backupreport::file_distribution;
    #[cfg(feature = "cloud")]
    BackupDashboard: Get "/backupreport/dashboard/{backupId}" Local => backupreport::dashboard;
    #[cfg(feature = "cloud")]
    DriveSummary: Get "/drivereport/summary/{driveId}" Local => drivereport::summary;
    #[cfg(feature = "cloud")]
    DriveTransferActivity: Get "/drivereport/transfer_activity/{driveId}" User => drivereport::transfer_activity;
    #[cfg(feature = "cloud")]
    DriveTrends: Get "/drivereport/historical_trends/{driveId}" User => drivereport::historical_trends;
    #[cfg(feature = "cloud")]
    DriveFileStates: Get "/drivereport/file_states/{driveId}" Local => drivereport::file_states;
    #[cfg(feature = "cloud")]
    DriveFileDistribution: Get "/drivereport/file_distribution/{driveId}" Local => drivereport::file_distribution;
    #[cfg(feature = "cloud")]
    DriveDashboard: Get "/drivereport/dashboard/{driveId}" Local => drivereport::dashboard;
    #[cfg(feature = "cloud")]
    DriveSyncHealth: Get "/drivereport/sync_health/{driveId}" Local => drivereport::sync_health;
    // Management: cloud backups
    #[cfg(feature = "cloud")]
    CloudBackups: Get "/management/cloudbackup" Local => management::cloudbackups::get_all;
    #[cfg(feature = "cloud")]
    CloudBackupInsert: Post "/management/cloudbackup" Local => management::cloudbackups::insert;
    #[cfg(feature = "cloud")]
    CloudBackupUpdate: Put "/management/cloudbackup/{id}" Local => management::cloudbackups::update;
    #[cfg(feature = "cloud")]
    CloudBackupDelete: Delete "/management/cloudbackup/{id}" Local => management::cloudbackups::delete;
    #[cfg(feature = "cloud")]
    CloudBackupOpen: Post "/management/cloudbackup_open/{id}" Local => management::cloudbackups::open;
    // Management: cloud drives and their objects
    #[cfg(feature = "cloud")]
    CloudDrives: Get "/management/clouddrive" Local => management::clouddrives::get_all;
    #[cfg(feature = "cloud")]
    CloudDriveExists: Get "/management/exist_clouddrive" Local => management::clouddrives::exist;
    #[cfg(feature = "cloud")]
    CloudDriveInsert: Post "/management/clouddrive" Local => management::clouddrives::insert;
    #[cfg(feature = "cloud")]
    CloudDriveUpdate: Put "/management/clouddrive/{id}" Local => management::clouddrives::update;
    #[cfg(feature = "cloud")]
    CloudDriveCache: Put "/management/clouddrive_change_cache/{id}" Local => management::clouddrives::change_cache;
    #[cfg(feature = "cloud")]
    CloudDriveOpen: Post "/management/clouddrive_open/{id}" Local => management::clouddrives::open;
    #[cfg(feature = "cloud")]
    CloudDriveDelete: Delete "/management/clouddrive/{id}" Local => management::clouddrives::delete;
    #[cfg(feature = "cloud")]
    SyncSharedDrives: Post "/management/sync_shareddrive" Local => management::clouddrives::sync_shared;
    #[cfg(feature = "cloud")]
    CloudDriveSync: Get "/management/clouddrive/sync/{id}" Local => management::clouddrives::sync;
    #[cfg(feature = "cloud")]
    ObjectStatus: Get "/management/object_status" Local => management::objects::status;
    #[cfg(feature = "cloud")]
    ObjectInfo: Get "/management/object_info" Local => management::objects::object_info;
    #[cfg(feature = "cloud")]
    ObjectsInfo: Get "/management/objects_info" Local => management::objects::objects_info;
    #[cfg(feature = "cloud")]
    ObjectDownload: Get "/management/object_download" Local => management::objects::download;
    #[cfg(feature = "cloud")]
    ObjectMakeOffline: Get "/management/object_make_offline" Local => management::objects::make_offline;
    #[cfg(feature = "cloud")]
    ObjectRemoveFromCache: Post "/management/object_remove_from_cache" Local => management::objects::remove_from_cache;
    #[cfg(feature = "cloud")]
    ObjectRemoveOffline: Post "/management/object_remove_offline" Local => management::objects::remove_offline;
    #[cfg(feature = "cloud")]
    ObjectDelete: Post "/management/object_delete" Local => management::objects::delete;
    #[cfg(feature = "cloud")]
    ObjectRead: Post "/management/read_object" Local => management::objects::read;
    #[cfg(feature = "cloud")]
    ObjectStream: Get "/management/get_object_stream" Local => management::objects::stream;
    #[cfg(feature = "cloud")]
    ObjectPresignedUrls: Post "/management/generate_presigned_urls" Local => management::objects::presigned_urls;
    #[cfg(feature = "cloud")]
    DirectoryRenameStatus: Get "/management/get_directory_rename_status" Local => management::objects::rename_status;
    // WebSockets
    NotificationSocket: Get "/notification" Local => websocket::notification;
    StateChangeSocket: Get "/statechange" Local => websocket::statechange;
    // The OpenAPI document (extension), public like agent_status
    #[cfg(feature = "openapi")]
    OpenApi: Get "/openapi.json" Public => management::openapi;
    // Prometheus metrics (extension), for admins
    #[cfg(feature = "metrics")]
    Metrics: Get "/metrics" Admin => management::metrics;
    // The dashboard page (extension): static files; their calls carry the user's token
    #[cfg(feature = "cloud")]
    UiPage: Get "/ui" Public => ui::page;
    #[cfg(feature = "cloud")]
    UiAsset: Get "/ui/{asset}" Public => ui::asset;
}

/// The routes that are this agent's extensions to the documented API (README.md).
pub const EXTENSIONS: &[&str] = &[
    "/management/outbox",
    "/ui",
    "/ui/{asset}",
    "/sso/saml_acs",
    "/metrics",
    "/openapi.json",
];

/// Path parameters captured by a match (at most [`Params::MAX`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct Params<'a> {
    items: [(&'static str, &'a str); Params::MAX],
    len: usize,
}

impl<'a> Params<'a> {
    /// The most parameters a pattern has.
    pub const MAX: usize = 3;

    /// The segment captured for `{name}`.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.items[..self.len]
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }
}

/// Matches `path` against a route's pattern, capturing `{name}` segments.
fn match_path<'a>(route: &Route, path: &'a str) -> Option<Params<'a>> {
    let (pattern, literal) = (route.path, route.literal_len);
    if !path
        .get(..literal)?
        .eq_ignore_ascii_case(&pattern[..literal])
    {
        return None;
    }
    if literal == pattern.len() {
        return (path.len() == literal).then(Params::default);
    }
    let mut params = Params::default();
    let mut pat = pattern[literal..].split('/');
    let mut segs = path[literal..].split('/');
    loop {
        match (pat.next(), segs.next()) {
            (None, None) => return Some(params),
            (Some(p), Some(s)) if p.starts_with('{') && p.ends_with('}') => {
                if s.is_empty() || params.len == Params::MAX {
                    return None;
                }
                params.items[params.len] = (&p[1..p.len() - 1], s);
                params.len += 1;
            }
            (Some(p), Some(s)) if p.eq_ignore_ascii_case(s) => {}
            _ => return None,
        }
    }
}

/// What [`find`] found for a request's method and path.
#[derive(Clone, Copy, Debug)]
pub enum Match<'a> {
    /// The route, and the path parameters it captured.
    Found(&'static Route, Params<'a>),
    /// The path exists, for other methods.
    WrongMethod,
    /// No route has this path.
    None,
}

impl Match<'_> {
    /// How the matched route takes its body (a path without a route reads none worth
    /// streaming: it is refused).
    pub fn body(&self) -> Body {
        match self {
            Match::Found(route, _) => route.body,
            _ => Body::Buffered,
        }
    }
}

/// Finds the route for a request. A trailing slash is ignored; HEAD is served as GET.
pub fn find(method: Method, path: &str) -> Match<'_> {
    let path = match path.strip_suffix('/') {
        Some(p) if !p.is_empty() => p,
        _ => path,
    };
    let method = if method == Method::Head {
        Method::Get
    } else {
        method
    };
    let mut wrong_method = false;
    for route in ROUTES {
        if let Some(params) = match_path(route, path) {
            if route.method == method {
                return Match::Found(route, params);
            }
            wrong_method = true;
        }
    }
    if wrong_method {
        Match::WrongMethod
    } else {
        Match::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_patterns_and_methods() {
        match find(Method::Post, "/management/command/0") {
            Match::Found(r, p) => {
                assert_eq!(r.handler, Handler::Command);
                assert_eq!(p.get("cmd"), Some("0"));
            }
            _ => panic!("no match"),
        }
        assert!(matches!(
            find(Method::Get, "/management/command/0"),
            Match::WrongMethod
        ));
        assert!(matches!(
            find(Method::Post, "/management/command/"),
            Match::WrongMethod | Match::None
        ));
        assert!(matches!(find(Method::Get, "/nope"), Match::None));
        assert!(matches!(
            find(Method::Get, "/Authentication/User/"),
            Match::Found(..)
        ));
    }

    #[test]
    fn every_route_is_unique() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert!(
                    !(a.method == b.method && a.path == b.path),
                    "{} twice",
                    a.path
                );
            }
        }
    }
}
