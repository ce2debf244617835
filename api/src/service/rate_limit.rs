//! Rate limits shared by every API instance: fixed one-minute windows counted in the database
//! (`rate_limit_window`), so several instances behind one PostgreSQL enforce one budget.

use chrono::Utc;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::error::{AppError, AppResult};

/// Counts one request of `bucket` in the current window of `window_seconds`. `Ok(None)` when it
/// is within `limit`, `Ok(Some(seconds))` to wait when the budget is spent.
pub async fn hit(
    db: &impl ConnectionTrait,
    bucket: &str,
    limit: i64,
    window_seconds: i64,
) -> AppResult<Option<u64>> {
    let now = Utc::now().timestamp();
    let window_start = now - now.rem_euclid(window_seconds);
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "INSERT INTO rate_limit_window (bucket, window_start, hits) VALUES ($1, $2, 1) \
             ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limit_window.hits + 1 \
             RETURNING hits"
        }
        _ => {
            "INSERT INTO rate_limit_window (bucket, window_start, hits) VALUES (?, ?, 1) \
             ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limit_window.hits + 1 \
             RETURNING hits"
        }
    };
    let row = db
        .query_one(Statement::from_sql_and_values(
            backend,
            sql,
            [bucket.into(), window_start.into()],
        ))
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("rate limit upsert returned no row")))?;
    let hits: i64 = row
        .try_get_by_index::<i32>(0)
        .map(i64::from)
        .or_else(|_| row.try_get_by_index::<i64>(0))?;
    if hits == 1 {
        // The first request of a window clears windows long gone (any bucket).
        let sql = match backend {
            DbBackend::Postgres => "DELETE FROM rate_limit_window WHERE window_start < $1",
            _ => "DELETE FROM rate_limit_window WHERE window_start < ?",
        };
        db.execute(Statement::from_sql_and_values(
            backend,
            sql,
            [(window_start - 3600).into()],
        ))
        .await?;
    }
    if hits > limit {
        let wait = window_start + window_seconds - now;
        return Ok(Some(u64::try_from(wait).unwrap_or(1).max(1)));
    }
    Ok(None)
}
