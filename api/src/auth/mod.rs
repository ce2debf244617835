//! Who is calling: the [`Viewer`] of a request, built from a verified bearer token.

pub mod external;
pub mod jwt;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

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
    /// The principal's Person row, when `sub` names an active person (never for clients).
    pub person_id: Option<i64>,
}

impl Principal {
    /// An integration client (client-credentials token), as opposed to a person.
    pub fn is_client(&self) -> bool {
        self.client_id.is_some()
    }

    /// Whether an integration client holds `scope` or a write scope that implies it. People are
    /// governed by their roles alone: scopes narrow integration clients.
    pub fn has_scope(&self, scope: &str) -> bool {
        if !self.is_client() {
            return true;
        }
        self.scopes
            .iter()
            .any(|held| held == scope || crate::access::implied_reads(held).contains(&scope))
    }
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

    /// Resolves verified claims into a viewer: one statement finds the acting organisation and,
    /// for a person, their Person row.
    pub async fn from_claims(db: &DatabaseConnection, claims: jwt::Claims) -> AppResult<Viewer> {
        let roles = claims
            .roles
            .iter()
            .map(|r| Role::parse(r).ok_or(AppError::Unauthenticated))
            .collect::<AppResult<Vec<_>>>()?;
        let person_sub = if claims.client_id.is_some() {
            // A client's `sub` is its client id: it never names a person.
            String::new()
        } else {
            claims.sub.clone()
        };
        let sql = "SELECT \
             (SELECT o.id FROM org o WHERE o.sourced_id = ? AND o.status = 'active'), \
             (SELECT o.org_type FROM org o WHERE o.sourced_id = ? AND o.status = 'active'), \
             (SELECT p.id FROM person p WHERE p.sourced_id = ? AND p.status = 'active')";
        let backend = db.get_database_backend();
        let sql = match backend {
            DbBackend::Postgres => sql
                .replacen('?', "$1", 1)
                .replacen('?', "$2", 1)
                .replacen('?', "$3", 1),
            _ => sql.to_owned(),
        };
        let row = db
            .query_one(Statement::from_sql_and_values(
                backend,
                sql,
                [
                    claims.org.clone().into(),
                    claims.org.clone().into(),
                    person_sub.into(),
                ],
            ))
            .await?;
        let (org_id, org_type, person_id) = match row {
            Some(row) => (
                row.try_get_by_index::<Option<i64>>(0)?,
                row.try_get_by_index::<Option<String>>(1)?,
                row.try_get_by_index::<Option<i64>>(2)?,
            ),
            None => (None, None, None),
        };
        let org = org_id
            .zip(org_type)
            .map(|(id, org_type)| ActingOrg { id, org_type });
        Ok(Viewer::Principal(Principal {
            subject: claims.sub,
            org_sourced_id: claims.org,
            org,
            roles,
            scopes: claims.scope.split_whitespace().map(str::to_owned).collect(),
            client_id: claims.client_id,
            person_id,
        }))
    }
}
