//! `access_audit_event` table (append-only): one row per named student read by a partner, mentor or
//! partner client (DOMAIN.md area I and section 5 rule 5).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "access_audit_event")]
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
    pub at: DateTimeUtc,
    /// Principal (`sub`) that read.
    pub principal: String,
    pub client_id: Option<String>,
    /// Organisation the principal acted for.
    pub acting_org_id: Option<i64>,
    /// GraphQL type name of what was read, e.g. `Person`.
    pub entity_type: String,
    pub entity_id: i64,
    pub entity_sourced_id: String,
    /// The student whose data was read.
    pub student_id: i64,
    /// The fields read, comma-separated in schema order.
    pub fields: String,
    /// `mentorship` or `participation`: what allowed the read.
    pub basis_type: String,
    pub basis_sourced_id: String,
    /// The effective consent the read relied on.
    pub consent_sourced_id: Option<String>,
    pub request_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::impl_record!(Model);
