//! The curriculum and skills authorization matrix (issue 5): every principal × every new type
//! (CurriculumUnit, CurriculumUnitVersion, UnitContributor, UnitReview, UnitSkill, Skill,
//! SkillMap, FutureJob, JobDuty, JobSkillRequirement, SkillEvidence) on the hand-built curriculum
//! world (`support/curriculum_world.rs`): the root lists, `nodes(ids:)`, the relation fields
//! (unit.versions, version.contributors/reviews/skills, skillMap.jobs, job.duties/requirements)
//! and the change feed. Expectations come from the rules of `access/curriculum.rs` (published
//! curriculum is public; curriculum staff read everything; others read the versions they or
//! their org contribute to; reviews to staff and the version's contributors; evidence: school
//! and self scope, partners only shared evidence of students they may name), computed here from
//! the fixture, never from an answer of the server.
//!
//! Plus the demo data: every version state and both skill maps are seeded.

use std::collections::{BTreeMap, BTreeSet};

use api::service::clients;
use integration_tests::curriculum::add_staff;
use integration_tests::curriculum_world::{CurriculumWorld, Row, emit_all, seed_curriculum_world};
use integration_tests::feed::read_all;
use integration_tests::fixtures::{OFFICE, PARTNER_X, SCHOOL_A, UNIT};
use integration_tests::{TestApp, sourced_ids, spawn_app};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

/// Every new type and its root list (`None`: reachable only through `nodes` and relations).
const TYPES: [(&str, Option<&str>); 11] = [
    ("CurriculumUnit", Some("curriculumUnits")),
    ("CurriculumUnitVersion", Some("curriculumUnitVersions")),
    ("UnitContributor", Some("unitContributors")),
    ("UnitReview", None),
    ("UnitSkill", None),
    ("Skill", Some("skills")),
    ("SkillMap", Some("skillMaps")),
    ("FutureJob", Some("futureJobs")),
    ("JobDuty", None),
    ("JobSkillRequirement", None),
    ("SkillEvidence", Some("skillEvidence")),
];

/// How far a principal reads curriculum in progress.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Curriculum {
    /// Published only.
    Published,
    /// Everything (programme office, academic leads).
    Everything,
    /// Published plus the versions where `person` or `org` contributes (sourcedIds of the
    /// versions).
    Contributor(&'static [&'static str]),
}

/// What `skillEvidence` answers.
#[derive(Clone, Copy, Debug)]
enum Evidence {
    Error(&'static str),
    Rows(&'static [&'static str]),
}

#[derive(Clone, Debug)]
enum Who {
    Anonymous,
    Person {
        sub: String,
        role: &'static str,
        org: String,
    },
    Client {
        org: &'static str,
        scopes: &'static str,
    },
}

#[derive(Clone, Debug)]
struct Principal {
    name: &'static str,
    who: Who,
    curriculum: Curriculum,
    evidence: Evidence,
}

const ALL_EVIDENCE: &[&str] = &[
    "ev-named-shared",
    "ev-named-private",
    "ev-other-shared",
    "ev-other-private",
    "ev-b-shared",
];
/// School A's students: also the guardian's two wards (parental responsibility for both).
const SCHOOL_A_EVIDENCE: &[&str] = &[
    "ev-named-shared",
    "ev-named-private",
    "ev-other-shared",
    "ev-other-private",
];
const NAMED_EVIDENCE: &[&str] = &["ev-named-shared", "ev-named-private"];
const SHARED_NAMED: &[&str] = &["ev-named-shared"];
const PARTNER_X_VERSIONS: &[&str] = &["uv-x-1"];
const PARTNER_Y_VERSIONS: &[&str] = &["uv-y-2"];

fn principals(cw: &CurriculumWorld) -> Vec<Principal> {
    let p = &cw.people;
    let person = |sub: &str, role: &'static str, org: &str| Who::Person {
        sub: sub.to_owned(),
        role,
        org: org.to_owned(),
    };
    let guardian = cw
        .world
        .guardian_links
        .iter()
        .find(|(_, s, _)| cw.world.students[*s].person.id == cw.named.id)
        .map(|(_, _, g)| g.sourced_id.clone())
        .expect("guardian of the named student");
    let y = cw.world.partners[1].sourced_id.clone();
    let line = |name, who, curriculum, evidence| Principal {
        name,
        who,
        curriculum,
        evidence,
    };
    use Curriculum::*;
    use Evidence::*;
    vec![
        line(
            "anonymous",
            Who::Anonymous,
            Published,
            Error("UNAUTHENTICATED"),
        ),
        line(
            "programme_admin",
            person(&p.admin.sourced_id, "programmeAdmin", OFFICE),
            Everything,
            Rows(ALL_EVIDENCE),
        ),
        line(
            "programme_staff",
            person(&p.staff.sourced_id, "programmeStaff", OFFICE),
            Everything,
            Rows(ALL_EVIDENCE),
        ),
        line(
            "academic_lead",
            person(&p.lead.sourced_id, "academicLead", UNIT),
            Everything,
            Rows(&[]),
        ),
        line(
            "school_coordinator_a",
            person(
                &p.school_coordinator_a.sourced_id,
                "schoolCoordinator",
                SCHOOL_A,
            ),
            Published,
            Rows(SCHOOL_A_EVIDENCE),
        ),
        line(
            "teacher_a",
            person(&p.teacher_a.sourced_id, "teacher", SCHOOL_A),
            Published,
            Rows(SCHOOL_A_EVIDENCE),
        ),
        line(
            "partner_coordinator_x",
            person(&p.coordinator_x.sourced_id, "partnerCoordinator", PARTNER_X),
            Contributor(PARTNER_X_VERSIONS),
            Rows(SHARED_NAMED),
        ),
        line(
            "partner_coordinator_y",
            person(&p.coordinator_y.sourced_id, "partnerCoordinator", &y),
            Contributor(PARTNER_Y_VERSIONS),
            Rows(&[]),
        ),
        line(
            "mentor_x",
            person(&p.mentor_x.sourced_id, "mentor", PARTNER_X),
            Contributor(PARTNER_X_VERSIONS),
            Rows(SHARED_NAMED),
        ),
        line(
            "student",
            person(&cw.named.sourced_id, "student", SCHOOL_A),
            Published,
            Rows(NAMED_EVIDENCE),
        ),
        line(
            "guardian",
            person(&guardian, "guardian", SCHOOL_A),
            Published,
            Rows(SCHOOL_A_EVIDENCE),
        ),
        line(
            "evaluator",
            person("eval-1", "evaluator", OFFICE),
            Published,
            Rows(&[]),
        ),
        line(
            "partner_client_x_with_curriculum_read",
            Who::Client {
                org: PARTNER_X,
                scopes: "roster.read curriculum.read",
            },
            Contributor(PARTNER_X_VERSIONS),
            Rows(SHARED_NAMED),
        ),
        line(
            "partner_client_x_without_curriculum_read",
            Who::Client {
                org: PARTNER_X,
                scopes: "roster.read",
            },
            Published,
            Rows(SHARED_NAMED),
        ),
    ]
}

async fn token(app: &TestApp, who: &Who) -> Option<String> {
    match who {
        Who::Anonymous => None,
        Who::Person { sub, role, org } => Some(app.token_for(sub, &[role], org)),
        Who::Client { org, scopes } => {
            let issued = clients::create(&app.db, org, scopes, Some("curriculum"), "curriculum")
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

type Sets = BTreeMap<&'static str, BTreeSet<String>>;

/// The rows of every type the principal may read, from the rules.
fn expected(cw: &CurriculumWorld, p: &Principal) -> Sets {
    let authenticated = !matches!(p.who, Who::Anonymous);
    let sids = |type_name: &str, keep: &dyn Fn(&Row) -> bool| {
        cw.of(type_name)
            .into_iter()
            .filter(|r| keep(r))
            .map(|r| r.sourced_id.clone())
            .collect::<BTreeSet<String>>()
    };
    let public_versions = ["uv-pub-1", "uv-y-1"];
    let contributed: &[&str] = match p.curriculum {
        Curriculum::Contributor(versions) => versions,
        _ => &[],
    };
    let everything = p.curriculum == Curriculum::Everything;
    let version_visible =
        |sid: &str| everything || public_versions.contains(&sid) || contributed.contains(&sid);
    let parent = |r: &Row| r.parent.clone().unwrap_or_default();
    let versions = sids("CurriculumUnitVersion", &|r| version_visible(&r.sourced_id));
    let units: BTreeSet<String> = cw
        .of("CurriculumUnitVersion")
        .into_iter()
        .filter(|r| versions.contains(&r.sourced_id))
        .map(parent)
        .collect();
    let approved_maps = ["map-approved", "job-a", "duty-a", "req-a"];
    let map_visible = |r: &Row| everything || approved_maps.contains(&r.sourced_id.as_str());
    let mut sets = Sets::new();
    sets.insert("CurriculumUnit", units);
    sets.insert(
        "UnitContributor",
        sids("UnitContributor", &|r| {
            authenticated && version_visible(&parent(r))
        }),
    );
    sets.insert(
        "UnitReview",
        sids("UnitReview", &|r| {
            everything || contributed.contains(&parent(r).as_str())
        }),
    );
    sets.insert(
        "UnitSkill",
        sids("UnitSkill", &|r| version_visible(&parent(r))),
    );
    sets.insert("CurriculumUnitVersion", versions);
    sets.insert("Skill", sids("Skill", &|_| true));
    for type_name in ["SkillMap", "FutureJob", "JobDuty", "JobSkillRequirement"] {
        sets.insert(type_name, sids(type_name, &map_visible));
    }
    let evidence = match p.evidence {
        Evidence::Rows(rows) => rows.iter().map(|s| (*s).to_owned()).collect(),
        Evidence::Error(_) => BTreeSet::new(),
    };
    sets.insert("SkillEvidence", evidence);
    sets
}

/// The children a relation field should list from a visible parent: the visible rows of
/// `type_name` hanging off it.
fn children(cw: &CurriculumWorld, sets: &Sets, type_name: &str, parent: &str) -> BTreeSet<String> {
    cw.of(type_name)
        .into_iter()
        .filter(|r| r.parent.as_deref() == Some(parent) && sets[type_name].contains(&r.sourced_id))
        .map(|r| r.sourced_id.clone())
        .collect()
}

const RELATIONS: &str = "query($ids: [ID!]!) {
  nodes(ids: $ids) {
    ... on CurriculumUnit { sourcedId versions(first: 100) { edges { node { sourcedId } } } }
    ... on CurriculumUnitVersion {
      sourcedId
      contributors(first: 100) { edges { node { sourcedId } } }
      reviews(first: 100) { edges { node { sourcedId } } }
      skills(first: 100) { edges { node { sourcedId } } }
    }
    ... on SkillMap { sourcedId jobs(first: 100) { edges { node { sourcedId } } } }
    ... on FutureJob {
      sourcedId
      duties(first: 100) { edges { node { sourcedId } } }
      requirements(first: 100) { edges { node { sourcedId } } }
    }
    ... on Record { sourcedId }
  }
}";

/// Checks one principal; returns every mismatch.
async fn check(app: &TestApp, cw: &CurriculumWorld, p: &Principal) -> Vec<String> {
    let mut problems = Vec::new();
    let bearer = token(app, &p.who).await;
    let sets = expected(cw, p);

    // Root lists.
    for (type_name, list) in TYPES {
        let Some(list) = list else { continue };
        let query =
            format!("{{ {list}(first: 100) {{ totalCount edges {{ node {{ sourcedId }} }} }} }}");
        let response = app.gql(&query, json!({}), bearer.as_deref()).await;
        if type_name == "SkillEvidence"
            && let Evidence::Error(code) = p.evidence
        {
            if response.error_code() != Some(code) {
                problems.push(format!("{list}: expected {code}, got {}", response.body));
            }
            continue;
        }
        if !response.errors().is_empty() {
            problems.push(format!("{list}: errors {:?}", response.errors()));
            continue;
        }
        let got: BTreeSet<String> = sourced_ids(&response.data()[list]).into_iter().collect();
        if got != sets[type_name] {
            problems.push(format!(
                "{list}: expected {:?}, got {got:?}",
                sets[type_name]
            ));
        }
        let total = response.data()[list]["totalCount"].as_u64();
        if total != Some(sets[type_name].len() as u64) {
            problems.push(format!("{list}.totalCount: {total:?}"));
        }
    }

    // nodes(ids:) over every row, and the relation fields of the visible ones. Where personal
    // data is refused, asking for evidence by id is refused the same way, and the rest is
    // asked without it.
    let rows: Vec<&Row> = match p.evidence {
        Evidence::Error(code) => {
            let evidence: Vec<String> = cw.of("SkillEvidence").iter().map(|r| r.gid()).collect();
            let response = app
                .gql(RELATIONS, json!({ "ids": evidence }), bearer.as_deref())
                .await;
            if response.error_code() != Some(code) || !response.body["data"].is_null() {
                problems.push(format!(
                    "nodes(evidence): expected {code}, got {}",
                    response.body
                ));
            }
            cw.rows
                .iter()
                .filter(|r| r.type_name != "SkillEvidence")
                .collect()
        }
        Evidence::Rows(_) => cw.rows.iter().collect(),
    };
    let ids: Vec<String> = rows.iter().map(|r| r.gid()).collect();
    let response = app
        .gql(RELATIONS, json!({ "ids": ids }), bearer.as_deref())
        .await;
    let nodes = response.body["data"]["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if nodes.len() != rows.len() || !response.errors().is_empty() {
        problems.push(format!("nodes: {}", response.body));
        return problems;
    }
    let connection = |node: &Value, field: &str| -> BTreeSet<String> {
        sourced_ids(&node[field]).into_iter().collect()
    };
    for (row, node) in rows.iter().zip(&nodes) {
        let visible = sets[row.type_name].contains(&row.sourced_id);
        let resolved = node["sourcedId"].as_str() == Some(row.sourced_id.as_str());
        if visible != resolved {
            problems.push(format!(
                "node {} {}: expected {}, got {node}",
                row.type_name,
                row.sourced_id,
                if visible { "visible" } else { "null" }
            ));
            continue;
        }
        if !visible {
            continue;
        }
        let relations: &[(&str, &str)] = match row.type_name {
            "CurriculumUnit" => &[("versions", "CurriculumUnitVersion")],
            "CurriculumUnitVersion" => &[
                ("contributors", "UnitContributor"),
                ("reviews", "UnitReview"),
                ("skills", "UnitSkill"),
            ],
            "SkillMap" => &[("jobs", "FutureJob")],
            "FutureJob" => &[
                ("duties", "JobDuty"),
                ("requirements", "JobSkillRequirement"),
            ],
            _ => &[],
        };
        for (field, child) in relations {
            let want = children(cw, &sets, child, &row.sourced_id);
            let got = connection(node, field);
            if got != want {
                problems.push(format!(
                    "{}.{field} of {}: expected {want:?}, got {got:?}",
                    row.type_name, row.sourced_id
                ));
            }
        }
    }

    // The change feed: an event for exactly the visible rows.
    if let Some(bearer) = bearer.as_deref() {
        let types: Vec<&str> = TYPES.iter().map(|(t, _)| *t).collect();
        let events = read_all(app, bearer, None, Some(&types), 100).await;
        let got: BTreeSet<String> = events.iter().map(|e| e.label()).collect();
        let want: BTreeSet<String> = sets
            .iter()
            .flat_map(|(t, rows)| rows.iter().map(move |sid| format!("Upserted:{t}:{sid}")))
            .collect();
        if got != want {
            problems.push(format!(
                "feed: missing {:?}, unexpected {:?}",
                want.difference(&got).collect::<Vec<_>>(),
                got.difference(&want).collect::<Vec<_>>()
            ));
        }
    }
    problems
        .into_iter()
        .map(|m| format!("{}: {m}", p.name))
        .collect()
}

#[tokio::test]
async fn every_principal_reads_exactly_its_curriculum_skills_and_evidence_everywhere() {
    // Arrange
    let app = spawn_app().await;
    let cw = seed_curriculum_world(&app.db).await;
    add_staff(&app.db, "eval-1", &cw.world.office, "evaluator").await;
    emit_all(&app.db, &cw).await;

    // Act and assert: every principal, every type, every way in.
    let mut problems = Vec::new();
    for p in principals(&cw) {
        problems.extend(check(&app, &cw, &p).await);
    }
    assert!(
        problems.is_empty(),
        "{} mismatches:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[tokio::test]
async fn the_demo_seeds_every_version_state_both_skill_maps_and_shared_evidence() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let summary = api::demo::seed(&app.db, 1).await.expect("seed the demo");

    // Assert
    assert_eq!(summary.students, 1330);
    let response = app
        .gql_admin(
            "{ curriculumUnitVersions(first: 100) { totalCount edges { node { sourcedId state contentHash publishedAt
                 externalApprovalRef unit { requiresExternalApproval } } } }
               skillMaps(first: 10) { edges { node { sourcedId code sector versionNumber state approvedAt nextReviewDue
                 jobs(first: 10) { edges { node { title duties(first: 5) { edges { node { isPlaceholder } } }
                   requirements(first: 10) { totalCount } } } } } } }
               skills { totalCount }
               skillEvidence { totalCount }
               shared: skillEvidence(filter: { sharedWithPartners: { eq: true } }) { totalCount }
               curriculumUnits(filter: { title: { eq: \"Storytelling for Social Good\" } }) { edges { node { unitKind course { courseCode } } } } }",
            json!({}),
        )
        .await;
    let data = response.data();
    let versions = data["curriculumUnitVersions"]["edges"]
        .as_array()
        .expect("versions");
    let states: BTreeSet<&str> = versions
        .iter()
        .map(|e| e["node"]["state"].as_str().expect("state"))
        .collect();
    assert_eq!(
        states,
        BTreeSet::from([
            "APPROVED",
            "CHANGES_REQUESTED",
            "DRAFT",
            "IN_REVIEW",
            "PUBLISHED",
            "RETIRED",
            "WITHDRAWN"
        ])
    );
    for edge in versions {
        let node = &edge["node"];
        let public = matches!(node["state"].as_str(), Some("PUBLISHED" | "RETIRED"));
        assert_eq!(
            public,
            node["contentHash"].as_str().is_some_and(|h| h.len() == 64),
            "{node}"
        );
        assert_eq!(public, node["publishedAt"].is_string(), "{node}");
        if public && node["unit"]["requiresExternalApproval"] == json!(true) {
            assert!(node["externalApprovalRef"].is_string(), "{node}");
        }
    }
    let maps: Vec<(String, String)> = data["skillMaps"]["edges"]
        .as_array()
        .expect("maps")
        .iter()
        .map(|e| {
            let n = &e["node"];
            (
                format!(
                    "{}:{}:{}",
                    n["code"].as_str().unwrap_or(""),
                    n["versionNumber"],
                    n["sector"].as_str().unwrap_or("")
                ),
                n["state"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        sorted_pairs(maps),
        vec![
            ("ART-TECH:1:ART_TECH".to_owned(), "APPROVED".to_owned()),
            ("ART-TECH:2:ART_TECH".to_owned(), "DRAFT".to_owned()),
            ("ICT:1:ICT".to_owned(), "APPROVED".to_owned()),
        ]
    );
    for edge in data["skillMaps"]["edges"].as_array().expect("maps") {
        for job in edge["node"]["jobs"]["edges"].as_array().expect("jobs") {
            let duties = job["node"]["duties"]["edges"].as_array().expect("duties");
            assert!((2..=3).contains(&duties.len()), "{job}");
            assert!(
                duties
                    .iter()
                    .all(|d| d["node"]["isPlaceholder"] == json!(true))
            );
            let requirements = job["node"]["requirements"]["totalCount"]
                .as_u64()
                .unwrap_or(0);
            assert!((4..=6).contains(&requirements), "{job}");
        }
    }
    // One approved map is due for review on 2026-11-25, the other not.
    let due: Vec<bool> = data["skillMaps"]["edges"]
        .as_array()
        .expect("maps")
        .iter()
        .filter(|e| e["node"]["state"] == json!("APPROVED"))
        .map(|e| e["node"]["nextReviewDue"].as_str().expect("due") <= "2026-11-25")
        .collect();
    assert_eq!(
        sorted_pairs(due.iter().map(|d| (*d, ())).collect()).len(),
        2
    );
    assert!(due.contains(&true) && due.contains(&false), "{due:?}");
    assert_eq!(data["skills"]["totalCount"], json!(24));
    let evidence = data["skillEvidence"]["totalCount"]
        .as_u64()
        .expect("evidence");
    let shared = data["shared"]["totalCount"].as_u64().expect("shared");
    assert!(evidence > 600, "{evidence}");
    assert!(
        (evidence / 4..evidence / 2).contains(&shared),
        "{shared} of {evidence}"
    );
    // A retired version's history is its whole path; contributors come from the partners too;
    // running and completed offerings have pinned versions.
    let retired = app
        .gql_admin(
            "query($id: ID!) { node(id: $id) { ... on CurriculumUnitVersion { state
               statusHistory { fromState toState }
               contributors(first: 20) { edges { node { contributionRole org { orgType } person { sourcedId } } } } } } }",
            json!({ "id": integration_tests::global_id("CurriculumUnitVersion", "unitver-apl-mmst-1-v1") }),
        )
        .await;
    let node = &retired.data()["node"];
    assert_eq!(node["state"], json!("RETIRED"));
    let path: Vec<&str> = node["statusHistory"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| h["toState"].as_str().expect("toState"))
        .collect();
    assert_eq!(
        path,
        ["draft", "in_review", "approved", "published", "retired"]
    );
    let contributors = node["contributors"]["edges"]
        .as_array()
        .expect("contributors");
    assert!(
        contributors
            .iter()
            .any(|c| c["node"]["org"]["orgType"] == json!("INDUSTRY_PARTNER")
                && c["node"]["contributionRole"] == json!("CO_DEVELOPER")),
        "{contributors:?}"
    );
    assert!(
        contributors.iter().any(|c| c["node"]["person"]["sourcedId"]
            == json!("stf-hkbu-comm-lead-1")
            && c["node"]["contributionRole"] == json!("AUTHOR")),
        "{contributors:?}"
    );
    let pins = entity::offering_unit_version::Entity::find()
        .count(&app.db)
        .await
        .expect("count pins");
    assert!(pins > 100, "{pins} pins");
    assert_eq!(
        data["curriculumUnits"]["edges"][0]["node"],
        json!({ "unitKind": "PROJECT", "course": { "courseCode": "APL-MMST" } })
    );
}

fn sorted_pairs<A: Ord, B: Ord>(mut pairs: Vec<(A, B)>) -> Vec<(A, B)> {
    pairs.sort();
    pairs
}
