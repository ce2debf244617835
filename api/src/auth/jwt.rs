//! Bearer tokens (API.md section 6, docs/tokens.md). The service signs with one key (HS256 with a
//! secret for development; EdDSA or RS256 from a PEM key file for production) and verifies with
//! that key plus any number of published previous or next keys, so keys rotate without downtime.
//! `kid` picks the key and every key is pinned to one algorithm; `exp`, `nbf`, `iss`, `aud` are
//! all checked. Tokens from a trusted external issuer go to [`external::ExternalIssuer`]. Every
//! failure is the same `UNAUTHENTICATED`.

mod keyfile;

use std::collections::HashMap;
use std::path::Path;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use anyhow::Context as _;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use self::keyfile::{PrivateKey, PublicKey};
use super::external::ExternalIssuer;
use crate::config::{AuthSettings, SigningAlgorithm};
use crate::error::{AppError, AppResult};

/// Seconds of clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECONDS: u64 = 30;

/// How long clients may cache `/.well-known/jwks.json`, in seconds. A new key must be published
/// at least this long before it signs (docs/tokens.md, key rotation).
pub const JWKS_MAX_AGE_SECONDS: u32 = 300;

/// The verified claims of a token, as the rest of the service consumes them.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer: `APP_AUTH__ISSUER` (or the external issuer for mapped external tokens).
    pub iss: String,
    /// Audience: `APP_AUTH__AUDIENCE`.
    pub aud: String,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Not before, Unix seconds.
    pub nbf: i64,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// The principal: a person's sourcedId or an integration client's id.
    pub sub: String,
    /// sourcedId of the organisation the principal acts for.
    pub org: String,
    /// DOMAIN.md section 4 role names held at `org`.
    pub roles: Vec<String>,
    /// Space-separated scopes (integration clients).
    #[serde(default)]
    pub scope: String,
    /// The integration client, for client-credentials tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// What a new token should say.
#[derive(Clone, Debug)]
pub struct TokenRequest {
    /// `sub`.
    pub subject: String,
    /// `org` (a sourcedId).
    pub org: String,
    /// `roles`.
    pub roles: Vec<String>,
    /// `scope`, space-separated.
    pub scope: String,
    /// `client_id`, for integration clients.
    pub client_id: Option<String>,
    /// Lifetime: `exp` is now plus this many seconds.
    pub ttl_seconds: i64,
}

/// One key that verifies the tokens carrying its `kid`, pinned to one algorithm.
struct VerifyingKey {
    algorithm: Algorithm,
    key: DecodingKey,
    validation: Validation,
}

/// Signing and verification keys, the published JWK Set and the optional external issuer.
pub struct TokenKeys {
    signing_kid: String,
    signing_algorithm: Algorithm,
    encoding: EncodingKey,
    verifying: HashMap<String, VerifyingKey>,
    jwks: serde_json::Value,
    issuer: String,
    audience: String,
    external: Option<ExternalIssuer>,
}

impl TokenKeys {
    /// HS256 keys with `secret` under `settings.key_id`, and nothing else (no key files, no
    /// external issuer): development tools and tests. The service uses [`TokenKeys::load`].
    pub fn new(settings: &AuthSettings, secret: &SecretString) -> Self {
        let bytes = secret.expose_secret().as_bytes();
        let mut verifying = HashMap::new();
        verifying.insert(
            settings.key_id.clone(),
            verifying_key(Algorithm::HS256, DecodingKey::from_secret(bytes), settings),
        );
        TokenKeys {
            signing_kid: settings.key_id.clone(),
            signing_algorithm: Algorithm::HS256,
            encoding: EncodingKey::from_secret(bytes),
            verifying,
            jwks: serde_json::json!({ "keys": [] }),
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            external: None,
        }
    }

    /// Everything the settings describe: the signing key (the HS256 secret, else the PEM key
    /// file), the additional verification keys and the external issuer's JWK Set. Fails naming
    /// the setting and file at fault; key material never appears in the error.
    pub fn load(settings: &AuthSettings) -> anyhow::Result<Self> {
        settings.validate().map_err(anyhow::Error::msg)?;
        let mut keys = match (settings.signing_algorithm, &settings.signing_key_file) {
            (SigningAlgorithm::HS256, _) => {
                let secret = resolve_secret(settings).map_err(anyhow::Error::msg)?;
                TokenKeys::new(settings, &secret)
            }
            (algorithm, Some(path)) => {
                let private = read_key(path, "APP_AUTH__SIGNING_KEY_FILE", |text| {
                    keyfile::private_key_from_pem(text)
                })?;
                let (encoding, public) = match (algorithm, &private) {
                    (SigningAlgorithm::EdDSA, PrivateKey::Ed25519 { pkcs8, public }) => {
                        (EncodingKey::from_ed_der(pkcs8), public)
                    }
                    (SigningAlgorithm::RS256, PrivateKey::Rsa { pkcs1, public }) => {
                        (EncodingKey::from_rsa_der(pkcs1), public)
                    }
                    _ => anyhow::bail!(
                        "APP_AUTH__SIGNING_KEY_FILE {} is not a{} key",
                        path.display(),
                        match algorithm {
                            SigningAlgorithm::EdDSA => "n Ed25519 (EdDSA)",
                            _ => "n RSA (RS256)",
                        }
                    ),
                };
                let mut keys = TokenKeys {
                    signing_kid: settings.key_id.clone(),
                    signing_algorithm: jose_algorithm(algorithm),
                    encoding,
                    verifying: HashMap::new(),
                    jwks: serde_json::json!({ "keys": [] }),
                    issuer: settings.issuer.clone(),
                    audience: settings.audience.clone(),
                    external: None,
                };
                keys.add_public_key(settings, &settings.key_id, algorithm, public)?;
                keys
            }
            (algorithm, None) => anyhow::bail!(
                "APP_AUTH__SIGNING_ALGORITHM={} needs APP_AUTH__SIGNING_KEY_FILE",
                algorithm.as_str()
            ),
        };
        for extra in &settings.verification_keys {
            let public = read_key(&extra.file, "APP_AUTH__VERIFICATION_KEYS", |text| {
                keyfile::public_key_from_pem(text)
            })
            .with_context(|| format!("verification key {:?}", extra.kid))?;
            keys.add_public_key(settings, &extra.kid, extra.algorithm, &public)?;
        }
        keys.self_check()?;
        if let Some(external) = &settings.external {
            keys.external = Some(ExternalIssuer::load(external)?);
        }
        tracing::info!(
            auth.signing_algorithm = settings.signing_algorithm.as_str(),
            auth.key_id = %settings.key_id,
            auth.verification_keys = keys.verifying.len(),
            auth.external_issuer = keys.external.is_some(),
            "token keys loaded"
        );
        Ok(keys)
    }

    /// Adds an asymmetric verification key and its public JWK.
    fn add_public_key(
        &mut self,
        settings: &AuthSettings,
        kid: &str,
        algorithm: SigningAlgorithm,
        public: &PublicKey,
    ) -> anyhow::Result<()> {
        let (decoding, mut jwk) = match (algorithm, public) {
            (SigningAlgorithm::EdDSA, PublicKey::Ed25519 { x }) => (
                DecodingKey::from_ed_der(x),
                serde_json::json!({ "kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(x) }),
            ),
            (SigningAlgorithm::RS256, PublicKey::Rsa { n, e }) => (
                DecodingKey::from_rsa_raw_components(n, e),
                serde_json::json!({
                    "kty": "RSA",
                    "n": URL_SAFE_NO_PAD.encode(n),
                    "e": URL_SAFE_NO_PAD.encode(e),
                }),
            ),
            _ => anyhow::bail!(
                "key {kid:?} does not match its algorithm {}",
                algorithm.as_str()
            ),
        };
        if let Some(members) = jwk.as_object_mut() {
            members.insert("kid".into(), kid.into());
            members.insert("alg".into(), algorithm.as_str().into());
            members.insert("use".into(), "sig".into());
        }
        if let Some(list) = self
            .jwks
            .get_mut("keys")
            .and_then(serde_json::Value::as_array_mut)
        {
            list.push(jwk);
        }
        let algorithm = jose_algorithm(algorithm);
        self.verifying
            .insert(kid.to_owned(), verifying_key(algorithm, decoding, settings));
        Ok(())
    }

    /// Signs and verifies a probe token: the published public key must match the signing key.
    fn self_check(&self) -> anyhow::Result<()> {
        let probe = self
            .sign(&TokenRequest {
                subject: "self-check".into(),
                org: "self-check".into(),
                roles: Vec::new(),
                scope: String::new(),
                client_id: None,
                ttl_seconds: 60,
            })
            .map_err(|_| anyhow::anyhow!("the signing key cannot sign (is the key file valid?)"))?;
        self.verify(&probe).map_err(|_| {
            anyhow::anyhow!("the signing key's public half does not verify its own tokens")
        })?;
        Ok(())
    }

    /// Signs a token for `request` with the current signing key (its `kid` in the header).
    pub fn sign(&self, request: &TokenRequest) -> AppResult<String> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            exp: now + request.ttl_seconds,
            nbf: now,
            iat: now,
            sub: request.subject.clone(),
            org: request.org.clone(),
            roles: request.roles.clone(),
            scope: request.scope.clone(),
            client_id: request.client_id.clone(),
        };
        let mut header = Header::new(self.signing_algorithm);
        header.kid = Some(self.signing_kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding).map_err(AppError::internal)
    }

    /// Verifies one of the service's own tokens: the `kid` picks the key, the header's `alg`
    /// must be the algorithm pinned to that key, then signature and claims are checked.
    pub fn verify(&self, token: &str) -> AppResult<Claims> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AppError::Unauthenticated)?;
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.verifying.get(kid))
            .ok_or(AppError::Unauthenticated)?;
        if header.alg != key.algorithm {
            return Err(AppError::Unauthenticated);
        }
        jsonwebtoken::decode::<Claims>(token, &key.key, &key.validation)
            .map(|data| data.claims)
            .map_err(|e| {
                tracing::debug!(reason = %e, "token rejected");
                AppError::Unauthenticated
            })
    }

    /// The external issuer, when one is configured and the (not yet verified) `iss` of `token`
    /// names it. Such a token is verified against the issuer's JWK Set only.
    pub fn external_issuer_for(&self, token: &str) -> Option<&ExternalIssuer> {
        let external = self.external.as_ref()?;
        (unverified_issuer(token)?.as_str() == external.issuer()).then_some(external)
    }

    /// The JWK Set of the public keys this service signs or verifies with (RFC 7517); empty when
    /// only an HS256 secret is in use. Never contains a secret.
    pub fn jwks(&self) -> &serde_json::Value {
        &self.jwks
    }
}

/// `GET /.well-known/jwks.json`: the public keys of [`TokenKeys::jwks`].
pub async fn jwks(state: web::Data<crate::http::AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((
            header::CACHE_CONTROL,
            format!("public, max-age={JWKS_MAX_AGE_SECONDS}"),
        ))
        .json(state.keys.jwks())
}

/// The JOSE algorithm of a signing algorithm setting.
fn jose_algorithm(algorithm: SigningAlgorithm) -> Algorithm {
    match algorithm {
        SigningAlgorithm::HS256 => Algorithm::HS256,
        SigningAlgorithm::EdDSA => Algorithm::EdDSA,
        SigningAlgorithm::RS256 => Algorithm::RS256,
    }
}

/// Validation of the service's own tokens for one pinned algorithm: every registered claim the
/// service sets is required.
fn verifying_key(algorithm: Algorithm, key: DecodingKey, settings: &AuthSettings) -> VerifyingKey {
    let mut validation = Validation::new(algorithm);
    validation.set_issuer(&[settings.issuer.as_str()]);
    validation.set_audience(&[settings.audience.as_str()]);
    validation.validate_nbf = true;
    validation.leeway = LEEWAY_SECONDS;
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    VerifyingKey {
        algorithm,
        key,
        validation,
    }
}

/// Reads and parses a key file, naming the setting and path (never the contents) on failure.
fn read_key<T>(
    path: &Path,
    setting: &str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> anyhow::Result<T> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{setting}: cannot read {}", path.display()))?;
    parse(&text).map_err(|reason| anyhow::anyhow!("{setting}: {}: {reason}", path.display()))
}

/// The `iss` claim of a token without verifying anything (only to route it to its verifier).
fn unverified_issuer(token: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Issuer {
        iss: Option<String>,
    }
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<Issuer>(&bytes).ok()?.iss
}

/// The HS256 secret: from settings, else a per-machine development secret kept in
/// `./data/jwt-secret` (created on first use with owner-only permissions).
pub fn resolve_secret(settings: &AuthSettings) -> Result<SecretString, String> {
    if let Some(secret) = &settings.jwt_secret {
        return Ok(secret.clone());
    }
    let path = std::path::Path::new("data/jwt-secret");
    if let Ok(existing) = std::fs::read_to_string(path) {
        let existing = existing.trim().to_owned();
        if existing.len() >= 32 {
            return Ok(SecretString::from(existing));
        }
    }
    let generated = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    std::fs::create_dir_all("data").map_err(|e| format!("cannot create ./data: {e}"))?;
    write_private(path, &generated).map_err(|e| {
        format!(
            "cannot write {}: {e} (set APP_AUTH__JWT_SECRET instead)",
            path.display()
        )
    })?;
    Ok(SecretString::from(generated))
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(content.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, content: &str) -> std::io::Result<()> {
    std::fs::write(path, content)
}

/// Parses `30m`, `1h`, `2d` or plain seconds.
pub fn parse_ttl(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: i64 = number
        .parse()
        .map_err(|_| format!("bad duration {text:?}"))?;
    let factor = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("bad duration unit in {text:?}: use s, m, h or d")),
    };
    Ok(n * factor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Settings, VerificationKeySettings};

    fn key_path(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/keys")
            .join(name)
    }

    fn request() -> TokenRequest {
        TokenRequest {
            subject: "p-1".into(),
            org: "org-1".into(),
            roles: vec!["teacher".into()],
            scope: String::new(),
            client_id: None,
            ttl_seconds: 60,
        }
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_ttl("90"), Ok(90));
        assert_eq!(parse_ttl("15m"), Ok(900));
        assert_eq!(parse_ttl("1h"), Ok(3600));
        assert!(parse_ttl("1w").is_err());
    }

    #[test]
    fn eddsa_keys_sign_verify_and_publish_only_public_members() {
        let mut auth = Settings::for_tests("sqlite::memory:").auth;
        auth.signing_algorithm = SigningAlgorithm::EdDSA;
        auth.signing_key_file = Some(key_path("ed25519-b.pem"));
        auth.key_id = "ed-b".into();
        auth.verification_keys = vec![VerificationKeySettings {
            kid: "rs-a".into(),
            algorithm: SigningAlgorithm::RS256,
            file: key_path("rsa-a.pub.pem"),
        }];
        let keys = TokenKeys::load(&auth).expect("keys load");
        let token = keys.sign(&request()).expect("sign");
        let header = jsonwebtoken::decode_header(&token).expect("header");
        assert_eq!(header.alg, Algorithm::EdDSA);
        assert_eq!(header.kid.as_deref(), Some("ed-b"));
        assert_eq!(keys.verify(&token).expect("verify").sub, "p-1");
        let published = keys.jwks()["keys"].as_array().expect("keys").clone();
        assert_eq!(published.len(), 2);
        for jwk in &published {
            assert!(jwk.get("d").is_none(), "private member published: {jwk}");
        }
    }

    #[test]
    fn a_key_file_of_the_wrong_type_fails_at_load_naming_the_setting() {
        let mut auth = Settings::for_tests("sqlite::memory:").auth;
        auth.signing_algorithm = SigningAlgorithm::RS256;
        auth.signing_key_file = Some(key_path("ed25519-a.pem"));
        let error = TokenKeys::load(&auth).err().expect("refused").to_string();
        assert!(error.contains("APP_AUTH__SIGNING_KEY_FILE"), "{error}");
        auth.signing_key_file = Some(key_path("no-such-key.pem"));
        let error = TokenKeys::load(&auth).err().expect("refused").to_string();
        assert!(error.contains("cannot read"), "{error}");
    }

    #[test]
    fn an_hs256_secret_is_never_published() {
        let auth = Settings::for_tests("sqlite::memory:").auth;
        let keys = TokenKeys::load(&auth).expect("keys load");
        assert_eq!(keys.jwks(), &serde_json::json!({ "keys": [] }));
    }
}
