//! Who is calling: the [`Viewer`] of a request, built from a verified bearer token.

pub mod jwt;

use entity::org;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};

use crate::error::{AppError, AppResult};

/// DOMAIN.md section 4 roles, by their token/database names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    ProgrammeAdmin,
    ProgrammeStaff,
    Evaluator,
    AcademicLead,
    SchoolCoordinator,
    Teacher,
    PartnerCoordinator,
    Mentor,
    Student,
    Guardian,
}

impl Role {
    pub const ALL: [Role; 10] = [
        Role::ProgrammeAdmin,
        Role::ProgrammeStaff,
        Role::Evaluator,
        Role::AcademicLead,
        Role::SchoolCoordinator,
        Role::Teacher,
        Role::PartnerCoordinator,
        Role::Mentor,
        Role::Student,
        Role::Guardian,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::ProgrammeAdmin => "programmeAdmin",
            Role::ProgrammeStaff => "programmeStaff",
            Role::Evaluator => "evaluator",
            Role::AcademicLead => "academicLead",
            Role::SchoolCoordinator => "schoolCoordinator",
            Role::Teacher => "teacher",
            Role::PartnerCoordinator => "partnerCoordinator",
            Role::Mentor => "mentor",
            Role::Student => "student",
            Role::Guardian => "guardian",
        }
    }

    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

/// An authenticated caller: a person or an integration client acting for one organisation.
#[derive(Clone, Debug)]
pub struct Principal {
    /// `sub`: a person's sourcedId or a client's id.
    pub subject: String,
    /// `org`: the sourcedId of the organisation the principal acts for.
    pub org_sourced_id: String,
    /// The acting organisation's row, when it exists and is active.
    pub org: Option<ActingOrg>,
    pub roles: Vec<Role>,
    pub scopes: Vec<String>,
    pub client_id: Option<String>,
}

#[derive(Clone, Debug)]
pub struct ActingOrg {
    pub id: i64,
    pub org_type: String,
}

/// The caller of one request.
#[derive(Clone, Debug)]
pub enum Viewer {
    Anonymous,
    Principal(Principal),
}

impl Viewer {
    pub fn principal(&self) -> Option<&Principal> {
        match self {
            Viewer::Anonymous => None,
            Viewer::Principal(p) => Some(p),
        }
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.principal().is_some_and(|p| p.roles.contains(&role))
    }

    /// Resolves verified claims into a viewer (one lookup of the acting organisation).
    pub async fn from_claims(db: &DatabaseConnection, claims: jwt::Claims) -> AppResult<Viewer> {
        let roles = claims
            .roles
            .iter()
            .map(|r| Role::parse(r).ok_or(AppError::Unauthenticated))
            .collect::<AppResult<Vec<_>>>()?;
        let org = org::Entity::find()
            .select_only()
            .column(org::Column::Id)
            .column(org::Column::OrgType)
            .filter(org::Column::SourcedId.eq(claims.org.as_str()))
            .filter(org::Column::Status.eq(entity::STATUS_ACTIVE))
            .into_tuple::<(i64, String)>()
            .one(db)
            .await?
            .map(|(id, org_type)| ActingOrg { id, org_type });
        Ok(Viewer::Principal(Principal {
            subject: claims.sub,
            org_sourced_id: claims.org,
            org,
            roles,
            scopes: claims.scope.split_whitespace().map(str::to_owned).collect(),
            client_id: claims.client_id,
        }))
    }
}
