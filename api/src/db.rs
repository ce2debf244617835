//! Database connection. Every executed statement is counted for `/metrics`
//! (`db_statements_total`), which the tests and the benchmark read.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sea_orm::{ConnectOptions, Database, DatabaseConnection};

use crate::config::DatabaseSettings;
use crate::error::{AppError, AppResult};

/// Counts SQL statements executed through a connection.
#[derive(Clone, Debug, Default)]
pub struct StatementCounter(Arc<AtomicU64>);

impl StatementCounter {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

pub async fn connect(
    settings: &DatabaseSettings,
) -> AppResult<(DatabaseConnection, StatementCounter)> {
    if let Some(path) = sqlite_path(&settings.url)
        && let Some(dir) = std::path::Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(AppError::internal)?;
    }
    let mut options = ConnectOptions::new(settings.url.clone());
    let is_sqlite = settings.url.starts_with("sqlite:");
    options
        .max_connections(if is_sqlite {
            settings.max_connections.min(4)
        } else {
            settings.max_connections
        })
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    let mut db = Database::connect(options).await.map_err(|e| {
        tracing::error!(error = %e, "cannot connect to the database");
        AppError::Unavailable
    })?;
    // sqlx opens SQLite connections with WAL, foreign keys on and a 5 s busy timeout.
    let counter = StatementCounter::default();
    let inner = counter.0.clone();
    db.set_metric_callback(move |_info| {
        inner.fetch_add(1, Ordering::Relaxed);
    });
    Ok((db, counter))
}

/// The file path of an `sqlite:` URL, if it names a file.
pub fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then_some(path)
}

/// Serialises start-up work (migrations, demo seeding) between processes sharing a database:
/// a transaction-scoped advisory lock on PostgreSQL, a lock file beside the database on SQLite.
/// Dropping the guard releases it.
pub struct StartupLock {
    _transaction: Option<sea_orm::DatabaseTransaction>,
    _file: Option<std::fs::File>,
}

/// Advisory lock key of start-up work.
const STARTUP_LOCK_KEY: i64 = 0x5050_4101;

impl StartupLock {
    pub async fn acquire(
        db: &DatabaseConnection,
        settings: &DatabaseSettings,
    ) -> AppResult<StartupLock> {
        use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
        if db.get_database_backend() == DbBackend::Postgres {
            // Held by this transaction's connection until it ends; the work itself runs on
            // other pooled connections while every other instance waits here.
            let transaction = db.begin().await?;
            transaction
                .execute(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT pg_advisory_xact_lock($1)",
                    [STARTUP_LOCK_KEY.into()],
                ))
                .await?;
            return Ok(StartupLock {
                _transaction: Some(transaction),
                _file: None,
            });
        }
        let Some(path) = sqlite_path(&settings.url) else {
            return Ok(StartupLock {
                _transaction: None,
                _file: None,
            });
        };
        let lock_path = format!("{path}.startup-lock");
        let file = tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(lock_path)?;
            file.lock()?;
            Ok(file)
        })
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)?;
        Ok(StartupLock {
            _transaction: None,
            _file: Some(file),
        })
    }
}
