//! `change_event` table: the gap-free change feed (DOMAIN.md area I). Events carry no field values.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "change_event")]
pub struct Model {
    /// Gap-free sequence number, assigned in the writing transaction.
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    /// GraphQL type name, e.g. `Person`.
    pub entity_type: String,
    /// Internal id of the changed row (for scoping the feed).
    pub entity_id: i64,
    pub sourced_id: String,
    /// `create`, `update`, `delete` or `accessRevoked`.
    pub operation: String,
    pub version: i32,
    pub at: DateTimeUtc,
    /// For `accessRevoked`: the organisation that lost access (only it sees the event).
    pub audience_org_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
