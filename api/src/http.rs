//! HTTP transport (API.md sections 1 and 5): `/graphql` (POST, GET, GraphiQL), `/healthz`,
//! `/readyz`, `/metrics`, and the `X-Request-Id` on every response.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use async_graphql::http::GraphiQLSource;
use async_graphql::parser::types::OperationType;
use async_graphql::{ErrorExtensions, ServerError};
use migration::{Migrator, MigratorTrait};
use sea_orm::DatabaseConnection;
use serde::Deserialize;

use crate::audit;
use crate::auth::Viewer;
use crate::auth::jwt::{TokenKeys, TokenRequest};
use crate::error::{AppError, ErrorCode};
use crate::graphql::AppSchema;
use crate::graphql::connection::RequestContext;
use crate::idempotency::{self, Claim, Idempotency};
use crate::metrics::Metrics;
use crate::service::{clients, rate_limit};

pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// Shared state of every worker (built once, cloned into `web::Data`).
pub struct AppState {
    pub schema: AppSchema,
    pub db: DatabaseConnection,
    pub keys: Arc<TokenKeys>,
    pub metrics: Arc<Metrics>,
    pub playground: bool,
    pub request_timeout: Duration,
    pub batch_delay: Duration,
    /// Lifetime of client-credentials tokens (`APP_AUTH__TOKEN_TTL_SECONDS`, 15 minutes).
    pub client_token_ttl: i64,
    /// `Idempotency-Key` handling (`APP_IDEMPOTENCY__…`).
    pub idempotency: Idempotency,
}

/// The request id of this request (set by the middleware in `startup`).
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Takes a sane client-supplied `X-Request-Id` or makes one.
pub fn request_id_for(req: &actix_web::dev::ServiceRequest) -> String {
    req.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 128
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

fn request_id(req: &HttpRequest) -> String {
    req.extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default()
}

/// Whether the client asked for `application/graphql-response+json`.
fn wants_graphql_response(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains(GRAPHQL_RESPONSE_JSON))
}

/// A response carrying only errors, before execution. With `application/json` a GraphQL request
/// error is HTTP 200 (the error is in the body); with `application/graphql-response+json` it is
/// `status`.
fn error_response(
    req: &HttpRequest,
    status: actix_web::http::StatusCode,
    err: AppError,
) -> HttpResponse {
    errors_only(req, graphql_status(req, status), err)
}

/// `status` for a client that accepts `application/graphql-response+json`, else 200.
fn graphql_status(
    req: &HttpRequest,
    status: actix_web::http::StatusCode,
) -> actix_web::http::StatusCode {
    if wants_graphql_response(req) {
        status
    } else {
        actix_web::http::StatusCode::OK
    }
}

/// A transport-level failure (no usable GraphQL request): always the given 4xx status.
fn transport_error(
    req: &HttpRequest,
    status: actix_web::http::StatusCode,
    err: AppError,
) -> HttpResponse {
    errors_only(req, status, err)
}

fn errors_only(
    req: &HttpRequest,
    status: actix_web::http::StatusCode,
    err: AppError,
) -> HttpResponse {
    respond(req, errors_reply(req, status, err))
}

/// A GraphQL response before it becomes HTTP: what an idempotency key stores.
struct Reply {
    status: actix_web::http::StatusCode,
    body: serde_json::Value,
    /// Send `WWW-Authenticate: Bearer` (a request refused as `UNAUTHENTICATED`).
    challenge: bool,
}

/// The reply carrying only `err`.
fn errors_reply(req: &HttpRequest, status: actix_web::http::StatusCode, err: AppError) -> Reply {
    let gql = err.extend();
    let mut extensions =
        serde_json::json!({ "code": err.code().as_str(), "requestId": request_id(req) });
    if let (AppError::BadUserInput { field, .. }, Some(map)) = (&err, extensions.as_object_mut()) {
        map.insert("field".into(), serde_json::Value::from(field.as_str()));
    }
    let body =
        serde_json::json!({ "errors": [{ "message": gql.message, "extensions": extensions }] });
    Reply {
        status,
        body,
        challenge: err.code() == ErrorCode::Unauthenticated,
    }
}

/// The HTTP response of a reply, in the media type the client asked for.
fn respond(req: &HttpRequest, reply: Reply) -> HttpResponse {
    let content_type = if wants_graphql_response(req) {
        GRAPHQL_RESPONSE_JSON
    } else {
        "application/json"
    };
    let mut response = HttpResponse::build(reply.status);
    response.insert_header((header::CONTENT_TYPE, content_type));
    if reply.challenge {
        response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
    }
    match serde_json::to_vec(&reply.body) {
        Ok(body) => response.body(body),
        Err(e) => {
            let _ = AppError::internal(e).extend();
            HttpResponse::InternalServerError().finish()
        }
    }
}

/// The error codes of a response body, for metrics.
fn error_codes(body: &serde_json::Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["extensions"]["code"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The caller, from the `Authorization` header. No header is anonymous; a bad one is an error.
async fn authenticate(state: &AppState, req: &HttpRequest) -> Result<Viewer, AppError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(Viewer::Anonymous);
    };
    let text = value.to_str().map_err(|_| AppError::Unauthenticated)?;
    let token = text
        .strip_prefix("Bearer ")
        .or_else(|| text.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(AppError::Unauthenticated)?;
    // A token naming the trusted external issuer is verified against its keys and mapped to an
    // account; every other token must be one of ours.
    let claims = match state.keys.external_issuer_for(token) {
        Some(external) => external.authenticate(&state.db, token).await?,
        None => state.keys.verify(token)?,
    };
    // A client's token works only while the client is active: revocation takes effect at once.
    if let Some(client_id) = &claims.client_id
        && clients::active(&state.db, client_id).await?.is_none()
    {
        return Err(AppError::Unauthenticated);
    }
    Viewer::from_claims(&state.db, claims).await
}

/// Sets `extensions.code` (when missing) and `extensions.requestId` on every error.
fn finish_errors(errors: &mut [ServerError], request_id: &str) -> Vec<String> {
    let mut codes = Vec::with_capacity(errors.len());
    for error in errors.iter_mut() {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        let code = match extensions.get("code") {
            Some(async_graphql::Value::String(code)) => code.clone(),
            _ => {
                // Parse and validation errors from the GraphQL engine itself.
                extensions.set("code", ErrorCode::BadUserInput.as_str());
                ErrorCode::BadUserInput.as_str().to_owned()
            }
        };
        extensions.set("requestId", request_id);
        codes.push(code);
    }
    codes
}

/// What the transport needs to know about a document before running it.
struct DocumentInfo {
    /// The operation's name (from `operationName` or the document), for metrics.
    operation: String,
    is_mutation: bool,
}

fn document_info(request: &mut async_graphql::Request) -> DocumentInfo {
    let operation_name = request.operation_name.clone();
    // Parsed once here; async-graphql reuses the parsed document when it executes the request.
    let Ok(doc) = request.parsed_query() else {
        return DocumentInfo {
            operation: operation_name.unwrap_or_default(),
            is_mutation: false,
        };
    };
    let selected = match &operation_name {
        Some(name) => doc
            .operations
            .iter()
            .find(|(n, _)| n.is_some_and(|n| n.as_str() == name)),
        None => doc.operations.iter().next(),
    };
    DocumentInfo {
        operation: selected
            .and_then(|(name, _)| name.map(|n| n.to_string()))
            .unwrap_or_default(),
        is_mutation: selected.is_some_and(|(_, op)| op.node.ty == OperationType::Mutation),
    }
}

/// PostgreSQL cannot hold NUL in text and no identifier or name contains one: refuse it at the
/// boundary, in the document (raw or escaped) and in variables.
fn contains_nul(request: &async_graphql::Request) -> bool {
    fn in_value(value: &async_graphql::Value) -> bool {
        match value {
            async_graphql::Value::String(s) => s.contains('\0'),
            async_graphql::Value::List(items) => items.iter().any(in_value),
            async_graphql::Value::Object(map) => {
                map.iter().any(|(k, v)| k.contains('\0') || in_value(v))
            }
            _ => false,
        }
    }
    let query = request.query.to_ascii_lowercase();
    query.contains('\0')
        || query.contains("\\u0000")
        || query.contains("\\u{0}")
        || request
            .variables
            .iter()
            .any(|(k, v)| k.contains('\0') || in_value(v))
}

/// Puts `null` where an errored nullable field is missing from `data` (async-graphql 7 leaves it
/// out; GraphQL requires the key with a null value).
fn restore_error_nulls(data: &mut serde_json::Value, errors: &[ServerError]) {
    fn insert_null(node: &mut serde_json::Value, path: &[async_graphql::PathSegment]) {
        match path {
            [async_graphql::PathSegment::Field(name)] => {
                if let Some(object) = node.as_object_mut() {
                    object
                        .entry(name.clone())
                        .or_insert(serde_json::Value::Null);
                }
            }
            [first, rest @ ..] => {
                let child = match first {
                    async_graphql::PathSegment::Field(name) => node.get_mut(name.as_str()),
                    async_graphql::PathSegment::Index(i) => node.get_mut(*i),
                };
                if let Some(child) = child {
                    insert_null(child, rest);
                }
            }
            [] => {}
        }
    }
    for error in errors {
        insert_null(data, &error.path);
    }
}

async fn execute(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    mut request: async_graphql::Request,
    only_queries: bool,
) -> HttpResponse {
    let started = Instant::now();
    let _in_flight = state.metrics.start();
    let request_id = request_id(req);
    let info = document_info(&mut request);
    let observe_refusal = |err: &AppError| {
        state.metrics.observe(
            &info.operation,
            started.elapsed().as_secs_f64(),
            &[err.code().as_str().to_owned()],
        );
    };
    let viewer = match authenticate(state, req).await {
        Ok(viewer) => viewer,
        Err(err) => {
            observe_refusal(&err);
            return error_response(req, actix_web::http::StatusCode::UNAUTHORIZED, err);
        }
    };
    if only_queries && info.is_mutation {
        return HttpResponse::MethodNotAllowed()
            .insert_header((header::ALLOW, "POST"))
            .json(serde_json::json!({
                "errors": [{ "message": "mutations must use POST", "extensions": { "code": "BAD_USER_INPUT", "requestId": request_id } }]
            }));
    }
    if contains_nul(&request) {
        let err = AppError::bad_input("query", "text values may not contain NUL characters");
        observe_refusal(&err);
        return error_response(req, actix_web::http::StatusCode::BAD_REQUEST, err);
    }
    // Mutations only (a GET mutation was refused above); a query ignores the header.
    let key = match idempotency::requested_key(req.headers(), &viewer, info.is_mutation) {
        Ok(key) => key,
        Err(err) => {
            observe_refusal(&err);
            let status = match err.code() {
                ErrorCode::Unauthenticated => actix_web::http::StatusCode::UNAUTHORIZED,
                _ => actix_web::http::StatusCode::BAD_REQUEST,
            };
            return error_response(req, status, err);
        }
    };
    match key {
        None => respond(req, run(state, req, request, viewer, &info, started).await),
        Some(key) => {
            let admitted = Admitted {
                request,
                viewer,
                info,
                started,
            };
            run_with_key(state, req, admitted, key).await
        }
    }
}

/// A request past authentication and the transport checks, ready to run.
struct Admitted {
    request: async_graphql::Request,
    viewer: Viewer,
    info: DocumentInfo,
    started: Instant,
}

/// A mutation carrying an `Idempotency-Key` (docs/idempotency.md): claim the key, then run and
/// finish the attempt, replay the stored response, or refuse.
async fn run_with_key(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    admitted: Admitted,
    key: idempotency::RequestedKey,
) -> HttpResponse {
    let observe = |codes: &[String]| {
        state.metrics.observe(
            &admitted.info.operation,
            admitted.started.elapsed().as_secs_f64(),
            codes,
        );
    };
    let hash = idempotency::request_hash(&admitted.request);
    let ticket = match state.idempotency.claim(&state.db, &key, &hash).await {
        Ok(Claim::Owned(ticket)) => ticket,
        Ok(Claim::Replay(stored)) => {
            let mut body = stored.body;
            let original = stored.request_id.as_deref();
            idempotency::annotate(&mut body, &key.key, true, &request_id(req), original);
            observe(&error_codes(&body));
            let status = actix_web::http::StatusCode::from_u16(stored.status)
                .unwrap_or(actix_web::http::StatusCode::OK);
            let challenge = false;
            return respond(
                req,
                Reply {
                    status,
                    body,
                    challenge,
                },
            );
        }
        Ok(Claim::Refused(err)) => {
            observe(&[err.code().as_str().to_owned()]);
            let in_progress = err.code() == ErrorCode::IdempotencyInProgress;
            let mut response = error_response(req, actix_web::http::StatusCode::CONFLICT, err);
            if in_progress {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            return response;
        }
        Err(err) => {
            observe(&[err.code().as_str().to_owned()]);
            let status = match err {
                AppError::Unavailable => actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                _ => actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
            };
            return error_response(req, status, err);
        }
    };
    // The attempt runs to its end on the worker even if the client goes away, so that its
    // outcome is stored (or its key released) rather than left to the lease.
    let attempt = actix_web::rt::spawn({
        let (state, req) = (state.clone(), req.clone());
        async move {
            let Admitted {
                request,
                viewer,
                info,
                started,
            } = admitted;
            let run = run(&state, &req, request, viewer, &info, started);
            let mut reply = idempotency::holding(ticket.clone(), run).await;
            let request_id = request_id(&req);
            let status = reply.status.as_u16();
            (state.idempotency)
                .finish(&state.db, &ticket, status, &reply.body, &request_id)
                .await;
            idempotency::annotate(&mut reply.body, &key.key, false, &request_id, None);
            reply
        }
    });
    match attempt.await {
        Ok(reply) => respond(req, reply),
        Err(e) => error_response(
            req,
            actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
            AppError::internal(anyhow::anyhow!("idempotent attempt failed: {e}")),
        ),
    }
}

/// Executes an admitted request: the schema under the request deadline, the access audit of
/// named student reads, metrics, and the GraphQL-over-HTTP shape of the result.
async fn run(
    state: &AppState,
    req: &HttpRequest,
    request: async_graphql::Request,
    viewer: Viewer,
    info: &DocumentInfo,
    started: Instant,
) -> Reply {
    let request_id = request_id(req);
    let context = RequestContext::new(state.db.clone(), viewer, state.batch_delay);
    let (audit_log, audit_viewer) = (context.audit.clone(), context.viewer.clone());
    let request = request.data(context);
    let mut response =
        match tokio::time::timeout(state.request_timeout, state.schema.execute(request)).await {
            Ok(response) => response,
            Err(_) => async_graphql::Response::from_errors(vec![
                AppError::Timeout
                    .extend()
                    .into_server_error(async_graphql::Pos::default()),
            ]),
        };
    // Named student reads are audited before the data leaves; no audit, no data.
    let audited = audit_log.take();
    if !audited.is_empty()
        && !matches!(response.data, async_graphql::Value::Null)
        && let Err(err) = audit::write(&state.db, &audit_viewer, audited, &request_id).await
    {
        tracing::error!(error = ?err, request_id = %request_id, "access audit write failed; read refused");
        let err = match err {
            AppError::Unavailable => AppError::Unavailable,
            _ => AppError::internal(anyhow::anyhow!("access audit write failed")),
        };
        state.metrics.observe(
            &info.operation,
            started.elapsed().as_secs_f64(),
            &[err.code().as_str().to_owned()],
        );
        let status = graphql_status(req, actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
        return errors_reply(req, status, err);
    }
    let codes = finish_errors(&mut response.errors, &request_id);
    state
        .metrics
        .observe(&info.operation, started.elapsed().as_secs_f64(), &codes);

    let graphql_response = wants_graphql_response(req);
    // Errors without a path come from parsing, validation or limits: the request never ran.
    let not_executed = matches!(response.data, async_graphql::Value::Null)
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let status = if graphql_response && not_executed {
        actix_web::http::StatusCode::BAD_REQUEST
    } else {
        actix_web::http::StatusCode::OK
    };
    // A request that failed before execution has no `data` entry (GraphQL over HTTP).
    let body = serde_json::to_value(&response).map(|mut value| {
        if let Some(object) = value.as_object_mut() {
            if not_executed {
                object.remove("data");
            } else if let Some(data) = object.get_mut("data") {
                restore_error_nulls(data, &response.errors);
            }
        }
        value
    });
    match body {
        Ok(body) => Reply {
            status,
            body,
            challenge: false,
        },
        Err(e) => {
            let status = graphql_status(req, actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
            errors_reply(req, status, AppError::internal(e))
        }
    }
}

/// `POST /graphql`: a JSON body `{ query, variables, operationName }`.
pub async fn graphql_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !content_type.starts_with("application/json") {
        return transport_error(
            &req,
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::bad_input("content-type", "send the request as application/json"),
        );
    }
    match serde_json::from_slice::<async_graphql::Request>(&body) {
        Ok(request) => execute(&state, &req, request, false).await,
        Err(_) => transport_error(
            &req,
            actix_web::http::StatusCode::BAD_REQUEST,
            AppError::bad_input(
                "body",
                "the body must be a JSON object with a `query` string",
            ),
        ),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetParams {
    query: Option<String>,
    variables: Option<String>,
    operation_name: Option<String>,
}

/// `GET /graphql`: GraphiQL for browsers, else a query in the URL.
pub async fn graphql_get(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let accepts_html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    let params = web::Query::<GetParams>::from_query(req.query_string()).ok();
    let query = params.as_ref().and_then(|p| p.query.clone());
    if accepts_html && state.playground && query.is_none() {
        return HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(
                GraphiQLSource::build()
                    .endpoint("/graphql")
                    .title("Pathway Partner API")
                    .finish(),
            );
    }
    let Some(params) = params else {
        return transport_error(
            &req,
            actix_web::http::StatusCode::BAD_REQUEST,
            AppError::bad_input("query", "bad query string"),
        );
    };
    let Some(query) = query else {
        return transport_error(
            &req,
            actix_web::http::StatusCode::BAD_REQUEST,
            AppError::bad_input("query", "`query` is required"),
        );
    };
    let mut request = async_graphql::Request::new(query);
    if let Some(name) = params.operation_name.clone() {
        request = request.operation_name(name);
    }
    if let Some(variables) = params.variables.as_deref().filter(|v| !v.is_empty()) {
        match serde_json::from_str::<serde_json::Value>(variables) {
            Ok(value) => request = request.variables(async_graphql::Variables::from_json(value)),
            Err(_) => {
                return transport_error(
                    &req,
                    actix_web::http::StatusCode::BAD_REQUEST,
                    AppError::bad_input("variables", "`variables` must be JSON"),
                );
            }
        }
    }
    execute(&state, &req, request, true).await
}

/// `GET /healthz`: the process answers.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// `GET /readyz`: the database answers and no migration is pending.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if state.db.ping().await.is_err() {
        return HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("database unreachable");
    }
    match Migrator::get_pending_migrations(&state.db).await {
        Ok(pending) if pending.is_empty() => {
            HttpResponse::Ok().content_type("text/plain").body("ready")
        }
        Ok(_) => HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("migrations pending"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain")
                .body("database not ready")
        }
    }
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let pool = match &state.db {
        DatabaseConnection::SqlxPostgresPoolConnection(_) => {
            Some(state.db.get_postgres_connection_pool().size())
        }
        DatabaseConnection::SqlxSqlitePoolConnection(_) => {
            Some(state.db.get_sqlite_connection_pool().size())
        }
        _ => None,
    };
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render(pool))
}

/// Puts the request id into request extensions and onto the response.
pub fn set_request_id_header(headers: &mut actix_web::http::header::HeaderMap, id: &str) {
    if let Ok(value) = HeaderValue::from_str(id) {
        headers.insert(header::HeaderName::from_static("x-request-id"), value);
    }
}

/// Token requests a client may make per minute, across all instances, before `429`.
pub const TOKEN_REQUESTS_PER_MINUTE: i64 = 20;

#[derive(Deserialize)]
pub struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
}

/// An RFC 6749 section 5.2 error response.
fn oauth_error(
    status: actix_web::http::StatusCode,
    error: &str,
    description: &str,
) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"));
    if status == actix_web::http::StatusCode::UNAUTHORIZED {
        response.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"oauth\""));
    }
    response.json(serde_json::json!({ "error": error, "error_description": description }))
}

/// `client_id:client_secret` from an HTTP Basic header (RFC 6749 section 2.3.1).
fn basic_credentials(req: &HttpRequest) -> Option<(String, String)> {
    use base64::Engine;
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// `POST /oauth/token`: the OAuth 2 client-credentials grant.
pub async fn oauth_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    use actix_web::http::StatusCode;
    let form_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !form_type {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "send application/x-www-form-urlencoded",
        );
    }
    let Ok(form) = serde_urlencoded::from_bytes::<TokenForm>(&body) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "malformed form body",
        );
    };
    let (client_id, secret) = match (basic_credentials(&req), form.client_id, form.client_secret) {
        (Some(credentials), _, _) => credentials,
        (None, Some(id), Some(secret)) => (id, secret),
        _ => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client authentication required",
            );
        }
    };
    match form.grant_type.as_deref() {
        Some("client_credentials") => {}
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only client_credentials is supported",
            );
        }
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            );
        }
    }
    let limited = rate_limit::hit(
        &state.db,
        &format!("oauth-token:{client_id}"),
        TOKEN_REQUESTS_PER_MINUTE,
        60,
    )
    .await;
    let retry_after = match limited {
        Ok(None) => None,
        Ok(Some(seconds)) => Some(seconds),
        Err(err) => {
            tracing::error!(error = ?err, "token rate limit unavailable");
            return oauth_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "try again later",
            );
        }
    };
    if let Some(retry_after) = retry_after {
        return HttpResponse::TooManyRequests()
            .insert_header((header::RETRY_AFTER, retry_after.to_string()))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({ "error": "slow_down", "error_description": "too many token requests; retry later" }));
    }
    let client = match clients::authenticate(&state.db, &client_id, &secret).await {
        Ok(Some(client)) => client,
        Ok(None) => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "unknown client or wrong secret",
            );
        }
        Err(e) => {
            let _ = e.extend();
            return oauth_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "try again later",
            );
        }
    };
    let granted = match form.scope.as_deref().map(str::split_whitespace) {
        None => client.scopes.clone(),
        Some(requested) => {
            let requested: Vec<String> = requested.map(str::to_owned).collect();
            if requested.iter().any(|s| !client.scopes.contains(s)) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    "a requested scope is not granted to this client",
                );
            }
            requested
        }
    };
    let token = state.keys.sign(&TokenRequest {
        subject: client.client_id.clone(),
        org: client.org.clone(),
        roles: clients::role_for_org_type(&client.org_type)
            .into_iter()
            .map(str::to_owned)
            .collect(),
        scope: granted.join(" "),
        client_id: Some(client.client_id.clone()),
        ttl_seconds: state.client_token_ttl,
    });
    match token {
        Ok(access_token) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"))
            .json(serde_json::json!({
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": state.client_token_ttl,
                "scope": granted.join(" "),
            })),
        Err(e) => {
            let _ = e.extend();
            oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "internal server error",
            )
        }
    }
}
