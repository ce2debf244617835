//! The curriculum unit version workflow (DOMAIN.md area C): a new version (a draft copy of the
//! latest one), content edits, and the transitions
//!
//! | Transition | Who (programmeAdmin may make any) |
//! |---|---|
//! | new → draft | programmeStaff, academicLead, an invited partnerCoordinator or teacher (or a client acting for an invited org) |
//! | draft → in_review | author or coDeveloper, programmeStaff |
//! | changes_requested → in_review | author or coDeveloper |
//! | in_review → changes_requested | academicLead of the owning org, programmeStaff, reviewer (writes the requestChanges review) |
//! | in_review → approved | academicLead of the owning org (writes the approve review) |
//! | approved → published | academicLead of the owning org (retires the previous published version) |
//! | published → retired | academicLead of the owning org |
//! | draft \| changes_requested → withdrawn | author, programmeStaff |
//!
//! "Invited" means the caller's Person, or (for a partnerCoordinator or a client) its acting
//! organisation, is an active contributor of the unit's latest version.
//!
//! Order of checks: the version (or unit) is visible (`NOT_FOUND`) → the caller may act
//! (`FORBIDDEN`) → the state (`INVALID_TRANSITION`) → the version read (`VERSION_CONFLICT`) →
//! the values (`BAD_USER_INPUT`). Every accepted write emits change events and every
//! transition writes StatusHistory in its transaction; a refused one writes nothing.

use std::collections::HashMap;

use async_graphql::MaybeUndefined;
use chrono::{DateTime, Utc};
use entity::{
    STATUS_ACTIVE, curriculum_unit, curriculum_unit_version, skill, unit_contributor, unit_review,
    unit_skill,
};
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder,
};

use super::{
    APPROVED, AUTHOR, CHANGES_REQUESTED, CO_DEVELOPER, CONTRIBUTOR, Curator, DRAFT, IN_REVIEW,
    PUBLISHED, RETIRED, REVIEW, REVIEWER, UNIT_SKILL, VERSION, WITHDRAWN, WORKING_STATES, curator,
    require_editable, unit_named, version_named,
};
use crate::auth::{Role, Viewer};
use crate::changes::{self, Change};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::service::write::{self, Actor, Transition, VersionedUpdate};

/// Longest summary.
pub const MAX_SUMMARY_CHARS: usize = 4000;
/// Most hours of a unit.
pub const MAX_HOURS: f64 = 1000.0;
/// Most learning outcomes and resources.
pub const MAX_ITEMS: usize = 50;
/// Longest learning outcome.
pub const MAX_OUTCOME_CHARS: usize = 1000;
/// Longest resource URL.
pub const MAX_URL_CHARS: usize = 2000;
/// Longest review comments.
pub const MAX_COMMENTS_CHARS: usize = 4000;

/// A learning resource of the input.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    pub title: String,
    pub url: Option<String>,
}

/// The content of a version write (omitted keeps, null clears).
#[derive(Clone, Debug, Default)]
pub struct VersionFields {
    pub title: MaybeUndefined<String>,
    pub summary: MaybeUndefined<String>,
    pub hours: MaybeUndefined<f64>,
    pub learning_outcomes: MaybeUndefined<Vec<String>>,
    pub resources: MaybeUndefined<Vec<Resource>>,
    pub external_approval_ref: MaybeUndefined<String>,
    pub metadata: MaybeUndefined<serde_json::Value>,
}

impl VersionFields {
    /// Whether anything besides `metadata` is given.
    fn touches_content(&self) -> bool {
        !(self.title.is_undefined()
            && self.summary.is_undefined()
            && self.hours.is_undefined()
            && self.learning_outcomes.is_undefined()
            && self.resources.is_undefined()
            && self.external_approval_ref.is_undefined())
    }
}

/// The learning outcomes, checked: at most [`MAX_ITEMS`], each 1 to [`MAX_OUTCOME_CHARS`]
/// characters (trimmed); an empty list clears them.
pub fn learning_outcomes(items: &[String]) -> AppResult<Option<serde_json::Value>> {
    if items.len() > MAX_ITEMS {
        return Err(AppError::bad_input(
            "learningOutcomes",
            format!("`learningOutcomes` takes at most {MAX_ITEMS} items"),
        ));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        out.push(write::required_text(
            item,
            &format!("learningOutcomes.{i}"),
            MAX_OUTCOME_CHARS,
        )?);
    }
    Ok((!out.is_empty()).then(|| serde_json::json!(out)))
}

fn is_http_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| {
        !r.is_empty() && !r.starts_with('/') && !r.chars().any(char::is_whitespace)
    })
}

/// The resources, checked: at most [`MAX_ITEMS`], each with a title (at most 255 characters)
/// and an optional `http(s)` URL (at most [`MAX_URL_CHARS`]); an empty list clears them.
pub fn resources(items: &[Resource]) -> AppResult<Option<serde_json::Value>> {
    if items.len() > MAX_ITEMS {
        return Err(AppError::bad_input(
            "resources",
            format!("`resources` takes at most {MAX_ITEMS} items"),
        ));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let title = write::required_text(
            &item.title,
            &format!("resources.{i}.title"),
            write::MAX_SHORT_TEXT,
        )?;
        let field = format!("resources.{i}.url");
        let url = write::optional_text(item.url.as_deref(), &field, MAX_URL_CHARS)?;
        if let Some(url) = &url
            && !is_http_url(url)
        {
            return Err(AppError::bad_input(
                &field,
                format!("`{field}` must be an http:// or https:// URL"),
            ));
        }
        out.push(serde_json::json!({ "title": title, "url": url }));
    }
    Ok((!out.is_empty()).then_some(serde_json::Value::Array(out)))
}

/// Applies the content patch to a version row and checks every value.
fn apply(row: &mut curriculum_unit_version::Model, fields: VersionFields) -> AppResult<()> {
    use crate::service::catalogue::{patch, patch_metadata, patch_required, patch_text, text};
    patch_required(
        &mut row.title,
        text(&fields.title),
        "title",
        write::MAX_SHORT_TEXT,
    )?;
    patch_text(
        &mut row.summary,
        text(&fields.summary),
        "summary",
        MAX_SUMMARY_CHARS,
    )?;
    patch(&mut row.hours, fields.hours);
    if let Some(hours) = row.hours
        && !(hours.is_finite() && (0.0..=MAX_HOURS).contains(&hours))
    {
        return Err(AppError::bad_input(
            "hours",
            format!("`hours` must be between 0 and {MAX_HOURS}"),
        ));
    }
    match fields.learning_outcomes {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => row.learning_outcomes = None,
        MaybeUndefined::Value(items) => row.learning_outcomes = learning_outcomes(&items)?,
    }
    match fields.resources {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => row.resources = None,
        MaybeUndefined::Value(items) => row.resources = resources(&items)?,
    }
    patch_text(
        &mut row.external_approval_ref,
        text(&fields.external_approval_ref),
        "externalApprovalRef",
        write::MAX_SHORT_TEXT,
    )?;
    patch_metadata(&mut row.metadata, fields.metadata)?;
    if row.title.is_empty() {
        return Err(AppError::bad_input("title", "`title` is required"));
    }
    Ok(())
}

fn columns(
    row: &curriculum_unit_version::Model,
) -> Vec<(curriculum_unit_version::Column, SimpleExpr)> {
    use curriculum_unit_version::Column as C;
    vec![
        (C::Title, Expr::value(row.title.clone())),
        (C::Summary, Expr::value(row.summary.clone())),
        (C::Hours, Expr::value(row.hours)),
        (
            C::LearningOutcomes,
            Expr::value(row.learning_outcomes.clone()),
        ),
        (C::Resources, Expr::value(row.resources.clone())),
        (
            C::ExternalApprovalRef,
            Expr::value(row.external_approval_ref.clone()),
        ),
        (C::Metadata, Expr::value(row.metadata.clone())),
    ]
}

/// A new version of a unit.
#[derive(Clone, Debug, Default)]
pub struct NewVersion {
    /// The unit (global id or sourcedId).
    pub unit: String,
    pub sourced_id: Option<String>,
    /// Content overriding the copy of the latest version.
    pub fields: VersionFields,
}

/// Whether the caller is invited to start a version of the unit whose latest version is
/// `latest`: their Person, or (for a partnerCoordinator or a client) their acting organisation,
/// is an active contributor of it.
async fn invited(
    db: &impl ConnectionTrait,
    curator: &Curator<'_>,
    latest: Option<&curriculum_unit_version::Model>,
) -> AppResult<bool> {
    let Some(latest) = latest else {
        return Ok(false);
    };
    let principal = curator.principal;
    let mut who = Condition::any();
    let mut any = false;
    if let Some(person) = principal.person_id.filter(|_| !principal.is_client()) {
        who = who.add(unit_contributor::Column::PersonId.eq(person));
        any = true;
    }
    if (principal.is_client() || principal.roles.contains(&Role::PartnerCoordinator))
        && let Some(org) = &principal.org
    {
        who = who.add(unit_contributor::Column::OrgId.eq(org.id));
        any = true;
    }
    if !any {
        return Ok(false);
    }
    let found = unit_contributor::Entity::find()
        .filter(unit_contributor::Column::UnitVersionId.eq(latest.id))
        .filter(unit_contributor::Column::Status.eq(STATUS_ACTIVE))
        .filter(who)
        .one(db)
        .await?;
    Ok(found.is_some())
}

/// The unit's version with the highest number (any state, tombstones excluded).
async fn latest_version(
    db: &impl ConnectionTrait,
    unit_id: i64,
) -> AppResult<Option<curriculum_unit_version::Model>> {
    Ok(curriculum_unit_version::Entity::find()
        .filter(curriculum_unit_version::Column::UnitId.eq(unit_id))
        .filter(curriculum_unit_version::Column::Status.eq(STATUS_ACTIVE))
        .order_by_desc(curriculum_unit_version::Column::VersionNumber)
        .one(db)
        .await?)
}

/// The highest version number the unit has used (tombstones included: numbers are never reused).
async fn highest_number(db: &impl ConnectionTrait, unit_id: i64) -> AppResult<i32> {
    Ok(curriculum_unit_version::Entity::find()
        .filter(curriculum_unit_version::Column::UnitId.eq(unit_id))
        .order_by_desc(curriculum_unit_version::Column::VersionNumber)
        .one(db)
        .await?
        .map_or(0, |v| v.version_number))
}

/// A unique-key violation while starting a version means another working version won a race.
fn raced(error: AppError, unit: &curriculum_unit::Model) -> AppError {
    match error {
        AppError::Conflict {
            code: ErrorCode::Duplicate,
            ..
        } => write::invalid_transition(format!(
            "curriculum unit {} already has a working version",
            unit.sourced_id
        )),
        other => other,
    }
}

/// Starts a new version of a unit: a draft copy of its latest version (content, active
/// contributors with their hours reset, active unit skills), overridden by the given content;
/// the creator becomes an author.
pub async fn create(
    db: &DatabaseConnection,
    viewer: &Viewer,
    new: NewVersion,
) -> AppResult<curriculum_unit_version::Model> {
    let curator = curator(viewer)?;
    let actor = curator.actor.clone();
    let sourced_id = write::new_sourced_id(new.sourced_id.as_deref(), "sourcedId")?;
    let now = changes::now();
    let txn = write::begin(db).await?;
    let unit = unit_named(&txn, viewer, &new.unit, "unit").await?;
    let latest = latest_version(&txn, unit.id).await?;
    let may = curator.is_curriculum_staff()
        || ((curator.principal.is_client()
            || curator.principal.roles.contains(&Role::PartnerCoordinator)
            || curator.principal.roles.contains(&Role::Teacher))
            && invited(&txn, &curator, latest.as_ref()).await?);
    if !may {
        return Err(AppError::Forbidden);
    }
    if unit.status != STATUS_ACTIVE {
        return Err(write::invalid_transition(format!(
            "curriculum unit {} is deleted",
            unit.sourced_id
        )));
    }
    let working = curriculum_unit_version::Entity::find()
        .filter(curriculum_unit_version::Column::UnitId.eq(unit.id))
        .filter(curriculum_unit_version::Column::Status.eq(STATUS_ACTIVE))
        .filter(curriculum_unit_version::Column::State.is_in(WORKING_STATES))
        .one(&txn)
        .await?;
    if let Some(working) = working {
        return Err(write::invalid_transition(format!(
            "curriculum unit {} already has a working version: {} (version {}, {})",
            unit.sourced_id, working.sourced_id, working.version_number, working.state
        )));
    }
    let taken = curriculum_unit_version::Entity::find()
        .filter(curriculum_unit_version::Column::SourcedId.eq(sourced_id.as_str()))
        .one(&txn)
        .await?;
    if taken.is_some() {
        return Err(write::duplicate(format!(
            "a {VERSION} with sourcedId {sourced_id} already exists"
        )));
    }
    let number = highest_number(&txn, unit.id).await? + 1;
    let mut row = curriculum_unit_version::Model {
        id: 0,
        sourced_id,
        status: STATUS_ACTIVE.to_owned(),
        date_created: now,
        date_last_modified: now,
        version: 1,
        metadata: None,
        created_by: Some(actor.subject.clone()),
        modified_by: Some(actor.subject.clone()),
        unit_id: unit.id,
        version_number: number,
        state: DRAFT.to_owned(),
        supersedes_id: latest.as_ref().map(|l| l.id),
        title: latest
            .as_ref()
            .map_or_else(|| unit.title.clone(), |l| l.title.clone()),
        summary: latest.as_ref().and_then(|l| l.summary.clone()),
        hours: latest.as_ref().and_then(|l| l.hours),
        learning_outcomes: latest.as_ref().and_then(|l| l.learning_outcomes.clone()),
        resources: latest.as_ref().and_then(|l| l.resources.clone()),
        external_approval_ref: None,
        content_hash: None,
        published_at: None,
    };
    apply(&mut row, new.fields)?;
    let mut active = row.into_active_model();
    active.not_set(curriculum_unit_version::Column::Id);
    let row = active
        .insert(&txn)
        .await
        .map_err(|e| raced(e.into(), &unit))?;
    let mut events: Vec<Change> = vec![write::change(
        VERSION,
        row.id,
        &row.sourced_id,
        changes::CREATE,
        row.version,
    )];
    let mut has_author = false;
    let caller_person = curator
        .principal
        .person_id
        .filter(|_| !curator.principal.is_client());
    if let Some(latest) = &latest {
        let contributors = unit_contributor::Entity::find()
            .filter(unit_contributor::Column::UnitVersionId.eq(latest.id))
            .filter(unit_contributor::Column::Status.eq(STATUS_ACTIVE))
            .order_by_asc(unit_contributor::Column::Id)
            .all(&txn)
            .await?;
        for old in contributors {
            has_author |= old.contribution_role == AUTHOR && Some(old.person_id) == caller_person;
            let copy = add_contributor(
                &txn,
                row.id,
                old.person_id,
                old.org_id,
                &old.contribution_role,
                &actor,
                now,
            )
            .await?;
            events.push(copy);
        }
        let skills = unit_skill::Entity::find()
            .filter(unit_skill::Column::UnitVersionId.eq(latest.id))
            .filter(unit_skill::Column::Status.eq(STATUS_ACTIVE))
            .order_by_asc(unit_skill::Column::Id)
            .all(&txn)
            .await?;
        for old in skills {
            let copy = unit_skill::Model {
                id: 0,
                sourced_id: uuid::Uuid::now_v7().to_string(),
                status: STATUS_ACTIVE.to_owned(),
                date_created: now,
                date_last_modified: now,
                version: 1,
                metadata: None,
                created_by: Some(actor.subject.clone()),
                modified_by: Some(actor.subject.clone()),
                unit_version_id: row.id,
                skill_id: old.skill_id,
                coverage: old.coverage,
            };
            let mut active = copy.into_active_model();
            active.not_set(unit_skill::Column::Id);
            let copy = active.insert(&txn).await?;
            events.push(write::change(
                UNIT_SKILL,
                copy.id,
                &copy.sourced_id,
                changes::CREATE,
                copy.version,
            ));
        }
    }
    if !has_author
        && let (Some(person), Some(org)) = (caller_person, curator.principal.org.as_ref())
    {
        events.push(add_contributor(&txn, row.id, person, org.id, AUTHOR, &actor, now).await?);
    }
    write::record_transition(
        &txn,
        Transition {
            entity_type: VERSION,
            entity_id: row.id,
            from: None,
            to: DRAFT,
            reason: None,
        },
        &actor,
        now,
    )
    .await?;
    write::emit(&txn, &events, now).await?;
    txn.commit().await?;
    tracing::info!(
        unit.version = row.version_number,
        "curriculum unit version started"
    );
    Ok(row)
}

/// Inserts an active contributor row of a version; returns its create event.
async fn add_contributor(
    db: &impl ConnectionTrait,
    version_id: i64,
    person_id: i64,
    org_id: i64,
    role: &str,
    actor: &Actor,
    now: DateTime<Utc>,
) -> AppResult<Change> {
    let row = unit_contributor::Model {
        id: 0,
        sourced_id: uuid::Uuid::now_v7().to_string(),
        status: STATUS_ACTIVE.to_owned(),
        date_created: now,
        date_last_modified: now,
        version: 1,
        metadata: None,
        created_by: Some(actor.subject.clone()),
        modified_by: Some(actor.subject.clone()),
        unit_version_id: version_id,
        person_id,
        org_id,
        contribution_role: role.to_owned(),
        hours_contributed: None,
    };
    let mut active = row.into_active_model();
    active.not_set(unit_contributor::Column::Id);
    let row = active.insert(db).await?;
    Ok(write::change(
        CONTRIBUTOR,
        row.id,
        &row.sourced_id,
        changes::CREATE,
        row.version,
    ))
}

/// Edits a version's content (draft or changes_requested), or only the `metadata` of a
/// published version (programme staff or the owning org's academic lead).
pub async fn update(
    db: &DatabaseConnection,
    viewer: &Viewer,
    id: &str,
    expected_version: Option<i32>,
    fields: VersionFields,
) -> AppResult<curriculum_unit_version::Model> {
    let curator = curator(viewer)?;
    let actor = curator.actor.clone();
    let now = changes::now();
    let txn = write::begin(db).await?;
    let (current, unit) = version_named(&txn, viewer, id, "id").await?;
    curator.require_editor(&txn, &current, &unit).await?;
    if current.state == PUBLISHED && current.status == STATUS_ACTIVE && !fields.touches_content() {
        if !(curator.is_programme() || curator.leads(unit.owning_org_id)) {
            return Err(AppError::ForbiddenWith(
                "only programme staff or the owning unit's academic lead change a published version's metadata"
                    .into(),
            ));
        }
    } else if current.state == PUBLISHED {
        return Err(write::invalid_transition(format!(
            "curriculum unit version {} is published; published is immutable apart from its metadata",
            current.sourced_id
        )));
    } else {
        require_editable(&current)?;
    }
    write::check_expected_version(
        VERSION,
        &current.sourced_id,
        current.version,
        expected_version,
    )?;
    let mut row = current.clone();
    apply(&mut row, fields)?;
    let version = write::update_versioned::<curriculum_unit_version::Entity>(
        &txn,
        VersionedUpdate {
            type_name: VERSION,
            sourced_id: current.sourced_id.clone(),
            id: current.id,
            version: current.version,
            guard: Some(
                Expr::col(curriculum_unit_version::Column::State)
                    .eq(current.state.as_str())
                    .and(Expr::col(curriculum_unit_version::Column::Status).eq(STATUS_ACTIVE)),
            ),
            set: columns(&row),
        },
        &actor,
        now,
    )
    .await?;
    write::emit(
        &txn,
        &[write::change(
            VERSION,
            current.id,
            &current.sourced_id,
            changes::UPDATE,
            version,
        )],
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(curriculum_unit_version::Model {
        version,
        date_last_modified: now,
        modified_by: Some(actor.subject),
        ..row
    })
}

/// A named transition of a unit version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `draft | changes_requested → in_review`.
    Submit,
    /// `in_review → changes_requested`, with a requestChanges review.
    RequestChanges,
    /// `in_review → approved`, with an approve review.
    Approve,
    /// `approved → published`, retiring the previous published version.
    Publish,
    /// `published → retired`.
    Retire,
    /// `draft | changes_requested → withdrawn`.
    Withdraw,
}

impl Action {
    /// The states the transition starts from.
    pub fn from_states(self) -> &'static [&'static str] {
        match self {
            Action::Submit | Action::Withdraw => &[DRAFT, CHANGES_REQUESTED],
            Action::RequestChanges | Action::Approve => &[IN_REVIEW],
            Action::Publish => &[APPROVED],
            Action::Retire => &[PUBLISHED],
        }
    }

    /// The state it leads to.
    pub fn to_state(self) -> &'static str {
        match self {
            Action::Submit => IN_REVIEW,
            Action::RequestChanges => CHANGES_REQUESTED,
            Action::Approve => APPROVED,
            Action::Publish => PUBLISHED,
            Action::Retire => RETIRED,
            Action::Withdraw => WITHDRAWN,
        }
    }

    /// The verb, for messages.
    pub fn verb(self) -> &'static str {
        match self {
            Action::Submit => "submit",
            Action::RequestChanges => "request changes to",
            Action::Approve => "approve",
            Action::Publish => "publish",
            Action::Retire => "retire",
            Action::Withdraw => "withdraw",
        }
    }
}

/// What some transitions take besides the reason.
#[derive(Clone, Debug, Default)]
pub struct TransitionExtras {
    /// Review comments (request changes: required; approve: optional).
    pub comments: Option<String>,
    /// Publish: the external approval reference.
    pub external_approval_ref: Option<String>,
}

/// Whether the caller may make `action` on a version in `state` (for a state the action does
/// not start from: whether it may make it from any state it starts from, so that the state is
/// what gets refused).
async fn may_act(
    db: &impl ConnectionTrait,
    curator: &Curator<'_>,
    action: Action,
    version: &curriculum_unit_version::Model,
    unit: &curriculum_unit::Model,
) -> AppResult<bool> {
    if curator.is_admin() {
        return Ok(true);
    }
    let lead = curator.leads(unit.owning_org_id);
    Ok(match action {
        Action::Submit => {
            (curator.is_programme() && version.state != CHANGES_REQUESTED)
                || curator
                    .contributes_as(db, version.id, &[AUTHOR, CO_DEVELOPER])
                    .await?
        }
        Action::RequestChanges => {
            lead || curator.is_programme()
                || curator.contributes_as(db, version.id, &[REVIEWER]).await?
        }
        Action::Approve | Action::Publish | Action::Retire => lead,
        Action::Withdraw => {
            curator.is_programme() || curator.contributes_as(db, version.id, &[AUTHOR]).await?
        }
    })
}

/// The published content of a version, as hashed.
#[derive(Clone, Copy, Debug)]
pub struct Content<'a> {
    pub title: &'a str,
    pub summary: Option<&'a str>,
    pub hours: Option<f64>,
    pub learning_outcomes: Option<&'a serde_json::Value>,
    pub resources: Option<&'a serde_json::Value>,
}

impl<'a> Content<'a> {
    pub fn of(version: &'a curriculum_unit_version::Model) -> Self {
        Content {
            title: &version.title,
            summary: version.summary.as_deref(),
            hours: version.hours,
            learning_outcomes: version.learning_outcomes.as_ref(),
            resources: version.resources.as_ref(),
        }
    }

    /// The SHA-256 (hex) of the canonical JSON of this content and the (skill code, coverage)
    /// pairs, in any order.
    pub fn hash(self, skills: &[(String, String)]) -> String {
        let mut skills = skills.to_vec();
        skills.sort();
        let list =
            |v: Option<&serde_json::Value>| v.cloned().unwrap_or_else(|| serde_json::json!([]));
        let canonical = serde_json::json!({
            "hours": self.hours,
            "learningOutcomes": list(self.learning_outcomes),
            "resources": list(self.resources),
            "skills": skills
                .iter()
                .map(|(code, coverage)| serde_json::json!({ "code": code, "coverage": coverage }))
                .collect::<Vec<_>>(),
            "summary": self.summary,
            "title": self.title,
        });
        let digest = ring::digest::digest(&ring::digest::SHA256, canonical.to_string().as_bytes());
        digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The SHA-256 (hex) of the canonical JSON of a version's content and skills.
pub fn content_hash(
    version: &curriculum_unit_version::Model,
    skills: &[(String, String)],
) -> String {
    Content::of(version).hash(skills)
}

/// The (skill code, coverage) pairs of a version's active unit skills.
async fn skill_codes(
    db: &impl ConnectionTrait,
    version_id: i64,
) -> AppResult<Vec<(String, String)>> {
    let rows = unit_skill::Entity::find()
        .filter(unit_skill::Column::UnitVersionId.eq(version_id))
        .filter(unit_skill::Column::Status.eq(STATUS_ACTIVE))
        .all(db)
        .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let codes: HashMap<i64, String> = skill::Entity::find()
        .filter(skill::Column::Id.is_in(rows.iter().map(|r| r.skill_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s.code))
        .collect();
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                codes.get(&r.skill_id).cloned().unwrap_or_default(),
                r.coverage,
            )
        })
        .collect())
}

/// Appends a review of a version by `reviewer`; returns its create event.
async fn add_review(
    db: &impl ConnectionTrait,
    version_id: i64,
    reviewer: i64,
    decision: &str,
    comments: Option<String>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> AppResult<Change> {
    let row = unit_review::Model {
        id: 0,
        sourced_id: uuid::Uuid::now_v7().to_string(),
        status: STATUS_ACTIVE.to_owned(),
        date_created: now,
        date_last_modified: now,
        version: 1,
        metadata: None,
        created_by: Some(actor.subject.clone()),
        modified_by: Some(actor.subject.clone()),
        unit_version_id: version_id,
        reviewer_id: reviewer,
        decision: decision.to_owned(),
        comments,
        decided_at: now,
    };
    let mut active = row.into_active_model();
    active.not_set(unit_review::Column::Id);
    let row = active.insert(db).await?;
    Ok(write::change(
        REVIEW,
        row.id,
        &row.sourced_id,
        changes::CREATE,
        row.version,
    ))
}

/// Makes a transition of the version named `id` at `expected_version`.
pub async fn transition(
    db: &DatabaseConnection,
    viewer: &Viewer,
    action: Action,
    id: &str,
    expected_version: Option<i32>,
    reason: Option<&str>,
    extras: TransitionExtras,
) -> AppResult<curriculum_unit_version::Model> {
    let curator = curator(viewer)?;
    let actor = curator.actor.clone();
    let reason = write::reason(reason)?;
    let now = changes::now();
    let txn = write::begin(db).await?;
    let (current, unit) = version_named(&txn, viewer, id, "id").await?;
    if !may_act(&txn, &curator, action, &current, &unit).await? {
        return Err(AppError::Forbidden);
    }
    // Reviews and approvals are a person's.
    let reviewer = curator
        .principal
        .person_id
        .filter(|_| !curator.principal.is_client());
    if matches!(action, Action::RequestChanges | Action::Approve) && reviewer.is_none() {
        return Err(AppError::ForbiddenWith(
            "reviews and approvals are made by a person, not an integration client".into(),
        ));
    }
    if current.status != STATUS_ACTIVE {
        return Err(write::invalid_transition(format!(
            "curriculum unit version {} is deleted",
            current.sourced_id
        )));
    }
    if !action.from_states().contains(&current.state.as_str()) {
        return Err(write::invalid_transition(format!(
            "cannot {} curriculum unit version {}: it is {}, and only a {} version can be",
            action.verb(),
            current.sourced_id,
            current.state,
            action.from_states().join(" or "),
        )));
    }
    write::check_expected_version(
        VERSION,
        &current.sourced_id,
        current.version,
        expected_version,
    )?;
    let mut set = vec![(
        curriculum_unit_version::Column::State,
        Expr::value(action.to_state()),
    )];
    let mut row = current.clone();
    let mut events: Vec<Change> = Vec::new();
    match action {
        Action::Submit => {
            let mut missing = Vec::new();
            if current.title.trim().is_empty() {
                missing.push("a title");
            }
            let outcomes = current
                .learning_outcomes
                .as_ref()
                .and_then(|v| v.as_array())
                .map_or(0, Vec::len);
            if outcomes == 0 {
                missing.push("at least one learning outcome");
            }
            if !missing.is_empty() {
                return Err(write::invalid_transition(format!(
                    "curriculum unit version {} cannot be submitted: it needs {}",
                    current.sourced_id,
                    missing.join(" and ")
                )));
            }
        }
        Action::RequestChanges => {
            let comments = write::required_text(
                extras.comments.as_deref().unwrap_or_default(),
                "comments",
                MAX_COMMENTS_CHARS,
            )?;
            if let Some(person) = reviewer {
                events.push(
                    add_review(
                        &txn,
                        current.id,
                        person,
                        "requestChanges",
                        Some(comments),
                        &actor,
                        now,
                    )
                    .await?,
                );
            }
        }
        Action::Approve => {
            let comments =
                write::optional_text(extras.comments.as_deref(), "comments", MAX_COMMENTS_CHARS)?;
            if let Some(person) = reviewer {
                events.push(
                    add_review(&txn, current.id, person, "approve", comments, &actor, now).await?,
                );
                let already = unit_contributor::Entity::find()
                    .filter(unit_contributor::Column::UnitVersionId.eq(current.id))
                    .filter(unit_contributor::Column::PersonId.eq(person))
                    .filter(unit_contributor::Column::ContributionRole.eq(super::APPROVER))
                    .filter(unit_contributor::Column::Status.eq(STATUS_ACTIVE))
                    .one(&txn)
                    .await?;
                if already.is_none()
                    && let Some(org) = curator.principal.org.as_ref()
                {
                    events.push(
                        add_contributor(
                            &txn,
                            current.id,
                            person,
                            org.id,
                            super::APPROVER,
                            &actor,
                            now,
                        )
                        .await?,
                    );
                }
            }
        }
        Action::Publish => {
            if let Some(given) = write::optional_text(
                extras.external_approval_ref.as_deref(),
                "externalApprovalRef",
                write::MAX_SHORT_TEXT,
            )? {
                row.external_approval_ref = Some(given);
            }
            if unit.requires_external_approval
                && row
                    .external_approval_ref
                    .as_deref()
                    .is_none_or(|r| r.trim().is_empty())
            {
                return Err(write::invalid_transition(format!(
                    "curriculum unit {} requires external approval: publishing needs an externalApprovalRef",
                    unit.sourced_id
                )));
            }
            retire_published(&txn, &unit, &current, &actor, now).await?;
            let skills = skill_codes(&txn, current.id).await?;
            row.content_hash = Some(content_hash(&row, &skills));
            row.published_at = Some(now);
            set.push((
                curriculum_unit_version::Column::ExternalApprovalRef,
                Expr::value(row.external_approval_ref.clone()),
            ));
            set.push((
                curriculum_unit_version::Column::ContentHash,
                Expr::value(row.content_hash.clone()),
            ));
            set.push((
                curriculum_unit_version::Column::PublishedAt,
                Expr::value(row.published_at),
            ));
        }
        Action::Retire | Action::Withdraw => {}
    }
    let to = action.to_state();
    let version = write::update_versioned::<curriculum_unit_version::Entity>(
        &txn,
        VersionedUpdate {
            type_name: VERSION,
            sourced_id: current.sourced_id.clone(),
            id: current.id,
            version: current.version,
            guard: Some(
                Expr::col(curriculum_unit_version::Column::State)
                    .eq(current.state.as_str())
                    .and(Expr::col(curriculum_unit_version::Column::Status).eq(STATUS_ACTIVE)),
            ),
            set,
        },
        &actor,
        now,
    )
    .await?;
    write::transitioned(
        &txn,
        Transition {
            entity_type: VERSION,
            entity_id: current.id,
            from: Some(&current.state),
            to,
            reason: reason.as_deref(),
        },
        &current.sourced_id,
        version,
        &actor,
        now,
    )
    .await?;
    write::emit(&txn, &events, now).await?;
    txn.commit().await?;
    tracing::info!(
        unit.version.state = to,
        "curriculum unit version transition"
    );
    Ok(curriculum_unit_version::Model {
        state: to.to_owned(),
        version,
        date_last_modified: now,
        modified_by: Some(actor.subject),
        ..row
    })
}

/// Retires the unit's published version (if any) before `publishing` takes its place: its own
/// StatusHistory row ("superseded by version N") and update event.
async fn retire_published(
    db: &impl ConnectionTrait,
    unit: &curriculum_unit::Model,
    publishing: &curriculum_unit_version::Model,
    actor: &Actor,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let published = curriculum_unit_version::Entity::find()
        .filter(curriculum_unit_version::Column::UnitId.eq(unit.id))
        .filter(curriculum_unit_version::Column::Status.eq(STATUS_ACTIVE))
        .filter(curriculum_unit_version::Column::State.eq(PUBLISHED))
        .filter(curriculum_unit_version::Column::Id.ne(publishing.id))
        .all(db)
        .await?;
    for old in published {
        let version = write::update_versioned::<curriculum_unit_version::Entity>(
            db,
            VersionedUpdate {
                type_name: VERSION,
                sourced_id: old.sourced_id.clone(),
                id: old.id,
                version: old.version,
                guard: Some(Expr::col(curriculum_unit_version::Column::State).eq(PUBLISHED)),
                set: vec![(curriculum_unit_version::Column::State, Expr::value(RETIRED))],
            },
            actor,
            now,
        )
        .await?;
        let reason = format!("superseded by version {}", publishing.version_number);
        write::transitioned(
            db,
            Transition {
                entity_type: VERSION,
                entity_id: old.id,
                from: Some(PUBLISHED),
                to: RETIRED,
                reason: Some(&reason),
            },
            &old.sourced_id,
            version,
            actor,
            now,
        )
        .await?;
    }
    Ok(())
}

/// The active versions of `units` in `states` that `scope` lets the caller read (one statement;
/// the read side's published/working version loader).
pub async fn of_units_in_states(
    db: &impl ConnectionTrait,
    units: &[i64],
    states: &[&str],
    scope: Condition,
) -> AppResult<Vec<curriculum_unit_version::Model>> {
    Ok(curriculum_unit_version::Entity::find()
        .filter(scope)
        .filter(curriculum_unit_version::Column::UnitId.is_in(units.iter().copied()))
        .filter(curriculum_unit_version::Column::Status.eq(STATUS_ACTIVE))
        .filter(curriculum_unit_version::Column::State.is_in(states.iter().copied()))
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transition_table_matches_the_domain() {
        assert_eq!(Action::Submit.from_states(), &[DRAFT, CHANGES_REQUESTED]);
        assert_eq!(Action::Withdraw.from_states(), &[DRAFT, CHANGES_REQUESTED]);
        assert_eq!(Action::Approve.from_states(), &[IN_REVIEW]);
        assert_eq!(Action::Publish.to_state(), PUBLISHED);
        assert_eq!(Action::Retire.from_states(), &[PUBLISHED]);
    }

    #[test]
    fn resources_need_a_title_and_an_http_url() {
        let ok = Resource {
            title: "Guide".into(),
            url: Some("https://example.org/guide".into()),
        };
        assert!(resources(std::slice::from_ref(&ok)).is_ok());
        let bad = Resource {
            title: "Guide".into(),
            url: Some("ftp://example.org".into()),
        };
        assert!(resources(&[bad]).is_err());
        let blank = Resource {
            title: " ".into(),
            url: None,
        };
        assert!(resources(&[blank]).is_err());
        assert_eq!(resources(&[]).ok(), Some(None));
    }

    #[test]
    fn learning_outcomes_are_bounded() {
        assert!(learning_outcomes(&["x".repeat(1001)]).is_err());
        assert!(learning_outcomes(&vec!["a".to_owned(); 51]).is_err());
        assert!(learning_outcomes(&["Explain".to_owned()]).is_ok());
    }

    #[test]
    fn the_content_hash_covers_content_and_skills_in_any_order() {
        let now = chrono::Utc::now();
        let version = curriculum_unit_version::Model {
            id: 1,
            sourced_id: "v".into(),
            status: STATUS_ACTIVE.into(),
            date_created: now,
            date_last_modified: now,
            version: 1,
            metadata: None,
            created_by: None,
            modified_by: None,
            unit_id: 1,
            version_number: 1,
            state: APPROVED.into(),
            supersedes_id: None,
            title: "Title".into(),
            summary: None,
            hours: Some(3.0),
            learning_outcomes: Some(serde_json::json!(["a"])),
            resources: None,
            external_approval_ref: None,
            content_hash: None,
            published_at: None,
        };
        let skills = [
            ("B".to_owned(), "applied".to_owned()),
            ("A".to_owned(), "introduced".to_owned()),
        ];
        let reversed = [skills[1].clone(), skills[0].clone()];
        let hash = content_hash(&version, &skills);
        assert_eq!(hash.len(), 64);
        assert_eq!(hash, content_hash(&version, &reversed));
        assert_ne!(hash, content_hash(&version, &skills[..1]));
        let retitled = curriculum_unit_version::Model {
            title: "Other".into(),
            ..version.clone()
        };
        assert_ne!(hash, content_hash(&retitled, &skills));
        // Metadata is not content.
        let tagged = curriculum_unit_version::Model {
            metadata: Some(serde_json::json!({ "tag": 1 })),
            ..version.clone()
        };
        assert_eq!(hash, content_hash(&tagged, &skills));
    }
}
