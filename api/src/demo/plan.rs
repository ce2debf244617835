//! The demo data as plain values, built without I/O: the fixed catalogue (DOMAIN.md section 6
//! "Public facts") and the synthetic schools, partners, staff, students, guardians and journeys.
//! Everything is addressed by index; [`super::write`] turns indices into row ids.
//!
//! The plan is a pure function of the scale: every random choice comes from [`Rng`] seeded with
//! [`SEED`] and keyed by what it is for, so the same scale always gives the same data.

use std::ops::Range;

use chrono::{Days, NaiveDate};

use super::names::{
    DEMO_PARTNERS, DISTRICTS, FAMILY_NAMES, GIVEN_FEMALE, GIVEN_MALE, GIVEN_ZH, HOLD_REASONS,
    SCHOOL_FIRST, SCHOOL_SECOND,
};
use super::rng::Rng;

/// The fixed seed of every demo run ("CLAP-TECH, 2020-09-01").
pub const SEED: u64 = 0xC1A9_7EC4_2020_0901;

/// Random streams, one per kind of choice (see [`Rng::keyed`]).
pub mod stream {
    pub const ORG: u64 = 1;
    pub const STAFF: u64 = 2;
    pub const SCHOOL: u64 = 3;
    pub const OFFERING: u64 = 4;
    pub const STUDENT: u64 = 5;
    pub const CONSENT: u64 = 6;
    pub const MENTORSHIP: u64 = 7;
    pub const EVIDENCE: u64 = 8;
}

/// Students per school at scale 1 (70 × 19 = 1,330).
pub const STUDENTS_PER_SCHOOL: usize = 19;
/// Number of fictitious secondary schools.
pub const SCHOOLS: usize = 70;
/// Industry partners: 8 public ones and 27 fictitious ones.
pub const PARTNERS: usize = PUBLIC_PARTNERS.len() + DEMO_PARTNERS.len();

/// Org indices of the fixed organisations (index 0 is the Jockey Club Charities Trust).
pub const ORG_HKBU: usize = 1;
pub const ORG_SCE: usize = 2;
pub const ORG_COMM: usize = 3;
pub const ORG_CENTRE: usize = 4;
/// Org index of the first industry partner; partners are contiguous.
pub const FIRST_PARTNER: usize = 5;
/// Org index of the first school; schools are contiguous.
pub const FIRST_SCHOOL: usize = FIRST_PARTNER + PARTNERS;

/// Pathway stage codes by stage index within a pathway (seq = index + 1).
pub const STAGE_CODES: [&str; 5] = ["S4", "S5", "S6", "HD1", "HD2"];
pub const S4: u8 = 0;
pub const S5: u8 = 1;
pub const S6: u8 = 2;
pub const HD1: u8 = 3;
pub const HD2: u8 = 4;

/// Pathway indices and their sourcedId slugs.
pub const PATHWAY_ICT: usize = 0;
pub const PATHWAY_CM: usize = 1;
pub const PATHWAY_SLUGS: [&str; 2] = ["ict", "cm"];

/// Course indices.
pub const COURSE_TECHBASICS: usize = 0;
pub const COURSE_MMST: usize = 1;
pub const COURSE_HD_DS: usize = 2;
pub const COURSE_BOOTCAMP: usize = 3;

/// The first and last school years of the calendar (2020/21 … 2025/26), by start year.
pub const FIRST_YEAR: i32 = 2020;
pub const LAST_YEAR: i32 = 2025;
/// Number of school years in the calendar.
pub const YEARS: usize = (LAST_YEAR - FIRST_YEAR + 1) as usize;

/// A public industry partner.
pub struct PublicPartner {
    /// sourcedId suffix: `org-partner-<slug>`.
    pub slug: &'static str,
    pub name: &'static str,
    pub name_zh: Option<&'static str>,
    pub sectors: &'static [&'static str],
    /// Year the (demo) partnership began, on 1 September.
    pub since: i32,
    pub website: Option<&'static str>,
}

/// The public industry partners (DOMAIN.md section 6).
pub const PUBLIC_PARTNERS: &[PublicPartner] = &[
    PublicPartner {
        slug: "ibm",
        name: "IBM",
        name_zh: None,
        sectors: &["ict"],
        since: 2020,
        website: Some("https://www.ibm.com"),
    },
    PublicPartner {
        slug: "microsoft",
        name: "Microsoft",
        name_zh: None,
        sectors: &["ict"],
        since: 2020,
        website: Some("https://www.microsoft.com"),
    },
    PublicPartner {
        slug: "towngas",
        name: "The Hong Kong and China Gas Company (Towngas)",
        name_zh: Some("香港中華煤氣有限公司"),
        sectors: &["utilities", "energy"],
        since: 2021,
        website: Some("https://www.towngas.com"),
    },
    PublicPartner {
        slug: "ubs",
        name: "UBS",
        name_zh: None,
        sectors: &["financialServices"],
        since: 2021,
        website: Some("https://www.ubs.com"),
    },
    PublicPartner {
        slug: "adobe",
        name: "Adobe",
        name_zh: None,
        sectors: &["creativeMedia", "software"],
        since: 2022,
        website: Some("https://www.adobe.com"),
    },
    PublicPartner {
        slug: "cmrs",
        name: "CMRS Group",
        name_zh: None,
        sectors: &["professionalServices"],
        since: 2021,
        website: None,
    },
    PublicPartner {
        slug: "equinix",
        name: "Equinix",
        name_zh: None,
        sectors: &["ict", "dataCentres"],
        since: 2021,
        website: Some("https://www.equinix.com"),
    },
    PublicPartner {
        slug: "3screens",
        name: "3 Screens Strategic Advisors Limited",
        name_zh: None,
        sectors: &["creativeMedia", "consulting"],
        since: 2022,
        website: None,
    },
];

/// A cohort: an intake of one pathway in one school year.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CohortSpec {
    /// sourcedId suffix, e.g. `ict-2020` for `cohort-ict-2020`.
    pub slug: &'static str,
    pub code: &'static str,
    pub pathway: usize,
    /// Start year of the intake school year.
    pub year: i32,
}

impl CohortSpec {
    /// The intake date (1 September of the intake year).
    pub fn intake(&self) -> NaiveDate {
        date(self.year, 9, 1)
    }

    /// The HKDSE year at the end of S6 (the intake school year's end year + 2).
    pub fn hkdse_year(&self) -> i32 {
        self.year + 3
    }

    /// The first day of the school year in which a student on schedule is at `stage`.
    pub fn stage_start(&self, stage: u8) -> NaiveDate {
        date(self.year + i32::from(stage), 9, 1)
    }

    /// Index of the intake school year among the calendar's years.
    pub fn intake_session(&self) -> usize {
        year_session(self.year)
    }
}

/// The four demo cohorts.
pub const COHORTS: [CohortSpec; 4] = [
    CohortSpec {
        slug: "ict-2020",
        code: "ICT-2020",
        pathway: PATHWAY_ICT,
        year: 2020,
    },
    CohortSpec {
        slug: "ict-2021",
        code: "ICT-2021",
        pathway: PATHWAY_ICT,
        year: 2021,
    },
    CohortSpec {
        slug: "cm-2022",
        code: "CM-2022",
        pathway: PATHWAY_CM,
        year: 2022,
    },
    CohortSpec {
        slug: "cm-2023",
        code: "CM-2023",
        pathway: PATHWAY_CM,
        year: 2023,
    },
];

/// A calendar date from parts known to be valid; an invalid date (a bug) gives 1970-01-01 rather
/// than a panic.
pub fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap_or_default()
}

/// `day` moved by `days` (negative moves back).
pub fn add_days(day: NaiveDate, days: i64) -> NaiveDate {
    let moved = if days >= 0 {
        day.checked_add_days(Days::new(days.unsigned_abs()))
    } else {
        day.checked_sub_days(Days::new(days.unsigned_abs()))
    };
    moved.unwrap_or(day)
}

/// Session index of the school year starting in `year`.
pub fn year_session(year: i32) -> usize {
    usize::try_from(year - FIRST_YEAR).unwrap_or_default()
}

/// Session index of term `term` (0 or 1) of the school year starting in `year`.
pub fn term_session(year: i32, term: usize) -> usize {
    YEARS + 2 * year_session(year) + term
}

/// The `sessionType` `term` sessions of the school years `from_year .. from_year + years` that lie
/// within the calendar.
fn terms_of(from_year: i32, years: i32) -> Vec<usize> {
    (from_year..from_year + years)
        .filter(|year| (FIRST_YEAR..=LAST_YEAR).contains(year))
        .flat_map(|year| [term_session(year, 0), term_session(year, 1)])
        .collect()
}

/// An organisation.
#[derive(Clone, Debug, PartialEq)]
pub struct OrgSpec {
    pub sourced_id: String,
    pub name_en: String,
    pub name_zh: Option<&'static str>,
    pub org_type: &'static str,
    pub parent: Option<usize>,
    /// EDB-style school number (scheme `hk-edb-school-no`), fictitious.
    pub identifier: Option<String>,
    pub district: Option<&'static str>,
    pub finance: Option<&'static str>,
    pub sectors: Option<Vec<&'static str>>,
    pub website: Option<&'static str>,
    pub partner_since: Option<NaiveDate>,
}

impl OrgSpec {
    fn new(sourced_id: &str, name_en: &str, org_type: &'static str, parent: Option<usize>) -> Self {
        Self {
            sourced_id: sourced_id.to_owned(),
            name_en: name_en.to_owned(),
            name_zh: None,
            org_type,
            parent,
            identifier: None,
            district: None,
            finance: None,
            sectors: None,
            website: None,
            partner_since: None,
        }
    }

    /// The sourcedId without its `org-` prefix (`school-001`, `partner-ibm`).
    pub fn slug(&self) -> &str {
        self.sourced_id
            .strip_prefix("org-")
            .unwrap_or(&self.sourced_id)
    }
}

/// A secondary school and its part in the programme.
#[derive(Clone, Debug, PartialEq)]
pub struct School {
    /// Org index.
    pub org: usize,
    /// Cohorts the school takes part in (one or two).
    pub cohorts: Vec<usize>,
    /// Offering index of its ApL class for each of `cohorts`.
    pub offerings: Vec<usize>,
    /// Staff index of its schoolCoordinator.
    pub coordinator: usize,
    /// Staff indices of its teachers.
    pub teachers: Vec<usize>,
}

/// A staff member: programme office, academic unit, school or partner.
#[derive(Clone, Debug, PartialEq)]
pub struct Staff {
    pub sourced_id: String,
    /// Org index of the primary role.
    pub org: usize,
    pub role: &'static str,
    pub given: &'static str,
    pub family: usize,
    pub name_zh: Option<String>,
    pub begin: NaiveDate,
}

/// A course offering (class).
#[derive(Clone, Debug, PartialEq)]
pub struct Offering {
    pub sourced_id: String,
    pub class_code: String,
    pub course: usize,
    /// School index (not org index); `None` for a provider-level offering.
    pub school: Option<usize>,
    pub cohort: usize,
    pub mode: &'static str,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub state: &'static str,
    /// Session indices of its terms.
    pub terms: Vec<usize>,
    /// Staff index of the teacher, and the org the teaching enrolment is recorded under.
    pub teacher: usize,
    pub teacher_org: usize,
}

/// One StatusHistory row of a pathway enrolment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    pub from: Option<&'static str>,
    pub to: &'static str,
    pub from_stage: Option<u8>,
    pub to_stage: Option<u8>,
    pub on: NaiveDate,
    pub reason: Option<&'static str>,
}

/// A course enrolment of a student.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spell {
    pub state: &'static str,
    pub begin: NaiveDate,
    pub end: Option<NaiveDate>,
    pub hours: Option<f64>,
}

/// A student's way through the pathway.
#[derive(Clone, Debug, PartialEq)]
pub struct Journey {
    /// PathwayEnrollment state.
    pub state: &'static str,
    /// Current stage (index); `None` before enrolment.
    pub stage: Option<u8>,
    /// Transitions and stage changes, oldest first.
    pub events: Vec<Event>,
    /// PathwayEnrollment end date (terminal states only).
    pub end: Option<NaiveDate>,
    pub exit_reason: Option<&'static str>,
    /// When the student left the school (ends their school role assignments).
    pub left_school: Option<NaiveDate>,
    /// The student role at the HD provider (articulated students): begin and end.
    pub hd_role: Option<(NaiveDate, Option<NaiveDate>)>,
    /// Enrolment in the school's ApL offering.
    pub apl: Option<Spell>,
    /// Enrolment in the Higher Diploma offering.
    pub hd: Option<Spell>,
}

impl Journey {
    fn push(
        &mut self,
        from: Option<&'static str>,
        to: &'static str,
        stages: (Option<u8>, Option<u8>),
        on: NaiveDate,
        reason: Option<&'static str>,
    ) {
        self.events.push(Event {
            from,
            to,
            from_stage: stages.0,
            to_stage: stages.1,
            on,
            reason,
        });
    }
}

/// A student.
#[derive(Clone, Debug, PartialEq)]
pub struct Student {
    /// 1-based number: `stu-000001`.
    pub n: usize,
    /// School index.
    pub school: usize,
    pub cohort: usize,
    /// Offering index of the ApL class.
    pub offering: usize,
    /// Offering index of the Higher Diploma class of the cohort, if any.
    pub hd_offering: Option<usize>,
    pub given: &'static str,
    pub family: usize,
    pub name_zh: Option<String>,
    pub preferred_name: bool,
    pub dob: Option<NaiveDate>,
    /// Staff index of the partner mentor the student is matched with.
    pub mentor: usize,
    /// Indices into [`Plan::guardians`].
    pub guardians: Range<usize>,
    pub journey: Journey,
}

/// A parent or guardian.
#[derive(Clone, Debug, PartialEq)]
pub struct Guardian {
    /// Student index.
    pub student: usize,
    pub relationship: &'static str,
    pub parental_responsibility: bool,
    pub given: &'static str,
    pub family: usize,
    pub name_zh: Option<String>,
    pub has_email: bool,
}

/// Everything to write. Person indices: staff first, then students, then guardians.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub orgs: Vec<OrgSpec>,
    pub schools: Vec<School>,
    pub staff: Vec<Staff>,
    pub offerings: Vec<Offering>,
    pub students: Vec<Student>,
    pub guardians: Vec<Guardian>,
}

impl Plan {
    /// Person index of staff member `i`.
    pub fn staff_person(&self, i: usize) -> usize {
        i
    }

    /// Person index of student `i`.
    pub fn student_person(&self, i: usize) -> usize {
        self.staff.len() + i
    }

    /// Person index of guardian `i`.
    pub fn guardian_person(&self, i: usize) -> usize {
        self.staff.len() + self.students.len() + i
    }

    /// Org index of school `i`.
    pub fn school_org(&self, i: usize) -> usize {
        FIRST_SCHOOL + i
    }

    /// Builds the plan for `scale` (1 = about 1,330 students; 0 counts as 1).
    pub fn build(scale: u32) -> Self {
        let scale = usize::try_from(scale.max(1)).unwrap_or(1);
        let orgs = build_orgs();
        let mut staff = Vec::new();

        let mut rng = Rng::keyed(SEED, stream::STAFF, 0);
        let office_begin = date(2020, 6, 1);
        add_staff(
            &mut staff,
            &mut rng,
            "stf-claptech-admin-1".into(),
            ORG_CENTRE,
            "programmeAdmin",
            office_begin,
        );
        for k in 1..=2 {
            let id = format!("stf-claptech-staff-{k}");
            add_staff(
                &mut staff,
                &mut rng,
                id,
                ORG_CENTRE,
                "programmeStaff",
                office_begin,
            );
        }
        let sce_lead = add_staff(
            &mut staff,
            &mut rng,
            "stf-hkbu-sce-lead-1".into(),
            ORG_SCE,
            "academicLead",
            office_begin,
        );
        add_staff(
            &mut staff,
            &mut rng,
            "stf-hkbu-comm-lead-1".into(),
            ORG_COMM,
            "academicLead",
            date(2022, 3, 1),
        );

        // Schools: cohorts, coordinator and teachers, and one ApL offering per cohort.
        let mut schools = Vec::with_capacity(SCHOOLS);
        let mut offerings = Vec::new();
        for i in 0..SCHOOLS {
            let mut rng = Rng::keyed(SEED, stream::SCHOOL, i as u64);
            let org = FIRST_SCHOOL + i;
            let first = i * COHORTS.len() / SCHOOLS;
            let mut cohorts = vec![first];
            if i % 3 == 1 {
                cohorts.push((first + 2) % COHORTS.len());
            }
            let earliest = cohorts
                .iter()
                .map(|&c| COHORTS[c].year)
                .min()
                .unwrap_or(FIRST_YEAR);
            let begin = date(earliest, 7, 1);
            let slug = orgs[org].slug().to_owned();
            let coordinator = add_staff(
                &mut staff,
                &mut rng,
                format!("stf-{slug}-coord-1"),
                org,
                "schoolCoordinator",
                begin,
            );
            let teacher_count = if cohorts.len() == 2 || rng.percent(40) {
                2
            } else {
                1
            };
            let teachers: Vec<usize> = (1..=teacher_count)
                .map(|k| {
                    add_staff(
                        &mut staff,
                        &mut rng,
                        format!("stf-{slug}-teacher-{k}"),
                        org,
                        "teacher",
                        begin,
                    )
                })
                .collect();
            let mut school_offerings = Vec::new();
            for (slot, &cohort) in cohorts.iter().enumerate() {
                let teacher = teachers[slot % teachers.len()];
                school_offerings.push(offerings.len());
                offerings.push(apl_offering(i, &slug, cohort, teacher, org));
            }
            schools.push(School {
                org,
                cohorts,
                offerings: school_offerings,
                coordinator,
                teachers,
            });
        }
        // One Higher Diploma class at the provider per ICT cohort.
        let mut hd_offerings = [None; COHORTS.len()];
        for (c, cohort) in COHORTS
            .iter()
            .enumerate()
            .filter(|(_, c)| c.pathway == PATHWAY_ICT)
        {
            hd_offerings[c] = Some(offerings.len());
            let start = cohort.stage_start(HD1);
            offerings.push(Offering {
                sourced_id: format!("offering-hd-ds-{}", cohort.slug),
                class_code: format!("HDDS-{}", cohort.hkdse_year()),
                course: COURSE_HD_DS,
                school: None,
                cohort: c,
                mode: "mode1AtProvider",
                start,
                end: date(cohort.year + 5, 9, 1),
                state: "running",
                terms: terms_of(cohort.year + 3, 2),
                teacher: sce_lead,
                teacher_org: ORG_SCE,
            });
        }

        // Partner coordinators, then mentors spread round-robin over the partners.
        let mut rng = Rng::keyed(SEED, stream::STAFF, 1);
        for p in 0..PARTNERS {
            let org = FIRST_PARTNER + p;
            let slug = orgs[org].slug().to_owned();
            let begin = orgs[org].partner_since.unwrap_or(office_begin);
            add_staff(
                &mut staff,
                &mut rng,
                format!("stf-{slug}-coord-1"),
                org,
                "partnerCoordinator",
                begin,
            );
        }
        let student_total = SCHOOLS * STUDENTS_PER_SCHOOL * scale;
        let mentor_total = (student_total * 2).div_ceil(9);
        let mut mentors = Vec::with_capacity(mentor_total);
        for m in 0..mentor_total {
            let org = FIRST_PARTNER + m % PARTNERS;
            let slug = orgs[org].slug().to_owned();
            let since = orgs[org].partner_since.unwrap_or(office_begin);
            let begin = add_days(since, rng.range(0, 400));
            let id = format!("stf-{slug}-mentor-{:03}", m / PARTNERS + 1);
            mentors.push(add_staff(&mut staff, &mut rng, id, org, "mentor", begin));
        }

        // Students and their guardians, school by school.
        let mut students = Vec::with_capacity(student_total);
        let mut guardians = Vec::with_capacity(student_total * 6 / 5);
        let per_school = STUDENTS_PER_SCHOOL * scale;
        for (s, school) in schools.iter().enumerate() {
            let split = if school.cohorts.len() == 2 {
                per_school * 3 / 5
            } else {
                per_school
            };
            for k in 0..per_school {
                let slot = usize::from(k >= split);
                let cohort = school.cohorts[slot.min(school.cohorts.len() - 1)];
                let offering = school.offerings[slot.min(school.offerings.len() - 1)];
                let index = students.len();
                let n = index + 1;
                let mut rng = Rng::keyed(SEED, stream::STUDENT, n as u64);
                let spec = &COHORTS[cohort];
                let female = rng.percent(50);
                let given = rng.pick(if female { GIVEN_FEMALE } else { GIVEN_MALE });
                let family = rng.index(FAMILY_NAMES.len());
                let name_zh = rng.percent(60).then(|| chinese_name(&mut rng, family));
                let preferred_name = rng.percent(70);
                let dob = (!rng.percent(5)).then(|| {
                    let year = spec.year - 15 - i32::from(rng.percent(12));
                    date(year, rng.range(1, 12) as u32, rng.range(1, 28) as u32)
                });
                let hd_offering = hd_offerings[cohort];
                let journey = journey(
                    &mut rng,
                    cohort,
                    &offerings[offering],
                    hd_offering.map(|o| &offerings[o]),
                );
                let first_guardian = guardians.len();
                for (relationship, parental_responsibility) in guardian_roles(&mut rng) {
                    let father = relationship == "father";
                    let (given, gfamily, name_zh) = adult_name(&mut rng, Some(relationship));
                    let gfamily = if father { family } else { gfamily };
                    let name_zh = name_zh.map(|_| chinese_name(&mut rng, gfamily));
                    guardians.push(Guardian {
                        student: index,
                        relationship,
                        parental_responsibility,
                        given,
                        family: gfamily,
                        name_zh,
                        has_email: rng.percent(80),
                    });
                }
                let mentor =
                    mentors[index * mentor_total / student_total.max(1) % mentor_total.max(1)];
                students.push(Student {
                    n,
                    school: s,
                    cohort,
                    offering,
                    hd_offering,
                    given,
                    family,
                    name_zh,
                    preferred_name,
                    dob,
                    mentor,
                    guardians: first_guardian..guardians.len(),
                    journey,
                });
            }
        }
        Self {
            orgs,
            schools,
            staff,
            offerings,
            students,
            guardians,
        }
    }
}

/// Appends a staff member with a fictitious name; returns their staff index.
fn add_staff(
    staff: &mut Vec<Staff>,
    rng: &mut Rng,
    sourced_id: String,
    org: usize,
    role: &'static str,
    begin: NaiveDate,
) -> usize {
    let (given, family, name_zh) = adult_name(rng, None);
    staff.push(Staff {
        sourced_id,
        org,
        role,
        given,
        family,
        name_zh,
        begin,
    });
    staff.len() - 1
}

/// The fixed organisations, the partners and the schools, in org-index order.
fn build_orgs() -> Vec<OrgSpec> {
    let mut orgs = Vec::with_capacity(FIRST_SCHOOL + SCHOOLS);
    let mut trust = OrgSpec::new(
        "org-hkjc-trust",
        "The Hong Kong Jockey Club Charities Trust",
        "funder",
        None,
    );
    trust.name_zh = Some("香港賽馬會慈善信託基金");
    trust.website = Some("https://charities.hkjc.com");
    orgs.push(trust);
    let mut hkbu = OrgSpec::new(
        "org-hkbu",
        "Hong Kong Baptist University",
        "university",
        None,
    );
    hkbu.name_zh = Some("香港浸會大學");
    hkbu.website = Some("https://www.hkbu.edu.hk");
    orgs.push(hkbu);
    let mut sce = OrgSpec::new(
        "org-hkbu-sce",
        "School of Continuing Education",
        "academicUnit",
        Some(ORG_HKBU),
    );
    sce.name_zh = Some("持續教育學院");
    orgs.push(sce);
    let mut comm = OrgSpec::new(
        "org-hkbu-comm",
        "School of Communication",
        "academicUnit",
        Some(ORG_HKBU),
    );
    comm.name_zh = Some("傳理學院");
    orgs.push(comm);
    orgs.push(OrgSpec::new(
        "org-claptech-centre",
        "CLAP-TECH Centre",
        "programmeOffice",
        Some(ORG_HKBU),
    ));

    for partner in PUBLIC_PARTNERS {
        let sourced_id = format!("org-partner-{}", partner.slug);
        let mut org = OrgSpec::new(&sourced_id, partner.name, "industryPartner", None);
        org.name_zh = partner.name_zh;
        org.sectors = Some(partner.sectors.to_vec());
        org.partner_since = Some(date(partner.since, 9, 1));
        org.website = partner.website;
        orgs.push(org);
    }
    for (k, &(name, sectors)) in DEMO_PARTNERS.iter().enumerate() {
        let mut rng = Rng::keyed(SEED, stream::ORG, k as u64);
        let sourced_id = format!("org-partner-demo-{:02}", k + 1);
        let mut org = OrgSpec::new(
            &sourced_id,
            &format!("DEMO- {name} Limited"),
            "industryPartner",
            None,
        );
        org.sectors = Some(sectors.to_vec());
        org.partner_since = Some(date(
            2020 + rng.range(0, 3) as i32,
            rng.range(1, 12) as u32,
            rng.range(1, 28) as u32,
        ));
        orgs.push(org);
    }
    for i in 0..SCHOOLS {
        let mut rng = Rng::keyed(SEED, stream::ORG, 1000 + i as u64);
        let first = SCHOOL_FIRST[i % SCHOOL_FIRST.len()];
        let second = SCHOOL_SECOND[(i / SCHOOL_FIRST.len()) % SCHOOL_SECOND.len()];
        let kind = if rng.percent(65) {
            "Secondary School"
        } else {
            "College"
        };
        let mut org = OrgSpec::new(
            &format!("org-school-{:03}", i + 1),
            &format!("DEMO- {first} {second} {kind}"),
            "secondarySchool",
            None,
        );
        org.identifier = Some(format!("DEMO-{:04}", i + 1));
        org.district = Some(DISTRICTS[(i * 7 + rng.index(3)) % DISTRICTS.len()]);
        org.finance = Some(rng.weighted(&[
            ("aided", 60),
            ("government", 10),
            ("dss", 18),
            ("caput", 5),
            ("private", 7),
        ]));
        orgs.push(org);
    }
    orgs
}

/// The ApL offering of school `school` (index) for `cohort`.
fn apl_offering(
    school: usize,
    school_slug: &str,
    cohort: usize,
    teacher: usize,
    org: usize,
) -> Offering {
    let spec = &COHORTS[cohort];
    let mut rng = Rng::keyed(
        SEED,
        stream::OFFERING,
        (school * COHORTS.len() + cohort) as u64,
    );
    let ict = spec.pathway == PATHWAY_ICT;
    // Tech Basics spans S4–S6; Multimedia Storytelling runs in S5–S6 as ApL normally does.
    let (course, prefix, first_year) = if ict {
        (COURSE_TECHBASICS, "TB", spec.year)
    } else {
        (COURSE_MMST, "MS", spec.year + 1)
    };
    let state = if spec.year <= 2022 {
        "completed"
    } else if school.is_multiple_of(5) {
        "open_for_enrolment"
    } else {
        "running"
    };
    Offering {
        sourced_id: format!("offering-{school_slug}-{}", spec.slug),
        class_code: format!("{prefix}-{}-S{:03}", spec.year, school + 1),
        course,
        school: Some(school),
        cohort,
        mode: rng.weighted(&[("mode2SchoolBased", 70), ("mode1AtProvider", 30)]),
        start: date(first_year, 9, 1),
        end: date(spec.year + 3, 9, 1),
        state,
        terms: terms_of(first_year, spec.year + 3 - first_year),
        teacher,
        teacher_org: org,
    }
}

/// A fictitious adult: given name (by the relationship's sex where it has one), family name index
/// and, for about half, a Chinese name (its characters are redrawn by the caller if the family
/// name changes).
fn adult_name(rng: &mut Rng, relationship: Option<&str>) -> (&'static str, usize, Option<String>) {
    let female = match relationship {
        Some("mother") => true,
        Some("father") => false,
        _ => rng.percent(50),
    };
    let given = rng.pick(if female { GIVEN_FEMALE } else { GIVEN_MALE });
    let family = rng.index(FAMILY_NAMES.len());
    let name_zh = rng.percent(50).then(|| chinese_name(rng, family));
    (given, family, name_zh)
}

/// A Chinese name: the family name's character and two given-name characters.
fn chinese_name(rng: &mut Rng, family: usize) -> String {
    let (_, family_zh) = FAMILY_NAMES[family];
    format!("{family_zh}{}{}", rng.pick(GIVEN_ZH), rng.pick(GIVEN_ZH))
}

/// The guardians of one student: (relationship, has parental responsibility).
fn guardian_roles(rng: &mut Rng) -> Vec<(&'static str, bool)> {
    if rng.percent(15) {
        return vec![("mother", true), ("father", true)];
    }
    let relationship = rng.weighted(&[("mother", 50), ("father", 35), ("guardian", 15)]);
    let responsibility = relationship != "guardian" || rng.percent(70);
    vec![(relationship, responsibility)]
}

/// PathwayEnrollment states and their weights per cohort. Most stay non-terminal (enrolled or
/// on hold, still at school) so that dashboards have live data even though the calendar has moved
/// on; the older ICT cohorts also have students who completed S6 and articulated to the HD.
fn state_weights(cohort: usize) -> &'static [(&'static str, u32)] {
    match cohort {
        0 => &[
            ("enrolled", 52),
            ("on_hold", 8),
            ("applied", 3),
            ("offered", 3),
            ("withdrawn", 7),
            ("exited", 5),
            ("secondary_completed", 7),
            ("articulated", 12),
            ("completed", 3),
        ],
        1 => &[
            ("enrolled", 52),
            ("on_hold", 8),
            ("applied", 3),
            ("offered", 3),
            ("withdrawn", 7),
            ("exited", 5),
            ("secondary_completed", 7),
            ("articulated", 15),
        ],
        _ => &[
            ("enrolled", 66),
            ("on_hold", 9),
            ("applied", 5),
            ("offered", 4),
            ("withdrawn", 9),
            ("exited", 7),
        ],
    }
}

/// Weights of the current senior-secondary stage (S4, S5, S6) of students still enrolled.
fn stage_weights(cohort: usize) -> &'static [(u8, u32)] {
    match cohort {
        0 => &[(S4, 5), (S5, 15), (S6, 80)],
        1 => &[(S4, 5), (S5, 20), (S6, 75)],
        2 => &[(S4, 10), (S5, 25), (S6, 65)],
        _ => &[(S4, 15), (S5, 40), (S6, 45)],
    }
}

/// Draws a student's pathway journey: state, stage, history, exits and course enrolments.
fn journey(rng: &mut Rng, cohort: usize, apl: &Offering, hd: Option<&Offering>) -> Journey {
    let spec = &COHORTS[cohort];
    let intake = spec.intake();
    let hkdse = spec.hkdse_year();
    let state = rng.weighted(state_weights(cohort));
    let mut j = Journey {
        state,
        stage: None,
        events: Vec::with_capacity(6),
        end: None,
        exit_reason: None,
        left_school: None,
        hd_role: None,
        apl: None,
        hd: None,
    };
    j.push(
        None,
        "applied",
        (None, None),
        add_days(intake, -rng.range(25, 60)),
        None,
    );
    if state == "applied" {
        return j;
    }
    let offered_on = add_days(intake, -rng.range(5, 20));
    j.push(Some("applied"), "offered", (None, None), offered_on, None);
    if state == "offered" {
        return j;
    }
    if state == "withdrawn" && rng.percent(20) {
        // Withdrew before taking up the offer.
        let on = add_days(offered_on, rng.range(1, 4));
        j.push(Some("offered"), "withdrawn", (None, None), on, None);
        j.end = Some(on);
        j.left_school = Some(on);
        j.exit_reason = Some(rng.pick(&["withdrewByChoice", "transferredSchool", "other"]));
        return j;
    }
    j.push(Some("offered"), "enrolled", (None, Some(S4)), intake, None);
    let target = match state {
        "enrolled" | "on_hold" => rng.weighted(stage_weights(cohort)),
        "withdrawn" => rng.range(i64::from(S4), i64::from(S6)) as u8,
        _ => S6,
    };
    for stage in S5..=target {
        j.push(
            Some("enrolled"),
            "enrolled",
            (Some(stage - 1), Some(stage)),
            spec.stage_start(stage),
            None,
        );
    }
    j.stage = Some(target);
    match state {
        "on_hold" => {
            let on = add_days(spec.stage_start(target), rng.range(20, 250));
            j.push(
                Some("enrolled"),
                "on_hold",
                (None, None),
                on,
                Some(rng.pick(HOLD_REASONS)),
            );
        }
        "withdrawn" => {
            let on = add_days(spec.stage_start(target), rng.range(30, 300));
            j.push(Some("enrolled"), "withdrawn", (None, None), on, None);
            j.end = Some(on);
            j.left_school = Some(on);
            j.exit_reason = Some(rng.weighted(&[
                ("withdrewByChoice", 40),
                ("transferredSchool", 20),
                ("notMeetingRequirements", 15),
                ("leftHongKong", 15),
                ("other", 10),
            ]));
        }
        "exited" => {
            let on = date(hkdse, 7, rng.range(15, 31) as u32);
            j.push(Some("enrolled"), "exited", (None, None), on, None);
            j.end = Some(on);
            j.left_school = Some(on);
            j.exit_reason = Some(rng.weighted(&[("toOtherStudy", 55), ("toEmployment", 45)]));
        }
        "secondary_completed" | "articulated" | "completed" => {
            let on = date(hkdse, 7, rng.range(15, 20) as u32);
            j.push(
                Some("enrolled"),
                "secondary_completed",
                (None, None),
                on,
                None,
            );
            j.left_school = Some(date(hkdse, 9, 1));
            if state != "secondary_completed" {
                let hd_start = spec.stage_start(HD1);
                j.push(
                    Some("secondary_completed"),
                    "articulated",
                    (Some(S6), Some(HD1)),
                    hd_start,
                    None,
                );
                j.stage = Some(HD1);
                let second_year = if cohort == 0 { 75 } else { 60 };
                if state == "completed" || rng.percent(second_year) {
                    let on = spec.stage_start(HD2);
                    j.push(
                        Some("articulated"),
                        "articulated",
                        (Some(HD1), Some(HD2)),
                        on,
                        None,
                    );
                    j.stage = Some(HD2);
                }
                if state == "completed" {
                    let on = date(hkdse + 2, 7, rng.range(1, 28) as u32);
                    j.push(Some("articulated"), "completed", (None, None), on, None);
                    j.end = Some(on);
                }
                j.hd_role = Some((hd_start, j.end));
            }
        }
        _ => {}
    }
    j.apl = apl_spell(rng, &j, apl);
    j.hd = hd.and_then(|o| match state {
        "articulated" => Some(Spell {
            state: "enrolled",
            begin: o.start,
            end: None,
            hours: None,
        }),
        "completed" => Some(Spell {
            state: "completed",
            begin: o.start,
            end: j.end,
            hours: None,
        }),
        _ => None,
    });
    j
}

/// Contact hours in half-hour steps between `lo` and `hi`.
fn hours(rng: &mut Rng, lo: i64, hi: i64) -> f64 {
    rng.range(lo * 2, hi * 2) as f64 / 2.0
}

/// The student's enrolment in their ApL class, consistent with the pathway journey.
fn apl_spell(rng: &mut Rng, j: &Journey, o: &Offering) -> Option<Spell> {
    j.stage?;
    let begin = o.start;
    let enrolled = |hours| {
        Some(Spell {
            state: "enrolled",
            begin,
            end: None,
            hours,
        })
    };
    let completed = |hours| {
        Some(Spell {
            state: "completed",
            begin,
            end: Some(o.end),
            hours: Some(hours),
        })
    };
    if j.state == "withdrawn" {
        let end = j.end?;
        if end <= begin {
            return None;
        }
        let attended = rng.percent(85).then(|| hours(rng, 0, 60));
        return Some(Spell {
            state: "withdrawn",
            begin,
            end: Some(end),
            hours: attended,
        });
    }
    if o.state == "open_for_enrolment" {
        return enrolled(None);
    }
    let full = |rng: &mut Rng| {
        if rng.percent(88) {
            hours(rng, 144, 180)
        } else {
            hours(rng, 100, 143)
        }
    };
    match j.state {
        "enrolled" | "on_hold" => {
            if o.state == "completed" && j.stage == Some(S6) && rng.percent(65) {
                return completed(full(rng));
            }
            let (lo, hi) = match (o.state, j.stage) {
                ("completed", Some(S6)) => (90, 170),
                ("completed", _) => (30, 120),
                _ => (20, 150),
            };
            let attended = rng.percent(90).then(|| hours(rng, lo, hi));
            enrolled(attended)
        }
        _ => completed(full(rng)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_scale_gives_the_same_plan() {
        assert_eq!(Plan::build(1), Plan::build(1));
    }

    #[test]
    fn the_plan_has_the_documented_shape() {
        let plan = Plan::build(1);
        assert_eq!(plan.orgs.len(), FIRST_SCHOOL + SCHOOLS);
        assert_eq!(plan.schools.len(), 70);
        assert_eq!(plan.students.len(), 1_330);
        assert!(plan.guardians.len() > plan.students.len());
        let mentors = plan.staff.iter().filter(|s| s.role == "mentor").count();
        assert!(
            (1_330 / 5..=1_330 / 4).contains(&mentors),
            "{mentors} mentors"
        );
        for cohort in 0..COHORTS.len() {
            let of_cohort: Vec<&Student> = plan
                .students
                .iter()
                .filter(|s| s.cohort == cohort)
                .collect();
            let live = of_cohort
                .iter()
                .filter(|s| matches!(s.journey.state, "enrolled" | "on_hold"))
                .count();
            assert!(
                live * 2 > of_cohort.len(),
                "cohort {cohort}: {live} of {}",
                of_cohort.len()
            );
            assert!(of_cohort.iter().all(|s| s.journey.left_school.is_none()
                == matches!(
                    s.journey.state,
                    "enrolled" | "on_hold" | "applied" | "offered"
                )));
        }
        for org in &plan.orgs {
            assert!(org.sourced_id.starts_with("org-"));
        }
        let mut ids: Vec<&str> = plan.staff.iter().map(|s| s.sourced_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), plan.staff.len(), "staff sourcedIds are unique");
        assert_eq!(plan.orgs[FIRST_SCHOOL].sourced_id, "org-school-001");
        assert_eq!(
            plan.orgs[FIRST_PARTNER + PARTNERS - 1].sourced_id,
            "org-partner-demo-27"
        );
    }

    #[test]
    fn journeys_are_consistent() {
        let plan = Plan::build(1);
        for s in &plan.students {
            let j = &s.journey;
            assert_eq!(j.events.first().map(|e| e.to), Some("applied"));
            let last_state = j.events.iter().rev().map(|e| e.to).next();
            assert_eq!(last_state, Some(j.state));
            for pair in j.events.windows(2) {
                assert!(pair[0].on <= pair[1].on, "history in order for stu {}", s.n);
                assert_eq!(pair[1].from, Some(pair[0].to));
            }
            let terminal = matches!(j.state, "withdrawn" | "exited" | "completed");
            assert_eq!(terminal, j.end.is_some());
            assert_eq!(terminal, j.exit_reason.is_some() || j.state == "completed");
            if let Some(spell) = j.apl {
                assert!(spell.end.is_none_or(|end| end > spell.begin));
            }
        }
    }

    #[test]
    fn calendar_helpers_give_valid_dates() {
        assert_eq!(date(2020, 9, 1).to_string(), "2020-09-01");
        assert_eq!(add_days(date(2021, 3, 1), -1), date(2021, 2, 28));
        assert_eq!(COHORTS[0].hkdse_year(), 2023);
        assert_eq!(term_session(2025, 1), YEARS + 11);
        assert_eq!(terms_of(2024, 3).len(), 4);
    }
}
