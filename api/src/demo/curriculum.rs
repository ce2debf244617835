//! Demo curriculum and skills (DOMAIN.md areas C and D): 24 skills, the Art-Tech and ICT skill
//! maps with their future jobs, placeholder duties and skill requirements, about four curriculum
//! units per course (Tech Basics, Multimedia Storytelling, the Data Science HD) whose versions
//! pass through every workflow state, with contributors from the partners, reviews, unit skills
//! and status history; the published versions pinned to the running and completed offerings; and
//! skill evidence for every fourth student (so it grows with the scale).
//!
//! Fixed sourcedIds: `skill-<code in lower case>` (e.g. `skill-tech-data`),
//! `skillmap-art-tech-v1` (approved, due for review), `skillmap-art-tech-v2` (draft),
//! `skillmap-ict-v1` (approved), `job-<map>-<job>` (e.g. `job-ict-v1-data-scientist`),
//! `unit-<course slug>-<n>` and `unitver-<course slug>-<n>-v<k>` (e.g.
//! `unit-apl-mmst-2`, "Storytelling for Social Good"), `evidence-0000001`….

use chrono::{DateTime, Utc};
use entity::{
    curriculum_unit, curriculum_unit_version, future_job, job_duty, job_skill_requirement,
    offering_unit_version, skill, skill_evidence, skill_map, status_history, unit_contributor,
    unit_review, unit_skill,
};
use serde_json::json;

use super::plan::{
    COHORTS, COURSE_HD_DS, COURSE_MMST, COURSE_TECHBASICS, ORG_COMM, ORG_SCE, PATHWAY_ICT, Plan,
    SEED, add_days, date, stream,
};
use super::rng::Rng;
use super::sink::{Ctx, Sink};
use super::write::{ACTOR, Base, Counter, Ids, max_id, record, timestamp};
use crate::error::AppResult;
use crate::service::curriculum::versions::Content;

/// A skill: code, English name, Chinese name, category.
type SkillSpec = (&'static str, &'static str, &'static str, &'static str);

/// The skills, five categories.
const SKILLS: [SkillSpec; 24] = [
    ("TECH-PROG", "Programming", "編程", "technical"),
    ("TECH-DATA", "Data analysis", "數據分析", "technical"),
    ("TECH-ML", "Machine learning", "機器學習", "technical"),
    ("TECH-NET", "Network security", "網絡安全", "technical"),
    ("TECH-CLOUD", "Cloud computing", "雲端運算", "technical"),
    ("CRE-STORY", "Storytelling", "敘事", "creative"),
    ("CRE-VIS", "Visual design", "視覺設計", "creative"),
    ("CRE-VIDEO", "Video production", "影片製作", "creative"),
    (
        "CRE-XR",
        "Extended reality prototyping",
        "延展實境原型製作",
        "creative",
    ),
    ("CRE-MOCAP", "Motion capture", "動作捕捉", "creative"),
    ("BUS-DT", "Design thinking", "設計思維", "business"),
    (
        "BUS-MODEL",
        "Business model design",
        "商業模式設計",
        "business",
    ),
    ("BUS-MKT", "Digital marketing", "數碼營銷", "business"),
    ("BUS-PM", "Project management", "項目管理", "business"),
    ("BUS-FIN", "Financial literacy", "理財素養", "business"),
    ("PRO-COMM", "Communication", "溝通能力", "professional"),
    ("PRO-TEAM", "Teamwork", "團隊協作", "professional"),
    ("PRO-PROB", "Problem solving", "解難能力", "professional"),
    ("PRO-ETH", "Professional ethics", "專業操守", "professional"),
    ("PRO-PRES", "Presentation", "匯報技巧", "professional"),
    ("DIG-LIT", "Digital literacy", "數碼素養", "digital"),
    ("DIG-CONT", "Content curation", "內容策展", "digital"),
    (
        "DIG-SOC",
        "Social media management",
        "社交媒體管理",
        "digital",
    ),
    ("DIG-PRIV", "Data privacy", "數據私隱", "digital"),
];

/// The index of a skill by code (every code used below is in [`SKILLS`]).
fn skill_index(code: &str) -> usize {
    SKILLS.iter().position(|s| s.0 == code).unwrap_or(0)
}

/// A future job of a sector: code, title, summary, duties (function area, text) and
/// requirements (skill code, proficiency 1–4, importance).
struct JobSpec {
    code: &'static str,
    title: &'static str,
    summary: &'static str,
    duties: &'static [(&'static str, &'static str)],
    requirements: &'static [(&'static str, i32, &'static str)],
}

const ART_TECH_JOBS: [JobSpec; 3] = [
    JobSpec {
        code: "CONTENT-CURATOR",
        title: "Content Curator",
        summary: "Selects, adapts and publishes content for digital platforms and venues.",
        duties: &[
            ("Content", "Select and adapt content for platforms"),
            (
                "Audience",
                "Track audience response and refresh collections",
            ),
            ("Rights", "Clear rights and credits for published content"),
        ],
        requirements: &[
            ("DIG-CONT", 3, "core"),
            ("CRE-STORY", 3, "core"),
            ("PRO-COMM", 3, "core"),
            ("DIG-SOC", 2, "supporting"),
            ("DIG-PRIV", 2, "supporting"),
        ],
    },
    JobSpec {
        code: "BUSINESS-DESIGNER",
        title: "Business Designer",
        summary: "Shapes products and services where creative and business goals meet.",
        duties: &[
            ("Strategy", "Apply design thinking to business models"),
            ("Research", "Run user research with customers and staff"),
        ],
        requirements: &[
            ("BUS-DT", 4, "core"),
            ("BUS-MODEL", 3, "core"),
            ("PRO-PRES", 3, "core"),
            ("BUS-MKT", 2, "supporting"),
            ("PRO-TEAM", 2, "supporting"),
            ("BUS-FIN", 1, "supporting"),
        ],
    },
    JobSpec {
        code: "CREATIVE-TECHNOLOGIST",
        title: "Creative Technologist",
        summary: "Turns creative ideas into working prototypes with new media technology.",
        duties: &[
            ("Prototyping", "Prototype with XR and motion capture"),
            ("Production", "Integrate real-time graphics into live shows"),
            (
                "Collaboration",
                "Translate creative briefs into technical plans",
            ),
        ],
        requirements: &[
            ("CRE-XR", 3, "core"),
            ("CRE-MOCAP", 3, "core"),
            ("PRO-PROB", 3, "core"),
            ("TECH-PROG", 2, "supporting"),
            ("CRE-VIS", 2, "supporting"),
        ],
    },
];

const ICT_JOBS: [JobSpec; 2] = [
    JobSpec {
        code: "DATA-SCIENTIST",
        title: "Data Scientist",
        summary: "Answers business questions with data, statistics and machine learning.",
        duties: &[
            (
                "Analysis",
                "Clean, explore and model data for business questions",
            ),
            ("Communication", "Present findings to non-specialists"),
        ],
        requirements: &[
            ("TECH-DATA", 4, "core"),
            ("TECH-ML", 3, "core"),
            ("TECH-PROG", 3, "core"),
            ("PRO-PRES", 2, "supporting"),
            ("DIG-PRIV", 2, "supporting"),
        ],
    },
    JobSpec {
        code: "CYBERSECURITY-SPECIALIST",
        title: "Cybersecurity Specialist",
        summary: "Protects an organisation's systems, networks and data.",
        duties: &[
            ("Protection", "Monitor networks and respond to incidents"),
            ("Governance", "Assess systems against security policies"),
            ("Awareness", "Train colleagues in safe practice"),
        ],
        requirements: &[
            ("TECH-NET", 4, "core"),
            ("TECH-CLOUD", 3, "core"),
            ("PRO-ETH", 3, "core"),
            ("DIG-PRIV", 3, "core"),
            ("TECH-PROG", 2, "supporting"),
            ("PRO-PROB", 2, "supporting"),
        ],
    },
];

/// A skill map version.
struct MapSpec {
    code: &'static str,
    slug: &'static str,
    sector: &'static str,
    version: i32,
    state: &'static str,
    jobs: &'static [JobSpec],
    /// Drafted, submitted, approved (approved maps only).
    drafted: (i32, u32, u32),
    approved: Option<(i32, u32, u32)>,
}

/// Art-Tech version 1 was approved in June 2025, so it is due for review by 2026-11-25; ICT
/// version 1 is not due before December 2026.
const MAPS: [MapSpec; 3] = [
    MapSpec {
        code: "ART-TECH",
        slug: "art-tech-v1",
        sector: "artTech",
        version: 1,
        state: "approved",
        jobs: &ART_TECH_JOBS,
        drafted: (2025, 3, 3),
        approved: Some((2025, 6, 20)),
    },
    MapSpec {
        code: "ART-TECH",
        slug: "art-tech-v2",
        sector: "artTech",
        version: 2,
        state: "draft",
        jobs: &ART_TECH_JOBS,
        drafted: (2026, 9, 15),
        approved: None,
    },
    MapSpec {
        code: "ICT",
        slug: "ict-v1",
        sector: "ict",
        version: 1,
        state: "approved",
        jobs: &ICT_JOBS,
        drafted: (2025, 9, 1),
        approved: Some((2025, 12, 15)),
    },
];

/// One version of a unit: its final state and the year it was drafted (working versions are
/// drafted in September 2026).
type VersionSpec = (&'static str, i32);

/// A curriculum unit and the path of its versions.
struct UnitSpec {
    course: usize,
    title: &'static str,
    kind: &'static str,
    external: bool,
    summary: &'static str,
    outcomes: &'static [&'static str],
    skills: &'static [(&'static str, &'static str)],
    versions: &'static [VersionSpec],
}

/// Course slug, owning org, and the two partners (their sourcedId slugs) that co-develop its
/// units.
fn course_info(course: usize) -> (&'static str, usize, [&'static str; 2]) {
    match course {
        COURSE_TECHBASICS => ("apl-techbasics", ORG_SCE, ["ibm", "microsoft"]),
        COURSE_MMST => ("apl-mmst", ORG_COMM, ["adobe", "3screens"]),
        _ => ("hd-ds", ORG_SCE, ["ibm", "equinix"]),
    }
}

/// The units. Across them every version state occurs: draft, in_review, changes_requested,
/// approved, published, retired and withdrawn.
const UNITS: [UnitSpec; 12] = [
    UnitSpec {
        course: COURSE_TECHBASICS,
        title: "Programming Foundations",
        kind: "module",
        external: true,
        summary: "Variables, control flow and functions through small Python programs.",
        outcomes: &[
            "Write and debug short Python programs",
            "Break a problem into functions",
        ],
        skills: &[("TECH-PROG", "introduced"), ("PRO-PROB", "developed")],
        versions: &[("retired", 2021), ("published", 2024)],
    },
    UnitSpec {
        course: COURSE_TECHBASICS,
        title: "Networks and the Cloud",
        kind: "module",
        external: true,
        summary: "How the internet works, cloud services and keeping them safe.",
        outcomes: &[
            "Explain how data travels across networks",
            "Deploy a simple cloud service",
        ],
        skills: &[
            ("TECH-NET", "introduced"),
            ("TECH-CLOUD", "introduced"),
            ("DIG-PRIV", "introduced"),
        ],
        versions: &[("published", 2021), ("in_review", 2026)],
    },
    UnitSpec {
        course: COURSE_TECHBASICS,
        title: "Data for Everyday Decisions",
        kind: "project",
        external: false,
        summary: "A team project that collects, cleans and presents open data about the district.",
        outcomes: &[
            "Clean and chart a public data set",
            "Present a data-based recommendation",
        ],
        skills: &[
            ("TECH-DATA", "applied"),
            ("PRO-PRES", "assessed"),
            ("PRO-TEAM", "developed"),
        ],
        versions: &[("published", 2022), ("draft", 2026)],
    },
    UnitSpec {
        course: COURSE_TECHBASICS,
        title: "Cyber Hygiene Workshop",
        kind: "workshop",
        external: false,
        summary: "Passwords, phishing and privacy settings, with a partner's security team.",
        outcomes: &["Recognise common phishing techniques"],
        skills: &[("TECH-NET", "introduced"), ("PRO-ETH", "introduced")],
        versions: &[("withdrawn", 2025), ("draft", 2026)],
    },
    UnitSpec {
        course: COURSE_MMST,
        title: "Visual Storytelling Basics",
        kind: "module",
        external: true,
        summary: "Story structure, shot composition and editing for short films.",
        outcomes: &[
            "Storyboard a three-minute story",
            "Edit footage into a coherent sequence",
        ],
        skills: &[
            ("CRE-STORY", "developed"),
            ("CRE-VIS", "introduced"),
            ("CRE-VIDEO", "developed"),
        ],
        versions: &[
            ("retired", 2022),
            ("published", 2024),
            ("changes_requested", 2026),
        ],
    },
    UnitSpec {
        course: COURSE_MMST,
        title: "Storytelling for Social Good",
        kind: "project",
        external: false,
        summary: "Students tell the story of a local NGO's work in a short multimedia piece.",
        outcomes: &[
            "Interview a client organisation and write a brief",
            "Produce and publish a multimedia story for a real audience",
        ],
        skills: &[
            ("CRE-STORY", "applied"),
            ("DIG-CONT", "developed"),
            ("PRO-COMM", "assessed"),
            ("DIG-SOC", "introduced"),
        ],
        versions: &[("published", 2023), ("approved", 2026)],
    },
    UnitSpec {
        course: COURSE_MMST,
        title: "Motion Capture Studio",
        kind: "workshop",
        external: false,
        summary: "A day in a motion-capture studio animating a character.",
        outcomes: &["Record and clean a motion-capture take"],
        skills: &[("CRE-MOCAP", "introduced"), ("CRE-XR", "introduced")],
        versions: &[("published", 2024)],
    },
    UnitSpec {
        course: COURSE_MMST,
        title: "Social Media Campaign Case Study",
        kind: "caseStudy",
        external: false,
        summary: "How a brand campaign was planned, produced and measured.",
        outcomes: &["Analyse a campaign's reach and engagement"],
        skills: &[("BUS-MKT", "introduced"), ("BUS-DT", "introduced")],
        versions: &[("in_review", 2026)],
    },
    UnitSpec {
        course: COURSE_HD_DS,
        title: "Python for Data Science",
        kind: "module",
        external: false,
        summary: "pandas, visualisation and reproducible notebooks.",
        outcomes: &[
            "Load, transform and visualise tabular data",
            "Share analyses as reproducible notebooks",
        ],
        skills: &[("TECH-PROG", "developed"), ("TECH-DATA", "developed")],
        versions: &[("retired", 2023), ("published", 2025)],
    },
    UnitSpec {
        course: COURSE_HD_DS,
        title: "Machine Learning Fundamentals",
        kind: "module",
        external: false,
        summary: "Supervised learning, evaluation and responsible use of models.",
        outcomes: &[
            "Train and evaluate a classifier",
            "Discuss the ethical risks of a model",
        ],
        skills: &[
            ("TECH-ML", "developed"),
            ("TECH-DATA", "applied"),
            ("PRO-ETH", "developed"),
        ],
        versions: &[("published", 2024), ("changes_requested", 2026)],
    },
    UnitSpec {
        course: COURSE_HD_DS,
        title: "Cloud Data Platforms",
        kind: "workshop",
        external: false,
        summary: "Hands-on data pipelines in a partner's data centre.",
        outcomes: &["Build a small data pipeline on a cloud platform"],
        skills: &[("TECH-CLOUD", "applied"), ("DIG-PRIV", "developed")],
        versions: &[("published", 2024), ("withdrawn", 2025)],
    },
    UnitSpec {
        course: COURSE_HD_DS,
        title: "Data Science Capstone",
        kind: "project",
        external: false,
        summary: "A semester-long project on a partner's real data.",
        outcomes: &[
            "Deliver an end-to-end data science project",
            "Present results to the partner",
        ],
        skills: &[
            ("TECH-ML", "applied"),
            ("TECH-DATA", "assessed"),
            ("PRO-PRES", "assessed"),
            ("TECH-NET", "introduced"),
        ],
        versions: &[("draft", 2026)],
    },
];

/// StatusHistory of a record: from, to, when.
type Step = (Option<&'static str>, &'static str, DateTime<Utc>);

/// When a version moved through the workflow.
struct Dates {
    created: DateTime<Utc>,
    submitted: DateTime<Utc>,
    decided: DateTime<Utc>,
    published: DateTime<Utc>,
    withdrawn: DateTime<Utc>,
}

fn dates(year: i32) -> Dates {
    if year >= 2026 {
        Dates {
            created: timestamp(date(2026, 9, 1), 2, 0),
            submitted: timestamp(date(2026, 10, 2), 3, 0),
            decided: timestamp(date(2026, 10, 20), 6, 30),
            published: timestamp(date(2026, 11, 2), 2, 0),
            withdrawn: timestamp(date(2026, 10, 9), 4, 0),
        }
    } else {
        Dates {
            created: timestamp(date(year, 3, 1), 2, 0),
            submitted: timestamp(date(year, 4, 6), 3, 0),
            decided: timestamp(date(year, 5, 15), 6, 30),
            published: timestamp(date(year, 8, 1), 2, 0),
            withdrawn: timestamp(date(year, 6, 2), 4, 0),
        }
    }
}

/// The StatusHistory of a version that ended in `state` (`retired_at` for retired ones).
fn path(state: &'static str, d: &Dates, retired_at: DateTime<Utc>) -> Vec<Step> {
    let mut steps: Vec<Step> = vec![(None, "draft", d.created)];
    if state == "withdrawn" {
        steps.push((Some("draft"), "withdrawn", d.withdrawn));
        return steps;
    }
    if state == "draft" {
        return steps;
    }
    steps.push((Some("draft"), "in_review", d.submitted));
    match state {
        "in_review" => {}
        "changes_requested" => steps.push((Some("in_review"), "changes_requested", d.decided)),
        _ => {
            steps.push((Some("in_review"), "approved", d.decided));
            if matches!(state, "published" | "retired") {
                steps.push((Some("approved"), "published", d.published));
            }
            if state == "retired" {
                steps.push((Some("published"), "retired", retired_at));
            }
        }
    }
    steps
}

/// Person index of the staff member with `sourced_id`.
fn staff_named(plan: &Plan, sourced_id: &str) -> Option<usize> {
    plan.staff.iter().position(|s| s.sourced_id == sourced_id)
}

/// Id bases of the new tables.
struct CurriculumIds {
    skill: Base,
    map: Base,
    job: Base,
    unit: Base,
    version: Base,
}

/// Writes skills, skill maps, units and their versions, pins and evidence.
pub async fn write_curriculum(ctx: &mut Ctx<'_>, plan: &Plan, ids: &Ids) -> AppResult<()> {
    let cids = CurriculumIds {
        skill: max_id(ctx, "skill").await?,
        map: max_id(ctx, "skill_map").await?,
        job: max_id(ctx, "future_job").await?,
        unit: max_id(ctx, "curriculum_unit").await?,
        version: max_id(ctx, "curriculum_unit_version").await?,
    };
    let mut history: Vec<(&'static str, i64, Vec<Step>)> = Vec::new();
    write_skills(ctx, &cids).await?;
    write_maps(ctx, &cids, &mut history).await?;
    let published = write_units(ctx, plan, ids, &cids, &mut history).await?;
    write_pins(ctx, plan, ids, &published).await?;
    write_evidence(ctx, plan, ids, &cids).await?;

    let base = max_id(ctx, "status_history").await?;
    let mut next = Counter(base.0);
    let mut sink = Sink::<status_history::Entity>::plain();
    for (entity_type, entity_id, steps) in history {
        for (from, to, at) in steps {
            let model = status_history::Model {
                id: next.next(),
                entity_type: entity_type.to_owned(),
                entity_id,
                from_state: from.map(str::to_owned),
                to_state: to.to_owned(),
                from_stage: None,
                to_stage: None,
                reason: None,
                at,
                actor: Some(ACTOR.to_owned()),
                client_id: None,
            };
            sink.push(ctx, model).await?;
        }
    }
    sink.flush(ctx).await
}

async fn write_skills(ctx: &mut Ctx<'_>, cids: &CurriculumIds) -> AppResult<()> {
    let mut sink = Sink::<skill::Entity>::records("Skill");
    for (i, (code, en, zh, category)) in SKILLS.iter().enumerate() {
        let model = record!(skill, ctx.at, cids.skill.id(i), format!("skill-{}", code.to_lowercase()), {
            code: (*code).to_owned(),
            name_en: (*en).to_owned(),
            name_zh: Some((*zh).to_owned()),
            category: (*category).to_owned(),
        });
        sink.push(ctx, model).await?;
    }
    sink.flush(ctx).await
}

async fn write_maps(
    ctx: &mut Ctx<'_>,
    cids: &CurriculumIds,
    history: &mut Vec<(&'static str, i64, Vec<Step>)>,
) -> AppResult<()> {
    let mut maps = Sink::<skill_map::Entity>::records("SkillMap");
    for (m, spec) in MAPS.iter().enumerate() {
        let approved = spec.approved.map(|(y, m, d)| date(y, m, d));
        let drafted = date(spec.drafted.0, spec.drafted.1, spec.drafted.2);
        let approved_at = approved.map(|day| timestamp(day, 6, 0));
        let model = record!(skill_map, ctx.at, cids.map.id(m), format!("skillmap-{}", spec.slug), {
            code: spec.code.to_owned(),
            sector: spec.sector.to_owned(),
            version_number: spec.version,
            state: spec.state.to_owned(),
            approved_at: approved_at,
            next_review_due: approved.map(|day| add_days(day, 365)),
        });
        maps.push(ctx, model).await?;
        let mut steps: Vec<Step> = vec![(None, "draft", timestamp(drafted, 2, 0))];
        if let Some(at) = approved_at {
            steps.push((
                Some("draft"),
                "in_review",
                timestamp(add_days(drafted, 30), 2, 0),
            ));
            steps.push((Some("in_review"), "approved", at));
        }
        history.push(("SkillMap", cids.map.id(m), steps));
    }
    maps.flush(ctx).await?;

    let mut jobs = Sink::<future_job::Entity>::records("FutureJob");
    let mut duties = Sink::<job_duty::Entity>::records("JobDuty");
    let mut requirements = Sink::<job_skill_requirement::Entity>::records("JobSkillRequirement");
    let duty_base = max_id(ctx, "job_duty").await?;
    let mut next_duty = Counter(duty_base.0);
    let req_base = max_id(ctx, "job_skill_requirement").await?;
    let mut next_req = Counter(req_base.0);
    let mut j = 0;
    for (m, spec) in MAPS.iter().enumerate() {
        for job in spec.jobs {
            let job_id = cids.job.id(j);
            j += 1;
            let slug = format!("{}-{}", spec.slug, job.code.to_lowercase());
            let model = record!(future_job, ctx.at, job_id, format!("job-{slug}"), {
                skill_map_id: cids.map.id(m),
                code: job.code.to_owned(),
                title: job.title.to_owned(),
                summary: Some(job.summary.to_owned()),
            });
            jobs.push(ctx, model).await?;
            for (k, (area, text)) in job.duties.iter().enumerate() {
                let model = record!(job_duty, ctx.at, next_duty.next(), format!("duty-{slug}-{}", k + 1), {
                    future_job_id: job_id,
                    seq: k as i32 + 1,
                    function_area: (*area).to_owned(),
                    duty_text: (*text).to_owned(),
                    is_placeholder: true,
                });
                duties.push(ctx, model).await?;
            }
            for (code, proficiency, importance) in job.requirements {
                let model = record!(job_skill_requirement, ctx.at, next_req.next(), format!("jsr-{slug}-{}", code.to_lowercase()), {
                    future_job_id: job_id,
                    skill_id: cids.skill.id(skill_index(code)),
                    proficiency: *proficiency,
                    importance: (*importance).to_owned(),
                });
                requirements.push(ctx, model).await?;
            }
        }
    }
    jobs.flush(ctx).await?;
    duties.flush(ctx).await?;
    requirements.flush(ctx).await
}

/// A published or retired version: unit course, version id, when it was published.
struct Published {
    course: usize,
    unit: usize,
    version: i64,
    at: DateTime<Utc>,
    current: bool,
}

async fn write_units(
    ctx: &mut Ctx<'_>,
    plan: &Plan,
    ids: &Ids,
    cids: &CurriculumIds,
    history: &mut Vec<(&'static str, i64, Vec<Step>)>,
) -> AppResult<Vec<Published>> {
    let mut units = Sink::<curriculum_unit::Entity>::records("CurriculumUnit");
    let mut per_course = [0usize; 4];
    let mut slugs = Vec::with_capacity(UNITS.len());
    for (u, spec) in UNITS.iter().enumerate() {
        let (course_slug, owner, _) = course_info(spec.course);
        per_course[spec.course] += 1;
        let n = per_course[spec.course];
        let slug = format!("{course_slug}-{n}");
        let code = format!(
            "{}-U{n}",
            course_slug.rsplit('-').next().unwrap_or("X").to_uppercase()
        );
        let model = record!(curriculum_unit, ctx.at, cids.unit.id(u), format!("unit-{slug}"), {
            course_id: ids.course.id(spec.course),
            code: code,
            title: spec.title.to_owned(),
            unit_kind: spec.kind.to_owned(),
            owning_org_id: ids.org.id(owner),
            requires_external_approval: spec.external,
        });
        units.push(ctx, model).await?;
        slugs.push(slug);
    }
    units.flush(ctx).await?;

    let lead_of = |org: usize| {
        let id = if org == ORG_COMM {
            "stf-hkbu-comm-lead-1"
        } else {
            "stf-hkbu-sce-lead-1"
        };
        staff_named(plan, id)
    };
    let mut versions = Sink::<curriculum_unit_version::Entity>::records("CurriculumUnitVersion");
    let mut contributors = Sink::<unit_contributor::Entity>::records("UnitContributor");
    let mut reviews = Sink::<unit_review::Entity>::records("UnitReview");
    let mut unit_skills = Sink::<unit_skill::Entity>::records("UnitSkill");
    let contributor_base = max_id(ctx, "unit_contributor").await?;
    let review_base = max_id(ctx, "unit_review").await?;
    let unit_skill_base = max_id(ctx, "unit_skill").await?;
    let mut next_contributor = Counter(contributor_base.0);
    let mut next_review = Counter(review_base.0);
    let mut next_unit_skill = Counter(unit_skill_base.0);
    let mut published = Vec::new();
    let mut v = 0;
    for (u, spec) in UNITS.iter().enumerate() {
        let (_, owner, partners) = course_info(spec.course);
        let lead = lead_of(owner);
        let first = v;
        for (k, &(state, year)) in spec.versions.iter().enumerate() {
            let id = cids.version.id(v);
            v += 1;
            let d = dates(year);
            let retired_at = spec
                .versions
                .get(k + 1)
                .map(|&(_, next)| dates(next).published)
                .unwrap_or(d.published);
            let public = matches!(state, "published" | "retired");
            let hours = 6.0 + 3.0 * (u % 4) as f64 + k as f64;
            let summary = spec.summary.to_owned();
            let outcomes = json!(spec.outcomes);
            let resources = json!([{
                "title": format!("{} – teacher guide", spec.title),
                "url": format!("https://example.org/claptech/{}/v{}", slugs[u], k + 1),
            }]);
            // The hash publication computes, so the demo's hashes verify like any other.
            let content_hash = public.then(|| {
                let skills: Vec<(String, String)> = spec
                    .skills
                    .iter()
                    .map(|(code, coverage)| ((*code).to_owned(), (*coverage).to_owned()))
                    .collect();
                Content {
                    title: spec.title,
                    summary: Some(&summary),
                    hours: Some(hours),
                    learning_outcomes: Some(&outcomes),
                    resources: Some(&resources),
                }
                .hash(&skills)
            });
            let external_ref = (public && spec.external)
                .then(|| format!("EDB-APL-{year}-{}", slugs[u].to_uppercase()));
            let model = record!(curriculum_unit_version, ctx.at, id, format!("unitver-{}-v{}", slugs[u], k + 1), {
                unit_id: cids.unit.id(u),
                version_number: k as i32 + 1,
                state: state.to_owned(),
                supersedes_id: (k > 0).then(|| cids.version.id(first + k - 1)),
                title: spec.title.to_owned(),
                summary: Some(summary),
                hours: Some(hours),
                learning_outcomes: Some(outcomes),
                resources: Some(resources),
                external_approval_ref: external_ref,
                content_hash: content_hash,
                published_at: public.then_some(d.published),
            });
            versions.push(ctx, model).await?;
            history.push(("CurriculumUnitVersion", id, path(state, &d, retired_at)));
            if public {
                published.push(Published {
                    course: spec.course,
                    unit: u,
                    version: id,
                    at: d.published,
                    current: state == "published",
                });
            }

            // Contributors: an author (the academic lead, or for projects and workshops the first
            // partner's coordinator), the first partner's mentor as co-developer, the second
            // partner's coordinator as subject expert and its mentor as reviewer.
            let partner_author = matches!(spec.kind, "project" | "workshop") && u % 2 == 1;
            let coordinator =
                |p: usize| staff_named(plan, &format!("stf-partner-{}-coord-1", partners[p]));
            let mentor =
                |p: usize| staff_named(plan, &format!("stf-partner-{}-mentor-001", partners[p]));
            let author = if partner_author { coordinator(0) } else { lead };
            let reviewed = !matches!(state, "draft" | "withdrawn");
            let mut roles = vec![
                (author, "author", 24.0 + k as f64 * 4.0),
                (mentor(0), "coDeveloper", 12.5),
                (coordinator(1), "subjectExpert", 6.0),
            ];
            if reviewed {
                roles.push((mentor(1), "reviewer", 3.0));
            }
            let approved = matches!(state, "approved" | "published" | "retired");
            if approved {
                roles.push((lead, "approver", 1.5));
            }
            for (person, role, hours) in roles {
                let Some(person) = person else { continue };
                let contributor_id = next_contributor.next();
                let model = record!(unit_contributor, ctx.at, contributor_id, format!("uc-{:05}", next_contributor.taken(contributor_base)), {
                    unit_version_id: id,
                    person_id: ids.person.id(plan.staff_person(person)),
                    org_id: ids.org.id(plan.staff[person].org),
                    contribution_role: role.to_owned(),
                    hours_contributed: Some(hours),
                });
                contributors.push(ctx, model).await?;
            }

            // Reviews: the partner reviewer comments once submitted; the academic lead asks for
            // changes or approves.
            let mut review_rows = Vec::new();
            if reviewed {
                review_rows.push((
                    mentor(1),
                    "comment",
                    "Good industry examples; consider a partner site visit.",
                    d.submitted + chrono::Duration::days(5),
                ));
            }
            if state == "changes_requested" {
                review_rows.push((
                    lead,
                    "requestChanges",
                    "Tighten the learning outcomes and align the hours with the course.",
                    d.decided,
                ));
            }
            if approved {
                review_rows.push((lead, "approve", "Approved for delivery.", d.decided));
            }
            for (person, decision, comments, at) in review_rows {
                let Some(person) = person else { continue };
                let model = record!(unit_review, ctx.at, next_review.next(), format!("ur-{:05}", next_review.taken(review_base)), {
                    unit_version_id: id,
                    reviewer_id: ids.person.id(plan.staff_person(person)),
                    decision: decision.to_owned(),
                    comments: Some(comments.to_owned()),
                    decided_at: at,
                });
                reviews.push(ctx, model).await?;
            }

            for (code, coverage) in spec.skills {
                let model = record!(unit_skill, ctx.at, next_unit_skill.next(), format!("us-{:05}", next_unit_skill.taken(unit_skill_base)), {
                    unit_version_id: id,
                    skill_id: cids.skill.id(skill_index(code)),
                    coverage: (*coverage).to_owned(),
                });
                unit_skills.push(ctx, model).await?;
            }
        }
    }
    versions.flush(ctx).await?;
    contributors.flush(ctx).await?;
    reviews.flush(ctx).await?;
    unit_skills.flush(ctx).await?;
    Ok(published)
}

/// Running offerings pin the current published version of each unit of their course; completed
/// ones the first version that was published.
async fn write_pins(
    ctx: &mut Ctx<'_>,
    plan: &Plan,
    ids: &Ids,
    published: &[Published],
) -> AppResult<()> {
    let mut sink = Sink::<offering_unit_version::Entity>::plain();
    for (i, o) in plan.offerings.iter().enumerate() {
        let running = match o.state {
            "running" => true,
            "completed" => false,
            _ => continue,
        };
        let mut pinned: Vec<usize> = Vec::new();
        for p in published.iter().filter(|p| p.course == o.course) {
            if pinned.contains(&p.unit) || (running && !p.current) {
                continue;
            }
            pinned.push(p.unit);
            let start = timestamp(o.start, 1, 0);
            sink.push(
                ctx,
                offering_unit_version::Model {
                    offering_id: ids.offering.id(i),
                    unit_version_id: p.version,
                    pinned_at: start.max(p.at),
                },
            )
            .await?;
        }
    }
    sink.flush(ctx).await
}

const EVIDENCE_KINDS: [&str; 4] = ["result", "activity", "portfolio", "mentorFeedback"];

/// Two to four pieces of evidence for every fourth student who took the ApL course, for skills
/// their track's jobs require; about a third shared with partners.
async fn write_evidence(
    ctx: &mut Ctx<'_>,
    plan: &Plan,
    ids: &Ids,
    cids: &CurriculumIds,
) -> AppResult<()> {
    let skills_of = |jobs: &[JobSpec]| {
        let mut list: Vec<usize> = jobs
            .iter()
            .flat_map(|j| j.requirements.iter().map(|r| skill_index(r.0)))
            .collect();
        list.sort_unstable();
        list.dedup();
        list
    };
    let ict = skills_of(&ICT_JOBS);
    let art = skills_of(&ART_TECH_JOBS);
    let base = max_id(ctx, "skill_evidence").await?;
    let mut next = Counter(base.0);
    let mut sink = Sink::<skill_evidence::Entity>::records("SkillEvidence");
    let latest = date(2026, 11, 20);
    for (i, s) in plan.students.iter().enumerate() {
        let Some(spell) = s.journey.apl else { continue };
        if s.n % 4 != 0 {
            continue;
        }
        let mut rng = Rng::keyed(SEED, stream::EVIDENCE, s.n as u64);
        let pool = if COHORTS[s.cohort].pathway == PATHWAY_ICT {
            &ict
        } else {
            &art
        };
        let until = spell.end.unwrap_or(latest).min(latest);
        let span = (until - spell.begin).num_days().max(1);
        for _ in 0..rng.range(2, 4) {
            let day = add_days(spell.begin, rng.range(0, span));
            let id = next.next();
            let model = record!(skill_evidence, ctx.at, id, format!("evidence-{:07}", next.taken(base)), {
                student_id: ids.person.id(plan.student_person(i)),
                skill_id: cids.skill.id(rng.pick(pool)),
                level: rng.range(1, 4) as i32,
                evidence_kind: rng.pick(&EVIDENCE_KINDS).to_owned(),
                assessed_at: timestamp(day, rng.range(1, 9), rng.range(0, 59)),
                shared_with_partners: rng.percent(33),
            });
            sink.push(ctx, model).await?;
        }
    }
    sink.flush(ctx).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_skill_code_used_exists() {
        let known = |code: &str| SKILLS.iter().any(|s| s.0 == code);
        for job in ART_TECH_JOBS.iter().chain(ICT_JOBS.iter()) {
            assert!((2..=3).contains(&job.duties.len()), "{}", job.code);
            assert!((4..=6).contains(&job.requirements.len()), "{}", job.code);
            for (code, proficiency, _) in job.requirements {
                assert!(known(code), "{code}");
                assert!((1..=4).contains(proficiency));
            }
        }
        for unit in &UNITS {
            for (code, _) in unit.skills {
                assert!(known(code), "{code}");
            }
        }
        let categories: std::collections::BTreeSet<&str> = SKILLS.iter().map(|s| s.3).collect();
        assert_eq!(categories.len(), 5);
    }

    #[test]
    fn unit_versions_follow_the_workflow_rules_and_cover_every_state() {
        let mut states = std::collections::BTreeSet::new();
        for unit in &UNITS {
            let working = unit
                .versions
                .iter()
                .filter(|(s, _)| {
                    matches!(*s, "draft" | "in_review" | "changes_requested" | "approved")
                })
                .count();
            let published = unit
                .versions
                .iter()
                .filter(|(s, _)| *s == "published")
                .count();
            assert!(working <= 1 && published <= 1, "{}", unit.title);
            for (k, (state, year)) in unit.versions.iter().enumerate() {
                states.insert(*state);
                if *state == "retired" {
                    // A retired version was replaced by a later published one.
                    assert!(
                        unit.versions[k + 1..]
                            .iter()
                            .any(|(s, _)| *s == "published")
                    );
                }
                if k > 0 {
                    assert!(*year >= unit.versions[k - 1].1, "{}", unit.title);
                }
            }
        }
        assert_eq!(states.len(), 7, "{states:?}");
    }

    #[test]
    fn a_published_version_has_the_full_path_and_a_retired_one_ends_retired() {
        let d = dates(2021);
        let retired_at = dates(2024).published;
        let steps: Vec<&str> = path("retired", &d, retired_at)
            .iter()
            .map(|s| s.1)
            .collect();
        assert_eq!(
            steps,
            ["draft", "in_review", "approved", "published", "retired"]
        );
        let steps: Vec<&str> = path("withdrawn", &d, retired_at)
            .iter()
            .map(|s| s.1)
            .collect();
        assert_eq!(steps, ["draft", "withdrawn"]);
    }
}
