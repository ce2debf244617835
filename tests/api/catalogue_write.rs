//! Writing the catalogue and calendar (DOMAIN.md areas A and B): organisations, academic
//! sessions, cohorts and courses. Who may write (the authorization matrix of every mutation),
//! every validation rule (code, field path, and a read-back that nothing was written), parent
//! cycles, duplicates, optimistic concurrency, tombstones and change events.

use entity::{
    academic_session, change_event, cohort, course, org, pathway, pathway_stage, stage_course,
};
use integration_tests::fixtures::{
    OFFICE, PARTNER_X, SCHOOL_A, SCHOOL_B, UNIT, UNIVERSITY, World, seed_world,
};
use integration_tests::{GqlResponse, TestApp, spawn_app};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::consents::client_token;

const CREATE_ORG: &str = "mutation($input: CreateOrganizationInput!) {
  createOrganization(input: $input) {
    organization { sourcedId status version nameEn orgType orgTypeExtension identifier
      identifierScheme website industrySectors partnerSince schoolFinanceType metadata
      parent { sourcedId } }
    userErrors { field code message }
  }
}";
const UPDATE_ORG: &str = "mutation($input: UpdateOrganizationInput!) {
  updateOrganization(input: $input) {
    organization { sourcedId status version nameEn nameZh website parent { sourcedId } }
    userErrors { field code message }
  }
}";
const DELETE_ORG: &str = "mutation($input: DeleteOrganizationInput!) {
  deleteOrganization(input: $input) {
    organization { sourcedId status version }
    userErrors { field code message }
  }
}";
const CREATE_SESSION: &str = "mutation($input: CreateAcademicSessionInput!) {
  createAcademicSession(input: $input) {
    academicSession { sourcedId status version title schoolYear startDate endDate
      org { sourcedId } parent { sourcedId } }
    userErrors { field code message }
  }
}";
const UPDATE_SESSION: &str = "mutation($input: UpdateAcademicSessionInput!) {
  updateAcademicSession(input: $input) {
    academicSession { sourcedId status version title startDate endDate parent { sourcedId } }
    userErrors { field code message }
  }
}";
const DELETE_SESSION: &str = "mutation($input: DeleteAcademicSessionInput!) {
  deleteAcademicSession(input: $input) {
    academicSession { sourcedId status version }
    userErrors { field code message }
  }
}";
const CREATE_COHORT: &str = "mutation($input: CreateCohortInput!) {
  createCohort(input: $input) {
    cohort { sourcedId status version code expectedHkdseYear }
    userErrors { field code message }
  }
}";
const UPDATE_COHORT: &str = "mutation($input: UpdateCohortInput!) {
  updateCohort(input: $input) {
    cohort { sourcedId status version code expectedHkdseYear }
    userErrors { field code message }
  }
}";
const DELETE_COHORT: &str = "mutation($input: DeleteCohortInput!) {
  deleteCohort(input: $input) {
    cohort { sourcedId status version }
    userErrors { field code message }
  }
}";
const CREATE_COURSE: &str = "mutation($input: CreateCourseInput!) {
  createCourse(input: $input) {
    course { sourcedId status version courseCode title aliases qfLevel providerOrg { sourcedId } }
    userErrors { field code message }
  }
}";
const UPDATE_COURSE: &str = "mutation($input: UpdateCourseInput!) {
  updateCourse(input: $input) {
    course { sourcedId status version courseCode title aliases qfLevel providerOrg { sourcedId } }
    userErrors { field code message }
  }
}";
const DELETE_COURSE: &str = "mutation($input: DeleteCourseInput!) {
  deleteCourse(input: $input) {
    course { sourcedId status version }
    userErrors { field code message }
  }
}";

/// One caller of the authorization matrix.
struct Caller {
    name: &'static str,
    token: Option<String>,
}

/// Every relevant role, the integration clients with and without the write scopes, and no
/// token at all.
async fn callers(app: &TestApp, w: &World) -> Vec<Caller> {
    let person = |sid: &str, role: &str, org: &str| Some(app.token_for(sid, &[role], org));
    let school = &w.school_people[0];
    let (office_client, _) = client_token(app, OFFICE, "roster.write curriculum.write").await;
    let (unit_writer, _) = client_token(app, UNIT, "curriculum.write").await;
    let (unit_reader, _) = client_token(app, UNIT, "roster.read curriculum.read").await;
    let (school_writer, _) = client_token(app, SCHOOL_A, "roster.write").await;
    let (school_reader, _) = client_token(app, SCHOOL_A, "roster.read enrollment.write").await;
    let (partner_client, _) = client_token(app, PARTNER_X, "activities.write").await;
    vec![
        Caller {
            name: "programmeAdmin",
            token: Some(app.admin_token()),
        },
        Caller {
            name: "programmeStaff",
            token: person(&w.staff.sourced_id, "programmeStaff", OFFICE),
        },
        Caller {
            name: "officeClient",
            token: Some(office_client),
        },
        Caller {
            name: "academicLeadOwnUnit",
            token: person("lead-1", "academicLead", UNIT),
        },
        Caller {
            name: "academicLeadOtherUnit",
            token: person("lead-2", "academicLead", UNIVERSITY),
        },
        Caller {
            name: "unitClientWriter",
            token: Some(unit_writer),
        },
        Caller {
            name: "unitClientReader",
            token: Some(unit_reader),
        },
        Caller {
            name: "schoolCoordinatorOwn",
            token: person(
                &school.coordinator.sourced_id,
                "schoolCoordinator",
                SCHOOL_A,
            ),
        },
        Caller {
            name: "schoolCoordinatorOther",
            token: person(
                &w.school_people[1].coordinator.sourced_id,
                "schoolCoordinator",
                SCHOOL_B,
            ),
        },
        Caller {
            name: "schoolClientWriter",
            token: Some(school_writer),
        },
        Caller {
            name: "schoolClientReader",
            token: Some(school_reader),
        },
        Caller {
            name: "partnerCoordinator",
            token: person(
                &w.partner_coordinator.sourced_id,
                "partnerCoordinator",
                PARTNER_X,
            ),
        },
        Caller {
            name: "partnerClient",
            token: Some(partner_client),
        },
        Caller {
            name: "mentor",
            token: person(&w.mentor.sourced_id, "mentor", PARTNER_X),
        },
        Caller {
            name: "teacher",
            token: person(&school.teacher.sourced_id, "teacher", SCHOOL_A),
        },
        Caller {
            name: "student",
            token: person(&w.students[0].person.sourced_id, "student", SCHOOL_A),
        },
        Caller {
            name: "guardian",
            token: person(&school.guardian.sourced_id, "guardian", SCHOOL_A),
        },
        Caller {
            name: "evaluator",
            token: person("eval-1", "evaluator", OFFICE),
        },
        Caller {
            name: "anonymous",
            token: None,
        },
    ]
}

/// The payload of mutation `name`.
fn payload<'a>(response: &'a GqlResponse, name: &str) -> &'a Value {
    &response.data()[name]
}

/// The user errors of a payload as `(code, field path)`.
fn user_errors(response: &GqlResponse, name: &str) -> Vec<(String, Option<Vec<String>>)> {
    payload(response, name)["userErrors"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| {
            let field = e["field"].as_array().map(|f| {
                f.iter()
                    .map(|s| s.as_str().unwrap_or_default().to_owned())
                    .collect()
            });
            (e["code"].as_str().unwrap_or_default().to_owned(), field)
        })
        .collect()
}

/// Asserts exactly one user error with `code` on `field` (a path under `input`, or none).
#[track_caller]
fn assert_user_error(response: &GqlResponse, name: &str, code: &str, field: Option<&[&str]>) {
    assert!(
        response.errors().is_empty(),
        "{name}: unexpected top-level errors {:?}",
        response.errors()
    );
    let expected_field = field.map(|f| {
        std::iter::once("input")
            .chain(f.iter().copied())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    });
    assert_eq!(
        user_errors(response, name),
        vec![(code.to_owned(), expected_field)],
        "{name}: {}",
        response.body
    );
    assert!(
        payload(response, name)
            .as_object()
            .is_some_and(|p| p.iter().any(|(k, v)| k != "userErrors" && v.is_null()))
    );
}

/// Asserts success and returns the written record.
#[track_caller]
fn written<'a>(response: &'a GqlResponse, name: &str, field: &str) -> &'a Value {
    assert!(
        response.errors().is_empty() && user_errors(response, name).is_empty(),
        "{name} failed: {}",
        response.body
    );
    &payload(response, name)[field]
}

/// Rows of the four catalogue tables and of the change feed: "nothing was written" checks.
async fn counts(app: &TestApp) -> [u64; 8] {
    [
        pathway::Entity::find().count(&app.db).await.expect("count"),
        pathway_stage::Entity::find()
            .count(&app.db)
            .await
            .expect("count"),
        stage_course::Entity::find()
            .count(&app.db)
            .await
            .expect("count"),
        org::Entity::find().count(&app.db).await.expect("count"),
        academic_session::Entity::find()
            .count(&app.db)
            .await
            .expect("count"),
        cohort::Entity::find().count(&app.db).await.expect("count"),
        course::Entity::find().count(&app.db).await.expect("count"),
        change_event::Entity::find()
            .count(&app.db)
            .await
            .expect("count"),
    ]
}

/// Change events of a record, oldest first: `(operation, version)`.
async fn events_of(app: &TestApp, entity_type: &str, sourced_id: &str) -> Vec<(String, i32)> {
    change_event::Entity::find()
        .filter(change_event::Column::EntityType.eq(entity_type))
        .filter(change_event::Column::SourcedId.eq(sourced_id))
        .order_by_asc(change_event::Column::Seq)
        .all(&app.db)
        .await
        .expect("change events")
        .into_iter()
        .map(|e| (e.operation, e.version))
        .collect()
}

/// Reads one record through a list root: `(status, version)`, or `None` when not listed.
async fn read_back(
    app: &TestApp,
    root: &str,
    sourced_id: &str,
    include_deleted: bool,
) -> Option<(String, i64)> {
    let query = format!(
        "query($sid: String!, $d: Boolean!) {{ {root}(filter: {{ sourcedId: {{ eq: $sid }} }},
           includeDeleted: $d) {{ edges {{ node {{ sourcedId status version }} }} }} }}"
    );
    let response = app
        .gql_admin(&query, json!({ "sid": sourced_id, "d": include_deleted }))
        .await;
    assert!(response.errors().is_empty(), "{}", response.body);
    let node = &response.data()[root]["edges"][0]["node"];
    node["status"].as_str().map(|status| {
        (
            status.to_owned(),
            node["version"].as_i64().unwrap_or_default(),
        )
    })
}

/// Runs a mutation as the programme admin.
async fn admin(app: &TestApp, query: &str, input: Value) -> GqlResponse {
    app.gql_admin(query, json!({ "input": input })).await
}

// ---------------------------------------------------------------- authorization matrix

/// What the matrix writes for one entity.
struct Subject {
    create: &'static str,
    update: &'static str,
    delete: &'static str,
    /// Mutation names.
    names: [&'static str; 3],
    /// Payload field of the record.
    field: &'static str,
    /// Input field naming the record on update and delete.
    key: &'static str,
    /// The create input of the `n`-th record.
    input: fn(usize) -> Value,
    /// The field an update of the `n`-th record changes, and its new value.
    change: fn(usize) -> (&'static str, Value),
    allowed: &'static [&'static str],
}

const ORG: Subject = Subject {
    create: CREATE_ORG,
    update: UPDATE_ORG,
    delete: DELETE_ORG,
    names: [
        "createOrganization",
        "updateOrganization",
        "deleteOrganization",
    ],
    field: "organization",
    key: "organization",
    input: |n| json!({ "sourcedId": format!("m-org-{n}"), "nameEn": format!("Org {n}"), "orgType": "funder" }),
    change: |n| ("nameEn", json!(format!("Renamed-{n}"))),
    allowed: &["programmeAdmin", "programmeStaff", "officeClient"],
};

const SESSION: Subject = Subject {
    create: CREATE_SESSION,
    update: UPDATE_SESSION,
    delete: DELETE_SESSION,
    names: [
        "createAcademicSession",
        "updateAcademicSession",
        "deleteAcademicSession",
    ],
    field: "academicSession",
    key: "academicSession",
    input: |n| {
        json!({ "sourcedId": format!("m-session-{n}"), "title": format!("Term {n}"),
                "sessionType": "TERM", "startDate": "2025-01-01", "endDate": "2025-03-01",
                "schoolYear": 2025, "org": SCHOOL_A })
    },
    change: |n| ("title", json!(format!("Renamed-{n}"))),
    allowed: &[
        "programmeAdmin",
        "programmeStaff",
        "officeClient",
        "schoolCoordinatorOwn",
        "schoolClientWriter",
    ],
};

const COHORT: Subject = Subject {
    create: CREATE_COHORT,
    update: UPDATE_COHORT,
    delete: DELETE_COHORT,
    names: ["createCohort", "updateCohort", "deleteCohort"],
    field: "cohort",
    key: "cohort",
    input: |n| {
        json!({ "sourcedId": format!("m-cohort-{n}"), "pathway": "pw-ict",
                "code": format!("C-{n}"), "intakeSession": "year-2024", "expectedHkdseYear": 2027 })
    },
    change: |n| ("code", json!(format!("Renamed-{n}"))),
    allowed: &["programmeAdmin", "programmeStaff", "officeClient"],
};

const COURSE: Subject = Subject {
    create: CREATE_COURSE,
    update: UPDATE_COURSE,
    delete: DELETE_COURSE,
    names: ["createCourse", "updateCourse", "deleteCourse"],
    field: "course",
    key: "course",
    input: |n| {
        json!({ "sourcedId": format!("m-course-{n}"), "courseCode": format!("C-{n}"),
                "title": format!("Course {n}"), "courseKind": "APPLIED_LEARNING", "providerOrg": UNIT })
    },
    change: |n| ("title", json!(format!("Renamed-{n}"))),
    allowed: &[
        "programmeAdmin",
        "programmeStaff",
        "officeClient",
        "academicLeadOwnUnit",
        "unitClientWriter",
    ],
};

/// Every caller tries create, update and delete; allowed callers succeed, the others get
/// `FORBIDDEN` (`UNAUTHENTICATED` without a token) and the record is left as it was.
async fn matrix(subject: &Subject) {
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let callers = callers(&app, &w).await;
    let [create, update, delete] = subject.names;
    if create == "createStageCourse" {
        // Stage courses are unique per (stage, course): one course per record.
        for k in 1..=2 * callers.len() {
            let response = admin(
                &app,
                CREATE_COURSE,
                json!({ "sourcedId": format!("sc-course-{k}"),
                "courseCode": format!("SC-{k}"), "title": "SC", "courseKind": "BRIDGING",
                "providerOrg": UNIT }),
            )
            .await;
            written(&response, "createCourse", "course");
        }
    }
    let mut n = 0;
    for caller in &callers {
        let allowed = subject.allowed.contains(&caller.name);
        let refused = if caller.token.is_none() {
            "UNAUTHENTICATED"
        } else {
            "FORBIDDEN"
        };
        let token = caller.token.as_deref();
        let who = caller.name;

        // Create.
        n += 1;
        let before = counts(&app).await;
        let response = app
            .gql(
                subject.create,
                json!({ "input": (subject.input)(n) }),
                token,
            )
            .await;
        if allowed {
            let row = written(&response, create, subject.field);
            assert_eq!(row["version"], 1, "{who} {create}");
        } else {
            assert_eq!(
                response.error_code(),
                Some(refused),
                "{who} {create}: {}",
                response.body
            );
            assert_eq!(counts(&app).await, before, "{who} {create} wrote something");
        }

        // Update and delete a record the admin made.
        n += 1;
        let made = admin(&app, subject.create, (subject.input)(n)).await;
        let sid = written(&made, create, subject.field)["sourcedId"]
            .as_str()
            .expect("sourcedId")
            .to_owned();
        let (field, value) = (subject.change)(n);
        let before = counts(&app).await;
        let response = app
            .gql(
                subject.update,
                json!({ "input": { subject.key: sid, "expectedVersion": 1, field: value } }),
                token,
            )
            .await;
        if allowed {
            let row = written(&response, update, subject.field);
            assert_eq!(row["version"], 2, "{who} {update}");
            assert_eq!(row[field], value, "{who} {update}");
        } else {
            assert_eq!(
                response.error_code(),
                Some(refused),
                "{who} {update}: {}",
                response.body
            );
            assert_eq!(counts(&app).await, before, "{who} {update} wrote something");
        }
        let version = if allowed { 2 } else { 1 };
        let response = app
            .gql(
                subject.delete,
                json!({ "input": { subject.key: sid, "expectedVersion": version } }),
                token,
            )
            .await;
        if allowed {
            let row = written(&response, delete, subject.field);
            assert_eq!(row["status"], "TOBEDELETED", "{who} {delete}");
            assert_eq!(row["version"], version + 1, "{who} {delete}");
        } else {
            assert_eq!(
                response.error_code(),
                Some(refused),
                "{who} {delete}: {}",
                response.body
            );
            assert_eq!(counts(&app).await, before, "{who} {delete} wrote something");
        }
    }
}

const CREATE_PATHWAY: &str = "mutation($input: CreatePathwayInput!) {
  createPathway(input: $input) {
    pathway { sourcedId status version code title track trackExtension certifications
      owningOrg { sourcedId } }
    userErrors { field code message }
  }
}";
const UPDATE_PATHWAY: &str = "mutation($input: UpdatePathwayInput!) {
  updatePathway(input: $input) {
    pathway { sourcedId status version code title certifications }
    userErrors { field code message }
  }
}";
const DELETE_PATHWAY: &str = "mutation($input: DeletePathwayInput!) {
  deletePathway(input: $input) {
    pathway { sourcedId status version }
    userErrors { field code message }
  }
}";
const CREATE_STAGE: &str = "mutation($input: CreatePathwayStageInput!) {
  createPathwayStage(input: $input) {
    pathwayStage { sourcedId status version seq code classLevel level isEntryPoint isExitPoint }
    userErrors { field code message }
  }
}";
const UPDATE_STAGE: &str = "mutation($input: UpdatePathwayStageInput!) {
  updatePathwayStage(input: $input) {
    pathwayStage { sourcedId status version seq code classLevel level isEntryPoint isExitPoint }
    userErrors { field code message }
  }
}";
const DELETE_STAGE: &str = "mutation($input: DeletePathwayStageInput!) {
  deletePathwayStage(input: $input) {
    pathwayStage { sourcedId status version }
    userErrors { field code message }
  }
}";
const CREATE_STAGE_COURSE: &str = "mutation($input: CreateStageCourseInput!) {
  createStageCourse(input: $input) {
    stageCourse { sourcedId status version requirement stage { sourcedId } course { sourcedId } }
    userErrors { field code message }
  }
}";
const UPDATE_STAGE_COURSE: &str = "mutation($input: UpdateStageCourseInput!) {
  updateStageCourse(input: $input) {
    stageCourse { sourcedId status version requirement stage { sourcedId } course { sourcedId } }
    userErrors { field code message }
  }
}";
const DELETE_STAGE_COURSE: &str = "mutation($input: DeleteStageCourseInput!) {
  deleteStageCourse(input: $input) {
    stageCourse { sourcedId status version }
    userErrors { field code message }
  }
}";

const PATHWAY: Subject = Subject {
    create: CREATE_PATHWAY,
    update: UPDATE_PATHWAY,
    delete: DELETE_PATHWAY,
    names: ["createPathway", "updatePathway", "deletePathway"],
    field: "pathway",
    key: "pathway",
    input: |n| {
        json!({ "sourcedId": format!("m-pw-{n}"), "code": format!("PW-{n}"), "title": "P",
                "track": "creativeMedia", "owningOrg": UNIT })
    },
    change: |n| ("title", json!(format!("Renamed-{n}"))),
    allowed: &["programmeAdmin", "programmeStaff", "officeClient"],
};

const STAGE: Subject = Subject {
    create: CREATE_STAGE,
    update: UPDATE_STAGE,
    delete: DELETE_STAGE,
    names: [
        "createPathwayStage",
        "updatePathwayStage",
        "deletePathwayStage",
    ],
    field: "pathwayStage",
    key: "pathwayStage",
    input: |n| {
        json!({ "sourcedId": format!("m-stage-{n}"), "pathway": "pw-ict", "seq": 10 + n,
                "code": format!("X{n}"), "classLevel": "S4", "level": "SENIOR_SECONDARY",
                "isEntryPoint": false, "isExitPoint": false })
    },
    change: |n| ("code", json!(format!("Renamed-{n}"))),
    allowed: &["programmeAdmin", "programmeStaff", "officeClient"],
};

const STAGE_COURSE: Subject = Subject {
    create: CREATE_STAGE_COURSE,
    update: UPDATE_STAGE_COURSE,
    delete: DELETE_STAGE_COURSE,
    names: [
        "createStageCourse",
        "updateStageCourse",
        "deleteStageCourse",
    ],
    field: "stageCourse",
    key: "stageCourse",
    input: |n| {
        json!({ "sourcedId": format!("m-sc-{n}"), "stage": "stage-s4",
                "course": format!("sc-course-{n}"), "requirement": "CORE" })
    },
    change: |_| ("requirement", json!("ELECTIVE")),
    allowed: &["programmeAdmin", "programmeStaff", "officeClient"],
};

#[tokio::test]
async fn pathway_writes_are_for_the_programme_office_only() {
    matrix(&PATHWAY).await;
}

#[tokio::test]
async fn stage_writes_are_for_the_programme_office_only() {
    matrix(&STAGE).await;
}

#[tokio::test]
async fn stage_course_writes_are_for_the_programme_office_only() {
    matrix(&STAGE_COURSE).await;
}

#[tokio::test]
async fn organization_writes_are_for_the_programme_office_only() {
    matrix(&ORG).await;
}

#[tokio::test]
async fn school_sessions_are_written_by_the_programme_and_that_school() {
    matrix(&SESSION).await;
}

#[tokio::test]
async fn cohort_writes_are_for_the_programme_office_only() {
    matrix(&COHORT).await;
}

#[tokio::test]
async fn course_writes_are_for_the_programme_and_the_providing_unit() {
    matrix(&COURSE).await;
}

// ---------------------------------------------------------------- validation

/// Runs each bad create input as the admin: the one user error expected, and nothing written.
async fn refuses(
    app: &TestApp,
    query: &str,
    name: &str,
    base: &Value,
    cases: &[(Value, &str, Option<&[&str]>)],
) {
    for (change, code, field) in cases {
        let mut input = base.clone();
        if let (Some(input), Some(change)) = (input.as_object_mut(), change.as_object()) {
            for (k, v) in change {
                input.insert(k.clone(), v.clone());
            }
        }
        let before = counts(app).await;
        let response = admin(app, query, input.clone()).await;
        assert_user_error(&response, name, code, *field);
        assert_eq!(counts(app).await, before, "{name} {input} wrote something");
    }
}

#[tokio::test]
async fn organization_rules_are_user_errors_and_write_nothing() {
    let app = spawn_app().await;
    let _w = seed_world(&app.db).await;
    let base = json!({ "sourcedId": "org-new", "nameEn": "New Partner Ltd",
                       "orgType": "industryPartner" });
    let tomorrow = (api::access::today() + chrono::Duration::days(1)).to_string();
    let big = "x".repeat(16 * 1024);
    let cases: Vec<(Value, &str, Option<&[&str]>)> = vec![
        (
            json!({ "nameEn": "   " }),
            "BAD_USER_INPUT",
            Some(&["nameEn"]),
        ),
        (
            json!({ "nameEn": "n".repeat(256) }),
            "BAD_USER_INPUT",
            Some(&["nameEn"]),
        ),
        (
            json!({ "orgType": "college" }),
            "BAD_USER_INPUT",
            Some(&["orgType"]),
        ),
        (
            json!({ "orgType": "ext:" }),
            "BAD_USER_INPUT",
            Some(&["orgType"]),
        ),
        (
            json!({ "orgType": "ext:has space" }),
            "BAD_USER_INPUT",
            Some(&["orgType"]),
        ),
        (
            json!({ "identifier": "123" }),
            "BAD_USER_INPUT",
            Some(&["identifierScheme"]),
        ),
        (
            json!({ "identifierScheme": "br" }),
            "BAD_USER_INPUT",
            Some(&["identifier"]),
        ),
        (
            json!({ "identifier": "edb-org-school-a", "identifierScheme": "hk-edb-school-no" }),
            "DUPLICATE",
            None,
        ),
        (
            json!({ "parent": "org-nowhere" }),
            "BAD_USER_INPUT",
            Some(&["parent"]),
        ),
        (
            json!({ "parent": integration_tests::global_id("Course", "course-apl") }),
            "BAD_USER_INPUT",
            Some(&["parent"]),
        ),
        (
            json!({ "industrySectors": ["ict", " "] }),
            "BAD_USER_INPUT",
            Some(&["industrySectors", "1"]),
        ),
        (
            json!({ "industrySectors": ["s".repeat(101)] }),
            "BAD_USER_INPUT",
            Some(&["industrySectors", "0"]),
        ),
        (
            json!({ "website": "ftp://example.org" }),
            "BAD_USER_INPUT",
            Some(&["website"]),
        ),
        (
            json!({ "website": "www.example.org" }),
            "BAD_USER_INPUT",
            Some(&["website"]),
        ),
        (
            json!({ "website": "https://exa mple.org" }),
            "BAD_USER_INPUT",
            Some(&["website"]),
        ),
        (
            json!({ "partnerSince": tomorrow }),
            "BAD_USER_INPUT",
            Some(&["partnerSince"]),
        ),
        (
            json!({ "metadata": [1, 2] }),
            "BAD_USER_INPUT",
            Some(&["metadata"]),
        ),
        (
            json!({ "metadata": { "big": big } }),
            "BAD_USER_INPUT",
            Some(&["metadata"]),
        ),
        (
            json!({ "sourcedId": "has space" }),
            "BAD_USER_INPUT",
            Some(&["sourcedId"]),
        ),
        (json!({ "sourcedId": SCHOOL_A }), "DUPLICATE", None),
    ];
    refuses(&app, CREATE_ORG, "createOrganization", &base, &cases).await;
    assert_eq!(
        read_back(&app, "organizations", "org-new", true).await,
        None
    );

    // A closed vocabulary is enforced by the schema itself.
    let before = counts(&app).await;
    let mut bad = base.clone();
    bad["schoolFinanceType"] = json!("LOTTERY");
    let response = admin(&app, CREATE_ORG, bad).await;
    assert!(!response.errors().is_empty(), "{}", response.body);
    assert_eq!(counts(&app).await, before);

    // Every rule met: written as given, with its change event.
    let mut good = base.clone();
    for (k, v) in [
        ("orgType", json!("ext:charity.ngo")),
        ("identifier", json!("BR-1")),
        ("identifierScheme", json!("hk-br")),
        ("industrySectors", json!([" ict ", "ict", "media"])),
        ("website", json!("https://partner.example.hk/about")),
        ("partnerSince", json!(api::access::today().to_string())),
        (
            "parent",
            json!(integration_tests::global_id("Organization", PARTNER_X)),
        ),
        ("schoolFinanceType", json!("DSS")),
        ("metadata", json!({ "crm": "42" })),
    ] {
        good[k] = v;
    }
    let response = admin(&app, CREATE_ORG, good).await;
    let row = written(&response, "createOrganization", "organization");
    assert_eq!(row["orgType"], "EXTENSION");
    assert_eq!(row["orgTypeExtension"], "ext:charity.ngo");
    assert_eq!(row["industrySectors"], json!(["ict", "media"]));
    assert_eq!(row["parent"]["sourcedId"], PARTNER_X);
    assert_eq!(row["schoolFinanceType"], "DSS");
    assert_eq!(row["metadata"], json!({ "crm": "42" }));
    assert_eq!(
        read_back(&app, "organizations", "org-new", false).await,
        Some(("ACTIVE".to_owned(), 1))
    );
    assert_eq!(
        events_of(&app, "Organization", "org-new").await,
        vec![("create".to_owned(), 1)]
    );
}

#[tokio::test]
async fn organization_updates_keep_omitted_fields_clear_nulls_and_refuse_cycles() {
    let app = spawn_app().await;
    let _w = seed_world(&app.db).await;
    let made = admin(
        &app,
        CREATE_ORG,
        json!({ "sourcedId": "org-p", "nameEn": "P", "nameZh": "乙", "orgType": "funder",
                "website": "https://p.example" }),
    )
    .await;
    written(&made, "createOrganization", "organization");

    // Omitted fields keep their value; an explicit null clears.
    let response = admin(
        &app,
        UPDATE_ORG,
        json!({ "organization": "org-p", "expectedVersion": 1, "website": null }),
    )
    .await;
    let row = written(&response, "updateOrganization", "organization");
    assert_eq!(row["nameZh"], "乙");
    assert_eq!(row["website"], Value::Null);
    assert_eq!(row["version"], 2);

    // Refused updates: user errors, nothing written.
    let base = json!({ "organization": "org-p", "expectedVersion": 2 });
    let cases: Vec<(Value, &str, Option<&[&str]>)> = vec![
        (
            json!({ "nameEn": null }),
            "BAD_USER_INPUT",
            Some(&["nameEn"]),
        ),
        (
            json!({ "orgType": null }),
            "BAD_USER_INPUT",
            Some(&["orgType"]),
        ),
        (
            json!({ "parent": "org-p" }),
            "BAD_USER_INPUT",
            Some(&["parent"]),
        ),
        (
            json!({ "identifier": "X" }),
            "BAD_USER_INPUT",
            Some(&["identifierScheme"]),
        ),
        (
            json!({ "expectedVersion": 1, "nameEn": "Q" }),
            "VERSION_CONFLICT",
            None,
        ),
    ];
    refuses(&app, UPDATE_ORG, "updateOrganization", &base, &cases).await;
    // The university is the unit's parent: making the unit the university's parent is a cycle.
    let before = counts(&app).await;
    let response = admin(
        &app,
        UPDATE_ORG,
        json!({ "organization": UNIVERSITY, "expectedVersion": 1, "parent": UNIT }),
    )
    .await;
    assert_user_error(
        &response,
        "updateOrganization",
        "BAD_USER_INPUT",
        Some(&["parent"]),
    );
    assert_eq!(counts(&app).await, before);
    // A longer cycle: org-p under the unit, then the university under org-p.
    let response = admin(
        &app,
        UPDATE_ORG,
        json!({ "organization": "org-p", "expectedVersion": 2, "parent": UNIT }),
    )
    .await;
    written(&response, "updateOrganization", "organization");
    let response = admin(
        &app,
        UPDATE_ORG,
        json!({ "organization": UNIVERSITY, "expectedVersion": 1, "parent": "org-p" }),
    )
    .await;
    assert_user_error(
        &response,
        "updateOrganization",
        "BAD_USER_INPUT",
        Some(&["parent"]),
    );
    assert_eq!(
        read_back(&app, "organizations", UNIVERSITY, false).await,
        Some(("ACTIVE".to_owned(), 1))
    );

    // Unknown: NOT_FOUND, top-level.
    let response = admin(
        &app,
        UPDATE_ORG,
        json!({ "organization": "org-none", "expectedVersion": 1, "nameEn": "X" }),
    )
    .await;
    assert_eq!(response.error_code(), Some("NOT_FOUND"));
    assert_eq!(
        events_of(&app, "Organization", "org-p").await,
        vec![
            ("create".to_owned(), 1),
            ("update".to_owned(), 2),
            ("update".to_owned(), 3)
        ]
    );
}

#[tokio::test]
async fn deleting_an_organization_leaves_a_tombstone_and_refuses_one_in_use() {
    let app = spawn_app().await;
    let _w = seed_world(&app.db).await;
    // A provider whose only dependant is a course.
    let made = admin(
        &app,
        CREATE_ORG,
        json!({ "sourcedId": "org-prov", "nameEn": "Provider", "orgType": "furtherStudyProvider" }),
    )
    .await;
    written(&made, "createOrganization", "organization");
    let made = admin(
        &app,
        CREATE_COURSE,
        json!({ "courseCode": "FS-1", "title": "Bridging", "courseKind": "BRIDGING",
                "providerOrg": "org-prov" }),
    )
    .await;
    written(&made, "createCourse", "course");
    let before = counts(&app).await;
    for (sid, why) in [
        (UNIVERSITY, "child organisations"),
        (SCHOOL_A, "people"),
        (PARTNER_X, "people"),
        ("org-prov", "courses"),
    ] {
        let response = admin(
            &app,
            DELETE_ORG,
            json!({ "organization": sid, "expectedVersion": 1 }),
        )
        .await;
        assert_user_error(&response, "deleteOrganization", "INVALID_TRANSITION", None);
        let message = payload(&response, "deleteOrganization")["userErrors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(message.contains(why), "{sid}: {message}");
    }
    assert_eq!(counts(&app).await, before);

    written(
        &admin(
            &app,
            CREATE_ORG,
            json!({ "sourcedId": "org-d", "nameEn": "D", "orgType": "funder" }),
        )
        .await,
        "createOrganization",
        "organization",
    );
    let stale = admin(
        &app,
        DELETE_ORG,
        json!({ "organization": "org-d", "expectedVersion": 7 }),
    )
    .await;
    assert_user_error(&stale, "deleteOrganization", "VERSION_CONFLICT", None);
    assert!(
        payload(&stale, "deleteOrganization")["userErrors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("version 1")),
        "the conflict names the current version: {}",
        stale.body
    );
    let gid = integration_tests::global_id("Organization", "org-d");
    let response = admin(
        &app,
        DELETE_ORG,
        json!({ "organization": gid, "expectedVersion": 1 }),
    )
    .await;
    let row = written(&response, "deleteOrganization", "organization");
    assert_eq!(row["status"], "TOBEDELETED");
    assert_eq!(row["version"], 2);
    // Visible only with includeDeleted.
    assert_eq!(read_back(&app, "organizations", "org-d", false).await, None);
    assert_eq!(
        read_back(&app, "organizations", "org-d", true).await,
        Some(("TOBEDELETED".to_owned(), 2))
    );
    // Deleting or updating a tombstone is refused.
    let again = admin(
        &app,
        DELETE_ORG,
        json!({ "organization": "org-d", "expectedVersion": 2 }),
    )
    .await;
    assert_user_error(&again, "deleteOrganization", "INVALID_TRANSITION", None);
    let update = admin(
        &app,
        UPDATE_ORG,
        json!({ "organization": "org-d", "expectedVersion": 2, "nameEn": "Back" }),
    )
    .await;
    assert_user_error(&update, "updateOrganization", "INVALID_TRANSITION", None);
    // A deleted organisation is no parent for a new one.
    let child = admin(
        &app,
        CREATE_ORG,
        json!({ "nameEn": "Child", "orgType": "funder", "parent": "org-d" }),
    )
    .await;
    assert_user_error(
        &child,
        "createOrganization",
        "BAD_USER_INPUT",
        Some(&["parent"]),
    );
    assert_eq!(
        events_of(&app, "Organization", "org-d").await,
        vec![("create".to_owned(), 1), ("delete".to_owned(), 2)]
    );
}

#[tokio::test]
async fn two_updates_from_one_version_one_wins_one_conflicts() {
    let app = spawn_app().await;
    let _w = seed_world(&app.db).await;
    let token = app.admin_token();
    let update = |name: &'static str| {
        let app = &app;
        let token = token.clone();
        async move {
            app.gql(
                UPDATE_ORG,
                json!({ "input": { "organization": PARTNER_X, "expectedVersion": 1, "nameEn": name } }),
                Some(&token),
            )
            .await
        }
    };
    let (a, b) = tokio::join!(update("Writer A"), update("Writer B"));
    let mut outcomes: Vec<Vec<(String, Option<Vec<String>>)>> = [&a, &b]
        .iter()
        .map(|r| {
            assert!(r.errors().is_empty(), "{}", r.body);
            user_errors(r, "updateOrganization")
        })
        .collect();
    outcomes.sort();
    assert_eq!(
        outcomes,
        vec![vec![], vec![("VERSION_CONFLICT".to_owned(), None)]],
        "{} / {}",
        a.body,
        b.body
    );
    let winner = [&a, &b]
        .into_iter()
        .find(|r| user_errors(r, "updateOrganization").is_empty())
        .map(|r| payload(r, "updateOrganization")["organization"]["nameEn"].clone());
    let stored = org::Entity::find()
        .filter(org::Column::SourcedId.eq(PARTNER_X))
        .one(&app.db)
        .await
        .expect("read")
        .expect("partner");
    assert_eq!(stored.version, 2);
    assert_eq!(Some(json!(stored.name_en)), winner);
    assert_eq!(
        events_of(&app, "Organization", PARTNER_X).await,
        vec![("update".to_owned(), 2)]
    );
}

#[tokio::test]
async fn session_rules_are_user_errors_and_write_nothing() {
    let app = spawn_app().await;
    let _w = seed_world(&app.db).await;
    // A term of the programme calendar's 2024/25 year (2024-09-01 to 2025-09-01).
    let base = json!({ "sourcedId": "term-x", "title": "2024/25 Term X", "sessionType": "TERM",
                       "startDate": "2025-02-01", "endDate": "2025-04-01", "schoolYear": 2025,
                       "parent": "year-2024" });
    let cases: Vec<(Value, &str, Option<&[&str]>)> = vec![
        (json!({ "title": " " }), "BAD_USER_INPUT", Some(&["title"])),
        (
            json!({ "endDate": "2025-02-01" }),
            "BAD_USER_INPUT",
            Some(&["endDate"]),
        ),
        (
            json!({ "endDate": "2025-01-15" }),
            "BAD_USER_INPUT",
            Some(&["endDate"]),
        ),
        (
            json!({ "schoolYear": 1999 }),
            "BAD_USER_INPUT",
            Some(&["schoolYear"]),
        ),
        (
            json!({ "schoolYear": 2027 }),
            "BAD_USER_INPUT",
            Some(&["schoolYear"]),
        ),
        (
            json!({ "parent": "year-none" }),
            "BAD_USER_INPUT",
            Some(&["parent"]),
        ),
        (
            json!({ "startDate": "2024-08-01" }),
            "BAD_USER_INPUT",
            Some(&["startDate"]),
        ),
        (
            json!({ "endDate": "2025-09-02" }),
            "BAD_USER_INPUT",
            Some(&["endDate"]),
        ),
        (
            json!({ "org": "org-none" }),
            "BAD_USER_INPUT",
            Some(&["org"]),
        ),
        (json!({ "title": "2024/25 Term 1" }), "DUPLICATE", None),
        (
            json!({ "metadata": "text" }),
            "BAD_USER_INPUT",
            Some(&["metadata"]),
        ),
        (
            json!({ "sessionType": "SCHOOL_YEAR", "parent": null, "startDate": "2026-09-01",
                    "endDate": "2027-09-01", "schoolYear": 2026 }),
            "BAD_USER_INPUT",
            Some(&["schoolYear"]),
        ),
        (
            json!({ "sessionType": "SCHOOL_YEAR", "title": "2024/25", "parent": null,
                    "startDate": "2024-09-01", "endDate": "2025-09-01" }),
            "DUPLICATE",
            None,
        ),
    ];
    refuses(&app, CREATE_SESSION, "createAcademicSession", &base, &cases).await;
    assert_eq!(
        read_back(&app, "academicSessions", "term-x", true).await,
        None
    );

    // The same title in a school's calendar is another key; a parent from another school's
    // calendar is refused; the programme calendar may be a school session's parent.
    let b_year = admin(
        &app,
        CREATE_SESSION,
        json!({ "sourcedId": "b-year", "title": "2024/25", "sessionType": "SCHOOL_YEAR",
                "startDate": "2024-09-01", "endDate": "2025-09-01", "schoolYear": 2025,
                "org": SCHOOL_B }),
    )
    .await;
    written(&b_year, "createAcademicSession", "academicSession");
    let before = counts(&app).await;
    let response = admin(
        &app,
        CREATE_SESSION,
        json!({ "title": "A term", "sessionType": "TERM", "startDate": "2024-09-01",
                "endDate": "2025-01-01", "schoolYear": 2025, "org": SCHOOL_A, "parent": "b-year" }),
    )
    .await;
    assert_user_error(
        &response,
        "createAcademicSession",
        "BAD_USER_INPUT",
        Some(&["parent"]),
    );
    assert_eq!(counts(&app).await, before);
    let response = admin(
        &app,
        CREATE_SESSION,
        json!({ "sourcedId": "a-term", "title": "A term", "sessionType": "TERM",
                "startDate": "2024-09-01", "endDate": "2025-01-01", "schoolYear": 2025,
                "org": SCHOOL_A, "parent": "year-2024" }),
    )
    .await;
    let row = written(&response, "createAcademicSession", "academicSession");
    assert_eq!(row["org"]["sourcedId"], SCHOOL_A);
    assert_eq!(row["parent"]["sourcedId"], "year-2024");

    // Every rule met.
    let response = admin(&app, CREATE_SESSION, base).await;
    let row = written(&response, "createAcademicSession", "academicSession");
    assert_eq!(row["org"], Value::Null);
    assert_eq!(
        events_of(&app, "AcademicSession", "term-x").await,
        vec![("create".to_owned(), 1)]
    );
}

#[tokio::test]
async fn a_school_writes_only_its_own_calendar() {
    let app = spawn_app().await;
    let w = seed_world(&app.db).await;
    let coordinator = app.token_for(
        &w.school_people[0].coordinator.sourced_id,
        &["schoolCoordinator"],
        SCHOOL_A,
    );
    let term = json!({ "title": "Own term", "sessionType": "TERM", "startDate": "2025-01-01",
                       "endDate": "2025-03-01", "schoolYear": 2025, "sourcedId": "own-term" });
    // org omitted: the coordinator's own school.
    let response = app
        .gql(CREATE_SESSION, json!({ "input": term }), Some(&coordinator))
        .await;
    let row = written(&response, "createAcademicSession", "academicSession");
    assert_eq!(row["org"]["sourcedId"], SCHOOL_A);

    let before = counts(&app).await;
    // (On create, a null org is the same as an omitted one: the caller's school.)
    for org in [
        json!(SCHOOL_B),
        json!(integration_tests::global_id("Organization", PARTNER_X)),
    ] {
        let mut input = term.clone();
        input["org"] = org;
        input["sourcedId"] = json!("other-term");
        let response = app
            .gql(
                CREATE_SESSION,
                json!({ "input": input }),
                Some(&coordinator),
            )
            .await;
        assert_eq!(
            response.error_code(),
            Some("FORBIDDEN"),
            "{}",
            response.body
        );
    }
    // The programme calendar's sessions are not the school's to change, nor to move; nor may
    // the school move its own session to the programme calendar.
    let response = app
        .gql(
            UPDATE_SESSION,
            json!({ "input": { "academicSession": "own-term", "expectedVersion": 1, "org": null } }),
            Some(&coordinator),
        )
        .await;
    assert_eq!(
        response.error_code(),
        Some("FORBIDDEN"),
        "{}",
        response.body
    );
    let response = app
        .gql(
            UPDATE_SESSION,
            json!({ "input": { "academicSession": "term-2024-1", "expectedVersion": 1, "title": "Mine" } }),
            Some(&coordinator),
        )
        .await;
    assert_eq!(
        response.error_code(),
        Some("FORBIDDEN"),
        "{}",
        response.body
    );
    let response = app
        .gql(
            UPDATE_SESSION,
            json!({ "input": { "academicSession": "own-term", "expectedVersion": 1, "org": SCHOOL_B } }),
            Some(&coordinator),
        )
        .await;
    assert_eq!(
        response.error_code(),
        Some("FORBIDDEN"),
        "{}",
        response.body
    );
    assert_eq!(counts(&app).await, before);
}

#[tokio::test]
async fn session_updates_keep_children_inside_and_refuse_cycles() {
    let app = spawn_app().await;
    let _w = seed_world(&app.db).await;
    let before = counts(&app).await;
    // Shrinking the year would leave its terms outside.
    let cases: Vec<(Value, &str, Option<&[&str]>)> = vec![
        (
            json!({ "endDate": "2025-06-01" }),
            "BAD_USER_INPUT",
            Some(&["endDate"]),
        ),
        (
            json!({ "startDate": "2024-10-01" }),
            "BAD_USER_INPUT",
            Some(&["startDate"]),
        ),
        (
            json!({ "startDate": null }),
            "BAD_USER_INPUT",
            Some(&["startDate"]),
        ),
        (
            json!({ "expectedVersion": 3, "title": "Y" }),
            "VERSION_CONFLICT",
            None,
        ),
    ];
    let base = json!({ "academicSession": "year-2024", "expectedVersion": 1 });
    refuses(&app, UPDATE_SESSION, "updateAcademicSession", &base, &cases).await;
    // A term moved outside its year.
    let response = admin(
        &app,
        UPDATE_SESSION,
        json!({ "academicSession": "term-2024-1", "expectedVersion": 1, "startDate": "2024-08-01",
                "schoolYear": 2025 }),
    )
    .await;
    assert_user_error(
        &response,
        "updateAcademicSession",
        "BAD_USER_INPUT",
        Some(&["startDate"]),
    );
    assert_eq!(counts(&app).await, before);

    // Two sessions with the same dates, B inside A: making A a child of B is a cycle.
    for (sid, parent) in [("cyc-a", Value::Null), ("cyc-b", json!("cyc-a"))] {
        let response = admin(
            &app,
            CREATE_SESSION,
            json!({ "sourcedId": sid, "title": sid, "sessionType": "GRADING_PERIOD",
                    "startDate": "2024-09-01", "endDate": "2024-12-01", "schoolYear": 2025,
                    "parent": parent }),
        )
        .await;
        written(&response, "createAcademicSession", "academicSession");
    }
    let before = counts(&app).await;
    for parent in ["cyc-b", "cyc-a"] {
        let response = admin(
            &app,
            UPDATE_SESSION,
            json!({ "academicSession": "cyc-a", "expectedVersion": 1, "parent": parent }),
        )
        .await;
        assert_user_error(
            &response,
            "updateAcademicSession",
            "BAD_USER_INPUT",
            Some(&["parent"]),
        );
    }
    assert_eq!(counts(&app).await, before);

    // Accepted: a longer year keeps its terms inside.
    let response = admin(
        &app,
        UPDATE_SESSION,
        json!({ "academicSession": "year-2024", "expectedVersion": 1, "startDate": "2024-08-15" }),
    )
    .await;
    let row = written(&response, "updateAcademicSession", "academicSession");
    assert_eq!(row["startDate"], "2024-08-15");
    assert_eq!(row["version"], 2);
    assert_eq!(
        events_of(&app, "AcademicSession", "year-2024").await,
        vec![("update".to_owned(), 2)]
    );

    // Delete: refused while it has terms or is a cohort's intake; a leaf becomes a tombstone.
    let response = admin(
        &app,
        DELETE_SESSION,
        json!({ "academicSession": "year-2024", "expectedVersion": 2 }),
    )
    .await;
    assert_user_error(
        &response,
        "deleteAcademicSession",
        "INVALID_TRANSITION",
        None,
    );
    let response = admin(
        &app,
        DELETE_SESSION,
        json!({ "academicSession": "cyc-b", "expectedVersion": 1 }),
    )
    .await;
    written(&response, "deleteAcademicSession", "academicSession");
    assert_eq!(
        read_back(&app, "academicSessions", "cyc-b", false).await,
        None
    );
    assert_eq!(
        read_back(&app, "academicSessions", "cyc-b", true).await,
        Some(("TOBEDELETED".to_owned(), 2))
    );
    // With its child gone, cyc-a may be deleted.
    let response = admin(
        &app,
        DELETE_SESSION,
        json!({ "academicSession": "cyc-a", "expectedVersion": 1 }),
    )
    .await;
    written(&response, "deleteAcademicSession", "academicSession");
    assert_eq!(
        events_of(&app, "AcademicSession", "cyc-b").await,
        vec![("create".to_owned(), 1), ("delete".to_owned(), 2)]
    );
}

#[tokio::test]
async fn cohort_rules_are_user_errors_and_write_nothing() {
    let app = spawn_app().await;
    let _w = seed_world(&app.db).await;
    let base = json!({ "sourcedId": "cohort-x", "pathway": "pw-ict", "code": "ICT-2025",
                       "intakeSession": "year-2025", "expectedHkdseYear": 2028 });
    let cases: Vec<(Value, &str, Option<&[&str]>)> = vec![
        (json!({ "code": "" }), "BAD_USER_INPUT", Some(&["code"])),
        (
            json!({ "code": "c".repeat(65) }),
            "BAD_USER_INPUT",
            Some(&["code"]),
        ),
        (json!({ "code": "ICT-2024" }), "DUPLICATE", None),
        (
            json!({ "pathway": "pw-none" }),
            "BAD_USER_INPUT",
            Some(&["pathway"]),
        ),
        (
            json!({ "intakeSession": "year-none" }),
            "BAD_USER_INPUT",
            Some(&["intakeSession"]),
        ),
        (
            json!({ "intakeSession": integration_tests::global_id("Organization", SCHOOL_A) }),
            "BAD_USER_INPUT",
            Some(&["intakeSession"]),
        ),
        (
            json!({ "expectedHkdseYear": 2040 }),
            "BAD_USER_INPUT",
            Some(&["expectedHkdseYear"]),
        ),
        (
            json!({ "expectedHkdseYear": 2020 }),
            "BAD_USER_INPUT",
            Some(&["expectedHkdseYear"]),
        ),
        (
            json!({ "expectedHkdseYear": 1900 }),
            "BAD_USER_INPUT",
            Some(&["expectedHkdseYear"]),
        ),
    ];
    refuses(&app, CREATE_COHORT, "createCohort", &base, &cases).await;
    assert_eq!(read_back(&app, "cohorts", "cohort-x", true).await, None);
    let response = admin(&app, CREATE_COHORT, base).await;
    let row = written(&response, "createCohort", "cohort");
    assert_eq!(row["expectedHkdseYear"], 2028);

    // Update: null clears the optional year; the code stays unique; stale versions conflict.
    let response = admin(
        &app,
        UPDATE_COHORT,
        json!({ "cohort": "cohort-x", "expectedVersion": 1, "expectedHkdseYear": null }),
    )
    .await;
    let row = written(&response, "updateCohort", "cohort");
    assert_eq!(row["expectedHkdseYear"], Value::Null);
    assert_eq!(row["code"], "ICT-2025");
    let before = counts(&app).await;
    let cases: Vec<(Value, &str, Option<&[&str]>)> = vec![
        (json!({ "code": "ICT-2024" }), "DUPLICATE", None),
        (json!({ "code": null }), "BAD_USER_INPUT", Some(&["code"])),
        (
            json!({ "expectedVersion": 1, "code": "Z" }),
            "VERSION_CONFLICT",
            None,
        ),
    ];
    let base = json!({ "cohort": "cohort-x", "expectedVersion": 2 });
    refuses(&app, UPDATE_COHORT, "updateCohort", &base, &cases).await;
    assert_eq!(counts(&app).await, before);

    // Delete: the seeded cohort has enrolments; the new one becomes a tombstone.
    let response = admin(
        &app,
        DELETE_COHORT,
        json!({ "cohort": "cohort-2024", "expectedVersion": 1 }),
    )
    .await;
    assert_user_error(&response, "deleteCohort", "INVALID_TRANSITION", None);
    let response = admin(
        &app,
        DELETE_COHORT,
        json!({ "cohort": "cohort-x", "expectedVersion": 2 }),
    )
    .await;
    written(&response, "deleteCohort", "cohort");
    assert_eq!(read_back(&app, "cohorts", "cohort-x", false).await, None);
    assert_eq!(
        read_back(&app, "cohorts", "cohort-x", true).await,
        Some(("TOBEDELETED".to_owned(), 3))
    );
    assert_eq!(
        events_of(&app, "Cohort", "cohort-x").await,
        vec![
            ("create".to_owned(), 1),
            ("update".to_owned(), 2),
            ("delete".to_owned(), 3)
        ]
    );
    // A deleted cohort keeps its code.
    let response = admin(
        &app,
        CREATE_COHORT,
        json!({ "pathway": "pw-ict", "code": "ICT-2025", "intakeSession": "year-2025" }),
    )
    .await;
    assert_user_error(&response, "createCohort", "DUPLICATE", None);
}

#[tokio::test]
async fn course_rules_are_user_errors_and_write_nothing() {
    let app = spawn_app().await;
    let _w = seed_world(&app.db).await;
    let base = json!({ "sourcedId": "course-x", "courseCode": "APL-NEW", "title": "New course",
                       "courseKind": "APPLIED_LEARNING", "providerOrg": UNIT,
                       "aliases": ["New", " New "], "nominalContactHours": 180, "spanYears": 2,
                       "qfLevel": 3, "qfCredits": 18 });
    let cases: Vec<(Value, &str, Option<&[&str]>)> = vec![
        (
            json!({ "courseCode": " " }),
            "BAD_USER_INPUT",
            Some(&["courseCode"]),
        ),
        (
            json!({ "courseCode": "c".repeat(65) }),
            "BAD_USER_INPUT",
            Some(&["courseCode"]),
        ),
        (json!({ "courseCode": "APL-TECHBASICS" }), "DUPLICATE", None),
        (json!({ "title": "" }), "BAD_USER_INPUT", Some(&["title"])),
        (
            json!({ "providerOrg": "org-none" }),
            "BAD_USER_INPUT",
            Some(&["providerOrg"]),
        ),
        (
            json!({ "aliases": ["ok", ""] }),
            "BAD_USER_INPUT",
            Some(&["aliases", "1"]),
        ),
        (
            json!({ "qfLevel": 0 }),
            "BAD_USER_INPUT",
            Some(&["qfLevel"]),
        ),
        (
            json!({ "qfLevel": 8 }),
            "BAD_USER_INPUT",
            Some(&["qfLevel"]),
        ),
        (
            json!({ "qfCredits": -1 }),
            "BAD_USER_INPUT",
            Some(&["qfCredits"]),
        ),
        (
            json!({ "spanYears": 0 }),
            "BAD_USER_INPUT",
            Some(&["spanYears"]),
        ),
        (
            json!({ "spanYears": 7 }),
            "BAD_USER_INPUT",
            Some(&["spanYears"]),
        ),
        (
            json!({ "nominalContactHours": -5 }),
            "BAD_USER_INPUT",
            Some(&["nominalContactHours"]),
        ),
        (
            json!({ "nominalContactHours": 100_000 }),
            "BAD_USER_INPUT",
            Some(&["nominalContactHours"]),
        ),
        (
            json!({ "aplAreaOfStudies": "a".repeat(256) }),
            "BAD_USER_INPUT",
            Some(&["aplAreaOfStudies"]),
        ),
    ];
    refuses(&app, CREATE_COURSE, "createCourse", &base, &cases).await;
    assert_eq!(read_back(&app, "courses", "course-x", true).await, None);
    let response = admin(&app, CREATE_COURSE, base).await;
    let row = written(&response, "createCourse", "course");
    assert_eq!(row["aliases"], json!(["New"]));
    // The same code at another provider is another course.
    let response = admin(
        &app,
        CREATE_COURSE,
        json!({ "courseCode": "APL-TECHBASICS", "title": "Elsewhere",
                "courseKind": "BRIDGING", "providerOrg": UNIVERSITY }),
    )
    .await;
    written(&response, "createCourse", "course");

    // An academic lead may not move its course to another provider.
    let lead = app.token_for("lead-1", &["academicLead"], UNIT);
    let before = counts(&app).await;
    let response = app
        .gql(
            UPDATE_COURSE,
            json!({ "input": { "course": "course-x", "expectedVersion": 1, "providerOrg": UNIVERSITY } }),
            Some(&lead),
        )
        .await;
    assert_eq!(
        response.error_code(),
        Some("FORBIDDEN"),
        "{}",
        response.body
    );
    let response = app
        .gql(
            CREATE_COURSE,
            json!({ "input": { "courseCode": "U-1", "title": "U", "courseKind": "BRIDGING",
                               "providerOrg": UNIVERSITY } }),
            Some(&lead),
        )
        .await;
    assert_eq!(
        response.error_code(),
        Some("FORBIDDEN"),
        "{}",
        response.body
    );
    assert_eq!(counts(&app).await, before);
    let response = app
        .gql(
            UPDATE_COURSE,
            json!({ "input": { "course": "course-x", "expectedVersion": 1, "qfLevel": null,
                               "aliases": null } }),
            Some(&lead),
        )
        .await;
    let row = written(&response, "updateCourse", "course");
    assert_eq!(row["qfLevel"], Value::Null);
    assert_eq!(row["aliases"], json!([]));
    assert_eq!(row["title"], "New course");

    let stale = admin(
        &app,
        UPDATE_COURSE,
        json!({ "course": "course-x", "expectedVersion": 1, "title": "Stale" }),
    )
    .await;
    assert_user_error(&stale, "updateCourse", "VERSION_CONFLICT", None);

    // Delete: the seeded courses are used by stage courses and offerings.
    let response = admin(
        &app,
        DELETE_COURSE,
        json!({ "course": "course-apl", "expectedVersion": 1 }),
    )
    .await;
    assert_user_error(&response, "deleteCourse", "INVALID_TRANSITION", None);
    let response = app
        .gql(
            DELETE_COURSE,
            json!({ "input": { "course": "course-x", "expectedVersion": 2 } }),
            Some(&lead),
        )
        .await;
    written(&response, "deleteCourse", "course");
    assert_eq!(read_back(&app, "courses", "course-x", false).await, None);
    assert_eq!(
        read_back(&app, "courses", "course-x", true).await,
        Some(("TOBEDELETED".to_owned(), 3))
    );
    assert_eq!(
        events_of(&app, "Course", "course-x").await,
        vec![
            ("create".to_owned(), 1),
            ("update".to_owned(), 2),
            ("delete".to_owned(), 3)
        ]
    );
}

#[tokio::test]
async fn pathway_stage_and_stage_course_rules_are_user_errors_and_write_nothing() {
    let app = spawn_app().await;
    let _w = seed_world(&app.db).await;

    // Pathways.
    let base = json!({ "sourcedId": "pw-new", "code": "CLAPTECH-CM", "title": "Creative Media",
                       "track": "ext:fintech", "owningOrg": UNIT, "certifications": ["HD", "HD"] });
    let cases: Vec<(Value, &str, Option<&[&str]>)> = vec![
        (json!({ "code": " " }), "BAD_USER_INPUT", Some(&["code"])),
        (json!({ "code": "CLAPTECH-ICT" }), "DUPLICATE", None),
        (json!({ "title": "" }), "BAD_USER_INPUT", Some(&["title"])),
        (
            json!({ "track": "arts" }),
            "BAD_USER_INPUT",
            Some(&["track"]),
        ),
        (
            json!({ "owningOrg": "org-none" }),
            "BAD_USER_INPUT",
            Some(&["owningOrg"]),
        ),
        (
            json!({ "certifications": [""] }),
            "BAD_USER_INPUT",
            Some(&["certifications", "0"]),
        ),
        (json!({ "sourcedId": "pw-ict" }), "DUPLICATE", None),
    ];
    refuses(&app, CREATE_PATHWAY, "createPathway", &base, &cases).await;
    assert_eq!(read_back(&app, "pathways", "pw-new", true).await, None);
    let response = admin(&app, CREATE_PATHWAY, base).await;
    let row = written(&response, "createPathway", "pathway");
    assert_eq!(row["track"], "EXTENSION");
    assert_eq!(row["trackExtension"], "ext:fintech");
    assert_eq!(row["certifications"], json!(["HD"]));

    // Stages.
    let base = json!({ "sourcedId": "stage-x", "pathway": "pw-new", "seq": 1, "code": "S4",
                       "classLevel": "S4", "level": "SENIOR_SECONDARY", "isEntryPoint": true,
                       "isExitPoint": false });
    let cases: Vec<(Value, &str, Option<&[&str]>)> = vec![
        (
            json!({ "pathway": "pw-none" }),
            "BAD_USER_INPUT",
            Some(&["pathway"]),
        ),
        (json!({ "seq": 0 }), "BAD_USER_INPUT", Some(&["seq"])),
        (json!({ "seq": 100 }), "BAD_USER_INPUT", Some(&["seq"])),
        (json!({ "code": "" }), "BAD_USER_INPUT", Some(&["code"])),
        (
            json!({ "classLevel": " " }),
            "BAD_USER_INPUT",
            Some(&["classLevel"]),
        ),
        (json!({ "pathway": "pw-ict" }), "DUPLICATE", None),
        (json!({ "pathway": "pw-ict", "seq": 9 }), "DUPLICATE", None),
        (
            json!({ "pathway": "pw-ict", "code": "S9" }),
            "DUPLICATE",
            None,
        ),
    ];
    refuses(&app, CREATE_STAGE, "createPathwayStage", &base, &cases).await;
    let response = admin(&app, CREATE_STAGE, base).await;
    let row = written(&response, "createPathwayStage", "pathwayStage");
    assert_eq!(row["level"], "SENIOR_SECONDARY");
    let before = counts(&app).await;
    let response = admin(
        &app,
        UPDATE_STAGE,
        json!({ "pathwayStage": "stage-x", "expectedVersion": 1, "isExitPoint": null }),
    )
    .await;
    assert_user_error(
        &response,
        "updatePathwayStage",
        "BAD_USER_INPUT",
        Some(&["isExitPoint"]),
    );
    assert_eq!(counts(&app).await, before);
    let response = admin(
        &app,
        UPDATE_STAGE,
        json!({ "pathwayStage": "stage-x", "expectedVersion": 1, "isExitPoint": true, "seq": 2 }),
    )
    .await;
    let row = written(&response, "updatePathwayStage", "pathwayStage");
    assert_eq!(
        (
            row["seq"].clone(),
            row["isExitPoint"].clone(),
            row["isEntryPoint"].clone()
        ),
        (json!(2), json!(true), json!(true))
    );

    // Stage courses.
    let base = json!({ "sourcedId": "sc-x", "stage": "stage-x", "course": "course-apl",
                       "requirement": "ELECTIVE" });
    let cases: Vec<(Value, &str, Option<&[&str]>)> = vec![
        (
            json!({ "stage": "stage-none" }),
            "BAD_USER_INPUT",
            Some(&["stage"]),
        ),
        (
            json!({ "course": "course-none" }),
            "BAD_USER_INPUT",
            Some(&["course"]),
        ),
        (json!({ "stage": "stage-s4" }), "DUPLICATE", None),
        (
            json!({ "metadata": { "x": "y".repeat(17_000) } }),
            "BAD_USER_INPUT",
            Some(&["metadata"]),
        ),
    ];
    refuses(
        &app,
        CREATE_STAGE_COURSE,
        "createStageCourse",
        &base,
        &cases,
    )
    .await;
    let response = admin(&app, CREATE_STAGE_COURSE, base).await;
    written(&response, "createStageCourse", "stageCourse");

    // Deletes in use are refused: the pathway has a stage, the stage a stage course; the
    // seeded pathway has cohorts and enrolments, the seeded S4 stage enrolments.
    for (query, name, input) in [
        (
            DELETE_PATHWAY,
            "deletePathway",
            json!({ "pathway": "pw-new", "expectedVersion": 1 }),
        ),
        (
            DELETE_PATHWAY,
            "deletePathway",
            json!({ "pathway": "pw-ict", "expectedVersion": 1 }),
        ),
        (
            DELETE_STAGE,
            "deletePathwayStage",
            json!({ "pathwayStage": "stage-x", "expectedVersion": 2 }),
        ),
    ] {
        let before = counts(&app).await;
        let response = admin(&app, query, input).await;
        assert_user_error(&response, name, "INVALID_TRANSITION", None);
        assert_eq!(counts(&app).await, before);
    }
    // Bottom-up, every delete leaves a tombstone.
    for (query, name, field, input) in [
        (
            DELETE_STAGE_COURSE,
            "deleteStageCourse",
            "stageCourse",
            json!({ "stageCourse": "sc-x", "expectedVersion": 1 }),
        ),
        (
            DELETE_STAGE,
            "deletePathwayStage",
            "pathwayStage",
            json!({ "pathwayStage": "stage-x", "expectedVersion": 2 }),
        ),
        (
            DELETE_PATHWAY,
            "deletePathway",
            "pathway",
            json!({ "pathway": "pw-new", "expectedVersion": 1 }),
        ),
    ] {
        let response = admin(&app, query, input).await;
        assert_eq!(written(&response, name, field)["status"], "TOBEDELETED");
    }
    assert_eq!(
        read_back(&app, "pathways", "pw-new", true).await,
        Some(("TOBEDELETED".to_owned(), 2))
    );
    assert_eq!(read_back(&app, "pathways", "pw-new", false).await, None);
    assert_eq!(
        events_of(&app, "PathwayStage", "stage-x").await,
        vec![
            ("create".to_owned(), 1),
            ("update".to_owned(), 2),
            ("delete".to_owned(), 3)
        ]
    );
    assert_eq!(
        events_of(&app, "StageCourse", "sc-x").await,
        vec![("create".to_owned(), 1), ("delete".to_owned(), 2)]
    );
}

#[tokio::test]
async fn two_concurrent_reparentings_never_make_a_cycle() {
    let app = spawn_app().await;
    let _w = seed_world(&app.db).await;
    for sid in ["org-c1", "org-c2"] {
        let made = admin(
            &app,
            CREATE_ORG,
            json!({ "sourcedId": sid, "nameEn": sid, "orgType": "funder" }),
        )
        .await;
        written(&made, "createOrganization", "organization");
    }
    let token = app.admin_token();
    let reparent = |child: &'static str, parent: &'static str| {
        let app = &app;
        let token = token.clone();
        async move {
            app.gql(
                UPDATE_ORG,
                json!({ "input": { "organization": child, "expectedVersion": 1, "parent": parent } }),
                Some(&token),
            )
            .await
        }
    };
    let (a, b) = tokio::join!(reparent("org-c1", "org-c2"), reparent("org-c2", "org-c1"));
    let mut outcomes: Vec<Vec<(String, Option<Vec<String>>)>> = [&a, &b]
        .iter()
        .map(|r| user_errors(r, "updateOrganization"))
        .collect();
    outcomes.sort();
    assert_eq!(
        outcomes,
        vec![
            vec![],
            vec![(
                "BAD_USER_INPUT".to_owned(),
                Some(vec!["input".to_owned(), "parent".to_owned()])
            )]
        ],
        "{} / {}",
        a.body,
        b.body
    );
    let parents: Vec<Option<i64>> = org::Entity::find()
        .filter(org::Column::SourcedId.is_in(["org-c1", "org-c2"]))
        .all(&app.db)
        .await
        .expect("read")
        .into_iter()
        .map(|o| o.parent_id)
        .collect();
    assert_eq!(
        parents.iter().filter(|p| p.is_some()).count(),
        1,
        "{parents:?}"
    );
}

#[tokio::test]
async fn without_an_expected_version_a_write_applies_to_the_current_version() {
    // Arrange: an organisation updated once already (version 2).
    let app = spawn_app().await;
    let created = admin(
        &app,
        CREATE_ORG,
        json!({ "sourcedId": "org-lww", "nameEn": "Last Writer", "orgType": "industryPartner" }),
    )
    .await;
    assert_eq!(
        written(&created, "createOrganization", "organization")["version"],
        json!(1)
    );
    admin(
        &app,
        UPDATE_ORG,
        json!({ "organization": "org-lww", "expectedVersion": 1, "nameZh": "最後" }),
    )
    .await;

    // Act: an update and a delete that name no version.
    let updated = admin(
        &app,
        UPDATE_ORG,
        json!({ "organization": "org-lww", "nameEn": "Last Writer Wins" }),
    )
    .await;
    let deleted = admin(&app, DELETE_ORG, json!({ "organization": "org-lww" })).await;

    // Assert: both applied on top of the version they found.
    let org = written(&updated, "updateOrganization", "organization");
    assert_eq!(org["version"], json!(3));
    assert_eq!(org["nameEn"], json!("Last Writer Wins"));
    let org = written(&deleted, "deleteOrganization", "organization");
    assert_eq!(org["version"], json!(4));
    assert_eq!(org["status"], json!("TOBEDELETED"));
}
