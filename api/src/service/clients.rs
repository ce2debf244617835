//! Integration clients (OAuth 2 client credentials, DOMAIN.md section 4): create, list, rotate
//! the secret, revoke, and authenticate by secret. Secrets are shown once and stored only as
//! argon2 hashes. Shared by the CLI (`api client …`) and the GraphQL mutations; only a
//! programmeAdmin (a person, never a client) may manage clients.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use entity::{api_client, org};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QueryTrait, Set,
};

use crate::access::{self, Scoped};
use crate::auth::{Principal, Role, Viewer};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::service::write;

/// The scopes of DOMAIN.md section 4.
pub const SCOPES: [&str; 13] = [
    "roster.read",
    "roster.write",
    "enrollment.write",
    "activities.read",
    "activities.write",
    "attendance.write",
    "curriculum.read",
    "curriculum.write",
    "results.write",
    "articulation.write",
    "consent.write",
    "indicators.read",
    "pii.student.read",
];

/// Scopes a partner's client may never hold.
const NOT_FOR_PARTNERS: [&str; 2] = ["pii.student.read", "consent.write"];

/// A new client with its secret (shown once).
#[derive(Clone, Debug, serde::Serialize)]
pub struct IssuedClient {
    pub client_id: String,
    pub client_secret: String,
}

/// A client with its organisation, for listing and token issuing.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ClientInfo {
    pub client_id: String,
    pub name: String,
    pub org: String,
    pub org_type: String,
    pub scopes: Vec<String>,
    pub revoked: bool,
}

/// Parses and checks a space-separated scope list for an organisation type.
pub fn parse_scopes(text: &str, org_type: &str) -> AppResult<Vec<String>> {
    let scopes: Vec<&str> = text.split_whitespace().collect();
    check_scopes(&scopes, org_type)
}

/// Checks a list of scopes for an organisation type: each must be a DOMAIN.md scope, a partner's
/// client may not hold `pii.student.read` or `consent.write`, and at least one is needed.
/// Duplicates are dropped; the order given is kept.
pub fn check_scopes<S: AsRef<str>>(requested: &[S], org_type: &str) -> AppResult<Vec<String>> {
    let mut scopes: Vec<String> = Vec::new();
    for scope in requested.iter().map(AsRef::as_ref) {
        if !SCOPES.contains(&scope) {
            return Err(AppError::bad_input(
                "scopes",
                format!(
                    "unknown scope {scope:?}; known scopes: {}",
                    SCOPES.join(", ")
                ),
            ));
        }
        if org_type == "industryPartner" && NOT_FOR_PARTNERS.contains(&scope) {
            return Err(AppError::bad_input(
                "scopes",
                format!("a partner's client may not hold {scope}"),
            ));
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    if scopes.is_empty() {
        return Err(AppError::bad_input(
            "scopes",
            "a client needs at least one scope",
        ));
    }
    Ok(scopes)
}

/// Longest client name (the column holds 255 characters).
const MAX_NAME_CHARS: usize = 255;

/// A new secret: two random (v4) UUIDs, 244 random bits, as 64 hex digits.
fn new_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

fn hash_secret(secret: &str) -> AppResult<String> {
    let salt = SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes())
        .map_err(|e| AppError::internal(anyhow::anyhow!("salt: {e}")))?;
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| AppError::internal(anyhow::anyhow!("argon2: {e}")))
}

/// A client to create.
#[derive(Clone, Debug)]
pub struct NewClient<'a> {
    /// sourcedId of the organisation the client acts for.
    pub org: &'a str,
    pub scopes: &'a [String],
    /// Defaults to the client id.
    pub name: Option<&'a str>,
}

/// Creates a client for the organisation `org_sourced_id` with `scopes` (space-separated).
pub async fn create(
    db: &impl ConnectionTrait,
    org_sourced_id: &str,
    scopes: &str,
    name: Option<&str>,
    actor: &str,
) -> AppResult<IssuedClient> {
    let scopes: Vec<String> = scopes.split_whitespace().map(str::to_owned).collect();
    let new = NewClient {
        org: org_sourced_id,
        scopes: &scopes,
        name,
    };
    let (client, client_secret) = create_client(db, &new, actor).await?;
    Ok(IssuedClient {
        client_id: client.sourced_id,
        client_secret,
    })
}

/// Creates a client; returns its row and its secret (shown once, stored only as a hash).
///
/// Expected failures are `BAD_USER_INPUT` on `organization` (no such active organisation, or one
/// a client cannot act for), `scopes` or `name`.
#[tracing::instrument(skip_all, fields(org.sourced_id = %new.org))]
pub async fn create_client(
    db: &impl ConnectionTrait,
    new: &NewClient<'_>,
    actor: &str,
) -> AppResult<(api_client::Model, String)> {
    let name = match new.name.map(str::trim) {
        Some("") => return Err(AppError::bad_input("name", "`name` may not be blank")),
        Some(name) if name.chars().count() > MAX_NAME_CHARS => {
            return Err(AppError::bad_input(
                "name",
                format!("`name` takes at most {MAX_NAME_CHARS} characters"),
            ));
        }
        other => other,
    };
    let org = org::Entity::find()
        .filter(org::Column::SourcedId.eq(new.org))
        .filter(org::Column::Status.eq(entity::STATUS_ACTIVE))
        .one(db)
        .await?
        .ok_or_else(|| {
            AppError::bad_input(
                "organization",
                format!("no active organisation {:?}", new.org),
            )
        })?;
    if role_for_org_type(&org.org_type).is_none() {
        return Err(AppError::bad_input(
            "organization",
            format!(
                "a client cannot act for a {} organisation; clients act for schools, partners, \
                 the programme office, universities and academic units",
                org.org_type
            ),
        ));
    }
    let scopes = check_scopes(new.scopes, &org.org_type)?;
    let client_id = format!("cli_{}", uuid::Uuid::new_v4().simple());
    let client_secret = new_secret();
    let now = crate::changes::now();
    let client = api_client::ActiveModel {
        sourced_id: Set(client_id.clone()),
        status: Set(entity::STATUS_ACTIVE.to_owned()),
        date_created: Set(now),
        date_last_modified: Set(now),
        version: Set(1),
        metadata: Set(None),
        created_by: Set(Some(actor.to_owned())),
        modified_by: Set(Some(actor.to_owned())),
        name: Set(name.unwrap_or(&client_id).to_owned()),
        org_id: Set(org.id),
        scopes: Set(scopes.join(" ")),
        secret_hash: Set(hash_secret(&client_secret)?),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    tracing::info!(client.id = %client.sourced_id, "integration client created");
    Ok((client, client_secret))
}

fn info(client: api_client::Model, org: &org::Model) -> ClientInfo {
    ClientInfo {
        client_id: client.sourced_id,
        name: client.name,
        org: org.sourced_id.clone(),
        org_type: org.org_type.clone(),
        scopes: client
            .scopes
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        revoked: client.revoked_at.is_some(),
    }
}

/// Every client, oldest first (two statements whatever the number of clients).
pub async fn list(db: &impl ConnectionTrait) -> AppResult<Vec<ClientInfo>> {
    let clients = api_client::Entity::find()
        .order_by_asc(api_client::Column::Id)
        .all(db)
        .await?;
    let orgs: std::collections::HashMap<i64, org::Model> = org::Entity::find()
        .filter(org::Column::Id.is_in(clients.iter().map(|c| c.org_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    clients
        .into_iter()
        .map(|client| {
            let org = orgs.get(&client.org_id).ok_or_else(|| {
                AppError::internal(anyhow::anyhow!("client without organisation"))
            })?;
            Ok(info(client, org))
        })
        .collect()
}

/// A write to one client: the columns to set besides `version`, `date_last_modified` and
/// `modified_by`.
enum Change {
    Rotate { secret_hash: String },
    Revoke,
}

/// Applies `change` to the active, unrevoked client `client_id` in one `UPDATE … RETURNING`
/// whose `WHERE` also holds the optimistic-concurrency check (`version = expected`), so a stale
/// writer changes nothing. When no row was updated, a read says why.
async fn update_client(
    db: &impl ConnectionTrait,
    client_id: &str,
    expected_version: Option<i32>,
    change: Change,
    actor: &str,
) -> AppResult<api_client::Model> {
    let now = crate::changes::now();
    let mut update = api_client::Entity::update_many()
        .col_expr(
            api_client::Column::Version,
            Expr::col(api_client::Column::Version).add(1),
        )
        .col_expr(api_client::Column::DateLastModified, Expr::value(now))
        .col_expr(api_client::Column::ModifiedBy, Expr::value(actor))
        .filter(api_client::Column::SourcedId.eq(client_id))
        .filter(api_client::Column::Status.eq(entity::STATUS_ACTIVE))
        .filter(api_client::Column::RevokedAt.is_null());
    update = match change {
        Change::Rotate { secret_hash } => {
            update.col_expr(api_client::Column::SecretHash, Expr::value(secret_hash))
        }
        Change::Revoke => update.col_expr(api_client::Column::RevokedAt, Expr::value(now)),
    };
    if let Some(expected) = expected_version {
        update = update.filter(api_client::Column::Version.eq(expected));
    }
    let mut statement = update.into_query();
    statement.returning_all();
    let statement = db.get_database_backend().build(&statement);
    if let Some(updated) = api_client::Entity::find()
        .from_raw_sql(statement)
        .one(db)
        .await?
    {
        return Ok(updated);
    }
    let current = api_client::Entity::find()
        .filter(api_client::Column::SourcedId.eq(client_id))
        .filter(api_client::Column::Status.eq(entity::STATUS_ACTIVE))
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound("client".into()))?;
    if current.revoked_at.is_some() {
        return Err(write::invalid_transition(format!(
            "ApiClient {client_id} is revoked; a revoked client cannot change"
        )));
    }
    match expected_version {
        Some(expected) if expected != current.version => Err(write::version_conflict(
            "ApiClient",
            client_id,
            current.version,
            expected,
        )),
        // The row changed between the two statements: report it as a conflict to retry.
        _ => Err(AppError::Conflict {
            code: ErrorCode::VersionConflict,
            message: format!(
                "ApiClient {client_id} changed concurrently; it is now at version {}",
                current.version
            ),
        }),
    }
}

/// Replaces a client's secret; returns the client and the new secret (shown once). The old
/// secret stops working for `/oauth/token` at once; tokens already issued stay valid until they
/// expire (revoke the client to cut them off).
///
/// Expected failures: `NOT_FOUND` (no such client), `INVALID_TRANSITION` (revoked),
/// `VERSION_CONFLICT` (`expected_version` is stale).
#[tracing::instrument(skip_all, fields(client.id = %client_id))]
pub async fn rotate(
    db: &impl ConnectionTrait,
    client_id: &str,
    expected_version: Option<i32>,
    actor: &str,
) -> AppResult<(api_client::Model, String)> {
    let secret = new_secret();
    let change = Change::Rotate {
        secret_hash: hash_secret(&secret)?,
    };
    let client = update_client(db, client_id, expected_version, change, actor).await?;
    tracing::info!("integration client secret rotated");
    Ok((client, secret))
}

/// Revokes a client: `/oauth/token` refuses it and its tokens stop working on the next request.
///
/// Expected failures: `NOT_FOUND` (no such client), `INVALID_TRANSITION` (already revoked),
/// `VERSION_CONFLICT` (`expected_version` is stale).
#[tracing::instrument(skip_all, fields(client.id = %client_id))]
pub async fn revoke_client(
    db: &impl ConnectionTrait,
    client_id: &str,
    expected_version: Option<i32>,
    actor: &str,
) -> AppResult<api_client::Model> {
    let client = update_client(db, client_id, expected_version, Change::Revoke, actor).await?;
    tracing::info!("integration client revoked");
    Ok(client)
}

/// Revokes a client, succeeding when it is already revoked (the CLI's `api client revoke`).
pub async fn revoke(db: &impl ConnectionTrait, client_id: &str, actor: &str) -> AppResult<()> {
    match revoke_client(db, client_id, None, actor).await {
        Ok(_) => Ok(()),
        Err(AppError::Conflict {
            code: ErrorCode::InvalidTransition,
            ..
        }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Whether the viewer may manage integration clients: a person (not a client) holding
/// programmeAdmin. Clients never manage clients, whatever roles their token carries.
pub fn manages_clients(viewer: &Viewer) -> bool {
    viewer
        .principal()
        .is_some_and(|p| p.client_id.is_none() && p.roles.contains(&Role::ProgrammeAdmin))
}

/// `UNAUTHENTICATED` without a token, `FORBIDDEN` for anyone but a programmeAdmin person.
pub fn require_client_admin(viewer: &Viewer) -> AppResult<&Principal> {
    let principal = viewer.principal().ok_or(AppError::Unauthenticated)?;
    if manages_clients(viewer) {
        Ok(principal)
    } else {
        Err(AppError::Forbidden)
    }
}

/// Clients are visible to programmeAdmin only: lists, `node` and relations show nobody else any.
impl Scoped for api_client::Entity {
    const TYPE_NAME: &'static str = "ApiClient";
    fn scope(viewer: &Viewer) -> AppResult<Condition> {
        match viewer {
            Viewer::Anonymous => Err(AppError::Unauthenticated),
            _ if manages_clients(viewer) => Ok(access::allow()),
            _ => Ok(access::deny()),
        }
    }
}

/// The active, unrevoked client with this id and secret; `None` for any mismatch.
pub async fn authenticate(
    db: &impl ConnectionTrait,
    client_id: &str,
    secret: &str,
) -> AppResult<Option<ClientInfo>> {
    let Some(client) = active(db, client_id).await? else {
        // Spend comparable time on unknown ids, so response time does not reveal them.
        let _ = hash_secret(secret);
        return Ok(None);
    };
    let Ok(hash) = PasswordHash::new(&client.secret_hash) else {
        return Err(AppError::internal(anyhow::anyhow!(
            "stored client secret hash is malformed"
        )));
    };
    if Argon2::default()
        .verify_password(secret.as_bytes(), &hash)
        .is_err()
    {
        return Ok(None);
    }
    let org = org::Entity::find_by_id(client.org_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("client without organisation")))?;
    Ok(Some(info(client, &org)))
}

/// The client if it exists, is active and is not revoked.
pub async fn active(
    db: &impl ConnectionTrait,
    client_id: &str,
) -> AppResult<Option<api_client::Model>> {
    Ok(api_client::Entity::find()
        .filter(api_client::Column::SourcedId.eq(client_id))
        .filter(api_client::Column::Status.eq(entity::STATUS_ACTIVE))
        .filter(api_client::Column::RevokedAt.is_null())
        .one(db)
        .await?)
}

/// The role a client acts in: exactly what the matching person at its organisation may do.
pub fn role_for_org_type(org_type: &str) -> Option<&'static str> {
    match org_type {
        "secondarySchool" => Some("schoolCoordinator"),
        "industryPartner" => Some("partnerCoordinator"),
        "programmeOffice" => Some("programmeStaff"),
        "academicUnit" | "university" => Some("academicLead"),
        _ => None,
    }
}
