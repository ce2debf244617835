//! `offering_unit_version` table: the curriculum unit versions a CourseOffering pinned when it
//! started running (DOMAIN.md area B: "reaching running pins each unit's published version for
//! good").

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "offering_unit_version")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub offering_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub unit_version_id: i64,
    pub pinned_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
