// Table layout of the first migration: frozen history, never edited after release.

use super::{Col, ColType::*, Index, TableSpec};

pub const TABLES: &[TableSpec] = &[
    TableSpec {
        name: "org",
        columns: &[
            Col { name: "name_en", ty: Str, nullable: false, references: None },
            Col { name: "name_zh", ty: Str, nullable: true, references: None },
            Col { name: "org_type", ty: Str, nullable: false, references: None },
            Col { name: "parent_id", ty: Big, nullable: true, references: Some("org") },
            Col { name: "identifier", ty: Str, nullable: true, references: None },
            Col { name: "identifier_scheme", ty: Str, nullable: true, references: None },
            Col { name: "district", ty: Str, nullable: true, references: None },
            Col { name: "school_finance_type", ty: Str, nullable: true, references: None },
            Col { name: "industry_sectors", ty: Json, nullable: true, references: None },
            Col { name: "website", ty: Str, nullable: true, references: None },
            Col { name: "partner_since", ty: Date, nullable: true, references: None },
        ],
        indexes: &[
            Index { name: "org_identifier", columns: "identifier_scheme, identifier", unique: true },
        ],
    },
    TableSpec {
        name: "person",
        columns: &[
            Col { name: "given_name", ty: Str, nullable: false, references: None },
            Col { name: "family_name", ty: Str, nullable: false, references: None },
            Col { name: "name_zh", ty: Str, nullable: true, references: None },
            Col { name: "preferred_name", ty: Str, nullable: true, references: None },
            Col { name: "email", ty: Str, nullable: true, references: None },
            Col { name: "phone", ty: Str, nullable: true, references: None },
            Col { name: "date_of_birth", ty: Date, nullable: true, references: None },
            Col { name: "enabled_user", ty: Bool, nullable: false, references: None },
            Col { name: "primary_org_id", ty: Big, nullable: false, references: Some("org") },
            Col { name: "class_level", ty: Str, nullable: true, references: None },
            Col { name: "expected_hkdse_year", ty: Int, nullable: true, references: None },
        ],
        indexes: &[
            Index { name: "person_family_name", columns: "family_name", unique: false },
        ],
    },
    TableSpec {
        name: "account",
        columns: &[
            Col { name: "person_id", ty: Big, nullable: false, references: Some("person") },
            Col { name: "oidc_issuer", ty: Str, nullable: false, references: None },
            Col { name: "oidc_subject", ty: Str, nullable: false, references: None },
        ],
        indexes: &[
            Index { name: "account_subject", columns: "oidc_issuer, oidc_subject", unique: true },
        ],
    },
    TableSpec {
        name: "role_assignment",
        columns: &[
            Col { name: "person_id", ty: Big, nullable: false, references: Some("person") },
            Col { name: "org_id", ty: Big, nullable: false, references: Some("org") },
            Col { name: "role", ty: Str, nullable: false, references: None },
            Col { name: "role_type", ty: Str, nullable: false, references: None },
            Col { name: "begin_date", ty: Date, nullable: false, references: None },
            Col { name: "end_date", ty: Date, nullable: true, references: None },
        ],
        indexes: &[
            Index { name: "role_assignment_org_role", columns: "org_id, role, person_id", unique: false },
        ],
    },
    TableSpec {
        name: "guardian_link",
        columns: &[
            Col { name: "student_id", ty: Big, nullable: false, references: Some("person") },
            Col { name: "guardian_id", ty: Big, nullable: false, references: Some("person") },
            Col { name: "relationship", ty: Str, nullable: false, references: None },
            Col { name: "has_parental_responsibility", ty: Bool, nullable: false, references: None },
        ],
        indexes: &[
            Index { name: "guardian_link_pair", columns: "student_id, guardian_id", unique: true },
        ],
    },
    TableSpec {
        name: "external_id",
        columns: &[
            Col { name: "entity_type", ty: Str, nullable: false, references: None },
            Col { name: "entity_id", ty: Big, nullable: false, references: None },
            Col { name: "scope_org_id", ty: Big, nullable: false, references: Some("org") },
            Col { name: "system", ty: Str, nullable: false, references: None },
            Col { name: "id_type", ty: Str, nullable: false, references: None },
            Col { name: "identifier", ty: Str, nullable: false, references: None },
        ],
        indexes: &[
            Index { name: "external_id_key", columns: "entity_type, scope_org_id, system, id_type, identifier", unique: true },
            Index { name: "external_id_entity", columns: "entity_type, entity_id", unique: false },
        ],
    },
    TableSpec {
        name: "consent_record",
        columns: &[
            Col { name: "student_id", ty: Big, nullable: false, references: Some("person") },
            Col { name: "given_by_id", ty: Big, nullable: false, references: Some("person") },
            Col { name: "giver_relationship", ty: Str, nullable: false, references: None },
            Col { name: "purpose", ty: Str, nullable: false, references: None },
            Col { name: "scope_org_id", ty: Big, nullable: true, references: Some("org") },
            Col { name: "pics_version", ty: Str, nullable: false, references: None },
            Col { name: "granted_at", ty: Ts, nullable: false, references: None },
            Col { name: "withdrawn_at", ty: Ts, nullable: true, references: None },
            Col { name: "evidence_ref", ty: Str, nullable: true, references: None },
        ],
        indexes: &[
        ],
    },
    TableSpec {
        name: "academic_session",
        columns: &[
            Col { name: "title", ty: Str, nullable: false, references: None },
            Col { name: "session_type", ty: Str, nullable: false, references: None },
            Col { name: "start_date", ty: Date, nullable: false, references: None },
            Col { name: "end_date", ty: Date, nullable: false, references: None },
            Col { name: "school_year", ty: Int, nullable: false, references: None },
            Col { name: "parent_id", ty: Big, nullable: true, references: Some("academic_session") },
            Col { name: "org_id", ty: Big, nullable: true, references: Some("org") },
        ],
        indexes: &[
            Index { name: "academic_session_title", columns: "COALESCE(org_id, 0), session_type, title", unique: true },
        ],
    },
    TableSpec {
        name: "pathway",
        columns: &[
            Col { name: "code", ty: Str, nullable: false, references: None },
            Col { name: "title", ty: Str, nullable: false, references: None },
            Col { name: "track", ty: Str, nullable: false, references: None },
            Col { name: "owning_org_id", ty: Big, nullable: false, references: Some("org") },
            Col { name: "launched_on", ty: Date, nullable: true, references: None },
            Col { name: "certifications", ty: Json, nullable: true, references: None },
        ],
        indexes: &[
            Index { name: "pathway_code", columns: "code", unique: true },
        ],
    },
    TableSpec {
        name: "pathway_stage",
        columns: &[
            Col { name: "pathway_id", ty: Big, nullable: false, references: Some("pathway") },
            Col { name: "seq", ty: Int, nullable: false, references: None },
            Col { name: "code", ty: Str, nullable: false, references: None },
            Col { name: "class_level", ty: Str, nullable: false, references: None },
            Col { name: "level", ty: Str, nullable: false, references: None },
            Col { name: "is_entry_point", ty: Bool, nullable: false, references: None },
            Col { name: "is_exit_point", ty: Bool, nullable: false, references: None },
        ],
        indexes: &[
            Index { name: "pathway_stage_seq", columns: "pathway_id, seq", unique: true },
            Index { name: "pathway_stage_code", columns: "pathway_id, code", unique: true },
        ],
    },
    TableSpec {
        name: "course",
        columns: &[
            Col { name: "course_code", ty: Str, nullable: false, references: None },
            Col { name: "title", ty: Str, nullable: false, references: None },
            Col { name: "aliases", ty: Json, nullable: true, references: None },
            Col { name: "course_kind", ty: Str, nullable: false, references: None },
            Col { name: "provider_org_id", ty: Big, nullable: false, references: Some("org") },
            Col { name: "apl_area_of_studies", ty: Str, nullable: true, references: None },
            Col { name: "nominal_contact_hours", ty: Int, nullable: true, references: None },
            Col { name: "span_years", ty: Int, nullable: true, references: None },
            Col { name: "qf_level", ty: Int, nullable: true, references: None },
            Col { name: "qf_credits", ty: Int, nullable: true, references: None },
        ],
        indexes: &[
            Index { name: "course_code", columns: "provider_org_id, course_code", unique: true },
        ],
    },
    TableSpec {
        name: "stage_course",
        columns: &[
            Col { name: "stage_id", ty: Big, nullable: false, references: Some("pathway_stage") },
            Col { name: "course_id", ty: Big, nullable: false, references: Some("course") },
            Col { name: "requirement", ty: Str, nullable: false, references: None },
        ],
        indexes: &[
            Index { name: "stage_course_pair", columns: "stage_id, course_id", unique: true },
        ],
    },
    TableSpec {
        name: "cohort",
        columns: &[
            Col { name: "pathway_id", ty: Big, nullable: false, references: Some("pathway") },
            Col { name: "code", ty: Str, nullable: false, references: None },
            Col { name: "intake_session_id", ty: Big, nullable: false, references: Some("academic_session") },
            Col { name: "expected_hkdse_year", ty: Int, nullable: true, references: None },
        ],
        indexes: &[
            Index { name: "cohort_code", columns: "pathway_id, code", unique: true },
        ],
    },
    TableSpec {
        name: "course_offering",
        columns: &[
            Col { name: "course_id", ty: Big, nullable: false, references: Some("course") },
            Col { name: "class_code", ty: Str, nullable: false, references: None },
            Col { name: "school_org_id", ty: Big, nullable: true, references: Some("org") },
            Col { name: "cohort_id", ty: Big, nullable: true, references: Some("cohort") },
            Col { name: "delivery_mode", ty: Str, nullable: false, references: None },
            Col { name: "start_date", ty: Date, nullable: false, references: None },
            Col { name: "end_date", ty: Date, nullable: false, references: None },
            Col { name: "state", ty: Str, nullable: false, references: None },
        ],
        indexes: &[
            Index { name: "course_offering_class", columns: "course_id, class_code", unique: true },
        ],
    },
    TableSpec {
        name: "pathway_enrollment",
        columns: &[
            Col { name: "student_id", ty: Big, nullable: false, references: Some("person") },
            Col { name: "pathway_id", ty: Big, nullable: false, references: Some("pathway") },
            Col { name: "cohort_id", ty: Big, nullable: false, references: Some("cohort") },
            Col { name: "entry_school_id", ty: Big, nullable: false, references: Some("org") },
            Col { name: "entry_stage_id", ty: Big, nullable: false, references: Some("pathway_stage") },
            Col { name: "current_stage_id", ty: Big, nullable: true, references: Some("pathway_stage") },
            Col { name: "begin_date", ty: Date, nullable: false, references: None },
            Col { name: "end_date", ty: Date, nullable: true, references: None },
            Col { name: "state", ty: Str, nullable: false, references: None },
            Col { name: "exit_reason", ty: Str, nullable: true, references: None },
        ],
        indexes: &[
        ],
    },
    TableSpec {
        name: "course_enrollment",
        columns: &[
            Col { name: "person_id", ty: Big, nullable: false, references: Some("person") },
            Col { name: "offering_id", ty: Big, nullable: false, references: Some("course_offering") },
            Col { name: "school_org_id", ty: Big, nullable: false, references: Some("org") },
            Col { name: "role", ty: Str, nullable: false, references: None },
            Col { name: "begin_date", ty: Date, nullable: false, references: None },
            Col { name: "end_date", ty: Date, nullable: true, references: None },
            Col { name: "contact_hours_attended", ty: Float, nullable: true, references: None },
            Col { name: "state", ty: Str, nullable: false, references: None },
            Col { name: "transferred_to_id", ty: Big, nullable: true, references: Some("course_enrollment") },
        ],
        indexes: &[
            Index { name: "course_enrollment_key", columns: "person_id, offering_id, role, begin_date", unique: true },
        ],
    },
];
