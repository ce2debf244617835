//! Status history reads.

use std::collections::HashMap;

use entity::status_history;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::error::AppResult;

/// The history rows of several entities of one type, oldest first.
pub async fn of(
    db: &impl ConnectionTrait,
    entity_type: &str,
    ids: &[i64],
) -> AppResult<HashMap<i64, Vec<status_history::Model>>> {
    let rows = status_history::Entity::find()
        .filter(status_history::Column::EntityType.eq(entity_type))
        .filter(status_history::Column::EntityId.is_in(ids.iter().copied()))
        .order_by_asc(status_history::Column::Id)
        .all(db)
        .await?;
    let mut out: HashMap<i64, Vec<status_history::Model>> = HashMap::new();
    for row in rows {
        out.entry(row.entity_id).or_default().push(row);
    }
    Ok(out)
}
