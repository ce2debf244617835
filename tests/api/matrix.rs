//! The authorization matrix (issue 3 item 8): every principal × every resource × (list,
//! `totalCount`, `nodes` lookup, relation fields, filters), on the access world
//! (`support/access_world.rs`: two schools, two partners, mentorships in every state, consents
//! effective or not).
//!
//! Expectations are computed here, in Rust, from the fixture's rows and the rules of DOMAIN.md
//! sections 4 and 5 (the [`Rules`] below), never from an answer of the server. Each principal is
//! one line of [`PRINCIPALS`], each resource one line of [`RESOURCES`], each relation field one
//! line of [`RELATIONS`]. One application serves the whole matrix (principals are checked
//! concurrently); a test collects every mismatch and fails once, listing them all, each prefixed
//! with the principal. `MATRIX_ONLY=mentor_x,teacher_a` narrows the matrix while debugging.
//!
//! Per resource and principal the matrix asserts:
//! - the list: exactly the visible rows, their reference fields (a person the caller may not see
//!   is `null`), and for people every personal field in the full or minimised view;
//! - `totalCount` of the list and of every filtered list;
//! - filters: `in` every row's key returns the visible rows only; `in` the keys of every invisible
//!   row returns none of them; an `or` with the negation of that (a tautology) still returns the
//!   visible rows only (scoping is its own AND group); a filter on a reference to a person the
//!   caller may not see matches nothing (that person is, to the caller, a missing one);
//! - `includeDeleted: true, changedSince: <long ago>`: still the visible rows only;
//! - `nodes(ids:)` over every row (and one missing id): visible rows resolve, with their
//!   references to people (`null` when the caller may not see the person), every other is `null`,
//!   like the missing one;
//! - relation fields (Person → roleAssignments, guardians, wards, consents, pathwayEnrollments,
//!   courseEnrollments, mentorships, externalIds; Organization → students, roleAssignments,
//!   mentorships) from every person and organisation the caller may see;
//! - minimised students: filtering or sorting on a field the caller reads as null is refused or
//!   reveals nothing;
//! - without a token or without the read scope: `UNAUTHENTICATED` / `FORBIDDEN` on personal data,
//!   and nothing leaks through `nodes`.
//!
//! Two more tests change the world between requests: a consent withdrawn
//! (`withdrawConsentRecord`, by the person who gave it) and a mentorship paused or ended; the
//! very next request follows, and the whole matrix of the partner-side principals is asserted
//! again after each step.
//!
//! Resources or relation fields the schema does not have (yet) are skipped by the principal tests
//! and reported by `every_matrix_resource_is_in_the_schema`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use api::service::clients;
use chrono::Months;
use entity::{STATUS_ACTIVE, person};
use integration_tests::access_world::{
    AccessWorld, seed_access_world, set_mentorship_state, withdraw_consent,
};
use integration_tests::fixtures::{OFFICE, PARTNER_X, PARTNER_Y, SCHOOL_A, UNIT};
use integration_tests::{TestApp, global_id, spawn_app};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Principals

/// Who calls: no token, a person's token (subject, one role, acting org) or an integration
/// client (its org and scopes; the token comes from POST /oauth/token).
#[derive(Clone, Copy, Debug)]
enum Principal {
    Anonymous,
    Person {
        sub: &'static str,
        role: &'static str,
        org: &'static str,
    },
    Client {
        org: &'static str,
        scopes: &'static str,
    },
}

const fn person(sub: &'static str, role: &'static str, org: &'static str) -> Principal {
    Principal::Person { sub, role, org }
}

const fn client(org: &'static str, scopes: &'static str) -> Principal {
    Principal::Client { org, scopes }
}

const PARTNER_COORDINATOR_X: Principal = person("pc-x", "partnerCoordinator", PARTNER_X);
const MENTOR_X: Principal = person("mentor-x", "mentor", PARTNER_X);
const MENTOR_X2: Principal = person("mentor-x2", "mentor", PARTNER_X);
const PARTNER_CLIENT_X: Principal = client(PARTNER_X, "roster.read activities.read");

const PARTNER_COORDINATOR_Y: Principal = person("pc-y", "partnerCoordinator", PARTNER_Y);
const MENTOR_Y: Principal = person("mentor-y", "mentor", PARTNER_Y);

/// Every principal of the matrix: adding a role is one line.
#[rustfmt::skip]
const PRINCIPALS: &[(&str, Principal)] = &[
    ("no_token", Principal::Anonymous),
    ("programme_admin", person("admin-1", "programmeAdmin", OFFICE)),
    ("programme_staff", person("staff-1", "programmeStaff", OFFICE)),
    ("school_coordinator_a", person("crd-a", "schoolCoordinator", SCHOOL_A)),
    ("teacher_a", person("tch-a", "teacher", SCHOOL_A)),
    ("partner_coordinator_x", PARTNER_COORDINATOR_X),
    ("partner_coordinator_y", PARTNER_COORDINATOR_Y),
    ("mentor_x", MENTOR_X),
    ("mentor_x2", MENTOR_X2),
    ("mentor_y", MENTOR_Y),
    ("partner_client_x", PARTNER_CLIENT_X),
    ("school_client_a_with_pii", client(SCHOOL_A, "roster.read activities.read pii.student.read")),
    ("school_client_a_without_pii", client(SCHOOL_A, "roster.read activities.read")),
    ("school_client_a_without_roster_read", client(SCHOOL_A, "curriculum.read")),
    ("student_a0", person("stu-a-01", "student", SCHOOL_A)),
    ("guardian_of_a0", person("grd-a-1", "guardian", SCHOOL_A)),
    ("evaluator", person("eval-1", "evaluator", OFFICE)),
    ("academic_lead", person("lead-1", "academicLead", UNIT)),
];

/// A token for the principal (none without one).
async fn token(app: &TestApp, principal: Principal) -> Option<String> {
    match principal {
        Principal::Anonymous => None,
        Principal::Person { sub, role, org } => Some(app.token_for(sub, &[role], org)),
        Principal::Client { org, scopes } => {
            let issued = clients::create(&app.db, org, scopes, Some("matrix"), "matrix")
                .await
                .expect("create a client");
            let response = app
                .client
                .post(format!("{}/oauth/token", app.address))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", issued.client_id.as_str()),
                    ("client_secret", issued.client_secret.as_str()),
                ])
                .send()
                .await
                .expect("token request");
            let body: Value = response.json().await.expect("token response");
            Some(
                body["access_token"]
                    .as_str()
                    .unwrap_or_else(|| panic!("no access token: {body}"))
                    .to_owned(),
            )
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The rules (DOMAIN.md sections 4 and 5), over the fixture's rows

/// What a principal is, for the rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Anonymous,
    /// An integration client without `roster.read` (or a write scope implying it).
    Unscoped,
    Programme {
        admin: bool,
    },
    /// schoolCoordinator, teacher (`teacher`: their person) or a school's client (`pii`: holds
    /// `pii.student.read`; people always do).
    School {
        school: i64,
        teacher: Option<i64>,
        pii: bool,
    },
    Partner {
        org: i64,
        person: Option<i64>,
    },
    Mentor {
        person: i64,
    },
    /// A student or a guardian.
    SelfService {
        person: i64,
    },
    /// evaluator, academicLead: only themselves.
    NoPersonalData {
        person: i64,
    },
}

fn who(m: &AccessWorld, principal: Principal) -> Who {
    match principal {
        Principal::Anonymous => Who::Anonymous,
        Principal::Person { sub, role, org } => {
            let me = m.person(sub).id;
            let org = m.org(org).id;
            match role {
                "programmeAdmin" => Who::Programme { admin: true },
                "programmeStaff" => Who::Programme { admin: false },
                "schoolCoordinator" => Who::School {
                    school: org,
                    teacher: None,
                    pii: true,
                },
                "teacher" => Who::School {
                    school: org,
                    teacher: Some(me),
                    pii: true,
                },
                "partnerCoordinator" => Who::Partner {
                    org,
                    person: Some(me),
                },
                "mentor" => Who::Mentor { person: me },
                "student" | "guardian" => Who::SelfService { person: me },
                _ => Who::NoPersonalData { person: me },
            }
        }
        Principal::Client { org, scopes } => {
            let has = |scope: &str| scopes.split_whitespace().any(|s| s == scope);
            if !(has("roster.read") || has("roster.write")) {
                return Who::Unscoped;
            }
            let org = m.org(org);
            match org.org_type.as_str() {
                "secondarySchool" => Who::School {
                    school: org.id,
                    teacher: None,
                    pii: has("pii.student.read"),
                },
                "industryPartner" => Who::Partner {
                    org: org.id,
                    person: None,
                },
                other => panic!("no matrix rule for a client of a {other}"),
            }
        }
    }
}

type Ids = BTreeSet<i64>;

const SHARE: &str = "shareWithPartnerMentor";

struct Rules<'a> {
    m: &'a AccessWorld,
    who: Who,
}

impl Rules<'_> {
    fn role_active(&self, ra: &entity::role_assignment::Model) -> bool {
        ra.status == STATUS_ACTIVE
            && ra.begin_date <= self.m.today
            && ra.end_date.is_none_or(|end| end > self.m.today)
    }

    /// People holding an active role at `org` that `role` accepts.
    fn holders(&self, org: i64, role: impl Fn(&str) -> bool) -> Ids {
        self.m
            .role_assignments
            .iter()
            .filter(|ra| ra.org_id == org && self.role_active(ra) && role(&ra.role))
            .map(|ra| ra.person_id)
            .collect()
    }

    fn students_at(&self, org: i64) -> Ids {
        self.holders(org, |r| r == "student")
    }

    fn members_of(&self, org: i64) -> Ids {
        self.holders(org, |_| true)
    }

    fn staff_of(&self, org: i64) -> Ids {
        self.holders(org, |r| r != "student")
    }

    /// Offerings `teacher` teaches.
    fn taught(&self, teacher: i64) -> Ids {
        self.m
            .course_enrollments
            .iter()
            .filter(|ce| {
                ce.person_id == teacher && ce.role == "teacher" && ce.status == STATUS_ACTIVE
            })
            .map(|ce| ce.offering_id)
            .collect()
    }

    /// schoolScope: the students active at the school, or a teacher's students.
    fn school_students(&self, school: i64, teacher: Option<i64>) -> Ids {
        let at = self.students_at(school);
        let Some(teacher) = teacher else {
            return at;
        };
        let offerings = self.taught(teacher);
        self.m
            .course_enrollments
            .iter()
            .filter(|ce| {
                ce.role == "student"
                    && ce.status == STATUS_ACTIVE
                    && offerings.contains(&ce.offering_id)
                    && at.contains(&ce.person_id)
            })
            .map(|ce| ce.person_id)
            .collect()
    }

    fn is_student(&self, person: i64) -> bool {
        self.m
            .role_assignments
            .iter()
            .any(|ra| ra.person_id == person && ra.role == "student" && ra.status == STATUS_ACTIVE)
    }

    fn links(&self) -> impl Iterator<Item = &entity::guardian_link::Model> {
        self.m
            .guardian_links
            .iter()
            .filter(|l| l.status == STATUS_ACTIVE)
    }

    /// Guardians (any active link) of these students.
    fn guardians_of(&self, students: &Ids) -> Ids {
        self.links()
            .filter(|l| students.contains(&l.student_id))
            .map(|l| l.guardian_id)
            .collect()
    }

    /// selfScope: the person and the students they have parental responsibility for.
    fn self_and_wards(&self, person: i64) -> Ids {
        let mut ids: Ids = self
            .links()
            .filter(|l| l.guardian_id == person && l.has_parental_responsibility)
            .map(|l| l.student_id)
            .collect();
        ids.insert(person);
        ids
    }

    fn adult(&self, person: i64) -> bool {
        let cutoff = self
            .m
            .today
            .checked_sub_months(Months::new(18 * 12))
            .expect("a date in range");
        self.m
            .person_by_id(person)
            .date_of_birth
            .is_some_and(|dob| dob <= cutoff)
    }

    /// Effective shareWithPartnerMentor consent for (student, org): an active record from the
    /// student, and for a minor (or an unknown birth date) one from a guardian with parental
    /// responsibility.
    fn effective_consent(&self, student: i64, org: i64) -> bool {
        let active = |c: &&entity::consent_record::Model| {
            c.status == STATUS_ACTIVE
                && c.withdrawn_at.is_none()
                && c.student_id == student
                && c.purpose == SHARE
                && c.scope_org_id == Some(org)
        };
        let consents = || self.m.consents.iter().filter(active);
        let own = consents().any(|c| c.giver_relationship == "self" && c.given_by_id == student);
        own && (self.adult(student)
            || consents().any(|c| {
                c.giver_relationship != "self"
                    && self.links().any(|l| {
                        l.student_id == student
                            && l.guardian_id == c.given_by_id
                            && l.has_parental_responsibility
                    })
            }))
    }

    fn live_mentorships(&self) -> impl Iterator<Item = &entity::mentorship::Model> {
        self.m
            .mentorships
            .iter()
            .filter(|ms| ms.status == STATUS_ACTIVE)
    }

    /// partnerScope's named students: an active or paused mentorship with the partner and
    /// effective consent scoped to it.
    fn partner_named(&self, org: i64) -> Ids {
        self.live_mentorships()
            .filter(|ms| {
                ms.partner_org_id == org && matches!(ms.state.as_str(), "active" | "paused")
            })
            .map(|ms| ms.student_id)
            .filter(|s| self.effective_consent(*s, org))
            .collect()
    }

    /// mentorScope: the students of the mentor's active mentorships with effective consent for
    /// the mentorship's partner.
    fn mentor_named(&self, mentor: i64) -> Ids {
        self.live_mentorships()
            .filter(|ms| ms.mentor_id == mentor && ms.state == "active")
            .filter(|ms| self.effective_consent(ms.student_id, ms.partner_org_id))
            .map(|ms| ms.student_id)
            .collect()
    }

    /// Students with a proposed, active or paused mentorship with the partner: the consent
    /// records (scoped to it) whose existence the partner sees.
    fn partner_related(&self, org: i64) -> Ids {
        self.live_mentorships()
            .filter(|ms| {
                ms.partner_org_id == org
                    && matches!(ms.state.as_str(), "proposed" | "active" | "paused")
            })
            .map(|ms| ms.student_id)
            .collect()
    }

    /// The people the caller may see.
    fn people(&self) -> Ids {
        match self.who {
            Who::Anonymous | Who::Unscoped => Ids::new(),
            Who::Programme { .. } => self.m.people.iter().map(|p| p.id).collect(),
            Who::School {
                school, teacher, ..
            } => {
                let students = self.school_students(school, teacher);
                let mut ids = self.staff_of(school);
                ids.extend(self.guardians_of(&students));
                ids.extend(students);
                ids.extend(teacher);
                ids
            }
            Who::Partner { org, person } => {
                let mut ids = self.members_of(org);
                ids.extend(self.partner_named(org));
                ids.extend(person);
                ids
            }
            Who::Mentor { person } => {
                let mut ids = self.mentor_named(person);
                ids.insert(person);
                ids
            }
            Who::SelfService { person } => {
                let mut ids = self.self_and_wards(person);
                ids.extend(self.guardians_of(&Ids::from([person])));
                ids
            }
            Who::NoPersonalData { person } => Ids::from([person]),
        }
    }

    /// The error code of personal data for this caller, if it gets one.
    fn personal_denial(&self) -> Option<&'static str> {
        match self.who {
            Who::Anonymous => Some("UNAUTHENTICATED"),
            Who::Unscoped => Some("FORBIDDEN"),
            _ => None,
        }
    }

    /// How the caller sees a person it may see; `None`: not asserted.
    fn view(&self, p: &person::Model) -> Option<View> {
        match self.who {
            Who::Programme { admin } => Some(View::Full { birth_date: admin }),
            Who::School { pii: true, .. } => Some(View::Full { birth_date: true }),
            // The rule names students; other people of the school are not asserted.
            Who::School { pii: false, .. } => self.is_student(p.id).then_some(View::Minimised),
            Who::Partner { org, person } => Some(
                if self.members_of(org).contains(&p.id) || person == Some(p.id) {
                    View::Full { birth_date: false }
                } else {
                    View::Minimised
                },
            ),
            Who::Mentor { person } => Some(if person == p.id {
                View::Full { birth_date: false }
            } else {
                View::Minimised
            }),
            Who::SelfService { .. } => Some(View::Full { birth_date: true }),
            Who::NoPersonalData { .. } => Some(View::Full { birth_date: false }),
            Who::Anonymous | Who::Unscoped => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum View {
    Full {
        birth_date: bool,
    },
    /// DOMAIN.md section 5 rule 2: preferred name, school, class level and record fields only.
    Minimised,
}

const PERSON_FIELDS: &str = "status version givenName familyName nameZh preferredName email phone \
                             dateOfBirth enabledUser classLevel expectedHkdseYear metadata \
                             primaryOrg { sourcedId }";

/// A person as the caller should read it (the fields of [`PERSON_FIELDS`] and `sourcedId`).
fn person_json(m: &AccessWorld, p: &person::Model, view: View) -> Value {
    let mut node = json!({
        "sourcedId": p.sourced_id,
        "status": p.status.to_uppercase(),
        "version": p.version,
        "preferredName": p.preferred_name,
        "classLevel": p.class_level,
        "primaryOrg": { "sourcedId": m.org_by_id(p.primary_org_id).sourced_id },
        "givenName": null, "familyName": null, "nameZh": null, "email": null, "phone": null,
        "dateOfBirth": null, "enabledUser": null, "expectedHkdseYear": null, "metadata": null,
    });
    if let View::Full { birth_date } = view {
        let full = json!({
            "givenName": p.given_name, "familyName": p.family_name, "nameZh": p.name_zh,
            "email": p.email, "phone": p.phone, "enabledUser": p.enabled_user,
            "expectedHkdseYear": p.expected_hkdse_year, "metadata": p.metadata,
            "dateOfBirth": if birth_date {
                json!(p.date_of_birth.map(|d| d.format("%Y-%m-%d").to_string()))
            } else {
                Value::Null
            },
        });
        for (key, value) in full.as_object().expect("an object") {
            node[key] = value.clone();
        }
    }
    node
}

// ---------------------------------------------------------------------------------------------
// Resources: one line each

/// Who may read a resource at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// The public catalogue: readable without a token.
    Public,
    /// Programme structure: any token.
    Structure,
    /// Personal data: the rules.
    Personal,
}

/// One fixture row of a resource.
#[derive(Clone, Debug)]
struct Row {
    id: i64,
    sid: String,
    /// The value of the resource's filter field for this row.
    key: String,
    /// References by name: people (`person`, `student`, …) and organisations (`org`,
    /// `primaryOrg`), as internal ids.
    refs: Vec<(&'static str, i64)>,
}

impl Row {
    fn new(id: i64, sid: &str, key: &str) -> Row {
        Row {
            id,
            sid: sid.to_owned(),
            key: key.to_owned(),
            refs: Vec::new(),
        }
    }

    fn with(mut self, name: &'static str, id: i64) -> Row {
        self.refs.push((name, id));
        self
    }

    fn reference(&self, name: &str) -> Option<i64> {
        self.refs
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, id)| *id)
    }
}

struct Resource {
    /// The root list field.
    root: &'static str,
    /// The GraphQL type (global ids).
    type_name: &'static str,
    kind: Kind,
    /// Person reference fields selected as `<field> { sourcedId }`.
    person_refs: &'static [&'static str],
    /// The filter field the rows' `key` is matched with (`in`).
    filter: &'static str,
    /// Whether rows are people (then every personal field is asserted).
    people: bool,
    /// Whether `nodes(ids:)` is asserted with this resource's visibility (not for `students`:
    /// a Person node is visible as one of `people`).
    nodes: bool,
    rows: fn(&AccessWorld) -> Vec<Row>,
    /// Internal ids of the rows the caller may see (only asked for callers not denied).
    visible: fn(&Rules<'_>) -> Ids,
}

#[rustfmt::skip]
const RESOURCES: &[Resource] = &[
    Resource { root: "organizations", type_name: "Organization", kind: Kind::Public, person_refs: &[], filter: "sourcedId", people: false, nodes: true, rows: org_rows, visible: every_org },
    Resource { root: "pathways", type_name: "Pathway", kind: Kind::Public, person_refs: &[], filter: "sourcedId", people: false, nodes: true, rows: pathway_rows, visible: every_pathway },
    Resource { root: "courses", type_name: "Course", kind: Kind::Public, person_refs: &[], filter: "sourcedId", people: false, nodes: true, rows: course_rows, visible: every_course },
    Resource { root: "courseOfferings", type_name: "CourseOffering", kind: Kind::Structure, person_refs: &[], filter: "sourcedId", people: false, nodes: true, rows: offering_rows, visible: every_offering },
    Resource { root: "people", type_name: "Person", kind: Kind::Personal, person_refs: &[], filter: "sourcedId", people: true, nodes: true, rows: person_rows, visible: visible_people },
    Resource { root: "students", type_name: "Person", kind: Kind::Personal, person_refs: &[], filter: "sourcedId", people: true, nodes: false, rows: person_rows, visible: visible_students },
    Resource { root: "roleAssignments", type_name: "RoleAssignment", kind: Kind::Personal, person_refs: &["person"], filter: "person", people: false, nodes: true, rows: role_rows, visible: visible_roles },
    Resource { root: "guardianLinks", type_name: "GuardianLink", kind: Kind::Personal, person_refs: &["student", "guardian"], filter: "student", people: false, nodes: true, rows: link_rows, visible: visible_links },
    Resource { root: "externalIds", type_name: "ExternalId", kind: Kind::Personal, person_refs: &[], filter: "identifier", people: false, nodes: true, rows: external_id_rows, visible: visible_external_ids },
    Resource { root: "consentRecords", type_name: "ConsentRecord", kind: Kind::Personal, person_refs: &["student", "givenBy"], filter: "student", people: false, nodes: true, rows: consent_rows, visible: visible_consents },
    Resource { root: "pathwayEnrollments", type_name: "PathwayEnrollment", kind: Kind::Personal, person_refs: &["student"], filter: "sourcedId", people: false, nodes: true, rows: pathway_enrollment_rows, visible: visible_pathway_enrollments },
    Resource { root: "courseEnrollments", type_name: "CourseEnrollment", kind: Kind::Personal, person_refs: &["person"], filter: "sourcedId", people: false, nodes: true, rows: course_enrollment_rows, visible: visible_course_enrollments },
    Resource { root: "mentorships", type_name: "Mentorship", kind: Kind::Personal, person_refs: &["student", "mentor"], filter: "student", people: false, nodes: true, rows: mentorship_rows, visible: visible_mentorships },
];

fn resource(root: &str) -> &'static Resource {
    RESOURCES
        .iter()
        .find(|r| r.root == root)
        .unwrap_or_else(|| panic!("no resource {root}"))
}

/// A relation field: `parent.field` lists the child resource's rows whose reference `via` is
/// the parent, within what the caller may see.
struct Relation {
    parent: &'static str,
    field: &'static str,
    child: &'static str,
    via: &'static str,
}

#[rustfmt::skip]
const RELATIONS: &[Relation] = &[
    Relation { parent: "Person", field: "roleAssignments", child: "roleAssignments", via: "person" },
    Relation { parent: "Person", field: "guardians", child: "guardianLinks", via: "student" },
    Relation { parent: "Person", field: "wards", child: "guardianLinks", via: "guardian" },
    Relation { parent: "Person", field: "consents", child: "consentRecords", via: "student" },
    Relation { parent: "Person", field: "pathwayEnrollments", child: "pathwayEnrollments", via: "student" },
    Relation { parent: "Person", field: "courseEnrollments", child: "courseEnrollments", via: "person" },
    Relation { parent: "Person", field: "externalIds", child: "externalIds", via: "entity" },
    Relation { parent: "Organization", field: "students", child: "students", via: "primaryOrg" },
    Relation { parent: "Person", field: "mentorships", child: "mentorships", via: "student" },
    Relation { parent: "Organization", field: "roleAssignments", child: "roleAssignments", via: "org" },
    Relation { parent: "Organization", field: "mentorships", child: "mentorships", via: "partnerOrg" },
];

fn org_rows(m: &AccessWorld) -> Vec<Row> {
    m.orgs
        .iter()
        .map(|o| Row::new(o.id, &o.sourced_id, &o.sourced_id))
        .collect()
}

fn pathway_rows(m: &AccessWorld) -> Vec<Row> {
    m.pathways
        .iter()
        .map(|p| Row::new(p.id, &p.sourced_id, &p.sourced_id))
        .collect()
}

fn course_rows(m: &AccessWorld) -> Vec<Row> {
    m.courses
        .iter()
        .map(|c| Row::new(c.id, &c.sourced_id, &c.sourced_id))
        .collect()
}

fn offering_rows(m: &AccessWorld) -> Vec<Row> {
    m.offerings
        .iter()
        .map(|o| Row::new(o.id, &o.sourced_id, &o.sourced_id))
        .collect()
}

fn person_rows(m: &AccessWorld) -> Vec<Row> {
    m.people
        .iter()
        .map(|p| Row::new(p.id, &p.sourced_id, &p.sourced_id).with("primaryOrg", p.primary_org_id))
        .collect()
}

fn role_rows(m: &AccessWorld) -> Vec<Row> {
    m.role_assignments
        .iter()
        .map(|ra| {
            Row::new(
                ra.id,
                &ra.sourced_id,
                &m.person_by_id(ra.person_id).sourced_id,
            )
            .with("person", ra.person_id)
            .with("org", ra.org_id)
        })
        .collect()
}

fn link_rows(m: &AccessWorld) -> Vec<Row> {
    m.guardian_links
        .iter()
        .map(|l| {
            Row::new(
                l.id,
                &l.sourced_id,
                &m.person_by_id(l.student_id).sourced_id,
            )
            .with("student", l.student_id)
            .with("guardian", l.guardian_id)
        })
        .collect()
}

fn external_id_rows(m: &AccessWorld) -> Vec<Row> {
    m.external_ids
        .iter()
        .map(|x| {
            let row = Row::new(x.id, &x.sourced_id, &x.identifier);
            if x.entity_type == "Person" {
                row.with("entity", x.entity_id)
            } else {
                row
            }
        })
        .collect()
}

fn consent_rows(m: &AccessWorld) -> Vec<Row> {
    m.consents
        .iter()
        .map(|c| {
            Row::new(
                c.id,
                &c.sourced_id,
                &m.person_by_id(c.student_id).sourced_id,
            )
            .with("student", c.student_id)
            .with("givenBy", c.given_by_id)
        })
        .collect()
}

fn pathway_enrollment_rows(m: &AccessWorld) -> Vec<Row> {
    m.pathway_enrollments
        .iter()
        .map(|pe| Row::new(pe.id, &pe.sourced_id, &pe.sourced_id).with("student", pe.student_id))
        .collect()
}

fn course_enrollment_rows(m: &AccessWorld) -> Vec<Row> {
    m.course_enrollments
        .iter()
        .map(|ce| Row::new(ce.id, &ce.sourced_id, &ce.sourced_id).with("person", ce.person_id))
        .collect()
}

fn mentorship_rows(m: &AccessWorld) -> Vec<Row> {
    m.mentorships
        .iter()
        .map(|ms| {
            Row::new(
                ms.id,
                &ms.sourced_id,
                &m.person_by_id(ms.student_id).sourced_id,
            )
            .with("student", ms.student_id)
            .with("mentor", ms.mentor_id)
            .with("partnerOrg", ms.partner_org_id)
        })
        .collect()
}

fn every_org(r: &Rules<'_>) -> Ids {
    r.m.orgs.iter().map(|o| o.id).collect()
}

fn every_pathway(r: &Rules<'_>) -> Ids {
    r.m.pathways.iter().map(|p| p.id).collect()
}

fn every_course(r: &Rules<'_>) -> Ids {
    r.m.courses.iter().map(|c| c.id).collect()
}

fn every_offering(r: &Rules<'_>) -> Ids {
    r.m.offerings.iter().map(|o| o.id).collect()
}

fn visible_people(r: &Rules<'_>) -> Ids {
    r.people()
}

fn visible_students(r: &Rules<'_>) -> Ids {
    r.people()
        .into_iter()
        .filter(|p| r.is_student(*p))
        .collect()
}

fn visible_roles(r: &Rules<'_>) -> Ids {
    let rows = &r.m.role_assignments;
    let pick = |keep: &dyn Fn(&entity::role_assignment::Model) -> bool| -> Ids {
        rows.iter().filter(|ra| keep(ra)).map(|ra| ra.id).collect()
    };
    match r.who {
        Who::Programme { .. } => pick(&|_| true),
        Who::School {
            school,
            teacher: None,
            ..
        } => pick(&|ra| ra.org_id == school),
        Who::School {
            school,
            teacher: Some(t),
            ..
        } => {
            let taught = r.school_students(school, Some(t));
            pick(&|ra| {
                ra.org_id == school && (ra.role != "student" || taught.contains(&ra.person_id))
            })
        }
        Who::Partner { org, .. } => pick(&|ra| ra.org_id == org),
        Who::Mentor { person } | Who::NoPersonalData { person } => {
            pick(&|ra| ra.person_id == person)
        }
        Who::SelfService { person } => {
            let own = r.self_and_wards(person);
            pick(&|ra| own.contains(&ra.person_id))
        }
        Who::Anonymous | Who::Unscoped => Ids::new(),
    }
}

fn visible_links(r: &Rules<'_>) -> Ids {
    let rows = &r.m.guardian_links;
    let pick = |keep: &dyn Fn(&entity::guardian_link::Model) -> bool| -> Ids {
        rows.iter().filter(|l| keep(l)).map(|l| l.id).collect()
    };
    match r.who {
        Who::Programme { .. } => pick(&|_| true),
        Who::School {
            school, teacher, ..
        } => {
            let students = r.school_students(school, teacher);
            pick(&|l| students.contains(&l.student_id))
        }
        // Their own links: as the student, or as the guardian (with or without parental
        // responsibility; the student of a link without it stays invisible).
        Who::SelfService { person } => pick(&|l| l.student_id == person || l.guardian_id == person),
        _ => Ids::new(),
    }
}

fn visible_external_ids(r: &Rules<'_>) -> Ids {
    let rows = &r.m.external_ids;
    let pick = |keep: &dyn Fn(&entity::external_id::Model) -> bool| -> Ids {
        rows.iter().filter(|x| keep(x)).map(|x| x.id).collect()
    };
    match r.who {
        Who::Programme { .. } => pick(&|_| true),
        Who::School {
            school,
            teacher: None,
            ..
        } => pick(&|x| x.scope_org_id == school),
        Who::School {
            school,
            teacher: Some(_),
            ..
        } => {
            let people = r.people();
            pick(&|x| {
                x.scope_org_id == school
                    && (x.entity_type != "Person" || people.contains(&x.entity_id))
            })
        }
        // A partner's own keys of its own people; never a student's.
        Who::Partner { org, .. } => {
            let members = r.members_of(org);
            pick(&|x| {
                x.scope_org_id == org
                    && (x.entity_type != "Person" || members.contains(&x.entity_id))
            })
        }
        _ => Ids::new(),
    }
}

fn visible_consents(r: &Rules<'_>) -> Ids {
    let rows = &r.m.consents;
    let pick = |keep: &dyn Fn(&entity::consent_record::Model) -> bool| -> Ids {
        rows.iter().filter(|c| keep(c)).map(|c| c.id).collect()
    };
    match r.who {
        Who::Programme { .. } => pick(&|_| true),
        Who::School {
            school, teacher, ..
        } => {
            let students = r.school_students(school, teacher);
            pick(&|c| students.contains(&c.student_id))
        }
        Who::Partner { org, .. } => {
            let related = r.partner_related(org);
            pick(&|c| c.scope_org_id == Some(org) && related.contains(&c.student_id))
        }
        Who::SelfService { person } => {
            let own = r.self_and_wards(person);
            pick(&|c| own.contains(&c.student_id))
        }
        _ => Ids::new(),
    }
}

fn visible_pathway_enrollments(r: &Rules<'_>) -> Ids {
    let rows = &r.m.pathway_enrollments;
    let pick = |keep: &dyn Fn(&entity::pathway_enrollment::Model) -> bool| -> Ids {
        rows.iter().filter(|pe| keep(pe)).map(|pe| pe.id).collect()
    };
    match r.who {
        Who::Programme { .. } => pick(&|_| true),
        Who::School {
            school, teacher, ..
        } => {
            let students = r.school_students(school, teacher);
            pick(&|pe| students.contains(&pe.student_id))
        }
        Who::SelfService { person } => {
            let own = r.self_and_wards(person);
            pick(&|pe| own.contains(&pe.student_id))
        }
        _ => Ids::new(),
    }
}

fn visible_course_enrollments(r: &Rules<'_>) -> Ids {
    let rows = &r.m.course_enrollments;
    let pick = |keep: &dyn Fn(&entity::course_enrollment::Model) -> bool| -> Ids {
        rows.iter().filter(|ce| keep(ce)).map(|ce| ce.id).collect()
    };
    match r.who {
        Who::Programme { .. } => pick(&|_| true),
        // The school's enrolments of people active there; a teacher only those of the
        // offerings they teach.
        Who::School {
            school, teacher, ..
        } => {
            let members = r.members_of(school);
            let taught = teacher.map(|t| r.taught(t));
            pick(&|ce| {
                ce.school_org_id == school
                    && members.contains(&ce.person_id)
                    && taught.as_ref().is_none_or(|o| o.contains(&ce.offering_id))
            })
        }
        Who::SelfService { person } => {
            let own = r.self_and_wards(person);
            pick(&|ce| own.contains(&ce.person_id))
        }
        _ => Ids::new(),
    }
}

fn visible_mentorships(r: &Rules<'_>) -> Ids {
    let rows = &r.m.mentorships;
    let pick = |keep: &dyn Fn(&entity::mentorship::Model) -> bool| -> Ids {
        rows.iter().filter(|ms| keep(ms)).map(|ms| ms.id).collect()
    };
    match r.who {
        Who::Programme { .. } => pick(&|_| true),
        Who::School {
            school, teacher, ..
        } => {
            let students = r.school_students(school, teacher);
            pick(&|ms| students.contains(&ms.student_id))
        }
        Who::Partner { org, .. } => pick(&|ms| ms.partner_org_id == org),
        Who::Mentor { person } => pick(&|ms| ms.mentor_id == person),
        Who::SelfService { person } => {
            let own = r.self_and_wards(person);
            pick(&|ms| own.contains(&ms.student_id))
        }
        _ => Ids::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// The schema as the server has it now

struct Schema {
    roots: BTreeSet<String>,
    node_types: BTreeSet<String>,
    /// Fields and input fields by type name.
    fields: BTreeMap<String, BTreeSet<String>>,
}

impl Schema {
    async fn fetch(app: &TestApp) -> Schema {
        let response = app
            .gql(
                "{ __schema { queryType { fields { name } } \
                   types { name fields { name } inputFields { name } } } \
                   node: __type(name: \"Node\") { possibleTypes { name } } }",
                json!({}),
                None,
            )
            .await;
        let data = response.data();
        let names = |list: &Value| -> BTreeSet<String> {
            list.as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|f| f["name"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut fields = BTreeMap::new();
        for t in data["__schema"]["types"].as_array().expect("types") {
            let mut set = names(&t["fields"]);
            set.extend(names(&t["inputFields"]));
            fields.insert(t["name"].as_str().expect("a type name").to_owned(), set);
        }
        Schema {
            roots: names(&data["__schema"]["queryType"]["fields"]),
            node_types: names(&data["node"]["possibleTypes"]),
            fields,
        }
    }

    fn has(&self, type_name: &str, field: &str) -> bool {
        self.fields
            .get(type_name)
            .is_some_and(|fields| fields.contains(field))
    }

    fn filter(&self, r: &Resource) -> bool {
        self.has(&format!("{}Filter", r.type_name), r.filter)
    }
}

// ---------------------------------------------------------------------------------------------
// Collecting mismatches

struct Report {
    checks: usize,
    failures: Vec<String>,
    skipped: BTreeSet<String>,
}

impl Report {
    fn new() -> Report {
        Report {
            checks: 0,
            failures: Vec::new(),
            skipped: BTreeSet::new(),
        }
    }

    fn check(&mut self, ok: bool, failure: impl FnOnce() -> String) {
        self.checks += 1;
        if !ok {
            self.failures.push(failure());
        }
    }

    fn same_json(&mut self, what: &str, expected: &Value, got: &Value) {
        self.check(expected == got, || {
            format!("{what}: expected {expected}, got {got}")
        });
    }

    fn same_ids(&mut self, what: &str, expected: &[String], got: &[String]) {
        let mut expected = expected.to_vec();
        let mut got = got.to_vec();
        expected.sort();
        got.sort();
        self.check(expected == got, || {
            let missing: Vec<&String> = expected.iter().filter(|s| !got.contains(s)).collect();
            let unexpected: Vec<&String> = got.iter().filter(|s| !expected.contains(s)).collect();
            format!(
                "{what}: missing {missing:?}, unexpected {unexpected:?} (expected {} rows, got {})",
                expected.len(),
                got.len()
            )
        });
    }

    fn finish(self, name: &str) {
        eprintln!(
            "matrix {name}: {} assertions, {} failures{}",
            self.checks,
            self.failures.len(),
            if self.skipped.is_empty() {
                String::new()
            } else {
                format!(", skipped (not in the schema): {:?}", self.skipped)
            }
        );
        assert!(
            self.failures.is_empty(),
            "{name}: {} of {} assertions failed:\n  {}",
            self.failures.len(),
            self.checks,
            self.failures.join("\n  ")
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Checking one principal

/// A GraphQL list literal of strings.
fn lit(values: &[String]) -> String {
    serde_json::to_string(values).expect("strings serialise")
}

/// `edges[*].node` of a connection, by sourcedId.
fn edge_nodes(connection: &Value) -> Vec<Value> {
    connection["edges"]
        .as_array()
        .map(|edges| edges.iter().map(|e| e["node"].clone()).collect())
        .unwrap_or_default()
}

fn sids_of(nodes: &[Value]) -> Vec<String> {
    nodes
        .iter()
        .map(|n| {
            n["sourcedId"]
                .as_str()
                .unwrap_or("<no sourcedId>")
                .to_owned()
        })
        .collect()
}

fn unique(mut values: Vec<String>) -> Vec<String> {
    values.sort();
    values.dedup();
    values
}

const MISSING: &str = "matrix-missing";

struct Caller {
    app: Arc<TestApp>,
    token: Option<String>,
    name: String,
}

impl Caller {
    async fn gql(&self, query: &str) -> integration_tests::GqlResponse {
        self.app.gql(query, json!({}), self.token.as_deref()).await
    }
}

/// Resources checked in one request (aliases `<root>_list`, `_all`, `_hidden`, `_widen`,
/// `_unseen`, `_delta`, `_nodes`: at most 28, under the alias limit of 30).
const RESOURCES_PER_REQUEST: usize = 4;

/// `changedSince` long before the fixture: every row changed since.
const LONG_AGO: &str = "2000-01-01T00:00:00Z";

async fn check_principal(
    caller: &Caller,
    m: &AccessWorld,
    schema: &Schema,
    who: Who,
    report: &mut Report,
) {
    let rules = Rules { m, who };
    let mut plans = Vec::new();
    for r in RESOURCES {
        let denial = match r.kind {
            Kind::Public => None,
            Kind::Structure => (who == Who::Anonymous).then_some("UNAUTHENTICATED"),
            Kind::Personal => rules.personal_denial(),
        };
        match denial {
            Some(code) => check_denied(caller, m, schema, r, code, report).await,
            None => plans.extend(Plan::new(&rules, schema, r, report)),
        }
    }
    for chunk in plans.chunks(RESOURCES_PER_REQUEST) {
        let query = format!(
            "{{ {} }}",
            chunk.iter().map(Plan::query).collect::<Vec<_>>().join(" ")
        );
        let response = caller.gql(&query).await;
        if !response.errors().is_empty() {
            let roots: Vec<&str> = chunk.iter().map(|p| p.r.root).collect();
            report.check(false, || {
                format!(
                    "{} {roots:?}: unexpected errors {}",
                    caller.name, response.body["errors"]
                )
            });
            continue;
        }
        for plan in chunk {
            plan.check(&caller.name, &rules, &response.body["data"], report);
        }
    }
    match rules.personal_denial() {
        Some(code) => check_denied_relations(caller, m, schema, code, report).await,
        None => {
            check_relations(caller, &rules, schema, report).await;
            check_minimised_oracles(caller, &rules, report).await;
        }
    }
}

/// The value of a person's field as a GraphQL literal, when it has one.
type FieldValue = fn(&person::Model) -> Option<Value>;

/// A field the caller reads as null must not be readable another way: filtering or sorting
/// students on a minimised field (DOMAIN.md section 5 rule 2) must not single out, or order, the
/// students it hides. Refusing the argument (`BAD_USER_INPUT`, `FORBIDDEN`) is fine.
async fn check_minimised_oracles(caller: &Caller, rules: &Rules<'_>, report: &mut Report) {
    let m = rules.m;
    let name = &caller.name;
    let minimised: Vec<&person::Model> = visible_students(rules)
        .into_iter()
        .map(|id| m.person_by_id(id))
        .filter(|p| rules.view(p) == Some(View::Minimised))
        .collect();
    let refused = |response: &integration_tests::GqlResponse| {
        matches!(response.error_code(), Some("BAD_USER_INPUT" | "FORBIDDEN"))
    };
    // One request per field, so that refusing one field cannot hide an answer on another.
    let fields: [(&str, FieldValue); 5] = [
        ("givenName", |p| Some(json!(p.given_name))),
        ("familyName", |p| Some(json!(p.family_name))),
        ("enabledUser", |p| Some(json!(p.enabled_user))),
        ("email", |p| p.email.as_ref().map(|e| json!(e))),
        ("expectedHkdseYear", |p| {
            p.expected_hkdse_year.map(|y| json!(y))
        }),
    ];
    for (field, value_of) in fields {
        let probes: Vec<(&person::Model, Value)> = minimised
            .iter()
            .filter_map(|p| value_of(p).map(|v| (*p, v)))
            .take(20)
            .collect();
        if probes.is_empty() {
            continue;
        }
        let query = format!(
            "{{ {} }}",
            probes
                .iter()
                .enumerate()
                .map(|(i, (_, value))| format!(
                    "o{i}: students(first: 100, filter: {{ {field}: {{ eq: {value} }} }}) {{ edges {{ node {{ sourcedId }} }} }}"
                ))
                .collect::<Vec<_>>()
                .join(" ")
        );
        let response = caller.gql(&query).await;
        if !response.errors().is_empty() {
            let errors = response.errors();
            let codes: BTreeSet<Option<&str>> = errors
                .iter()
                .map(|e| e["extensions"]["code"].as_str())
                .collect();
            let all_refused = codes
                .iter()
                .all(|code| matches!(code, Some("BAD_USER_INPUT" | "FORBIDDEN")));
            report.check(all_refused, || {
                format!(
                    "{name} students(filter: {{ {field}: … }}): unexpected errors {}",
                    response.body["errors"]
                )
            });
            continue;
        }
        for (i, (p, value)) in probes.iter().enumerate() {
            let got = sids_of(&edge_nodes(&response.body["data"][format!("o{i}")]));
            report.check(!got.contains(&p.sourced_id), || {
                format!(
                    "{name} students(filter: {{ {field}: {{ eq: {value} }} }}) singles out minimised {} (got {got:?})",
                    p.sourced_id
                )
            });
        }
    }
    for (field, order, key) in [
        (
            "familyName",
            "FAMILY_NAME",
            (|p: &person::Model| p.family_name.clone()) as fn(&person::Model) -> String,
        ),
        ("givenName", "GIVEN_NAME", |p: &person::Model| {
            p.given_name.clone()
        }),
    ] {
        let mut by_id = minimised.clone();
        by_id.sort_by_key(|p| p.id);
        let mut true_order = by_id.clone();
        true_order.sort_by_key(|p| (key(p), p.id));
        let true_order: Vec<String> = true_order.iter().map(|p| p.sourced_id.clone()).collect();
        let by_id: Vec<String> = by_id.iter().map(|p| p.sourced_id.clone()).collect();
        if minimised.len() < 2 || true_order == by_id {
            continue;
        }
        let response = caller
            .gql(&format!(
                "{{ students(first: 100, orderBy: [{{ field: {order}, direction: ASC }}]) {{ edges {{ node {{ sourcedId }} }} }} }}"
            ))
            .await;
        if !response.errors().is_empty() {
            report.check(refused(&response), || {
                format!(
                    "{name} students(orderBy: {order}): unexpected errors {}",
                    response.body["errors"]
                )
            });
            continue;
        }
        let got: Vec<String> = sids_of(&edge_nodes(&response.body["data"]["students"]))
            .into_iter()
            .filter(|sid| true_order.contains(sid))
            .collect();
        report.check(got != true_order, || {
            format!(
                "{name} students(orderBy: {order}) sorts minimised students by their hidden {field}: {got:?}"
            )
        });
    }
}

/// The list, counts, filters and node lookups of one resource for a caller who may read it:
/// its part of a query, and the checks of the answer.
struct Plan<'r> {
    r: &'r Resource,
    rows: Vec<Row>,
    visible: Ids,
    all_keys: Vec<String>,
    hidden_keys: Vec<String>,
    /// When the filter field is a reference to a person: the people the caller may not see.
    unseen_keys: Option<Vec<String>>,
    gids: Vec<String>,
    with_list: bool,
    with_filter: bool,
    with_nodes: bool,
}

impl<'r> Plan<'r> {
    fn new(
        rules: &Rules<'_>,
        schema: &Schema,
        r: &'r Resource,
        report: &mut Report,
    ) -> Option<Self> {
        let with_list = schema.roots.contains(r.root);
        let with_filter = with_list && schema.filter(r);
        let with_nodes = r.nodes && schema.node_types.contains(r.type_name);
        if !with_list {
            report.skipped.insert(format!("Query.{}", r.root));
        }
        if r.nodes && !with_nodes {
            report.skipped.insert(format!("Node on {}", r.type_name));
        }
        if with_list && !with_filter {
            report
                .skipped
                .insert(format!("{}Filter.{}", r.type_name, r.filter));
        }
        if !with_list && !with_nodes {
            return None;
        }
        let rows = (r.rows)(rules.m);
        let visible = (r.visible)(rules);
        let all_keys = unique(rows.iter().map(|row| row.key.clone()).collect());
        let mut hidden_keys = unique(
            rows.iter()
                .filter(|row| !visible.contains(&row.id))
                .map(|row| row.key.clone())
                .collect(),
        );
        hidden_keys.push(MISSING.to_owned());
        let people = rules.people();
        let unseen_keys = r.person_refs.contains(&r.filter).then(|| {
            let mut keys: Vec<String> = rules
                .m
                .people
                .iter()
                .filter(|p| !people.contains(&p.id))
                .map(|p| p.sourced_id.clone())
                .collect();
            keys.push(MISSING.to_owned());
            keys
        });
        let gids: Vec<String> = rows
            .iter()
            .map(|row| global_id(r.type_name, &row.sid))
            .chain([global_id(r.type_name, MISSING)])
            .collect();
        assert!(
            gids.len() <= 100,
            "{}: too many ids for one nodes()",
            r.root
        );
        Some(Plan {
            r,
            rows,
            visible,
            all_keys,
            hidden_keys,
            unseen_keys,
            gids,
            with_list,
            with_filter,
            with_nodes,
        })
    }

    fn query(&self) -> String {
        let r = self.r;
        let root = r.root;
        let key = r.filter;
        let mut selection = String::from("sourcedId");
        for field in r.person_refs {
            selection.push_str(&format!(" {field} {{ sourcedId }}"));
        }
        if r.people {
            selection.push(' ');
            selection.push_str(PERSON_FIELDS);
        }
        let connection = |alias: &str, filter: Option<String>, selection: &str| {
            let filter = filter.map(|f| format!(", filter: {f}")).unwrap_or_default();
            format!(
                "{root}_{alias}: {root}(first: 100{filter}) {{ totalCount edges {{ node {{ {selection} }} }} }}"
            )
        };
        let mut query = Vec::new();
        if self.with_list {
            query.push(connection("list", None, &selection));
        }
        if self.with_filter {
            let hidden = format!("{{ {key}: {{ in: {} }} }}", lit(&self.hidden_keys));
            query.push(connection(
                "all",
                Some(format!("{{ {key}: {{ in: {} }} }}", lit(&self.all_keys))),
                "sourcedId",
            ));
            query.push(connection("hidden", Some(hidden.clone()), "sourcedId"));
            query.push(connection(
                "widen",
                Some(format!("{{ or: [{hidden}, {{ not: {hidden} }}] }}")),
                "sourcedId",
            ));
            if let Some(unseen) = &self.unseen_keys {
                query.push(connection(
                    "unseen",
                    Some(format!("{{ {key}: {{ in: {} }} }}", lit(unseen))),
                    "sourcedId",
                ));
            }
        }
        if self.with_list {
            let list = connection("list", None, "sourcedId");
            query.push(list.replacen(
                &format!("{root}_list: {root}(first: 100"),
                &format!(
                    "{root}_delta: {root}(first: 100, includeDeleted: true, changedSince: \"{LONG_AGO}\""
                ),
                1,
            ));
        }
        if self.with_nodes {
            let refs: Vec<String> = r
                .person_refs
                .iter()
                .map(|field| format!("{field} {{ sourcedId }}"))
                .collect();
            let refs = if refs.is_empty() {
                String::new()
            } else {
                format!(" ... on {} {{ {} }}", r.type_name, refs.join(" "))
            };
            query.push(format!(
                "{root}_nodes: nodes(ids: {}) {{ id{refs} }}",
                lit(&self.gids)
            ));
        }
        query.join(" ")
    }

    fn check(&self, name: &str, rules: &Rules<'_>, data: &Value, report: &mut Report) {
        let r = self.r;
        let m = rules.m;
        let root = r.root;
        let key = r.filter;
        let people = rules.people();
        let is_visible = |row: &Row| self.visible.contains(&row.id);

        // The list and its count.
        let expected_rows: Vec<&Row> = self.rows.iter().filter(|row| is_visible(row)).collect();
        let expected_sids: Vec<String> = expected_rows.iter().map(|row| row.sid.clone()).collect();
        if self.with_list {
            let list = &data[format!("{root}_list")];
            let got = edge_nodes(list);
            report.same_ids(
                &format!("{name} {root} list"),
                &expected_sids,
                &sids_of(&got),
            );
            report.same_json(
                &format!("{name} {root} totalCount"),
                &json!(expected_sids.len()),
                &list["totalCount"],
            );

            // Every visible row as the caller should read it.
            for row in &expected_rows {
                let Some(node) = got.iter().find(|n| n["sourcedId"] == row.sid.as_str()) else {
                    continue;
                };
                for field in r.person_refs {
                    let target = row.reference(field).expect("a reference of the row");
                    let expected = if people.contains(&target) {
                        json!({ "sourcedId": m.person_by_id(target).sourced_id })
                    } else {
                        Value::Null
                    };
                    report.same_json(
                        &format!("{name} {root} {}.{field}", row.sid),
                        &expected,
                        &node[*field],
                    );
                }
                if r.people {
                    let p = m.person_by_id(row.id);
                    if let Some(view) = rules.view(p) {
                        report.same_json(
                            &format!("{name} {root} {} fields ({view:?})", row.sid),
                            &person_json(m, p, view),
                            node,
                        );
                    }
                }
            }
        }

        // Tombstones and deltas: never wider than the scope either (the fixture has no
        // tombstones, so the visible rows exactly).
        if self.with_list {
            let delta = &data[format!("{root}_delta")];
            let label = format!("{root}(includeDeleted: true, changedSince: {LONG_AGO})");
            report.same_ids(
                &format!("{name} {label}"),
                &expected_sids,
                &sids_of(&edge_nodes(delta)),
            );
            report.same_json(
                &format!("{name} {label} totalCount"),
                &json!(expected_sids.len()),
                &delta["totalCount"],
            );
        }

        // Filters: never wider than the scope. When the filter field is a reference to a
        // person, a person the caller may not see is, to it, no person at all (API.md section 2:
        // indistinguishable from a missing one), so a row whose reference it may not see matches
        // no `in` list.
        if self.with_filter {
            let key_seen = |row: &&&Row| {
                self.unseen_keys.is_none()
                    || row
                        .reference(key)
                        .is_some_and(|person| people.contains(&person))
            };
            let hidden: BTreeSet<&String> = self.hidden_keys.iter().collect();
            let matching_all: Vec<String> = expected_rows
                .iter()
                .filter(key_seen)
                .map(|row| row.sid.clone())
                .collect();
            let matching_hidden: Vec<String> = expected_rows
                .iter()
                .filter(key_seen)
                .filter(|row| hidden.contains(&row.key))
                .map(|row| row.sid.clone())
                .collect();
            let mut cases = vec![
                ("all", matching_all.clone(), format!("{key} in [every row]")),
                (
                    "hidden",
                    matching_hidden,
                    format!("{key} in [invisible rows]"),
                ),
            ];
            if self.unseen_keys.is_some() {
                cases.push((
                    "unseen",
                    Vec::new(),
                    format!("{key} in [people the caller may not see]"),
                ));
            } else {
                cases.push((
                    "widen",
                    expected_sids.clone(),
                    format!("or: [{key} in [invisible], not {key} in [invisible]]"),
                ));
            }
            for (alias, expected, label) in cases {
                let connection = &data[format!("{root}_{alias}")];
                report.same_ids(
                    &format!("{name} {root}(filter: {label})"),
                    &expected,
                    &sids_of(&edge_nodes(connection)),
                );
                report.same_json(
                    &format!("{name} {root}(filter: {label}) totalCount"),
                    &json!(expected.len()),
                    &connection["totalCount"],
                );
            }
            if self.unseen_keys.is_some() {
                // Whether a row whose reference is unseen matches `not in` is not specified:
                // the tautology returns at least the rows it must, and nothing invisible.
                let connection = &data[format!("{root}_widen")];
                let got = sids_of(&edge_nodes(connection));
                let label = format!("or: [{key} in [invisible], not {key} in [invisible]]");
                let extra: Vec<&String> =
                    got.iter().filter(|s| !expected_sids.contains(s)).collect();
                report.check(extra.is_empty(), || {
                    format!("{name} {root}(filter: {label}): unexpected {extra:?}")
                });
                let absent: Vec<&String> =
                    matching_all.iter().filter(|s| !got.contains(s)).collect();
                report.check(absent.is_empty(), || {
                    format!("{name} {root}(filter: {label}): missing {absent:?}")
                });
                report.same_json(
                    &format!("{name} {root}(filter: {label}) totalCount"),
                    &json!(got.len()),
                    &connection["totalCount"],
                );
            }
        }

        // nodes(ids:): the visible rows resolve, the others are null like a missing id.
        if self.with_nodes {
            let got = data[format!("{root}_nodes")]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for (i, gid) in self.gids.iter().enumerate() {
                let (sid, expected) = match self.rows.get(i) {
                    Some(row) if is_visible(row) => {
                        // The node, and its references to people: null when the caller may
                        // not see the person.
                        let mut node = json!({ "id": gid });
                        for field in r.person_refs {
                            let target = row.reference(field).expect("a reference of the row");
                            node[*field] = if people.contains(&target) {
                                json!({ "sourcedId": m.person_by_id(target).sourced_id })
                            } else {
                                Value::Null
                            };
                        }
                        (row.sid.as_str(), node)
                    }
                    Some(row) => (row.sid.as_str(), Value::Null),
                    None => (MISSING, Value::Null),
                };
                report.same_json(
                    &format!("{name} nodes({} {sid})", r.type_name),
                    &expected,
                    got.get(i).unwrap_or(&json!("<absent>")),
                );
            }
        }
    }
}

/// A caller without access to a resource: the list is an error with `code`, and `nodes` shows
/// nothing of it (a real id answers exactly like a missing one).
async fn check_denied(
    caller: &Caller,
    m: &AccessWorld,
    schema: &Schema,
    r: &Resource,
    code: &str,
    report: &mut Report,
) {
    let name = &caller.name;
    if schema.roots.contains(r.root) {
        let response = caller
            .gql(&format!(
                "{{ {}(first: 10) {{ totalCount edges {{ node {{ sourcedId }} }} }} }}",
                r.root
            ))
            .await;
        report.same_json(
            &format!("{name} {} error code", r.root),
            &json!(code),
            &json!(response.error_code()),
        );
        report.check(response.body["data"].is_null(), || {
            format!(
                "{name} {}: data despite the error: {}",
                r.root, response.body
            )
        });
    } else {
        report.skipped.insert(format!("Query.{}", r.root));
    }
    if !r.nodes || !schema.node_types.contains(r.type_name) {
        return;
    }
    let rows = (r.rows)(m);
    let gids: Vec<String> = rows
        .iter()
        .map(|row| global_id(r.type_name, &row.sid))
        .collect();
    let real = caller
        .gql(&format!("{{ nodes(ids: {}) {{ id }} }}", lit(&gids)))
        .await;
    let missing = caller
        .gql(&format!(
            "{{ nodes(ids: {}) {{ id }} }}",
            lit(&[global_id(r.type_name, MISSING)])
        ))
        .await;
    let leaked: Vec<&Value> = real.body["data"]["nodes"]
        .as_array()
        .map(|nodes| nodes.iter().filter(|n| !n.is_null()).collect())
        .unwrap_or_default();
    report.check(leaked.is_empty(), || {
        format!("{name} nodes({}) leaked {leaked:?}", r.type_name)
    });
    report.same_json(
        &format!("{name} nodes({}) answers like a missing id", r.type_name),
        &json!(missing.error_code()),
        &json!(real.error_code()),
    );
}

/// Relation fields from every person and organisation, for a caller with personal access.
async fn check_relations(caller: &Caller, rules: &Rules<'_>, schema: &Schema, report: &mut Report) {
    let m = rules.m;
    let name = &caller.name;
    let people = rules.people();
    for parent in ["Person", "Organization"] {
        let relations: Vec<&Relation> = RELATIONS
            .iter()
            .filter(|rel| rel.parent == parent)
            .filter(|rel| {
                let present = schema.has(parent, rel.field);
                if !present {
                    report.skipped.insert(format!("{parent}.{}", rel.field));
                }
                present
            })
            .collect();
        let parents: Vec<(i64, String)> = if parent == "Person" {
            m.people
                .iter()
                .map(|p| (p.id, p.sourced_id.clone()))
                .collect()
        } else {
            m.orgs
                .iter()
                .map(|o| (o.id, o.sourced_id.clone()))
                .collect()
        };
        let gids: Vec<String> = parents
            .iter()
            .map(|(_, sid)| global_id(parent, sid))
            .collect();
        let mut selection = String::from("sourcedId");
        for rel in &relations {
            selection.push_str(&format!(
                " {}(first: 100) {{ totalCount edges {{ node {{ sourcedId }} }} }}",
                rel.field
            ));
        }
        let widen = parent == "Organization" && schema.has(parent, "students");
        if widen {
            let every = lit(&m
                .people
                .iter()
                .map(|p| p.sourced_id.clone())
                .collect::<Vec<_>>());
            selection.push_str(&format!(
                " studentsWiden: students(first: 100, filter: {{ or: [{{ sourcedId: {{ in: {every} }} }}, \
                 {{ not: {{ sourcedId: {{ in: {every} }} }} }}] }}) {{ totalCount edges {{ node {{ sourcedId }} }} }}"
            ));
        }
        let response = caller
            .gql(&format!(
                "{{ nodes(ids: {}) {{ ... on {parent} {{ {selection} }} }} }}",
                lit(&gids)
            ))
            .await;
        if !response.errors().is_empty() {
            report.check(false, || {
                format!(
                    "{name} {parent} relations: unexpected errors {}",
                    response.body["errors"]
                )
            });
            continue;
        }
        let got = response.body["data"]["nodes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for (i, (id, sid)) in parents.iter().enumerate() {
            let node = got.get(i).cloned().unwrap_or(Value::Null);
            let parent_visible = parent == "Organization" || people.contains(id);
            if !parent_visible {
                report.same_json(&format!("{name} nodes(Person {sid})"), &Value::Null, &node);
                continue;
            }
            if node.is_null() {
                report.check(false, || {
                    format!("{name} nodes({parent} {sid}): expected the node, got null")
                });
                continue;
            }
            for rel in &relations {
                let child = resource(rel.child);
                let visible = (child.visible)(rules);
                let expected: Vec<String> = (child.rows)(m)
                    .into_iter()
                    .filter(|row| visible.contains(&row.id) && row.reference(rel.via) == Some(*id))
                    .map(|row| row.sid)
                    .collect();
                let what = format!("{name} {parent}({sid}).{}", rel.field);
                report.same_ids(&what, &expected, &sids_of(&edge_nodes(&node[rel.field])));
                report.same_json(
                    &format!("{what} totalCount"),
                    &json!(expected.len()),
                    &node[rel.field]["totalCount"],
                );
                if widen && rel.field == "students" {
                    report.same_ids(
                        &format!("{name} {parent}({sid}).students(filter: or [every, not every])"),
                        &expected,
                        &sids_of(&edge_nodes(&node["studentsWiden"])),
                    );
                }
            }
        }
    }
}

/// Without personal access, a public parent's personal relation is the same error.
async fn check_denied_relations(
    caller: &Caller,
    m: &AccessWorld,
    schema: &Schema,
    code: &str,
    report: &mut Report,
) {
    let name = &caller.name;
    for rel in RELATIONS.iter().filter(|rel| rel.parent == "Organization") {
        if !schema.has(rel.parent, rel.field) {
            report
                .skipped
                .insert(format!("{}.{}", rel.parent, rel.field));
            continue;
        }
        let gid = global_id("Organization", &m.world.schools[1].sourced_id);
        let response = caller
            .gql(&format!(
                "{{ node(id: \"{gid}\") {{ ... on Organization {{ sourcedId {}(first: 10) {{ totalCount edges {{ node {{ sourcedId }} }} }} }} }} }}",
                rel.field
            ))
            .await;
        report.same_json(
            &format!("{name} Organization.{} error code", rel.field),
            &json!(code),
            &json!(response.error_code()),
        );
        let leaked = &response.body["data"]["node"][rel.field];
        report.check(leaked.is_null(), || {
            format!(
                "{name} Organization.{}: data despite the error: {leaked}",
                rel.field
            )
        });
    }
}

/// Checks principals concurrently (each on its own task), returning a report per principal in
/// the order given.
async fn check_concurrently(
    app: &Arc<TestApp>,
    principals: &[(&'static str, Principal)],
    m: &AccessWorld,
    schema: &Arc<Schema>,
) -> Vec<(String, Report)> {
    let m = Arc::new(m.clone());
    let mut tasks = tokio::task::JoinSet::new();
    for (i, (name, principal)) in principals.iter().copied().enumerate() {
        let (app, m, schema) = (Arc::clone(app), Arc::clone(&m), Arc::clone(schema));
        tasks.spawn(async move {
            let caller = Caller {
                token: token(&app, principal).await,
                app,
                name: name.to_owned(),
            };
            let mut report = Report::new();
            check_principal(&caller, &m, &schema, who(&m, principal), &mut report).await;
            (i, name.to_owned(), report)
        });
    }
    let mut reports = tasks.join_all().await;
    reports.sort_by_key(|(i, _, _)| *i);
    reports
        .into_iter()
        .map(|(_, name, report)| (name, report))
        .collect()
}

/// Folds per-principal reports into one, prefixing failures with `step`.
fn merge(into: &mut Report, step: &str, reports: Vec<(String, Report)>) {
    for (name, report) in reports {
        eprintln!(
            "matrix [{step}] {name}: {} assertions, {} failures",
            report.checks,
            report.failures.len()
        );
        into.checks += report.checks;
        into.skipped.extend(report.skipped);
        into.failures
            .extend(report.failures.into_iter().map(|f| format!("[{step}] {f}")));
    }
}

/// The principals to check: all of [`PRINCIPALS`], or those named in `MATRIX_ONLY`
/// (comma-separated) while debugging one.
fn selected_principals() -> Vec<(&'static str, Principal)> {
    let only = std::env::var("MATRIX_ONLY").unwrap_or_default();
    let only: Vec<&str> = only
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    PRINCIPALS
        .iter()
        .copied()
        .filter(|(name, _)| only.is_empty() || only.contains(name))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_principal_sees_exactly_what_the_rules_allow() {
    // Arrange
    let app = Arc::new(spawn_app().await);
    let m = seed_access_world(&app.db).await;
    let schema = Arc::new(Schema::fetch(&app).await);

    // Act
    let reports = check_concurrently(&app, &selected_principals(), &m, &schema).await;

    // Assert
    let mut report = Report::new();
    merge(&mut report, "matrix", reports);
    report.finish("matrix");
}
// ---------------------------------------------------------------------------------------------
// The fixture reads as its documentation says

fn sids(m: &AccessWorld, ids: &Ids) -> Vec<String> {
    let mut sids: Vec<String> = ids
        .iter()
        .map(|id| m.person_by_id(*id).sourced_id.clone())
        .collect();
    sids.sort();
    sids
}

fn strings(items: &[&str]) -> Vec<String> {
    let mut items: Vec<String> = items.iter().map(|s| (*s).to_owned()).collect();
    items.sort();
    items
}

#[tokio::test]
async fn the_access_world_names_the_students_its_documentation_says() {
    // Arrange
    let app = spawn_app().await;
    let m = seed_access_world(&app.db).await;

    // Act
    let rules = |principal| Rules {
        m: &m,
        who: who(&m, principal),
    };
    let partner = |p: Principal| match who(&m, p) {
        Who::Partner { org, .. } => sids(&m, &rules(p).partner_named(org)),
        other => panic!("not a partner: {other:?}"),
    };
    let mentor = |p: Principal| match who(&m, p) {
        Who::Mentor { person } => sids(&m, &rules(p).mentor_named(person)),
        other => panic!("not a mentor: {other:?}"),
    };

    // Assert: the rules model agrees with the table in access_world.rs.
    assert_eq!(
        partner(PARTNER_COORDINATOR_X),
        strings(&["stu-a-01", "stu-a-03", "stu-a-06", "stu-b-01"])
    );
    assert_eq!(partner(PARTNER_COORDINATOR_Y), strings(&["stu-a-05"]));
    assert_eq!(mentor(MENTOR_X), strings(&["stu-a-01", "stu-b-01"]));
    assert_eq!(mentor(MENTOR_X2), strings(&["stu-a-06"]));
    assert_eq!(mentor(MENTOR_Y), strings(&["stu-a-05"]));
    let teacher = rules(person("tch-a", "teacher", SCHOOL_A));
    let school_a = m.org(SCHOOL_A).id;
    let tch_a = m.person("tch-a").id;
    assert_eq!(
        sids(&m, &teacher.school_students(school_a, Some(tch_a))),
        m.world.student_ids_of(0),
        "tch-a teaches the six seeded students, not stu-a-07"
    );
}

// ---------------------------------------------------------------------------------------------
// Changes in the middle of a test: the very next request follows them

/// The partner-side principals whose view a consent or a mentorship changes.
const PARTNER_SIDE: [(&str, Principal); 6] = [
    ("partner_coordinator_x", PARTNER_COORDINATOR_X),
    ("mentor_x", MENTOR_X),
    ("mentor_x2", MENTOR_X2),
    ("partner_client_x", PARTNER_CLIENT_X),
    ("partner_coordinator_y", PARTNER_COORDINATOR_Y),
    ("mentor_y", MENTOR_Y),
];

/// Whether the caller sees the student: in its `students` list, and through `node`.
async fn sees_student(app: &Arc<TestApp>, principal: Principal, sid: &str) -> (bool, bool) {
    let caller = Caller {
        app: Arc::clone(app),
        token: token(app, principal).await,
        name: String::new(),
    };
    let response = caller
        .gql(&format!(
            "{{ students(first: 100, filter: {{ sourcedId: {{ eq: \"{sid}\" }} }}) {{ totalCount }} \
               node(id: \"{}\") {{ id }} }}",
            global_id("Person", sid)
        ))
        .await;
    let data = response.data();
    (
        data["students"]["totalCount"] == json!(1),
        !data["node"].is_null(),
    )
}

/// Withdraws a consent through `withdrawConsentRecord` as the person who gave it. A failure is
/// reported, and the withdrawal then made in the database so the test goes on.
async fn withdraw(
    app: &Arc<TestApp>,
    schema: &Schema,
    giver: Principal,
    consent: &str,
    report: &mut Report,
) {
    if !schema.has("Mutation", "withdrawConsentRecord") {
        report
            .skipped
            .insert("Mutation.withdrawConsentRecord".to_owned());
        withdraw_consent(&app.db, consent).await;
        return;
    }
    let caller = Caller {
        app: Arc::clone(app),
        token: token(app, giver).await,
        name: String::new(),
    };
    let response = caller
        .gql(&format!(
            "mutation {{ withdrawConsentRecord(input: {{ consentRecord: \"{consent}\", reason: \"matrix\" }}) \
               {{ consentRecord {{ sourcedId withdrawnAt }} userErrors {{ message }} }} }}"
        ))
        .await;
    let payload = &response.body["data"]["withdrawConsentRecord"];
    let withdrawn = response.errors().is_empty()
        && payload["userErrors"] == json!([])
        && payload["consentRecord"]["withdrawnAt"].is_string();
    report.check(withdrawn, || {
        format!(
            "withdrawConsentRecord({consent}) as {giver:?}: {}",
            response.body
        )
    });
    if !withdrawn {
        withdraw_consent(&app.db, consent).await;
    }
}

fn mentorship_state(m: &AccessWorld, sid: &str) -> String {
    m.mentorships
        .iter()
        .find(|ms| ms.sourced_id == sid)
        .map_or_else(|| "<none>".to_owned(), |ms| ms.state.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawn_consent_hides_the_student_from_the_very_next_request() {
    // Arrange
    let app = Arc::new(spawn_app().await);
    let mut m = seed_access_world(&app.db).await;
    let schema = Arc::new(Schema::fetch(&app).await);
    let mut report = Report::new();
    let a0_before = (
        sees_student(&app, PARTNER_COORDINATOR_X, "stu-a-01").await,
        sees_student(&app, MENTOR_X, "stu-a-01").await,
    );

    // Act: A0's guardian withdraws (A0 is a minor: the student's own consent no longer
    // suffices); then adult A5 withdraws their own consent.
    withdraw(
        &app,
        &schema,
        person("grd-a-1", "guardian", SCHOOL_A),
        "consent-stu-a-01-guardian",
        &mut report,
    )
    .await;
    let a0_after = (
        sees_student(&app, PARTNER_COORDINATOR_X, "stu-a-01").await,
        sees_student(&app, MENTOR_X, "stu-a-01").await,
    );
    m.reload(&app.db).await;
    let a0_mentorships = [
        mentorship_state(&m, "ms-a0-x"),
        mentorship_state(&m, "ms-a0-y"),
    ];
    let reports = check_concurrently(&app, &PARTNER_SIDE, &m, &schema).await;
    merge(&mut report, "A0's guardian withdrew", reports);
    let a5_before = (
        sees_student(&app, PARTNER_COORDINATOR_X, "stu-a-06").await,
        sees_student(&app, MENTOR_X2, "stu-a-06").await,
    );
    withdraw(
        &app,
        &schema,
        person("stu-a-06", "student", SCHOOL_A),
        "c-a5-self",
        &mut report,
    )
    .await;
    let a5_after = (
        sees_student(&app, PARTNER_COORDINATOR_X, "stu-a-06").await,
        sees_student(&app, MENTOR_X2, "stu-a-06").await,
    );
    m.reload(&app.db).await;
    let reports = check_concurrently(&app, &PARTNER_SIDE[..4], &m, &schema).await;
    merge(&mut report, "A5 withdrew", reports);

    // Assert
    assert_eq!(a0_before, ((true, true), (true, true)), "A0 named before");
    assert_eq!(
        a0_after,
        ((false, false), (false, false)),
        "A0 hidden at once"
    );
    assert_eq!(a5_before, ((true, true), (true, true)), "A5 named before");
    assert_eq!(
        a5_after,
        ((false, false), (false, false)),
        "A5 hidden at once"
    );
    if schema.has("Mutation", "withdrawConsentRecord") {
        // DOMAIN.md 3E: the withdrawal pauses the mentorship with X, and only that one.
        report.same_json(
            "states of ms-a0-x, ms-a0-y after A0's guardian withdrew",
            &json!(["paused", "active"]),
            &json!(a0_mentorships),
        );
    }
    report.finish("withdrawal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_or_ended_mentorship_hides_the_student_from_the_very_next_request() {
    // Arrange
    let app = Arc::new(spawn_app().await);
    let mut m = seed_access_world(&app.db).await;
    let schema = Arc::new(Schema::fetch(&app).await);
    let mut report = Report::new();
    let b0_before = (
        sees_student(&app, PARTNER_COORDINATOR_X, "stu-b-01").await,
        sees_student(&app, MENTOR_X, "stu-b-01").await,
    );

    // Act: pausing B0's mentorship hides B0 from the mentor only; ending A0's hides A0 from
    // both (and A0's consent records from the coordinator).
    set_mentorship_state(&app.db, "ms-b0-x", "paused").await;
    let b0_paused = (
        sees_student(&app, PARTNER_COORDINATOR_X, "stu-b-01").await,
        sees_student(&app, MENTOR_X, "stu-b-01").await,
    );
    m.reload(&app.db).await;
    let reports = check_concurrently(&app, &PARTNER_SIDE[..4], &m, &schema).await;
    merge(&mut report, "B0 paused", reports);
    let a0_before = (
        sees_student(&app, PARTNER_COORDINATOR_X, "stu-a-01").await,
        sees_student(&app, MENTOR_X, "stu-a-01").await,
    );
    set_mentorship_state(&app.db, "ms-a0-x", "ended").await;
    let a0_ended = (
        sees_student(&app, PARTNER_COORDINATOR_X, "stu-a-01").await,
        sees_student(&app, MENTOR_X, "stu-a-01").await,
    );
    m.reload(&app.db).await;
    let reports = check_concurrently(&app, &PARTNER_SIDE[..4], &m, &schema).await;
    merge(&mut report, "A0 ended", reports);

    // Assert
    assert_eq!(b0_before, ((true, true), (true, true)), "B0 named before");
    assert_eq!(
        b0_paused,
        ((true, true), (false, false)),
        "B0 paused: coordinator only"
    );
    assert_eq!(a0_before, ((true, true), (true, true)), "A0 named before");
    assert_eq!(
        a0_ended,
        ((false, false), (false, false)),
        "A0 ended: hidden at once"
    );
    report.finish("mentorship state");
}
// ---------------------------------------------------------------------------------------------
// Coverage: everything the matrix asserts exists in the schema

#[tokio::test]
async fn every_matrix_resource_is_in_the_schema() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let schema = Schema::fetch(&app).await;

    // Assert
    let mut missing = Vec::new();
    for r in RESOURCES {
        if !schema.roots.contains(r.root) {
            missing.push(format!("Query.{}", r.root));
        }
        if !schema.node_types.contains(r.type_name) {
            missing.push(format!("{} implementing Node", r.type_name));
        }
        if !schema.filter(r) {
            missing.push(format!("{}Filter.{}", r.type_name, r.filter));
        }
    }
    for rel in RELATIONS {
        if !schema.has(rel.parent, rel.field) {
            missing.push(format!("{}.{}", rel.parent, rel.field));
        }
    }
    missing.dedup();
    assert!(missing.is_empty(), "not in the schema: {missing:?}");
}
