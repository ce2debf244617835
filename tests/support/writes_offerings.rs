//! Fixtures for the course offering and course enrolment write tests: extra offerings in a
//! chosen state, the course provider's staff, and small read helpers over the database.

use chrono::{NaiveDate, Utc};
use entity::*;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};

use crate::fixtures::{Ref, World};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid fixture date")
}

fn record_columns() -> (String, chrono::DateTime<Utc>) {
    ("fixture".to_owned(), api::changes::now())
}

/// Inserts an offering of the ApL course in `state`, running in term 2025/26 Term 1
/// (2025-09-01 to 2026-01-01), hosted by `school` (or by none).
pub async fn add_offering(
    db: &DatabaseConnection,
    world: &World,
    sourced_id: &str,
    state: &str,
    school: Option<&Ref>,
) -> Ref {
    let (by, at) = record_columns();
    let row = course_offering::Entity::insert(course_offering::ActiveModel {
        sourced_id: Set(sourced_id.to_owned()),
        status: Set(STATUS_ACTIVE.to_owned()),
        date_created: Set(at),
        date_last_modified: Set(at),
        version: Set(1),
        metadata: Set(None),
        created_by: Set(Some(by.clone())),
        modified_by: Set(Some(by)),
        course_id: Set(world.course_apl.id),
        class_code: Set(format!("CLS-{sourced_id}")),
        school_org_id: Set(school.map(|s| s.id)),
        cohort_id: Set(Some(world.cohort.id)),
        delivery_mode: Set(if school.is_some() {
            "mode2SchoolBased"
        } else {
            "mode1AtProvider"
        }
        .to_owned()),
        start_date: Set(date(2025, 9, 1)),
        end_date: Set(date(2026, 1, 1)),
        state: Set(state.to_owned()),
        ..Default::default()
    })
    .exec(db)
    .await
    .expect("insert offering");
    offering_term::Entity::insert(offering_term::ActiveModel {
        offering_id: Set(row.last_insert_id),
        session_id: Set(world.term_2025_1.id),
    })
    .exec_without_returning(db)
    .await
    .expect("insert offering term");
    Ref {
        id: row.last_insert_id,
        sourced_id: sourced_id.to_owned(),
        type_name: "CourseOffering",
    }
}

/// Inserts a person holding an active `academicLead` role at the course provider (the
/// academic unit): the provider's staff.
pub async fn add_provider_staff(db: &DatabaseConnection, world: &World, sourced_id: &str) -> Ref {
    let (by, at) = record_columns();
    let person = person::Entity::insert(person::ActiveModel {
        sourced_id: Set(sourced_id.to_owned()),
        status: Set(STATUS_ACTIVE.to_owned()),
        date_created: Set(at),
        date_last_modified: Set(at),
        version: Set(1),
        metadata: Set(None),
        created_by: Set(Some(by.clone())),
        modified_by: Set(Some(by.clone())),
        given_name: Set("Pat".to_owned()),
        family_name: Set("Provider".to_owned()),
        name_zh: Set(None),
        preferred_name: Set(None),
        email: Set(None),
        phone: Set(None),
        date_of_birth: Set(None),
        enabled_user: Set(true),
        primary_org_id: Set(world.unit.id),
        class_level: Set(None),
        expected_hkdse_year: Set(None),
        ..Default::default()
    })
    .exec(db)
    .await
    .expect("insert provider staff")
    .last_insert_id;
    role_assignment::Entity::insert(role_assignment::ActiveModel {
        sourced_id: Set(format!("ra-{sourced_id}")),
        status: Set(STATUS_ACTIVE.to_owned()),
        date_created: Set(at),
        date_last_modified: Set(at),
        version: Set(1),
        metadata: Set(None),
        created_by: Set(Some(by.clone())),
        modified_by: Set(Some(by)),
        person_id: Set(person),
        org_id: Set(world.unit.id),
        role: Set("academicLead".to_owned()),
        role_type: Set("primary".to_owned()),
        begin_date: Set(date(2020, 1, 1)),
        end_date: Set(None),
        ..Default::default()
    })
    .exec(db)
    .await
    .expect("insert provider role");
    Ref {
        id: person,
        sourced_id: sourced_id.to_owned(),
        type_name: "Person",
    }
}

/// Row counts of (offerings, course enrolments, status history, change events, external ids,
/// offering terms), for "nothing was written" checks.
pub async fn write_counts(db: &DatabaseConnection) -> [u64; 6] {
    [
        course_offering::Entity::find()
            .count(db)
            .await
            .expect("count"),
        course_enrollment::Entity::find()
            .count(db)
            .await
            .expect("count"),
        status_history::Entity::find()
            .count(db)
            .await
            .expect("count"),
        change_event::Entity::find().count(db).await.expect("count"),
        external_id::Entity::find().count(db).await.expect("count"),
        offering_term::Entity::find()
            .count(db)
            .await
            .expect("count"),
    ]
}

/// `(entity_type, sourcedId, operation, version)` of every change event, in order.
pub async fn change_events(db: &DatabaseConnection) -> Vec<(String, String, String, i32)> {
    change_event::Entity::find()
        .order_by_asc(change_event::Column::Seq)
        .all(db)
        .await
        .expect("change events")
        .into_iter()
        .map(|e| (e.entity_type, e.sourced_id, e.operation, e.version))
        .collect()
}

/// One status history row: `(from, to, reason, actor, client)`.
pub type HistoryRow = (
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// `(from, to, reason, actor, client)` of one record's status history, oldest first.
pub async fn history_of(
    db: &DatabaseConnection,
    entity_type: &str,
    id: i64,
) -> Vec<(
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
)> {
    status_history::Entity::find()
        .filter(status_history::Column::EntityType.eq(entity_type))
        .filter(status_history::Column::EntityId.eq(id))
        .order_by_asc(status_history::Column::Id)
        .all(db)
        .await
        .expect("status history")
        .into_iter()
        .map(|h| (h.from_state, h.to_state, h.reason, h.actor, h.client_id))
        .collect()
}

/// The stored offering.
pub async fn offering_row(db: &DatabaseConnection, sourced_id: &str) -> course_offering::Model {
    course_offering::Entity::find()
        .filter(course_offering::Column::SourcedId.eq(sourced_id))
        .one(db)
        .await
        .expect("read offering")
        .unwrap_or_else(|| panic!("no offering {sourced_id}"))
}

/// The stored enrolment.
pub async fn enrollment_row(
    db: &DatabaseConnection,
    sourced_id: &str,
) -> Option<course_enrollment::Model> {
    course_enrollment::Entity::find()
        .filter(course_enrollment::Column::SourcedId.eq(sourced_id))
        .one(db)
        .await
        .expect("read enrolment")
}
