//! Building and running the application: connect, migrate, seed, build the schema once, bind.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, Service};
use actix_web::{App, HttpMessage, HttpServer, web};
use migration::{Migrator, MigratorTrait};
use sea_orm::DatabaseConnection;

use crate::auth::jwt::{self, TokenKeys};
use crate::config::Settings;
use crate::db::{self, StatementCounter};
use crate::error::AppError;
use crate::http::{self, AppState, RequestId};
use crate::idempotency::Idempotency;
use crate::metrics::Metrics;
use crate::{demo, graphql};

/// Applies pending migrations and seeds an empty database, one instance at a time: several
/// instances may start together on one database, and only the first does the work.
pub async fn prepare_database(db: &DatabaseConnection, settings: &Settings) -> anyhow::Result<()> {
    if !settings.database.migrate && !settings.demo.seed {
        return Ok(());
    }
    let _guard = db::StartupLock::acquire(db, &settings.database).await?;
    if settings.database.migrate {
        Migrator::up(db, None).await.map_err(AppError::from)?;
    }
    if settings.demo.seed && demo::is_empty(db).await? {
        let summary = demo::seed(db, settings.demo.scale).await?;
        tracing::info!(
            demo.students = summary.students,
            demo.schools = summary.schools,
            "seeded demo data"
        );
    }
    Ok(())
}

pub struct Application {
    port: u16,
    server: Server,
    db: DatabaseConnection,
    statements: StatementCounter,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let (db, statements) = db::connect(&settings.database).await?;
        prepare_database(&db, &settings).await?;
        let keys = TokenKeys::load(&settings.auth)?;
        let state = web::Data::new(AppState {
            schema: graphql::build(db.clone(), &settings.graphql),
            db: db.clone(),
            keys: Arc::new(keys),
            metrics: Arc::new(Metrics::new(statements.clone())),
            playground: settings.graphql.playground,
            request_timeout: Duration::from_secs(settings.server.request_timeout_seconds.max(1)),
            batch_delay: Duration::from_millis(settings.graphql.batch_delay_ms),
            client_token_ttl: settings.auth.token_ttl_seconds,
            idempotency: Idempotency::new(&settings.idempotency),
        });
        let listener = TcpListener::bind((settings.server.host.as_str(), settings.server.port))?;
        let port = listener.local_addr()?.port();
        let max_body = settings.server.max_body_bytes;
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(web::PayloadConfig::new(max_body))
                .wrap_fn(|req, srv| {
                    let id = http::request_id_for(&req);
                    req.extensions_mut().insert(RequestId(id.clone()));
                    let fut = srv.call(req);
                    async move {
                        let mut res = fut.await?;
                        http::set_request_id_header(res.headers_mut(), &id);
                        Ok(res)
                    }
                })
                .wrap(tracing_actix_web::TracingLogger::default())
                .route("/graphql", web::post().to(http::graphql_post))
                .route("/graphql", web::get().to(http::graphql_get))
                .route("/oauth/token", web::post().to(http::oauth_token))
                .route("/.well-known/jwks.json", web::get().to(jwt::jwks))
                .route("/healthz", web::get().to(http::healthz))
                .route("/readyz", web::get().to(http::readyz))
                .route("/metrics", web::get().to(http::metrics))
        })
        .listen(listener)?
        .run();
        Ok(Application {
            port,
            server,
            db,
            statements,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The application's database connection (tests use it to arrange data).
    pub fn db(&self) -> DatabaseConnection {
        self.db.clone()
    }

    /// SQL statements executed so far (also `db_statements_total` on `/metrics`).
    pub fn statements(&self) -> StatementCounter {
        self.statements.clone()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
