//! `upsertStudents`: a school system pushes its roster by its own keys (API.md section 4,
//! SHARED_API.md). See `docs/people-writes.md`.
//!
//! One transaction per call. Every item is checked (values, keys, who the matched person is)
//! before anything is written; a failed item is reported `FAILED` with its errors and left out,
//! the others are applied. Matching is by `sourcedId` (key `SOURCED_ID`) or by the caller's own
//! external key for a Person (key `EXTERNAL_ID`, scope org = the caller's organisation).
//!
//! - Unknown key: **create** the Person (`primaryOrg` = the school), the student
//!   RoleAssignment at the school (primary, from today) and the ExternalId when one is given.
//! - Known key, the person an active student of the school: **update** the fields given
//!   (omitted keep their value, null clears); `UNCHANGED` when nothing differs (no write, no
//!   version bump, no event). With the item's `expectedVersion`, only while the student is at
//!   that version: else `FAILED` with `VERSION_CONFLICT` and nothing written for it.
//! - Unknown key with `expectedVersion`: `FAILED` with `BAD_USER_INPUT` (nothing to be at a
//!   version; omit it to create).
//! - Known key, not a student of the school (or deleted): `FAILED` with `NOT_FOUND`, like an
//!   unknown record, revealing nothing more.
//! - A key repeated in one call: the later item is `FAILED` (`DUPLICATE`).
//!
//! Speed: one SELECT per chunk of keys, multi-row INSERTs for creates, one UPDATE per changed
//! row, and the change events of the whole call in one `emit`.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::{STATUS_ACTIVE, person, role_assignment};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, Set,
};

use super::people::{self, PersonPatch, PersonValues, Writer};
use super::upsert::{self, ExternalKey, Outcome};
use super::write::{self, Actor, VersionedUpdate};
use crate::access;
use crate::auth::Viewer;
use crate::changes::{self, Change};
use crate::error::{AppError, AppResult};
use crate::graphql::common::is_sourced_id;

/// Rows per multi-row statement.
const CHUNK: usize = 500;

/// How items are matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    SourcedId,
    ExternalId,
}

/// One item of the call.
#[derive(Clone, Debug, Default)]
pub struct StudentItem {
    pub sourced_id: Option<String>,
    /// `(system, idType, identifier)` as given.
    pub external_id: Option<(String, String, String)>,
    pub fields: PersonPatch,
    /// The version the caller read: when given, the item applies only to a student still at
    /// that version (else `VERSION_CONFLICT`), and may not create (`BAD_USER_INPUT`).
    pub expected_version: Option<i32>,
}

/// What happened to one item.
#[derive(Clone, Debug)]
pub struct ItemResult {
    pub outcome: Outcome,
    /// The student as stored after the call (null when `FAILED`).
    pub student: Option<person::Model>,
    /// Why the item failed; fields are relative to the item (e.g. `givenName`).
    pub errors: Vec<AppError>,
}

impl ItemResult {
    fn failed(error: AppError) -> Self {
        ItemResult {
            outcome: Outcome::Failed,
            student: None,
            errors: vec![error],
        }
    }
}

/// What an item will do, once checked.
enum Plan {
    Failed(AppError),
    Create {
        sourced_id: String,
        key: Option<ExternalKey>,
        values: Box<PersonValues>,
    },
    Update {
        row: Box<person::Model>,
        values: Box<PersonValues>,
    },
    Unchanged(Box<person::Model>),
}

/// The `NOT_FOUND`-like failure of an item whose key names someone who is not a student of the
/// school.
fn not_a_student(field: &str) -> AppError {
    AppError::NotFound(format!("student (by {field})"))
}

/// Upserts students of one school. Call-level failures: `BAD_USER_INPUT` on `items` (0 or more
/// than 1,000) or `school`; `FORBIDDEN` for callers who may not write the school's roster (a
/// school naming another school, partners, other roles) or items writing fields the caller may
/// not read.
#[tracing::instrument(skip_all, fields(items = items.len()))]
pub async fn upsert_students(
    db: &DatabaseConnection,
    viewer: &Viewer,
    key: Key,
    school: Option<&str>,
    items: &[StudentItem],
) -> AppResult<Vec<ItemResult>> {
    let (principal, writer) = people::writer(viewer)?;
    if let Writer::Partner(_) = writer {
        return Err(AppError::Forbidden);
    }
    upsert::check_batch(items.len())?;
    let actor = Actor::of(principal);
    let today = access::today();
    let key_org = match key {
        Key::ExternalId => Some(upsert::key_org(principal)?),
        Key::SourcedId => None,
    };

    let txn = write::begin(db).await?;
    let school = match (writer, school) {
        (Writer::Programme, None) => {
            return Err(AppError::bad_input(
                "school",
                "`school` is required: the school the students belong to",
            ));
        }
        (_, Some(sid)) => {
            let org = entity::org::Entity::find()
                .filter(entity::org::Column::SourcedId.eq(sid))
                .filter(entity::org::Column::Status.eq(STATUS_ACTIVE))
                .filter(entity::org::Column::OrgType.eq("secondarySchool"))
                .one(&txn)
                .await?
                .ok_or_else(|| {
                    AppError::bad_input("school", format!("no active secondary school {sid:?}"))
                })?;
            if writer.org().is_some_and(|own| own != org.id) {
                return Err(AppError::ForbiddenWith(
                    "a school upserts its own students only".into(),
                ));
            }
            org.id
        }
        (_, None) => writer.org().ok_or(AppError::Forbidden)?,
    };
    let prospective = people::prospective_person(school);
    for item in items {
        people::check_writable_fields(viewer, &prospective, &item.fields)?;
    }

    // 1. Keys, checked without the database; a repeated key fails the later item.
    let mut plans: Vec<Option<Plan>> = Vec::with_capacity(items.len());
    let mut sourced: Vec<Option<String>> = Vec::with_capacity(items.len());
    let mut keys: Vec<Option<ExternalKey>> = Vec::with_capacity(items.len());
    let mut seen_sids = HashSet::new();
    let mut seen_keys = HashSet::new();
    for item in items {
        let checked = check_keys(key, item);
        let (sid, ext) = match checked {
            Ok(pair) => pair,
            Err(e) => {
                plans.push(Some(Plan::Failed(e)));
                sourced.push(None);
                keys.push(None);
                continue;
            }
        };
        let repeated_sid = sid.as_ref().is_some_and(|s| !seen_sids.insert(s.clone()));
        let repeated_key = ext.as_ref().is_some_and(|k| !seen_keys.insert(k.clone()));
        if repeated_sid || repeated_key {
            let what = if repeated_key {
                "externalId"
            } else {
                "sourcedId"
            };
            plans.push(Some(Plan::Failed(write::duplicate(format!(
                "`{what}` repeats an earlier item of this call"
            )))));
            sourced.push(None);
            keys.push(None);
            continue;
        }
        plans.push(None);
        sourced.push(sid);
        keys.push(ext);
    }

    // 2. Batched reads: persons by sourcedId, external keys, the school's students.
    let sids: Vec<&str> = sourced.iter().flatten().map(String::as_str).collect();
    let by_sid = persons_by_sourced_id(&txn, &sids).await?;
    let all_keys: Vec<&ExternalKey> = keys.iter().flatten().collect();
    let by_key = match key_org {
        Some(org) => upsert::find_external(&txn, people::PERSON, org, &all_keys).await?,
        None => match principal.org.as_ref() {
            // Keys given with SOURCED_ID are recorded on create: they must be free.
            Some(org) if !all_keys.is_empty() => {
                upsert::find_external(&txn, people::PERSON, org.id, &all_keys).await?
            }
            _ => HashMap::new(),
        },
    };
    let keyed_ids: Vec<i64> = by_key.values().copied().collect();
    let by_id = persons_by_id(&txn, &keyed_ids).await?;
    let mut candidates: Vec<i64> = by_sid.values().map(|p| p.id).collect();
    candidates.extend(&keyed_ids);
    let students = students_of(&txn, school, &candidates, today).await?;

    // 3. Plan every item.
    for (i, item) in items.iter().enumerate() {
        if plans[i].is_some() {
            continue;
        }
        let matched: Option<&person::Model> = match key {
            Key::SourcedId => sourced[i].as_ref().and_then(|s| by_sid.get(s)),
            Key::ExternalId => keys[i]
                .as_ref()
                .and_then(|k| by_key.get(k))
                .and_then(|id| by_id.get(id)),
        };
        let field = match key {
            Key::SourcedId => "sourcedId",
            Key::ExternalId => "externalId",
        };
        let plan = match matched {
            Some(row) if row.status != STATUS_ACTIVE || !students.contains(&row.id) => {
                Plan::Failed(not_a_student(field))
            }
            Some(row) => {
                let old = PersonValues::of(row);
                let checked = upsert::check_item_version(
                    people::PERSON,
                    Some((&row.sourced_id, row.version)),
                    item.expected_version,
                )
                .and_then(|()| old.patched(&item.fields, "", false, today));
                match checked {
                    Err(e) => Plan::Failed(e),
                    Ok(values) if values == old => Plan::Unchanged(Box::new(row.clone())),
                    Ok(values) => Plan::Update {
                        row: Box::new(row.clone()),
                        values: Box::new(values),
                    },
                }
            }
            None if key == Key::ExternalId
                && keys[i].as_ref().is_some_and(|k| by_key.contains_key(k)) =>
            {
                // The key names a person who is gone.
                Plan::Failed(not_a_student(field))
            }
            None => match upsert::check_item_version(people::PERSON, None, item.expected_version) {
                Err(e) => Plan::Failed(e),
                Ok(()) => plan_create(key, &sourced[i], &keys[i], &by_sid, &by_key, item, today),
            },
        };
        plans[i] = Some(plan);
    }

    // 4. Write: multi-row inserts for creates, one UPDATE per changed row, one emit.
    let now = changes::now();
    let mut events: Vec<Change> = Vec::new();
    let mut results: Vec<Option<ItemResult>> = vec![None; items.len()];
    let mut creates: Vec<(usize, String, Option<ExternalKey>, PersonValues)> = Vec::new();
    for (i, plan) in plans.into_iter().enumerate() {
        match plan {
            None => {
                results[i] = Some(ItemResult::failed(AppError::internal(anyhow::anyhow!(
                    "upsert item without a plan"
                ))));
            }
            Some(Plan::Failed(e)) => results[i] = Some(ItemResult::failed(e)),
            Some(Plan::Unchanged(row)) => {
                results[i] = Some(ItemResult {
                    outcome: Outcome::Unchanged,
                    student: Some(*row),
                    errors: Vec::new(),
                });
            }
            Some(Plan::Update { row, values }) => {
                let updated =
                    update_student(&txn, *row, &values, &actor, now, today, &mut events).await;
                results[i] = Some(match updated {
                    Ok(row) => ItemResult {
                        outcome: Outcome::Updated,
                        student: Some(row),
                        errors: Vec::new(),
                    },
                    // Expected failures (an account holder's email in use) fail the item; the
                    // item's UPDATE did not run.
                    Err(e @ AppError::Conflict { .. }) => ItemResult::failed(e),
                    Err(e) => return Err(e),
                });
            }
            Some(Plan::Create {
                sourced_id,
                key,
                values,
            }) => creates.push((i, sourced_id, key, *values)),
        }
    }
    let key_org_for_create = key_org.or(principal.org.as_ref().map(|o| o.id));
    for chunk in creates.chunks(CHUNK) {
        let created =
            insert_students(&txn, chunk, school, key_org_for_create, &actor, now, today).await?;
        events.extend(created.events);
        for (i, row) in created.rows {
            results[i] = Some(ItemResult {
                outcome: Outcome::Created,
                student: Some(row),
                errors: Vec::new(),
            });
        }
    }
    write::emit(&txn, &events, now).await?;
    txn.commit().await?;
    let results: Vec<ItemResult> = results
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| {
                ItemResult::failed(AppError::internal(anyhow::anyhow!("item without result")))
            })
        })
        .collect();
    tracing::info!(
        created = results
            .iter()
            .filter(|r| r.outcome == Outcome::Created)
            .count(),
        updated = results
            .iter()
            .filter(|r| r.outcome == Outcome::Updated)
            .count(),
        failed = results
            .iter()
            .filter(|r| r.outcome == Outcome::Failed)
            .count(),
        "students upserted"
    );
    Ok(results)
}

/// The item's sourcedId and external key, as the key kind requires.
fn check_keys(key: Key, item: &StudentItem) -> AppResult<(Option<String>, Option<ExternalKey>)> {
    let sid = match item.sourced_id.as_deref().map(str::trim) {
        None => None,
        Some(s) if is_sourced_id(s) => Some(s.to_owned()),
        Some(_) => {
            return Err(AppError::bad_input(
                "sourcedId",
                "`sourcedId` must be 1 to 255 characters of A-Z, a-z, 0-9, `.`, `_`, `:` or `-`",
            ));
        }
    };
    let ext = item
        .external_id
        .as_ref()
        .map(|(system, id_type, identifier)| {
            ExternalKey::new(system, id_type, identifier, "externalId")
        })
        .transpose()?;
    match key {
        Key::SourcedId if sid.is_none() => Err(AppError::bad_input(
            "sourcedId",
            "`sourcedId` is required with key SOURCED_ID",
        )),
        Key::ExternalId if ext.is_none() => Err(AppError::bad_input(
            "externalId",
            "`externalId` is required with key EXTERNAL_ID",
        )),
        _ => Ok((sid, ext)),
    }
}

/// The plan of an item whose key matched nobody: create, when its values and its other key
/// are good.
fn plan_create(
    key: Key,
    sourced_id: &Option<String>,
    ext: &Option<ExternalKey>,
    by_sid: &HashMap<String, person::Model>,
    by_key: &HashMap<ExternalKey, i64>,
    item: &StudentItem,
    today: chrono::NaiveDate,
) -> Plan {
    // The key that did not match is free; the other one, used only to create, must be too.
    if key == Key::ExternalId
        && let Some(sid) = sourced_id
        && by_sid.contains_key(sid)
    {
        return Plan::Failed(write::duplicate(format!(
            "a Person with sourcedId {sid} already exists"
        )));
    }
    if key == Key::SourcedId
        && let Some(k) = ext
        && by_key.contains_key(k)
    {
        return Plan::Failed(write::duplicate(
            "`externalId` is already used for another person",
        ));
    }
    match PersonValues::blank().patched(&item.fields, "", true, today) {
        Err(e) => Plan::Failed(e),
        Ok(values) => Plan::Create {
            sourced_id: sourced_id
                .clone()
                .unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
            key: ext.clone(),
            values: Box::new(values),
        },
    }
}

/// Persons by sourcedId (any status: a sourcedId is never reused), one SELECT per chunk.
async fn persons_by_sourced_id(
    db: &impl ConnectionTrait,
    sids: &[&str],
) -> AppResult<HashMap<String, person::Model>> {
    let mut found = HashMap::with_capacity(sids.len());
    for chunk in sids.chunks(CHUNK) {
        for row in person::Entity::find()
            .filter(person::Column::SourcedId.is_in(chunk.iter().copied()))
            .all(db)
            .await?
        {
            found.insert(row.sourced_id.clone(), row);
        }
    }
    Ok(found)
}

/// Persons by id, one SELECT per chunk.
async fn persons_by_id(
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> AppResult<HashMap<i64, person::Model>> {
    let mut found = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        for row in person::Entity::find()
            .filter(person::Column::Id.is_in(chunk.iter().copied()))
            .all(db)
            .await?
        {
            found.insert(row.id, row);
        }
    }
    Ok(found)
}

/// Which of `ids` hold a student role at `school` today.
async fn students_of(
    db: &impl ConnectionTrait,
    school: i64,
    ids: &[i64],
    today: chrono::NaiveDate,
) -> AppResult<HashSet<i64>> {
    let mut found = HashSet::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<i64> = role_assignment::Entity::find()
            .select_only()
            .column(role_assignment::Column::PersonId)
            .filter(role_assignment::Column::PersonId.is_in(chunk.iter().copied()))
            .filter(role_assignment::Column::OrgId.eq(school))
            .filter(role_assignment::Column::Role.eq("student"))
            .filter(role_assignment::Column::Status.eq(STATUS_ACTIVE))
            .filter(role_assignment::Column::BeginDate.lte(today))
            .filter(
                sea_orm::Condition::any()
                    .add(role_assignment::Column::EndDate.is_null())
                    .add(role_assignment::Column::EndDate.gt(today)),
            )
            .into_tuple()
            .all(db)
            .await?;
        found.extend(rows);
    }
    Ok(found)
}

/// One changed student: the optimistic UPDATE of the changed columns, its event, and (when the
/// date of birth changed) the consent recheck of [`people::update_person`].
async fn update_student(
    txn: &sea_orm::DatabaseTransaction,
    row: person::Model,
    values: &PersonValues,
    actor: &Actor,
    now: DateTime<Utc>,
    today: chrono::NaiveDate,
    events: &mut Vec<Change>,
) -> AppResult<person::Model> {
    let old = PersonValues::of(&row);
    if let Some(email) = &values.email
        && values.email != old.email
    {
        people::check_email_unique(txn, row.id, email).await?;
    }
    let partners_before = if values.date_of_birth != old.date_of_birth {
        super::consents::effective_partners(txn, row.id, today).await?
    } else {
        Vec::new()
    };
    let version = write::update_versioned::<person::Entity>(
        txn,
        VersionedUpdate {
            type_name: people::PERSON,
            sourced_id: row.sourced_id.clone(),
            id: row.id,
            version: row.version,
            guard: Some(Expr::col(person::Column::Status).eq(STATUS_ACTIVE)),
            set: values.changes_from(&old),
        },
        actor,
        now,
    )
    .await?;
    events.push(write::change(
        people::PERSON,
        row.id,
        &row.sourced_id,
        changes::UPDATE,
        version,
    ));
    people::recheck(
        txn,
        row.id,
        &partners_before,
        super::mentorships::BIRTH_DATE_CHANGED,
        actor,
        now,
        today,
        events,
    )
    .await?;
    Ok(person::Model {
        version,
        date_last_modified: now,
        modified_by: Some(actor.subject.clone()),
        ..values.apply_to(row)
    })
}

/// What one chunk of creates wrote.
struct Inserted {
    /// `(item index, stored row)`.
    rows: Vec<(usize, person::Model)>,
    events: Vec<Change>,
}

/// Inserts a chunk of new students: persons, their student roles and their external ids, each
/// in one multi-row INSERT, and reads the new rows back in one SELECT each.
async fn insert_students(
    txn: &sea_orm::DatabaseTransaction,
    chunk: &[(usize, String, Option<ExternalKey>, PersonValues)],
    school: i64,
    key_org: Option<i64>,
    actor: &Actor,
    now: DateTime<Utc>,
    today: chrono::NaiveDate,
) -> AppResult<Inserted> {
    let mut events = Vec::with_capacity(chunk.len() * 3);
    person::Entity::insert_many(
        chunk
            .iter()
            .map(|(_, sid, _, values)| values.new_row(sid.clone(), school, actor, now)),
    )
    .exec_without_returning(txn)
    .await?;
    let sids: Vec<&str> = chunk.iter().map(|(_, sid, _, _)| sid.as_str()).collect();
    let stored = persons_by_sourced_id(txn, &sids).await?;
    let mut rows = Vec::with_capacity(chunk.len());
    let mut role_sids = Vec::with_capacity(chunk.len());
    let mut roles = Vec::with_capacity(chunk.len());
    let mut external = Vec::new();
    for (i, sid, key, _) in chunk {
        let row = stored
            .get(sid)
            .cloned()
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("inserted person not read back")))?;
        events.push(write::change(
            people::PERSON,
            row.id,
            &row.sourced_id,
            changes::CREATE,
            1,
        ));
        let role_sid = uuid::Uuid::now_v7().to_string();
        roles.push(role_assignment::ActiveModel {
            sourced_id: Set(role_sid.clone()),
            status: Set(STATUS_ACTIVE.to_owned()),
            date_created: Set(now),
            date_last_modified: Set(now),
            version: Set(1),
            metadata: Set(None),
            created_by: Set(Some(actor.subject.clone())),
            modified_by: Set(Some(actor.subject.clone())),
            person_id: Set(row.id),
            org_id: Set(school),
            role: Set("student".to_owned()),
            role_type: Set("primary".to_owned()),
            begin_date: Set(today),
            end_date: Set(None),
            ..Default::default()
        });
        role_sids.push(role_sid);
        if let Some(key) = key {
            external.push((key.clone(), row.id));
        }
        rows.push((*i, row));
    }
    role_assignment::Entity::insert_many(roles)
        .exec_without_returning(txn)
        .await?;
    let role_rows: Vec<(i64, String)> = role_assignment::Entity::find()
        .select_only()
        .column(role_assignment::Column::Id)
        .column(role_assignment::Column::SourcedId)
        .filter(role_assignment::Column::SourcedId.is_in(role_sids))
        .into_tuple()
        .all(txn)
        .await?;
    events.extend(
        role_rows
            .iter()
            .map(|(id, sid)| write::change(people::ROLE_ASSIGNMENT, *id, sid, changes::CREATE, 1)),
    );
    if let Some(org) = key_org
        && !external.is_empty()
    {
        events.extend(
            upsert::insert_external(txn, people::PERSON, org, &external, actor, now).await?,
        );
    }
    Ok(Inserted { rows, events })
}
