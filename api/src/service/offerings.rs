//! Reads about course offerings that are not plain lists.

use std::collections::HashMap;

use entity::{academic_session, offering_term};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::error::AppResult;

/// The terms of each offering, by start date, within `scope`.
pub async fn terms_of(
    db: &impl ConnectionTrait,
    offerings: &[i64],
    scope: Condition,
) -> AppResult<HashMap<i64, Vec<academic_session::Model>>> {
    let links = offering_term::Entity::find()
        .filter(offering_term::Column::OfferingId.is_in(offerings.iter().copied()))
        .all(db)
        .await?;
    let sessions: HashMap<i64, academic_session::Model> = academic_session::Entity::find()
        .filter(academic_session::Column::Id.is_in(links.iter().map(|l| l.session_id)))
        .filter(scope)
        .order_by_asc(academic_session::Column::StartDate)
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let mut out: HashMap<i64, Vec<academic_session::Model>> = HashMap::new();
    for link in links {
        if let Some(session) = sessions.get(&link.session_id) {
            out.entry(link.offering_id)
                .or_default()
                .push(session.clone());
        }
    }
    for terms in out.values_mut() {
        terms.sort_by_key(|s| (s.start_date, s.id));
    }
    Ok(out)
}
