//! Writing people and their links (DOMAIN.md area A): persons, role assignments, guardian
//! links, external ids, and the `upsertStudents` bulk upsert. Rules and roles are in
//! [`crate::service::people`] and [`crate::service::student_upserts`]; `docs/people-writes.md`
//! says who may do what.

use async_graphql::{Context, ID, InputObject, Json, MaybeUndefined, Object, Result, SimpleObject};
use serde_json::Value;

use super::common::*;
use super::connection::{db, viewer};
use super::mentorships::Mentorship;
use super::payload::{ExternalKeyInput, UpsertKey, UpsertOutcome, UserError, failed, item_error};
use super::people::{ExternalId, GuardianLink, Person, RoleAssignment, RoleType};
use crate::error::{AppError, AppResult, ErrorCode, ResultExt};
use crate::service::people::{
    self as service, InitialRole, NewExternalId, NewGuardianLink, NewPerson, NewRoleAssignment,
    Patch, PersonPatch,
};
use crate::service::student_upserts::{self as upserts, Key, StudentItem};
use crate::service::upsert::Outcome;

/// An omitted / null / value input field as a service patch.
fn patch<T, U>(field: MaybeUndefined<T>, map: impl FnOnce(T) -> U) -> Patch<U> {
    match field {
        MaybeUndefined::Undefined => Patch::Unchanged,
        MaybeUndefined::Null => Patch::Clear,
        MaybeUndefined::Value(v) => Patch::Set(map(v)),
    }
}

/// An optional create field as a patch (given or not).
fn given<T, U>(field: Option<T>, map: impl FnOnce(T) -> U) -> Patch<U> {
    field.map_or(Patch::Unchanged, |v| Patch::Set(map(v)))
}

fn json(value: Json<Value>) -> Value {
    value.0
}

// ---------------------------------------------------------------------------------------------
// Persons.

/// The first role of a new person, at its primary organisation.
#[derive(InputObject, Clone)]
pub struct InitialRoleInput {
    /// A DOMAIN.md role (`student`, `teacher`, `guardian`, `mentor`, …) or an `ext:` extension.
    /// A school defaults to `student` and may give `student`, `teacher` or `guardian`; a partner
    /// defaults to, and may only give, `mentor`.
    pub role: Option<String>,
    /// First day; today (Hong Kong) when omitted.
    pub begin_date: Option<Date>,
    /// Day after the last day (exclusive); after `beginDate`.
    pub end_date: Option<Date>,
}

/// A person to create.
#[derive(InputObject)]
pub struct CreatePersonInput {
    /// Given name, 1 to 255 characters.
    pub given_name: String,
    /// Family name, 1 to 255 characters.
    pub family_name: String,
    /// Chinese name (at most 255 characters).
    pub name_zh: Option<String>,
    /// Preferred name (at most 255 characters).
    pub preferred_name: Option<String>,
    /// Email address (a simple `local@domain.tld` check).
    pub email: Option<String>,
    /// Phone number: an optional `+`, then 6 to 20 digits with spaces, `-` or parentheses.
    pub phone: Option<String>,
    /// Date of birth: not in the future, not before 1900. Only callers who see birth dates
    /// (school scope, programmeAdmin) may write it.
    pub date_of_birth: Option<Date>,
    /// Whether the person may sign in; false when omitted.
    pub enabled_user: Option<bool>,
    /// Primary organisation (global id or sourcedId), active. Required for programme staff; a
    /// school or partner defaults to, and may only name, its own organisation.
    pub primary_org: Option<ID>,
    /// Class level: S4, S5, S6, HD1, HD2 or an `ext:` extension.
    pub class_level: Option<String>,
    /// Year the student sits the HKDSE: 2012 to ten years ahead.
    pub expected_hkdse_year: Option<i32>,
    /// Free extension object, at most 16 KB.
    pub metadata: Option<Json<Value>>,
    /// The person's first role at the primary organisation (roleType primary). Always made
    /// for a school (default `student`) or partner (default `mentor`) caller; optional for
    /// programme staff.
    pub role: Option<InitialRoleInput>,
    /// The sourcedId to give the person; a UUID is minted when omitted.
    pub sourced_id: Option<String>,
}

/// The result of `createPerson`.
#[derive(SimpleObject, Default)]
pub struct CreatePersonPayload {
    /// The new person; null when nothing was created.
    pub person: Option<Person>,
    /// The person's first role assignment, when one was made.
    pub role_assignment: Option<RoleAssignment>,
    /// Expected failures; nothing was written when there are any.
    pub user_errors: Vec<UserError>,
}

/// Changes to a person. Omitted fields are unchanged; an explicit null clears (not allowed for
/// `givenName`, `familyName`, `enabledUser` and `primaryOrg`).
#[derive(InputObject)]
pub struct UpdatePersonInput {
    /// The person: global id or sourcedId.
    pub person: ID,
    /// The version last read; a different current version is `VERSION_CONFLICT`.
    pub expected_version: Option<i32>,
    /// Given name, 1 to 255 characters.
    pub given_name: MaybeUndefined<String>,
    /// Family name, 1 to 255 characters.
    pub family_name: MaybeUndefined<String>,
    /// Chinese name.
    pub name_zh: MaybeUndefined<String>,
    /// Preferred name.
    pub preferred_name: MaybeUndefined<String>,
    /// Email address.
    pub email: MaybeUndefined<String>,
    /// Phone number.
    pub phone: MaybeUndefined<String>,
    /// Date of birth (callers who see birth dates only). Changing a student's date of birth can
    /// end effective consent: see `updatePerson`.
    pub date_of_birth: MaybeUndefined<Date>,
    /// Whether the person may sign in.
    pub enabled_user: MaybeUndefined<bool>,
    /// Primary organisation: programme staff only (a school or partner may only keep its own).
    pub primary_org: MaybeUndefined<ID>,
    /// Class level: S4, S5, S6, HD1, HD2 or an `ext:` extension.
    pub class_level: MaybeUndefined<String>,
    /// Year the student sits the HKDSE.
    pub expected_hkdse_year: MaybeUndefined<i32>,
    /// Free extension object, at most 16 KB; replaces the stored one.
    pub metadata: MaybeUndefined<Json<Value>>,
}

/// The result of `updatePerson`.
#[derive(SimpleObject, Default)]
pub struct UpdatePersonPayload {
    /// The person after the update; null when nothing changed because of an error.
    pub person: Option<Person>,
    /// Mentorships paused because the change of date of birth ended effective consent.
    pub paused_mentorships: Vec<Mentorship>,
    /// Whether a partner lost access to the student and was sent `accessRevoked`.
    pub access_revoked: bool,
    /// Expected failures; nothing was written when there are any.
    pub user_errors: Vec<UserError>,
}

/// A person to delete.
#[derive(InputObject)]
pub struct DeletePersonInput {
    /// The person: global id or sourcedId.
    pub person: ID,
    /// The version last read; a different current version is `VERSION_CONFLICT`.
    pub expected_version: Option<i32>,
}

/// The result of `deletePerson`.
#[derive(SimpleObject, Default)]
pub struct DeletePersonPayload {
    /// The tombstone (status `TOBEDELETED`).
    pub person: Option<Person>,
    /// Expected failures; nothing was written when there are any.
    pub user_errors: Vec<UserError>,
}

// ---------------------------------------------------------------------------------------------
// Role assignments.

/// A role assignment to create.
#[derive(InputObject)]
pub struct CreateRoleAssignmentInput {
    /// The person (global id or sourcedId), visible to the caller.
    pub person: ID,
    /// The organisation (global id or sourcedId), active.
    pub org: ID,
    /// A DOMAIN.md role (`programmeAdmin`, `programmeStaff`, `evaluator`, `academicLead`,
    /// `schoolCoordinator`, `teacher`, `partnerCoordinator`, `mentor`, `student`, `guardian`) or
    /// an `ext:[A-Za-z0-9._-]+` extension.
    pub role: String,
    /// Primary (default) or secondary. A person holds one primary role per organisation at a
    /// time: a second overlapping one is `DUPLICATE`.
    pub role_type: Option<RoleType>,
    /// First day.
    pub begin_date: Date,
    /// Day after the last day (exclusive); after `beginDate`.
    pub end_date: Option<Date>,
    /// Free extension object, at most 16 KB.
    pub metadata: Option<Json<Value>>,
    /// The sourcedId to give the assignment; a UUID is minted when omitted.
    pub sourced_id: Option<String>,
}

/// The result of creating or updating a role assignment.
#[derive(SimpleObject, Default)]
pub struct RoleAssignmentPayload {
    /// The role assignment; null when nothing was written.
    pub role_assignment: Option<RoleAssignment>,
    /// Expected failures; nothing was written when there are any.
    pub user_errors: Vec<UserError>,
}

/// Changes to a role assignment (person, organisation, role and beginDate are fixed: end it
/// and create another instead).
#[derive(InputObject)]
pub struct UpdateRoleAssignmentInput {
    /// The role assignment: global id or sourcedId.
    pub role_assignment: ID,
    /// The version last read; a different current version is `VERSION_CONFLICT`.
    pub expected_version: Option<i32>,
    /// Day after the last day (exclusive); null makes it open-ended.
    pub end_date: MaybeUndefined<Date>,
    /// Primary or secondary.
    pub role_type: Option<RoleType>,
    /// Free extension object, at most 16 KB; null clears.
    pub metadata: MaybeUndefined<Json<Value>>,
}

/// A role assignment to delete.
#[derive(InputObject)]
pub struct DeleteRoleAssignmentInput {
    /// The role assignment: global id or sourcedId.
    pub role_assignment: ID,
    /// The version last read; a different current version is `VERSION_CONFLICT`.
    pub expected_version: Option<i32>,
}

// ---------------------------------------------------------------------------------------------
// Guardian links.

/// A guardian link to create.
#[derive(InputObject)]
pub struct CreateGuardianLinkInput {
    /// The student (global id or sourcedId): a student the caller may write for.
    pub student: ID,
    /// The guardian (global id or sourcedId): a person visible to the caller, not the student.
    pub guardian: ID,
    /// Relationship to the student, e.g. `mother` (1 to 255 characters).
    pub relationship: String,
    /// Whether the guardian has parental responsibility (their consent counts for a minor).
    pub has_parental_responsibility: bool,
    /// Free extension object, at most 16 KB.
    pub metadata: Option<Json<Value>>,
    /// The sourcedId to give the link; a UUID is minted when omitted.
    pub sourced_id: Option<String>,
}

/// The result of a guardian-link write.
#[derive(SimpleObject, Default)]
pub struct GuardianLinkPayload {
    /// The link after the write (a tombstone after a delete); null when nothing was written.
    pub guardian_link: Option<GuardianLink>,
    /// Mentorships paused because the write ended the student's effective consent.
    pub paused_mentorships: Vec<Mentorship>,
    /// Whether a partner lost access to the student and was sent `accessRevoked`.
    pub access_revoked: bool,
    /// Expected failures; nothing was written when there are any.
    pub user_errors: Vec<UserError>,
}

/// Changes to a guardian link (student and guardian are fixed).
#[derive(InputObject)]
pub struct UpdateGuardianLinkInput {
    /// The guardian link: global id or sourcedId.
    pub guardian_link: ID,
    /// The version last read; a different current version is `VERSION_CONFLICT`.
    pub expected_version: Option<i32>,
    /// Relationship to the student (1 to 255 characters).
    pub relationship: Option<String>,
    /// Whether the guardian has parental responsibility.
    pub has_parental_responsibility: Option<bool>,
    /// Free extension object, at most 16 KB; null clears.
    pub metadata: MaybeUndefined<Json<Value>>,
}

/// A guardian link to delete.
#[derive(InputObject)]
pub struct DeleteGuardianLinkInput {
    /// The guardian link: global id or sourcedId.
    pub guardian_link: ID,
    /// The version last read; a different current version is `VERSION_CONFLICT`.
    pub expected_version: Option<i32>,
}

// ---------------------------------------------------------------------------------------------
// External ids.

/// An organisation's own key for a record. Keys are immutable: delete and create instead.
#[derive(InputObject)]
pub struct CreateExternalIdInput {
    /// The record: its global id, or its sourcedId together with `entityType`.
    pub entity: ID,
    /// The record's type name (e.g. `Person`, `CourseEnrollment`); needed only when `entity`
    /// is a sourcedId.
    pub entity_type: Option<String>,
    /// The owning organisation: programme staff may name any; for everyone else it is always
    /// their own organisation (default).
    pub scope_org: Option<ID>,
    /// The system that issued the key, e.g. `sis` (1 to 255 characters).
    pub system: String,
    /// The kind of key, e.g. `STRN` (1 to 255 characters).
    pub id_type: String,
    /// The key itself (1 to 255 characters).
    pub identifier: String,
    /// The sourcedId to give the external id; a UUID is minted when omitted.
    pub sourced_id: Option<String>,
}

/// The result of an external-id write.
#[derive(SimpleObject, Default)]
pub struct ExternalIdPayload {
    /// The external id (a tombstone after a delete); null when nothing was written.
    pub external_id: Option<ExternalId>,
    /// Expected failures; nothing was written when there are any.
    pub user_errors: Vec<UserError>,
}

/// An external id to delete.
#[derive(InputObject)]
pub struct DeleteExternalIdInput {
    /// The external id: global id or sourcedId.
    pub external_id: ID,
    /// The version last read; a different current version is `VERSION_CONFLICT`.
    pub expected_version: Option<i32>,
}

// ---------------------------------------------------------------------------------------------
// upsertStudents.

/// One student of an upsert. Omitted fields keep their stored value on update; an explicit null
/// clears. Creating needs `givenName` and `familyName`.
#[derive(InputObject, Clone)]
pub struct StudentUpsertItem {
    /// The key with `SOURCED_ID`; with `EXTERNAL_ID`, the sourcedId to give a new student.
    pub sourced_id: Option<String>,
    /// The key with `EXTERNAL_ID` (the school's own key, e.g. its STRN); with `SOURCED_ID`,
    /// recorded as the school's key of a new student.
    pub external_id: Option<ExternalKeyInput>,
    /// Given name, 1 to 255 characters.
    pub given_name: MaybeUndefined<String>,
    /// Family name, 1 to 255 characters.
    pub family_name: MaybeUndefined<String>,
    /// Chinese name.
    pub name_zh: MaybeUndefined<String>,
    /// Preferred name.
    pub preferred_name: MaybeUndefined<String>,
    /// Email address.
    pub email: MaybeUndefined<String>,
    /// Phone number.
    pub phone: MaybeUndefined<String>,
    /// Date of birth (callers who see birth dates only).
    pub date_of_birth: MaybeUndefined<Date>,
    /// Class level: S4, S5, S6, HD1, HD2 or an `ext:` extension.
    pub class_level: MaybeUndefined<String>,
    /// Year the student sits the HKDSE.
    pub expected_hkdse_year: MaybeUndefined<i32>,
    /// Whether the student may sign in (false for a new student when omitted).
    pub enabled_user: MaybeUndefined<bool>,
    /// Free extension object, at most 16 KB.
    pub metadata: MaybeUndefined<Json<Value>>,
    /// The student's version as you read it; omit it to compare values only (a nightly
    /// re-send needs no versions). Given, the item applies only while the stored student is at
    /// this version: otherwise it is `FAILED` with `VERSION_CONFLICT` (naming the current
    /// version) and not applied. Given for a key that matches no student, the item is `FAILED`
    /// with `BAD_USER_INPUT` on `expectedVersion` (omit it to create).
    pub expected_version: Option<i32>,
}

/// A school's roster, or part of it.
#[derive(InputObject)]
pub struct UpsertStudentsInput {
    /// How items are matched to stored students.
    pub key: UpsertKey,
    /// The school (global id or sourcedId): required for programme staff; a school coordinator
    /// or client defaults to, and may only name, its own school.
    pub school: Option<ID>,
    /// 1 to 1,000 students.
    pub items: Vec<StudentUpsertItem>,
}

/// What happened to one item.
#[derive(SimpleObject)]
pub struct StudentUpsertResult {
    /// The item's position in `items` (0-based).
    pub index: i32,
    /// Created, updated, unchanged or failed.
    pub outcome: UpsertOutcome,
    /// The student as stored after the call; null when the item failed.
    pub student: Option<Person>,
    /// Why the item failed; fields are `["input", "items", "<index>", …]`.
    pub user_errors: Vec<UserError>,
}

/// The result of `upsertStudents`.
#[derive(SimpleObject, Default)]
pub struct UpsertStudentsPayload {
    /// One result per item, in item order.
    pub results: Vec<StudentUpsertResult>,
    /// Items created.
    pub created_count: i32,
    /// Items updated.
    pub updated_count: i32,
    /// Items already equal to the stored student (nothing written).
    pub unchanged_count: i32,
    /// Items not applied.
    pub failed_count: i32,
    /// Call-level errors (e.g. too many items); then `results` is empty and nothing was written.
    pub user_errors: Vec<UserError>,
}

fn person_patch(
    given_name: MaybeUndefined<String>,
    family_name: MaybeUndefined<String>,
    name_zh: MaybeUndefined<String>,
    preferred_name: MaybeUndefined<String>,
    email: MaybeUndefined<String>,
    phone: MaybeUndefined<String>,
    date_of_birth: MaybeUndefined<Date>,
    enabled_user: MaybeUndefined<bool>,
    class_level: MaybeUndefined<String>,
    expected_hkdse_year: MaybeUndefined<i32>,
    metadata: MaybeUndefined<Json<Value>>,
) -> PersonPatch {
    PersonPatch {
        given_name: patch(given_name, |v| v),
        family_name: patch(family_name, |v| v),
        name_zh: patch(name_zh, |v| v),
        preferred_name: patch(preferred_name, |v| v),
        email: patch(email, |v| v),
        phone: patch(phone, |v| v),
        date_of_birth: patch(date_of_birth, |d| d.0),
        enabled_user: patch(enabled_user, |v| v),
        class_level: patch(class_level, |v| v),
        expected_hkdse_year: patch(expected_hkdse_year, |v| v),
        metadata: patch(metadata, json),
    }
}

fn student_item(item: StudentUpsertItem) -> StudentItem {
    StudentItem {
        sourced_id: item.sourced_id,
        external_id: item
            .external_id
            .map(|k| (k.system, k.id_type, k.identifier)),
        fields: person_patch(
            item.given_name,
            item.family_name,
            item.name_zh,
            item.preferred_name,
            item.email,
            item.phone,
            item.date_of_birth,
            item.enabled_user,
            item.class_level,
            item.expected_hkdse_year,
            item.metadata,
        ),
        expected_version: item.expected_version,
    }
}

/// The user errors of one failed item; a key that names no student of the school is
/// `NOT_FOUND` on the key field.
fn item_errors(index: usize, key: Key, errors: Vec<AppError>) -> Result<Vec<UserError>> {
    errors
        .into_iter()
        .map(|error| match error {
            AppError::NotFound(_) => {
                let field = match key {
                    Key::SourcedId => "sourcedId",
                    Key::ExternalId => "externalId",
                };
                let path = [
                    "input".to_owned(),
                    "items".to_owned(),
                    index.to_string(),
                    field.to_owned(),
                ];
                let path: Vec<&str> = path.iter().map(String::as_str).collect();
                Ok(UserError::new(
                    Some(&path),
                    ErrorCode::NotFound,
                    "no student of this school has this key",
                ))
            }
            other => item_error(index, other).extend(),
        })
        .collect()
}

/// Resolves `entity` (+ `entityType`) of an external id into (type, sourcedId).
fn external_entity(input: &CreateExternalIdInput) -> AppResult<(String, String)> {
    let given_type = input.entity_type.as_deref().map(str::trim);
    match (decode_global_id(input.entity.as_str()), given_type) {
        (Some((t, sid)), None) => Ok((t, sid)),
        (Some((t, sid)), Some(given)) if given == t => Ok((t, sid)),
        (Some((t, _)), Some(_)) => Err(AppError::bad_input(
            "entityType",
            format!("`entityType` does not match the {t} id given as `entity`"),
        )),
        (None, Some(given)) if is_sourced_id(input.entity.as_str()) => {
            Ok((given.to_owned(), input.entity.to_string()))
        }
        (None, None) if is_sourced_id(input.entity.as_str()) => Err(AppError::bad_input(
            "entityType",
            "`entityType` is required when `entity` is a sourcedId",
        )),
        _ => Err(AppError::bad_input(
            "entity",
            "`entity` is neither a global id nor a sourcedId",
        )),
    }
}

#[derive(Default)]
pub struct PeopleMutation;

#[Object]
impl PeopleMutation {
    /// Creates a person. Who: programme staff (anyone, anywhere); a schoolCoordinator or its
    /// school's client with `roster.write` (people of its school: the person gets a `student`,
    /// `teacher` or `guardian` role there in the same transaction, `student` by default); a
    /// partnerCoordinator or its client with `roster.write` (its own mentors, with the `mentor`
    /// role). Teachers, mentors, students, guardians, evaluators and clients without
    /// `roster.write` get `FORBIDDEN`, as does a school naming another organisation or writing a
    /// field it may not read. User errors: `BAD_USER_INPUT` (field rules), `DUPLICATE`
    /// (sourcedId in use).
    async fn create_person(
        &self,
        ctx: &Context<'_>,
        input: CreatePersonInput,
    ) -> Result<CreatePersonPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let set = |p: &mut CreatePersonPayload, e| p.user_errors.push(e);
        let primary_org = match input
            .primary_org
            .as_ref()
            .map(|id| sourced_id_of("Organization", "primaryOrg", id.as_str()))
            .transpose()
        {
            Ok(org) => org,
            Err(error) => return failed(error, set),
        };
        let fields = PersonPatch {
            given_name: Patch::Set(input.given_name),
            family_name: Patch::Set(input.family_name),
            name_zh: given(input.name_zh, |v| v),
            preferred_name: given(input.preferred_name, |v| v),
            email: given(input.email, |v| v),
            phone: given(input.phone, |v| v),
            date_of_birth: given(input.date_of_birth, |d| d.0),
            enabled_user: given(input.enabled_user, |v| v),
            class_level: given(input.class_level, |v| v),
            expected_hkdse_year: given(input.expected_hkdse_year, |v| v),
            metadata: given(input.metadata, json),
        };
        let role = input.role.as_ref().map(|r| InitialRole {
            role: r.role.as_deref(),
            begin_date: r.begin_date.map(|d| d.0),
            end_date: r.end_date.map(|d| d.0),
        });
        let new = NewPerson {
            fields,
            primary_org: primary_org.as_deref(),
            role,
            sourced_id: input.sourced_id.as_deref(),
        };
        match service::create_person(db(ctx).extend()?, viewer, &new).await {
            Ok(created) => Ok(CreatePersonPayload {
                person: Some(created.person.into()),
                role_assignment: created.role_assignment.map(Into::into),
                user_errors: Vec::new(),
            }),
            Err(error) => failed(error, set),
        }
    }

    /// Updates a person: omitted fields are unchanged, an explicit null clears. Who: as for
    /// `createPerson`, for the people the caller may write (a school its students and the
    /// teachers and guardians of its school; a partner its mentors); a person the caller may not
    /// see is `NOT_FOUND`, one it sees but may not write `FORBIDDEN`. User errors:
    /// `BAD_USER_INPUT`, `VERSION_CONFLICT`, `INVALID_TRANSITION` (deleted), `DUPLICATE` (email of
    /// another account holder). When a changed date of birth ends the student's effective
    /// shareWithPartnerMentor consent for a partner, the same transaction pauses the student's
    /// active mentorships with it and sends it `accessRevoked`, as a withdrawal does.
    async fn update_person(
        &self,
        ctx: &Context<'_>,
        input: UpdatePersonInput,
    ) -> Result<UpdatePersonPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let set = |p: &mut UpdatePersonPayload, e| p.user_errors.push(e);
        let ids = sourced_id_of("Person", "person", input.person.as_str()).and_then(|person| {
            let org = match &input.primary_org {
                MaybeUndefined::Undefined => Patch::Unchanged,
                MaybeUndefined::Null => Patch::Clear,
                MaybeUndefined::Value(id) => {
                    Patch::Set(sourced_id_of("Organization", "primaryOrg", id.as_str())?)
                }
            };
            Ok((person, org))
        });
        let (person, primary_org) = match ids {
            Ok(ids) => ids,
            Err(error) => return failed(error, set),
        };
        let fields = person_patch(
            input.given_name,
            input.family_name,
            input.name_zh,
            input.preferred_name,
            input.email,
            input.phone,
            input.date_of_birth,
            input.enabled_user,
            input.class_level,
            input.expected_hkdse_year,
            input.metadata,
        );
        let result = service::update_person(
            db(ctx).extend()?,
            viewer,
            &person,
            input.expected_version,
            primary_org.as_ref().map_str(),
            &fields,
        )
        .await;
        match result {
            Ok(updated) => Ok(UpdatePersonPayload {
                person: Some(updated.row.into()),
                paused_mentorships: updated.paused.into_iter().map(Into::into).collect(),
                access_revoked: !updated.revoked.is_empty(),
                user_errors: Vec::new(),
            }),
            Err(error) => failed(error, set),
        }
    }

    /// Deletes a person (tombstone: status `TOBEDELETED`, readable with `includeDeleted`, a
    /// `delete` change event). Who: as for `updatePerson`. User errors: `VERSION_CONFLICT`,
    /// `INVALID_TRANSITION` (already deleted).
    async fn delete_person(
        &self,
        ctx: &Context<'_>,
        input: DeletePersonInput,
    ) -> Result<DeletePersonPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let set = |p: &mut DeletePersonPayload, e| p.user_errors.push(e);
        let person = match sourced_id_of("Person", "person", input.person.as_str()) {
            Ok(sid) => sid,
            Err(error) => return failed(error, set),
        };
        match service::delete_person(db(ctx).extend()?, viewer, &person, input.expected_version)
            .await
        {
            Ok(row) => Ok(DeletePersonPayload {
                person: Some(row.into()),
                user_errors: Vec::new(),
            }),
            Err(error) => failed(error, set),
        }
    }

    /// Assigns a role. Who: programme staff (any role, anywhere); a schoolCoordinator or its
    /// school's client with `roster.write` (`student`, `teacher`, `guardian` at its own school);
    /// a partnerCoordinator or its client with `roster.write` (`mentor` at its own organisation).
    /// Another role or organisation is `FORBIDDEN`; a person the caller may not see `NOT_FOUND`.
    /// User errors: `BAD_USER_INPUT` (`role` vocabulary, `org`, `endDate` not after `beginDate`,
    /// `metadata`), `DUPLICATE` (a second primary role at the organisation in an overlapping
    /// period, or a sourcedId in use).
    async fn create_role_assignment(
        &self,
        ctx: &Context<'_>,
        input: CreateRoleAssignmentInput,
    ) -> Result<RoleAssignmentPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let set = |p: &mut RoleAssignmentPayload, e| p.user_errors.push(e);
        let ids = sourced_id_of("Person", "person", input.person.as_str())
            .and_then(|p| Ok((p, sourced_id_of("Organization", "org", input.org.as_str())?)));
        let (person, org) = match ids {
            Ok(ids) => ids,
            Err(error) => return failed(error, set),
        };
        let metadata = input.metadata.map(json);
        let new = NewRoleAssignment {
            person: &person,
            org: &org,
            role: &input.role,
            role_type: input.role_type.unwrap_or(RoleType::Primary).db(),
            begin_date: input.begin_date.0,
            end_date: input.end_date.map(|d| d.0),
            metadata: metadata.as_ref(),
            sourced_id: input.sourced_id.as_deref(),
        };
        match service::create_role_assignment(db(ctx).extend()?, viewer, &new).await {
            Ok(row) => Ok(RoleAssignmentPayload {
                role_assignment: Some(row.into()),
                user_errors: Vec::new(),
            }),
            Err(error) => failed(error, set),
        }
    }

    /// Changes a role assignment's `endDate`, `roleType` or `metadata`. Who: as for
    /// `createRoleAssignment`, for assignments whose role and organisation the caller may
    /// assign (others it sees are `FORBIDDEN`). User errors: `BAD_USER_INPUT`, `DUPLICATE`,
    /// `VERSION_CONFLICT`, `INVALID_TRANSITION` (deleted).
    async fn update_role_assignment(
        &self,
        ctx: &Context<'_>,
        input: UpdateRoleAssignmentInput,
    ) -> Result<RoleAssignmentPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let set = |p: &mut RoleAssignmentPayload, e| p.user_errors.push(e);
        let sid = match sourced_id_of(
            "RoleAssignment",
            "roleAssignment",
            input.role_assignment.as_str(),
        ) {
            Ok(sid) => sid,
            Err(error) => return failed(error, set),
        };
        let result = service::update_role_assignment(
            db(ctx).extend()?,
            viewer,
            &sid,
            input.expected_version,
            patch(input.end_date, |d| d.0),
            input.role_type.map(DbEnum::db),
            &patch(input.metadata, json),
        )
        .await;
        match result {
            Ok(row) => Ok(RoleAssignmentPayload {
                role_assignment: Some(row.into()),
                user_errors: Vec::new(),
            }),
            Err(error) => failed(error, set),
        }
    }

    /// Deletes a role assignment (tombstone). Who: as for `updateRoleAssignment`. User errors:
    /// `VERSION_CONFLICT`, `INVALID_TRANSITION` (already deleted).
    async fn delete_role_assignment(
        &self,
        ctx: &Context<'_>,
        input: DeleteRoleAssignmentInput,
    ) -> Result<RoleAssignmentPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let set = |p: &mut RoleAssignmentPayload, e| p.user_errors.push(e);
        let sid = match sourced_id_of(
            "RoleAssignment",
            "roleAssignment",
            input.role_assignment.as_str(),
        ) {
            Ok(sid) => sid,
            Err(error) => return failed(error, set),
        };
        match service::delete_role_assignment(
            db(ctx).extend()?,
            viewer,
            &sid,
            input.expected_version,
        )
        .await
        {
            Ok(row) => Ok(RoleAssignmentPayload {
                role_assignment: Some(row.into()),
                user_errors: Vec::new(),
            }),
            Err(error) => failed(error, set),
        }
    }

    /// Links a guardian to a student. Who: programme staff; a schoolCoordinator or its school's
    /// client with `roster.write`, for students of its school. Partners and every other role
    /// get `FORBIDDEN`; a student the caller may not write for is `NOT_FOUND`. User errors:
    /// `BAD_USER_INPUT` (`guardian` unknown, invisible or the student; `relationship`;
    /// `metadata`), `DUPLICATE` (the pair is already linked).
    async fn create_guardian_link(
        &self,
        ctx: &Context<'_>,
        input: CreateGuardianLinkInput,
    ) -> Result<GuardianLinkPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize_guardian_links(viewer).extend()?;
        let set = |p: &mut GuardianLinkPayload, e| p.user_errors.push(e);
        let ids = sourced_id_of("Person", "student", input.student.as_str()).and_then(|s| {
            Ok((
                s,
                sourced_id_of("Person", "guardian", input.guardian.as_str())?,
            ))
        });
        let (student, guardian) = match ids {
            Ok(ids) => ids,
            Err(error) => return failed(error, set),
        };
        let metadata = input.metadata.map(json);
        let new = NewGuardianLink {
            student: &student,
            guardian: &guardian,
            relationship: &input.relationship,
            has_parental_responsibility: input.has_parental_responsibility,
            metadata: metadata.as_ref(),
            sourced_id: input.sourced_id.as_deref(),
        };
        match service::create_guardian_link(db(ctx).extend()?, viewer, &new).await {
            Ok(row) => Ok(GuardianLinkPayload {
                guardian_link: Some(row.into()),
                ..Default::default()
            }),
            Err(error) => failed(error, set),
        }
    }

    /// Changes a guardian link's `relationship`, `hasParentalResponsibility` or `metadata`.
    /// Who: as for `createGuardianLink`. Taking parental responsibility away can end the
    /// student's effective shareWithPartnerMentor consent (a minor's needs a guardian with
    /// parental responsibility): for each partner that loses it, the same transaction pauses the
    /// student's active mentorships with the partner and sends it `accessRevoked`, exactly as a
    /// withdrawal does. User errors: `BAD_USER_INPUT`, `VERSION_CONFLICT`, `INVALID_TRANSITION`.
    async fn update_guardian_link(
        &self,
        ctx: &Context<'_>,
        input: UpdateGuardianLinkInput,
    ) -> Result<GuardianLinkPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize_guardian_links(viewer).extend()?;
        let set = |p: &mut GuardianLinkPayload, e| p.user_errors.push(e);
        let sid = match sourced_id_of("GuardianLink", "guardianLink", input.guardian_link.as_str())
        {
            Ok(sid) => sid,
            Err(error) => return failed(error, set),
        };
        let result = service::update_guardian_link(
            db(ctx).extend()?,
            viewer,
            &sid,
            input.expected_version,
            input.relationship.as_deref(),
            input.has_parental_responsibility,
            &patch(input.metadata, json),
        )
        .await;
        match result {
            Ok(updated) => Ok(GuardianLinkPayload {
                guardian_link: Some(updated.row.into()),
                paused_mentorships: updated.paused.into_iter().map(Into::into).collect(),
                access_revoked: !updated.revoked.is_empty(),
                user_errors: Vec::new(),
            }),
            Err(error) => failed(error, set),
        }
    }

    /// Deletes a guardian link (tombstone). Who: as for `createGuardianLink`. Deleting a link
    /// with parental responsibility rechecks consent and revokes as `updateGuardianLink` does.
    /// User errors: `VERSION_CONFLICT`, `INVALID_TRANSITION` (already deleted).
    async fn delete_guardian_link(
        &self,
        ctx: &Context<'_>,
        input: DeleteGuardianLinkInput,
    ) -> Result<GuardianLinkPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize_guardian_links(viewer).extend()?;
        let set = |p: &mut GuardianLinkPayload, e| p.user_errors.push(e);
        let sid = match sourced_id_of("GuardianLink", "guardianLink", input.guardian_link.as_str())
        {
            Ok(sid) => sid,
            Err(error) => return failed(error, set),
        };
        match service::delete_guardian_link(db(ctx).extend()?, viewer, &sid, input.expected_version)
            .await
        {
            Ok(updated) => Ok(GuardianLinkPayload {
                guardian_link: Some(updated.row.into()),
                paused_mentorships: updated.paused.into_iter().map(Into::into).collect(),
                access_revoked: !updated.revoked.is_empty(),
                user_errors: Vec::new(),
            }),
            Err(error) => failed(error, set),
        }
    }

    /// Records an organisation's own key for a record. Who: programme staff (for any
    /// organisation); a school or partner coordinator, or its client with `roster.write`, for
    /// its own organisation, on records it can see. User errors: `BAD_USER_INPUT` (`entity`
    /// unknown or invisible, `entityType` not a record type, `scopeOrg` not the caller's,
    /// `system`/`idType`/`identifier` blank or longer than 255), `DUPLICATE` (the organisation
    /// already uses the key for a record of this type).
    async fn create_external_id(
        &self,
        ctx: &Context<'_>,
        input: CreateExternalIdInput,
    ) -> Result<ExternalIdPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let set = |p: &mut ExternalIdPayload, e| p.user_errors.push(e);
        let ids = external_entity(&input).and_then(|entity| {
            let org = input
                .scope_org
                .as_ref()
                .map(|id| sourced_id_of("Organization", "scopeOrg", id.as_str()))
                .transpose()?;
            Ok((entity, org))
        });
        let ((entity_type, entity), scope_org) = match ids {
            Ok(ids) => ids,
            Err(error) => return failed(error, set),
        };
        let new = NewExternalId {
            entity_type: &entity_type,
            entity: &entity,
            scope_org: scope_org.as_deref(),
            system: &input.system,
            id_type: &input.id_type,
            identifier: &input.identifier,
            sourced_id: input.sourced_id.as_deref(),
        };
        match service::create_external_id(db(ctx).extend()?, viewer, &new).await {
            Ok(row) => Ok(ExternalIdPayload {
                external_id: Some(row.into()),
                user_errors: Vec::new(),
            }),
            Err(error) => failed(error, set),
        }
    }

    /// Deletes an external id (tombstone); keys are never updated. Who: the owning
    /// organisation's coordinator or client with `roster.write`, and programme staff; another
    /// organisation's key is `NOT_FOUND`. User errors: `VERSION_CONFLICT`, `INVALID_TRANSITION`.
    async fn delete_external_id(
        &self,
        ctx: &Context<'_>,
        input: DeleteExternalIdInput,
    ) -> Result<ExternalIdPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let set = |p: &mut ExternalIdPayload, e| p.user_errors.push(e);
        let sid = match sourced_id_of("ExternalId", "externalId", input.external_id.as_str()) {
            Ok(sid) => sid,
            Err(error) => return failed(error, set),
        };
        match service::delete_external_id(db(ctx).extend()?, viewer, &sid, input.expected_version)
            .await
        {
            Ok(row) => Ok(ExternalIdPayload {
                external_id: Some(row.into()),
                user_errors: Vec::new(),
            }),
            Err(error) => failed(error, set),
        }
    }

    /// Creates or updates a school's students by the school's keys: `SOURCED_ID` (each item's
    /// `sourcedId`) or `EXTERNAL_ID` (each item's `externalId`, the school's own key for the
    /// student). One transaction per call; every item is checked before anything is written; a
    /// failed item is `FAILED` with its user errors and left out, the others are applied. A new
    /// student gets the Person, a primary `student` role at the school from today, and the
    /// external id. An item equal to the stored student is `UNCHANGED` (nothing written); a
    /// key repeated in the call fails the later item (`DUPLICATE`); a key naming someone who is
    /// not an active student of the school fails with `NOT_FOUND`. An item's optional
    /// `expectedVersion` guards it: a stale one fails the item with `VERSION_CONFLICT`, one on a
    /// key that matches no student fails it with `BAD_USER_INPUT`. Who: programme staff (naming
    /// `school`), a schoolCoordinator or its school's client with `roster.write` (its own school
    /// only). Call-level user errors: `BAD_USER_INPUT` on `items` (0 or more than 1,000) or
    /// `school`.
    async fn upsert_students(
        &self,
        ctx: &Context<'_>,
        input: UpsertStudentsInput,
    ) -> Result<UpsertStudentsPayload> {
        let viewer = viewer(ctx).extend()?;
        service::authorize(viewer).extend()?;
        let set = |p: &mut UpsertStudentsPayload, e| p.user_errors.push(e);
        let school = match input
            .school
            .as_ref()
            .map(|id| sourced_id_of("Organization", "school", id.as_str()))
            .transpose()
        {
            Ok(school) => school,
            Err(error) => return failed(error, set),
        };
        let key = match input.key {
            UpsertKey::SourcedId => Key::SourcedId,
            UpsertKey::ExternalId => Key::ExternalId,
        };
        let items: Vec<StudentItem> = input.items.into_iter().map(student_item).collect();
        let results = match upserts::upsert_students(
            db(ctx).extend()?,
            viewer,
            key,
            school.as_deref(),
            &items,
        )
        .await
        {
            Ok(results) => results,
            Err(error) => return failed(error, set),
        };
        let mut payload = UpsertStudentsPayload::default();
        for (index, result) in results.into_iter().enumerate() {
            match result.outcome {
                Outcome::Created => payload.created_count += 1,
                Outcome::Updated => payload.updated_count += 1,
                Outcome::Unchanged => payload.unchanged_count += 1,
                Outcome::Failed => payload.failed_count += 1,
            }
            payload.results.push(StudentUpsertResult {
                index: i32::try_from(index).unwrap_or(i32::MAX),
                outcome: result.outcome.into(),
                student: result.student.map(Into::into),
                user_errors: item_errors(index, key, result.errors)?,
            });
        }
        Ok(payload)
    }
}

/// `Patch<&String>` → `Patch<&str>`.
trait MapStr<'a> {
    fn map_str(self) -> Patch<&'a str>;
}

impl<'a> MapStr<'a> for Patch<&'a String> {
    fn map_str(self) -> Patch<&'a str> {
        match self {
            Patch::Unchanged => Patch::Unchanged,
            Patch::Clear => Patch::Clear,
            Patch::Set(s) => Patch::Set(s.as_str()),
        }
    }
}
