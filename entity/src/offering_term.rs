//! `offering_term` table: the terms (AcademicSessions) a CourseOffering runs in.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "offering_term")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub offering_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub session_id: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
