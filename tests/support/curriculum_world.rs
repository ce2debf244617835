//! A hand-built curriculum world for the curriculum authorization matrix, on top of
//! [`seed_world`] and [`seed_curriculum_people`], written directly (no change events; the feed
//! test emits them with [`emit_all`]).
//!
//! - `unit-pub` with `uv-pub-1` published (author: the lead, `uc-pub-author`).
//! - `unit-x` with `uv-x-1` draft: partner X's mentor is a coDeveloper (`uc-x-mentor`, org partner
//!   X), the lead its author (`uc-x-author`); the lead commented (`ur-x-comment`).
//! - `unit-y` with `uv-y-1` published (approved by the lead, `ur-y1-approve`, author
//!   `uc-y1-author`) and `uv-y-2` in review, where partner Y's coordinator is a reviewer
//!   (`uc-y-coord`, org partner Y) and commented (`ur-y-comment`), the lead its author
//!   (`uc-y-author`).
//! - Unit skills `us-pub`, `us-x`, `us-y1`, `us-y2`; skills `skill-1`, `skill-2`.
//! - Skill maps `map-approved` (v1, approved) and `map-draft` (v2, draft), jobs `job-a`/`job-d`,
//!   duties `duty-a`/`duty-d`, requirements `req-a`/`req-d`.
//! - Skill evidence: the first student of school A (`named`: active mentorship with partner X's
//!   mentor, effective consent) has `ev-named-shared` and `ev-named-private`; the second student
//!   of school A (no mentorship) `ev-other-shared` and `ev-other-private`; the first student of
//!   school B `ev-b-shared`.
//!
//! [`seed_world`]: super::fixtures::seed_world
//! [`seed_curriculum_people`]: super::curriculum::seed_curriculum_people

use chrono::{Duration, NaiveDate};
use entity::*;
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, Set,
};

use super::curriculum::{CurriculumPeople, seed_curriculum_people};
use super::fixtures::{self, Ref, World};

macro_rules! row {
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

/// One row of the curriculum world: its GraphQL type, id and sourcedId, and what it hangs off
/// (`parent`: the version of a contributor/review/unit skill, the unit of a version, the map of a
/// job, the job of a duty or requirement, the student of evidence).
#[derive(Clone, Debug)]
pub struct Row {
    pub type_name: &'static str,
    pub id: i64,
    pub sourced_id: String,
    pub parent: Option<String>,
}

impl Row {
    pub fn gid(&self) -> String {
        super::global_id(self.type_name, &self.sourced_id)
    }
}

/// The curriculum world.
#[derive(Clone, Debug)]
pub struct CurriculumWorld {
    pub world: World,
    pub people: CurriculumPeople,
    /// The student partner X (and its mentor) may name.
    pub named: Ref,
    /// A student of school A no partner may name.
    pub other: Ref,
    /// A student of school B.
    pub student_b: Ref,
    /// Every row, in insertion order.
    pub rows: Vec<Row>,
}

impl CurriculumWorld {
    /// The rows of `type_name`.
    pub fn of(&self, type_name: &str) -> Vec<&Row> {
        self.rows
            .iter()
            .filter(|r| r.type_name == type_name)
            .collect()
    }

    pub fn row(&self, sourced_id: &str) -> &Row {
        self.rows
            .iter()
            .find(|r| r.sourced_id == sourced_id)
            .unwrap_or_else(|| panic!("no row {sourced_id}"))
    }
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

/// Seeds the base world, the curriculum people and the curriculum world.
pub async fn seed_curriculum_world(db: &DatabaseConnection) -> CurriculumWorld {
    let world = fixtures::seed_world(db).await;
    let people = seed_curriculum_people(db, &world).await;
    let at = api::changes::now();
    let mut rows: Vec<Row> = Vec::new();
    let mut push = |type_name: &'static str, id: i64, sid: &str, parent: Option<&str>| {
        rows.push(Row {
            type_name,
            id,
            sourced_id: sid.to_owned(),
            parent: parent.map(str::to_owned),
        });
        id
    };
    let partner_x = &world.partners[0];
    let partner_y = &world.partners[1];

    // Skills.
    let mut skills = Vec::new();
    for k in 1..=2 {
        let sid = format!("skill-{k}");
        let id = insert(
            db,
            row!(skill, sid.as_str(), at, {
                code: format!("SK-{k}"),
                name_en: format!("Skill {k}"),
                name_zh: None,
                category: "technical".to_owned(),
            }),
        )
        .await;
        skills.push(push("Skill", id, &sid, None));
    }

    // Units and versions.
    let mut unit_ids = Vec::new();
    for sid in ["unit-pub", "unit-x", "unit-y"] {
        let id = insert(
            db,
            row!(curriculum_unit, sid, at, {
                course_id: world.course_apl.id,
                code: sid.to_uppercase(),
                title: format!("Unit {sid}"),
                unit_kind: "module".to_owned(),
                owning_org_id: world.unit.id,
                requires_external_approval: false,
            }),
        )
        .await;
        unit_ids.push(push("CurriculumUnit", id, sid, None));
    }
    let versions: [(&str, usize, i32, &str, Option<&str>); 4] = [
        ("uv-pub-1", 0, 1, "published", None),
        ("uv-x-1", 1, 1, "draft", None),
        ("uv-y-1", 2, 1, "published", None),
        ("uv-y-2", 2, 2, "in_review", Some("uv-y-1")),
    ];
    let mut version_ids = std::collections::HashMap::new();
    for (sid, unit, number, state, supersedes) in versions {
        let published = state == "published";
        let id = insert(
            db,
            row!(curriculum_unit_version, sid, at, {
                unit_id: unit_ids[unit],
                version_number: number,
                state: state.to_owned(),
                supersedes_id: supersedes.map(|s| version_ids[s]),
                title: format!("Version {sid}"),
                summary: None,
                hours: Some(10.0),
                learning_outcomes: Some(serde_json::json!(["An outcome"])),
                resources: None,
                external_approval_ref: None,
                content_hash: published.then(|| "ab".repeat(32)),
                published_at: published.then(|| at - Duration::days(30)),
            }),
        )
        .await;
        version_ids.insert(sid, id);
        let unit_sid = ["unit-pub", "unit-x", "unit-y"][unit];
        push("CurriculumUnitVersion", id, sid, Some(unit_sid));
    }

    // Contributors, reviews, unit skills.
    let lead = &people.lead;
    let contributors: [(&str, &str, &Ref, &Ref, &str); 6] = [
        ("uc-pub-author", "uv-pub-1", lead, &world.unit, "author"),
        ("uc-x-author", "uv-x-1", lead, &world.unit, "author"),
        (
            "uc-x-mentor",
            "uv-x-1",
            &people.mentor_x,
            partner_x,
            "coDeveloper",
        ),
        ("uc-y1-author", "uv-y-1", lead, &world.unit, "author"),
        ("uc-y-author", "uv-y-2", lead, &world.unit, "author"),
        (
            "uc-y-coord",
            "uv-y-2",
            &people.coordinator_y,
            partner_y,
            "reviewer",
        ),
    ];
    for (sid, version, person, org, role) in contributors {
        let id = insert(
            db,
            row!(unit_contributor, sid, at, {
                unit_version_id: version_ids[version],
                person_id: person.id,
                org_id: org.id,
                contribution_role: role.to_owned(),
                hours_contributed: Some(4.5),
            }),
        )
        .await;
        push("UnitContributor", id, sid, Some(version));
    }
    let reviews: [(&str, &str, &Ref, &str); 3] = [
        ("ur-x-comment", "uv-x-1", lead, "comment"),
        ("ur-y1-approve", "uv-y-1", lead, "approve"),
        ("ur-y-comment", "uv-y-2", &people.coordinator_y, "comment"),
    ];
    for (sid, version, reviewer, decision) in reviews {
        let id = insert(
            db,
            row!(unit_review, sid, at, {
                unit_version_id: version_ids[version],
                reviewer_id: reviewer.id,
                decision: decision.to_owned(),
                comments: Some("Looks good".to_owned()),
                decided_at: at - Duration::days(2),
            }),
        )
        .await;
        push("UnitReview", id, sid, Some(version));
    }
    let unit_skills: [(&str, &str, usize); 4] = [
        ("us-pub", "uv-pub-1", 0),
        ("us-x", "uv-x-1", 1),
        ("us-y1", "uv-y-1", 0),
        ("us-y2", "uv-y-2", 1),
    ];
    for (sid, version, skill) in unit_skills {
        let id = insert(
            db,
            row!(unit_skill, sid, at, {
                unit_version_id: version_ids[version],
                skill_id: skills[skill],
                coverage: "developed".to_owned(),
            }),
        )
        .await;
        push("UnitSkill", id, sid, Some(version));
    }

    // Skill maps, jobs, duties, requirements.
    for (map_sid, number, state, job_sid, duty_sid, req_sid, skill) in [
        ("map-approved", 1, "approved", "job-a", "duty-a", "req-a", 0),
        ("map-draft", 2, "draft", "job-d", "duty-d", "req-d", 1),
    ] {
        let approved = state == "approved";
        let map = insert(
            db,
            row!(skill_map, map_sid, at, {
                code: "ICT".to_owned(),
                sector: "ict".to_owned(),
                version_number: number,
                state: state.to_owned(),
                approved_at: approved.then(|| at - Duration::days(60)),
                next_review_due: approved.then(|| date(2027, 1, 1)),
            }),
        )
        .await;
        push("SkillMap", map, map_sid, None);
        let job = insert(
            db,
            row!(future_job, job_sid, at, {
                skill_map_id: map,
                code: "DATA-SCIENTIST".to_owned(),
                title: "Data Scientist".to_owned(),
                summary: None,
            }),
        )
        .await;
        push("FutureJob", job, job_sid, Some(map_sid));
        let duty = insert(
            db,
            row!(job_duty, duty_sid, at, {
                future_job_id: job,
                seq: 1,
                function_area: "Analysis".to_owned(),
                duty_text: "Model data".to_owned(),
                is_placeholder: true,
            }),
        )
        .await;
        push("JobDuty", duty, duty_sid, Some(job_sid));
        let req = insert(
            db,
            row!(job_skill_requirement, req_sid, at, {
                future_job_id: job,
                skill_id: skills[skill],
                proficiency: 3,
                importance: "core".to_owned(),
            }),
        )
        .await;
        push("JobSkillRequirement", req, req_sid, Some(job_sid));
    }

    // Evidence, and the mentorship and consent that make the first student nameable.
    let students_a = world.students_of(0);
    let named = students_a[0].person.clone();
    let other = students_a[1].person.clone();
    let student_b = world.students_of(1)[0].person.clone();
    let guardian = world
        .guardian_links
        .iter()
        .find(|(_, s, _)| world.students[*s].person.id == named.id)
        .map(|(_, _, g)| g.clone())
        .expect("the first student of school A has a guardian");
    fixtures::add_consent(
        db,
        "consent-cw-self",
        &named,
        &named,
        "self",
        "shareWithPartnerMentor",
        Some(partner_x),
    )
    .await;
    fixtures::add_consent(
        db,
        "consent-cw-guardian",
        &named,
        &guardian,
        "parentalResponsibility",
        "shareWithPartnerMentor",
        Some(partner_x),
    )
    .await;
    fixtures::add_mentorship(
        db,
        "mentorship-cw",
        &people.mentor_x,
        &named,
        partner_x,
        &world.pathway,
        "active",
    )
    .await;
    for (sid, student, shared) in [
        ("ev-named-shared", &named, true),
        ("ev-named-private", &named, false),
        ("ev-other-shared", &other, true),
        ("ev-other-private", &other, false),
        ("ev-b-shared", &student_b, true),
    ] {
        let id = insert(
            db,
            row!(skill_evidence, sid, at, {
                student_id: student.id,
                skill_id: skills[0],
                level: 2,
                evidence_kind: "result".to_owned(),
                assessed_at: at - Duration::days(3),
                shared_with_partners: shared,
            }),
        )
        .await;
        push("SkillEvidence", id, sid, Some(&student.sourced_id));
    }

    CurriculumWorld {
        world,
        people,
        named,
        other,
        student_b,
        rows,
    }
}

/// Emits a `create` change event for every row of the curriculum world.
pub async fn emit_all(db: &DatabaseConnection, cw: &CurriculumWorld) {
    let changes: Vec<(&'static str, i64, &str, &'static str)> = cw
        .rows
        .iter()
        .map(|r| (r.type_name, r.id, r.sourced_id.as_str(), "create"))
        .collect();
    super::feed::emit_changes(db, &changes).await;
}
