//! `status_history` table: one append-only row per lifecycle transition or stage change.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "status_history")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// GraphQL type name of the entity, e.g. `PathwayEnrollment`.
    pub entity_type: String,
    /// Internal id of the entity row.
    pub entity_id: i64,
    pub from_state: Option<String>,
    pub to_state: String,
    pub from_stage: Option<String>,
    pub to_stage: Option<String>,
    pub reason: Option<String>,
    pub at: DateTimeUtc,
    /// Principal that made the change (person sourcedId or client id).
    pub actor: Option<String>,
    pub client_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
