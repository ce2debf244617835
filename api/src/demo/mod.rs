//! Demo data (DOMAIN.md section 6): the public facts of the CLAP-TECH programme (HKBU and its
//! units, the Jockey Club Charities Trust, the public partners, both pathways and their courses)
//! plus fictitious schools, partners, staff, students and guardians, with pathway journeys,
//! classes, consents and status history, for dashboards, tests and benchmarks.
//!
//! - Deterministic: every random choice comes from a fixed-seed SplitMix64 ([`rng`]), so a scale
//!   always produces the same data (apart from the run's timestamp).
//! - Scalable: `scale` multiplies the students (19 per school per unit of scale: 1,330 at scale 1)
//!   and with them guardians, mentors, consents and enrolments; the 70 schools, 35 partners and the
//!   catalogue stay the same.
//! - Fictitious: names combine common Hong Kong family names with English given names; schools,
//!   the 27 extra partners and school numbers carry a `DEMO-` prefix; e-mails are `example.org`;
//!   STRNs are `DEMO-STRN-…`.
//! - One transaction, written with multi-row inserts of up to 500 rows; every record gets a
//!   `create` change event in the same transaction.
//!
//! Fixed sourcedIds other code relies on: `org-hkjc-trust`, `org-hkbu`, `org-hkbu-sce`,
//! `org-hkbu-comm`, `org-claptech-centre`, `org-partner-<ibm|microsoft|towngas|ubs|adobe|cmrs|
//! equinix|3screens>`, `org-partner-demo-01`…`27`, `org-school-001`…`070`, `pathway-ict`,
//! `pathway-cm`, `stage-<ict|cm>-<s4|s5|s6|hd1|hd2>`, `course-apl-techbasics`, `course-apl-mmst`,
//! `course-hd-ds`, `course-bootcamp-ds`, `session-2020-21`(`-t1`|`-t2`)…`session-2025-26`,
//! `cohort-ict-2020`, `cohort-ict-2021`, `cohort-cm-2022`, `cohort-cm-2023`,
//! `offering-school-001-ict-2020` (one per school and cohort), `offering-hd-ds-ict-2020`,
//! `offering-hd-ds-ict-2021`, `stu-000001`…, `grd-000001`…, and staff `stf-claptech-admin-1`,
//! `stf-claptech-staff-1`/`-2`, `stf-hkbu-sce-lead-1`, `stf-hkbu-comm-lead-1`,
//! `stf-school-001-coord-1`, `stf-school-001-teacher-1`(`-2`), `stf-partner-ibm-coord-1`,
//! `stf-partner-ibm-mentor-001`…. The academic leads `stf-hkbu-sce-lead-1` (ICT courses) and
//! `stf-hkbu-comm-lead-1` (Creative Media) own the demo curriculum units.
//!
//! Curriculum and skills ([`curriculum`]): `skill-<code>`, `skillmap-art-tech-v1` (approved, due
//! for review), `skillmap-art-tech-v2` (draft), `skillmap-ict-v1`, `unit-apl-techbasics-1`…`4`,
//! `unit-apl-mmst-1`…`4` (`-2` is "Storytelling for Social Good"), `unit-hd-ds-1`…`4`, their
//! versions `unitver-<unit>-v<k>` in every workflow state, and `evidence-0000001`….

mod curriculum;
mod names;
mod plan;
mod rng;
mod sink;
mod write;

use std::time::Instant;

use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, TransactionTrait};

use crate::error::{AppError, AppResult, ErrorCode};

/// What a seeding run wrote.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct SeedSummary {
    /// Secondary schools (always 70).
    pub schools: usize,
    /// Industry partners (always 35).
    pub partners: usize,
    /// Students (1,330 × scale).
    pub students: usize,
    /// Rows written to the data tables, join and history tables included, change events not.
    pub rows: usize,
}

/// Whether the database holds no organisations yet.
pub async fn is_empty(db: &DatabaseConnection) -> AppResult<bool> {
    Ok(entity::org::Entity::find().count(db).await? == 0)
}

/// Seeds the demo data at `scale` (1 = the default size; 0 counts as 1) in one transaction.
///
/// The database must hold no organisations (see [`is_empty`]); otherwise nothing is written and
/// the result is a `DUPLICATE` conflict.
pub async fn seed(db: &DatabaseConnection, scale: u32) -> AppResult<SeedSummary> {
    let started = Instant::now();
    let plan = plan::Plan::build(scale);
    let txn = db.begin().await?;
    if entity::org::Entity::find().count(&txn).await? != 0 {
        return Err(AppError::Conflict {
            code: ErrorCode::Duplicate,
            message: "the database already holds organisations; demo data is seeded only into an empty database"
                .into(),
        });
    }
    let mut ctx = sink::Ctx::new(&txn, crate::changes::now());
    write::write_all(&mut ctx, &plan).await?;
    let (rows, events) = (ctx.rows, ctx.events);
    txn.commit().await?;
    // Fresh statistics after a bulk load, so the planner does not guess from empty tables.
    db.execute_unprepared("ANALYZE").await?;
    let summary = SeedSummary {
        schools: plan.schools.len(),
        partners: plan::PARTNERS,
        students: plan.students.len(),
        rows,
    };
    tracing::info!(
        demo.scale = scale.max(1),
        demo.schools = summary.schools,
        demo.partners = summary.partners,
        demo.students = summary.students,
        demo.rows = summary.rows,
        demo.events = events,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "seeded the demo data"
    );
    Ok(summary)
}
