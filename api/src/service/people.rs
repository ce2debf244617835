//! Writing people and their links (DOMAIN.md area A): persons, role assignments, guardian links
//! and external ids. See `docs/people-writes.md` for the full rules.
//!
//! **Who** ([`writer`]): programmeStaff and programmeAdmin write anything; a schoolCoordinator,
//! or its school's client holding `roster.write`, writes the people of its own school (students,
//! and the teachers and guardians it registers there); a partnerCoordinator, or its partner's
//! client holding `roster.write`, writes its own mentors. Teachers, mentors, students,
//! guardians, evaluators, academic leads and clients without `roster.write` are `FORBIDDEN`. A
//! record the caller may not see is `NOT_FOUND`; one it sees but may not write is `FORBIDDEN`.
//!
//! **Fields the caller may not read are fields it may not write**: a school client without
//! `pii.student.read` (minimised view) writes only `preferredName` and `classLevel`; only
//! callers who see dates of birth (school scope, programmeAdmin) write `dateOfBirth`.
//!
//! **Consent.** Effective consent depends on guardian links with parental responsibility and on
//! the student's age. A write that ends a student's effective shareWithPartnerMentor consent for
//! a partner (deleting such a link, taking parental responsibility away, changing the date of
//! birth) does in the same transaction what a withdrawal does
//! ([`consents::recheck_partner_access`]).

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use entity::{
    STATUS_ACTIVE, account, external_id, guardian_link, mentorship, org, person, role_assignment,
};
use sea_orm::sea_query::{Alias, Expr, Func, Query, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, QueryFilter, Set,
};
use serde_json::Value;

use super::upsert::{EXTERNAL_ID_TYPE, ExternalKey};
use super::write::{self, Actor, VersionedUpdate};
use super::{consents, mentorships};
use crate::access::{self, PersonView, Reach, Scoped};
use crate::auth::{Principal, Role, Viewer};
use crate::changes::{self, Change};
use crate::error::{AppError, AppResult};

/// GraphQL type names (change events and messages).
pub const PERSON: &str = "Person";
pub const ROLE_ASSIGNMENT: &str = "RoleAssignment";
pub const GUARDIAN_LINK: &str = "GuardianLink";

/// Class levels of DOMAIN.md area B (plus `ext:` extensions).
pub const CLASS_LEVELS: [&str; 5] = ["S4", "S5", "S6", "HD1", "HD2"];
/// Largest `metadata` object, serialised (DOMAIN.md section 2).
pub const MAX_METADATA_BYTES: usize = 16 * 1024;
/// The first HKDSE was sat in 2012.
pub const FIRST_HKDSE_YEAR: i32 = 2012;
/// How many years ahead an expected HKDSE year may be.
pub const HKDSE_YEARS_AHEAD: i32 = 10;
/// Earliest plausible date of birth.
pub const EARLIEST_BIRTH_YEAR: i32 = 1900;

/// The roles a school writer assigns at its own school.
pub const SCHOOL_ROLES: [&str; 3] = ["student", "teacher", "guardian"];
/// The roles a partner writer assigns at its own organisation.
pub const PARTNER_ROLES: [&str; 1] = ["mentor"];

/// Who writes people.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writer {
    /// programmeStaff or programmeAdmin: anyone.
    Programme,
    /// A schoolCoordinator or a school's client (`roster.write`): this school's people.
    School(i64),
    /// A partnerCoordinator or a partner's client (`roster.write`): this partner's mentors.
    Partner(i64),
}

impl Writer {
    /// The organisation a school or partner writer acts for.
    pub fn org(self) -> Option<i64> {
        match self {
            Writer::Programme => None,
            Writer::School(org) | Writer::Partner(org) => Some(org),
        }
    }

    /// Whether this writer may hold `role` at `org` (role assignments it may write).
    fn may_assign(self, role: &str, org: i64) -> bool {
        match self {
            Writer::Programme => true,
            Writer::School(school) => org == school && SCHOOL_ROLES.contains(&role),
            Writer::Partner(partner) => org == partner && PARTNER_ROLES.contains(&role),
        }
    }
}

/// The caller as a people writer: `UNAUTHENTICATED` without a token; `FORBIDDEN` for other
/// roles and for clients without `roster.write`.
pub fn writer(viewer: &Viewer) -> AppResult<(&Principal, Writer)> {
    let principal = access::principal(viewer)?;
    let writer = match Reach::of(viewer) {
        Reach::Programme => Writer::Programme,
        Reach::Schools {
            schools,
            teacher: None,
        } => match schools.first() {
            Some(school) => Writer::School(*school),
            None => return Err(AppError::Forbidden),
        },
        Reach::Partner { org, .. } => Writer::Partner(org),
        _ => return Err(AppError::Forbidden),
    };
    write::require_write_scope(principal, "roster.write")?;
    Ok((principal, writer))
}

/// The guard of every people write, checked before any input is read.
pub fn authorize(viewer: &Viewer) -> AppResult<()> {
    writer(viewer).map(|_| ())
}

/// The guard of guardian-link writes: partners never write guardian data.
pub fn authorize_guardian_links(viewer: &Viewer) -> AppResult<Writer> {
    match writer(viewer)? {
        (_, Writer::Partner(_)) => Err(AppError::Forbidden),
        (_, w) => Ok(w),
    }
}

// ---------------------------------------------------------------------------------------------
// Field rules.

pub use super::write::{Patch, is_extension};

/// Whether `role` is a DOMAIN.md section 4 role or an extension.
pub fn is_role(role: &str) -> bool {
    Role::parse(role).is_some() || is_extension(role)
}

/// `classLevel`: S4, S5, S6, HD1, HD2 or an `ext:` extension.
pub fn check_class_level(level: &str, field: &str) -> AppResult<String> {
    let level = level.trim();
    if CLASS_LEVELS.contains(&level) || is_extension(level) {
        Ok(level.to_owned())
    } else {
        Err(AppError::bad_input(
            field,
            format!(
                "`{field}` must be one of {} or an `ext:` extension",
                CLASS_LEVELS.join(", ")
            ),
        ))
    }
}

/// `email`: one `@` between a non-empty local part and a dotted domain, no spaces, at most 254
/// characters.
pub fn check_email(email: &str, field: &str) -> AppResult<String> {
    let email = email.trim();
    let valid = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains("..")
        });
    if valid {
        Ok(email.to_owned())
    } else {
        Err(AppError::bad_input(
            field,
            format!("`{field}` is not an email address"),
        ))
    }
}

/// `phone`: an optional `+`, then digits with spaces, `-`, `(` or `)`; 6 to 20 digits.
pub fn check_phone(phone: &str, field: &str) -> AppResult<String> {
    let phone = phone.trim();
    let body = phone.strip_prefix('+').unwrap_or(phone);
    let digits = body.chars().filter(char::is_ascii_digit).count();
    let valid = body
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')'))
        && (6..=20).contains(&digits)
        && phone.len() <= 40;
    if valid {
        Ok(phone.to_owned())
    } else {
        Err(AppError::bad_input(
            field,
            format!(
                "`{field}` must be a phone number: an optional `+`, then 6 to 20 digits with \
                 spaces, `-` or parentheses"
            ),
        ))
    }
}

/// `dateOfBirth`: not in the future and not before 1900.
pub fn check_birth_date(date: NaiveDate, field: &str, today: NaiveDate) -> AppResult<NaiveDate> {
    if date > today {
        return Err(AppError::bad_input(
            field,
            format!("`{field}` may not be in the future"),
        ));
    }
    if date.year() < EARLIEST_BIRTH_YEAR {
        return Err(AppError::bad_input(
            field,
            format!("`{field}` is not plausible: before {EARLIEST_BIRTH_YEAR}"),
        ));
    }
    Ok(date)
}

/// `expectedHkdseYear`: from 2012 (the first HKDSE) to ten years ahead.
pub fn check_hkdse_year(year: i32, field: &str, today: NaiveDate) -> AppResult<i32> {
    let last = today.year() + HKDSE_YEARS_AHEAD;
    if (FIRST_HKDSE_YEAR..=last).contains(&year) {
        Ok(year)
    } else {
        Err(AppError::bad_input(
            field,
            format!("`{field}` must be between {FIRST_HKDSE_YEAR} and {last}"),
        ))
    }
}

/// `metadata`: a JSON object of at most 16 KB (serialised).
pub fn check_metadata(metadata: &Value, field: &str) -> AppResult<Value> {
    write::check_metadata(metadata, field)?;
    Ok(metadata.clone())
}

/// A patch of a metadata field, checked.
fn metadata_patch(patch: &Patch<Value>, field: &str) -> AppResult<Patch<Value>> {
    Ok(match patch {
        Patch::Unchanged => Patch::Unchanged,
        Patch::Clear => Patch::Clear,
        Patch::Set(v) => Patch::Set(check_metadata(v, field)?),
    })
}

/// Applies a checked metadata patch to a stored value.
fn patched<T: Clone>(stored: &Option<T>, patch: &Patch<T>) -> Option<T> {
    match patch {
        Patch::Unchanged => stored.clone(),
        Patch::Clear => None,
        Patch::Set(v) => Some(v.clone()),
    }
}

/// `beginDate < endDate` (end exclusive).
fn check_period(begin: NaiveDate, end: Option<NaiveDate>, field: &str) -> AppResult<()> {
    match end {
        Some(end) if end <= begin => Err(AppError::bad_input(
            field,
            format!("`{field}` (exclusive) must be after `beginDate`"),
        )),
        _ => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// Person values.

/// The fields of a person write; each omitted, cleared or set. `prefix` of error fields is set by
/// the caller (e.g. `items.3.`).
#[derive(Clone, Debug, Default)]
pub struct PersonPatch {
    pub given_name: Patch<String>,
    pub family_name: Patch<String>,
    pub name_zh: Patch<String>,
    pub preferred_name: Patch<String>,
    pub email: Patch<String>,
    pub phone: Patch<String>,
    pub date_of_birth: Patch<NaiveDate>,
    pub enabled_user: Patch<bool>,
    pub class_level: Patch<String>,
    pub expected_hkdse_year: Patch<i32>,
    pub metadata: Patch<Value>,
}

impl PersonPatch {
    /// GraphQL names of the fields the patch sets or clears.
    pub fn given_fields(&self) -> Vec<&'static str> {
        let all = [
            ("givenName", self.given_name.is_given()),
            ("familyName", self.family_name.is_given()),
            ("nameZh", self.name_zh.is_given()),
            ("preferredName", self.preferred_name.is_given()),
            ("email", self.email.is_given()),
            ("phone", self.phone.is_given()),
            ("dateOfBirth", self.date_of_birth.is_given()),
            ("enabledUser", self.enabled_user.is_given()),
            ("classLevel", self.class_level.is_given()),
            ("expectedHkdseYear", self.expected_hkdse_year.is_given()),
            ("metadata", self.metadata.is_given()),
        ];
        all.into_iter()
            .filter_map(|(name, given)| given.then_some(name))
            .collect()
    }
}

/// The written columns of a person (besides the record columns and `primary_org_id`).
#[derive(Clone, Debug, PartialEq)]
pub struct PersonValues {
    pub given_name: String,
    pub family_name: String,
    pub name_zh: Option<String>,
    pub preferred_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub enabled_user: bool,
    pub class_level: Option<String>,
    pub expected_hkdse_year: Option<i32>,
    pub metadata: Option<Value>,
}

/// `enabledUser` of a new person when the input leaves it out.
pub const DEFAULT_ENABLED_USER: bool = false;

impl PersonValues {
    /// The stored values of a person.
    pub fn of(row: &person::Model) -> Self {
        PersonValues {
            given_name: row.given_name.clone(),
            family_name: row.family_name.clone(),
            name_zh: row.name_zh.clone(),
            preferred_name: row.preferred_name.clone(),
            email: row.email.clone(),
            phone: row.phone.clone(),
            date_of_birth: row.date_of_birth,
            enabled_user: row.enabled_user,
            class_level: row.class_level.clone(),
            expected_hkdse_year: row.expected_hkdse_year,
            metadata: row.metadata.clone(),
        }
    }

    /// The starting point of a new person: nothing set.
    pub fn blank() -> Self {
        PersonValues {
            given_name: String::new(),
            family_name: String::new(),
            name_zh: None,
            preferred_name: None,
            email: None,
            phone: None,
            date_of_birth: None,
            enabled_user: DEFAULT_ENABLED_USER,
            class_level: None,
            expected_hkdse_year: None,
            metadata: None,
        }
    }

    /// Applies `patch` to these values, checking every field it gives; error fields are
    /// `prefix` + the field name. A new person (`creating`) needs `givenName` and `familyName`.
    pub fn patched(
        &self,
        patch: &PersonPatch,
        prefix: &str,
        creating: bool,
        today: NaiveDate,
    ) -> AppResult<PersonValues> {
        let f = |name: &str| format!("{prefix}{name}");
        let required = |stored: &str, p: &Patch<String>, name: &str| -> AppResult<String> {
            match p {
                Patch::Unchanged if creating => Err(AppError::bad_input(
                    f(name),
                    format!("`{name}` is required to create a person"),
                )),
                Patch::Unchanged => Ok(stored.to_owned()),
                Patch::Clear => Err(AppError::bad_input(
                    f(name),
                    format!("`{name}` may not be cleared"),
                )),
                Patch::Set(v) => write::required_text(v, &f(name), write::MAX_SHORT_TEXT),
            }
        };
        let text = |stored: &Option<String>, p: &Patch<String>, name: &str| match p {
            Patch::Unchanged => Ok(stored.clone()),
            Patch::Clear => Ok(None),
            Patch::Set(v) => write::optional_text(Some(v), &f(name), write::MAX_SHORT_TEXT),
        };
        let checked = |stored: &Option<String>,
                       p: &Patch<String>,
                       name: &str,
                       check: fn(&str, &str) -> AppResult<String>|
         -> AppResult<Option<String>> {
            match p {
                Patch::Unchanged => Ok(stored.clone()),
                Patch::Clear => Ok(None),
                Patch::Set(v) if v.trim().is_empty() => Ok(None),
                Patch::Set(v) => check(v, &f(name)).map(Some),
            }
        };
        Ok(PersonValues {
            given_name: required(&self.given_name, &patch.given_name, "givenName")?,
            family_name: required(&self.family_name, &patch.family_name, "familyName")?,
            name_zh: text(&self.name_zh, &patch.name_zh, "nameZh")?,
            preferred_name: text(&self.preferred_name, &patch.preferred_name, "preferredName")?,
            email: checked(&self.email, &patch.email, "email", check_email)?,
            phone: checked(&self.phone, &patch.phone, "phone", check_phone)?,
            date_of_birth: match patch.date_of_birth {
                Patch::Unchanged => self.date_of_birth,
                Patch::Clear => None,
                Patch::Set(d) => Some(check_birth_date(d, &f("dateOfBirth"), today)?),
            },
            enabled_user: match patch.enabled_user {
                Patch::Unchanged => self.enabled_user,
                Patch::Clear => {
                    return Err(AppError::bad_input(
                        f("enabledUser"),
                        "`enabledUser` may not be cleared",
                    ));
                }
                Patch::Set(v) => v,
            },
            class_level: checked(
                &self.class_level,
                &patch.class_level,
                "classLevel",
                check_class_level,
            )?,
            expected_hkdse_year: match patch.expected_hkdse_year {
                Patch::Unchanged => self.expected_hkdse_year,
                Patch::Clear => None,
                Patch::Set(y) => Some(check_hkdse_year(y, &f("expectedHkdseYear"), today)?),
            },
            metadata: patched(
                &self.metadata,
                &metadata_patch(&patch.metadata, &f("metadata"))?,
            ),
        })
    }

    /// The `(column, value)` pairs that differ from `old`, for an `UPDATE`.
    pub fn changes_from(&self, old: &PersonValues) -> Vec<(person::Column, SimpleExpr)> {
        use person::Column as C;
        let mut set = Vec::new();
        if self.given_name != old.given_name {
            set.push((C::GivenName, Expr::value(self.given_name.clone())));
        }
        if self.family_name != old.family_name {
            set.push((C::FamilyName, Expr::value(self.family_name.clone())));
        }
        if self.name_zh != old.name_zh {
            set.push((C::NameZh, Expr::value(self.name_zh.clone())));
        }
        if self.preferred_name != old.preferred_name {
            set.push((C::PreferredName, Expr::value(self.preferred_name.clone())));
        }
        if self.email != old.email {
            set.push((C::Email, Expr::value(self.email.clone())));
        }
        if self.phone != old.phone {
            set.push((C::Phone, Expr::value(self.phone.clone())));
        }
        if self.date_of_birth != old.date_of_birth {
            set.push((C::DateOfBirth, Expr::value(self.date_of_birth)));
        }
        if self.enabled_user != old.enabled_user {
            set.push((C::EnabledUser, Expr::value(self.enabled_user)));
        }
        if self.class_level != old.class_level {
            set.push((C::ClassLevel, Expr::value(self.class_level.clone())));
        }
        if self.expected_hkdse_year != old.expected_hkdse_year {
            set.push((C::ExpectedHkdseYear, Expr::value(self.expected_hkdse_year)));
        }
        if self.metadata != old.metadata {
            set.push((C::Metadata, Expr::value(self.metadata.clone())));
        }
        set
    }

    /// A new person row with these values.
    pub fn new_row(
        &self,
        sourced_id: String,
        primary_org: i64,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> person::ActiveModel {
        person::ActiveModel {
            sourced_id: Set(sourced_id),
            status: Set(STATUS_ACTIVE.to_owned()),
            date_created: Set(at),
            date_last_modified: Set(at),
            version: Set(1),
            metadata: Set(self.metadata.clone()),
            created_by: Set(Some(actor.subject.clone())),
            modified_by: Set(Some(actor.subject.clone())),
            given_name: Set(self.given_name.clone()),
            family_name: Set(self.family_name.clone()),
            name_zh: Set(self.name_zh.clone()),
            preferred_name: Set(self.preferred_name.clone()),
            email: Set(self.email.clone()),
            phone: Set(self.phone.clone()),
            date_of_birth: Set(self.date_of_birth),
            enabled_user: Set(self.enabled_user),
            primary_org_id: Set(primary_org),
            class_level: Set(self.class_level.clone()),
            expected_hkdse_year: Set(self.expected_hkdse_year),
            ..Default::default()
        }
    }

    /// The row after an update with these values.
    pub fn apply_to(&self, row: person::Model) -> person::Model {
        person::Model {
            given_name: self.given_name.clone(),
            family_name: self.family_name.clone(),
            name_zh: self.name_zh.clone(),
            preferred_name: self.preferred_name.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
            date_of_birth: self.date_of_birth,
            enabled_user: self.enabled_user,
            class_level: self.class_level.clone(),
            expected_hkdse_year: self.expected_hkdse_year,
            metadata: self.metadata.clone(),
            ..row
        }
    }
}

/// The person fields the caller may not read on `row`, and so may not write: the personal
/// fields when it sees the person minimised, `dateOfBirth` unless it sees birth dates.
pub fn unwritable_fields(viewer: &Viewer, row: &person::Model) -> Vec<&'static str> {
    let mut hidden = Vec::new();
    if access::person_view(viewer, row) == PersonView::Minimised {
        hidden.extend([
            "givenName",
            "familyName",
            "nameZh",
            "email",
            "phone",
            "dateOfBirth",
            "enabledUser",
            "expectedHkdseYear",
            "metadata",
        ]);
    } else if !access::sees_birth_dates(viewer, row) {
        hidden.push("dateOfBirth");
    }
    hidden
}

/// `FORBIDDEN` when `patch` touches a field the caller may not read on `row`.
pub fn check_writable_fields(
    viewer: &Viewer,
    row: &person::Model,
    patch: &PersonPatch,
) -> AppResult<()> {
    let hidden = unwritable_fields(viewer, row);
    match patch
        .given_fields()
        .into_iter()
        .find(|f| hidden.contains(f))
    {
        Some(field) => Err(AppError::ForbiddenWith(format!(
            "the caller may not write `{field}`: it does not see that field of this person"
        ))),
        None => Ok(()),
    }
}

/// A person row not yet stored, for the field checks of a create.
pub fn prospective_person(primary_org: i64) -> person::Model {
    let at = changes::now();
    person::Model {
        id: 0,
        sourced_id: String::new(),
        status: STATUS_ACTIVE.to_owned(),
        date_created: at,
        date_last_modified: at,
        version: 0,
        metadata: None,
        created_by: None,
        modified_by: None,
        given_name: String::new(),
        family_name: String::new(),
        name_zh: None,
        preferred_name: None,
        email: None,
        phone: None,
        date_of_birth: None,
        enabled_user: false,
        primary_org_id: primary_org,
        class_level: None,
        expected_hkdse_year: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Reads inside the write.

/// Role assignments in force today.
fn role_in_force(today: NaiveDate) -> Condition {
    Condition::all()
        .add(role_assignment::Column::Status.eq(STATUS_ACTIVE))
        .add(role_assignment::Column::BeginDate.lte(today))
        .add(
            Condition::any()
                .add(role_assignment::Column::EndDate.is_null())
                .add(role_assignment::Column::EndDate.gt(today)),
        )
}

/// People holding one of `roles` at `org` today.
fn holders(org: i64, roles: &[&str], today: NaiveDate) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(role_assignment::Column::PersonId)
        .from(role_assignment::Entity)
        .cond_where(
            role_in_force(today)
                .add(role_assignment::Column::OrgId.eq(org))
                .add(role_assignment::Column::Role.is_in(roles.iter().copied())),
        )
        .to_owned()
}

/// The people a writer may write (besides seeing them): a school its students, and the
/// teachers and guardians whose primary organisation it is; a partner its mentors.
pub fn writable_people(writer: Writer, today: NaiveDate) -> Condition {
    match writer {
        Writer::Programme => access::allow(),
        Writer::School(school) => Condition::any()
            .add(person::Column::Id.in_subquery(holders(school, &["student"], today)))
            .add(
                Condition::all()
                    .add(person::Column::PrimaryOrgId.eq(school))
                    .add(person::Column::Id.in_subquery(holders(
                        school,
                        &["teacher", "guardian"],
                        today,
                    ))),
            ),
        Writer::Partner(partner) => Condition::all()
            .add(person::Column::PrimaryOrgId.eq(partner))
            .add(person::Column::Id.in_subquery(holders(partner, &["mentor"], today))),
    }
}

/// A person the caller may write, by sourcedId: `NOT_FOUND` when it may not see them,
/// `FORBIDDEN` when it sees but may not write them.
async fn writable_person(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    writer: Writer,
    sourced_id: &str,
    include_deleted: bool,
) -> AppResult<person::Model> {
    let mut query = person::Entity::find()
        .filter(person::Column::SourcedId.eq(sourced_id))
        .filter(person::Entity::scope(viewer)?);
    if !include_deleted {
        query = query.filter(person::Column::Status.eq(STATUS_ACTIVE));
    }
    let row = query
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound("person".into()))?;
    if writer != Writer::Programme
        && person::Entity::find()
            .filter(person::Column::Id.eq(row.id))
            .filter(writable_people(writer, access::today()))
            .one(db)
            .await?
            .is_none()
    {
        return Err(AppError::ForbiddenWith(
            "the caller may not write this person".into(),
        ));
    }
    Ok(row)
}

/// An active organisation by sourcedId, or `BAD_USER_INPUT` on `field`.
async fn active_org(
    db: &impl ConnectionTrait,
    sourced_id: &str,
    field: &str,
) -> AppResult<org::Model> {
    org::Entity::find()
        .filter(org::Column::SourcedId.eq(sourced_id))
        .filter(org::Column::Status.eq(STATUS_ACTIVE))
        .one(db)
        .await?
        .ok_or_else(|| AppError::bad_input(field, format!("no active organisation {sourced_id:?}")))
}

/// `DUPLICATE` when `table` already has a row with this sourcedId (tombstones included: a
/// sourcedId is never reused).
async fn check_new_sourced_id<E: EntityTrait>(
    db: &impl ConnectionTrait,
    type_name: &str,
    sourced_id: &str,
) -> AppResult<()> {
    let statement = Query::select()
        .expr(Expr::val(1))
        .from(E::default())
        .and_where(Expr::col(Alias::new("sourced_id")).eq(sourced_id))
        .to_owned();
    let backend = db.get_database_backend();
    if db.query_one(backend.build(&statement)).await?.is_some() {
        return Err(write::duplicate(format!(
            "a {type_name} with sourcedId {sourced_id} already exists"
        )));
    }
    Ok(())
}

/// `DUPLICATE` when another account holder already uses `email` (case-insensitive); only
/// checked when the person written holds an account (DOMAIN.md: unique among Account holders).
pub async fn check_email_unique(
    db: &impl ConnectionTrait,
    person: i64,
    email: &str,
) -> AppResult<()> {
    let holds_account = |id: Option<i64>| {
        let mut q = Query::select()
            .column(account::Column::PersonId)
            .from(account::Entity)
            .and_where(account::Column::Status.eq(STATUS_ACTIVE))
            .to_owned();
        if let Some(id) = id {
            q.and_where(account::Column::PersonId.eq(id));
        }
        q
    };
    let own = account::Entity::find()
        .filter(account::Column::PersonId.eq(person))
        .filter(account::Column::Status.eq(STATUS_ACTIVE))
        .one(db)
        .await?;
    if own.is_none() {
        return Ok(());
    }
    let other = person::Entity::find()
        .filter(person::Column::Id.ne(person))
        .filter(person::Column::Status.eq(STATUS_ACTIVE))
        .filter(person::Column::Id.in_subquery(holds_account(None)))
        .filter(Expr::expr(Func::lower(Expr::col(person::Column::Email))).eq(email.to_lowercase()))
        .one(db)
        .await?;
    if other.is_some() {
        return Err(write::duplicate(
            "another account holder already uses this email address",
        ));
    }
    Ok(())
}

/// `DUPLICATE` when `person` already holds an active primary role at `org` whose period
/// overlaps `[begin, end)` (other than `except`).
async fn check_one_primary(
    db: &impl ConnectionTrait,
    person: i64,
    org: i64,
    begin: NaiveDate,
    end: Option<NaiveDate>,
    except: Option<i64>,
) -> AppResult<()> {
    let mut query = role_assignment::Entity::find()
        .filter(role_assignment::Column::PersonId.eq(person))
        .filter(role_assignment::Column::OrgId.eq(org))
        .filter(role_assignment::Column::RoleType.eq("primary"))
        .filter(role_assignment::Column::Status.eq(STATUS_ACTIVE))
        .filter(
            Condition::any()
                .add(role_assignment::Column::EndDate.is_null())
                .add(role_assignment::Column::EndDate.gt(begin)),
        );
    if let Some(end) = end {
        query = query.filter(role_assignment::Column::BeginDate.lt(end));
    }
    if let Some(id) = except {
        query = query.filter(role_assignment::Column::Id.ne(id));
    }
    if let Some(existing) = query.one(db).await? {
        return Err(write::duplicate(format!(
            "the person already holds a primary role at this organisation in that period \
             (role assignment {}); end it first or make this one secondary",
            existing.sourced_id
        )));
    }
    Ok(())
}

fn created(type_name: &'static str, id: i64, sourced_id: &str) -> Change {
    write::change(type_name, id, sourced_id, changes::CREATE, 1)
}

// ---------------------------------------------------------------------------------------------
// Persons.

/// The first role of a new person, at its primary organisation.
#[derive(Clone, Debug)]
pub struct InitialRole<'a> {
    /// A DOMAIN.md role or `ext:` extension; a school defaults to `student`, a partner to
    /// `mentor`.
    pub role: Option<&'a str>,
    /// Defaults to today.
    pub begin_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
}

/// A person to create. References are sourcedIds.
#[derive(Clone, Debug, Default)]
pub struct NewPerson<'a> {
    pub fields: PersonPatch,
    /// Required for programme staff; a school or partner defaults to (and may only use) its own
    /// organisation.
    pub primary_org: Option<&'a str>,
    /// The first role assignment at the primary organisation. Always made for a school
    /// (default `student`) or partner (default `mentor`) writer.
    pub role: Option<InitialRole<'a>>,
    pub sourced_id: Option<&'a str>,
}

/// A created person and its first role assignment.
#[derive(Clone, Debug)]
pub struct CreatedPerson {
    pub person: person::Model,
    pub role_assignment: Option<role_assignment::Model>,
}

/// Creates a person (and, for schools and partners, their role at the caller's organisation).
/// Expected failures: `BAD_USER_INPUT` on any field, `DUPLICATE` for a sourcedId in use.
/// A school naming another organisation, a role it may not assign, or a field it may not read
/// is `FORBIDDEN`.
#[tracing::instrument(skip_all)]
pub async fn create_person(
    db: &DatabaseConnection,
    viewer: &Viewer,
    new: &NewPerson<'_>,
) -> AppResult<CreatedPerson> {
    let (principal, writer) = writer(viewer)?;
    let actor = Actor::of(principal);
    let sourced_id = write::new_sourced_id(new.sourced_id, "sourcedId")?;
    let today = access::today();
    let values = PersonValues::blank().patched(&new.fields, "", true, today)?;
    let role = match (writer, &new.role) {
        (Writer::Programme, None) => None,
        (Writer::Programme, Some(r)) => Some(r.clone()),
        (_, r) => Some(r.clone().unwrap_or(InitialRole {
            role: None,
            begin_date: None,
            end_date: None,
        })),
    };
    let role = match role {
        None => None,
        Some(r) => {
            let name = match (r.role.map(str::trim), writer) {
                (Some(name), _) => name,
                (None, Writer::Partner(_)) => "mentor",
                (None, Writer::School(_)) => "student",
                (None, Writer::Programme) => {
                    return Err(AppError::bad_input("role.role", "`role.role` is required"));
                }
            };
            if !is_role(name) {
                return Err(AppError::bad_input(
                    "role.role",
                    "`role.role` must be a DOMAIN.md role or an `ext:` extension",
                ));
            }
            let begin = r.begin_date.unwrap_or(today);
            check_period(begin, r.end_date, "role.endDate")?;
            Some((name.to_owned(), begin, r.end_date))
        }
    };
    let primary_sid = match (new.primary_org, writer) {
        (Some(sid), _) => sid,
        (None, Writer::Programme) => {
            return Err(AppError::bad_input(
                "primaryOrg",
                "`primaryOrg` is required",
            ));
        }
        (None, _) => principal.org_sourced_id.as_str(),
    };

    let txn = write::begin(db).await?;
    let primary = active_org(&txn, primary_sid, "primaryOrg").await?;
    if let Some(own) = writer.org()
        && own != primary.id
    {
        return Err(AppError::ForbiddenWith(
            "a school or partner creates people of its own organisation only".into(),
        ));
    }
    if let Some((name, _, _)) = &role
        && !writer.may_assign(name, primary.id)
    {
        return Err(AppError::ForbiddenWith(format!(
            "the caller may not assign the role {name}"
        )));
    }
    check_writable_fields(viewer, &prospective_person(primary.id), &new.fields)?;
    check_new_sourced_id::<person::Entity>(&txn, PERSON, &sourced_id).await?;

    let now = changes::now();
    let row = values
        .new_row(sourced_id, primary.id, &actor, now)
        .insert(&txn)
        .await?;
    let mut events = vec![created(PERSON, row.id, &row.sourced_id)];
    let role_assignment = match role {
        None => None,
        Some((name, begin, end)) => {
            let ra = new_role_row(
                write::new_sourced_id(None, "sourcedId")?,
                row.id,
                primary.id,
                &name,
                "primary",
                begin,
                end,
                None,
                &actor,
                now,
            )
            .insert(&txn)
            .await?;
            events.push(created(ROLE_ASSIGNMENT, ra.id, &ra.sourced_id));
            Some(ra)
        }
    };
    write::emit(&txn, &events, now).await?;
    txn.commit().await?;
    tracing::info!(person.sourced_id = %row.sourced_id, "person created");
    Ok(CreatedPerson {
        person: row,
        role_assignment,
    })
}

/// What an update changed besides the record itself.
#[derive(Clone, Debug)]
pub struct Updated<T> {
    pub row: T,
    /// Mentorships paused because the write ended effective consent.
    pub paused: Vec<mentorship::Model>,
    /// Partners (ids) sent `accessRevoked` for the student.
    pub revoked: Vec<i64>,
}

impl<T> Updated<T> {
    /// A write that changed nothing else.
    pub fn unchanged(row: T) -> Self {
        Updated {
            row,
            paused: Vec::new(),
            revoked: Vec::new(),
        }
    }
}

/// Updates a person: omitted fields are unchanged, an explicit null clears. Expected failures:
/// `BAD_USER_INPUT` on any field, `VERSION_CONFLICT`, `INVALID_TRANSITION` (deleted),
/// `DUPLICATE` (email of another account holder). A change of a student's date of birth that
/// ends effective consent for a partner pauses and revokes as a withdrawal does. An update that
/// changes nothing writes nothing.
#[tracing::instrument(skip_all, fields(person.sourced_id = %sourced_id))]
pub async fn update_person(
    db: &DatabaseConnection,
    viewer: &Viewer,
    sourced_id: &str,
    expected_version: Option<i32>,
    primary_org: Patch<&str>,
    patch: &PersonPatch,
) -> AppResult<Updated<person::Model>> {
    let (principal, writer) = writer(viewer)?;
    let actor = Actor::of(principal);
    let today = access::today();

    let txn = write::begin(db).await?;
    let row = writable_person(&txn, viewer, writer, sourced_id, true).await?;
    write::check_expected_version(PERSON, sourced_id, row.version, expected_version)?;
    if row.status != STATUS_ACTIVE {
        return Err(write::invalid_transition(format!(
            "person {sourced_id} is deleted"
        )));
    }
    check_writable_fields(viewer, &row, patch)?;
    let old = PersonValues::of(&row);
    let new = old.patched(patch, "", false, today)?;
    let primary = match primary_org {
        Patch::Unchanged => row.primary_org_id,
        Patch::Clear => {
            return Err(AppError::bad_input(
                "primaryOrg",
                "`primaryOrg` may not be cleared",
            ));
        }
        Patch::Set(sid) => {
            let org = active_org(&txn, sid, "primaryOrg").await?;
            if writer.org().is_some_and(|own| own != org.id) && org.id != row.primary_org_id {
                return Err(AppError::ForbiddenWith(
                    "only programme staff move a person to another organisation".into(),
                ));
            }
            org.id
        }
    };
    let mut set = new.changes_from(&old);
    if primary != row.primary_org_id {
        set.push((person::Column::PrimaryOrgId, Expr::value(primary)));
    }
    if set.is_empty() {
        return Ok(Updated::unchanged(row));
    }
    if let Some(email) = &new.email
        && new.email != old.email
    {
        check_email_unique(&txn, row.id, email).await?;
    }
    let dob_changed = new.date_of_birth != old.date_of_birth;
    let partners_before = if dob_changed {
        consents::effective_partners(&txn, row.id, today).await?
    } else {
        Vec::new()
    };

    let now = changes::now();
    let version = write::update_versioned::<person::Entity>(
        &txn,
        VersionedUpdate {
            type_name: PERSON,
            sourced_id: row.sourced_id.clone(),
            id: row.id,
            version: row.version,
            guard: Some(Expr::col(person::Column::Status).eq(STATUS_ACTIVE)),
            set,
        },
        &actor,
        now,
    )
    .await?;
    let mut events = vec![write::change(
        PERSON,
        row.id,
        &row.sourced_id,
        changes::UPDATE,
        version,
    )];
    let (paused, revoked) = recheck(
        &txn,
        row.id,
        &partners_before,
        mentorships::BIRTH_DATE_CHANGED,
        &actor,
        now,
        today,
        &mut events,
    )
    .await?;
    write::emit(&txn, &events, now).await?;
    txn.commit().await?;
    tracing::info!(person.version = version, "person updated");
    let row = person::Model {
        version,
        date_last_modified: now,
        modified_by: Some(actor.subject),
        primary_org_id: primary,
        ..new.apply_to(row)
    };
    Ok(Updated {
        row,
        paused,
        revoked,
    })
}

/// Rechecks each partner that had effective consent before a write
/// ([`consents::recheck_partner_access`]), adding the events to `events`.
pub async fn recheck(
    txn: &DatabaseTransaction,
    student: i64,
    partners_before: &[i64],
    reason: &'static str,
    actor: &Actor,
    at: DateTime<Utc>,
    today: NaiveDate,
    events: &mut Vec<Change>,
) -> AppResult<(Vec<mentorship::Model>, Vec<i64>)> {
    let mut paused = Vec::new();
    let mut revoked = Vec::new();
    for partner in partners_before {
        let mut revocation = consents::recheck_partner_access(
            txn, student, *partner, true, reason, actor, at, today,
        )
        .await?;
        paused.append(&mut revocation.paused);
        events.append(&mut revocation.events);
        if revocation.access_revoked {
            revoked.push(*partner);
        }
    }
    Ok((paused, revoked))
}

/// Deletes a person (tombstone). Expected failures: `VERSION_CONFLICT`, `INVALID_TRANSITION`
/// (already deleted).
#[tracing::instrument(skip_all, fields(person.sourced_id = %sourced_id))]
pub async fn delete_person(
    db: &DatabaseConnection,
    viewer: &Viewer,
    sourced_id: &str,
    expected_version: Option<i32>,
) -> AppResult<person::Model> {
    let (principal, writer) = writer(viewer)?;
    let actor = Actor::of(principal);
    let txn = write::begin(db).await?;
    let row = writable_person(&txn, viewer, writer, sourced_id, true).await?;
    write::check_expected_version(PERSON, sourced_id, row.version, expected_version)?;
    let now = changes::now();
    let version = write::tombstone::<person::Entity>(
        &txn,
        PERSON,
        row.id,
        &row.sourced_id,
        row.version,
        &actor,
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(person::Model {
        status: entity::STATUS_TOBEDELETED.to_owned(),
        version,
        date_last_modified: now,
        modified_by: Some(actor.subject),
        ..row
    })
}

// ---------------------------------------------------------------------------------------------
// Role assignments.

#[allow(clippy::too_many_arguments)]
fn new_role_row(
    sourced_id: String,
    person: i64,
    org: i64,
    role: &str,
    role_type: &str,
    begin: NaiveDate,
    end: Option<NaiveDate>,
    metadata: Option<Value>,
    actor: &Actor,
    at: DateTime<Utc>,
) -> role_assignment::ActiveModel {
    role_assignment::ActiveModel {
        sourced_id: Set(sourced_id),
        status: Set(STATUS_ACTIVE.to_owned()),
        date_created: Set(at),
        date_last_modified: Set(at),
        version: Set(1),
        metadata: Set(metadata),
        created_by: Set(Some(actor.subject.clone())),
        modified_by: Set(Some(actor.subject.clone())),
        person_id: Set(person),
        org_id: Set(org),
        role: Set(role.to_owned()),
        role_type: Set(role_type.to_owned()),
        begin_date: Set(begin),
        end_date: Set(end),
        ..Default::default()
    }
}

/// A role assignment to create. References are sourcedIds.
#[derive(Clone, Debug)]
pub struct NewRoleAssignment<'a> {
    pub person: &'a str,
    pub org: &'a str,
    pub role: &'a str,
    /// `primary` or `secondary`.
    pub role_type: &'static str,
    pub begin_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub metadata: Option<&'a Value>,
    pub sourced_id: Option<&'a str>,
}

/// Creates a role assignment. Expected failures: `BAD_USER_INPUT` on `role`, `org`, `endDate`,
/// `metadata` or `sourcedId`; `DUPLICATE` for a second primary role at the organisation in an
/// overlapping period or a sourcedId in use. A person the caller may not see is `NOT_FOUND`; a
/// role or organisation the caller may not assign is `FORBIDDEN`.
#[tracing::instrument(skip_all, fields(role = %new.role))]
pub async fn create_role_assignment(
    db: &DatabaseConnection,
    viewer: &Viewer,
    new: &NewRoleAssignment<'_>,
) -> AppResult<role_assignment::Model> {
    let (principal, writer) = writer(viewer)?;
    let actor = Actor::of(principal);
    let sourced_id = write::new_sourced_id(new.sourced_id, "sourcedId")?;
    let role = new.role.trim();
    if !is_role(role) {
        return Err(AppError::bad_input(
            "role",
            "`role` must be a DOMAIN.md role or an `ext:` extension",
        ));
    }
    check_period(new.begin_date, new.end_date, "endDate")?;
    let metadata = new
        .metadata
        .map(|m| check_metadata(m, "metadata"))
        .transpose()?;

    let txn = write::begin(db).await?;
    let org = active_org(&txn, new.org, "org").await?;
    if !writer.may_assign(role, org.id) {
        return Err(AppError::ForbiddenWith(format!(
            "the caller may not assign the role {role} at this organisation"
        )));
    }
    let person = person::Entity::find()
        .filter(person::Column::SourcedId.eq(new.person))
        .filter(person::Column::Status.eq(STATUS_ACTIVE))
        .filter(person::Entity::scope(viewer)?)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::NotFound("person".into()))?;
    if new.role_type == "primary" {
        check_one_primary(&txn, person.id, org.id, new.begin_date, new.end_date, None).await?;
    }
    check_new_sourced_id::<role_assignment::Entity>(&txn, ROLE_ASSIGNMENT, &sourced_id).await?;
    let now = changes::now();
    let row = new_role_row(
        sourced_id,
        person.id,
        org.id,
        role,
        new.role_type,
        new.begin_date,
        new.end_date,
        metadata,
        &actor,
        now,
    )
    .insert(&txn)
    .await?;
    write::emit(
        &txn,
        &[created(ROLE_ASSIGNMENT, row.id, &row.sourced_id)],
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}

/// A role assignment the caller may write: `NOT_FOUND` when invisible, `FORBIDDEN` when its
/// role or organisation is not the caller's to assign.
async fn writable_role(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    writer: Writer,
    sourced_id: &str,
) -> AppResult<role_assignment::Model> {
    let row = role_assignment::Entity::find()
        .filter(role_assignment::Column::SourcedId.eq(sourced_id))
        .filter(role_assignment::Entity::scope(viewer)?)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound("role assignment".into()))?;
    if !writer.may_assign(&row.role, row.org_id) {
        return Err(AppError::ForbiddenWith(
            "the caller may not write this role assignment".into(),
        ));
    }
    Ok(row)
}

/// Updates a role assignment's `endDate`, `roleType` and `metadata`. Expected failures:
/// `BAD_USER_INPUT` (`endDate` not after `beginDate`, metadata), `DUPLICATE` (a second
/// primary), `VERSION_CONFLICT`, `INVALID_TRANSITION` (deleted).
#[tracing::instrument(skip_all, fields(role_assignment.sourced_id = %sourced_id))]
pub async fn update_role_assignment(
    db: &DatabaseConnection,
    viewer: &Viewer,
    sourced_id: &str,
    expected_version: Option<i32>,
    end_date: Patch<NaiveDate>,
    role_type: Option<&'static str>,
    metadata: &Patch<Value>,
) -> AppResult<role_assignment::Model> {
    let (principal, writer) = writer(viewer)?;
    let actor = Actor::of(principal);
    let metadata = metadata_patch(metadata, "metadata")?;
    let txn = write::begin(db).await?;
    let row = writable_role(&txn, viewer, writer, sourced_id).await?;
    write::check_expected_version(ROLE_ASSIGNMENT, sourced_id, row.version, expected_version)?;
    if row.status != STATUS_ACTIVE {
        return Err(write::invalid_transition(format!(
            "role assignment {sourced_id} is deleted"
        )));
    }
    let end = patched(&row.end_date, &end_date);
    check_period(row.begin_date, end, "endDate")?;
    let role_type = role_type.unwrap_or(if row.role_type == "primary" {
        "primary"
    } else {
        "secondary"
    });
    let metadata = patched(&row.metadata, &metadata);
    let mut set = Vec::new();
    if end != row.end_date {
        set.push((role_assignment::Column::EndDate, Expr::value(end)));
    }
    if role_type != row.role_type {
        set.push((role_assignment::Column::RoleType, Expr::value(role_type)));
    }
    if metadata != row.metadata {
        set.push((
            role_assignment::Column::Metadata,
            Expr::value(metadata.clone()),
        ));
    }
    if set.is_empty() {
        return Ok(row);
    }
    if role_type == "primary" {
        check_one_primary(
            &txn,
            row.person_id,
            row.org_id,
            row.begin_date,
            end,
            Some(row.id),
        )
        .await?;
    }
    let now = changes::now();
    let version = write::update_versioned::<role_assignment::Entity>(
        &txn,
        VersionedUpdate {
            type_name: ROLE_ASSIGNMENT,
            sourced_id: row.sourced_id.clone(),
            id: row.id,
            version: row.version,
            guard: Some(Expr::col(role_assignment::Column::Status).eq(STATUS_ACTIVE)),
            set,
        },
        &actor,
        now,
    )
    .await?;
    write::emit(
        &txn,
        &[write::change(
            ROLE_ASSIGNMENT,
            row.id,
            &row.sourced_id,
            changes::UPDATE,
            version,
        )],
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(role_assignment::Model {
        end_date: end,
        role_type: role_type.to_owned(),
        metadata,
        version,
        date_last_modified: now,
        modified_by: Some(actor.subject),
        ..row
    })
}

/// Deletes a role assignment (tombstone).
#[tracing::instrument(skip_all, fields(role_assignment.sourced_id = %sourced_id))]
pub async fn delete_role_assignment(
    db: &DatabaseConnection,
    viewer: &Viewer,
    sourced_id: &str,
    expected_version: Option<i32>,
) -> AppResult<role_assignment::Model> {
    let (principal, writer) = writer(viewer)?;
    let actor = Actor::of(principal);
    let txn = write::begin(db).await?;
    let row = writable_role(&txn, viewer, writer, sourced_id).await?;
    write::check_expected_version(ROLE_ASSIGNMENT, sourced_id, row.version, expected_version)?;
    let now = changes::now();
    let version = write::tombstone::<role_assignment::Entity>(
        &txn,
        ROLE_ASSIGNMENT,
        row.id,
        &row.sourced_id,
        row.version,
        &actor,
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(role_assignment::Model {
        status: entity::STATUS_TOBEDELETED.to_owned(),
        version,
        date_last_modified: now,
        modified_by: Some(actor.subject),
        ..row
    })
}

// ---------------------------------------------------------------------------------------------
// Guardian links.

/// A guardian link to create. References are sourcedIds.
#[derive(Clone, Debug)]
pub struct NewGuardianLink<'a> {
    pub student: &'a str,
    pub guardian: &'a str,
    pub relationship: &'a str,
    pub has_parental_responsibility: bool,
    pub metadata: Option<&'a Value>,
    pub sourced_id: Option<&'a str>,
}

/// Links a guardian to a student. Expected failures: `BAD_USER_INPUT` on `guardian` (unknown,
/// invisible, or the student), `relationship`, `metadata`, `sourcedId`; `DUPLICATE` when the
/// pair is already linked. A student the caller may not write for is `NOT_FOUND`.
#[tracing::instrument(skip_all)]
pub async fn create_guardian_link(
    db: &DatabaseConnection,
    viewer: &Viewer,
    new: &NewGuardianLink<'_>,
) -> AppResult<guardian_link::Model> {
    authorize_guardian_links(viewer)?;
    let (principal, _) = writer(viewer)?;
    let actor = Actor::of(principal);
    let sourced_id = write::new_sourced_id(new.sourced_id, "sourcedId")?;
    let relationship =
        write::required_text(new.relationship, "relationship", write::MAX_SHORT_TEXT)?;
    let metadata = new
        .metadata
        .map(|m| check_metadata(m, "metadata"))
        .transpose()?;

    let txn = write::begin(db).await?;
    let student = person::Entity::find()
        .filter(person::Column::SourcedId.eq(new.student))
        .filter(person::Column::Status.eq(STATUS_ACTIVE))
        .filter(access::students_condition(viewer)?)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::NotFound("student".into()))?;
    let guardian = person::Entity::find()
        .filter(person::Column::SourcedId.eq(new.guardian))
        .filter(person::Column::Status.eq(STATUS_ACTIVE))
        .filter(person::Entity::scope(viewer)?)
        .one(&txn)
        .await?
        .ok_or_else(|| {
            AppError::bad_input("guardian", format!("no visible person {:?}", new.guardian))
        })?;
    if guardian.id == student.id {
        return Err(AppError::bad_input(
            "guardian",
            "a student cannot be their own guardian",
        ));
    }
    if let Some(existing) = guardian_link::Entity::find()
        .filter(guardian_link::Column::StudentId.eq(student.id))
        .filter(guardian_link::Column::GuardianId.eq(guardian.id))
        .filter(guardian_link::Column::Status.eq(STATUS_ACTIVE))
        .one(&txn)
        .await?
    {
        return Err(write::duplicate(format!(
            "this guardian is already linked to the student (guardian link {})",
            existing.sourced_id
        )));
    }
    check_new_sourced_id::<guardian_link::Entity>(&txn, GUARDIAN_LINK, &sourced_id).await?;
    let now = changes::now();
    let row = guardian_link::ActiveModel {
        sourced_id: Set(sourced_id),
        status: Set(STATUS_ACTIVE.to_owned()),
        date_created: Set(now),
        date_last_modified: Set(now),
        version: Set(1),
        metadata: Set(metadata),
        created_by: Set(Some(actor.subject.clone())),
        modified_by: Set(Some(actor.subject.clone())),
        student_id: Set(student.id),
        guardian_id: Set(guardian.id),
        relationship: Set(relationship),
        has_parental_responsibility: Set(new.has_parental_responsibility),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    write::emit(
        &txn,
        &[created(GUARDIAN_LINK, row.id, &row.sourced_id)],
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}

/// A guardian link the caller may write (its scope: schools their students' links).
async fn writable_link(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    sourced_id: &str,
) -> AppResult<guardian_link::Model> {
    guardian_link::Entity::find()
        .filter(guardian_link::Column::SourcedId.eq(sourced_id))
        .filter(guardian_link::Entity::scope(viewer)?)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound("guardian link".into()))
}

/// Updates a guardian link's `relationship`, `hasParentalResponsibility` and `metadata`.
/// Taking parental responsibility away rechecks the student's effective consent for every
/// partner, pausing and revoking as a withdrawal does. Expected failures: `BAD_USER_INPUT`,
/// `VERSION_CONFLICT`, `INVALID_TRANSITION` (deleted).
#[tracing::instrument(skip_all, fields(guardian_link.sourced_id = %sourced_id))]
pub async fn update_guardian_link(
    db: &DatabaseConnection,
    viewer: &Viewer,
    sourced_id: &str,
    expected_version: Option<i32>,
    relationship: Option<&str>,
    has_parental_responsibility: Option<bool>,
    metadata: &Patch<Value>,
) -> AppResult<Updated<guardian_link::Model>> {
    authorize_guardian_links(viewer)?;
    let (principal, _) = writer(viewer)?;
    let actor = Actor::of(principal);
    let relationship = relationship
        .map(|r| write::required_text(r, "relationship", write::MAX_SHORT_TEXT))
        .transpose()?;
    let metadata = metadata_patch(metadata, "metadata")?;
    let today = access::today();

    let txn = write::begin(db).await?;
    let row = writable_link(&txn, viewer, sourced_id).await?;
    write::check_expected_version(GUARDIAN_LINK, sourced_id, row.version, expected_version)?;
    if row.status != STATUS_ACTIVE {
        return Err(write::invalid_transition(format!(
            "guardian link {sourced_id} is deleted"
        )));
    }
    let relationship = relationship.unwrap_or_else(|| row.relationship.clone());
    let responsible = has_parental_responsibility.unwrap_or(row.has_parental_responsibility);
    let metadata = patched(&row.metadata, &metadata);
    let mut set = Vec::new();
    if relationship != row.relationship {
        set.push((
            guardian_link::Column::Relationship,
            Expr::value(relationship.clone()),
        ));
    }
    if responsible != row.has_parental_responsibility {
        set.push((
            guardian_link::Column::HasParentalResponsibility,
            Expr::value(responsible),
        ));
    }
    if metadata != row.metadata {
        set.push((
            guardian_link::Column::Metadata,
            Expr::value(metadata.clone()),
        ));
    }
    if set.is_empty() {
        return Ok(Updated::unchanged(row));
    }
    let losing = row.has_parental_responsibility && !responsible;
    let partners_before = if losing {
        consents::effective_partners(&txn, row.student_id, today).await?
    } else {
        Vec::new()
    };
    let now = changes::now();
    let version = write::update_versioned::<guardian_link::Entity>(
        &txn,
        VersionedUpdate {
            type_name: GUARDIAN_LINK,
            sourced_id: row.sourced_id.clone(),
            id: row.id,
            version: row.version,
            guard: Some(Expr::col(guardian_link::Column::Status).eq(STATUS_ACTIVE)),
            set,
        },
        &actor,
        now,
    )
    .await?;
    let mut events = vec![write::change(
        GUARDIAN_LINK,
        row.id,
        &row.sourced_id,
        changes::UPDATE,
        version,
    )];
    let (paused, revoked) = recheck(
        &txn,
        row.student_id,
        &partners_before,
        mentorships::GUARDIAN_LINK_CHANGED,
        &actor,
        now,
        today,
        &mut events,
    )
    .await?;
    write::emit(&txn, &events, now).await?;
    txn.commit().await?;
    Ok(Updated {
        row: guardian_link::Model {
            relationship,
            has_parental_responsibility: responsible,
            metadata,
            version,
            date_last_modified: now,
            modified_by: Some(actor.subject),
            ..row
        },
        paused,
        revoked,
    })
}

/// Deletes a guardian link (tombstone). When the guardian had parental responsibility the
/// student's effective consent is rechecked for every partner, as for an update.
#[tracing::instrument(skip_all, fields(guardian_link.sourced_id = %sourced_id))]
pub async fn delete_guardian_link(
    db: &DatabaseConnection,
    viewer: &Viewer,
    sourced_id: &str,
    expected_version: Option<i32>,
) -> AppResult<Updated<guardian_link::Model>> {
    authorize_guardian_links(viewer)?;
    let (principal, _) = writer(viewer)?;
    let actor = Actor::of(principal);
    let today = access::today();
    let txn = write::begin(db).await?;
    let row = writable_link(&txn, viewer, sourced_id).await?;
    write::check_expected_version(GUARDIAN_LINK, sourced_id, row.version, expected_version)?;
    let partners_before = if row.has_parental_responsibility && row.status == STATUS_ACTIVE {
        consents::effective_partners(&txn, row.student_id, today).await?
    } else {
        Vec::new()
    };
    let now = changes::now();
    let version = write::tombstone::<guardian_link::Entity>(
        &txn,
        GUARDIAN_LINK,
        row.id,
        &row.sourced_id,
        row.version,
        &actor,
        now,
    )
    .await?;
    let mut events = Vec::new();
    let (paused, revoked) = recheck(
        &txn,
        row.student_id,
        &partners_before,
        mentorships::GUARDIAN_LINK_CHANGED,
        &actor,
        now,
        today,
        &mut events,
    )
    .await?;
    write::emit(&txn, &events, now).await?;
    txn.commit().await?;
    Ok(Updated {
        row: guardian_link::Model {
            status: entity::STATUS_TOBEDELETED.to_owned(),
            version,
            date_last_modified: now,
            modified_by: Some(actor.subject),
            ..row
        },
        paused,
        revoked,
    })
}

// ---------------------------------------------------------------------------------------------
// External ids.

/// The node types an external id may name, with their tables.
pub const KEYED_TYPES: [(&str, &str); 15] = [
    ("Organization", "org"),
    ("Person", "person"),
    ("RoleAssignment", "role_assignment"),
    ("GuardianLink", "guardian_link"),
    ("ConsentRecord", "consent_record"),
    ("AcademicSession", "academic_session"),
    ("Pathway", "pathway"),
    ("PathwayStage", "pathway_stage"),
    ("StageCourse", "stage_course"),
    ("Cohort", "cohort"),
    ("Course", "course"),
    ("CourseOffering", "course_offering"),
    ("PathwayEnrollment", "pathway_enrollment"),
    ("CourseEnrollment", "course_enrollment"),
    ("Mentorship", "mentorship"),
];

/// An external id to create.
#[derive(Clone, Debug)]
pub struct NewExternalId<'a> {
    /// A node type name of [`KEYED_TYPES`].
    pub entity_type: &'a str,
    /// The entity's sourcedId.
    pub entity: &'a str,
    /// Programme staff only; everyone else's keys belong to their own organisation.
    pub scope_org: Option<&'a str>,
    pub system: &'a str,
    pub id_type: &'a str,
    pub identifier: &'a str,
    pub sourced_id: Option<&'a str>,
}

/// Records an organisation's own key for a record. Expected failures: `BAD_USER_INPUT` on
/// `entityType`, `entity` (unknown or invisible), `scopeOrg`, `system`, `idType`, `identifier`,
/// `sourcedId`; `DUPLICATE` when the organisation already uses the key.
#[tracing::instrument(skip_all, fields(entity_type = %new.entity_type))]
pub async fn create_external_id(
    db: &DatabaseConnection,
    viewer: &Viewer,
    new: &NewExternalId<'_>,
) -> AppResult<external_id::Model> {
    let (principal, writer) = writer(viewer)?;
    let actor = Actor::of(principal);
    let sourced_id = write::new_sourced_id(new.sourced_id, "sourcedId")?;
    let Some((type_name, table)) = KEYED_TYPES.iter().find(|(t, _)| *t == new.entity_type) else {
        return Err(AppError::bad_input(
            "entityType",
            "`entityType` must name a record type, e.g. Person or CourseEnrollment",
        ));
    };
    let key = ExternalKey::new(new.system, new.id_type, new.identifier, "")?;

    let txn = write::begin(db).await?;
    let scope_org = match (writer, new.scope_org) {
        (Writer::Programme, Some(sid)) => active_org(&txn, sid, "scopeOrg").await?.id,
        (_, None) => crate::service::upsert::key_org(principal)
            .map_err(|_| AppError::bad_input("scopeOrg", "`scopeOrg` is required"))?,
        (_, Some(sid)) => {
            let own = writer.org().unwrap_or_default();
            let org = active_org(&txn, sid, "scopeOrg").await?;
            if org.id != own {
                return Err(AppError::bad_input(
                    "scopeOrg",
                    "an external id always belongs to the caller's own organisation",
                ));
            }
            own
        }
    };
    let statement = Query::select()
        .column(Alias::new("id"))
        .from(Alias::new(*table))
        .and_where(Expr::col(Alias::new("sourced_id")).eq(new.entity))
        .and_where(Expr::col(Alias::new("status")).eq(STATUS_ACTIVE))
        .cond_where(access::scope_of_table(table, viewer)?)
        .to_owned();
    let backend = txn.get_database_backend();
    let entity_id: i64 = match txn.query_one(backend.build(&statement)).await? {
        Some(row) => row.try_get_by_index(0)?,
        None => {
            return Err(AppError::bad_input(
                "entity",
                format!("no visible {type_name} {:?}", new.entity),
            ));
        }
    };
    if external_id::Entity::find()
        .filter(external_id::Column::EntityType.eq(*type_name))
        .filter(external_id::Column::ScopeOrgId.eq(scope_org))
        .filter(external_id::Column::System.eq(key.system.as_str()))
        .filter(external_id::Column::IdType.eq(key.id_type.as_str()))
        .filter(external_id::Column::Identifier.eq(key.identifier.as_str()))
        .filter(external_id::Column::Status.eq(STATUS_ACTIVE))
        .one(&txn)
        .await?
        .is_some()
    {
        return Err(write::duplicate(
            "the organisation already uses this key for a record of this type",
        ));
    }
    check_new_sourced_id::<external_id::Entity>(&txn, EXTERNAL_ID_TYPE, &sourced_id).await?;
    let now = changes::now();
    let row = external_id::ActiveModel {
        sourced_id: Set(sourced_id),
        status: Set(STATUS_ACTIVE.to_owned()),
        date_created: Set(now),
        date_last_modified: Set(now),
        version: Set(1),
        metadata: Set(None),
        created_by: Set(Some(actor.subject.clone())),
        modified_by: Set(Some(actor.subject.clone())),
        entity_type: Set((*type_name).to_owned()),
        entity_id: Set(entity_id),
        scope_org_id: Set(scope_org),
        system: Set(key.system),
        id_type: Set(key.id_type),
        identifier: Set(key.identifier),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    write::emit(
        &txn,
        &[created(EXTERNAL_ID_TYPE, row.id, &row.sourced_id)],
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}

/// Deletes an external id (tombstone); identifiers are never updated. Only the owning
/// organisation (and programme staff) may.
#[tracing::instrument(skip_all, fields(external_id.sourced_id = %sourced_id))]
pub async fn delete_external_id(
    db: &DatabaseConnection,
    viewer: &Viewer,
    sourced_id: &str,
    expected_version: Option<i32>,
) -> AppResult<external_id::Model> {
    let (principal, writer) = writer(viewer)?;
    let actor = Actor::of(principal);
    let txn = write::begin(db).await?;
    let row = external_id::Entity::find()
        .filter(external_id::Column::SourcedId.eq(sourced_id))
        .filter(external_id::Entity::scope(viewer)?)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::NotFound("external id".into()))?;
    if writer.org().is_some_and(|own| own != row.scope_org_id) {
        return Err(AppError::NotFound("external id".into()));
    }
    write::check_expected_version(EXTERNAL_ID_TYPE, sourced_id, row.version, expected_version)?;
    let now = changes::now();
    let version = write::tombstone::<external_id::Entity>(
        &txn,
        EXTERNAL_ID_TYPE,
        row.id,
        &row.sourced_id,
        row.version,
        &actor,
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(external_id::Model {
        status: entity::STATUS_TOBEDELETED.to_owned(),
        version,
        date_last_modified: now,
        modified_by: Some(actor.subject),
        ..row
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn field_formats() {
        assert!(check_email("a.b@school.edu.hk", "email").is_ok());
        assert!(check_email("no-at-sign", "email").is_err());
        assert!(check_email("a@b", "email").is_err());
        assert!(check_email("a b@c.hk", "email").is_err());
        assert!(check_phone("+852 2345 6789", "phone").is_ok());
        assert!(check_phone("(852) 2345-6789", "phone").is_ok());
        assert!(check_phone("12345", "phone").is_err());
        assert!(check_phone("call me", "phone").is_err());
        assert!(check_class_level("S5", "classLevel").is_ok());
        assert!(check_class_level("ext:S3", "classLevel").is_ok());
        assert!(check_class_level("P6", "classLevel").is_err());
        let today = day(2026, 11, 25);
        assert!(check_birth_date(day(2026, 11, 26), "d", today).is_err());
        assert!(check_birth_date(day(1899, 12, 31), "d", today).is_err());
        assert!(check_birth_date(day(2009, 6, 1), "d", today).is_ok());
        assert!(check_hkdse_year(2011, "y", today).is_err());
        assert!(check_hkdse_year(2027, "y", today).is_ok());
        assert!(check_hkdse_year(2037, "y", today).is_err());
        assert!(check_metadata(&serde_json::json!([1]), "m").is_err());
        let big = serde_json::json!({ "x": "a".repeat(MAX_METADATA_BYTES) });
        assert!(check_metadata(&big, "m").is_err());
        assert!(is_role("teacher") && is_role("ext:alumni") && !is_role("janitor"));
    }

    #[test]
    fn a_patch_keeps_omitted_fields_and_clears_nulls() {
        let today = day(2026, 11, 25);
        let base = PersonValues {
            given_name: "Wing".into(),
            preferred_name: Some("Wingy".into()),
            ..PersonValues::blank()
        };
        let patch = PersonPatch {
            preferred_name: Patch::Clear,
            class_level: Patch::Set("S4".into()),
            ..Default::default()
        };
        let new = base
            .patched(&patch, "", false, today)
            .unwrap_or(base.clone());
        assert_eq!(new.given_name, "Wing");
        assert_eq!(new.preferred_name, None);
        assert_eq!(new.class_level.as_deref(), Some("S4"));
        assert_eq!(new.changes_from(&base).len(), 2);
        let err = PersonValues::blank().patched(&PersonPatch::default(), "items.2.", true, today);
        assert!(
            matches!(err, Err(AppError::BadUserInput { field, .. }) if field == "items.2.givenName")
        );
    }
}
