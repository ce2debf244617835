//! sea-orm entities, one module per table. These are table rows only: the GraphQL types in `api`
//! wrap them and choose what is exposed.

pub mod academic_session;
pub mod access_audit_event;
pub mod account;
pub mod api_client;
pub mod change_event;
pub mod change_seq;
pub mod cohort;
pub mod consent_record;
pub mod course;
pub mod course_enrollment;
pub mod course_offering;
pub mod curriculum_unit;
pub mod curriculum_unit_version;
pub mod external_id;
pub mod future_job;
pub mod guardian_link;
pub mod job_duty;
pub mod job_skill_requirement;
pub mod mentorship;
pub mod offering_term;
pub mod offering_unit_version;
pub mod org;
pub mod pathway;
pub mod pathway_enrollment;
pub mod pathway_stage;
pub mod person;
pub mod role_assignment;
pub mod skill;
pub mod skill_evidence;
pub mod skill_map;
pub mod stage_course;
pub mod status_history;
pub mod unit_contributor;
pub mod unit_review;
pub mod unit_skill;

/// The record status column's two values (API.md section 2).
pub const STATUS_ACTIVE: &str = "active";
/// A tombstone: deleted, still returned by delta queries until purged.
pub const STATUS_TOBEDELETED: &str = "tobedeleted";

/// The common columns every record table carries (DOMAIN.md section 2).
pub trait RecordModel {
    /// Internal primary key; never exposed.
    fn pk(&self) -> i64;
    /// Public, stable identifier.
    fn sourced_id(&self) -> &str;
    /// `active` or `tobedeleted`.
    fn status(&self) -> &str;
    /// Server-set creation time.
    fn date_created(&self) -> sea_orm::prelude::DateTimeUtc;
    /// Server-set time of the last write.
    fn date_last_modified(&self) -> sea_orm::prelude::DateTimeUtc;
    /// Optimistic-concurrency version, +1 per write.
    fn version(&self) -> i32;
    /// Client extension object.
    fn metadata(&self) -> Option<&serde_json::Value>;
}

/// Implements [`RecordModel`] for a model that has the common columns.
#[macro_export]
macro_rules! impl_record {
    ($model:ty) => {
        impl $crate::RecordModel for $model {
            fn pk(&self) -> i64 {
                self.id
            }
            fn sourced_id(&self) -> &str {
                &self.sourced_id
            }
            fn status(&self) -> &str {
                &self.status
            }
            fn date_created(&self) -> sea_orm::prelude::DateTimeUtc {
                self.date_created
            }
            fn date_last_modified(&self) -> sea_orm::prelude::DateTimeUtc {
                self.date_last_modified
            }
            fn version(&self) -> i32 {
                self.version
            }
            fn metadata(&self) -> Option<&serde_json::Value> {
                self.metadata.as_ref()
            }
        }
    };
}
