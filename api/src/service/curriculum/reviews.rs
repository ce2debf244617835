//! UnitReview writes (DOMAIN.md area C): `reviewCurriculumUnitVersion` appends a comment or an
//! approving review. Reviews are append-only: there is no update or delete. A review never
//! changes the version's state: asking for changes is `requestCurriculumUnitVersionChanges` and
//! approving the version is `approveCurriculumUnitVersion`.
//!
//! **Who.** The curriculum staff (programmeAdmin, programmeStaff, any academicLead) and the
//! contributors of the version, in any role. The reviewer is the caller's Person: a principal
//! without one (an integration client) cannot review (`FORBIDDEN`).
//!
//! **When.** While the version is in_review; a comment also in draft and changes_requested.

use entity::{STATUS_ACTIVE, unit_review};
use sea_orm::{ActiveModelTrait, DatabaseConnection, Set};

use super::{CHANGES_REQUESTED, DRAFT, IN_REVIEW, REVIEW, curator, version_named};
use crate::auth::Viewer;
use crate::changes;
use crate::error::{AppError, AppResult};
use crate::service::write;

/// Decisions, as stored.
pub const APPROVE: &str = "approve";
pub const REQUEST_CHANGES: &str = "requestChanges";
pub const COMMENT: &str = "comment";

/// Longest review comment.
pub const MAX_COMMENT_CHARS: usize = 4000;

/// Appends a review. `NOT_FOUND` when the caller may not read the version; `FORBIDDEN` unless
/// curriculum staff or a contributor of the version, and for a caller without a Person;
/// `BAD_USER_INPUT` on `decision` for `requestChanges` (use
/// `requestCurriculumUnitVersionChanges`); `INVALID_TRANSITION` unless the version is in_review
/// (a comment: draft, in_review or changes_requested); `BAD_USER_INPUT` on `comments` (missing
/// for a comment, or longer than 4,000 characters).
#[tracing::instrument(skip_all, fields(unit_version = %unit_version, decision = %decision))]
pub async fn review(
    db: &DatabaseConnection,
    viewer: &Viewer,
    unit_version: &str,
    decision: &str,
    comments: Option<&str>,
) -> AppResult<unit_review::Model> {
    let curator = curator(viewer)?;
    let txn = write::begin(db).await?;
    let (version, _unit) = version_named(&txn, viewer, unit_version, "unitVersion").await?;
    let contributes = !curator.contribution(&txn, version.id).await?.is_empty();
    if !curator.is_curriculum_staff() && !contributes {
        return Err(AppError::Forbidden);
    }
    let reviewer = match curator.principal.person_id {
        Some(person) if !curator.principal.is_client() => person,
        _ => return Err(AppError::Forbidden),
    };
    if decision == REQUEST_CHANGES {
        return Err(AppError::bad_input(
            "decision",
            "to ask for changes use `requestCurriculumUnitVersionChanges`, which also moves the \
             version to CHANGES_REQUESTED; this mutation records COMMENT or APPROVE",
        ));
    }
    if decision != COMMENT && decision != APPROVE {
        return Err(AppError::bad_input(
            "decision",
            format!("unknown decision {decision:?}"),
        ));
    }
    let states: &[&str] = if decision == COMMENT {
        &[DRAFT, IN_REVIEW, CHANGES_REQUESTED]
    } else {
        &[IN_REVIEW]
    };
    if version.status != STATUS_ACTIVE || !states.contains(&version.state.as_str()) {
        return Err(write::invalid_transition(format!(
            "cannot record a {decision} review on curriculum unit version {}: it is {}; only a {} \
             version takes one",
            version.sourced_id,
            if version.status == STATUS_ACTIVE {
                version.state.as_str()
            } else {
                "deleted"
            },
            states.join(", ")
        )));
    }
    let comments = write::optional_text(comments, "comments", MAX_COMMENT_CHARS)?;
    if decision == COMMENT && comments.is_none() {
        return Err(AppError::bad_input(
            "comments",
            "a COMMENT review needs `comments`",
        ));
    }

    let now = changes::now();
    let row = unit_review::ActiveModel {
        sourced_id: Set(write::new_sourced_id(None, "sourcedId")?),
        status: Set(STATUS_ACTIVE.to_owned()),
        date_created: Set(now),
        date_last_modified: Set(now),
        version: Set(1),
        metadata: Set(None),
        created_by: Set(Some(curator.actor.subject.clone())),
        modified_by: Set(Some(curator.actor.subject.clone())),
        unit_version_id: Set(version.id),
        reviewer_id: Set(reviewer),
        decision: Set(decision.to_owned()),
        comments: Set(comments),
        decided_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    write::emit(
        &txn,
        &[write::change(
            REVIEW,
            row.id,
            &row.sourced_id,
            changes::CREATE,
            row.version,
        )],
        now,
    )
    .await?;
    txn.commit().await?;
    tracing::info!(unit_review.sourced_id = %row.sourced_id, "unit version reviewed");
    Ok(row)
}
