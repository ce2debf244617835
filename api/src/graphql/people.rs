//! People and their links (DOMAIN.md area A): persons, role assignments, guardian links, external
//! ids and consent records. All personal data: scoped by `access`.

use async_graphql::{ComplexObject, Context, Object, Result};
use chrono::{DateTime, Utc};
use entity::{
    consent_record, course_enrollment, external_id, guardian_link, org, pathway_enrollment, person,
    role_assignment,
};
use sea_orm::{ColumnTrait, Condition};

use super::common::*;
use super::connection::{Conn, ListArgs, load_one, load_optional, viewer};
use super::enrollments::{
    CourseEnrollment, CourseEnrollmentFilter, CourseEnrollmentOrder, PathwayEnrollment,
    PathwayEnrollmentFilter, PathwayEnrollmentOrder,
};
use super::mentorships::{Mentorship, MentorshipFilter, MentorshipOrder, mentorships_of};
use super::orgs::Organization;
use super::record::{enum_of, list, list_inputs, page_cost, record_object, required_enum};
use crate::access;
use crate::error::ResultExt;

filter_input!(
    /// Filter on people.
    PersonFilter {
        /// Public id.
        sourced_id: StringFilter => column(person::Column::SourcedId),
        /// Given name.
        given_name: StringFilter => column(person::Column::GivenName),
        /// Family name.
        family_name: StringFilter => column(person::Column::FamilyName),
        /// Preferred name.
        preferred_name: StringFilter => column(person::Column::PreferredName),
        /// Email address.
        email: StringFilter => column(person::Column::Email),
        /// Primary organisation (a student's school).
        primary_org: IdFilter => reference(person::Column::PrimaryOrgId, "org", "Organization", "primaryOrg"),
        /// Class level (S4, S5, S6, HD1, HD2).
        class_level: StringFilter => column(person::Column::ClassLevel),
        /// Year the student sits the HKDSE.
        expected_hkdse_year: IntFilter => column(person::Column::ExpectedHkdseYear),
        /// Whether the person may sign in.
        enabled_user: BooleanFilter => column(person::Column::EnabledUser),
        /// Last change.
        date_last_modified: DateTimeFilter => column(person::Column::DateLastModified),
    }
);

order_input!(
    /// Sort order for people.
    PersonOrder, PersonOrderField for person::Column {
        /// Public id.
        SourcedId => person::Column::SourcedId,
        /// Family name.
        FamilyName => person::Column::FamilyName,
        /// Given name.
        GivenName => person::Column::GivenName,
        /// Creation time.
        DateCreated => person::Column::DateCreated,
        /// Last change.
        DateLastModified => person::Column::DateLastModified,
    }
);
list_inputs!(PersonFilter, PersonOrder, person::Column);

record_object!(
    /// A person: a student, guardian, teacher, coordinator, mentor or staff member.
    ///
    /// Field minimisation (DOMAIN.md section 5): a partner, mentor or partner client sees a
    /// student it may name only through the minimised fields (`id`, `sourcedId`, the record
    /// dates, `preferredName`, `primaryOrg`, `classLevel`); every other personal field is null for
    /// them, and each read is written to the access audit. A school client without
    /// `pii.student.read` gets the same minimised view.
    Person(person::Model),
    guarded
);

impl Person {
    /// Whether the caller sees `field` of this person in full, noting a partner-side read of a
    /// minimised field in the request's access audit.
    fn shows(&self, ctx: &Context<'_>, field: &'static str, minimised_field: bool) -> Result<bool> {
        let request = super::connection::request(ctx).extend()?;
        let view = access::person_view(&request.viewer, &self.row);
        if view == access::PersonView::Full {
            return Ok(true);
        }
        if minimised_field {
            if access::Reach::of(&request.viewer).is_partner_side() {
                request.audit.read(
                    "Person",
                    self.row.id,
                    &self.row.sourced_id,
                    self.row.id,
                    field,
                );
            }
            return Ok(true);
        }
        Ok(false)
    }

    /// A personal field: the value when the caller sees the person in full, else null.
    fn personal<T>(&self, ctx: &Context<'_>, field: &'static str, value: T) -> Result<Option<T>> {
        Ok(self.shows(ctx, field, false)?.then_some(value))
    }
}

#[ComplexObject]
impl Person {
    /// Opaque global id, accepted wherever an ID is taken.
    pub async fn id(&self, ctx: &Context<'_>) -> Result<&async_graphql::ID> {
        self.shows(ctx, "id", true)?;
        Ok(&self.id)
    }

    /// Stable public id (OneRoster sourcedId); never personal data.
    pub async fn sourced_id(&self, ctx: &Context<'_>) -> Result<&String> {
        self.shows(ctx, "sourcedId", true)?;
        Ok(&self.sourced_id)
    }

    /// Free extension object set by clients; null in the minimised view.
    pub async fn metadata(
        &self,
        ctx: &Context<'_>,
    ) -> Result<&Option<async_graphql::Json<serde_json::Value>>> {
        static HIDDEN: Option<async_graphql::Json<serde_json::Value>> = None;
        Ok(if self.shows(ctx, "metadata", false)? {
            &self.metadata
        } else {
            &HIDDEN
        })
    }

    /// Given name; null in the minimised view (partners and mentors).
    async fn given_name(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        self.personal(ctx, "givenName", self.row.given_name.as_str())
    }

    /// Family name; null in the minimised view.
    async fn family_name(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        self.personal(ctx, "familyName", self.row.family_name.as_str())
    }

    /// Chinese name; null in the minimised view.
    async fn name_zh(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        Ok(self
            .personal(ctx, "nameZh", self.row.name_zh.as_deref())?
            .flatten())
    }

    /// Preferred name (part of the minimised view).
    async fn preferred_name(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        self.shows(ctx, "preferredName", true)?;
        Ok(self.row.preferred_name.as_deref())
    }

    /// Email address; null in the minimised view.
    async fn email(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        Ok(self
            .personal(ctx, "email", self.row.email.as_deref())?
            .flatten())
    }

    /// Phone number; null in the minimised view.
    async fn phone(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        Ok(self
            .personal(ctx, "phone", self.row.phone.as_deref())?
            .flatten())
    }

    /// Date of birth: visible in school scope, to programmeAdmin and to the person themselves
    /// (or their guardian) only, else null.
    async fn date_of_birth(&self, ctx: &Context<'_>) -> Result<Option<Date>> {
        let viewer = viewer(ctx).extend()?;
        Ok(access::sees_birth_dates(viewer, &self.row)
            .then_some(self.row.date_of_birth.map(Date))
            .flatten())
    }

    /// Whether the person may sign in; null in the minimised view.
    async fn enabled_user(&self, ctx: &Context<'_>) -> Result<Option<bool>> {
        self.personal(ctx, "enabledUser", self.row.enabled_user)
    }

    /// Primary organisation (a student's school; part of the minimised view).
    async fn primary_org(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        self.shows(ctx, "primaryOrg", true)?;
        load_one::<org::Entity, Organization>(ctx, self.row.primary_org_id)
            .await
            .extend()
    }

    /// Class level: S4, S5, S6, HD1 or HD2 (part of the minimised view).
    async fn class_level(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        self.shows(ctx, "classLevel", true)?;
        Ok(self.row.class_level.as_deref())
    }

    /// Year the student sits the HKDSE; null in the minimised view.
    async fn expected_hkdse_year(&self, ctx: &Context<'_>) -> Result<Option<i32>> {
        Ok(self
            .personal(ctx, "expectedHkdseYear", self.row.expected_hkdse_year)?
            .flatten())
    }

    /// Roles this person holds.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn role_assignments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<RoleAssignmentFilter>,
        order_by: Option<Vec<RoleAssignmentOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<RoleAssignment>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<role_assignment::Entity, _, _, _>(
            ctx,
            Some((role_assignment::Column::PersonId, self.row.id)),
            args,
            filter,
            order_by,
            Condition::all(),
        )
        .await
        .extend()
    }

    /// This student's guardians.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn guardians(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<GuardianLinkFilter>,
        order_by: Option<Vec<GuardianLinkOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<GuardianLink>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<guardian_link::Entity, _, _, _>(
            ctx,
            Some((guardian_link::Column::StudentId, self.row.id)),
            args,
            filter,
            order_by,
            Condition::all(),
        )
        .await
        .extend()
    }

    /// The students this person is a guardian of.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn wards(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<GuardianLinkFilter>,
        order_by: Option<Vec<GuardianLinkOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<GuardianLink>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<guardian_link::Entity, _, _, _>(
            ctx,
            Some((guardian_link::Column::GuardianId, self.row.id)),
            args,
            filter,
            order_by,
            Condition::all(),
        )
        .await
        .extend()
    }

    /// Consent records about this student.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn consents(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<ConsentRecordFilter>,
        order_by: Option<Vec<ConsentRecordOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<ConsentRecord>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<consent_record::Entity, _, _, _>(
            ctx,
            Some((consent_record::Column::StudentId, self.row.id)),
            args,
            filter,
            order_by,
            Condition::all(),
        )
        .await
        .extend()
    }

    /// This student's pathway enrolments.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn pathway_enrollments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<PathwayEnrollmentFilter>,
        order_by: Option<Vec<PathwayEnrollmentOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<PathwayEnrollment>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<pathway_enrollment::Entity, _, _, _>(
            ctx,
            Some((pathway_enrollment::Column::StudentId, self.row.id)),
            args,
            filter,
            order_by,
            Condition::all(),
        )
        .await
        .extend()
    }

    /// This person's course enrolments (as student, teacher, aide or mentor).
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn course_enrollments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<CourseEnrollmentFilter>,
        order_by: Option<Vec<CourseEnrollmentOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<CourseEnrollment>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<course_enrollment::Entity, _, _, _>(
            ctx,
            Some((course_enrollment::Column::PersonId, self.row.id)),
            args,
            filter,
            order_by,
            Condition::all(),
        )
        .await
        .extend()
    }

    /// This student's mentorships (as the student; a mentor's own are `mentorships` with
    /// `filter: { mentor: … }`), within the caller's reach.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn mentorships(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<MentorshipFilter>,
        order_by: Option<Vec<MentorshipOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<Mentorship>> {
        mentorships_of(
            ctx,
            entity::mentorship::Column::StudentId,
            self.row.id,
            first,
            after,
            last,
            before,
            filter,
            order_by,
            changed_since,
            include_deleted,
        )
        .await
    }

    /// External keys (e.g. a school's STRN), visible only inside the owning organisation's
    /// scope and to the programme office.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn external_ids(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<ExternalIdFilter>,
        order_by: Option<Vec<ExternalIdOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<ExternalId>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        let own = Condition::all().add(external_id::Column::EntityType.eq("Person"));
        list::<external_id::Entity, _, _, _>(
            ctx,
            Some((external_id::Column::EntityId, self.row.id)),
            args,
            filter,
            order_by,
            own,
        )
        .await
        .extend()
    }
}

db_enum!(
    /// A DOMAIN.md role.
    RoleName, RoleNameFilter {
        /// Programme administrator.
        ProgrammeAdmin = "programmeAdmin",
        /// Programme office staff.
        ProgrammeStaff = "programmeStaff",
        /// Evaluator (pseudonymous data only).
        Evaluator = "evaluator",
        /// Academic lead of an academic unit.
        AcademicLead = "academicLead",
        /// School coordinator.
        SchoolCoordinator = "schoolCoordinator",
        /// Teacher.
        Teacher = "teacher",
        /// Partner coordinator.
        PartnerCoordinator = "partnerCoordinator",
        /// Industry mentor.
        Mentor = "mentor",
        /// Student.
        Student = "student",
        /// Guardian.
        Guardian = "guardian",
        /// An `ext:` extension role; its text is in `roleExtension`.
        Extension = "ext:",
    }
);

db_enum!(
    /// Whether a role is the person's primary one at the organisation.
    RoleType, RoleTypeFilter {
        /// The primary role.
        Primary = "primary",
        /// A secondary role.
        Secondary = "secondary",
    }
);

filter_input!(
    /// Filter on role assignments.
    RoleAssignmentFilter {
        /// The person.
        person: IdFilter => reference(role_assignment::Column::PersonId, "person", "Person", "person"),
        /// The organisation.
        org: IdFilter => reference(role_assignment::Column::OrgId, "org", "Organization", "org"),
        /// The role.
        role: RoleNameFilter => column(role_assignment::Column::Role),
        /// Primary or secondary.
        role_type: RoleTypeFilter => column(role_assignment::Column::RoleType),
        /// First day.
        begin_date: DateFilter => column(role_assignment::Column::BeginDate),
        /// Day after the last day.
        end_date: DateFilter => column(role_assignment::Column::EndDate),
        /// Last change.
        date_last_modified: DateTimeFilter => column(role_assignment::Column::DateLastModified),
    }
);

order_input!(
    /// Sort order for role assignments.
    RoleAssignmentOrder, RoleAssignmentOrderField for role_assignment::Column {
        /// First day.
        BeginDate => role_assignment::Column::BeginDate,
        /// The role.
        Role => role_assignment::Column::Role,
        /// Last change.
        DateLastModified => role_assignment::Column::DateLastModified,
    }
);
list_inputs!(
    RoleAssignmentFilter,
    RoleAssignmentOrder,
    role_assignment::Column
);

record_object!(
    /// A role a person holds at an organisation for a period.
    RoleAssignment(role_assignment::Model)
);

#[ComplexObject]
impl RoleAssignment {
    /// The person.
    async fn person(&self, ctx: &Context<'_>) -> Result<Option<Person>> {
        load_one::<person::Entity, Person>(ctx, self.row.person_id)
            .await
            .extend()
    }

    /// The organisation.
    async fn org(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        load_one::<org::Entity, Organization>(ctx, self.row.org_id)
            .await
            .extend()
    }

    /// The role.
    async fn role(&self) -> Result<RoleName> {
        required_enum(&self.row.role)
    }

    /// The `ext:` text when `role` is `EXTENSION`.
    async fn role_extension(&self) -> Option<&str> {
        self.row
            .role
            .starts_with("ext:")
            .then_some(self.row.role.as_str())
    }

    /// Primary or secondary.
    async fn role_type(&self) -> Result<RoleType> {
        required_enum(&self.row.role_type)
    }

    /// First day.
    async fn begin_date(&self) -> Date {
        Date(self.row.begin_date)
    }

    /// Day after the last day (exclusive); null while open-ended.
    async fn end_date(&self) -> Option<Date> {
        self.row.end_date.map(Date)
    }

    /// Whether the assignment is in force today (Hong Kong date).
    async fn is_active(&self) -> bool {
        let today = access::today();
        self.row.status == entity::STATUS_ACTIVE
            && self.row.begin_date <= today
            && self.row.end_date.is_none_or(|end| today < end)
    }
}

filter_input!(
    /// Filter on guardian links.
    GuardianLinkFilter {
        /// The student.
        student: IdFilter => reference(guardian_link::Column::StudentId, "person", "Person", "student"),
        /// The guardian.
        guardian: IdFilter => reference(guardian_link::Column::GuardianId, "person", "Person", "guardian"),
        /// Whether the guardian has parental responsibility.
        has_parental_responsibility: BooleanFilter => column(guardian_link::Column::HasParentalResponsibility),
    }
);

order_input!(
    /// Sort order for guardian links.
    GuardianLinkOrder, GuardianLinkOrderField for guardian_link::Column {
        /// Last change.
        DateLastModified => guardian_link::Column::DateLastModified,
    }
);
list_inputs!(GuardianLinkFilter, GuardianLinkOrder, guardian_link::Column);

record_object!(
    /// A guardian of a student.
    GuardianLink(guardian_link::Model)
);

#[ComplexObject]
impl GuardianLink {
    /// The student.
    async fn student(&self, ctx: &Context<'_>) -> Result<Option<Person>> {
        load_one::<person::Entity, Person>(ctx, self.row.student_id)
            .await
            .extend()
    }

    /// The guardian.
    async fn guardian(&self, ctx: &Context<'_>) -> Result<Option<Person>> {
        load_one::<person::Entity, Person>(ctx, self.row.guardian_id)
            .await
            .extend()
    }

    /// Relationship to the student, e.g. `mother`.
    async fn relationship(&self) -> &str {
        &self.row.relationship
    }

    /// Whether the guardian has parental responsibility (their consent counts for a minor).
    async fn has_parental_responsibility(&self) -> bool {
        self.row.has_parental_responsibility
    }
}

filter_input!(
    /// Filter on external ids.
    ExternalIdFilter {
        /// Identifier system, e.g. a school's SIS.
        system: StringFilter => column(external_id::Column::System),
        /// Kind of identifier, e.g. `STRN`.
        id_type: StringFilter => column(external_id::Column::IdType),
        /// The identifier.
        identifier: StringFilter => column(external_id::Column::Identifier),
    }
);

order_input!(
    /// Sort order for external ids.
    ExternalIdOrder, ExternalIdOrderField for external_id::Column {
        /// Identifier system.
        System => external_id::Column::System,
        /// Last change.
        DateLastModified => external_id::Column::DateLastModified,
    }
);
list_inputs!(ExternalIdFilter, ExternalIdOrder, external_id::Column);

record_object!(
    /// An organisation's own key for a record (e.g. a school's STRN for a student). Visible only
    /// inside that organisation's scope and to the programme office.
    ExternalId(external_id::Model)
);

#[ComplexObject]
impl ExternalId {
    /// Type of the identified record, e.g. `Person`.
    async fn entity_type(&self) -> &str {
        &self.row.entity_type
    }

    /// The organisation that owns the key.
    async fn scope_org(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        load_one::<org::Entity, Organization>(ctx, self.row.scope_org_id)
            .await
            .extend()
    }

    /// Identifier system, e.g. the school's SIS.
    async fn system(&self) -> &str {
        &self.row.system
    }

    /// Kind of identifier, e.g. `STRN`.
    async fn id_type(&self) -> &str {
        &self.row.id_type
    }

    /// The identifier.
    async fn identifier(&self) -> &str {
        &self.row.identifier
    }
}

db_enum!(
    /// Who gave a consent.
    GiverRelationship, GiverRelationshipFilter {
        /// The student.
        #[graphql(name = "SELF")]
        Myself = "self",
        /// A parent with parental responsibility.
        ParentalResponsibility = "parentalResponsibility",
        /// A guardian.
        Guardian = "guardian",
    }
);

db_enum!(
    /// What a consent allows.
    ConsentPurpose, ConsentPurposeFilter {
        /// Share the student's data with a partner's mentor.
        ShareWithPartnerMentor = "shareWithPartnerMentor",
        /// Internship placement with a partner.
        InternshipPlacement = "internshipPlacement",
        /// Share results with a partner.
        ShareResultsWithPartner = "shareResultsWithPartner",
        /// Photos and video.
        MediaPhotoVideo = "mediaPhotoVideo",
        /// Research and evaluation.
        ResearchEvaluation = "researchEvaluation",
        /// Tracking after the pathway ends.
        AlumniTracking = "alumniTracking",
        /// An `ext:` extension purpose; its text is in `purposeExtension`.
        Extension = "ext:",
    }
);

filter_input!(
    /// Filter on consent records.
    ConsentRecordFilter {
        /// The student.
        student: IdFilter => reference(consent_record::Column::StudentId, "person", "Person", "student"),
        /// The purpose.
        purpose: ConsentPurposeFilter => column(consent_record::Column::Purpose),
        /// The partner the consent is scoped to.
        scope_org: IdFilter => reference(consent_record::Column::ScopeOrgId, "org", "Organization", "scopeOrg"),
        /// Who gave it.
        giver_relationship: GiverRelationshipFilter => column(consent_record::Column::GiverRelationship),
        /// When it was withdrawn (null while active).
        withdrawn_at: DateTimeFilter => column(consent_record::Column::WithdrawnAt),
    }
);

order_input!(
    /// Sort order for consent records.
    ConsentRecordOrder, ConsentRecordOrderField for consent_record::Column {
        /// When it was granted.
        GrantedAt => consent_record::Column::GrantedAt,
        /// Last change.
        DateLastModified => consent_record::Column::DateLastModified,
    }
);
list_inputs!(
    ConsentRecordFilter,
    ConsentRecordOrder,
    consent_record::Column
);

record_object!(
    /// A consent given for a student, for one purpose (and partner). Withdrawal is final.
    ConsentRecord(consent_record::Model)
);

#[ComplexObject]
impl ConsentRecord {
    /// The student.
    async fn student(&self, ctx: &Context<'_>) -> Result<Option<Person>> {
        load_one::<person::Entity, Person>(ctx, self.row.student_id)
            .await
            .extend()
    }

    /// Who gave it.
    async fn given_by(&self, ctx: &Context<'_>) -> Result<Option<Person>> {
        load_one::<person::Entity, Person>(ctx, self.row.given_by_id)
            .await
            .extend()
    }

    /// The giver's relationship to the student.
    async fn giver_relationship(&self) -> Result<GiverRelationship> {
        required_enum(&self.row.giver_relationship)
    }

    /// The purpose.
    async fn purpose(&self) -> Result<ConsentPurpose> {
        required_enum(&self.row.purpose)
    }

    /// The `ext:` text when `purpose` is `EXTENSION`.
    async fn purpose_extension(&self) -> Option<&str> {
        self.row
            .purpose
            .starts_with("ext:")
            .then_some(self.row.purpose.as_str())
    }

    /// The partner the consent is scoped to (partner purposes).
    async fn scope_org(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        load_optional::<org::Entity, Organization>(ctx, self.row.scope_org_id)
            .await
            .extend()
    }

    /// Version of the personal information collection statement shown.
    async fn pics_version(&self) -> &str {
        &self.row.pics_version
    }

    /// When it was granted.
    async fn granted_at(&self) -> DateTime<Utc> {
        self.row.granted_at
    }

    /// When it was withdrawn.
    async fn withdrawn_at(&self) -> Option<DateTime<Utc>> {
        self.row.withdrawn_at
    }

    /// Reference to the signed form; null for partners, who see only that consent exists.
    async fn evidence_ref(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        let viewer = viewer(ctx).extend()?;
        Ok(if access::Reach::of(viewer).is_partner_side() {
            None
        } else {
            self.row.evidence_ref.as_deref()
        })
    }

    /// Active: not deleted and not withdrawn.
    async fn is_active(&self) -> bool {
        self.row.status == entity::STATUS_ACTIVE && self.row.withdrawn_at.is_none()
    }

    /// Recording and withdrawal, oldest first: who, through which client, when and why. Empty
    /// for partners, who see only that the consent exists.
    async fn status_history(&self, ctx: &Context<'_>) -> Result<Vec<super::history::StatusChange>> {
        let viewer = viewer(ctx).extend()?;
        if access::Reach::of(viewer).is_partner_side() {
            return Ok(Vec::new());
        }
        super::history::of::<consent_record::Entity>(ctx, self.row.id).await
    }
}

#[derive(Default)]
pub struct PeopleQuery;

#[Object]
impl PeopleQuery {
    /// People within the caller's reach (DOMAIN.md section 4; see docs/access.md): everyone for
    /// the programme office, their school's people for school staff, their own people and the
    /// students they may name (minimised) for partners and mentors, themselves (and wards) for
    /// students and guardians.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn people(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<PersonFilter>,
        order_by: Option<Vec<PersonOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<Person>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<person::Entity, _, _, _>(ctx, None, args, filter, order_by, Condition::all())
            .await
            .extend()
    }

    /// Students (people holding a student role) within the caller's reach: school staff see
    /// the students active at their school today.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn students(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<PersonFilter>,
        order_by: Option<Vec<PersonOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<Person>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        let students = access::students_condition(viewer(ctx).extend()?).extend()?;
        list::<person::Entity, _, _, _>(ctx, None, args, filter, order_by, students)
            .await
            .extend()
    }

    /// Role assignments within the caller's reach (the same people rules as `people`).
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn role_assignments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<RoleAssignmentFilter>,
        order_by: Option<Vec<RoleAssignmentOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<RoleAssignment>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<role_assignment::Entity, _, _, _>(
            ctx,
            None,
            args,
            filter,
            order_by,
            Condition::all(),
        )
        .await
        .extend()
    }

    /// Guardian links within the caller's reach: never for partners or mentors.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn guardian_links(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<GuardianLinkFilter>,
        order_by: Option<Vec<GuardianLinkOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<GuardianLink>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<guardian_link::Entity, _, _, _>(ctx, None, args, filter, order_by, Condition::all())
            .await
            .extend()
    }

    /// External keys within the caller's reach: only the owning organisation's, and the programme office's.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn external_ids(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<ExternalIdFilter>,
        order_by: Option<Vec<ExternalIdOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<ExternalId>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<external_id::Entity, _, _, _>(ctx, None, args, filter, order_by, Condition::all())
            .await
            .extend()
    }

    /// Consent records within the caller's reach (partners: the existence of those scoped to them).
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn consent_records(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<ConsentRecordFilter>,
        order_by: Option<Vec<ConsentRecordOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<ConsentRecord>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<consent_record::Entity, _, _, _>(ctx, None, args, filter, order_by, Condition::all())
            .await
            .extend()
    }
}

/// Stored value helper shared with other modules.
pub fn optional_enum<T: DbEnum>(text: Option<&str>) -> Option<T> {
    text.and_then(enum_of)
}
