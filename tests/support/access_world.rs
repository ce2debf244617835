//! The access world: [`seed_world`] plus the people, links, consents and mentorships the
//! authorization matrix (`tests/api/matrix.rs`) needs, arranged directly in the database. After
//! arranging, every table the matrix asserts on is read back into [`AccessWorld`], so expectations
//! are computed from the rows themselves (never from an API answer).
//!
//! Added to the seeded world (A0 = `stu-a-01`, A1 = `stu-a-02`, …; B0 = `stu-b-01`, …). Birth
//! dates of the students below are rewritten relative to today, so "minor" and "adult" hold on any
//! day the suite runs. Every consent is `shareWithPartnerMentor` unless said otherwise.
//!
//! | student | mentorship (mentor, partner, state) | consents | age | named for |
//! |---|---|---|---|---|
//! | A0 | mentor-x, X, active; mentor-y, Y, active | self + guardian grd-a-1 (PR), X (seeded) | minor | X coordinator and mentor-x; not Y |
//! | A1 | mentor-x, X, active | self only, X | minor | nobody |
//! | A2 | mentor-x, X, paused | self + grd-a-2 (PR), X | minor | X coordinator only |
//! | A3 | mentor-x, X, proposed | self + grd-a-2 (PR), X | minor | nobody |
//! | A4 | mentor-y, Y, active | self + grd-a-2 (PR), Y | minor | Y coordinator and mentor-y |
//! | A5 | mentor-x2, X, active | self only, X | adult | X coordinator and mentor-x2 |
//! | B0 | mentor-x, X, active | self + grd-b-1 (no PR, seeded) + grd-b-2 (PR), X | minor | X coordinator and mentor-x |
//! | B1 | mentor-x, X, active | self + grd-b-1 (no PR), X | minor | nobody |
//! | B2 | mentor-x, X, active | self only, X | no birth date | nobody |
//! | B3 | mentor-x, X, active | self (withdrawn) + grd-b-2 (PR), X | minor | nobody |
//! | B4 | mentor-x, X, active | self, X, purpose internshipPlacement | adult | nobody |
//! | B5 | mentor-x, X, ended | self, X | adult | nobody |
//!
//! Also: `admin-1` (programmeAdmin), `eval-1` (evaluator), `lead-1` (academicLead), `pc-y` and
//! `mentor-y` (partner Y), `mentor-x2` (partner X); a second offering at school A (`off-a2`)
//! taught by `tch-a2` with one student `stu-a-07` (guardian `grd-a-3`), so teacher `tch-a` does not
//! teach every student of the school; a guardian link `grd-a-1` → A2 without parental
//! responsibility; external ids scoped to partner X for `mentor-x` and for A0.

use chrono::{DateTime, Duration, Months, NaiveDate, Utc};
use entity::*;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, Set, TransactionTrait,
};

use crate::fixtures::{World, seed_world};

/// The seeded world, and every row of the tables the matrix asserts on.
#[derive(Clone, Debug)]
pub struct AccessWorld {
    pub world: World,
    /// Today in Hong Kong (the calendar of every date column).
    pub today: NaiveDate,
    pub orgs: Vec<org::Model>,
    pub pathways: Vec<pathway::Model>,
    pub courses: Vec<course::Model>,
    pub offerings: Vec<course_offering::Model>,
    pub people: Vec<person::Model>,
    pub role_assignments: Vec<role_assignment::Model>,
    pub guardian_links: Vec<guardian_link::Model>,
    pub external_ids: Vec<external_id::Model>,
    pub consents: Vec<consent_record::Model>,
    pub pathway_enrollments: Vec<pathway_enrollment::Model>,
    pub course_enrollments: Vec<course_enrollment::Model>,
    pub mentorships: Vec<mentorship::Model>,
}

/// Today's date in Hong Kong (UTC+8).
pub fn hk_today() -> NaiveDate {
    (Utc::now() + Duration::hours(8)).date_naive()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid fixture date")
}

fn years_ago(today: NaiveDate, years: u32) -> NaiveDate {
    today
        .checked_sub_months(Months::new(years * 12))
        .expect("a date in range")
}

/// Fills the common record columns of an ActiveModel.
macro_rules! row {
    ($module:ident, $sid:expr, $at:expr, { $($field:ident : $value:expr),* $(,)? }) => {
        $module::ActiveModel {
            sourced_id: Set(String::from($sid)),
            status: Set(STATUS_ACTIVE.to_owned()),
            date_created: Set($at),
            date_last_modified: Set($at),
            version: Set(1),
            metadata: Set(None),
            created_by: Set(Some("access-fixture".to_owned())),
            modified_by: Set(Some("access-fixture".to_owned())),
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
        .expect("insert access fixture row")
        .last_insert_id
        .into()
}

/// Arranging: ids by sourcedId as rows are added.
struct Arrange<'a, C: ConnectionTrait> {
    db: &'a C,
    at: DateTime<Utc>,
}

impl<C: ConnectionTrait> Arrange<'_, C> {
    async fn person(&self, sid: &str, given: &str, family: &str, primary_org: i64) -> i64 {
        insert(
            self.db,
            row!(person, sid, self.at, {
                given_name: given.to_owned(),
                family_name: family.to_owned(),
                name_zh: None,
                preferred_name: None,
                email: Some(format!("{sid}@example.hk")),
                phone: Some("+852 5555 0000".to_owned()),
                date_of_birth: None,
                enabled_user: true,
                primary_org_id: primary_org,
                class_level: None,
                expected_hkdse_year: None,
            }),
        )
        .await
    }

    async fn role(&self, person: i64, org: i64, role: &str, sid: &str) -> i64 {
        insert(
            self.db,
            row!(role_assignment, sid, self.at, {
                person_id: person,
                org_id: org,
                role: role.to_owned(),
                role_type: "primary".to_owned(),
                begin_date: date(2020, 9, 1),
                end_date: None,
            }),
        )
        .await
    }

    /// A person holding one role at `org` (their primary organisation).
    async fn member(&self, sid: &str, given: &str, family: &str, org: i64, role: &str) -> i64 {
        let person = self.person(sid, given, family, org).await;
        self.role(person, org, role, &format!("ra-{sid}")).await;
        person
    }

    async fn guardian_link(&self, sid: &str, student: i64, guardian: i64, pr: bool) -> i64 {
        insert(
            self.db,
            row!(guardian_link, sid, self.at, {
                student_id: student,
                guardian_id: guardian,
                relationship: if pr { "mother".to_owned() } else { "aunt".to_owned() },
                has_parental_responsibility: pr,
            }),
        )
        .await
    }

    async fn consent(
        &self,
        sid: &str,
        student: i64,
        given_by: i64,
        giver: &str,
        purpose: &str,
        org: i64,
        withdrawn: bool,
    ) -> i64 {
        insert(
            self.db,
            row!(consent_record, sid, self.at, {
                student_id: student,
                given_by_id: given_by,
                giver_relationship: giver.to_owned(),
                purpose: purpose.to_owned(),
                scope_org_id: Some(org),
                pics_version: "2024-1".to_owned(),
                granted_at: self.at - Duration::days(20),
                withdrawn_at: withdrawn.then(|| self.at - Duration::days(2)),
                evidence_ref: None,
            }),
        )
        .await
    }

    async fn mentorship(
        &self,
        sid: &str,
        mentor: i64,
        student: i64,
        partner: i64,
        pathway: i64,
        state: &str,
    ) -> i64 {
        insert(
            self.db,
            row!(mentorship, sid, self.at, {
                mentor_id: mentor,
                student_id: student,
                partner_org_id: partner,
                pathway_id: pathway,
                begin_date: date(2025, 9, 1),
                end_date: None,
                format: "oneToOne".to_owned(),
                state: state.to_owned(),
            }),
        )
        .await
    }

    async fn external_id(&self, sid: &str, person: i64, scope_org: i64, system: &str) -> i64 {
        insert(
            self.db,
            row!(external_id, sid, self.at, {
                entity_type: "Person".to_owned(),
                entity_id: person,
                scope_org_id: scope_org,
                system: system.to_owned(),
                id_type: "staffNo".to_owned(),
                identifier: format!("{}-{sid}", system.to_uppercase()),
            }),
        )
        .await
    }

    async fn set_birth_date(&self, person: i64, dob: Option<NaiveDate>) {
        person::Entity::update_many()
            .col_expr(person::Column::DateOfBirth, Expr::value(dob))
            .filter(person::Column::Id.eq(person))
            .exec(self.db)
            .await
            .expect("set a birth date");
    }
}

const SHARE: &str = "shareWithPartnerMentor";
const SELF: &str = "self";
const PR: &str = "parentalResponsibility";

/// Seeds the world and the access additions (module docs), then reads every row back.
pub async fn seed_access_world(db: &DatabaseConnection) -> AccessWorld {
    let world = seed_world(db).await;
    let today = hk_today();
    let txn = db.begin().await.expect("begin");
    arrange(&txn, &world, today).await;
    txn.commit().await.expect("commit");
    AccessWorld::load(db, world).await
}

async fn arrange(db: &impl ConnectionTrait, w: &World, today: NaiveDate) {
    let a = Arrange {
        db,
        at: w.base_time + Duration::hours(1),
    };
    let [school_a, school_b] = [w.schools[0].id, w.schools[1].id];
    let [x, y] = [w.partners[0].id, w.partners[1].id];
    let student = |sid: &str| w.student(sid).person.id;
    let (a0, a1, a2, a3, a4, a5) = (
        student("stu-a-01"),
        student("stu-a-02"),
        student("stu-a-03"),
        student("stu-a-04"),
        student("stu-a-05"),
        student("stu-a-06"),
    );
    let (b0, b1, b2, b3, b4, b5) = (
        student("stu-b-01"),
        student("stu-b-02"),
        student("stu-b-03"),
        student("stu-b-04"),
        student("stu-b-05"),
        student("stu-b-06"),
    );
    let grd_a1 = w.school_people[0].guardian.id;
    let grd_b1 = w.school_people[1].guardian.id;
    let mentor_x = w.mentor.id;

    // Office, academic unit and partner people.
    a.member("admin-1", "Ada", "Leung", w.office.id, "programmeAdmin")
        .await;
    a.member("eval-1", "Evan", "Chow", w.office.id, "evaluator")
        .await;
    a.member("lead-1", "Lena", "Yip", w.unit.id, "academicLead")
        .await;
    a.member("pc-y", "Paula", "Yuen", y, "partnerCoordinator")
        .await;
    let mentor_y = a.member("mentor-y", "Milo", "Yiu", y, "mentor").await;
    let mentor_x2 = a.member("mentor-x2", "Max", "Tam", x, "mentor").await;
    a.external_id("xid-mentor-x", mentor_x, x, "x-hr").await;
    // A partner's key for a student: never visible to the partner (nor to a school).
    a.external_id("xid-stu-a-01-x", a0, x, "x-crm").await;

    // A second class at school A, taught by another teacher, with a student of its own.
    let off_a2 = insert(
        db,
        row!(course_offering, "off-a2", a.at, {
            course_id: w.course_apl.id,
            class_code: "APL-A2-2024".to_owned(),
            school_org_id: Some(school_a),
            cohort_id: Some(w.cohort.id),
            delivery_mode: "mode2SchoolBased".to_owned(),
            start_date: date(2024, 9, 1),
            end_date: date(2026, 9, 1),
            state: "running".to_owned(),
        }),
    )
    .await;
    let tch_a2 = a.member("tch-a2", "Tina", "Sze", school_a, "teacher").await;
    let stu_a7 = a
        .member("stu-a-07", "Sam", "Kwan", school_a, "student")
        .await;
    let grd_a3 = a.person("grd-a-3", "Gina", "Kwan", school_a).await;
    a.guardian_link("gl-stu-a-07", stu_a7, grd_a3, true).await;
    a.external_id("xid-stu-a-07", stu_a7, school_a, "a-sis")
        .await;
    for (sid, person, role) in [
        ("ce-tch-a2", tch_a2, "teacher"),
        ("ce-stu-a-07", stu_a7, "student"),
    ] {
        insert(
            db,
            row!(course_enrollment, sid, a.at, {
                person_id: person,
                offering_id: off_a2,
                school_org_id: school_a,
                role: role.to_owned(),
                begin_date: date(2024, 9, 1),
                end_date: None,
                contact_hours_attended: None,
                state: "enrolled".to_owned(),
                transferred_to_id: None,
            }),
        )
        .await;
    }
    insert(
        db,
        row!(pathway_enrollment, "pe-stu-a-07", a.at, {
            student_id: stu_a7,
            pathway_id: w.pathway.id,
            cohort_id: w.cohort.id,
            entry_school_id: school_a,
            entry_stage_id: w.stages[0].id,
            current_stage_id: Some(w.stages[0].id),
            begin_date: date(2024, 9, 1),
            end_date: None,
            state: "enrolled".to_owned(),
            exit_reason: None,
        }),
    )
    .await;

    // Guardians.
    let grd_a2 = a.person("grd-a-2", "Gloria", "Lau", school_a).await;
    let grd_b2 = a.person("grd-b-2", "Gordon", "Fok", school_b).await;
    for (sid, student, guardian, pr) in [
        ("gl-stu-a-03", a2, grd_a2, true),
        ("gl-stu-a-04", a3, grd_a2, true),
        ("gl-stu-a-05", a4, grd_a2, true),
        ("gl-stu-a-03-grd-a-1", a2, grd_a1, false),
        ("gl-stu-b-01-grd-b-2", b0, grd_b2, true),
        ("gl-stu-b-02", b1, grd_b1, false),
        ("gl-stu-b-04", b3, grd_b2, true),
    ] {
        a.guardian_link(sid, student, guardian, pr).await;
    }

    // Birth dates relative to today.
    let minor = years_ago(today, 15);
    let adult = years_ago(today, 20);
    for (person, dob) in [
        (a0, Some(minor)),
        (a1, Some(years_ago(today, 16))),
        (a2, Some(minor)),
        (a3, Some(minor)),
        (a4, Some(minor)),
        (a5, Some(adult)),
        (b0, Some(minor)),
        (b1, Some(years_ago(today, 16))),
        (b2, None),
        (b3, Some(minor)),
        (b4, Some(adult)),
        (b5, Some(adult)),
    ] {
        a.set_birth_date(person, dob).await;
    }

    // Consents (A0's and B0's self and guardian consents for X are seeded).
    for (sid, student, giver, relationship, purpose, org, withdrawn) in [
        ("c-a1-self", a1, a1, SELF, SHARE, x, false),
        ("c-a2-self", a2, a2, SELF, SHARE, x, false),
        ("c-a2-grd", a2, grd_a2, PR, SHARE, x, false),
        ("c-a3-self", a3, a3, SELF, SHARE, x, false),
        ("c-a3-grd", a3, grd_a2, PR, SHARE, x, false),
        ("c-a4-self-y", a4, a4, SELF, SHARE, y, false),
        ("c-a4-grd-y", a4, grd_a2, PR, SHARE, y, false),
        ("c-a5-self", a5, a5, SELF, SHARE, x, false),
        ("c-b0-grd-b-2", b0, grd_b2, PR, SHARE, x, false),
        ("c-b1-self", b1, b1, SELF, SHARE, x, false),
        ("c-b1-grd", b1, grd_b1, PR, SHARE, x, false),
        ("c-b2-self", b2, b2, SELF, SHARE, x, false),
        ("c-b3-self", b3, b3, SELF, SHARE, x, true),
        ("c-b3-grd", b3, grd_b2, PR, SHARE, x, false),
        ("c-b4-intern", b4, b4, SELF, "internshipPlacement", x, false),
        ("c-b5-self", b5, b5, SELF, SHARE, x, false),
    ] {
        a.consent(sid, student, giver, relationship, purpose, org, withdrawn)
            .await;
    }

    // Mentorships.
    let pathway = w.pathway.id;
    for (sid, mentor, student, partner, state) in [
        ("ms-a0-x", mentor_x, a0, x, "active"),
        ("ms-a1-x", mentor_x, a1, x, "active"),
        ("ms-a2-x", mentor_x, a2, x, "paused"),
        ("ms-a3-x", mentor_x, a3, x, "proposed"),
        ("ms-a5-x", mentor_x2, a5, x, "active"),
        ("ms-b0-x", mentor_x, b0, x, "active"),
        ("ms-b1-x", mentor_x, b1, x, "active"),
        ("ms-b2-x", mentor_x, b2, x, "active"),
        ("ms-b3-x", mentor_x, b3, x, "active"),
        ("ms-b4-x", mentor_x, b4, x, "active"),
        ("ms-b5-x", mentor_x, b5, x, "ended"),
        ("ms-a4-y", mentor_y, a4, y, "active"),
        ("ms-a0-y", mentor_y, a0, y, "active"),
    ] {
        a.mentorship(sid, mentor, student, partner, pathway, state)
            .await;
    }
}

/// Every row of `E`, in id order.
async fn all<E>(db: &DatabaseConnection) -> Vec<E::Model>
where
    E: EntityTrait,
    E::Model: RecordModel,
{
    let mut rows = E::find().all(db).await.expect("read fixture rows");
    rows.sort_by_key(RecordModel::pk);
    rows
}

impl AccessWorld {
    /// Reads every row back.
    pub async fn load(db: &DatabaseConnection, world: World) -> AccessWorld {
        AccessWorld {
            world,
            today: hk_today(),
            orgs: all::<org::Entity>(db).await,
            pathways: all::<pathway::Entity>(db).await,
            courses: all::<course::Entity>(db).await,
            offerings: all::<course_offering::Entity>(db).await,
            people: all::<person::Entity>(db).await,
            role_assignments: all::<role_assignment::Entity>(db).await,
            guardian_links: all::<guardian_link::Entity>(db).await,
            external_ids: all::<external_id::Entity>(db).await,
            consents: all::<consent_record::Entity>(db).await,
            pathway_enrollments: all::<pathway_enrollment::Entity>(db).await,
            course_enrollments: all::<course_enrollment::Entity>(db).await,
            mentorships: all::<mentorship::Entity>(db).await,
        }
    }

    /// Reads every row again after a change made in the middle of a test.
    pub async fn reload(&mut self, db: &DatabaseConnection) {
        *self = AccessWorld::load(db, self.world.clone()).await;
    }

    pub fn person(&self, sid: &str) -> &person::Model {
        self.people
            .iter()
            .find(|p| p.sourced_id == sid)
            .unwrap_or_else(|| panic!("no person {sid}"))
    }

    pub fn person_by_id(&self, id: i64) -> &person::Model {
        self.people
            .iter()
            .find(|p| p.id == id)
            .unwrap_or_else(|| panic!("no person #{id}"))
    }

    pub fn org(&self, sid: &str) -> &org::Model {
        self.orgs
            .iter()
            .find(|o| o.sourced_id == sid)
            .unwrap_or_else(|| panic!("no organisation {sid}"))
    }

    pub fn org_by_id(&self, id: i64) -> &org::Model {
        self.orgs
            .iter()
            .find(|o| o.id == id)
            .unwrap_or_else(|| panic!("no organisation #{id}"))
    }
}

/// Withdraws a consent record the way a withdrawal is stored: `withdrawn_at` set, version + 1.
pub async fn withdraw_consent(db: &DatabaseConnection, sid: &str) {
    let now = api::changes::now();
    let result = consent_record::Entity::update_many()
        .col_expr(consent_record::Column::WithdrawnAt, Expr::value(Some(now)))
        .col_expr(
            consent_record::Column::Version,
            Expr::col(consent_record::Column::Version).add(1),
        )
        .col_expr(consent_record::Column::DateLastModified, Expr::value(now))
        .filter(consent_record::Column::SourcedId.eq(sid))
        .exec(db)
        .await
        .expect("withdraw a consent");
    assert_eq!(result.rows_affected, 1, "withdraw {sid}");
}

/// Moves a mentorship to `state` (e.g. `paused`, `ended`), version + 1.
pub async fn set_mentorship_state(db: &DatabaseConnection, sid: &str, state: &str) {
    let now = api::changes::now();
    let result = mentorship::Entity::update_many()
        .col_expr(mentorship::Column::State, Expr::value(state))
        .col_expr(
            mentorship::Column::Version,
            Expr::col(mentorship::Column::Version).add(1),
        )
        .col_expr(mentorship::Column::DateLastModified, Expr::value(now))
        .filter(mentorship::Column::SourcedId.eq(sid))
        .exec(db)
        .await
        .expect("change a mentorship's state");
    assert_eq!(result.rows_affected, 1, "mentorship {sid} to {state}");
}
