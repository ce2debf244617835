//! Settings: one value, built once in `main` from defaults and `APP_`-prefixed environment variables
//! (`__` separates nesting: `APP_SERVER__PORT`). Tests build a [`Settings`] value directly.

use secrecy::SecretString;
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub graphql: GraphqlSettings,
    pub demo: DemoSettings,
    pub log: LogSettings,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ServerSettings {
    pub host: String,
    /// 0 picks a free port (tests).
    pub port: u16,
    /// Largest accepted request body in bytes.
    pub max_body_bytes: usize,
    /// Deadline of one GraphQL request; past it the response is `TIMEOUT`.
    pub request_timeout_seconds: u64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct DatabaseSettings {
    /// `sqlite://path?mode=rwc` or `postgres://…`.
    pub url: String,
    pub max_connections: u32,
    /// Apply pending migrations on start.
    pub migrate: bool,
}

#[derive(Clone, Debug, Deserialize)]
pub struct AuthSettings {
    /// HS256 signing secret (at least 32 bytes). When unset, a random secret is generated once and
    /// kept in `./data/jwt-secret` so that `api serve` and `api token` agree on a developer machine.
    pub jwt_secret: Option<SecretString>,
    /// Key id placed in the token header and used to pick the verification key.
    pub key_id: String,
    pub issuer: String,
    pub audience: String,
    /// Default lifetime of tokens minted by `api token`, in seconds.
    pub token_ttl_seconds: i64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct GraphqlSettings {
    /// Serve GraphiQL to browsers on `GET /graphql`.
    pub playground: bool,
    pub depth_limit: usize,
    /// Cost limit: every field costs 1 and a connection multiplies its selection by `first`/`last`.
    pub complexity_limit: usize,
    pub alias_limit: usize,
    pub default_page_size: i32,
    pub max_page_size: i32,
    /// How long a DataLoader waits for sibling keys before running its batch, in milliseconds.
    pub batch_delay_ms: u64,
}

#[derive(Clone, Debug, Deserialize)]
pub struct DemoSettings {
    /// Seed the demo data into an empty database on `api serve`.
    pub seed: bool,
    pub scale: u32,
}

#[derive(Clone, Debug, Deserialize)]
pub struct LogSettings {
    /// `tracing` filter; `RUST_LOG` overrides it.
    pub filter: String,
    /// `pretty` or `json`.
    pub format: String,
}

pub const DEFAULT_SQLITE_URL: &str = "sqlite://./data/pathway.sqlite?mode=rwc";

impl Settings {
    /// Defaults, then the environment. A bad value fails naming the variable.
    pub fn load() -> Result<Self, String> {
        let env = config::Environment::with_prefix("APP")
            .prefix_separator("_")
            .separator("__")
            .try_parsing(true);
        let built = Self::defaults()
            .and_then(|b| b.add_source(env).build())
            .map_err(|e| describe_config_error(&e.to_string()))?;
        let settings: Settings = built
            .try_deserialize()
            .map_err(|e| describe_config_error(&e.to_string()))?;
        settings.validate()?;
        Ok(settings)
    }

    fn defaults()
    -> Result<config::ConfigBuilder<config::builder::DefaultState>, config::ConfigError> {
        config::Config::builder()
            .set_default("server.host", "127.0.0.1")?
            .set_default("server.port", 8080)?
            .set_default("server.max_body_bytes", 1_048_576)?
            .set_default("server.request_timeout_seconds", 30)?
            .set_default("database.url", DEFAULT_SQLITE_URL)?
            .set_default("database.max_connections", 10)?
            .set_default("database.migrate", true)?
            .set_default("auth.key_id", "hs-1")?
            .set_default("auth.issuer", "pathway-partner-api")?
            .set_default("auth.audience", "pathway-partner-api")?
            .set_default("auth.token_ttl_seconds", 3600)?
            .set_default("graphql.playground", true)?
            .set_default("graphql.depth_limit", 12)?
            .set_default("graphql.complexity_limit", 20_000)?
            .set_default("graphql.alias_limit", 30)?
            .set_default("graphql.default_page_size", 50)?
            .set_default("graphql.max_page_size", 100)?
            .set_default("graphql.batch_delay_ms", 1)?
            .set_default("demo.seed", true)?
            .set_default("demo.scale", 1)?
            .set_default("log.filter", "info,sqlx=warn,sea_orm=warn")?
            .set_default("log.format", "pretty")
    }

    /// Settings for tests and tools: the defaults with the given database URL, port 0, no seeding.
    pub fn for_tests(database_url: &str) -> Self {
        Settings {
            server: ServerSettings {
                host: "127.0.0.1".into(),
                port: 0,
                max_body_bytes: 1_048_576,
                request_timeout_seconds: 30,
            },
            database: DatabaseSettings {
                url: database_url.into(),
                max_connections: 5,
                migrate: true,
            },
            auth: AuthSettings {
                jwt_secret: Some(SecretString::from(
                    "test-secret-test-secret-test-secret-0123456789",
                )),
                key_id: "hs-1".into(),
                issuer: "pathway-partner-api".into(),
                audience: "pathway-partner-api".into(),
                token_ttl_seconds: 3600,
            },
            graphql: GraphqlSettings {
                playground: true,
                depth_limit: 12,
                complexity_limit: 20_000,
                alias_limit: 30,
                default_page_size: 50,
                max_page_size: 100,
                // Debug builds on a loaded machine resolve long lists slowly: a wide window keeps
                // the statement-count tests about batching, not about scheduler timing.
                batch_delay_ms: 10,
            },
            demo: DemoSettings {
                seed: false,
                scale: 1,
            },
            log: LogSettings {
                filter: "warn".into(),
                format: "pretty".into(),
            },
        }
    }

    fn validate(&self) -> Result<(), String> {
        use secrecy::ExposeSecret;
        if let Some(secret) = &self.auth.jwt_secret
            && secret.expose_secret().len() < 32
        {
            return Err("APP_AUTH__JWT_SECRET must be at least 32 bytes long".into());
        }
        let url = &self.database.url;
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(format!(
                "APP_DATABASE__URL must start with sqlite:, postgres:// or postgresql:// (got scheme {:?})",
                url.split(':').next().unwrap_or_default()
            ));
        }
        if !["pretty", "json"].contains(&self.log.format.as_str()) {
            return Err("APP_LOG__FORMAT must be `pretty` or `json`".into());
        }
        let g = &self.graphql;
        if g.default_page_size < 1 || g.default_page_size > g.max_page_size {
            return Err(
                "APP_GRAPHQL__DEFAULT_PAGE_SIZE must be between 1 and APP_GRAPHQL__MAX_PAGE_SIZE"
                    .into(),
            );
        }
        if self.demo.scale == 0 {
            return Err("APP_DEMO__SCALE must be at least 1".into());
        }
        Ok(())
    }
}

/// Turns a `config` error such as "invalid digit found in string for key `server.port`" into one
/// naming the environment variable, e.g. `APP_SERVER__PORT`.
fn describe_config_error(message: &str) -> String {
    let key = message
        .rsplit_once("key `")
        .and_then(|(_, rest)| rest.split('`').next())
        .filter(|k| {
            !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
        });
    match key {
        Some(key) => format!(
            "bad setting APP_{}: {message}",
            key.to_uppercase().replace('.', "__")
        ),
        None => format!("bad setting: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_errors_name_the_environment_variable() {
        let msg = describe_config_error("invalid digit found in string for key `server.port`");
        assert!(msg.contains("APP_SERVER__PORT"), "{msg}");
        let msg = describe_config_error(
            "invalid type: 64-bit integer `-3`, expected u64 for key `graphql.depth_limit` in the environment",
        );
        assert!(msg.contains("APP_GRAPHQL__DEPTH_LIMIT"), "{msg}");
    }
}
