//! Test support for the integration suite (after zero2prod's `tests/api/helpers.rs`): a fresh
//! application on a fresh database per test, an HTTP client speaking GraphQL to it, tokens, and
//! fixtures that arrange a small known world directly in the database.
#![expect(
    clippy::expect_used,
    reason = "test support: a failed arrange step should abort the test"
)]

pub mod access_world;
pub mod coverage;
pub mod curriculum;
pub mod curriculum_rows;
pub mod curriculum_world;
pub mod feed;
pub mod fixtures;
pub mod writes_offerings;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{LazyLock, Mutex, PoisonError};
use std::thread::JoinHandle;

use api::auth::jwt::{TokenKeys, TokenRequest};
use api::config::{LogSettings, Settings};
use api::startup::Application;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};

/// The HS256 secret of `Settings::for_tests`.
pub const TEST_SECRET: &str = "test-secret-test-secret-test-secret-0123456789";
/// Issuer and audience of `Settings::for_tests`.
pub const TEST_ISSUER: &str = "pathway-partner-api";
/// Key id of `Settings::for_tests`.
pub const TEST_KID: &str = "hs-1";

/// Tracing is silent unless `TEST_LOG` is set (then debug output goes to stderr).
static TRACING: LazyLock<()> = LazyLock::new(|| {
    if std::env::var("TEST_LOG").is_ok_and(|v| !v.is_empty() && v != "0") {
        api::telemetry::init(&LogSettings {
            filter: "debug,sqlx=warn,hyper=info,reqwest=info".into(),
            format: "pretty".into(),
        });
    }
});

/// A running application on its own database.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    pub port: u16,
    pub client: reqwest::Client,
    /// The application's own connection: fixtures arrange data through it.
    pub db: DatabaseConnection,
    pub settings: Settings,
    database: TestDb,
}

/// Where the test database lives; cleaned up when the [`TestApp`] is dropped.
enum TestDb {
    Sqlite { _dir: tempfile::TempDir },
    Postgres { admin_url: String, name: String },
}

/// Apps alive in this process, and the drop threads not yet joined.
static LIVE_APPS: AtomicUsize = AtomicUsize::new(0);
static PENDING_DROPS: Mutex<Vec<JoinHandle<()>>> = Mutex::new(Vec::new());

impl Drop for TestApp {
    fn drop(&mut self) {
        let others = LIVE_APPS.fetch_sub(1, Ordering::SeqCst).saturating_sub(1);
        let mut pending = PENDING_DROPS.lock().unwrap_or_else(PoisonError::into_inner);
        if let TestDb::Postgres { admin_url, name } = &self.database {
            let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
            // The test's runtime is busy dropping us: use a thread with its own small runtime.
            // On PostgreSQL 15 a DROP DATABASE forces a checkpoint (0.5–2 s under load), so the
            // thread is joined only by the last live app; until then drops overlap other tests.
            pending.push(std::thread::spawn(drop_database(
                admin_url.clone(),
                vec![sql],
            )));
        }
        if others == 0 {
            // Possibly the last test of the run: the process may exit right after it.
            for handle in pending.drain(..) {
                let _ = handle.join();
            }
        } else {
            pending.retain(|handle| !handle.is_finished());
        }
    }
}

/// A thread body that runs `statements` on the admin database, ignoring errors.
fn drop_database(admin_url: String, statements: Vec<String>) -> impl FnOnce() + Send + 'static {
    move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        runtime.block_on(async move {
            if let Ok(admin) = Database::connect(admin_url.as_str()).await {
                for sql in statements {
                    let _ = admin.execute_unprepared(&sql).await;
                }
                let _ = admin.close().await;
            }
        });
    }
}

/// Databases this suite names `test_<UUIDv7>`: the UUID's timestamp says when it was made.
/// Leftovers of interrupted runs (older than ten minutes) are dropped once per process, without
/// `FORCE`, so a database still in use is never touched.
static JANITOR: std::sync::Once = std::sync::Once::new();

fn stale_test_database(name: &str, now: std::time::SystemTime) -> bool {
    let Some(hex) = name.strip_prefix("test_") else {
        return false;
    };
    let Ok(id) = uuid::Uuid::try_parse(hex) else {
        return false;
    };
    if hex.len() != 32 || id.get_version_num() != 7 {
        return false;
    }
    let Some(timestamp) = id.get_timestamp() else {
        return false;
    };
    let (secs, _) = timestamp.to_unix();
    let created = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    now.duration_since(created)
        .is_ok_and(|age| age > std::time::Duration::from_secs(600))
}

async fn sweep_stale_databases(admin: &DatabaseConnection, admin_url: &str) {
    let Ok(rows) = admin
        .query_all(sea_orm::Statement::from_string(
            admin.get_database_backend(),
            "SELECT datname FROM pg_database WHERE datname LIKE 'test\\_%'",
        ))
        .await
    else {
        return;
    };
    let now = std::time::SystemTime::now();
    let stale: Vec<String> = rows
        .iter()
        .filter_map(|row| row.try_get_by_index::<String>(0).ok())
        .filter(|name| stale_test_database(name, now))
        .map(|name| format!("DROP DATABASE IF EXISTS \"{name}\""))
        .collect();
    if !stale.is_empty() {
        std::thread::spawn(drop_database(admin_url.to_owned(), stale));
    }
}

/// Splits `postgres://user@host:port/db?opts` into the part before the database name, the
/// database name and the query string (with its `?`).
fn split_database_url(url: &str) -> (&str, &str, &str) {
    let (main, query) = match url.find('?') {
        Some(i) => url.split_at(i),
        None => (url, ""),
    };
    let scheme_end = main.find("://").map_or(0, |i| i + 3);
    match main[scheme_end..].rfind('/') {
        Some(i) => (&main[..scheme_end + i], &main[scheme_end + i + 1..], query),
        None => (main, "", query),
    }
}

async fn make_database() -> (String, TestDb) {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let name = format!("test_{}", uuid::Uuid::now_v7().simple());
            let admin = Database::connect(admin_url.as_str())
                .await
                .expect("connect to TEST_DATABASE_URL");
            let mut sweep = false;
            JANITOR.call_once(|| sweep = true);
            if sweep {
                sweep_stale_databases(&admin, &admin_url).await;
            }
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create the test database");
            let _ = admin.close().await;
            let (base, _, query) = split_database_url(&admin_url);
            let url = format!("{base}/{name}{query}");
            (url, TestDb::Postgres { admin_url, name })
        }
        _ => {
            // tmpfs when there is one: SQLite migrations fsync every DDL statement.
            let shm = std::path::Path::new("/dev/shm");
            let dir = if shm.is_dir() {
                tempfile::TempDir::new_in(shm).or_else(|_| tempfile::TempDir::new())
            } else {
                tempfile::TempDir::new()
            }
            .expect("temporary directory");
            let url = format!("sqlite://{}/db.sqlite?mode=rwc", dir.path().display());
            (url, TestDb::Sqlite { _dir: dir })
        }
    }
}

/// Counts an app as live from the start of [`spawn_app`]; undone if `spawn_app` fails.
struct Starting;

impl Drop for Starting {
    fn drop(&mut self) {
        LIVE_APPS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Starts the application on a fresh, migrated database (no demo data).
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like [`spawn_app`], with `configure` adjusting the test settings first (e.g. token keys).
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    LazyLock::force(&TRACING);
    LIVE_APPS.fetch_add(1, Ordering::SeqCst);
    let starting = Starting;
    let (url, database) = make_database().await;
    let mut settings = Settings::for_tests(&url);
    configure(&mut settings);
    let app = Application::build(settings.clone())
        .await
        .expect("build the application");
    let port = app.port();
    let db = app.db();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client");
    // From here on the app's own `Drop` takes the count back.
    std::mem::forget(starting);
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        client,
        db,
        settings,
        database,
    }
}

/// A GraphQL response: HTTP status, headers and the JSON body.
#[derive(Debug)]
pub struct GqlResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl GqlResponse {
    /// `data`, after checking that there are no errors.
    pub fn data(&self) -> &Value {
        assert!(
            self.body.get("errors").is_none(),
            "unexpected GraphQL errors: {}",
            self.body
        );
        &self.body["data"]
    }

    /// The `errors` array (empty when there are none).
    pub fn errors(&self) -> Vec<Value> {
        self.body["errors"].as_array().cloned().unwrap_or_default()
    }

    /// `errors[0].extensions.code`.
    pub fn error_code(&self) -> Option<&str> {
        self.body["errors"][0]["extensions"]["code"].as_str()
    }

    /// `errors[0].extensions.field`.
    pub fn error_field(&self) -> Option<&str> {
        self.body["errors"][0]["extensions"]["field"].as_str()
    }

    /// A response header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl TestApp {
    /// A signed token for `roles` acting for organisation `org` (a sourcedId).
    pub fn token(&self, roles: &[&str], org: &str) -> String {
        self.token_for("test-user", roles, org)
    }

    /// A signed token with a chosen subject.
    pub fn token_for(&self, subject: &str, roles: &[&str], org: &str) -> String {
        let secret = self
            .settings
            .auth
            .jwt_secret
            .as_ref()
            .expect("test settings carry a secret");
        let keys = TokenKeys::new(&self.settings.auth, secret);
        keys.sign(&TokenRequest {
            subject: subject.into(),
            org: org.into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            scope: String::new(),
            client_id: None,
            ttl_seconds: 600,
        })
        .expect("sign a token")
    }

    /// A programmeAdmin of the programme office (`org-office`).
    pub fn admin_token(&self) -> String {
        self.token(&["programmeAdmin"], fixtures::OFFICE)
    }

    /// POSTs a GraphQL request as JSON.
    pub async fn gql(&self, query: &str, variables: Value, token: Option<&str>) -> GqlResponse {
        let body = json!({ "query": query, "variables": variables });
        let mut request = self
            .client
            .post(format!("{}/graphql", self.address))
            .json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        into_response(request.send().await.expect("POST /graphql")).await
    }

    /// POSTs a GraphQL request with a programmeAdmin token.
    pub async fn gql_admin(&self, query: &str, variables: Value) -> GqlResponse {
        self.gql(query, variables, Some(&self.admin_token())).await
    }

    /// `db_statements_total` from `/metrics`.
    pub async fn statements(&self) -> u64 {
        let text = self
            .client
            .get(format!("{}/metrics", self.address))
            .send()
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("metrics body");
        text.lines()
            .find_map(|line| line.strip_prefix("db_statements_total "))
            .expect("db_statements_total in /metrics")
            .trim()
            .parse()
            .expect("a counter value")
    }

    /// SQL statements executed while answering one request, the fewest of five runs.
    ///
    /// DataLoader batches close on a 1 ms timer, so a busy machine can split a batch (see
    /// `statements::a_nested_list_costs_the_same_statements_while_the_cpus_are_busy`); an N+1
    /// pattern would show on every run.
    pub async fn statements_for(&self, query: &str, variables: Value, token: &str) -> u64 {
        let mut fewest = u64::MAX;
        for _ in 0..5 {
            fewest = fewest.min(self.statements_once(query, variables.clone(), token).await);
        }
        fewest
    }

    /// SQL statements executed while answering one request, measured once.
    pub async fn statements_once(&self, query: &str, variables: Value, token: &str) -> u64 {
        let before = self.statements().await;
        let response = self.gql(query, variables, Some(token)).await;
        let after = self.statements().await;
        response.data();
        after - before
    }
}

/// Reads a reqwest response into a [`GqlResponse`].
pub async fn into_response(response: reqwest::Response) -> GqlResponse {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("response body");
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("response is not JSON ({e}), status {status}: {text}"));
    GqlResponse {
        status,
        headers,
        body,
    }
}

/// The opaque global id the server gives a record: base64url (no padding) of `Type:sourcedId`.
pub fn global_id(type_name: &str, sourced_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{type_name}:{sourced_id}"))
}

/// `connection.edges[*].node.<field>` as strings.
pub fn node_strings(connection: &Value, field: &str) -> Vec<String> {
    connection["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("not a connection: {connection}"))
        .iter()
        .map(|edge| {
            edge["node"][field]
                .as_str()
                .unwrap_or_else(|| panic!("edge without string node.{field}: {edge}"))
                .to_owned()
        })
        .collect()
}

/// `connection.edges[*].node.sourcedId`.
pub fn sourced_ids(connection: &Value) -> Vec<String> {
    node_strings(connection, "sourcedId")
}

/// `connection.edges[*].cursor`.
pub fn cursors(connection: &Value) -> Vec<String> {
    node_strings_at(connection, |edge| &edge["cursor"])
}

fn node_strings_at(connection: &Value, pick: impl Fn(&Value) -> &Value) -> Vec<String> {
    connection["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("not a connection: {connection}"))
        .iter()
        .map(|edge| {
            pick(edge)
                .as_str()
                .unwrap_or_else(|| panic!("missing string in edge: {edge}"))
                .to_owned()
        })
        .collect()
}

/// Sorted copy, for set comparisons.
pub fn sorted<T: Ord + Clone>(items: &[T]) -> Vec<T> {
    let mut items = items.to_vec();
    items.sort();
    items
}

/// Standard claims for hand-made tokens: valid for ten minutes from now.
pub fn claims(roles: &[&str], org: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "iss": TEST_ISSUER,
        "aud": TEST_ISSUER,
        "exp": now + 600,
        "nbf": now,
        "iat": now,
        "sub": "test-user",
        "org": org,
        "roles": roles,
        "scope": "",
    })
}

/// Base64url (no padding) of a JSON value: one part of a hand-made JWT.
pub fn b64_json(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::{split_database_url, stale_test_database};

    #[test]
    fn only_old_v7_named_databases_are_stale() {
        let now = std::time::SystemTime::now();
        let fresh = format!("test_{}", uuid::Uuid::now_v7().simple());
        let v4 = format!("test_{}", uuid::Uuid::new_v4().simple());
        // 2024-01-01T00:00:00Z as a v7 UUID.
        let old = uuid::Uuid::new_v7(uuid::Timestamp::from_unix(
            uuid::NoContext,
            1_704_067_200,
            0,
        ));
        assert!(!stale_test_database(&fresh, now));
        assert!(!stale_test_database(&v4, now));
        assert!(!stale_test_database("test", now));
        assert!(!stale_test_database("pathway_bench", now));
        assert!(stale_test_database(&format!("test_{}", old.simple()), now));
        assert!(!stale_test_database(
            &format!("test_{}", old.hyphenated()),
            now
        ));
    }

    #[test]
    fn database_urls_split_around_the_database_name() {
        assert_eq!(
            split_database_url("postgres://postgres@127.0.0.1:5432/test"),
            ("postgres://postgres@127.0.0.1:5432", "test", "")
        );
        assert_eq!(
            split_database_url("postgres://u:p@h/db?sslmode=disable"),
            ("postgres://u:p@h", "db", "?sslmode=disable")
        );
    }
}
