//! A small, known world arranged directly in the database with sea-orm (there are no mutations
//! yet). Every value is deterministic so tests can compute the exact answers they expect from the
//! returned [`World`].

use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use entity::*;
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, Set,
    TransactionTrait,
};

/// sourcedIds of the fixed organisations.
pub const OFFICE: &str = "org-office";
pub const UNIVERSITY: &str = "org-university";
pub const UNIT: &str = "org-unit";
pub const SCHOOL_A: &str = "org-school-a";
pub const SCHOOL_B: &str = "org-school-b";
pub const PARTNER_X: &str = "org-partner-x";
pub const PARTNER_Y: &str = "org-partner-y";

/// A row: internal id, sourcedId and GraphQL type (for global ids).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ref {
    pub id: i64,
    pub sourced_id: String,
    pub type_name: &'static str,
}

impl Ref {
    fn new(id: i64, sourced_id: impl Into<String>, type_name: &'static str) -> Self {
        Ref {
            id,
            sourced_id: sourced_id.into(),
            type_name,
        }
    }

    /// The global id the server gives this row.
    pub fn gid(&self) -> String {
        super::global_id(self.type_name, &self.sourced_id)
    }
}

/// One seeded student and everything hanging off them.
#[derive(Clone, Debug)]
pub struct Student {
    pub person: Ref,
    /// 0 for school A, 1 for school B.
    pub school: usize,
    /// Position within the school (0-based).
    pub index: usize,
    pub given_name: String,
    pub family_name: String,
    pub preferred_name: Option<String>,
    pub email: Option<String>,
    pub class_level: String,
    pub expected_hkdse_year: i32,
    pub date_of_birth: NaiveDate,
    pub enabled_user: bool,
    pub date_last_modified: DateTime<Utc>,
    pub role_assignment: Ref,
    pub external_id: Ref,
    pub external_identifier: String,
    pub pathway_enrollment: Ref,
    /// Database text of the pathway enrolment state, e.g. `on_hold`.
    pub pathway_state: &'static str,
    /// Database text of the current stage code, when set.
    pub current_stage: Option<&'static str>,
    /// Status history of the pathway enrolment, oldest first: `(from, to)`.
    pub history: Vec<(Option<&'static str>, &'static str)>,
    pub pathway_begin: NaiveDate,
    pub pathway_end: Option<NaiveDate>,
    pub course_enrollment: Ref,
    pub course_state: &'static str,
    pub contact_hours: Option<f64>,
}

/// Staff and guardians of one school.
#[derive(Clone, Debug)]
pub struct SchoolPeople {
    pub coordinator: Ref,
    pub teacher: Ref,
    pub guardian: Ref,
    pub teacher_enrollment: Ref,
}

/// What [`seed_world_with`] arranges.
#[derive(Clone, Copy, Debug)]
pub struct WorldSpec {
    pub students_per_school: usize,
}

impl Default for WorldSpec {
    fn default() -> Self {
        WorldSpec {
            students_per_school: 6,
        }
    }
}

/// The seeded world.
#[derive(Clone, Debug)]
pub struct World {
    /// All timestamps are offsets from this (whole seconds, a day ago).
    pub base_time: DateTime<Utc>,
    pub university: Ref,
    pub unit: Ref,
    pub office: Ref,
    /// `[school A, school B]`.
    pub schools: [Ref; 2],
    /// `[partner X, partner Y]`.
    pub partners: [Ref; 2],
    pub staff: Ref,
    pub partner_coordinator: Ref,
    pub mentor: Ref,
    pub pathway: Ref,
    /// S4, S5, S6, HD1, HD2 (by seq; inserted out of order).
    pub stages: Vec<Ref>,
    pub stage_codes: Vec<&'static str>,
    pub course_apl: Ref,
    pub course_hd: Ref,
    /// Stage courses by stage (same order as `stages`).
    pub stage_courses: Vec<Ref>,
    pub year_2024: Ref,
    pub term_2024_1: Ref,
    pub term_2024_2: Ref,
    pub year_2025: Ref,
    pub term_2025_1: Ref,
    pub cohort: Ref,
    /// One offering per school.
    pub offerings: [Ref; 2],
    /// Students of school A then school B.
    pub students: Vec<Student>,
    /// `[school A, school B]`.
    pub school_people: [SchoolPeople; 2],
    /// Guardian links: `(link, student index in `students`, guardian)`.
    pub guardian_links: Vec<(Ref, usize, Ref)>,
    /// The extra external id of the first student of school A, owned by school B.
    pub foreign_external_id: Ref,
    pub consents: Vec<Ref>,
    /// sourcedIds of every person in insertion (= id) order: office staff, partner coordinator,
    /// mentor, then per school its coordinator, teacher, guardian and students.
    pub people: Vec<String>,
}

impl World {
    pub fn school_a(&self) -> &Ref {
        &self.schools[0]
    }

    pub fn school_b(&self) -> &Ref {
        &self.schools[1]
    }

    /// The students of school `school` (0 = A, 1 = B).
    pub fn students_of(&self, school: usize) -> Vec<&Student> {
        self.students
            .iter()
            .filter(|s| s.school == school)
            .collect()
    }

    /// sourcedIds of the students of a school, in insertion (= id) order.
    pub fn student_ids_of(&self, school: usize) -> Vec<String> {
        self.students_of(school)
            .iter()
            .map(|s| s.person.sourced_id.clone())
            .collect()
    }

    /// Every student's sourcedId in id order.
    pub fn student_ids(&self) -> Vec<String> {
        self.students
            .iter()
            .map(|s| s.person.sourced_id.clone())
            .collect()
    }

    pub fn student(&self, sourced_id: &str) -> &Student {
        self.students
            .iter()
            .find(|s| s.person.sourced_id == sourced_id)
            .unwrap_or_else(|| panic!("no seeded student {sourced_id}"))
    }
}

const GIVEN: [&str; 10] = [
    "Kelvin", "Wing", "Chloe", "Hoi", "Tsz", "Mei", "Jason", "Pui", "Wai", "Yuen",
];
const FAMILY: [&str; 7] = ["Chan", "Wong", "Lee", "Cheung", "Lam", "Ho", "Ng"];
const LEVELS: [&str; 3] = ["S4", "S5", "S6"];
const STATES: [&str; 6] = [
    "enrolled",
    "applied",
    "offered",
    "on_hold",
    "withdrawn",
    "enrolled",
];

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid fixture date")
}

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

/// Inserts a record row and returns its id.
async fn insert<A>(db: &impl ConnectionTrait, model: A) -> i64
where
    A: ActiveModelTrait + ActiveModelBehavior + Send,
    <<A::Entity as EntityTrait>::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: Into<i64>,
{
    <A::Entity as EntityTrait>::insert(model)
        .exec(db)
        .await
        .expect("insert fixture row")
        .last_insert_id
        .into()
}

async fn add_org(
    db: &impl ConnectionTrait,
    at: DateTime<Utc>,
    sid: &str,
    name: &str,
    org_type: &str,
    parent: Option<i64>,
    district: Option<&str>,
    finance: Option<&str>,
    partner_since: Option<NaiveDate>,
) -> Ref {
    let identifier = (org_type == "secondarySchool").then(|| format!("edb-{sid}"));
    let id = insert(
        db,
        record!(org, sid, at, {
            name_en: name.to_owned(),
            name_zh: None,
            org_type: org_type.to_owned(),
            parent_id: parent,
            identifier_scheme: identifier.as_ref().map(|_| "hk-edb-school-no".to_owned()),
            identifier: identifier,
            district: district.map(str::to_owned),
            school_finance_type: finance.map(str::to_owned),
            industry_sectors: (org_type == "industryPartner").then(|| serde_json::json!(["ict"])),
            website: None,
            partner_since: partner_since,
        }),
    )
    .await;
    Ref::new(id, sid, "Organization")
}

/// A person with no role yet.
pub async fn add_person(
    db: &impl ConnectionTrait,
    at: DateTime<Utc>,
    sid: &str,
    given: &str,
    family: &str,
    primary_org: i64,
) -> Ref {
    let id = insert(
        db,
        record!(person, sid, at, {
            given_name: given.to_owned(),
            family_name: family.to_owned(),
            name_zh: None,
            preferred_name: None,
            email: None,
            phone: None,
            date_of_birth: None,
            enabled_user: true,
            primary_org_id: primary_org,
            class_level: None,
            expected_hkdse_year: None,
        }),
    )
    .await;
    Ref::new(id, sid, "Person")
}

pub async fn add_role(
    db: &impl ConnectionTrait,
    at: DateTime<Utc>,
    sid: &str,
    person: &Ref,
    org: &Ref,
    role: &str,
    begin: NaiveDate,
    end: Option<NaiveDate>,
) -> Ref {
    let id = insert(
        db,
        record!(role_assignment, sid, at, {
            person_id: person.id,
            org_id: org.id,
            role: role.to_owned(),
            role_type: "primary".to_owned(),
            begin_date: begin,
            end_date: end,
        }),
    )
    .await;
    Ref::new(id, sid, "RoleAssignment")
}

/// The history chain that leads to a pathway enrolment state.
fn history_to(state: &'static str) -> Vec<(Option<&'static str>, &'static str)> {
    let mut chain = vec![(None, "applied")];
    if state == "applied" {
        return chain;
    }
    chain.push((Some("applied"), "offered"));
    if state == "offered" {
        return chain;
    }
    chain.push((Some("offered"), "enrolled"));
    if state != "enrolled" {
        chain.push((Some("enrolled"), state));
    }
    chain
}

/// Arranges the default world (6 students per school).
pub async fn seed_world(db: &DatabaseConnection) -> World {
    seed_world_with(db, WorldSpec::default()).await
}

/// Arranges the world in one transaction.
pub async fn seed_world_with(db: &DatabaseConnection, spec: WorldSpec) -> World {
    let txn = db.begin().await.expect("begin");
    let world = seed(&txn, spec).await;
    txn.commit().await.expect("commit");
    world
}

async fn seed(db: &impl ConnectionTrait, spec: WorldSpec) -> World {
    let base = api::changes::now() - Duration::days(1);
    let t0 = base.with_nanosecond(0).expect("whole second");

    // Organisations.
    let university = add_org(
        db,
        t0,
        UNIVERSITY,
        "Hong Kong Baptist University",
        "university",
        None,
        Some("Kowloon City"),
        None,
        None,
    )
    .await;
    let unit = add_org(
        db,
        t0,
        UNIT,
        "Academy of Continuing Education",
        "academicUnit",
        Some(university.id),
        None,
        None,
        None,
    )
    .await;
    let office = add_org(
        db,
        t0,
        OFFICE,
        "CLAP-TECH Centre",
        "programmeOffice",
        Some(unit.id),
        None,
        None,
        None,
    )
    .await;
    let school_a = add_org(
        db,
        t0,
        SCHOOL_A,
        "Alpha Secondary School",
        "secondarySchool",
        None,
        Some("Sha Tin"),
        Some("aided"),
        None,
    )
    .await;
    let school_b = add_org(
        db,
        t0,
        SCHOOL_B,
        "Beta College",
        "secondarySchool",
        None,
        Some("Wan Chai"),
        Some("dss"),
        None,
    )
    .await;
    let partner_x = add_org(
        db,
        t0,
        PARTNER_X,
        "Xenon Tech Limited",
        "industryPartner",
        None,
        None,
        None,
        Some(date(2022, 9, 1)),
    )
    .await;
    let partner_y = add_org(
        db,
        t0,
        PARTNER_Y,
        "Yellow Media Limited",
        "industryPartner",
        None,
        None,
        None,
        None,
    )
    .await;

    // Office and partner people.
    let staff = add_person(db, t0, "staff-1", "Olivia", "Fung", office.id).await;
    add_role(
        db,
        t0,
        "ra-staff-1",
        &staff,
        &office,
        "programmeStaff",
        date(2020, 1, 1),
        None,
    )
    .await;
    let partner_coordinator = add_person(db, t0, "pc-x", "Peter", "Kwok", partner_x.id).await;
    add_role(
        db,
        t0,
        "ra-pc-x",
        &partner_coordinator,
        &partner_x,
        "partnerCoordinator",
        date(2022, 9, 1),
        None,
    )
    .await;
    let mentor = add_person(db, t0, "mentor-x", "Mandy", "Tse", partner_x.id).await;
    add_role(
        db,
        t0,
        "ra-mentor-x",
        &mentor,
        &partner_x,
        "mentor",
        date(2022, 9, 1),
        None,
    )
    .await;

    // Pathway and stages, inserted out of seq order.
    let pathway_id = insert(
        db,
        record!(pathway, "pw-ict", t0, {
            code: "CLAPTECH-ICT".to_owned(),
            title: "ICT Pathway".to_owned(),
            track: "ict".to_owned(),
            owning_org_id: unit.id,
            launched_on: Some(date(2020, 9, 1)),
            certifications: Some(serde_json::json!(["HD", "ApL"])),
        }),
    )
    .await;
    let pathway = Ref::new(pathway_id, "pw-ict", "Pathway");
    let stage_specs: [(i32, &str, &str, bool, bool); 5] = [
        (1, "S4", "seniorSecondary", true, false),
        (2, "S5", "seniorSecondary", false, false),
        (3, "S6", "seniorSecondary", false, true),
        (4, "HD1", "subDegree", true, false),
        (5, "HD2", "subDegree", false, true),
    ];
    let mut stage_refs: Vec<Option<Ref>> = vec![None; 5];
    for index in [3_usize, 2, 0, 4, 1] {
        let (seq, code, level, entry, exit) = stage_specs[index];
        let sid = format!("stage-{}", code.to_lowercase());
        let id = insert(
            db,
            record!(pathway_stage, sid.as_str(), t0, {
                pathway_id: pathway.id,
                seq: seq,
                code: code.to_owned(),
                class_level: code.to_owned(),
                level: level.to_owned(),
                is_entry_point: entry,
                is_exit_point: exit,
            }),
        )
        .await;
        stage_refs[index] = Some(Ref::new(id, sid, "PathwayStage"));
    }
    let stages: Vec<Ref> = stage_refs.into_iter().map(|s| s.expect("stage")).collect();
    let stage_codes = vec!["S4", "S5", "S6", "HD1", "HD2"];

    // Courses and stage courses.
    let course_apl_id = insert(
        db,
        record!(course, "course-apl", t0, {
            course_code: "APL-TECHBASICS".to_owned(),
            title: "Technology Basics".to_owned(),
            aliases: Some(serde_json::json!(["Tech Basics"])),
            course_kind: "appliedLearning".to_owned(),
            provider_org_id: unit.id,
            apl_area_of_studies: Some("Engineering and Production".to_owned()),
            nominal_contact_hours: Some(180),
            span_years: Some(2),
            qf_level: Some(3),
            qf_credits: Some(18),
        }),
    )
    .await;
    let course_apl = Ref::new(course_apl_id, "course-apl", "Course");
    let course_hd_id = insert(
        db,
        record!(course, "course-hd", t0, {
            course_code: "HD-ICT".to_owned(),
            title: "Higher Diploma in ICT".to_owned(),
            aliases: None,
            course_kind: "higherDiploma".to_owned(),
            provider_org_id: unit.id,
            apl_area_of_studies: None,
            nominal_contact_hours: None,
            span_years: Some(2),
            qf_level: Some(4),
            qf_credits: Some(240),
        }),
    )
    .await;
    let course_hd = Ref::new(course_hd_id, "course-hd", "Course");
    let mut stage_courses = Vec::new();
    for (stage, code) in stages.iter().zip(&stage_codes) {
        let course = if code.starts_with('S') {
            &course_apl
        } else {
            &course_hd
        };
        let sid = format!("sc-{}", code.to_lowercase());
        let id = insert(
            db,
            record!(stage_course, sid.as_str(), t0, {
                stage_id: stage.id,
                course_id: course.id,
                requirement: "core".to_owned(),
            }),
        )
        .await;
        stage_courses.push(Ref::new(id, sid, "StageCourse"));
    }

    // Academic sessions: years, then terms (term 2 before term 1).
    let session = |sid: &'static str,
                   title: &'static str,
                   kind: &'static str,
                   start: NaiveDate,
                   end: NaiveDate,
                   year: i32,
                   parent: Option<i64>| {
        record!(academic_session, sid, t0, {
            title: title.to_owned(),
            session_type: kind.to_owned(),
            start_date: start,
            end_date: end,
            school_year: year,
            parent_id: parent,
            org_id: None,
        })
    };
    let year_2024 = Ref::new(
        insert(
            db,
            session(
                "year-2024",
                "2024/25",
                "schoolYear",
                date(2024, 9, 1),
                date(2025, 9, 1),
                2025,
                None,
            ),
        )
        .await,
        "year-2024",
        "AcademicSession",
    );
    let term_2024_2 = Ref::new(
        insert(
            db,
            session(
                "term-2024-2",
                "2024/25 Term 2",
                "term",
                date(2025, 1, 1),
                date(2025, 9, 1),
                2025,
                Some(year_2024.id),
            ),
        )
        .await,
        "term-2024-2",
        "AcademicSession",
    );
    let term_2024_1 = Ref::new(
        insert(
            db,
            session(
                "term-2024-1",
                "2024/25 Term 1",
                "term",
                date(2024, 9, 1),
                date(2025, 1, 1),
                2025,
                Some(year_2024.id),
            ),
        )
        .await,
        "term-2024-1",
        "AcademicSession",
    );
    let year_2025 = Ref::new(
        insert(
            db,
            session(
                "year-2025",
                "2025/26",
                "schoolYear",
                date(2025, 9, 1),
                date(2026, 9, 1),
                2026,
                None,
            ),
        )
        .await,
        "year-2025",
        "AcademicSession",
    );
    let term_2025_1 = Ref::new(
        insert(
            db,
            session(
                "term-2025-1",
                "2025/26 Term 1",
                "term",
                date(2025, 9, 1),
                date(2026, 1, 1),
                2026,
                Some(year_2025.id),
            ),
        )
        .await,
        "term-2025-1",
        "AcademicSession",
    );

    let cohort_id = insert(
        db,
        record!(cohort, "cohort-2024", t0, {
            pathway_id: pathway.id,
            code: "ICT-2024".to_owned(),
            intake_session_id: year_2024.id,
            expected_hkdse_year: Some(2027),
        }),
    )
    .await;
    let cohort = Ref::new(cohort_id, "cohort-2024", "Cohort");

    // One offering per school.
    let offering_a_id = insert(
        db,
        record!(course_offering, "off-a", t0, {
            course_id: course_apl.id,
            class_code: "APL-A-2024".to_owned(),
            school_org_id: Some(school_a.id),
            cohort_id: Some(cohort.id),
            delivery_mode: "mode2SchoolBased".to_owned(),
            start_date: date(2024, 9, 1),
            end_date: date(2026, 9, 1),
            state: "running".to_owned(),
        }),
    )
    .await;
    let offering_b_id = insert(
        db,
        record!(course_offering, "off-b", t0, {
            course_id: course_apl.id,
            class_code: "APL-B-2024".to_owned(),
            school_org_id: Some(school_b.id),
            cohort_id: Some(cohort.id),
            delivery_mode: "mode1AtProvider".to_owned(),
            start_date: date(2025, 9, 1),
            end_date: date(2026, 9, 1),
            state: "open_for_enrolment".to_owned(),
        }),
    )
    .await;
    let offerings = [
        Ref::new(offering_a_id, "off-a", "CourseOffering"),
        Ref::new(offering_b_id, "off-b", "CourseOffering"),
    ];
    for (offering, session) in [
        (offering_a_id, term_2024_2.id),
        (offering_a_id, term_2024_1.id),
        (offering_b_id, term_2025_1.id),
    ] {
        offering_term::Entity::insert(offering_term::ActiveModel {
            offering_id: Set(offering),
            session_id: Set(session),
        })
        .exec_without_returning(db)
        .await
        .expect("insert offering term");
    }

    // Schools: staff, a guardian, students and their records.
    let schools = [school_a, school_b];
    let mut people = vec![
        staff.sourced_id.clone(),
        partner_coordinator.sourced_id.clone(),
        mentor.sourced_id.clone(),
    ];
    let mut students = Vec::new();
    let mut guardian_links = Vec::new();
    let mut consents = Vec::new();
    let mut school_people = Vec::new();
    let mut foreign_external_id = None;
    let mut minute = 0_i64;
    for (s, school) in schools.iter().enumerate() {
        let letter = if s == 0 { "a" } else { "b" };
        let coordinator =
            add_person(db, t0, &format!("crd-{letter}"), "Carol", "Yau", school.id).await;
        add_role(
            db,
            t0,
            &format!("ra-crd-{letter}"),
            &coordinator,
            school,
            "schoolCoordinator",
            date(2020, 9, 1),
            None,
        )
        .await;
        let teacher = add_person(db, t0, &format!("tch-{letter}"), "Terry", "Siu", school.id).await;
        add_role(
            db,
            t0,
            &format!("ra-tch-{letter}"),
            &teacher,
            school,
            "teacher",
            date(2020, 9, 1),
            None,
        )
        .await;
        let guardian = add_person(
            db,
            t0,
            &format!("grd-{letter}-1"),
            "Grace",
            "Mak",
            school.id,
        )
        .await;
        people.extend([
            coordinator.sourced_id.clone(),
            teacher.sourced_id.clone(),
            guardian.sourced_id.clone(),
        ]);
        let teacher_enrollment_sid = format!("ce-tch-{letter}");
        let teacher_enrollment_id = insert(
            db,
            record!(course_enrollment, teacher_enrollment_sid.as_str(), t0, {
                person_id: teacher.id,
                offering_id: offerings[s].id,
                school_org_id: school.id,
                role: "teacher".to_owned(),
                begin_date: date(2024, 9, 1),
                end_date: None,
                contact_hours_attended: None,
                state: "enrolled".to_owned(),
                transferred_to_id: None,
            }),
        )
        .await;

        for i in 0..spec.students_per_school {
            let n = i + 1;
            let sid = format!("stu-{letter}-{n:02}");
            let level_index = i % 3;
            let class_level = LEVELS[level_index];
            let expected_hkdse_year = 2027 - i32::try_from(level_index).expect("small");
            let given = GIVEN[(i + s * 3) % GIVEN.len()];
            let family = FAMILY[(i + s * 3) % FAMILY.len()];
            let preferred = (i % 3 == 0).then(|| format!("{given}y"));
            let email = (i % 4 != 3).then(|| format!("{sid}@{letter}.example.hk"));
            let month = u32::try_from(i % 12).expect("small") + 1;
            let dob = date(
                2009 - i32::try_from(level_index).expect("small"),
                month,
                10 + u32::try_from(s).expect("small"),
            );
            let enabled = i % 2 == 0;
            let modified = t0 + Duration::minutes(minute);
            minute += 1;
            let person_id = insert(
                db,
                record!(person, sid.as_str(), modified, {
                    given_name: given.to_owned(),
                    family_name: family.to_owned(),
                    name_zh: None,
                    preferred_name: preferred.clone(),
                    email: email.clone(),
                    phone: None,
                    date_of_birth: Some(dob),
                    enabled_user: enabled,
                    primary_org_id: school.id,
                    class_level: Some(class_level.to_owned()),
                    expected_hkdse_year: Some(expected_hkdse_year),
                }),
            )
            .await;
            let person = Ref::new(person_id, sid.clone(), "Person");
            people.push(sid.clone());
            let role_assignment = add_role(
                db,
                t0,
                &format!("ra-{sid}"),
                &person,
                school,
                "student",
                date(2024, 9, 1),
                None,
            )
            .await;

            let identifier = format!("{}{:07}", letter.to_uppercase(), 1_234_000 + n);
            let external_sid = format!("xid-{sid}");
            let external_id = Ref::new(
                insert(
                    db,
                    record!(external_id, external_sid.as_str(), t0, {
                        entity_type: "Person".to_owned(),
                        entity_id: person.id,
                        scope_org_id: school.id,
                        system: format!("{letter}-sis"),
                        id_type: "STRN".to_owned(),
                        identifier: identifier.clone(),
                    }),
                )
                .await,
                external_sid,
                "ExternalId",
            );

            let state = STATES[i % STATES.len()];
            let history = history_to(state);
            let current_stage =
                matches!(state, "enrolled" | "on_hold" | "withdrawn").then_some(class_level);
            let current_stage_id = current_stage.map(|code| {
                let at = stage_codes
                    .iter()
                    .position(|c| *c == code)
                    .expect("stage code");
                stages[at].id
            });
            let pathway_end = (state == "withdrawn").then(|| date(2025, 3, 1));
            let pe_sid = format!("pe-{sid}");
            let pe_id = insert(
                db,
                record!(pathway_enrollment, pe_sid.as_str(), modified, {
                    student_id: person.id,
                    pathway_id: pathway.id,
                    cohort_id: cohort.id,
                    entry_school_id: school.id,
                    entry_stage_id: stages[0].id,
                    current_stage_id: current_stage_id,
                    begin_date: date(2024, 9, 1) + Duration::days(i64::try_from(i).expect("small")),
                    end_date: pathway_end,
                    state: state.to_owned(),
                    exit_reason: (state == "withdrawn").then(|| "withdrewByChoice".to_owned()),
                }),
            )
            .await;
            for (k, (from, to)) in history.iter().enumerate() {
                status_history::Entity::insert(status_history::ActiveModel {
                    entity_type: Set("PathwayEnrollment".to_owned()),
                    entity_id: Set(pe_id),
                    from_state: Set(from.map(str::to_owned)),
                    to_state: Set((*to).to_owned()),
                    from_stage: Set(None),
                    to_stage: Set(None),
                    reason: Set(Some(format!("step {k}"))),
                    at: Set(
                        t0 - Duration::days(30) + Duration::days(i64::try_from(k).expect("small"))
                    ),
                    actor: Set(Some(coordinator.sourced_id.clone())),
                    client_id: Set(None),
                    ..Default::default()
                })
                .exec(db)
                .await
                .expect("insert status history");
            }

            let course_state = if state == "withdrawn" {
                "withdrawn"
            } else {
                "enrolled"
            };
            let contact_hours =
                (i % 3 != 2).then(|| 10.0 * f64::from(u32::try_from(n).expect("small")) + 0.5);
            let ce_sid = format!("ce-{sid}");
            let ce_id = insert(
                db,
                record!(course_enrollment, ce_sid.as_str(), modified, {
                    person_id: person.id,
                    offering_id: offerings[s].id,
                    school_org_id: school.id,
                    role: "student".to_owned(),
                    begin_date: date(2024, 9, 1) + Duration::days(i64::try_from(i).expect("small")),
                    end_date: pathway_end,
                    contact_hours_attended: contact_hours,
                    state: course_state.to_owned(),
                    transferred_to_id: None,
                }),
            )
            .await;

            if i == 0 {
                // A key from the other school (the student transferred).
                let other = &schools[1 - s];
                let other_letter = if s == 0 { "b" } else { "a" };
                let sid_x = format!("xid-{sid}-{other_letter}");
                let xid = insert(
                    db,
                    record!(external_id, sid_x.as_str(), t0, {
                        entity_type: "Person".to_owned(),
                        entity_id: person.id,
                        scope_org_id: other.id,
                        system: format!("{other_letter}-sis"),
                        id_type: "STRN".to_owned(),
                        identifier: format!("{}9990001", other_letter.to_uppercase()),
                    }),
                )
                .await;
                if s == 0 {
                    foreign_external_id = Some(Ref::new(xid, sid_x, "ExternalId"));
                }
                for (who, giver, relationship) in [
                    (&person, "self", "self"),
                    (&guardian, "parentalResponsibility", "guardian"),
                ] {
                    let c_sid = format!("consent-{sid}-{relationship}");
                    let cid = insert(
                        db,
                        record!(consent_record, c_sid.as_str(), t0, {
                            student_id: person.id,
                            given_by_id: who.id,
                            giver_relationship: giver.to_owned(),
                            purpose: "shareWithPartnerMentor".to_owned(),
                            scope_org_id: Some(partner_x.id),
                            pics_version: "2024-1".to_owned(),
                            granted_at: t0 - Duration::days(10),
                            withdrawn_at: None,
                            evidence_ref: None,
                        }),
                    )
                    .await;
                    consents.push(Ref::new(cid, c_sid, "ConsentRecord"));
                }
            }
            // The guardian of the first (and, at school A, second) student.
            if i == 0 || (s == 0 && i == 1) {
                let link_sid = format!("gl-{sid}");
                let link = insert(
                    db,
                    record!(guardian_link, link_sid.as_str(), t0, {
                        student_id: person.id,
                        guardian_id: guardian.id,
                        relationship: if s == 0 { "mother".to_owned() } else { "father".to_owned() },
                        has_parental_responsibility: s == 0,
                    }),
                )
                .await;
                guardian_links.push((
                    Ref::new(link, link_sid, "GuardianLink"),
                    students.len(),
                    guardian.clone(),
                ));
            }

            students.push(Student {
                person,
                school: s,
                index: i,
                given_name: given.to_owned(),
                family_name: family.to_owned(),
                preferred_name: preferred,
                email,
                class_level: class_level.to_owned(),
                expected_hkdse_year,
                date_of_birth: dob,
                enabled_user: enabled,
                date_last_modified: modified,
                role_assignment,
                external_id,
                external_identifier: identifier,
                pathway_enrollment: Ref::new(pe_id, pe_sid, "PathwayEnrollment"),
                pathway_state: state,
                current_stage,
                history,
                pathway_begin: date(2024, 9, 1) + Duration::days(i64::try_from(i).expect("small")),
                pathway_end,
                course_enrollment: Ref::new(ce_id, ce_sid, "CourseEnrollment"),
                course_state,
                contact_hours,
            });
        }
        school_people.push(SchoolPeople {
            coordinator,
            teacher,
            guardian,
            teacher_enrollment: Ref::new(
                teacher_enrollment_id,
                teacher_enrollment_sid,
                "CourseEnrollment",
            ),
        });
    }

    let [school_people_a, school_people_b]: [SchoolPeople; 2] =
        school_people.try_into().expect("two schools");
    World {
        base_time: t0,
        university,
        unit,
        office,
        schools,
        partners: [partner_x, partner_y],
        staff,
        partner_coordinator,
        mentor,
        pathway,
        stages,
        stage_codes,
        course_apl,
        course_hd,
        stage_courses,
        year_2024,
        term_2024_1,
        term_2024_2,
        year_2025,
        term_2025_1,
        cohort,
        offerings,
        students,
        school_people: [school_people_a, school_people_b],
        guardian_links,
        foreign_external_id: foreign_external_id.expect("school A has a first student"),
        consents,
        people,
    }
}

/// A student to add after the world is seeded.
#[derive(Clone, Debug)]
pub struct NewStudent<'a> {
    pub sourced_id: &'a str,
    pub given_name: &'a str,
    pub family_name: &'a str,
    pub school: &'a Ref,
    pub class_level: &'a str,
    pub role_begin: NaiveDate,
    /// Exclusive end of the student role; `None` while open-ended.
    pub role_end: Option<NaiveDate>,
    pub date_last_modified: DateTime<Utc>,
}

impl<'a> NewStudent<'a> {
    /// An active S4 student of `school` since 2024-09-01, modified now.
    pub fn new(
        sourced_id: &'a str,
        given_name: &'a str,
        family_name: &'a str,
        school: &'a Ref,
    ) -> Self {
        NewStudent {
            sourced_id,
            given_name,
            family_name,
            school,
            class_level: "S4",
            role_begin: date(2024, 9, 1),
            role_end: None,
            date_last_modified: api::changes::now(),
        }
    }
}

/// Inserts a student (person + student role at the school); returns the person.
pub async fn add_student(db: &impl ConnectionTrait, new: &NewStudent<'_>) -> Ref {
    let at = new.date_last_modified;
    let id = insert(
        db,
        record!(person, new.sourced_id, at, {
            given_name: new.given_name.to_owned(),
            family_name: new.family_name.to_owned(),
            name_zh: None,
            preferred_name: None,
            email: None,
            phone: None,
            date_of_birth: Some(date(2009, 6, 1)),
            enabled_user: true,
            primary_org_id: new.school.id,
            class_level: Some(new.class_level.to_owned()),
            expected_hkdse_year: Some(2027),
        }),
    )
    .await;
    let person = Ref::new(id, new.sourced_id, "Person");
    add_role(
        db,
        at,
        &format!("ra-{}", new.sourced_id),
        &person,
        new.school,
        "student",
        new.role_begin,
        new.role_end,
    )
    .await;
    person
}

/// Inserts `count` students `<prefix>-001`… at `school`, family names `<family>001`…, in one
/// transaction; returns their sourcedIds in insertion order.
pub async fn add_students(
    db: &DatabaseConnection,
    prefix: &str,
    family: &str,
    school: &Ref,
    count: usize,
) -> Vec<String> {
    let txn = db.begin().await.expect("begin");
    let mut ids = Vec::with_capacity(count);
    for n in 1..=count {
        let sid = format!("{prefix}-{n:03}");
        let family_name = format!("{family}{n:03}");
        add_student(&txn, &NewStudent::new(&sid, "Extra", &family_name, school)).await;
        ids.push(sid);
    }
    txn.commit().await.expect("commit");
    ids
}

/// Inserts a pathway and a course enrolment for a student.
pub async fn enroll(
    db: &impl ConnectionTrait,
    world: &World,
    student: &Ref,
    school: &Ref,
) -> (Ref, Ref) {
    let at = api::changes::now();
    let pe_sid = format!("pe-{}", student.sourced_id);
    let pe = insert(
        db,
        record!(pathway_enrollment, pe_sid.as_str(), at, {
            student_id: student.id,
            pathway_id: world.pathway.id,
            cohort_id: world.cohort.id,
            entry_school_id: school.id,
            entry_stage_id: world.stages[0].id,
            current_stage_id: Some(world.stages[0].id),
            begin_date: date(2024, 9, 1),
            end_date: None,
            state: "enrolled".to_owned(),
            exit_reason: None,
        }),
    )
    .await;
    let offering = if school.id == world.schools[0].id {
        &world.offerings[0]
    } else {
        &world.offerings[1]
    };
    let ce_sid = format!("ce-{}", student.sourced_id);
    let ce = insert(
        db,
        record!(course_enrollment, ce_sid.as_str(), at, {
            person_id: student.id,
            offering_id: offering.id,
            school_org_id: school.id,
            role: "student".to_owned(),
            begin_date: date(2024, 9, 1),
            end_date: None,
            contact_hours_attended: None,
            state: "enrolled".to_owned(),
            transferred_to_id: None,
        }),
    )
    .await;
    (
        Ref::new(pe, pe_sid, "PathwayEnrollment"),
        Ref::new(ce, ce_sid, "CourseEnrollment"),
    )
}

/// Inserts a secondary school with `students` students (`<sourced_id>-stu-001`…).
pub async fn add_school(
    db: &DatabaseConnection,
    sourced_id: &str,
    name: &str,
    students: usize,
) -> Ref {
    let txn = db.begin().await.expect("begin");
    let school = add_org(
        &txn,
        api::changes::now(),
        sourced_id,
        name,
        "secondarySchool",
        None,
        None,
        Some("aided"),
        None,
    )
    .await;
    for n in 1..=students {
        let sid = format!("{sourced_id}-stu-{n:03}");
        add_student(&txn, &NewStudent::new(&sid, "Extra", "Student", &school)).await;
    }
    txn.commit().await.expect("commit");
    school
}

/// Makes a row a tombstone: status `tobedeleted`, version + 1, modified now.
pub async fn tombstone(db: &impl ConnectionTrait, table: &str, id: i64) {
    let statement = Query::update()
        .table(Alias::new(table))
        .value(Alias::new("status"), STATUS_TOBEDELETED)
        .value(
            Alias::new("version"),
            Expr::col(Alias::new("version")).add(1),
        )
        .value(Alias::new("date_last_modified"), api::changes::now())
        .and_where(Expr::col(Alias::new("id")).eq(id))
        .to_owned();
    let builder = db.get_database_backend();
    let result = db
        .execute(builder.build(&statement))
        .await
        .expect("tombstone");
    assert_eq!(result.rows_affected(), 1, "tombstone {table} {id}");
}

// ---------------------------------------------------------------------------------------------
// Consents and mentorships (DOMAIN.md areas A and E), written directly: no change events and no
// status history, like the rest of the world.

/// Inserts an active (not withdrawn) consent record granted a week ago.
///
/// `relationship` is the stored giver relationship (`self`, `parentalResponsibility`,
/// `guardian`); `purpose` the stored purpose; `scope_org` the partner for partner purposes.
pub async fn add_consent(
    db: &impl ConnectionTrait,
    sourced_id: &str,
    student: &Ref,
    given_by: &Ref,
    relationship: &str,
    purpose: &str,
    scope_org: Option<&Ref>,
) -> Ref {
    let at = api::changes::now();
    let id = insert(
        db,
        record!(consent_record, sourced_id, at, {
            student_id: student.id,
            given_by_id: given_by.id,
            giver_relationship: relationship.to_owned(),
            purpose: purpose.to_owned(),
            scope_org_id: scope_org.map(|o| o.id),
            pics_version: "2024-1".to_owned(),
            granted_at: at - Duration::days(7),
            withdrawn_at: None,
            evidence_ref: None,
        }),
    )
    .await;
    Ref::new(id, sourced_id, "ConsentRecord")
}

/// Inserts a one-to-one mentorship in `state` (`proposed`, `active`, `paused`, `ended`,
/// `cancelled`), begun on 2024-10-01, at version 1.
pub async fn add_mentorship(
    db: &impl ConnectionTrait,
    sourced_id: &str,
    mentor: &Ref,
    student: &Ref,
    partner: &Ref,
    pathway: &Ref,
    state: &str,
) -> Ref {
    let at = api::changes::now();
    let id = insert(
        db,
        record!(mentorship, sourced_id, at, {
            mentor_id: mentor.id,
            student_id: student.id,
            partner_org_id: partner.id,
            pathway_id: pathway.id,
            begin_date: date(2024, 10, 1),
            end_date: (state == "ended").then(|| date(2025, 7, 1)),
            format: "oneToOne".to_owned(),
            state: state.to_owned(),
        }),
    )
    .await;
    Ref::new(id, sourced_id, "Mentorship")
}
