//! Curriculum rows arranged directly in the database (DOMAIN.md area C): units, versions in
//! any state, contributors, skills, unit skills and status history, for tests that must not
//! depend on the unit and version mutations.

use chrono::{DateTime, Utc};
use entity::*;
use sea_orm::{ActiveModelBehavior, ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use serde_json::Value;

use super::fixtures::Ref;

/// Fills the common record columns of an ActiveModel.
macro_rules! record {
    ($module:ident, $sid:expr, $at:expr, { $($field:ident : $value:expr),* $(,)? }) => {
        $module::ActiveModel {
            sourced_id: Set(String::from($sid)),
            status: Set(STATUS_ACTIVE.to_owned()),
            date_created: Set($at),
            date_last_modified: Set($at),
            version: Set(1),
            metadata: Set(None),
            created_by: Set(Some("fixture".to_owned())),
            modified_by: Set(Some("fixture".to_owned())),
            $($field: Set($value),)*
            ..Default::default()
        }
    };
}

async fn insert<A>(db: &impl ConnectionTrait, model: A) -> i64
where
    A: ActiveModelTrait + ActiveModelBehavior + Send,
    <<A::Entity as EntityTrait>::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: Into<i64>,
{
    <A::Entity as EntityTrait>::insert(model)
        .exec(db)
        .await
        .expect("insert curriculum fixture row")
        .last_insert_id
        .into()
}

fn reference(id: i64, sid: &str, type_name: &'static str) -> Ref {
    Ref {
        id,
        sourced_id: sid.to_owned(),
        type_name,
    }
}

/// A unit of `course` owned by `owning_org`.
pub async fn add_unit(db: &impl ConnectionTrait, sid: &str, course: &Ref, owning_org: &Ref) -> Ref {
    let id = insert(
        db,
        record!(curriculum_unit, sid, Utc::now(), {
            course_id: course.id,
            code: sid.to_uppercase(),
            title: format!("Unit {sid}"),
            unit_kind: "project".to_owned(),
            owning_org_id: owning_org.id,
            requires_external_approval: false,
        }),
    )
    .await;
    reference(id, sid, "CurriculumUnit")
}

/// The content of a version.
#[derive(Clone, Debug)]
pub struct Content<'a> {
    pub title: &'a str,
    pub summary: Option<&'a str>,
    pub hours: Option<f64>,
    pub learning_outcomes: Vec<&'a str>,
    /// `(title, url)`.
    pub resources: Vec<(&'a str, Option<&'a str>)>,
    pub external_approval_ref: Option<&'a str>,
}

impl Default for Content<'_> {
    fn default() -> Self {
        Content {
            title: "A version",
            summary: None,
            hours: Some(10.0),
            learning_outcomes: vec!["Explain the brief"],
            resources: Vec::new(),
            external_approval_ref: None,
        }
    }
}

/// A version of `unit` numbered `number`, in `state`, with `content`.
pub async fn add_version(
    db: &impl ConnectionTrait,
    sid: &str,
    unit: &Ref,
    number: i32,
    state: &str,
    content: &Content<'_>,
) -> Ref {
    let resources: Vec<Value> = content
        .resources
        .iter()
        .map(|(title, url)| serde_json::json!({ "title": title, "url": url }))
        .collect();
    let id = insert(
        db,
        record!(curriculum_unit_version, sid, Utc::now(), {
            unit_id: unit.id,
            version_number: number,
            state: state.to_owned(),
            supersedes_id: None,
            title: content.title.to_owned(),
            summary: content.summary.map(str::to_owned),
            hours: content.hours,
            learning_outcomes: Some(serde_json::json!(content.learning_outcomes)),
            resources: Some(Value::Array(resources)),
            external_approval_ref: content.external_approval_ref.map(str::to_owned),
            content_hash: None,
            published_at: (state == "published" || state == "retired").then(Utc::now),
        }),
    )
    .await;
    reference(id, sid, "CurriculumUnitVersion")
}

/// A contributor row, created at `at`.
pub async fn add_contributor_at(
    db: &impl ConnectionTrait,
    sid: &str,
    version: &Ref,
    person: &Ref,
    org: &Ref,
    role: &str,
    hours: Option<f64>,
    at: DateTime<Utc>,
) -> Ref {
    let id = insert(
        db,
        record!(unit_contributor, sid, at, {
            unit_version_id: version.id,
            person_id: person.id,
            org_id: org.id,
            contribution_role: role.to_owned(),
            hours_contributed: hours,
        }),
    )
    .await;
    reference(id, sid, "UnitContributor")
}

/// A contributor row, created now.
pub async fn add_contributor(
    db: &impl ConnectionTrait,
    sid: &str,
    version: &Ref,
    person: &Ref,
    org: &Ref,
    role: &str,
    hours: Option<f64>,
) -> Ref {
    add_contributor_at(db, sid, version, person, org, role, hours, Utc::now()).await
}

/// An active skill.
pub async fn add_skill(db: &impl ConnectionTrait, sid: &str, code: &str) -> Ref {
    let id = insert(
        db,
        record!(skill, sid, Utc::now(), {
            code: code.to_owned(),
            name_en: format!("Skill {code}"),
            name_zh: None,
            category: "technical".to_owned(),
        }),
    )
    .await;
    reference(id, sid, "Skill")
}

/// A unit skill row.
pub async fn add_unit_skill(
    db: &impl ConnectionTrait,
    sid: &str,
    version: &Ref,
    skill: &Ref,
    coverage: &str,
) -> Ref {
    let id = insert(
        db,
        record!(unit_skill, sid, Utc::now(), {
            unit_version_id: version.id,
            skill_id: skill.id,
            coverage: coverage.to_owned(),
        }),
    )
    .await;
    reference(id, sid, "UnitSkill")
}

/// A StatusHistory row of a unit version.
pub async fn add_history(
    db: &impl ConnectionTrait,
    version: &Ref,
    from: Option<&str>,
    to: &str,
    at: DateTime<Utc>,
) {
    status_history::Entity::insert(status_history::ActiveModel {
        entity_type: Set("CurriculumUnitVersion".to_owned()),
        entity_id: Set(version.id),
        from_state: Set(from.map(str::to_owned)),
        to_state: Set(to.to_owned()),
        from_stage: Set(None),
        to_stage: Set(None),
        reason: Set(None),
        at: Set(at),
        actor: Set(Some("fixture".to_owned())),
        client_id: Set(None),
        ..Default::default()
    })
    .exec_without_returning(db)
    .await
    .expect("insert status history");
}

/// An academic session (a term) from `start` to `end` (exclusive).
pub async fn add_session(
    db: &impl ConnectionTrait,
    sid: &str,
    start: chrono::NaiveDate,
    end: chrono::NaiveDate,
) -> Ref {
    let id = insert(
        db,
        record!(academic_session, sid, Utc::now(), {
            title: format!("Session {sid}"),
            session_type: "term".to_owned(),
            start_date: start,
            end_date: end,
            school_year: 2026,
            parent_id: None,
            org_id: None,
        }),
    )
    .await;
    reference(id, sid, "AcademicSession")
}
