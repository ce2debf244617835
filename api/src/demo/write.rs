//! Turns a [`Plan`] into rows. Ids are assigned here, table by table, continuing from each
//! table's largest id (so 1, 2, 3, … in the empty database the seeder requires); on PostgreSQL the
//! identity sequences are moved past them at the end.

use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    academic_session, account, cohort, consent_record, course, course_enrollment, course_offering,
    external_id, guardian_link, mentorship, offering_term, org, pathway, pathway_enrollment,
    pathway_stage, person, role_assignment, stage_course, status_history,
};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use super::names::{FAMILY_NAMES, email_part};
use super::plan::{
    COHORTS, COURSE_BOOTCAMP, COURSE_HD_DS, COURSE_MMST, COURSE_TECHBASICS, FIRST_YEAR, HD1, HD2,
    LAST_YEAR, ORG_COMM, ORG_HKBU, ORG_SCE, PATHWAY_CM, PATHWAY_ICT, PATHWAY_SLUGS, Plan, S4, S5,
    S6, SEED, STAGE_CODES, Spell, add_days, date, stream, term_session, year_session,
};
use super::rng::Rng;
use super::sink::{Ctx, Sink};
use crate::error::AppResult;

/// `createdBy`/`modifiedBy` of every seeded record, and the StatusHistory actor.
pub const ACTOR: &str = "demo-seed";
/// Collection statement version of the seeded consents.
const PICS_VERSION: &str = "PICS-2024-1";
/// Identifier scheme of the (fictitious) school numbers.
const SCHOOL_NO_SCHEME: &str = "hk-edb-school-no";
/// OIDC issuer of the demo staff accounts (fictitious).
const DEMO_ISSUER: &str = "https://login.example.org";
/// Stages per pathway.
const STAGES: usize = STAGE_CODES.len();

/// The record tables, in the order they are written (also used to move PostgreSQL sequences).
const TABLES: &[&str] = &[
    "org",
    "academic_session",
    "pathway",
    "pathway_stage",
    "course",
    "stage_course",
    "cohort",
    "person",
    "account",
    "role_assignment",
    "guardian_link",
    "external_id",
    "consent_record",
    "course_offering",
    "pathway_enrollment",
    "status_history",
    "course_enrollment",
    "mentorship",
    "skill",
    "skill_map",
    "future_job",
    "job_duty",
    "job_skill_requirement",
    "curriculum_unit",
    "curriculum_unit_version",
    "unit_contributor",
    "unit_review",
    "unit_skill",
    "skill_evidence",
];

/// A model of `entity::$module` with the common record columns filled in.
macro_rules! record {
    ($module:ident, $at:expr, $id:expr, $sourced_id:expr, { $($field:ident : $value:expr),* $(,)? }) => {
        $module::Model {
            id: $id,
            sourced_id: $sourced_id,
            status: entity::STATUS_ACTIVE.to_owned(),
            date_created: $at,
            date_last_modified: $at,
            version: 1,
            metadata: None,
            created_by: Some(ACTOR.to_owned()),
            modified_by: Some(ACTOR.to_owned()),
            $($field: $value,)*
        }
    };
}
pub(super) use record;

/// The id of the `index`-th row a table gets in this run.
#[derive(Clone, Copy, Debug)]
pub(super) struct Base(pub(super) i64);

impl Base {
    pub(super) fn id(self, index: usize) -> i64 {
        self.0 + 1 + index as i64
    }
}

/// Sequential ids for tables whose rows nothing else references.
#[derive(Debug)]
pub(super) struct Counter(pub(super) i64);

impl Counter {
    pub(super) fn next(&mut self) -> i64 {
        self.0 += 1;
        self.0
    }

    /// The number of rows this run has taken so far (for sourcedIds).
    pub(super) fn taken(&self, base: Base) -> i64 {
        self.0 - base.0
    }
}

/// Id bases of the referenced tables.
#[derive(Clone, Copy, Debug)]
pub(super) struct Ids {
    pub(super) org: Base,
    pub(super) session: Base,
    pub(super) pathway: Base,
    pub(super) stage: Base,
    pub(super) course: Base,
    pub(super) cohort: Base,
    pub(super) person: Base,
    pub(super) offering: Base,
    pub(super) enrollment: Base,
}

impl Ids {
    fn stage(&self, pathway: usize, stage: u8) -> i64 {
        self.stage.id(pathway * STAGES + usize::from(stage))
    }
}

/// The largest id of `table` (0 when empty).
pub(super) async fn max_id(ctx: &Ctx<'_>, table: &str) -> AppResult<Base> {
    let backend = ctx.txn.get_database_backend();
    let sql = format!("SELECT COALESCE(MAX(id), 0) FROM {table}");
    let row = ctx
        .txn
        .query_one(Statement::from_string(backend, sql))
        .await?;
    let max: i64 = match row {
        Some(row) => row.try_get_by_index(0)?,
        None => 0,
    };
    Ok(Base(max))
}

/// A UTC timestamp on `day` at `hour`:`minute`.
pub(super) fn timestamp(day: NaiveDate, hour: i64, minute: i64) -> DateTime<Utc> {
    day.and_hms_opt(hour.clamp(0, 23) as u32, minute.clamp(0, 59) as u32, 0)
        .unwrap_or_default()
        .and_utc()
}

/// Writes the whole plan.
pub async fn write_all(ctx: &mut Ctx<'_>, plan: &Plan) -> AppResult<()> {
    let ids = Ids {
        org: max_id(ctx, "org").await?,
        session: max_id(ctx, "academic_session").await?,
        pathway: max_id(ctx, "pathway").await?,
        stage: max_id(ctx, "pathway_stage").await?,
        course: max_id(ctx, "course").await?,
        cohort: max_id(ctx, "cohort").await?,
        person: max_id(ctx, "person").await?,
        offering: max_id(ctx, "course_offering").await?,
        enrollment: max_id(ctx, "pathway_enrollment").await?,
    };
    write_orgs(ctx, plan, &ids).await?;
    write_calendar(ctx, &ids).await?;
    write_catalogue(ctx, &ids).await?;
    write_people(ctx, plan, &ids).await?;
    write_roles(ctx, plan, &ids).await?;
    write_student_records(ctx, plan, &ids).await?;
    let mentor_consents = write_consents(ctx, plan, &ids).await?;
    write_offerings(ctx, plan, &ids).await?;
    write_pathway_enrollments(ctx, plan, &ids).await?;
    write_course_enrollments(ctx, plan, &ids).await?;
    write_mentorships(ctx, plan, &ids, &mentor_consents).await?;
    super::curriculum::write_curriculum(ctx, plan, &ids).await?;
    if ctx.txn.get_database_backend() == DbBackend::Postgres {
        for table in TABLES {
            let sql = format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
            );
            ctx.txn
                .execute(Statement::from_string(DbBackend::Postgres, sql))
                .await?;
        }
    }
    Ok(())
}

async fn write_orgs(ctx: &mut Ctx<'_>, plan: &Plan, ids: &Ids) -> AppResult<()> {
    let mut sink = Sink::<org::Entity>::records("Organization");
    for (i, o) in plan.orgs.iter().enumerate() {
        let model = record!(org, ctx.at, ids.org.id(i), o.sourced_id.clone(), {
            name_en: o.name_en.clone(),
            name_zh: o.name_zh.map(str::to_owned),
            org_type: o.org_type.to_owned(),
            parent_id: o.parent.map(|p| ids.org.id(p)),
            identifier: o.identifier.clone(),
            identifier_scheme: o.identifier.as_ref().map(|_| SCHOOL_NO_SCHEME.to_owned()),
            district: o.district.map(str::to_owned),
            school_finance_type: o.finance.map(str::to_owned),
            industry_sectors: o.sectors.clone().map(serde_json::Value::from),
            website: o.website.map(str::to_owned),
            partner_since: o.partner_since,
        });
        sink.push(ctx, model).await?;
        if i == ORG_HKBU {
            // The parent goes in before its academic units.
            sink.flush(ctx).await?;
        }
    }
    sink.flush(ctx).await
}

/// School years 2020/21 … 2025/26 and their two terms (programme calendar: no org).
async fn write_calendar(ctx: &mut Ctx<'_>, ids: &Ids) -> AppResult<()> {
    let mut sink = Sink::<academic_session::Entity>::records("AcademicSession");
    let slug = |year: i32| format!("{year}-{:02}", (year + 1) % 100);
    let title = |year: i32| format!("{year}/{:02}", (year + 1) % 100);
    for year in FIRST_YEAR..=LAST_YEAR {
        let model = record!(academic_session, ctx.at, ids.session.id(year_session(year)), format!("session-{}", slug(year)), {
            title: title(year),
            session_type: "schoolYear".to_owned(),
            start_date: date(year, 9, 1),
            end_date: date(year + 1, 9, 1),
            school_year: year + 1,
            parent_id: None,
            org_id: None,
        });
        sink.push(ctx, model).await?;
    }
    sink.flush(ctx).await?;
    for year in FIRST_YEAR..=LAST_YEAR {
        let bounds = [date(year, 9, 1), date(year + 1, 2, 1), date(year + 1, 9, 1)];
        for term in 0..2 {
            let sourced_id = format!("session-{}-t{}", slug(year), term + 1);
            let model = record!(academic_session, ctx.at, ids.session.id(term_session(year, term)), sourced_id, {
                title: format!("{} Term {}", title(year), term + 1),
                session_type: "term".to_owned(),
                start_date: bounds[term],
                end_date: bounds[term + 1],
                school_year: year + 1,
                parent_id: Some(ids.session.id(year_session(year))),
                org_id: None,
            });
            sink.push(ctx, model).await?;
        }
    }
    sink.flush(ctx).await
}

/// One course of the catalogue.
struct CourseSpec {
    slug: &'static str,
    code: &'static str,
    title: &'static str,
    aliases: &'static [&'static str],
    kind: &'static str,
    provider: usize,
    hours: Option<i32>,
    span_years: Option<i32>,
    qf_level: Option<i32>,
}

/// The courses, by course index. The Creative Media HD is not publicly named, so it is absent.
const COURSES: [CourseSpec; 4] = [
    CourseSpec {
        slug: "apl-techbasics",
        code: "APL-TECHBASICS",
        title: "Tech Basics",
        aliases: &["Tech Basic"],
        kind: "appliedLearning",
        provider: ORG_SCE,
        hours: Some(180),
        span_years: Some(3),
        qf_level: Some(3),
    },
    CourseSpec {
        slug: "apl-mmst",
        code: "APL-MMST",
        title: "Multimedia Storytelling",
        aliases: &[],
        kind: "appliedLearning",
        provider: ORG_COMM,
        hours: Some(180),
        span_years: None,
        qf_level: Some(3),
    },
    CourseSpec {
        slug: "hd-ds",
        code: "HD-DS",
        title: "Higher Diploma in Data Science",
        aliases: &[],
        kind: "higherDiploma",
        provider: ORG_SCE,
        hours: None,
        span_years: Some(2),
        qf_level: Some(4),
    },
    CourseSpec {
        slug: "bootcamp-ds",
        code: "BOOTCAMP-DS",
        title: "Mathematics and Programming Boot Camp",
        aliases: &[],
        kind: "bridging",
        provider: ORG_SCE,
        hours: None,
        span_years: None,
        qf_level: None,
    },
];

/// Pathways, stages, courses, stage courses and cohorts.
async fn write_catalogue(ctx: &mut Ctx<'_>, ids: &Ids) -> AppResult<()> {
    let mut pathways = Sink::<pathway::Entity>::records("Pathway");
    let ict = record!(pathway, ctx.at, ids.pathway.id(PATHWAY_ICT), "pathway-ict".to_owned(), {
        code: "CLAPTECH-ICT".to_owned(),
        title: "CLAP-TECH Pathway – ICT".to_owned(),
        track: "ict".to_owned(),
        owning_org_id: ids.org.id(ORG_SCE),
        launched_on: Some(date(2020, 9, 1)),
        certifications: Some(serde_json::Value::from(vec!["IBM P-TECH Certification"])),
    });
    pathways.push(ctx, ict).await?;
    let cm = record!(pathway, ctx.at, ids.pathway.id(PATHWAY_CM), "pathway-cm".to_owned(), {
        code: "CLAPTECH-CM".to_owned(),
        title: "CLAP-TECH Pathway – Creative Media".to_owned(),
        track: "creativeMedia".to_owned(),
        owning_org_id: ids.org.id(ORG_COMM),
        launched_on: Some(date(2022, 9, 1)),
        certifications: None,
    });
    pathways.push(ctx, cm).await?;
    pathways.flush(ctx).await?;

    let mut stages = Sink::<pathway_stage::Entity>::records("PathwayStage");
    for (p, slug) in PATHWAY_SLUGS.iter().enumerate() {
        for (s, code) in STAGE_CODES.iter().enumerate() {
            let stage = s as u8;
            let model = record!(pathway_stage, ctx.at, ids.stage(p, stage), format!("stage-{slug}-{}", code.to_lowercase()), {
                pathway_id: ids.pathway.id(p),
                seq: s as i32 + 1,
                code: (*code).to_owned(),
                class_level: (*code).to_owned(),
                level: if stage <= S6 { "seniorSecondary" } else { "subDegree" }.to_owned(),
                is_entry_point: stage == S4 || stage == HD1,
                is_exit_point: stage == S6 || stage == HD2,
            });
            stages.push(ctx, model).await?;
        }
    }
    stages.flush(ctx).await?;

    let mut courses = Sink::<course::Entity>::records("Course");
    for (i, c) in COURSES.iter().enumerate() {
        let model = record!(course, ctx.at, ids.course.id(i), format!("course-{}", c.slug), {
            course_code: c.code.to_owned(),
            title: c.title.to_owned(),
            aliases: (!c.aliases.is_empty()).then(|| serde_json::Value::from(c.aliases.to_vec())),
            course_kind: c.kind.to_owned(),
            provider_org_id: ids.org.id(c.provider),
            apl_area_of_studies: None,
            nominal_contact_hours: c.hours,
            span_years: c.span_years,
            qf_level: c.qf_level,
            qf_credits: None,
        });
        courses.push(ctx, model).await?;
    }
    courses.flush(ctx).await?;

    // The ApL course is core in S4–S6; the HD is core in the ICT HD years, with the boot camp
    // alongside HD1. The Creative Media HD stages have no course: its HD is not yet named.
    let links: [(usize, u8, usize, &str); 9] = [
        (PATHWAY_ICT, S4, COURSE_TECHBASICS, "core"),
        (PATHWAY_ICT, S5, COURSE_TECHBASICS, "core"),
        (PATHWAY_ICT, S6, COURSE_TECHBASICS, "core"),
        (PATHWAY_ICT, HD1, COURSE_HD_DS, "core"),
        (PATHWAY_ICT, HD2, COURSE_HD_DS, "core"),
        (PATHWAY_ICT, HD1, COURSE_BOOTCAMP, "coCurricular"),
        (PATHWAY_CM, S4, COURSE_MMST, "core"),
        (PATHWAY_CM, S5, COURSE_MMST, "core"),
        (PATHWAY_CM, S6, COURSE_MMST, "core"),
    ];
    let base = max_id(ctx, "stage_course").await?;
    let mut next = Counter(base.0);
    let mut stage_courses = Sink::<stage_course::Entity>::records("StageCourse");
    for (p, stage, c, requirement) in links {
        let sourced_id = format!(
            "stagecourse-{}-{}-{}",
            PATHWAY_SLUGS[p],
            STAGE_CODES[usize::from(stage)].to_lowercase(),
            COURSES[c].slug
        );
        let model = record!(stage_course, ctx.at, next.next(), sourced_id, {
            stage_id: ids.stage(p, stage),
            course_id: ids.course.id(c),
            requirement: requirement.to_owned(),
        });
        stage_courses.push(ctx, model).await?;
    }
    stage_courses.flush(ctx).await?;

    let mut cohorts = Sink::<cohort::Entity>::records("Cohort");
    for (i, c) in COHORTS.iter().enumerate() {
        let model = record!(cohort, ctx.at, ids.cohort.id(i), format!("cohort-{}", c.slug), {
            pathway_id: ids.pathway.id(c.pathway),
            code: c.code.to_owned(),
            intake_session_id: ids.session.id(c.intake_session()),
            expected_hkdse_year: Some(c.hkdse_year()),
        });
        cohorts.push(ctx, model).await?;
    }
    cohorts.flush(ctx).await
}

/// A fictitious e-mail address: `given.family.<tag><n>@example.org`.
fn email(given: &str, family: usize, tag: &str, n: usize) -> String {
    let (family, _) = FAMILY_NAMES[family];
    format!(
        "{}.{}.{tag}{n}@example.org",
        email_part(given),
        email_part(family)
    )
}

/// Staff, students and guardians, and the staff's accounts.
async fn write_people(ctx: &mut Ctx<'_>, plan: &Plan, ids: &Ids) -> AppResult<()> {
    let mut people = Sink::<person::Entity>::records("Person");
    for (i, s) in plan.staff.iter().enumerate() {
        let model = record!(person, ctx.at, ids.person.id(plan.staff_person(i)), s.sourced_id.clone(), {
            given_name: s.given.to_owned(),
            family_name: FAMILY_NAMES[s.family].0.to_owned(),
            name_zh: s.name_zh.clone(),
            preferred_name: None,
            email: Some(email(s.given, s.family, "s", i + 1)),
            phone: None,
            date_of_birth: None,
            enabled_user: true,
            primary_org_id: ids.org.id(s.org),
            class_level: None,
            expected_hkdse_year: None,
        });
        people.push(ctx, model).await?;
    }
    for (i, s) in plan.students.iter().enumerate() {
        let stage = s.journey.stage.unwrap_or(S4);
        let model = record!(person, ctx.at, ids.person.id(plan.student_person(i)), format!("stu-{:06}", s.n), {
            given_name: s.given.to_owned(),
            family_name: FAMILY_NAMES[s.family].0.to_owned(),
            name_zh: s.name_zh.clone(),
            preferred_name: s.preferred_name.then(|| s.given.to_owned()),
            email: Some(email(s.given, s.family, "", s.n)),
            phone: None,
            date_of_birth: s.dob,
            enabled_user: true,
            primary_org_id: ids.org.id(plan.school_org(s.school)),
            class_level: Some(STAGE_CODES[usize::from(stage)].to_owned()),
            expected_hkdse_year: Some(COHORTS[s.cohort].hkdse_year()),
        });
        people.push(ctx, model).await?;
    }
    for (i, g) in plan.guardians.iter().enumerate() {
        let school = plan.students[g.student].school;
        let model = record!(person, ctx.at, ids.person.id(plan.guardian_person(i)), format!("grd-{:06}", i + 1), {
            given_name: g.given.to_owned(),
            family_name: FAMILY_NAMES[g.family].0.to_owned(),
            name_zh: g.name_zh.clone(),
            preferred_name: None,
            email: g.has_email.then(|| email(g.given, g.family, "g", i + 1)),
            phone: None,
            date_of_birth: None,
            enabled_user: true,
            primary_org_id: ids.org.id(plan.school_org(school)),
            class_level: None,
            expected_hkdse_year: None,
        });
        people.push(ctx, model).await?;
    }
    people.flush(ctx).await?;

    let base = max_id(ctx, "account").await?;
    let mut next = Counter(base.0);
    let mut accounts = Sink::<account::Entity>::plain();
    for (i, s) in plan.staff.iter().enumerate() {
        let model = record!(account, ctx.at, next.next(), format!("acct-{}", s.sourced_id), {
            person_id: ids.person.id(plan.staff_person(i)),
            oidc_issuer: DEMO_ISSUER.to_owned(),
            oidc_subject: s.sourced_id.clone(),
        });
        accounts.push(ctx, model).await?;
    }
    accounts.flush(ctx).await
}

/// Primary role assignments: staff at their org, students and guardians at the school (closed
/// when the student left), articulated students also at the HD provider.
async fn write_roles(ctx: &mut Ctx<'_>, plan: &Plan, ids: &Ids) -> AppResult<()> {
    let base = max_id(ctx, "role_assignment").await?;
    let mut next = Counter(base.0);
    let mut sink = Sink::<role_assignment::Entity>::records("RoleAssignment");
    let at = ctx.at;
    let role = |next: &mut Counter,
                person: usize,
                org: usize,
                role: &str,
                begin: NaiveDate,
                end: Option<NaiveDate>| {
        let id = next.next();
        record!(role_assignment, at, id, format!("ra-{:07}", next.taken(base)), {
            person_id: ids.person.id(person),
            org_id: ids.org.id(org),
            role: role.to_owned(),
            role_type: "primary".to_owned(),
            begin_date: begin,
            end_date: end,
        })
    };
    for (i, s) in plan.staff.iter().enumerate() {
        let model = role(
            &mut next,
            plan.staff_person(i),
            s.org,
            s.role,
            s.begin,
            None,
        );
        sink.push(ctx, model).await?;
    }
    for (i, s) in plan.students.iter().enumerate() {
        let intake = COHORTS[s.cohort].intake();
        let school = plan.school_org(s.school);
        let person = plan.student_person(i);
        let model = role(
            &mut next,
            person,
            school,
            "student",
            intake,
            s.journey.left_school,
        );
        sink.push(ctx, model).await?;
        if let Some((begin, end)) = s.journey.hd_role {
            let model = role(&mut next, person, ORG_SCE, "student", begin, end);
            sink.push(ctx, model).await?;
        }
        for g in s.guardians.clone() {
            let model = role(
                &mut next,
                plan.guardian_person(g),
                school,
                "guardian",
                intake,
                s.journey.left_school,
            );
            sink.push(ctx, model).await?;
        }
    }
    sink.flush(ctx).await
}

/// Guardian links and the students' school-scoped STRN-like external ids.
async fn write_student_records(ctx: &mut Ctx<'_>, plan: &Plan, ids: &Ids) -> AppResult<()> {
    let base = max_id(ctx, "guardian_link").await?;
    let mut next = Counter(base.0);
    let mut links = Sink::<guardian_link::Entity>::records("GuardianLink");
    for (i, g) in plan.guardians.iter().enumerate() {
        let id = next.next();
        let model = record!(guardian_link, ctx.at, id, format!("gl-{:07}", next.taken(base)), {
            student_id: ids.person.id(plan.student_person(g.student)),
            guardian_id: ids.person.id(plan.guardian_person(i)),
            relationship: g.relationship.to_owned(),
            has_parental_responsibility: g.parental_responsibility,
        });
        links.push(ctx, model).await?;
    }
    links.flush(ctx).await?;

    let base = max_id(ctx, "external_id").await?;
    let mut next = Counter(base.0);
    let mut external = Sink::<external_id::Entity>::records("ExternalId");
    for (i, s) in plan.students.iter().enumerate() {
        let id = next.next();
        let model = record!(external_id, ctx.at, id, format!("xid-{:07}", next.taken(base)), {
            entity_type: "Person".to_owned(),
            entity_id: ids.person.id(plan.student_person(i)),
            scope_org_id: ids.org.id(plan.school_org(s.school)),
            system: "demo-sis".to_owned(),
            id_type: "STRN".to_owned(),
            identifier: format!("DEMO-STRN-{:07}", s.n),
        });
        external.push(ctx, model).await?;
    }
    external.flush(ctx).await
}

/// One consent to record.
struct Grant {
    /// Person id of the giver; `None` for the student.
    given_by: Option<i64>,
    relationship: &'static str,
    purpose: &'static str,
    scope: Option<i64>,
    granted: DateTime<Utc>,
    withdrawn: Option<DateTime<Utc>>,
}

impl Grant {
    fn by_student(
        purpose: &'static str,
        scope: Option<i64>,
        granted: DateTime<Utc>,
        withdrawn: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            given_by: None,
            relationship: "self",
            purpose,
            scope,
            granted,
            withdrawn,
        }
    }

    fn by_guardian(
        guardian: i64,
        purpose: &'static str,
        scope: Option<i64>,
        granted: DateTime<Utc>,
    ) -> Self {
        Self {
            given_by: Some(guardian),
            relationship: "parentalResponsibility",
            purpose,
            scope,
            granted,
            withdrawn: None,
        }
    }
}

/// A student's seeded shareWithPartnerMentor consent for their mentor's partner.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct MentorConsent {
    /// When the student gave it; `None` when they did not.
    granted: Option<DateTime<Utc>>,
    /// When the student withdrew it.
    withdrawn: Option<DateTime<Utc>>,
    /// Whether a guardian with parental responsibility gave it too.
    guardian: bool,
}

impl MentorConsent {
    /// Effective whatever the date: the student's active consent and a guardian's (so it holds
    /// for minors and for students without a known birth date alike).
    fn effective(self) -> bool {
        self.granted.is_some() && self.withdrawn.is_none() && self.guardian
    }
}

/// Consent records: for most students shareWithPartnerMentor for their mentor's partner from the
/// student and a guardian with parental responsibility (some withdrawn, some without the
/// guardian's), some mediaPhotoVideo, and a few alumniTracking from students who left school.
/// Returns each student's shareWithPartnerMentor consent, for the mentorships.
async fn write_consents(
    ctx: &mut Ctx<'_>,
    plan: &Plan,
    ids: &Ids,
) -> AppResult<Vec<MentorConsent>> {
    let base = max_id(ctx, "consent_record").await?;
    let mut next = Counter(base.0);
    let mut sink = Sink::<consent_record::Entity>::records("ConsentRecord");
    let latest = timestamp(date(2026, 10, 31), 9, 0);
    let mut mentor_consents = Vec::with_capacity(plan.students.len());
    for (i, s) in plan.students.iter().enumerate() {
        let mut mentor_consent = MentorConsent::default();
        let mut rng = Rng::keyed(SEED, stream::CONSENT, s.n as u64);
        let student = ids.person.id(plan.student_person(i));
        let partner = ids.org.id(plan.staff[s.mentor].org);
        let guardian = s
            .guardians
            .clone()
            .find(|&g| plan.guardians[g].parental_responsibility)
            .map(|g| ids.person.id(plan.guardian_person(g)));
        let intake = COHORTS[s.cohort].intake();
        let mut grants: Vec<Grant> = Vec::new();
        if rng.percent(93) {
            let day = add_days(intake, rng.range(3, 40));
            let granted = timestamp(day, rng.range(1, 9), rng.range(0, 59));
            let withdrawn = rng.percent(8).then(|| {
                let day = add_days(day, rng.range(60, 900));
                timestamp(day, rng.range(1, 9), rng.range(0, 59)).min(latest)
            });
            grants.push(Grant::by_student(
                "shareWithPartnerMentor",
                Some(partner),
                granted,
                withdrawn,
            ));
            mentor_consent.granted = Some(granted);
            mentor_consent.withdrawn = withdrawn;
            // With guardians lacking parental responsibility, about 10% end up without one.
            let guardian_gives = !rng.percent(6);
            let day = add_days(day, rng.range(0, 10));
            let at = timestamp(day, rng.range(1, 9), rng.range(0, 59));
            if let (true, Some(g)) = (guardian_gives, guardian) {
                grants.push(Grant::by_guardian(
                    g,
                    "shareWithPartnerMentor",
                    Some(partner),
                    at,
                ));
                mentor_consent.guardian = true;
            }
        }
        if rng.percent(30) {
            let day = add_days(intake, rng.range(1, 30));
            let at = timestamp(day, rng.range(1, 9), rng.range(0, 59));
            grants.push(Grant::by_student("mediaPhotoVideo", None, at, None));
            if let Some(g) = guardian {
                grants.push(Grant::by_guardian(g, "mediaPhotoVideo", None, at));
            }
        }
        if let Some(left) = s.journey.left_school
            && matches!(
                s.journey.state,
                "exited" | "secondary_completed" | "articulated" | "completed"
            )
            && rng.percent(30)
        {
            let day = add_days(left, -rng.range(5, 40));
            let at = timestamp(day, rng.range(1, 9), rng.range(0, 59));
            grants.push(Grant::by_student("alumniTracking", None, at, None));
        }
        for grant in grants {
            let id = next.next();
            let model = record!(consent_record, ctx.at, id, format!("consent-{:07}", next.taken(base)), {
                student_id: student,
                given_by_id: grant.given_by.unwrap_or(student),
                giver_relationship: grant.relationship.to_owned(),
                purpose: grant.purpose.to_owned(),
                scope_org_id: grant.scope,
                pics_version: PICS_VERSION.to_owned(),
                granted_at: grant.granted,
                withdrawn_at: grant.withdrawn,
                evidence_ref: None,
            });
            sink.push(ctx, model).await?;
        }
        mentor_consents.push(mentor_consent);
    }
    sink.flush(ctx).await?;
    Ok(mentor_consents)
}

/// Course offerings and their terms.
async fn write_offerings(ctx: &mut Ctx<'_>, plan: &Plan, ids: &Ids) -> AppResult<()> {
    let mut sink = Sink::<course_offering::Entity>::records("CourseOffering");
    for (i, o) in plan.offerings.iter().enumerate() {
        let model = record!(course_offering, ctx.at, ids.offering.id(i), o.sourced_id.clone(), {
            course_id: ids.course.id(o.course),
            class_code: o.class_code.clone(),
            school_org_id: o.school.map(|s| ids.org.id(plan.school_org(s))),
            cohort_id: Some(ids.cohort.id(o.cohort)),
            delivery_mode: o.mode.to_owned(),
            start_date: o.start,
            end_date: o.end,
            state: o.state.to_owned(),
        });
        sink.push(ctx, model).await?;
    }
    sink.flush(ctx).await?;
    let mut terms = Sink::<offering_term::Entity>::plain();
    for (i, o) in plan.offerings.iter().enumerate() {
        for &term in &o.terms {
            let model = offering_term::Model {
                offering_id: ids.offering.id(i),
                session_id: ids.session.id(term),
            };
            terms.push(ctx, model).await?;
        }
    }
    terms.flush(ctx).await
}

/// One pathway enrolment per student, with its status history.
async fn write_pathway_enrollments(ctx: &mut Ctx<'_>, plan: &Plan, ids: &Ids) -> AppResult<()> {
    let mut sink = Sink::<pathway_enrollment::Entity>::records("PathwayEnrollment");
    for (i, s) in plan.students.iter().enumerate() {
        let spec = &COHORTS[s.cohort];
        let j = &s.journey;
        let model = record!(pathway_enrollment, ctx.at, ids.enrollment.id(i), format!("pe-{:07}", i + 1), {
            student_id: ids.person.id(plan.student_person(i)),
            pathway_id: ids.pathway.id(spec.pathway),
            cohort_id: ids.cohort.id(s.cohort),
            entry_school_id: ids.org.id(plan.school_org(s.school)),
            entry_stage_id: ids.stage(spec.pathway, S4),
            current_stage_id: j.stage.map(|stage| ids.stage(spec.pathway, stage)),
            begin_date: spec.intake(),
            end_date: j.end,
            state: j.state.to_owned(),
            exit_reason: j.exit_reason.map(str::to_owned),
        });
        sink.push(ctx, model).await?;
    }
    sink.flush(ctx).await?;

    let base = max_id(ctx, "status_history").await?;
    let mut next = Counter(base.0);
    let mut history = Sink::<status_history::Entity>::plain();
    let code = |stage: Option<u8>| stage.map(|s| STAGE_CODES[usize::from(s)].to_owned());
    for (i, s) in plan.students.iter().enumerate() {
        for e in &s.journey.events {
            let model = status_history::Model {
                id: next.next(),
                entity_type: "PathwayEnrollment".to_owned(),
                entity_id: ids.enrollment.id(i),
                from_state: e.from.map(str::to_owned),
                to_state: e.to.to_owned(),
                from_stage: code(e.from_stage),
                to_stage: code(e.to_stage),
                reason: e.reason.map(str::to_owned),
                at: timestamp(e.on, 2, 0),
                actor: Some(ACTOR.to_owned()),
                client_id: None,
            };
            history.push(ctx, model).await?;
        }
    }
    history.flush(ctx).await
}

/// Students in their ApL class (and articulated ones in the HD class) and each class's teacher.
async fn write_course_enrollments(ctx: &mut Ctx<'_>, plan: &Plan, ids: &Ids) -> AppResult<()> {
    let base = max_id(ctx, "course_enrollment").await?;
    let mut next = Counter(base.0);
    let mut sink = Sink::<course_enrollment::Entity>::records("CourseEnrollment");
    let at = ctx.at;
    let enrolment = |next: &mut Counter,
                     person: usize,
                     offering: usize,
                     org: usize,
                     role: &str,
                     spell: Spell| {
        let id = next.next();
        record!(course_enrollment, at, id, format!("ce-{:07}", next.taken(base)), {
            person_id: ids.person.id(person),
            offering_id: ids.offering.id(offering),
            school_org_id: ids.org.id(org),
            role: role.to_owned(),
            begin_date: spell.begin,
            end_date: spell.end,
            contact_hours_attended: spell.hours,
            state: spell.state.to_owned(),
            transferred_to_id: None,
        })
    };
    for (i, o) in plan.offerings.iter().enumerate() {
        let done = o.state == "completed";
        let spell = Spell {
            state: if done { "completed" } else { "enrolled" },
            begin: o.start,
            end: done.then_some(o.end),
            hours: None,
        };
        let model = enrolment(
            &mut next,
            plan.staff_person(o.teacher),
            i,
            o.teacher_org,
            "teacher",
            spell,
        );
        sink.push(ctx, model).await?;
    }
    for (i, s) in plan.students.iter().enumerate() {
        let person = plan.student_person(i);
        if let Some(spell) = s.journey.apl {
            let model = enrolment(
                &mut next,
                person,
                s.offering,
                plan.school_org(s.school),
                "student",
                spell,
            );
            sink.push(ctx, model).await?;
        }
        if let (Some(spell), Some(offering)) = (s.journey.hd, s.hd_offering) {
            let model = enrolment(&mut next, person, offering, ORG_SCE, "student", spell);
            sink.push(ctx, model).await?;
        }
    }
    sink.flush(ctx).await
}

/// Reasons a demo mentorship was paused by programme staff.
const PAUSE_REASONS: &[&str] = &[
    "HKDSE examination period",
    "Mentor on overseas assignment",
    "Student asked for a break",
];

/// One StatusHistory row of a demo mentorship: from, to, when, why.
type Step = (
    Option<&'static str>,
    &'static str,
    DateTime<Utc>,
    Option<&'static str>,
);

/// One mentorship per enrolled student with their mentor (about one mentor per 4.5 students),
/// its state consistent with the seeded consent: active (mostly) or paused where the
/// shareWithPartnerMentor consent is effective, paused with reason "consent withdrawn" where
/// the student withdrew it, proposed or cancelled where it is missing, ended when the student's
/// pathway ended. Each row gets a `create` change event and its StatusHistory.
async fn write_mentorships(
    ctx: &mut Ctx<'_>,
    plan: &Plan,
    ids: &Ids,
    consents: &[MentorConsent],
) -> AppResult<()> {
    let base = max_id(ctx, "mentorship").await?;
    let mut next = Counter(base.0);
    let mut sink = Sink::<mentorship::Entity>::records("Mentorship");
    let mut histories: Vec<(i64, Vec<Step>)> = Vec::new();
    for (i, s) in plan.students.iter().enumerate() {
        let mut rng = Rng::keyed(SEED, stream::MENTORSHIP, s.n as u64);
        let consent = consents.get(i).copied().unwrap_or_default();
        let j = &s.journey;
        let pending = matches!(j.state, "applied" | "offered");
        if pending && !rng.percent(40) {
            continue;
        }
        let mentor = &plan.staff[s.mentor];
        let intake = COHORTS[s.cohort].intake();
        let first_day = match consent.granted {
            Some(granted) => add_days(granted.date_naive(), rng.range(7, 30)),
            None => add_days(intake, rng.range(30, 60)),
        }
        .max(mentor.begin);
        let proposed_at = timestamp(add_days(first_day, -rng.range(5, 20)), 2, rng.range(0, 59));
        let started_at = timestamp(first_day, 2, rng.range(0, 59));
        let mut steps: Vec<Step> = vec![(None, "proposed", proposed_at, None)];
        let mut end_date = None;
        let consent_ok_at_start = consent.granted.is_some()
            && consent.guardian
            && consent.withdrawn.is_none_or(|w| w > started_at);
        let state = match (j.end, consent_ok_at_start) {
            (Some(end), true) if end > first_day => {
                steps.push((Some("proposed"), "active", started_at, None));
                if let Some(withdrawn) = consent.withdrawn.filter(|w| w.date_naive() < end) {
                    steps.push((
                        Some("active"),
                        "paused",
                        withdrawn,
                        Some("consent withdrawn"),
                    ));
                    steps.push((Some("paused"), "ended", timestamp(end, 2, 0), None));
                } else {
                    steps.push((Some("active"), "ended", timestamp(end, 2, 0), None));
                }
                end_date = Some(end);
                "ended"
            }
            (Some(end), _) => {
                let at = timestamp(end, 2, 0).max(proposed_at + chrono::Duration::hours(1));
                steps.push((
                    Some("proposed"),
                    "cancelled",
                    at,
                    Some("student left the pathway"),
                ));
                "cancelled"
            }
            (None, true) if !pending => {
                steps.push((Some("proposed"), "active", started_at, None));
                if let Some(withdrawn) = consent.withdrawn {
                    steps.push((
                        Some("active"),
                        "paused",
                        withdrawn,
                        Some("consent withdrawn"),
                    ));
                    "paused"
                } else if rng.percent(6) {
                    let day = add_days(first_day, rng.range(90, 500));
                    let reason = rng.pick(PAUSE_REASONS);
                    steps.push((Some("active"), "paused", timestamp(day, 3, 0), Some(reason)));
                    "paused"
                } else {
                    "active"
                }
            }
            _ if consent.effective() || rng.percent(65) => "proposed",
            _ => {
                let day = add_days(first_day, rng.range(20, 120));
                steps.push((
                    Some("proposed"),
                    "cancelled",
                    timestamp(day, 3, 0),
                    Some("no effective consent"),
                ));
                "cancelled"
            }
        };
        let id = next.next();
        let format = if rng.percent(15) { "group" } else { "oneToOne" };
        let model = record!(mentorship, ctx.at, id, format!("mentorship-{:07}", next.taken(base)), {
            mentor_id: ids.person.id(plan.staff_person(s.mentor)),
            student_id: ids.person.id(plan.student_person(i)),
            partner_org_id: ids.org.id(mentor.org),
            pathway_id: ids.pathway.id(COHORTS[s.cohort].pathway),
            begin_date: first_day,
            end_date: end_date,
            format: format.to_owned(),
            state: state.to_owned(),
        });
        sink.push(ctx, model).await?;
        histories.push((id, steps));
    }
    sink.flush(ctx).await?;

    let base = max_id(ctx, "status_history").await?;
    let mut next = Counter(base.0);
    let mut history = Sink::<status_history::Entity>::plain();
    for (entity_id, steps) in histories {
        for (from, to, at, reason) in steps {
            let model = status_history::Model {
                id: next.next(),
                entity_type: "Mentorship".to_owned(),
                entity_id,
                from_state: from.map(str::to_owned),
                to_state: to.to_owned(),
                from_stage: None,
                to_stage: None,
                reason: reason.map(str::to_owned),
                at,
                actor: Some(ACTOR.to_owned()),
                client_id: None,
            };
            history.push(ctx, model).await?;
        }
    }
    history.flush(ctx).await
}
