//! Mentorships (DOMAIN.md area E): the `Mentorship` type, the `mentorships` list, and the
//! `proposeMentorship`, `activateMentorship`, `pauseMentorship`, `resumeMentorship`,
//! `endMentorship` and `cancelMentorship` mutations. Rules and roles are in
//! [`crate::service::mentorships`].

use async_graphql::{ComplexObject, Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{mentorship, org, pathway, person};
use sea_orm::Condition;

use super::common::*;
use super::connection::{Conn, ListArgs, db, load_one, viewer};
use super::history::StatusChange;
use super::orgs::Organization;
use super::pathways::Pathway;
use super::payload::{UserError, user_error};
use super::people::Person;
use super::record::{list, list_inputs, page_cost, record_object, required_enum};
use crate::error::{AppError, AppResult, ResultExt};
use crate::service::mentorships::{self as service, Action, NewMentorship};

db_enum!(
    /// Lifecycle state of a mentorship: `PROPOSED → ACTIVE ⇄ PAUSED → ENDED`,
    /// `ACTIVE → ENDED`, `PROPOSED → CANCELLED`.
    MentorshipState, MentorshipStateFilter {
        /// Proposed by the partner; not started.
        Proposed = "proposed",
        /// Running: the mentor sees the student (with effective consent).
        Active = "active",
        /// Paused, e.g. because the consent was withdrawn.
        Paused = "paused",
        /// Ended (terminal).
        Ended = "ended",
        /// Cancelled before it started (terminal).
        Cancelled = "cancelled",
    }
);

db_enum!(
    /// How the mentoring is delivered.
    MentorshipFormat, MentorshipFormatFilter {
        /// One mentor, one student.
        OneToOne = "oneToOne",
        /// A mentor with a group of students.
        Group = "group",
    }
);

filter_input!(
    /// Filter on mentorships.
    MentorshipFilter {
        /// Public id.
        sourced_id: StringFilter => column(mentorship::Column::SourcedId),
        /// Lifecycle state.
        state: MentorshipStateFilter => column(mentorship::Column::State),
        /// The industry partner.
        partner_organization: IdFilter => reference(mentorship::Column::PartnerOrgId, "org", "Organization", "partnerOrganization"),
        /// The mentor.
        mentor: IdFilter => reference(mentorship::Column::MentorId, "person", "Person", "mentor"),
        /// The student.
        student: IdFilter => reference(mentorship::Column::StudentId, "person", "Person", "student"),
        /// The pathway.
        pathway: IdFilter => reference(mentorship::Column::PathwayId, "pathway", "Pathway", "pathway"),
        /// One-to-one or group.
        format: MentorshipFormatFilter => column(mentorship::Column::Format),
        /// First day.
        begin_date: DateFilter => column(mentorship::Column::BeginDate),
        /// Day after the last day.
        end_date: DateFilter => column(mentorship::Column::EndDate),
        /// Last change.
        date_last_modified: DateTimeFilter => column(mentorship::Column::DateLastModified),
    }
);

order_input!(
    /// Sort order for mentorships.
    MentorshipOrder, MentorshipOrderField for mentorship::Column {
        /// First day.
        BeginDate => mentorship::Column::BeginDate,
        /// Lifecycle state.
        State => mentorship::Column::State,
        /// Creation time.
        DateCreated => mentorship::Column::DateCreated,
        /// Last change.
        DateLastModified => mentorship::Column::DateLastModified,
    }
);
list_inputs!(MentorshipFilter, MentorshipOrder, mentorship::Column);

record_object!(
    /// A partner's mentor paired with a student on a pathway. Its `state` changes only through
    /// the transition mutations, each recorded in `statusHistory`. Visible to the programme
    /// office, the partner (its own), the mentor (their own), the student's school and the
    /// student and their guardians; the people inside are read through their own scope, so a
    /// partner without the student's consent sees the mentorship with `student: null`.
    Mentorship(mentorship::Model)
);

#[ComplexObject]
impl Mentorship {
    /// The mentor; null when the caller may not see them.
    async fn mentor(&self, ctx: &Context<'_>) -> Result<Option<Person>> {
        load_one::<person::Entity, Person>(ctx, self.row.mentor_id)
            .await
            .extend()
    }

    /// The student; null when the caller may not see them (a partner or mentor without the
    /// student's effective shareWithPartnerMentor consent).
    async fn student(&self, ctx: &Context<'_>) -> Result<Option<Person>> {
        load_one::<person::Entity, Person>(ctx, self.row.student_id)
            .await
            .extend()
    }

    /// The industry partner the mentor works for.
    async fn partner_organization(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        load_one::<org::Entity, Organization>(ctx, self.row.partner_org_id)
            .await
            .extend()
    }

    /// The pathway the mentoring belongs to.
    async fn pathway(&self, ctx: &Context<'_>) -> Result<Option<Pathway>> {
        load_one::<pathway::Entity, Pathway>(ctx, self.row.pathway_id)
            .await
            .extend()
    }

    /// First day.
    async fn begin_date(&self) -> Date {
        Date(self.row.begin_date)
    }

    /// Day after the last day (exclusive); set when the mentorship ends.
    async fn end_date(&self) -> Option<Date> {
        self.row.end_date.map(Date)
    }

    /// One-to-one or group.
    async fn format(&self) -> Result<MentorshipFormat> {
        required_enum(&self.row.format)
    }

    /// Lifecycle state.
    async fn state(&self) -> Result<MentorshipState> {
        required_enum(&self.row.state)
    }

    /// Every accepted transition, oldest first: who, through which client, when and why.
    async fn status_history(&self, ctx: &Context<'_>) -> Result<Vec<StatusChange>> {
        super::history::of::<mentorship::Entity>(ctx, self.row.id).await
    }
}

/// A mentorship list under a parent (a person or an organisation): `fk` is the column that
/// points at the parent.
pub async fn mentorships_of(
    ctx: &Context<'_>,
    fk: mentorship::Column,
    parent: i64,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
    filter: Option<MentorshipFilter>,
    order_by: Option<Vec<MentorshipOrder>>,
    changed_since: Option<DateTime<Utc>>,
    include_deleted: bool,
) -> Result<Conn<Mentorship>> {
    let args = ListArgs {
        first,
        after,
        last,
        before,
        changed_since,
        include_deleted,
    };
    list::<mentorship::Entity, _, _, _>(
        ctx,
        Some((fk, parent)),
        args,
        filter,
        order_by,
        Condition::all(),
    )
    .await
    .extend()
}

#[derive(Default)]
pub struct MentorshipsQuery;

#[Object]
impl MentorshipsQuery {
    /// Mentorships within the caller's reach: all for the programme office, the partner's own
    /// for a partnerCoordinator or partner client (`activities.read`), their own for a mentor,
    /// their students' for a school, their own (and their wards') for students and guardians.
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
        let args = ListArgs {
            first,
            after,
            last,
            before,
            changed_since,
            include_deleted,
        };
        list::<mentorship::Entity, _, _, _>(ctx, None, args, filter, order_by, Condition::all())
            .await
            .extend()
    }
}

/// The mentorship to propose.
#[derive(InputObject)]
pub struct ProposeMentorshipInput {
    /// The mentor (global id or sourcedId): a person holding an active mentor role at
    /// `partnerOrganization`.
    pub mentor: ID,
    /// The student (global id or sourcedId): a person holding an active student role.
    pub student: ID,
    /// The industry partner (global id or sourcedId). A partnerCoordinator may name only its
    /// own organisation.
    pub partner_organization: ID,
    /// The pathway (global id or sourcedId).
    pub pathway: ID,
    /// First day.
    pub begin_date: Date,
    /// Day after the last day (exclusive), when known; after `beginDate`.
    pub end_date: Option<Date>,
    /// One-to-one (the default) or group.
    #[graphql(default_with = "MentorshipFormat::OneToOne")]
    pub format: MentorshipFormat,
    /// The sourcedId to give the mentorship; a UUID is minted when omitted.
    pub sourced_id: Option<String>,
}

/// The result of `proposeMentorship`.
#[derive(SimpleObject, Default)]
pub struct ProposeMentorshipPayload {
    /// The new mentorship (state `PROPOSED`); null when nothing was created.
    pub mentorship: Option<Mentorship>,
    /// Expected failures; nothing was written when there are any.
    pub user_errors: Vec<UserError>,
}

/// The fields every mentorship transition input has.
trait TransitionInput {
    fn mentorship(&self) -> &ID;
    fn expected_version(&self) -> Option<i32>;
    fn reason(&self) -> Option<&str>;
}

/// Declares the input and payload of one transition mutation.
macro_rules! transition_types {
    ($input:ident, $payload:ident, $what:literal) => {
        #[doc = concat!("The mentorship to ", $what, ".")]
        #[derive(InputObject)]
        pub struct $input {
            /// The mentorship: its global id or sourcedId.
            pub mentorship: ID,
            /// The version last read; a different current version is `VERSION_CONFLICT` and
            /// nothing changes.
            pub expected_version: Option<i32>,
            /// Why; kept in the status history (at most 1,000 characters).
            pub reason: Option<String>,
        }

        impl TransitionInput for $input {
            fn mentorship(&self) -> &ID {
                &self.mentorship
            }
            fn expected_version(&self) -> Option<i32> {
                self.expected_version
            }
            fn reason(&self) -> Option<&str> {
                self.reason.as_deref()
            }
        }

        #[doc = concat!("The result of the mutation to ", $what, " a mentorship.")]
        #[derive(SimpleObject, Default)]
        pub struct $payload {
            /// The mentorship after the change; null when nothing changed.
            pub mentorship: Option<Mentorship>,
            /// Expected failures; nothing was written when there are any.
            pub user_errors: Vec<UserError>,
        }

        impl From<Outcome> for $payload {
            fn from(outcome: Outcome) -> Self {
                $payload {
                    mentorship: outcome.0,
                    user_errors: outcome.1,
                }
            }
        }
    };
}

/// The mentorship written, or the user errors of a refused write.
struct Outcome(Option<Mentorship>, Vec<UserError>);

impl Outcome {
    /// A refused write: expected failures become the payload's user errors; access and
    /// unexpected failures stay top-level errors.
    fn failed(error: AppError) -> Result<Outcome> {
        Ok(Outcome(None, vec![user_error(error).extend()?]))
    }

    fn from_service(result: AppResult<mentorship::Model>) -> Result<Outcome> {
        match result {
            Ok(row) => Ok(Outcome(Some(row.into()), Vec::new())),
            Err(error) => Outcome::failed(error),
        }
    }
}

transition_types!(
    ActivateMentorshipInput,
    ActivateMentorshipPayload,
    "activate"
);
transition_types!(PauseMentorshipInput, PauseMentorshipPayload, "pause");
transition_types!(ResumeMentorshipInput, ResumeMentorshipPayload, "resume");
transition_types!(EndMentorshipInput, EndMentorshipPayload, "end");
transition_types!(CancelMentorshipInput, CancelMentorshipPayload, "cancel");

/// Guard, convert, call the service: one transition.
async fn run_transition(
    ctx: &Context<'_>,
    action: Action,
    input: &impl TransitionInput,
) -> Result<Outcome> {
    let viewer = viewer(ctx).extend()?;
    service::authorize_transition(viewer, action).extend()?;
    let sourced_id = match sourced_id_of("Mentorship", "mentorship", input.mentorship().as_str()) {
        Ok(sid) => sid,
        Err(error) => return Outcome::failed(error),
    };
    let result = service::transition(
        db(ctx).extend()?,
        viewer,
        action,
        &sourced_id,
        input.expected_version(),
        input.reason(),
    )
    .await;
    Outcome::from_service(result)
}

/// Converts the references of a proposal into sourcedIds.
fn proposal_ids(input: &ProposeMentorshipInput) -> AppResult<[String; 4]> {
    Ok([
        sourced_id_of("Person", "mentor", input.mentor.as_str())?,
        sourced_id_of("Person", "student", input.student.as_str())?,
        sourced_id_of(
            "Organization",
            "partnerOrganization",
            input.partner_organization.as_str(),
        )?,
        sourced_id_of("Pathway", "pathway", input.pathway.as_str())?,
    ])
}

#[derive(Default)]
pub struct MentorshipsMutation;

#[Object]
impl MentorshipsMutation {
    /// Proposes a mentorship (state `PROPOSED`). By a partnerCoordinator (or the partner's
    /// client with `activities.write`) for its own organisation, or by programmeStaff; others
    /// get `FORBIDDEN`. A live mentorship of the same mentor, student and pathway is
    /// `DUPLICATE`.
    async fn propose_mentorship(
        &self,
        ctx: &Context<'_>,
        input: ProposeMentorshipInput,
    ) -> Result<ProposeMentorshipPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize_proposal(viewer).extend()?;
        let [mentor, student, partner_org, pathway] = match proposal_ids(&input) {
            Ok(ids) => ids,
            Err(error) => return Ok(payload_of(Outcome::failed(error)?)),
        };
        let new = NewMentorship {
            mentor: &mentor,
            student: &student,
            partner_org: &partner_org,
            pathway: &pathway,
            begin_date: input.begin_date.0,
            end_date: input.end_date.map(|d| d.0),
            format: input.format.db(),
            sourced_id: input.sourced_id.as_deref(),
        };
        let result = service::propose(db(ctx).extend()?, viewer, &new).await;
        Ok(payload_of(Outcome::from_service(result)?))
    }

    /// `PROPOSED → ACTIVE`, by programmeStaff. Needs effective shareWithPartnerMentor consent
    /// for the partner (else `INVALID_TRANSITION` saying the consent is missing).
    async fn activate_mentorship(
        &self,
        ctx: &Context<'_>,
        input: ActivateMentorshipInput,
    ) -> Result<ActivateMentorshipPayload> {
        run_transition(ctx, Action::Activate, &input)
            .await
            .map(Into::into)
    }

    /// `ACTIVE → PAUSED`, by programmeStaff. (A consent withdrawal pauses mentorships by itself.)
    async fn pause_mentorship(
        &self,
        ctx: &Context<'_>,
        input: PauseMentorshipInput,
    ) -> Result<PauseMentorshipPayload> {
        run_transition(ctx, Action::Pause, &input)
            .await
            .map(Into::into)
    }

    /// `PAUSED → ACTIVE`, by programmeStaff. Needs effective shareWithPartnerMentor consent for
    /// the partner (else `INVALID_TRANSITION` saying the consent is missing).
    async fn resume_mentorship(
        &self,
        ctx: &Context<'_>,
        input: ResumeMentorshipInput,
    ) -> Result<ResumeMentorshipPayload> {
        run_transition(ctx, Action::Resume, &input)
            .await
            .map(Into::into)
    }

    /// `ACTIVE | PAUSED → ENDED`, by programmeStaff; sets `endDate` to today unless an earlier
    /// one is set.
    async fn end_mentorship(
        &self,
        ctx: &Context<'_>,
        input: EndMentorshipInput,
    ) -> Result<EndMentorshipPayload> {
        run_transition(ctx, Action::End, &input)
            .await
            .map(Into::into)
    }

    /// `PROPOSED → CANCELLED`, by programmeStaff or the partner's partnerCoordinator (its own
    /// organisation's proposals).
    async fn cancel_mentorship(
        &self,
        ctx: &Context<'_>,
        input: CancelMentorshipInput,
    ) -> Result<CancelMentorshipPayload> {
        run_transition(ctx, Action::Cancel, &input)
            .await
            .map(Into::into)
    }
}

fn payload_of(outcome: Outcome) -> ProposeMentorshipPayload {
    ProposeMentorshipPayload {
        mentorship: outcome.0,
        user_errors: outcome.1,
    }
}
