//! Offerings pinning unit versions (DOMAIN.md area B) and skill coverage (issue 5 item 6) on the
//! hand-built fixture of `support::coverage`, whose answers are known.

use integration_tests::coverage::{CoverageWorld, add_unit, add_version, grow, seed_coverage};
use integration_tests::coverage::{set_version_state, tombstone};
use integration_tests::curriculum::{CurriculumPeople, seed_curriculum_people, token_of};
use integration_tests::fixtures::{
    OFFICE, PARTNER_X, PARTNER_Y, SCHOOL_A, SCHOOL_B, World, seed_world,
};
use integration_tests::writes_offerings::add_offering;
use integration_tests::{GqlResponse, TestApp, spawn_app};
use sea_orm::EntityTrait;
use serde_json::{Value, json};

struct Setup {
    app: TestApp,
    world: World,
    people: CurriculumPeople,
    cov: CoverageWorld,
    admin: String,
}

async fn arrange() -> Setup {
    let app = spawn_app().await;
    let world = seed_world(&app.db).await;
    let people = seed_curriculum_people(&app.db, &world).await;
    let cov = seed_coverage(&app.db, &world).await;
    let admin = token_of(&app, &people.admin, &["programmeAdmin"], OFFICE);
    Setup {
        app,
        world,
        people,
        cov,
        admin,
    }
}

const COVERAGE: &str = "query($course: ID, $pathway: ID, $offering: ID, $skillMap: ID, $job: ID) {
  curriculumCoverage(course: $course, pathway: $pathway, offering: $offering,
                     skillMap: $skillMap, job: $job) {
    unitVersions { sourcedId state }
    jobs {
      job { sourcedId code }
      requiredCount coveredCount coverageRate
      gaps { code } coreGaps { code }
      requirements {
        requirement { sourcedId }
        skill { code } proficiency importance
        introduced developed applied assessed covered
        units { sourcedId }
      }
    }
  }
}";

const PROFILE: &str = "query($student: ID!, $job: ID!) {
  studentSkillProfile(student: $student, job: $job) {
    student { sourcedId }
    job { sourcedId }
    metCount requiredCount gaps { code }
    requirements {
      requirement { sourcedId }
      skill { code } proficiency importance level met
      evidence { sourcedId level sharedWithPartners }
    }
  }
}";

const PINS: &str = "query($id: ID!) {
  node(id: $id) { ... on CourseOffering { state pinnedUnitVersions { sourcedId state } } }
}";

fn codes(value: &Value) -> Vec<String> {
    value
        .as_array()
        .expect("a list")
        .iter()
        .map(|v| v["code"].as_str().expect("a code").to_owned())
        .collect()
}

fn sids(value: &Value) -> Vec<String> {
    value
        .as_array()
        .expect("a list")
        .iter()
        .map(|v| v["sourcedId"].as_str().expect("a sourcedId").to_owned())
        .collect()
}

/// One job's figures: `(job code, required, covered, rate, gaps, core gaps, requirement lines)`,
/// a requirement line being `"SKILL IMPORTANCE proficiency IDAS units"` (`-` for a level not
/// reached).
type JobFigures = (
    String,
    i64,
    i64,
    Option<f64>,
    Vec<String>,
    Vec<String>,
    Vec<String>,
);

fn job_figures(job: &Value) -> JobFigures {
    let lines = job["requirements"]
        .as_array()
        .expect("requirements")
        .iter()
        .map(|r| {
            let flags: String = [
                ("introduced", 'I'),
                ("developed", 'D'),
                ("applied", 'A'),
                ("assessed", 'S'),
            ]
            .iter()
            .map(|(f, c)| if r[*f] == true { *c } else { '-' })
            .collect();
            let units = sids(&r["units"]);
            assert_eq!(r["covered"], !units.is_empty(), "covered = some unit");
            format!(
                "{} {} {} {} {}",
                r["skill"]["code"].as_str().expect("code"),
                r["importance"].as_str().expect("importance"),
                r["proficiency"],
                flags,
                units.join(",")
            )
            .trim_end()
            .to_owned()
        })
        .collect();
    (
        job["job"]["code"].as_str().expect("job code").to_owned(),
        job["requiredCount"].as_i64().expect("requiredCount"),
        job["coveredCount"].as_i64().expect("coveredCount"),
        job["coverageRate"].as_f64(),
        codes(&job["gaps"]),
        codes(&job["coreGaps"]),
        lines,
    )
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn expected(
    code: &str,
    required: i64,
    covered: i64,
    rate: Option<f64>,
    gaps: &[&str],
    core_gaps: &[&str],
    lines: &[&str],
) -> JobFigures {
    (
        code.to_owned(),
        required,
        covered,
        rate,
        strings(gaps),
        strings(core_gaps),
        strings(lines),
    )
}

async fn coverage(app: &TestApp, token: Option<&str>, vars: Value) -> GqlResponse {
    app.gql(COVERAGE, vars, token).await
}

/// `(unit version sourcedIds, job figures)` of a successful coverage answer.
fn figures(response: &GqlResponse) -> (Vec<String>, Vec<JobFigures>) {
    let answer = &response.data()["curriculumCoverage"];
    let jobs = answer["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(job_figures)
        .collect();
    (sids(&answer["unitVersions"]), jobs)
}

// Requirement lines of the fixture.
const J1_A: &str = "COV-A CORE 3 -D-- unit-cov-u1-v1";
const J1_B: &str = "COV-B CORE 2 --A- unit-cov-u3-v1";
const J1_D_GAP: &str = "COV-D CORE 2 ----";
const J1_D_PINNED: &str = "COV-D CORE 2 ---S unit-cov-u4-v1";
const J1_C: &str = "COV-C SUPPORTING 2 I--- unit-cov-u1-v1";
const J2_C: &str = "COV-C CORE 3 I--- unit-cov-u1-v1";
const J2_F_GAP: &str = "COV-F CORE 2 ----";
const J2_F_HD: &str = "COV-F CORE 2 ---S unit-cov-u5-v1";
const J2_E: &str = "COV-E SUPPORTING 1 I--- unit-cov-u4-v2";
const J2_E_GAP: &str = "COV-E SUPPORTING 1 ----";

fn course_answer() -> (Vec<String>, Vec<JobFigures>) {
    (
        strings(&["unit-cov-u1-v1", "unit-cov-u3-v1", "unit-cov-u4-v2"]),
        vec![
            expected(
                "COV-J1",
                4,
                3,
                Some(0.75),
                &["COV-D"],
                &["COV-D"],
                &[J1_A, J1_B, J1_D_GAP, J1_C],
            ),
            expected(
                "COV-J2",
                3,
                2,
                Some(2.0 / 3.0),
                &["COV-F"],
                &["COV-F"],
                &[J2_C, J2_F_GAP, J2_E],
            ),
        ],
    )
}

#[tokio::test]
async fn course_coverage_counts_the_current_published_version_of_each_unit() {
    // Arrange
    let s = arrange().await;

    // Act: anonymous (published curriculum and approved maps are public) and as the office
    let anonymous = coverage(&s.app, None, json!({ "course": s.world.course_apl.gid() })).await;
    let office = coverage(
        &s.app,
        Some(&s.admin),
        json!({ "course": s.world.course_apl.sourced_id }),
    )
    .await;

    // Assert: drafts (U2, U3 v2), the retired U4 v1, the deleted unit skill and requirement
    // and the draft skill map do not count
    assert_eq!(figures(&anonymous), course_answer());
    assert_eq!(figures(&office), course_answer());
    let first = &office.data()["curriculumCoverage"]["jobs"][0];
    assert_eq!(first["job"]["sourcedId"], s.cov.job1.sourced_id);
}

#[tokio::test]
async fn offering_coverage_uses_its_pins_once_running_and_the_published_versions_before() {
    // Arrange
    let s = arrange().await;

    // Act
    let running = coverage(
        &s.app,
        Some(&s.admin),
        json!({ "offering": s.cov.running.gid() }),
    )
    .await;
    let open = coverage(
        &s.app,
        Some(&s.admin),
        json!({ "offering": s.cov.open.sourced_id }),
    )
    .await;

    // Assert: the running offering teaches the retired U4 v1 it pinned, not U4 v2
    assert_eq!(
        figures(&running),
        (
            strings(&["unit-cov-u1-v1", "unit-cov-u3-v1", "unit-cov-u4-v1"]),
            vec![
                expected(
                    "COV-J1",
                    4,
                    4,
                    Some(1.0),
                    &[],
                    &[],
                    &[J1_A, J1_B, J1_D_PINNED, J1_C],
                ),
                expected(
                    "COV-J2",
                    3,
                    1,
                    Some(1.0 / 3.0),
                    &["COV-E", "COV-F"],
                    &["COV-F"],
                    &[J2_C, J2_F_GAP, J2_E_GAP],
                ),
            ],
        )
    );
    assert_eq!(
        running.data()["curriculumCoverage"]["unitVersions"][2]["state"],
        "RETIRED"
    );
    assert_eq!(figures(&open), course_answer());
}

#[tokio::test]
async fn pathway_coverage_counts_the_units_of_every_course_of_its_stages() {
    // Arrange
    let s = arrange().await;

    // Act
    let response = coverage(&s.app, None, json!({ "pathway": s.world.pathway.gid() })).await;

    // Assert: the HD course's U5 covers F
    assert_eq!(
        figures(&response),
        (
            strings(&[
                "unit-cov-u1-v1",
                "unit-cov-u3-v1",
                "unit-cov-u4-v2",
                "unit-cov-u5-v1"
            ]),
            vec![
                expected(
                    "COV-J1",
                    4,
                    3,
                    Some(0.75),
                    &["COV-D"],
                    &["COV-D"],
                    &[J1_A, J1_B, J1_D_GAP, J1_C],
                ),
                expected("COV-J2", 3, 3, Some(1.0), &[], &[], &[J2_C, J2_F_HD, J2_E],),
            ],
        )
    );
}

#[tokio::test]
async fn coverage_of_one_job_or_one_skill_map_lists_only_those_jobs() {
    // Arrange
    let s = arrange().await;
    let course = s.world.course_apl.gid();

    // Act
    let one = coverage(
        &s.app,
        None,
        json!({ "course": course, "job": s.cov.job2.gid() }),
    )
    .await;
    let map = coverage(
        &s.app,
        None,
        json!({ "course": course, "skillMap": s.cov.map.sourced_id }),
    )
    .await;
    let draft = coverage(
        &s.app,
        Some(&s.admin),
        json!({ "course": course, "skillMap": s.cov.draft_map.gid() }),
    )
    .await;

    // Assert
    let (_, jobs) = figures(&one);
    assert_eq!(jobs, vec![course_answer().1[1].clone()]);
    assert_eq!(figures(&map), course_answer());
    // The curriculum staff read the draft map: its job requires A, which U1 develops
    let (_, jobs) = figures(&draft);
    assert_eq!(
        jobs,
        vec![expected(
            "COV-JX",
            1,
            1,
            Some(1.0),
            &[],
            &[],
            &["COV-A CORE 1 -D-- unit-cov-u1-v1"]
        )]
    );
}

#[tokio::test]
async fn coverage_refuses_bad_targets_and_hides_what_the_caller_cannot_see() {
    // Arrange
    let s = arrange().await;
    let partner = token_of(
        &s.app,
        &s.people.coordinator_x,
        &["partnerCoordinator"],
        PARTNER_X,
    );
    let course = s.world.course_apl.gid();
    let cases: Vec<(&str, Option<&str>, Value, &str)> = vec![
        ("no target", Some(&s.admin), json!({}), "BAD_USER_INPUT"),
        (
            "two targets",
            Some(&s.admin),
            json!({ "course": course, "pathway": s.world.pathway.gid() }),
            "BAD_USER_INPUT",
        ),
        (
            "job and map",
            Some(&s.admin),
            json!({ "course": course, "job": s.cov.job1.gid(), "skillMap": s.cov.map.gid() }),
            "BAD_USER_INPUT",
        ),
        (
            "a course id of another type",
            Some(&s.admin),
            json!({ "course": s.world.pathway.gid() }),
            "BAD_USER_INPUT",
        ),
        (
            "unknown course",
            Some(&s.admin),
            json!({ "course": "no-such-course" }),
            "NOT_FOUND",
        ),
        (
            "unknown pathway",
            None,
            json!({ "pathway": "no-such-pathway" }),
            "NOT_FOUND",
        ),
        (
            "offering without a token",
            None,
            json!({ "offering": s.cov.running.gid() }),
            "UNAUTHENTICATED",
        ),
        (
            "draft skill map for a partner",
            Some(&partner),
            json!({ "course": course, "skillMap": s.cov.draft_map.gid() }),
            "NOT_FOUND",
        ),
        (
            "draft job for a partner",
            Some(&partner),
            json!({ "course": course, "job": s.cov.draft_job.sourced_id }),
            "NOT_FOUND",
        ),
    ];

    for (what, token, vars, code) in cases {
        // Act
        let response = coverage(&s.app, token, vars).await;

        // Assert
        assert_eq!(
            response.error_code(),
            Some(code),
            "{what}: {}",
            response.body
        );
    }
}

#[tokio::test]
async fn a_deleted_course_or_unit_is_not_counted() {
    // Arrange
    let s = arrange().await;
    tombstone(&s.app.db, "curriculum_unit", s.cov.units[0].id).await;

    // Act
    let response = coverage(&s.app, None, json!({ "course": s.world.course_apl.gid() })).await;

    // Assert
    let (versions, jobs) = figures(&response);
    assert_eq!(versions, strings(&["unit-cov-u3-v1", "unit-cov-u4-v2"]));
    assert_eq!(jobs[0].2, 1, "only B is still covered for J1");
    tombstone(&s.app.db, "course", s.world.course_hd.id).await;
    let pathway = coverage(&s.app, None, json!({ "pathway": s.world.pathway.gid() })).await;
    let (versions, _) = figures(&pathway);
    assert_eq!(versions, strings(&["unit-cov-u3-v1", "unit-cov-u4-v2"]));
}

async fn pins(app: &TestApp, token: &str, offering: &str) -> (Value, Vec<String>) {
    let response = app.gql(PINS, json!({ "id": offering }), Some(token)).await;
    let node = &response.data()["node"];
    (node["state"].clone(), sids(&node["pinnedUnitVersions"]))
}

async fn start(app: &TestApp, token: &str, offering: &str) -> GqlResponse {
    app.gql(
        "mutation($input: StartCourseOfferingInput!) { startCourseOffering(input: $input) {
           courseOffering { state } userErrors { code } } }",
        json!({ "input": { "courseOffering": offering } }),
        Some(token),
    )
    .await
}

#[tokio::test]
async fn starting_an_offering_pins_the_published_version_of_each_active_unit_for_good() {
    // Arrange: besides the fixture, a deleted unit with a published version
    let s = arrange().await;
    let gone = add_unit(&s.app.db, &s.world, &s.world.course_apl, "COV-GONE").await;
    add_version(&s.app.db, &gone, 1, "published", &[]).await;
    tombstone(&s.app.db, "curriculum_unit", gone.id).await;
    let offering = s.cov.open.gid();
    let (state, before) = pins(&s.app, &s.admin, &offering).await;
    assert_eq!(state, "OPEN_FOR_ENROLMENT");
    assert!(before.is_empty());

    // Act
    let response = start(&s.app, &s.admin, &offering).await;

    // Assert: U1 v1, U3 v1 (not its draft), U4 v2 (not the retired v1); not U2 (draft only),
    // not the HD course's U5, not the deleted unit
    assert_eq!(
        response.data()["startCourseOffering"]["courseOffering"]["state"],
        "RUNNING"
    );
    let pinned = strings(&["unit-cov-u1-v1", "unit-cov-u3-v1", "unit-cov-u4-v2"]);
    assert_eq!(pins(&s.app, &s.admin, &offering).await.1, pinned);

    // Act: U1 gets a new published version (v1 retired), U4 v2 is retired
    set_version_state(&s.app.db, &s.cov.u1v1, "retired").await;
    let u1v2 = add_version(&s.app.db, &s.cov.units[0], 2, "published", &[]).await;
    set_version_state(&s.app.db, &s.cov.u4v2, "retired").await;

    // Assert: the pins never change, and the retired versions stay pinned
    let response = s
        .app
        .gql(PINS, json!({ "id": offering }), Some(&s.admin))
        .await;
    let node = &response.data()["node"];
    assert_eq!(sids(&node["pinnedUnitVersions"]), pinned);
    assert_eq!(node["pinnedUnitVersions"][0]["state"], "RETIRED");
    assert_eq!(node["pinnedUnitVersions"][2]["state"], "RETIRED");
    assert!(!sids(&node["pinnedUnitVersions"]).contains(&u1v2.sourced_id));
    // Coverage of the offering follows its pins, not the new publication
    let answer = coverage(&s.app, Some(&s.admin), json!({ "offering": offering })).await;
    assert_eq!(figures(&answer).0, pinned);
}

#[tokio::test]
async fn a_refused_start_pins_nothing() {
    // Arrange
    let s = arrange().await;
    let planned = add_offering(&s.app.db, &s.world, "cov-planned", "planned", None).await;
    let teacher = token_of(&s.app, &s.people.teacher_a, &["teacher"], SCHOOL_A);

    // Act
    let illegal = start(&s.app, &s.admin, &planned.gid()).await;
    let forbidden = start(&s.app, &teacher, &s.cov.open.gid()).await;

    // Assert
    assert_eq!(
        illegal.data()["startCourseOffering"]["userErrors"][0]["code"],
        "INVALID_TRANSITION"
    );
    assert_eq!(forbidden.error_code(), Some("FORBIDDEN"));
    assert!(pins(&s.app, &s.admin, &planned.gid()).await.1.is_empty());
    assert!(pins(&s.app, &s.admin, &s.cov.open.gid()).await.1.is_empty());
}

/// `(level, met, evidence sourcedIds)` per requirement line `"SKILL IMPORTANCE proficiency"`,
/// then `(metCount, requiredCount, gaps)`.
type Profile = (
    Vec<(String, Option<i64>, bool, Vec<String>)>,
    (i64, i64, Vec<String>),
);

fn profile(response: &GqlResponse) -> Profile {
    let answer = &response.data()["studentSkillProfile"];
    let lines = answer["requirements"]
        .as_array()
        .expect("requirements")
        .iter()
        .map(|r| {
            (
                format!(
                    "{} {} {}",
                    r["skill"]["code"].as_str().expect("code"),
                    r["importance"].as_str().expect("importance"),
                    r["proficiency"]
                ),
                r["level"].as_i64(),
                r["met"] == true,
                sids(&r["evidence"]),
            )
        })
        .collect();
    (
        lines,
        (
            answer["metCount"].as_i64().expect("metCount"),
            answer["requiredCount"].as_i64().expect("requiredCount"),
            codes(&answer["gaps"]),
        ),
    )
}

fn line(
    text: &str,
    level: Option<i64>,
    met: bool,
    evidence: &[&str],
) -> (String, Option<i64>, bool, Vec<String>) {
    (text.to_owned(), level, met, strings(evidence))
}

fn full_profile() -> Profile {
    (
        vec![
            line("COV-A CORE 3", Some(3), true, &["ev-a3"]),
            line("COV-B CORE 2", Some(2), true, &["ev-b2", "ev-b1"]),
            line("COV-D CORE 2", None, false, &[]),
            line("COV-C SUPPORTING 2", Some(4), true, &["ev-c4"]),
        ],
        (3, 4, strings(&["COV-D"])),
    )
}

#[tokio::test]
async fn a_students_profile_counts_the_evidence_each_caller_may_see() {
    // Arrange
    let s = arrange().await;
    let school_a = token_of(
        &s.app,
        &s.people.school_coordinator_a,
        &["schoolCoordinator"],
        SCHOOL_A,
    );
    let partner_x = token_of(
        &s.app,
        &s.people.coordinator_x,
        &["partnerCoordinator"],
        PARTNER_X,
    );
    let vars = json!({ "student": s.cov.student.gid(), "job": s.cov.job1.gid() });

    // Act
    let office = s.app.gql(PROFILE, vars.clone(), Some(&s.admin)).await;
    let school = s.app.gql(PROFILE, vars.clone(), Some(&school_a)).await;
    let partner = s.app.gql(PROFILE, vars.clone(), Some(&partner_x)).await;
    let mentor_x = token_of(&s.app, &s.people.mentor_x, &["mentor"], PARTNER_X);
    let mentor = s.app.gql(PROFILE, vars.clone(), Some(&mentor_x)).await;

    // Assert: the office and the school see every (active) piece of evidence
    assert_eq!(profile(&office), full_profile());
    assert_eq!(profile(&school), full_profile());
    assert_eq!(
        office.data()["studentSkillProfile"]["student"]["sourcedId"],
        s.cov.student.sourced_id
    );
    // The partner (mentorship + consent) counts only shared evidence
    assert_eq!(
        profile(&partner),
        (
            vec![
                line("COV-A CORE 3", Some(3), true, &["ev-a3"]),
                line("COV-B CORE 2", Some(1), false, &["ev-b1"]),
                line("COV-D CORE 2", None, false, &[]),
                line("COV-C SUPPORTING 2", None, false, &[]),
            ],
            (1, 4, strings(&["COV-B", "COV-C", "COV-D"])),
        )
    );
    // So does the student's mentor
    assert_eq!(profile(&mentor), profile(&partner));
    let shared = &partner.data()["studentSkillProfile"]["requirements"][0]["evidence"][0];
    assert_eq!(shared["sharedWithPartners"], true);
}

#[tokio::test]
async fn a_students_profile_is_not_found_for_callers_who_may_not_name_the_student() {
    // Arrange
    let s = arrange().await;
    let partner_y = token_of(
        &s.app,
        &s.people.coordinator_y,
        &["partnerCoordinator"],
        PARTNER_Y,
    );
    let school_b = token_of(
        &s.app,
        &s.world.school_people[1].coordinator,
        &["schoolCoordinator"],
        SCHOOL_B,
    );
    let vars = json!({ "student": s.cov.student.gid(), "job": s.cov.job1.gid() });

    // Act
    let partner = s.app.gql(PROFILE, vars.clone(), Some(&partner_y)).await;
    let school = s.app.gql(PROFILE, vars.clone(), Some(&school_b)).await;
    let anonymous = s.app.gql(PROFILE, vars, None).await;
    let draft_job = s
        .app
        .gql(
            PROFILE,
            json!({ "student": s.cov.student.gid(), "job": s.cov.draft_job.gid() }),
            Some(&token_of(
                &s.app,
                &s.people.coordinator_x,
                &["partnerCoordinator"],
                PARTNER_X,
            )),
        )
        .await;

    // Assert
    assert_eq!(partner.error_code(), Some("NOT_FOUND"), "{}", partner.body);
    assert_eq!(school.error_code(), Some("NOT_FOUND"), "{}", school.body);
    assert_eq!(anonymous.error_code(), Some("UNAUTHENTICATED"));
    assert_eq!(draft_job.error_code(), Some("NOT_FOUND"));
}

#[tokio::test]
async fn coverage_and_profiles_cost_the_same_statements_on_a_small_and_a_larger_fixture() {
    // Arrange
    let s = arrange().await;
    let queries = [
        (COVERAGE, json!({ "course": s.world.course_apl.gid() })),
        (COVERAGE, json!({ "pathway": s.world.pathway.gid() })),
        (COVERAGE, json!({ "offering": s.cov.running.gid() })),
        (COVERAGE, json!({ "offering": s.cov.open.gid() })),
        (
            PROFILE,
            json!({ "student": s.cov.student.gid(), "job": s.cov.job1.gid() }),
        ),
    ];
    let mut small = Vec::new();
    for (query, vars) in &queries {
        small.push(s.app.statements_for(query, vars.clone(), &s.admin).await);
    }
    let pins_small = s
        .app
        .statements_for(
            "{ courseOfferings { edges { node { pinnedUnitVersions { sourcedId } } } } }",
            json!({}),
            &s.admin,
        )
        .await;

    // Act: 12 more units, pins, jobs, skills, requirements and 24 more evidence rows
    grow(&s.app.db, &s.world, &s.cov, 12).await;
    let mut large = Vec::new();
    for (query, vars) in &queries {
        large.push(s.app.statements_for(query, vars.clone(), &s.admin).await);
    }
    let pins_large = s
        .app
        .statements_for(
            "{ courseOfferings { edges { node { pinnedUnitVersions { sourcedId } } } } }",
            json!({}),
            &s.admin,
        )
        .await;

    // Assert: the answers grew, the statement counts did not
    let grown = coverage(
        &s.app,
        Some(&s.admin),
        json!({ "course": s.world.course_apl.gid() }),
    )
    .await;
    assert_eq!(figures(&grown).0.len(), 3 + 12);
    assert_eq!(figures(&grown).1.len(), 2 + 12);
    eprintln!("statements small {small:?} {pins_small}, large {large:?} {pins_large}");
    assert_eq!(small, large);
    // Within the bounds: at most 8 statements for coverage and 6 for a profile, plus one for
    // the caller's token
    assert!(small[..4].iter().all(|n| *n <= 9), "{small:?}");
    assert!(small[4] <= 7, "{small:?}");
    assert_eq!(pins_small, pins_large);
}

#[tokio::test]
async fn a_partners_profile_audits_every_evidence_row_it_counts_even_when_only_counts_are_selected()
{
    // Arrange
    let s = arrange().await;
    let partner_x = token_of(
        &s.app,
        &s.people.coordinator_x,
        &["partnerCoordinator"],
        PARTNER_X,
    );
    let query = "query ($student: ID!, $job: ID!) { studentSkillProfile(student: $student, job: $job) { metCount requiredCount } }";
    let vars = json!({ "student": s.cov.student.gid(), "job": s.cov.job1.gid() });

    // Act
    let partner = s.app.gql(query, vars.clone(), Some(&partner_x)).await;
    let office = s.app.gql(query, vars, Some(&s.admin)).await;

    // Assert: the partner's counts came from the two shared pieces, and both reads are audited;
    // the programme office is not audited.
    assert_eq!(
        partner.data()["studentSkillProfile"]["metCount"],
        1,
        "{}",
        partner.body
    );
    assert_eq!(
        office.data()["studentSkillProfile"]["metCount"],
        3,
        "{}",
        office.body
    );
    let mut audited: Vec<(String, String)> = entity::access_audit_event::Entity::find()
        .all(&s.app.db)
        .await
        .expect("audit events")
        .into_iter()
        .filter(|e| e.entity_type == "SkillEvidence")
        .map(|e| (e.entity_sourced_id, e.basis_type))
        .collect();
    audited.sort();
    assert_eq!(
        audited,
        vec![
            ("ev-a3".to_owned(), "mentorship".to_owned()),
            ("ev-b1".to_owned(), "mentorship".to_owned()),
        ]
    );
}
