//! A hand-built curriculum with a known coverage answer (issue 5 item 6), written directly in the
//! database (the curriculum write mutations are tested elsewhere):
//!
//! Skills `COV-A` … `COV-F`. An approved skill map `COV-MAP` with two jobs:
//! - `COV-J1` requires A (core, 3), B (core, 2), C (supporting, 2), D (core, 2);
//! - `COV-J2` requires C (core, 3), E (supporting, 1), F (core, 2), plus a deleted requirement
//!   of B (does not count).
//!
//! A draft skill map `COV-DRAFT` with a job `COV-JX` (not counted by default).
//!
//! Units of the ApL course:
//! - `COV-U1`: v1 published (A developed, C introduced);
//! - `COV-U2`: only a v1 draft (B assessed, F applied): never counts;
//! - `COV-U3`: v1 published (B applied, and a deleted unit skill E) and a v2 draft (D assessed):
//!   only v1 counts;
//! - `COV-U4`: v1 retired (D assessed), pinned by the running offering `cov-run`, and v2
//!   published (E introduced).
//!
//! Unit of the HD course (the world's pathway has both courses): `COV-U5` v1 published
//! (F assessed).
//!
//! The running offering `cov-run` pinned U1 v1, U3 v1 and U4 v1.
//!
//! Evidence of the first student of school A (who consented to partner X; a mentorship of
//! partner X's mentor with them is active): A 3 shared; B 1 shared, B 2 not shared; C 4 not
//! shared; a deleted D 4 shared.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use entity::*;
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, Set,
};

use crate::fixtures::{Ref, World, add_mentorship};
use crate::writes_offerings::add_offering;

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
        .expect("insert coverage fixture row")
        .last_insert_id
        .into()
}

fn r(id: i64, sid: &str, type_name: &'static str) -> Ref {
    Ref {
        id,
        sourced_id: sid.to_owned(),
        type_name,
    }
}

fn now() -> DateTime<Utc> {
    api::changes::now()
}

/// Tombstones a row of `table` (status only).
pub async fn tombstone(db: &impl ConnectionTrait, table: &str, id: i64) {
    db.execute_unprepared(&format!(
        "UPDATE {table} SET status = 'tobedeleted' WHERE id = {id}"
    ))
    .await
    .expect("tombstone coverage fixture row");
}

/// Sets the state of a unit version.
pub async fn set_version_state(db: &impl ConnectionTrait, version: &Ref, state: &str) {
    db.execute_unprepared(&format!(
        "UPDATE curriculum_unit_version SET state = '{state}' WHERE id = {}",
        version.id
    ))
    .await
    .expect("set version state");
}

pub async fn add_skill(db: &impl ConnectionTrait, code: &str) -> Ref {
    let id = insert(
        db,
        record!(skill, format!("skill-{}", code.to_lowercase()), now(), {
            code: code.to_owned(),
            name_en: format!("Skill {code}"),
            name_zh: None,
            category: "technical".to_owned(),
        }),
    )
    .await;
    r(id, &format!("skill-{}", code.to_lowercase()), "Skill")
}

pub async fn add_skill_map(db: &impl ConnectionTrait, code: &str, state: &str) -> Ref {
    let sid = format!("map-{}", code.to_lowercase());
    let approved = state == "approved";
    let id = insert(
        db,
        record!(skill_map, sid.as_str(), now(), {
            code: code.to_owned(),
            sector: "artTech".to_owned(),
            version_number: 1,
            state: state.to_owned(),
            approved_at: approved.then(now),
            next_review_due: approved.then(|| NaiveDate::from_ymd_opt(2027, 11, 1).expect("date")),
        }),
    )
    .await;
    r(id, &sid, "SkillMap")
}

pub async fn add_job(db: &impl ConnectionTrait, map: &Ref, code: &str) -> Ref {
    let sid = format!("job-{}", code.to_lowercase());
    let id = insert(
        db,
        record!(future_job, sid.as_str(), now(), {
            skill_map_id: map.id,
            code: code.to_owned(),
            title: format!("Job {code}"),
            summary: None,
        }),
    )
    .await;
    r(id, &sid, "FutureJob")
}

pub async fn add_requirement(
    db: &impl ConnectionTrait,
    job: &Ref,
    skill: &Ref,
    proficiency: i32,
    importance: &str,
) -> Ref {
    let sid = format!("req-{}-{}", job.sourced_id, skill.sourced_id);
    let id = insert(
        db,
        record!(job_skill_requirement, sid.as_str(), now(), {
            future_job_id: job.id,
            skill_id: skill.id,
            proficiency: proficiency,
            importance: importance.to_owned(),
        }),
    )
    .await;
    r(id, &sid, "JobSkillRequirement")
}

pub async fn add_unit(db: &impl ConnectionTrait, world: &World, course: &Ref, code: &str) -> Ref {
    let sid = format!("unit-{}", code.to_lowercase());
    let id = insert(
        db,
        record!(curriculum_unit, sid.as_str(), now(), {
            course_id: course.id,
            code: code.to_owned(),
            title: format!("Unit {code}"),
            unit_kind: "module".to_owned(),
            owning_org_id: world.unit.id,
            requires_external_approval: false,
        }),
    )
    .await;
    r(id, &sid, "CurriculumUnit")
}

pub async fn add_version(
    db: &impl ConnectionTrait,
    unit: &Ref,
    number: i32,
    state: &str,
    skills: &[(&Ref, &str)],
) -> Ref {
    let sid = format!("{}-v{number}", unit.sourced_id);
    let published = matches!(state, "published" | "retired");
    let id = insert(
        db,
        record!(curriculum_unit_version, sid.as_str(), now(), {
            unit_id: unit.id,
            version_number: number,
            state: state.to_owned(),
            supersedes_id: None,
            title: format!("{} version {number}", unit.sourced_id),
            summary: None,
            hours: Some(10.0),
            learning_outcomes: None,
            resources: None,
            external_approval_ref: None,
            content_hash: None,
            published_at: published.then(now),
        }),
    )
    .await;
    let version = r(id, &sid, "CurriculumUnitVersion");
    for (skill, coverage) in skills {
        add_unit_skill(db, &version, skill, coverage).await;
    }
    version
}

pub async fn add_unit_skill(
    db: &impl ConnectionTrait,
    version: &Ref,
    skill: &Ref,
    coverage: &str,
) -> Ref {
    let sid = format!("us-{}-{}", version.sourced_id, skill.sourced_id);
    let id = insert(
        db,
        record!(unit_skill, sid.as_str(), now(), {
            unit_version_id: version.id,
            skill_id: skill.id,
            coverage: coverage.to_owned(),
        }),
    )
    .await;
    r(id, &sid, "UnitSkill")
}

/// Pins `version` to `offering` directly.
pub async fn pin(db: &impl ConnectionTrait, offering: &Ref, version: &Ref) {
    offering_unit_version::Entity::insert(offering_unit_version::ActiveModel {
        offering_id: Set(offering.id),
        unit_version_id: Set(version.id),
        pinned_at: Set(now()),
    })
    .exec_without_returning(db)
    .await
    .expect("insert pin");
}

pub async fn add_evidence(
    db: &impl ConnectionTrait,
    sid: &str,
    student: &Ref,
    skill: &Ref,
    level: i32,
    shared: bool,
    days_ago: i64,
) -> Ref {
    let id = insert(
        db,
        record!(skill_evidence, sid, now(), {
            student_id: student.id,
            skill_id: skill.id,
            level: level,
            evidence_kind: "result".to_owned(),
            assessed_at: now() - Duration::days(days_ago),
            shared_with_partners: shared,
        }),
    )
    .await;
    r(id, sid, "SkillEvidence")
}

/// The coverage fixture (see the module doc).
#[derive(Clone, Debug)]
pub struct CoverageWorld {
    /// `[A, B, C, D, E, F]`.
    pub skills: Vec<Ref>,
    pub map: Ref,
    pub job1: Ref,
    pub job2: Ref,
    pub draft_map: Ref,
    pub draft_job: Ref,
    /// `COV-U1` … `COV-U5`.
    pub units: [Ref; 5],
    pub u1v1: Ref,
    pub u2v1: Ref,
    pub u3v1: Ref,
    pub u3v2: Ref,
    pub u4v1: Ref,
    pub u4v2: Ref,
    pub u5v1: Ref,
    /// Running, with U1 v1, U3 v1 and U4 v1 pinned.
    pub running: Ref,
    /// Open for enrolment (no pins).
    pub open: Ref,
    /// The first student of school A.
    pub student: Ref,
}

/// Builds the coverage fixture on top of [`crate::fixtures::seed_world`].
pub async fn seed_coverage(db: &DatabaseConnection, world: &World) -> CoverageWorld {
    let mut skills = Vec::new();
    for code in ["COV-A", "COV-B", "COV-C", "COV-D", "COV-E", "COV-F"] {
        skills.push(add_skill(db, code).await);
    }
    let [a, b, c, d, e, f] = [0, 1, 2, 3, 4, 5].map(|i| skills[i].clone());

    let map = add_skill_map(db, "COV-MAP", "approved").await;
    let job1 = add_job(db, &map, "COV-J1").await;
    let job2 = add_job(db, &map, "COV-J2").await;
    add_requirement(db, &job1, &a, 3, "core").await;
    add_requirement(db, &job1, &b, 2, "core").await;
    add_requirement(db, &job1, &c, 2, "supporting").await;
    add_requirement(db, &job1, &d, 2, "core").await;
    add_requirement(db, &job2, &c, 3, "core").await;
    add_requirement(db, &job2, &e, 1, "supporting").await;
    add_requirement(db, &job2, &f, 2, "core").await;
    let deleted = add_requirement(db, &job2, &b, 1, "core").await;
    tombstone(db, "job_skill_requirement", deleted.id).await;
    let draft_map = add_skill_map(db, "COV-DRAFT", "draft").await;
    let draft_job = add_job(db, &draft_map, "COV-JX").await;
    add_requirement(db, &draft_job, &a, 1, "core").await;

    let apl = &world.course_apl;
    let u1 = add_unit(db, world, apl, "COV-U1").await;
    let u1v1 = add_version(
        db,
        &u1,
        1,
        "published",
        &[(&a, "developed"), (&c, "introduced")],
    )
    .await;
    let u2 = add_unit(db, world, apl, "COV-U2").await;
    let u2v1 = add_version(db, &u2, 1, "draft", &[(&b, "assessed"), (&f, "applied")]).await;
    let u3 = add_unit(db, world, apl, "COV-U3").await;
    let u3v1 = add_version(db, &u3, 1, "published", &[(&b, "applied")]).await;
    let deleted = add_unit_skill(db, &u3v1, &e, "introduced").await;
    tombstone(db, "unit_skill", deleted.id).await;
    let u3v2 = add_version(db, &u3, 2, "draft", &[(&d, "assessed")]).await;
    let u4 = add_unit(db, world, apl, "COV-U4").await;
    let u4v1 = add_version(db, &u4, 1, "retired", &[(&d, "assessed")]).await;
    let u4v2 = add_version(db, &u4, 2, "published", &[(&e, "introduced")]).await;
    let u5 = add_unit(db, world, &world.course_hd, "COV-U5").await;
    let u5v1 = add_version(db, &u5, 1, "published", &[(&f, "assessed")]).await;

    let running = add_offering_on(db, world, "cov-run", "running").await;
    for version in [&u1v1, &u3v1, &u4v1] {
        pin(db, &running, version).await;
    }
    let open = add_offering_on(db, world, "cov-open", "open_for_enrolment").await;

    let student = world.students_of(0)[0].person.clone();
    add_mentorship(
        db,
        "cov-mentorship",
        &world.mentor,
        &student,
        &world.partners[0],
        &world.pathway,
        "active",
    )
    .await;
    add_evidence(db, "ev-a3", &student, &a, 3, true, 10).await;
    add_evidence(db, "ev-b1", &student, &b, 1, true, 9).await;
    add_evidence(db, "ev-b2", &student, &b, 2, false, 8).await;
    add_evidence(db, "ev-c4", &student, &c, 4, false, 7).await;
    let deleted = add_evidence(db, "ev-d4", &student, &d, 4, true, 6).await;
    tombstone(db, "skill_evidence", deleted.id).await;

    CoverageWorld {
        skills,
        map,
        job1,
        job2,
        draft_map,
        draft_job,
        units: [u1, u2, u3, u4, u5],
        u1v1,
        u2v1,
        u3v1,
        u3v2,
        u4v1,
        u4v2,
        u5v1,
        running,
        open,
        student,
    }
}

async fn add_offering_on(db: &DatabaseConnection, world: &World, sid: &str, state: &str) -> Ref {
    add_offering(db, world, sid, state, None).await
}

/// Grows the fixture by `n` units of the ApL course (each with a published version covering
/// two skills), `n` jobs in the approved map (each requiring three skills) with `n` new skills,
/// `n` pins of the running offering and `2n` evidence rows of the student: for statement
/// counts.
pub async fn grow(db: &DatabaseConnection, world: &World, cov: &CoverageWorld, n: usize) {
    let mut extra = Vec::new();
    for i in 0..n {
        extra.push(add_skill(db, &format!("COV-X{i:02}")).await);
    }
    for (i, skill) in extra.iter().enumerate() {
        let unit = add_unit(db, world, &world.course_apl, &format!("COV-G{i:02}")).await;
        let other = &cov.skills[i % cov.skills.len()];
        let version = add_version(
            db,
            &unit,
            1,
            "published",
            &[(skill, "applied"), (other, "assessed")],
        )
        .await;
        pin(db, &cov.running, &version).await;
        let job = add_job(db, &cov.map, &format!("COV-GJ{i:02}")).await;
        add_requirement(db, &job, skill, 2, "core").await;
        add_requirement(db, &job, other, 1, "supporting").await;
        let third = &extra[(i + 1) % extra.len()];
        if third != skill {
            add_requirement(db, &job, third, 3, "core").await;
        }
        add_requirement(db, &cov.job1, skill, 1, "supporting").await;
        add_evidence(
            db,
            &format!("ev-g{i:02}-a"),
            &cov.student,
            skill,
            2,
            true,
            5,
        )
        .await;
        add_evidence(
            db,
            &format!("ev-g{i:02}-b"),
            &cov.student,
            skill,
            3,
            false,
            4,
        )
        .await;
    }
}
