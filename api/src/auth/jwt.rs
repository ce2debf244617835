//! Bearer tokens (API.md section 6): HS256 pinned, `kid` picks the key, and `exp`, `nbf`, `iss`,
//! `aud` are all checked. Every failure is the same `UNAUTHENTICATED`.

use std::collections::HashMap;

use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::config::AuthSettings;
use crate::error::{AppError, AppResult};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    pub nbf: i64,
    pub iat: i64,
    pub sub: String,
    pub org: String,
    pub roles: Vec<String>,
    #[serde(default)]
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// What a new token should say.
#[derive(Clone, Debug)]
pub struct TokenRequest {
    pub subject: String,
    pub org: String,
    pub roles: Vec<String>,
    pub scope: String,
    pub client_id: Option<String>,
    pub ttl_seconds: i64,
}

/// Signing and verification keys.
pub struct TokenKeys {
    signing_kid: String,
    encoding: EncodingKey,
    decoding: HashMap<String, DecodingKey>,
    validation: Validation,
    issuer: String,
    audience: String,
}

impl TokenKeys {
    pub fn new(settings: &AuthSettings, secret: &SecretString) -> Self {
        let bytes = secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[settings.issuer.as_str()]);
        validation.set_audience(&[settings.audience.as_str()]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        let mut decoding = HashMap::new();
        decoding.insert(settings.key_id.clone(), DecodingKey::from_secret(bytes));
        TokenKeys {
            signing_kid: settings.key_id.clone(),
            encoding: EncodingKey::from_secret(bytes),
            decoding,
            validation,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
        }
    }

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
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.signing_kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding).map_err(AppError::internal)
    }

    pub fn verify(&self, token: &str) -> AppResult<Claims> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AppError::Unauthenticated)?;
        if header.alg != Algorithm::HS256 {
            return Err(AppError::Unauthenticated);
        }
        let key = match &header.kid {
            Some(kid) => self.decoding.get(kid),
            None if self.decoding.len() == 1 => self.decoding.values().next(),
            None => None,
        }
        .ok_or(AppError::Unauthenticated)?;
        jsonwebtoken::decode::<Claims>(token, key, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| {
                tracing::debug!(reason = %e, "token rejected");
                AppError::Unauthenticated
            })
    }
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

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_ttl("90"), Ok(90));
        assert_eq!(parse_ttl("15m"), Ok(900));
        assert_eq!(parse_ttl("1h"), Ok(3600));
        assert!(parse_ttl("1w").is_err());
    }
}
