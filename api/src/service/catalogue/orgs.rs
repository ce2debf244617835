//! Creating, updating and deleting organisations (DOMAIN.md area A).
//!
//! **Who.** programmeStaff and programmeAdmin (and the programme office's client with
//! `roster.write`). Everyone else: `FORBIDDEN`.
//!
//! **Rules.** `nameEn` is required; `orgType` is a DOMAIN.md type or an `ext:` extension;
//! `schoolFinanceType` is closed; `identifierScheme` and `identifier` come together and are
//! unique as a pair (`DUPLICATE`); the parent is an active organisation and parents never form a
//! cycle (checked in the write transaction); `industrySectors` is a list of short strings;
//! `website` is an `http://` or `https://` URL; `partnerSince` is not in the future.
//!
//! **Delete** is refused (`INVALID_TRANSITION`) while active records still point at the
//! organisation: child organisations, people whose primary organisation it is, role assignments
//! at it, courses it provides, pathways it owns, its academic sessions, course offerings at it
//! (as a school). They would otherwise point at a tombstone; delete or move them first.

use async_graphql::MaybeUndefined;
use chrono::{DateTime, NaiveDate, Utc};
use entity::{
    STATUS_ACTIVE, academic_session, course, course_offering, org, pathway, person, role_assignment,
};
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use super::{
    Writable, extensible, in_use, patch, patch_metadata, patch_required, patch_text, string_list,
    text,
};
use crate::access::{self, Reach};
use crate::auth::{Principal, Viewer};
use crate::error::{AppError, AppResult};
use crate::service::write::{self, Actor};

/// GraphQL type name of organisations (messages and change events).
pub const TYPE_NAME: &str = "Organization";

/// The organisation types of DOMAIN.md area A (besides `ext:` extensions).
pub const ORG_TYPES: [&str; 7] = [
    "university",
    "academicUnit",
    "programmeOffice",
    "secondarySchool",
    "industryPartner",
    "furtherStudyProvider",
    "funder",
];

/// Longest industry sector.
const MAX_SECTOR_CHARS: usize = 100;
/// Deepest parent chain walked when looking for a cycle.
const MAX_DEPTH: usize = 100;

/// The write scope a client needs.
pub const SCOPE: &str = "roster.write";

/// The caller as an organisation writer: `UNAUTHENTICATED` without a token, `FORBIDDEN` unless
/// programme staff or admin (a client also needs `roster.write`).
pub fn authorize(viewer: &Viewer) -> AppResult<&Principal> {
    let principal = access::principal(viewer)?;
    if !matches!(Reach::of(viewer), Reach::Programme) {
        return Err(AppError::Forbidden);
    }
    write::require_write_scope(principal, SCOPE)?;
    Ok(principal)
}

/// The fields of an organisation write: omitted (`Undefined`) keeps, null clears. References
/// are global ids or sourcedIds; `schoolFinanceType` is its database text.
#[derive(Clone, Debug, Default)]
pub struct OrgFields {
    pub name_en: MaybeUndefined<String>,
    pub name_zh: MaybeUndefined<String>,
    pub org_type: MaybeUndefined<String>,
    pub parent: MaybeUndefined<String>,
    pub identifier: MaybeUndefined<String>,
    pub identifier_scheme: MaybeUndefined<String>,
    pub district: MaybeUndefined<String>,
    pub school_finance_type: MaybeUndefined<&'static str>,
    pub industry_sectors: MaybeUndefined<Vec<String>>,
    pub website: MaybeUndefined<String>,
    pub partner_since: MaybeUndefined<NaiveDate>,
    pub metadata: MaybeUndefined<serde_json::Value>,
}

/// Applies `fields` to `row` and checks every rule that needs no other row.
async fn apply(
    db: &impl ConnectionTrait,
    row: &mut org::Model,
    fields: OrgFields,
) -> AppResult<()> {
    patch_required(
        &mut row.name_en,
        text(&fields.name_en),
        "nameEn",
        write::MAX_SHORT_TEXT,
    )?;
    patch_text(
        &mut row.name_zh,
        text(&fields.name_zh),
        "nameZh",
        write::MAX_SHORT_TEXT,
    )?;
    match &fields.org_type {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => {
            return Err(AppError::bad_input("orgType", "`orgType` may not be null"));
        }
        MaybeUndefined::Value(t) => row.org_type = extensible(t, "orgType", &ORG_TYPES)?,
    }
    match &fields.parent {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => row.parent_id = None,
        MaybeUndefined::Value(id) => {
            let parent = write::reference::<org::Entity>(db, TYPE_NAME, "parent", id).await?;
            row.parent_id = Some(parent.id);
        }
    }
    patch_text(
        &mut row.identifier,
        text(&fields.identifier),
        "identifier",
        write::MAX_SHORT_TEXT,
    )?;
    patch_text(
        &mut row.identifier_scheme,
        text(&fields.identifier_scheme),
        "identifierScheme",
        write::MAX_SHORT_TEXT,
    )?;
    patch_text(
        &mut row.district,
        text(&fields.district),
        "district",
        write::MAX_SHORT_TEXT,
    )?;
    patch(
        &mut row.school_finance_type,
        fields.school_finance_type.map_value(str::to_owned),
    );
    match &fields.industry_sectors {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => row.industry_sectors = None,
        MaybeUndefined::Value(list) => {
            row.industry_sectors = string_list(list, "industrySectors", MAX_SECTOR_CHARS)?;
        }
    }
    patch_text(
        &mut row.website,
        text(&fields.website),
        "website",
        write::MAX_SHORT_TEXT,
    )?;
    if let Some(url) = &row.website
        && !is_web_url(url)
    {
        return Err(AppError::bad_input(
            "website",
            "`website` must be an http:// or https:// URL with a host and no spaces",
        ));
    }
    patch(&mut row.partner_since, fields.partner_since);
    if row.partner_since.is_some_and(|d| d > access::today()) {
        return Err(AppError::bad_input(
            "partnerSince",
            "`partnerSince` may not be in the future",
        ));
    }
    patch_metadata(&mut row.metadata, fields.metadata)?;
    if row.name_en.is_empty() {
        return Err(AppError::bad_input("nameEn", "`nameEn` is required"));
    }
    if row.org_type.is_empty() {
        return Err(AppError::bad_input("orgType", "`orgType` is required"));
    }
    match (&row.identifier, &row.identifier_scheme) {
        (Some(_), None) => Err(AppError::bad_input(
            "identifierScheme",
            "`identifier` needs its `identifierScheme`",
        )),
        (None, Some(_)) => Err(AppError::bad_input(
            "identifier",
            "`identifierScheme` needs an `identifier`",
        )),
        _ => Ok(()),
    }
}

/// Whether `text` looks like an absolute web URL: `http://` or `https://`, a host, no spaces.
pub fn is_web_url(text: &str) -> bool {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    let Some(rest) = rest else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_'))
        && host.chars().any(|c| c.is_ascii_alphanumeric())
        && !text.chars().any(char::is_whitespace)
}

/// The rules that read other rows: no parent cycle, a unique identifier.
async fn check(db: &impl ConnectionTrait, row: &org::Model) -> AppResult<()> {
    let mut ancestor = row.parent_id;
    let mut depth = 0;
    while let Some(id) = ancestor {
        if id == row.id || depth > MAX_DEPTH {
            return Err(AppError::bad_input(
                "parent",
                "`parent` would make the organisation its own ancestor",
            ));
        }
        ancestor = org::Entity::find_by_id(id)
            .select_only()
            .column(org::Column::ParentId)
            .into_tuple::<Option<i64>>()
            .one(db)
            .await?
            .flatten();
        depth += 1;
    }
    if let (Some(identifier), Some(scheme)) = (&row.identifier, &row.identifier_scheme) {
        let taken = org::Entity::find()
            .filter(org::Column::IdentifierScheme.eq(scheme.as_str()))
            .filter(org::Column::Identifier.eq(identifier.as_str()))
            .filter(org::Column::Id.ne(row.id))
            .one(db)
            .await?;
        if let Some(other) = taken {
            return Err(write::duplicate(format!(
                "organisation {} already has identifier {identifier} in scheme {scheme}",
                other.sourced_id
            )));
        }
    }
    Ok(())
}

/// The business columns of a row, for the versioned `UPDATE`.
fn columns(row: &org::Model) -> Vec<(org::Column, SimpleExpr)> {
    use org::Column as C;
    vec![
        (C::NameEn, Expr::value(row.name_en.clone())),
        (C::NameZh, Expr::value(row.name_zh.clone())),
        (C::OrgType, Expr::value(row.org_type.clone())),
        (C::ParentId, Expr::value(row.parent_id)),
        (C::Identifier, Expr::value(row.identifier.clone())),
        (
            C::IdentifierScheme,
            Expr::value(row.identifier_scheme.clone()),
        ),
        (C::District, Expr::value(row.district.clone())),
        (
            C::SchoolFinanceType,
            Expr::value(row.school_finance_type.clone()),
        ),
        (
            C::IndustrySectors,
            Expr::value(row.industry_sectors.clone()),
        ),
        (C::Website, Expr::value(row.website.clone())),
        (C::PartnerSince, Expr::value(row.partner_since)),
        (C::Metadata, Expr::value(row.metadata.clone())),
    ]
}

impl Writable for org::Model {
    type Entity = org::Entity;
    type Fields = OrgFields;
    type Writer = ();
    const TYPE_NAME: &'static str = TYPE_NAME;

    fn writer(viewer: &Viewer) -> AppResult<(&Principal, ())> {
        Ok((authorize(viewer)?, ()))
    }

    fn blank(sourced_id: String, actor: &Actor, now: DateTime<Utc>, _writer: ()) -> Self {
        org::Model {
            id: 0,
            sourced_id,
            status: STATUS_ACTIVE.to_owned(),
            date_created: now,
            date_last_modified: now,
            version: 1,
            metadata: None,
            created_by: Some(actor.subject.clone()),
            modified_by: Some(actor.subject.clone()),
            name_en: String::new(),
            name_zh: None,
            org_type: String::new(),
            parent_id: None,
            identifier: None,
            identifier_scheme: None,
            district: None,
            school_finance_type: None,
            industry_sectors: None,
            website: None,
            partner_since: None,
        }
    }

    async fn apply(db: &impl ConnectionTrait, row: &mut Self, fields: OrgFields) -> AppResult<()> {
        apply(db, row, fields).await
    }

    async fn check(db: &impl ConnectionTrait, row: &Self) -> AppResult<()> {
        check(db, row).await
    }

    fn columns(&self) -> Vec<(org::Column, SimpleExpr)> {
        columns(self)
    }

    async fn in_use(db: &impl ConnectionTrait, row: &Self) -> AppResult<()> {
        let used = |by: &str| super::still_used(TYPE_NAME, &row.sourced_id, by);
        if in_use::<org::Entity>(db, org::Column::ParentId, row.id).await? {
            return Err(used("child organisations"));
        }
        if in_use::<person::Entity>(db, person::Column::PrimaryOrgId, row.id).await? {
            return Err(used("people (primary organisation)"));
        }
        if in_use::<role_assignment::Entity>(db, role_assignment::Column::OrgId, row.id).await? {
            return Err(used("role assignments"));
        }
        if in_use::<course::Entity>(db, course::Column::ProviderOrgId, row.id).await? {
            return Err(used("courses (provider)"));
        }
        if in_use::<pathway::Entity>(db, pathway::Column::OwningOrgId, row.id).await? {
            return Err(used("pathways (owner)"));
        }
        if in_use::<academic_session::Entity>(db, academic_session::Column::OrgId, row.id).await? {
            return Err(used("academic sessions"));
        }
        if in_use::<course_offering::Entity>(db, course_offering::Column::SchoolOrgId, row.id)
            .await?
        {
            return Err(used("course offerings (school)"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websites_are_http_urls_with_a_host() {
        assert!(is_web_url("https://www.hkbu.edu.hk/"));
        assert!(is_web_url("http://example.org:8080/x?y=1"));
        assert!(!is_web_url("ftp://example.org"));
        assert!(!is_web_url("https://"));
        assert!(!is_web_url("https://exa mple.org"));
        assert!(!is_web_url("www.example.org"));
    }
}
