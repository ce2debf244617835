//! Settings: one value, built once in `main` from defaults and `APP_`-prefixed environment variables
//! (`__` separates nesting: `APP_SERVER__PORT`). Tests build a [`Settings`] value directly.

use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub graphql: GraphqlSettings,
    pub demo: DemoSettings,
    pub idempotency: IdempotencySettings,
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

/// Bearer tokens (docs/tokens.md): how the service signs the tokens it mints, which keys it
/// accepts, and an optional trusted external issuer.
#[derive(Clone, Debug, Deserialize)]
pub struct AuthSettings {
    /// HS256 signing secret (at least 32 bytes). When unset, a random secret is generated once and
    /// kept in `./data/jwt-secret` so that `api serve` and `api token` agree on a developer machine.
    /// Used only when `signing_algorithm` is `HS256`.
    pub jwt_secret: Option<SecretString>,
    /// Key id placed in the token header and used to pick the verification key.
    pub key_id: String,
    pub issuer: String,
    pub audience: String,
    /// Default lifetime of tokens the service mints (`api token` without `--ttl`), in seconds.
    pub token_ttl_seconds: i64,
    /// `HS256` (development, the default), `EdDSA` (Ed25519) or `RS256`.
    #[serde(default)]
    pub signing_algorithm: SigningAlgorithm,
    /// PEM private key (PKCS#8 `PRIVATE KEY`; for RS256 also PKCS#1 `RSA PRIVATE KEY`). Required
    /// when `signing_algorithm` is `EdDSA` or `RS256`; its public half is published in the JWKS.
    #[serde(default)]
    pub signing_key_file: Option<PathBuf>,
    /// Additional public keys that verify tokens (key rotation). From the environment:
    /// `APP_AUTH__VERIFICATION_KEYS="kid:ALG:/path/key.pem,kid2:ALG:/path/other.pem"`.
    #[serde(default, deserialize_with = "verification_keys")]
    pub verification_keys: Vec<VerificationKeySettings>,
    /// A trusted external OpenID Connect issuer whose tokens map to an Account.
    #[serde(default)]
    pub external: Option<ExternalIssuerSettings>,
}

/// A token signature algorithm the service can sign or verify with.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
pub enum SigningAlgorithm {
    /// HMAC-SHA256 with a shared secret (development).
    #[default]
    #[serde(alias = "hs256")]
    HS256,
    /// Ed25519 signatures.
    #[serde(alias = "eddsa", alias = "Ed25519", alias = "ed25519")]
    EdDSA,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (keys of at least 2048 bits).
    #[serde(alias = "rs256")]
    RS256,
}

impl SigningAlgorithm {
    /// The JOSE `alg` name.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlgorithm::HS256 => "HS256",
            SigningAlgorithm::EdDSA => "EdDSA",
            SigningAlgorithm::RS256 => "RS256",
        }
    }

    /// Parses a JOSE `alg` name (case-insensitive; `Ed25519` means `EdDSA`).
    pub fn parse(text: &str) -> Option<SigningAlgorithm> {
        match text.trim().to_ascii_lowercase().as_str() {
            "hs256" => Some(SigningAlgorithm::HS256),
            "eddsa" | "ed25519" => Some(SigningAlgorithm::EdDSA),
            "rs256" => Some(SigningAlgorithm::RS256),
            _ => None,
        }
    }
}

/// One additional verification key: a PEM public key pinned to its key id and algorithm.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct VerificationKeySettings {
    /// The `kid` tokens signed with this key carry.
    pub kid: String,
    /// `EdDSA` or `RS256`; a token with any other `alg` is rejected.
    pub algorithm: SigningAlgorithm,
    /// PEM public key (`PUBLIC KEY`, or `RSA PUBLIC KEY` for RS256).
    pub file: PathBuf,
}

/// A trusted external issuer (an OpenID Connect provider for staff).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct ExternalIssuerSettings {
    /// The provider's `iss`; tokens carrying it are verified against `jwks_file` only.
    pub issuer: String,
    /// The `aud` the provider puts in tokens meant for this API.
    pub audience: String,
    /// The provider's JWK Set (JSON) on disk, read at start-up.
    pub jwks_file: PathBuf,
}

/// Verification keys from a list (tests, files) or from one environment string
/// `kid:ALG:path[,kid:ALG:path…]`.
fn verification_keys<'de, D>(deserializer: D) -> Result<Vec<VerificationKeySettings>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Keys {
        Text(String),
        List(Vec<VerificationKeySettings>),
    }
    match Keys::deserialize(deserializer)? {
        Keys::List(list) => Ok(list),
        Keys::Text(text) => parse_verification_keys(&text).map_err(serde::de::Error::custom),
    }
}

/// Parses `kid:ALG:path[,kid:ALG:path…]` (blank entries are ignored; the path may contain `:`).
pub fn parse_verification_keys(text: &str) -> Result<Vec<VerificationKeySettings>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let mut parts = entry.splitn(3, ':');
            let (Some(kid), Some(alg), Some(file)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(format!(
                    "verification key {entry:?} is not kid:ALGORITHM:path"
                ));
            };
            let algorithm = SigningAlgorithm::parse(alg)
                .ok_or_else(|| format!("verification key {kid:?}: unknown algorithm {alg:?}"))?;
            Ok(VerificationKeySettings {
                kid: kid.trim().to_owned(),
                algorithm,
                file: PathBuf::from(file.trim()),
            })
        })
        .collect()
}

impl AuthSettings {
    /// Consistency of the token settings (the key files are read by `TokenKeys::load`).
    pub fn validate(&self) -> Result<(), String> {
        if self.key_id.trim().is_empty() {
            return Err("APP_AUTH__KEY_ID must not be empty".into());
        }
        if self.token_ttl_seconds <= 0 {
            return Err("APP_AUTH__TOKEN_TTL_SECONDS must be positive".into());
        }
        match (self.signing_algorithm, &self.signing_key_file) {
            (SigningAlgorithm::HS256, Some(_)) => {
                return Err("APP_AUTH__SIGNING_KEY_FILE needs APP_AUTH__SIGNING_ALGORITHM=EdDSA or RS256 (HS256 signs with APP_AUTH__JWT_SECRET)".into());
            }
            (SigningAlgorithm::EdDSA | SigningAlgorithm::RS256, None) => {
                return Err(format!(
                    "APP_AUTH__SIGNING_ALGORITHM={} needs APP_AUTH__SIGNING_KEY_FILE (a PEM private key)",
                    self.signing_algorithm.as_str()
                ));
            }
            _ => {}
        }
        let mut kids = vec![self.key_id.as_str()];
        for key in &self.verification_keys {
            if key.algorithm == SigningAlgorithm::HS256 {
                return Err(format!(
                    "APP_AUTH__VERIFICATION_KEYS: key {:?} must be EdDSA or RS256 (public keys only)",
                    key.kid
                ));
            }
            if key.kid.trim().is_empty() {
                return Err("APP_AUTH__VERIFICATION_KEYS: a key has an empty kid".into());
            }
            if kids.contains(&key.kid.as_str()) {
                return Err(format!(
                    "APP_AUTH__VERIFICATION_KEYS: kid {:?} is used twice (kids must be unique, including APP_AUTH__KEY_ID)",
                    key.kid
                ));
            }
            kids.push(&key.kid);
        }
        if let Some(external) = &self.external {
            if external.issuer.trim().is_empty() || external.audience.trim().is_empty() {
                return Err(
                    "APP_AUTH__EXTERNAL__ISSUER and APP_AUTH__EXTERNAL__AUDIENCE must not be empty"
                        .into(),
                );
            }
            if external.issuer == self.issuer {
                return Err("APP_AUTH__EXTERNAL__ISSUER must differ from APP_AUTH__ISSUER".into());
            }
        }
        Ok(())
    }
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

/// `Idempotency-Key` on mutations (docs/idempotency.md).
#[derive(Clone, Debug, Deserialize)]
pub struct IdempotencySettings {
    /// How long a stored response is replayed, in seconds (24 hours).
    pub ttl_seconds: u64,
    /// How long a running attempt holds its key before another instance may presume it dead and
    /// take the key over, in seconds. Must exceed the request deadline.
    pub lease_seconds: u64,
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
            .set_default("auth.token_ttl_seconds", 900)?
            .set_default("graphql.playground", true)?
            .set_default("graphql.depth_limit", 12)?
            .set_default("graphql.complexity_limit", 20_000)?
            .set_default("graphql.alias_limit", 30)?
            .set_default("graphql.default_page_size", 50)?
            .set_default("graphql.max_page_size", 100)?
            .set_default("graphql.batch_delay_ms", 1)?
            .set_default("demo.seed", true)?
            .set_default("demo.scale", 1)?
            .set_default("idempotency.ttl_seconds", 86_400)?
            .set_default("idempotency.lease_seconds", 60)?
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
                token_ttl_seconds: 900,
                signing_algorithm: SigningAlgorithm::HS256,
                signing_key_file: None,
                verification_keys: Vec::new(),
                external: None,
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
            idempotency: IdempotencySettings {
                ttl_seconds: 86_400,
                lease_seconds: 60,
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
        self.auth.validate()?;
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
        let idempotency = &self.idempotency;
        if idempotency.lease_seconds <= self.server.request_timeout_seconds {
            return Err("APP_IDEMPOTENCY__LEASE_SECONDS must exceed APP_SERVER__REQUEST_TIMEOUT_SECONDS (a running request must never outlive its key's lease)".into());
        }
        if idempotency.ttl_seconds < idempotency.lease_seconds {
            return Err(
                "APP_IDEMPOTENCY__TTL_SECONDS must be at least APP_IDEMPOTENCY__LEASE_SECONDS"
                    .into(),
            );
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
        .or_else(|| {
            // "missing configuration field \"auth.external.audience\""
            message
                .rsplit_once("field \"")
                .and_then(|(_, rest)| rest.split('"').next())
        })
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
    fn verification_keys_parse_from_one_environment_string() {
        let keys = parse_verification_keys(" ed-1:EdDSA:/keys/a.pem, rs-1:rs256:C:/keys/b.pem ,")
            .expect("valid list");
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].kid, "ed-1");
        assert_eq!(keys[0].algorithm, SigningAlgorithm::EdDSA);
        assert_eq!(keys[1].algorithm, SigningAlgorithm::RS256);
        assert_eq!(keys[1].file, PathBuf::from("C:/keys/b.pem"));
        assert!(parse_verification_keys("ed-1:/keys/a.pem").is_err());
        assert!(parse_verification_keys("ed-1:none:/keys/a.pem").is_err());
        assert_eq!(parse_verification_keys(""), Ok(Vec::new()));
    }

    #[test]
    fn asymmetric_signing_needs_a_key_file_and_kids_are_unique() {
        let mut auth = Settings::for_tests("sqlite::memory:").auth;
        assert_eq!(auth.validate(), Ok(()));
        auth.signing_algorithm = SigningAlgorithm::EdDSA;
        assert!(auth.validate().is_err());
        auth.signing_key_file = Some(PathBuf::from("/keys/ed.pem"));
        assert_eq!(auth.validate(), Ok(()));
        auth.verification_keys = parse_verification_keys("hs-1:EdDSA:/keys/old.pem").expect("list");
        assert!(auth.validate().is_err());
        auth.verification_keys = parse_verification_keys("old:HS256:/keys/old.pem").expect("list");
        assert!(auth.validate().is_err());
    }

    #[test]
    fn an_idempotency_lease_must_outlive_the_request_deadline_and_fit_in_the_ttl() {
        let mut settings = Settings::for_tests("sqlite::memory:");
        assert_eq!(settings.validate(), Ok(()));
        settings.idempotency.lease_seconds = settings.server.request_timeout_seconds;
        let err = settings.validate().expect_err("lease too short");
        assert!(err.contains("APP_IDEMPOTENCY__LEASE_SECONDS"), "{err}");
        settings.idempotency.lease_seconds = 120;
        settings.idempotency.ttl_seconds = 60;
        let err = settings.validate().expect_err("ttl shorter than the lease");
        assert!(err.contains("APP_IDEMPOTENCY__TTL_SECONDS"), "{err}");
    }

    #[test]
    fn config_errors_name_the_environment_variable() {
        let msg = describe_config_error("invalid digit found in string for key `server.port`");
        assert!(msg.contains("APP_SERVER__PORT"), "{msg}");
        let msg = describe_config_error(
            "invalid type: 64-bit integer `-3`, expected u64 for key `graphql.depth_limit` in the environment",
        );
        assert!(msg.contains("APP_GRAPHQL__DEPTH_LIMIT"), "{msg}");
        let msg = describe_config_error("missing configuration field \"auth.external.audience\"");
        assert!(msg.contains("APP_AUTH__EXTERNAL__AUDIENCE"), "{msg}");
    }
}
