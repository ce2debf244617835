//! `viewer`: who the caller is, as the service understands the token.

use async_graphql::{Context, Object, Result, SimpleObject};
use entity::{org, person};

use super::connection::{load_optional, viewer};
use super::orgs::Organization;
use super::people::Person;
use crate::auth::Viewer as Caller;
use crate::error::ResultExt;

/// The caller of this request.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct Viewer {
    /// Whether a valid token came with the request.
    pub authenticated: bool,
    /// The principal (`sub`): a person's sourcedId or an integration client's id.
    pub principal: Option<String>,
    /// The roles the caller acts in.
    pub roles: Vec<String>,
    /// The scopes granted to the caller.
    pub scopes: Vec<String>,
    /// The integration client, when the caller is one.
    pub client_id: Option<String>,
    #[graphql(skip)]
    org_id: Option<i64>,
    #[graphql(skip)]
    person_id: Option<i64>,
}

#[async_graphql::ComplexObject]
impl Viewer {
    /// The organisation the caller acts for.
    async fn org(&self, ctx: &Context<'_>) -> Result<Option<Organization>> {
        load_optional::<org::Entity, Organization>(ctx, self.org_id)
            .await
            .extend()
    }

    /// The caller's own Person record, when the caller is a person (not an integration client).
    async fn person(&self, ctx: &Context<'_>) -> Result<Option<Person>> {
        load_optional::<person::Entity, Person>(ctx, self.person_id)
            .await
            .extend()
    }
}

#[derive(Default)]
pub struct ViewerQuery;

#[Object]
impl ViewerQuery {
    /// Who is calling. Works without a token (then `authenticated` is false).
    async fn viewer(&self, ctx: &Context<'_>) -> Result<Viewer> {
        let caller = viewer(ctx).extend()?;
        Ok(match caller {
            Caller::Anonymous => Viewer {
                authenticated: false,
                principal: None,
                roles: Vec::new(),
                scopes: Vec::new(),
                client_id: None,
                org_id: None,
                person_id: None,
            },
            Caller::Principal(p) => Viewer {
                authenticated: true,
                principal: Some(p.subject.clone()),
                roles: p.roles.iter().map(|r| r.as_str().to_owned()).collect(),
                scopes: p.scopes.clone(),
                client_id: p.client_id.clone(),
                org_id: p.org.as_ref().map(|o| o.id),
                person_id: p.person_id,
            },
        })
    }
}
