//! Integration clients through GraphQL (DOMAIN.md section 4), for programmeAdmin only: the
//! `ApiClient` type, the `apiClients` list, and the `createApiClient`, `rotateApiClientSecret`
//! and `revokeApiClient` mutations. A client's secret appears once, in the payload of the
//! mutation that made it; its hash is never exposed.

use async_graphql::{ComplexObject, Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{api_client, org};
use sea_orm::Condition;

use super::common::*;
use super::connection::{Conn, ListArgs, db, load_one, viewer};
use super::orgs::Organization;
use super::payload::{UserError, user_error};
use super::record::{list, list_inputs, page_cost, record_object};
use crate::error::{AppError, AppResult, ErrorCode, ResultExt};
use crate::service::clients::{self, NewClient};

filter_input!(
    /// Filter on integration clients.
    ApiClientFilter {
        /// The client id.
        client_id: StringFilter => column(api_client::Column::SourcedId),
        /// The client's name.
        name: StringFilter => column(api_client::Column::Name),
        /// The organisation the client acts for.
        organization: IdFilter => reference(api_client::Column::OrgId, "org", "Organization", "organization"),
        /// When the client was revoked; `{ isNull: true }` keeps the clients still in use.
        revoked_at: DateTimeFilter => column(api_client::Column::RevokedAt),
        /// Creation time.
        date_created: DateTimeFilter => column(api_client::Column::DateCreated),
        /// Last change.
        date_last_modified: DateTimeFilter => column(api_client::Column::DateLastModified),
    }
);

order_input!(
    /// Sort order for integration clients.
    ApiClientOrder, ApiClientOrderField for api_client::Column {
        /// The client id.
        ClientId => api_client::Column::SourcedId,
        /// The client's name.
        Name => api_client::Column::Name,
        /// Creation time.
        DateCreated => api_client::Column::DateCreated,
        /// Last change.
        DateLastModified => api_client::Column::DateLastModified,
    }
);
list_inputs!(ApiClientFilter, ApiClientOrder, api_client::Column);

record_object!(
    /// An integration client: a system that obtains tokens at `POST /oauth/token` with its client
    /// id and secret (OAuth 2 client credentials), bound to one organisation and a set of scopes.
    /// Visible to programmeAdmin only.
    ApiClient(api_client::Model)
);

#[ComplexObject]
impl ApiClient {
    /// The public client id (`client_id` at `POST /oauth/token`); the same as `sourcedId`.
    async fn client_id(&self) -> &str {
        &self.row.sourced_id
    }

    /// A name to recognise the client by (the client id unless one was given).
    async fn name(&self) -> &str {
        &self.row.name
    }

    /// The organisation the client acts for. The client acts in the role that matches the
    /// organisation's type (a school's client as schoolCoordinator, a partner's as
    /// partnerCoordinator, the programme office's as programmeStaff, a university's or academic
    /// unit's as academicLead).
    async fn organization(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        load_one::<org::Entity, Organization>(ctx, self.row.org_id)
            .await
            .extend()
    }

    /// The scopes granted (DOMAIN.md section 4); a token may ask for some of them.
    async fn scopes(&self) -> Vec<&str> {
        self.row.scopes.split_whitespace().collect()
    }

    /// Whether the client is revoked: it gets no tokens and its tokens no longer work.
    async fn revoked(&self) -> bool {
        self.row.revoked_at.is_some()
    }

    /// When the client was revoked (UTC); null while it is in use.
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.row.revoked_at
    }
}

/// The client to create.
#[derive(InputObject)]
pub struct CreateApiClientInput {
    /// The organisation the client acts for: its global id or sourcedId. A school, a partner,
    /// the programme office, a university or an academic unit.
    pub organization: ID,
    /// Scopes to grant (DOMAIN.md section 4), at least one. A partner's client never gets
    /// `pii.student.read` or `consent.write`.
    pub scopes: Vec<String>,
    /// A name to recognise the client by; defaults to the client id.
    pub name: Option<String>,
}

/// The result of `createApiClient`.
#[derive(SimpleObject, Default)]
pub struct CreateApiClientPayload {
    /// The new client; null when nothing was created.
    pub api_client: Option<ApiClient>,
    /// The client's secret. Shown this once only: store it now (it is kept as a hash).
    pub client_secret: Option<String>,
    /// Expected failures; nothing was written when there are any.
    pub user_errors: Vec<UserError>,
}

/// The client whose secret to replace.
#[derive(InputObject)]
pub struct RotateApiClientSecretInput {
    /// The client: its global id or client id.
    pub api_client: ID,
    /// The version last read; a different current version is `VERSION_CONFLICT`.
    pub expected_version: Option<i32>,
}

/// The result of `rotateApiClientSecret`.
#[derive(SimpleObject, Default)]
pub struct RotateApiClientSecretPayload {
    /// The client after the change; null when nothing changed.
    pub api_client: Option<ApiClient>,
    /// The new secret. Shown this once only: store it now (it is kept as a hash).
    pub client_secret: Option<String>,
    /// Expected failures; nothing was written when there are any.
    pub user_errors: Vec<UserError>,
}

/// The client to revoke.
#[derive(InputObject)]
pub struct RevokeApiClientInput {
    /// The client: its global id or client id.
    pub api_client: ID,
    /// The version last read; a different current version is `VERSION_CONFLICT`.
    pub expected_version: Option<i32>,
}

/// The result of `revokeApiClient`.
#[derive(SimpleObject, Default)]
pub struct RevokeApiClientPayload {
    /// The client after the change; null when nothing changed.
    pub api_client: Option<ApiClient>,
    /// Expected failures; nothing was written when there are any.
    pub user_errors: Vec<UserError>,
}

/// A service failure as a user error, or the top-level error it must stay. An unknown client
/// is a `NOT_FOUND` user error on `["input", "apiClient"]`.
fn client_user_error(error: AppError) -> Result<UserError> {
    match error {
        AppError::NotFound(_) => Ok(UserError::new(
            Some(&["input", "apiClient"]),
            ErrorCode::NotFound,
            "no such client",
        )),
        other => user_error(other).extend(),
    }
}

/// The subject of the programmeAdmin calling; `UNAUTHENTICATED`/`FORBIDDEN` for anyone else.
fn admin_subject(ctx: &Context<'_>) -> AppResult<String> {
    let viewer = viewer(ctx)?;
    Ok(clients::require_client_admin(viewer)?.subject.clone())
}

#[derive(Default)]
pub struct ClientsQuery;

#[Object]
impl ClientsQuery {
    /// Integration clients, oldest first unless `orderBy` says otherwise (revoked ones
    /// included). programmeAdmin only: other callers get `FORBIDDEN`.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn api_clients(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<ApiClientFilter>,
        order_by: Option<Vec<ApiClientOrder>>,
    ) -> Result<Conn<ApiClient>> {
        admin_subject(ctx).extend()?;
        let args = ListArgs {
            first,
            after,
            last,
            before,
            ..ListArgs::default()
        };
        list::<api_client::Entity, _, _, _>(ctx, None, args, filter, order_by, Condition::all())
            .await
            .extend()
    }
}

#[derive(Default)]
pub struct ClientsMutation;

#[Object]
impl ClientsMutation {
    /// Creates an integration client and returns its secret, shown this once only.
    /// programmeAdmin only: other callers get `FORBIDDEN` and nothing is written.
    async fn create_api_client(
        &self,
        ctx: &Context<'_>,
        input: CreateApiClientInput,
    ) -> Result<CreateApiClientPayload> {
        let actor = admin_subject(ctx).extend()?;
        let org = match sourced_id_of("Organization", "organization", input.organization.as_str()) {
            Ok(org) => org,
            Err(e) => return Ok(failed_create(user_error(e).extend()?)),
        };
        let new = NewClient {
            org: &org,
            scopes: &input.scopes,
            name: input.name.as_deref(),
        };
        match clients::create_client(db(ctx).extend()?, &new, &actor).await {
            Ok((client, secret)) => Ok(CreateApiClientPayload {
                api_client: Some(client.into()),
                client_secret: Some(secret),
                user_errors: Vec::new(),
            }),
            Err(e) => Ok(failed_create(user_error(e).extend()?)),
        }
    }

    /// Replaces a client's secret and returns the new one, shown this once only. The old secret
    /// stops working at `POST /oauth/token` at once; tokens already issued with it stay valid
    /// until they expire (15 minutes at most): revoke the client to cut them off.
    /// programmeAdmin only: other callers get `FORBIDDEN` and nothing is written.
    async fn rotate_api_client_secret(
        &self,
        ctx: &Context<'_>,
        input: RotateApiClientSecretInput,
    ) -> Result<RotateApiClientSecretPayload> {
        let actor = admin_subject(ctx).extend()?;
        let client_id = match sourced_id_of("ApiClient", "apiClient", input.api_client.as_str()) {
            Ok(id) => id,
            Err(e) => return Ok(failed_rotate(client_user_error(e)?)),
        };
        let db = db(ctx).extend()?;
        match clients::rotate(db, &client_id, input.expected_version, &actor).await {
            Ok((client, secret)) => Ok(RotateApiClientSecretPayload {
                api_client: Some(client.into()),
                client_secret: Some(secret),
                user_errors: Vec::new(),
            }),
            Err(e) => Ok(failed_rotate(client_user_error(e)?)),
        }
    }

    /// Revokes a client for good: it gets no more tokens, and the tokens it holds stop working
    /// on their next request. Revoking a revoked client is `INVALID_TRANSITION`.
    /// programmeAdmin only: other callers get `FORBIDDEN` and nothing is written.
    async fn revoke_api_client(
        &self,
        ctx: &Context<'_>,
        input: RevokeApiClientInput,
    ) -> Result<RevokeApiClientPayload> {
        let actor = admin_subject(ctx).extend()?;
        let client_id = match sourced_id_of("ApiClient", "apiClient", input.api_client.as_str()) {
            Ok(id) => id,
            Err(e) => return Ok(failed_revoke(client_user_error(e)?)),
        };
        let db = db(ctx).extend()?;
        match clients::revoke_client(db, &client_id, input.expected_version, &actor).await {
            Ok(client) => Ok(RevokeApiClientPayload {
                api_client: Some(client.into()),
                user_errors: Vec::new(),
            }),
            Err(e) => Ok(failed_revoke(client_user_error(e)?)),
        }
    }
}

fn failed_create(error: UserError) -> CreateApiClientPayload {
    CreateApiClientPayload {
        user_errors: vec![error],
        ..Default::default()
    }
}

fn failed_rotate(error: UserError) -> RotateApiClientSecretPayload {
    RotateApiClientSecretPayload {
        user_errors: vec![error],
        ..Default::default()
    }
}

fn failed_revoke(error: UserError) -> RevokeApiClientPayload {
    RevokeApiClientPayload {
        user_errors: vec![error],
        ..Default::default()
    }
}
