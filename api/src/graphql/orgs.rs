//! Organisations (DOMAIN.md area A): schools, partners, the university and its units.

use async_graphql::{ComplexObject, Context, Object, Result};
use chrono::{DateTime, Utc};
use entity::{course, course_offering, external_id, org, person, role_assignment};
use sea_orm::{ColumnTrait, Condition};

use super::common::*;
use super::connection::{Conn, ListArgs, load_optional, viewer};
use super::courses::{
    Course, CourseFilter, CourseOffering, CourseOfferingFilter, CourseOfferingOrder, CourseOrder,
};
use super::mentorships::{Mentorship, MentorshipFilter, MentorshipOrder, mentorships_of};
use super::people::{
    ExternalId, ExternalIdFilter, ExternalIdOrder, Person, PersonFilter, PersonOrder,
    RoleAssignment, RoleAssignmentFilter, RoleAssignmentOrder,
};
use super::record::{enum_of, list, list_inputs, page_cost, record_object, required_enum};
use crate::access;
use crate::error::ResultExt;

db_enum!(
    /// Kind of organisation.
    OrgType, OrgTypeFilter {
        /// A university (HKBU).
        University = "university",
        /// A faculty, school or centre of a university.
        AcademicUnit = "academicUnit",
        /// The programme office (CLAP-TECH Centre).
        ProgrammeOffice = "programmeOffice",
        /// A secondary school.
        SecondarySchool = "secondarySchool",
        /// An industry partner company.
        IndustryPartner = "industryPartner",
        /// A further-study provider.
        FurtherStudyProvider = "furtherStudyProvider",
        /// A funder.
        Funder = "funder",
        /// An `ext:` extension type; its text is in `orgTypeExtension`.
        Extension = "ext:",
    }
);

db_enum!(
    /// How a Hong Kong school is financed.
    SchoolFinanceType, SchoolFinanceTypeFilter {
        /// Government school.
        Government = "government",
        /// Aided school.
        Aided = "aided",
        /// Caput school.
        Caput = "caput",
        /// Direct Subsidy Scheme school.
        Dss = "dss",
        /// Private school.
        Private = "private",
    }
);

filter_input!(
    /// Filter on organisations.
    OrganizationFilter {
        /// Public id.
        sourced_id: StringFilter => column(org::Column::SourcedId),
        /// English name.
        name_en: StringFilter => column(org::Column::NameEn),
        /// Chinese name.
        name_zh: StringFilter => column(org::Column::NameZh),
        /// Kind of organisation.
        org_type: OrgTypeFilter => column(org::Column::OrgType),
        /// Parent organisation.
        parent: IdFilter => reference(org::Column::ParentId, "org", "Organization", "parent"),
        /// Official identifier (e.g. the EDB school number).
        identifier: StringFilter => column(org::Column::Identifier),
        /// District.
        district: StringFilter => column(org::Column::District),
        /// School finance type.
        school_finance_type: SchoolFinanceTypeFilter => column(org::Column::SchoolFinanceType),
        /// Date the partnership began.
        partner_since: DateFilter => column(org::Column::PartnerSince),
        /// Last change.
        date_last_modified: DateTimeFilter => column(org::Column::DateLastModified),
    }
);

order_input!(
    /// Sort order for organisations.
    OrganizationOrder, OrganizationOrderField for org::Column {
        /// Public id.
        SourcedId => org::Column::SourcedId,
        /// English name.
        NameEn => org::Column::NameEn,
        /// Kind of organisation.
        OrgType => org::Column::OrgType,
        /// Creation time.
        DateCreated => org::Column::DateCreated,
        /// Last change.
        DateLastModified => org::Column::DateLastModified,
    }
);
list_inputs!(OrganizationFilter, OrganizationOrder, org::Column);

record_object!(
    /// An organisation: a school, partner, university, academic unit, programme office,
    /// further-study provider or funder. Its public profile is readable without a token.
    Organization(org::Model)
);

#[ComplexObject]
impl Organization {
    /// English name.
    async fn name_en(&self) -> &str {
        &self.row.name_en
    }

    /// Chinese name.
    async fn name_zh(&self) -> Option<&str> {
        self.row.name_zh.as_deref()
    }

    /// Kind of organisation.
    async fn org_type(&self) -> Result<OrgType> {
        required_enum(&self.row.org_type)
    }

    /// The `ext:` text when `orgType` is `EXTENSION`.
    async fn org_type_extension(&self) -> Option<&str> {
        self.row
            .org_type
            .starts_with("ext:")
            .then_some(self.row.org_type.as_str())
    }

    /// Parent organisation (an academic unit's university).
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        load_optional::<org::Entity, Organization>(ctx, self.row.parent_id)
            .await
            .extend()
    }

    /// Official identifier, e.g. the EDB school number.
    async fn identifier(&self) -> Option<&str> {
        self.row.identifier.as_deref()
    }

    /// Scheme of `identifier`, e.g. `hk-edb-school-no`.
    async fn identifier_scheme(&self) -> Option<&str> {
        self.row.identifier_scheme.as_deref()
    }

    /// District (schools).
    async fn district(&self) -> Option<&str> {
        self.row.district.as_deref()
    }

    /// School finance type (schools).
    async fn school_finance_type(&self) -> Option<SchoolFinanceType> {
        self.row.school_finance_type.as_deref().and_then(enum_of)
    }

    /// Industry sectors (partners).
    async fn industry_sectors(&self) -> Vec<String> {
        json_strings(self.row.industry_sectors.as_ref())
    }

    /// Website.
    async fn website(&self) -> Option<&str> {
        self.row.website.as_deref()
    }

    /// Date the partnership began (partners).
    async fn partner_since(&self) -> Option<Date> {
        self.row.partner_since.map(Date)
    }

    /// Child organisations.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn children(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<OrganizationFilter>,
        order_by: Option<Vec<OrganizationOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<Organization>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<org::Entity, _, _, _>(
            ctx,
            Some((org::Column::ParentId, self.row.id)),
            args,
            filter,
            order_by,
            Condition::all(),
        )
        .await
        .extend()
    }

    /// A school's students (people whose primary organisation this is and who hold a student
    /// role), within the caller's reach.
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
        list::<person::Entity, _, _, _>(
            ctx,
            Some((person::Column::PrimaryOrgId, self.row.id)),
            args,
            filter,
            order_by,
            students,
        )
        .await
        .extend()
    }

    /// Course offerings (classes) this school hosts.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn course_offerings(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<CourseOfferingFilter>,
        order_by: Option<Vec<CourseOfferingOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<CourseOffering>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<course_offering::Entity, _, _, _>(
            ctx,
            Some((course_offering::Column::SchoolOrgId, self.row.id)),
            args,
            filter,
            order_by,
            Condition::all(),
        )
        .await
        .extend()
    }

    /// Courses this organisation provides.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn courses(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<CourseFilter>,
        order_by: Option<Vec<CourseOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<Course>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<course::Entity, _, _, _>(
            ctx,
            Some((course::Column::ProviderOrgId, self.row.id)),
            args,
            filter,
            order_by,
            Condition::all(),
        )
        .await
        .extend()
    }

    /// Role assignments at this organisation, within the caller's reach.
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
            Some((role_assignment::Column::OrgId, self.row.id)),
            args,
            filter,
            order_by,
            Condition::all(),
        )
        .await
        .extend()
    }

    /// The mentorships of this industry partner, within the caller's reach.
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
            entity::mentorship::Column::PartnerOrgId,
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

    /// This organisation's external keys, visible only inside its own scope.
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
        let own = Condition::all().add(external_id::Column::EntityType.eq("Organization"));
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

/// The strings of a JSON array column.
pub fn json_strings(value: Option<&serde_json::Value>) -> Vec<String> {
    value
        .and_then(|v| v.as_array())
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn org_type_is(org_type: &str) -> Condition {
    Condition::all().add(org::Column::OrgType.eq(org_type))
}

#[derive(Default)]
pub struct OrgsQuery;

#[Object]
impl OrgsQuery {
    /// Every organisation in the programme: public profiles, readable without a token.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn organizations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<OrganizationFilter>,
        order_by: Option<Vec<OrganizationOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<Organization>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<org::Entity, _, _, _>(ctx, None, args, filter, order_by, Condition::all())
            .await
            .extend()
    }

    /// Secondary schools (organisations of type `SECONDARY_SCHOOL`).
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn schools(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<OrganizationFilter>,
        order_by: Option<Vec<OrganizationOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<Organization>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<org::Entity, _, _, _>(
            ctx,
            None,
            args,
            filter,
            order_by,
            org_type_is("secondarySchool"),
        )
        .await
        .extend()
    }

    /// Industry partners (organisations of type `INDUSTRY_PARTNER`).
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    async fn partners(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<OrganizationFilter>,
        order_by: Option<Vec<OrganizationOrder>>,
        changed_since: Option<DateTime<Utc>>,
        #[graphql(default)] include_deleted: bool,
    ) -> Result<Conn<Organization>> {
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<org::Entity, _, _, _>(
            ctx,
            None,
            args,
            filter,
            order_by,
            org_type_is("industryPartner"),
        )
        .await
        .extend()
    }
}
