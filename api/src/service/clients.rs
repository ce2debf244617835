//! Integration clients (OAuth 2 client credentials, DOMAIN.md section 4): create, list, revoke,
//! and authenticate by secret. Secrets are shown once and stored only as argon2 hashes.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use entity::{api_client, org};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

use crate::error::{AppError, AppResult};

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
    let mut scopes: Vec<String> = Vec::new();
    for scope in text.split_whitespace() {
        if !SCOPES.contains(&scope) {
            return Err(AppError::bad_input(
                "scopes",
                format!("unknown scope {scope:?}"),
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
    Ok(scopes)
}

fn hash_secret(secret: &str) -> AppResult<String> {
    let salt = SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes())
        .map_err(|e| AppError::internal(anyhow::anyhow!("salt: {e}")))?;
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| AppError::internal(anyhow::anyhow!("argon2: {e}")))
}

/// Creates a client for the organisation `org_sourced_id` with `scopes`.
pub async fn create(
    db: &impl ConnectionTrait,
    org_sourced_id: &str,
    scopes: &str,
    name: Option<&str>,
    actor: &str,
) -> AppResult<IssuedClient> {
    let org = org::Entity::find()
        .filter(org::Column::SourcedId.eq(org_sourced_id))
        .filter(org::Column::Status.eq(entity::STATUS_ACTIVE))
        .one(db)
        .await?
        .ok_or_else(|| {
            AppError::bad_input("org", format!("no active organisation {org_sourced_id:?}"))
        })?;
    let scopes = parse_scopes(scopes, &org.org_type)?;
    let client_id = format!("cli_{}", uuid::Uuid::new_v4().simple());
    let client_secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let now = crate::changes::now();
    api_client::ActiveModel {
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
    Ok(IssuedClient {
        client_id,
        client_secret,
    })
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

/// Revokes a client: its tokens stop working on the next request.
pub async fn revoke(db: &impl ConnectionTrait, client_id: &str, actor: &str) -> AppResult<()> {
    let client = api_client::Entity::find()
        .filter(api_client::Column::SourcedId.eq(client_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound("client".into()))?;
    if client.revoked_at.is_some() {
        return Ok(());
    }
    let now = crate::changes::now();
    let version = client.version;
    let mut active: api_client::ActiveModel = client.into();
    active.revoked_at = Set(Some(now));
    active.date_last_modified = Set(now);
    active.version = Set(version + 1);
    active.modified_by = Set(Some(actor.to_owned()));
    active.update(db).await?;
    Ok(())
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
