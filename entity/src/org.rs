//! `org` table: the Org record (DOMAIN.md area A/B).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "org")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub sourced_id: String,
    pub status: String,
    pub date_created: DateTimeUtc,
    pub date_last_modified: DateTimeUtc,
    pub version: i32,
    pub metadata: Option<Json>,
    pub created_by: Option<String>,
    pub modified_by: Option<String>,
    pub name_en: String,
    pub name_zh: Option<String>,
    pub org_type: String,
    pub parent_id: Option<i64>,
    pub identifier: Option<String>,
    pub identifier_scheme: Option<String>,
    pub district: Option<String>,
    pub school_finance_type: Option<String>,
    pub industry_sectors: Option<Json>,
    pub website: Option<String>,
    pub partner_since: Option<Date>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::impl_record!(Model);
