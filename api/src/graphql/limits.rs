//! Query limits (API.md section 8): depth, cost and aliases from settings, refused with
//! `QUERY_TOO_COMPLEX` before anything executes; every response reports
//! `extensions.cost { requested actual }`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{
    ErrorExtensions, Response, ServerError, ServerResult, ValidationResult, Variables,
};

use super::connection::RequestContext;
use crate::config::GraphqlSettings;
use crate::error::AppError;

/// Installs [`LimitsExtension`] with the configured limits.
pub struct Limits(pub GraphqlSettings);

impl ExtensionFactory for Limits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(LimitsExtension {
            settings: self.0.clone(),
            requested: std::sync::atomic::AtomicUsize::new(0),
        })
    }
}

pub struct LimitsExtension {
    settings: GraphqlSettings,
    requested: std::sync::atomic::AtomicUsize,
}

fn too_complex(what: &'static str, requested: usize, limit: usize) -> ServerError {
    let err = AppError::TooComplex {
        what,
        requested,
        limit,
    }
    .extend();
    err.into_server_error(async_graphql::Pos::default())
}

fn count_aliases(set: &SelectionSet, doc: &ExecutableDocument, depth: usize) -> usize {
    if depth > 64 {
        return 0;
    }
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(field) => {
                usize::from(field.node.alias.is_some())
                    + count_aliases(&field.node.selection_set.node, doc, depth + 1)
            }
            Selection::InlineFragment(fragment) => {
                count_aliases(&fragment.node.selection_set.node, doc, depth + 1)
            }
            Selection::FragmentSpread(spread) => doc
                .fragments
                .get(&spread.node.fragment_name.node)
                .map(|f| count_aliases(&f.node.selection_set.node, doc, depth + 1))
                .unwrap_or(0),
        })
        .sum()
}

#[async_graphql::async_trait::async_trait]
impl Extension for LimitsExtension {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let response = next.run(ctx, operation_name).await;
        let requested = self.requested.load(Ordering::Relaxed);
        let actual = ctx
            .data_opt::<RequestContext>()
            .map(|r| r.actual_cost.load(Ordering::Relaxed))
            .unwrap_or(0);
        let mut cost = async_graphql::indexmap::IndexMap::new();
        cost.insert(
            async_graphql::Name::new("requested"),
            async_graphql::Value::from(requested as u64),
        );
        cost.insert(
            async_graphql::Name::new("actual"),
            async_graphql::Value::from(actual),
        );
        response.extension("cost", async_graphql::Value::Object(cost))
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        let mut aliases = 0;
        for (_, operation) in doc.operations.iter() {
            aliases += count_aliases(&operation.node.selection_set.node, &doc, 0);
        }
        if aliases > self.settings.alias_limit {
            return Err(too_complex("aliases", aliases, self.settings.alias_limit));
        }
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        self.requested.store(result.complexity, Ordering::Relaxed);
        if result.depth > self.settings.depth_limit {
            return Err(vec![too_complex(
                "depth",
                result.depth,
                self.settings.depth_limit,
            )]);
        }
        if result.complexity > self.settings.complexity_limit {
            return Err(vec![too_complex(
                "cost",
                result.complexity,
                self.settings.complexity_limit,
            )]);
        }
        Ok(result)
    }
}
