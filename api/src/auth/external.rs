//! A trusted external token issuer (an OpenID Connect provider for staff; docs/tokens.md).
//!
//! Its tokens are verified against its JWK Set (read from a file at start-up): `kid` is required
//! and picks the key, the token's `alg` must be the key's, and `iss`, `aud`, `exp` and `nbf` are
//! checked. The verified `sub` then maps to an [`account`] (issuer, subject) and so to a person;
//! the roles and acting organisation come from the person's active role assignments today. The
//! result is the same [`Claims`] the service's own tokens produce.

use std::collections::HashMap;
use std::str::FromStr;

use anyhow::Context as _;
use entity::{account, org, person, role_assignment};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::Deserialize;

use super::jwt::{Claims, LEEWAY_SECONDS};
use crate::config::ExternalIssuerSettings;
use crate::error::{AppError, AppResult};

/// One key of the issuer's JWK Set, pinned to its algorithm.
struct IssuerKey {
    algorithm: Algorithm,
    key: DecodingKey,
    validation: Validation,
}

/// The external issuer: its identity, the audience it addresses this API with, and its keys.
pub struct ExternalIssuer {
    issuer: String,
    audience: String,
    keys: HashMap<String, IssuerKey>,
}

/// The claims read from an external token; everything else in it is ignored.
#[derive(Deserialize)]
struct ExternalClaims {
    sub: String,
    exp: i64,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    iat: Option<i64>,
    /// The sourcedId of the organisation to act for, when the person holds roles at several.
    #[serde(default)]
    org: Option<String>,
}

impl ExternalIssuer {
    /// Reads the issuer's JWK Set from `settings.jwks_file`. Keys without a `kid`, symmetric
    /// (`oct`) keys, encryption keys and keys whose algorithm does not fit their type are refused;
    /// a set left with no usable key is an error.
    pub fn load(settings: &ExternalIssuerSettings) -> anyhow::Result<Self> {
        let path = &settings.jwks_file;
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "APP_AUTH__EXTERNAL__JWKS_FILE: cannot read {}",
                path.display()
            )
        })?;
        let set: JwkSet = serde_json::from_str(&text).with_context(|| {
            format!(
                "APP_AUTH__EXTERNAL__JWKS_FILE: {} is not a JWK Set",
                path.display()
            )
        })?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let Some(kid) = jwk.common.key_id.clone() else {
                tracing::warn!("external JWK without kid ignored");
                continue;
            };
            if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
                continue;
            }
            let Some(algorithm) = pinned_algorithm(jwk) else {
                tracing::warn!(jwk.kid = %kid, "external JWK with no usable signature algorithm ignored");
                continue;
            };
            let key = DecodingKey::from_jwk(jwk)
                .with_context(|| format!("APP_AUTH__EXTERNAL__JWKS_FILE: key {kid:?}"))?;
            let mut validation = Validation::new(algorithm);
            validation.set_issuer(&[settings.issuer.as_str()]);
            validation.set_audience(&[settings.audience.as_str()]);
            validation.validate_nbf = true;
            validation.leeway = LEEWAY_SECONDS;
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
            if keys
                .insert(
                    kid.clone(),
                    IssuerKey {
                        algorithm,
                        key,
                        validation,
                    },
                )
                .is_some()
            {
                anyhow::bail!(
                    "APP_AUTH__EXTERNAL__JWKS_FILE: kid {kid:?} appears twice in {}",
                    path.display()
                );
            }
        }
        if keys.is_empty() {
            anyhow::bail!(
                "APP_AUTH__EXTERNAL__JWKS_FILE: {} holds no usable signature key",
                path.display()
            );
        }
        Ok(ExternalIssuer {
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            keys,
        })
    }

    /// The issuer's `iss`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Verifies `token` against the issuer's keys.
    fn verify(&self, token: &str) -> AppResult<ExternalClaims> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AppError::Unauthenticated)?;
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.keys.get(kid))
            .ok_or(AppError::Unauthenticated)?;
        if header.alg != key.algorithm {
            return Err(AppError::Unauthenticated);
        }
        jsonwebtoken::decode::<ExternalClaims>(token, &key.key, &key.validation)
            .map(|data| data.claims)
            .map_err(|e| {
                tracing::debug!(reason = %e, "external token rejected");
                AppError::Unauthenticated
            })
    }

    /// Verifies an external token and maps it to the claims of the account holder: `sub` is the
    /// person's sourcedId, `org` the organisation they act for, `roles` their active roles there.
    pub async fn authenticate(&self, db: &impl ConnectionTrait, token: &str) -> AppResult<Claims> {
        let external = self.verify(token)?;
        let now = chrono::Utc::now().timestamp();
        let acting = acting_person(db, &self.issuer, &external.sub, external.org.as_deref())
            .await?
            .ok_or_else(|| {
                tracing::debug!("external token for no active account, person or role");
                AppError::Unauthenticated
            })?;
        Ok(Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            exp: external.exp,
            nbf: external.nbf.or(external.iat).unwrap_or(now),
            iat: external.iat.unwrap_or(now),
            sub: acting.person,
            org: acting.org,
            roles: acting.roles,
            scope: String::new(),
            client_id: None,
        })
    }
}

/// The algorithm a JWK is pinned to: its `alg`, else the only one its key type allows (an RSA
/// key without `alg` is RS256, the OpenID Connect default). Symmetric keys are never accepted
/// from an issuer's published set, and `alg` must fit the key type.
fn pinned_algorithm(jwk: &jsonwebtoken::jwk::Jwk) -> Option<Algorithm> {
    let declared = match &jwk.common.key_algorithm {
        Some(alg) => Some(Algorithm::from_str(&alg.to_string()).ok()?),
        None => None,
    };
    match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => match declared.unwrap_or(Algorithm::RS256) {
            alg @ (Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512) => Some(alg),
            _ => None,
        },
        AlgorithmParameters::EllipticCurve(params) => {
            let implied = match params.curve {
                EllipticCurve::P256 => Algorithm::ES256,
                EllipticCurve::P384 => Algorithm::ES384,
                _ => return None,
            };
            (declared.unwrap_or(implied) == implied).then_some(implied)
        }
        AlgorithmParameters::OctetKeyPair(params) => (params.curve == EllipticCurve::Ed25519
            && declared.unwrap_or(Algorithm::EdDSA) == Algorithm::EdDSA)
            .then_some(Algorithm::EdDSA),
        AlgorithmParameters::OctetKey(_) => None,
    }
}

/// Who an external subject acts as.
struct Acting {
    /// The person's sourcedId.
    person: String,
    /// The acting organisation's sourcedId.
    org: String,
    /// Role names the person holds there today.
    roles: Vec<String>,
}

/// The account holder of (`issuer`, `subject`) and where they act: at `org_claim` when given
/// (they must hold an active role there), else at the organisation of their active primary role
/// (the lowest org id when several). `None` when any link is missing or inactive.
async fn acting_person(
    db: &impl ConnectionTrait,
    issuer: &str,
    subject: &str,
    org_claim: Option<&str>,
) -> AppResult<Option<Acting>> {
    let Some(person_id) = account::Entity::find()
        .select_only()
        .column(account::Column::PersonId)
        .filter(account::Column::OidcIssuer.eq(issuer))
        .filter(account::Column::OidcSubject.eq(subject))
        .filter(account::Column::Status.eq(entity::STATUS_ACTIVE))
        .into_tuple::<i64>()
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let Some(person_sourced_id) = person::Entity::find_by_id(person_id)
        .select_only()
        .column(person::Column::SourcedId)
        .filter(person::Column::Status.eq(entity::STATUS_ACTIVE))
        .filter(person::Column::EnabledUser.eq(true))
        .into_tuple::<String>()
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let today = crate::access::today();
    // (org id, org sourcedId, role, role type) of every active role at an active organisation.
    let assignments: Vec<(i64, String, String, String)> = role_assignment::Entity::find()
        .select_only()
        .column(role_assignment::Column::OrgId)
        .column(org::Column::SourcedId)
        .column(role_assignment::Column::Role)
        .column(role_assignment::Column::RoleType)
        .join(
            sea_orm::JoinType::InnerJoin,
            role_assignment::Entity::belongs_to(org::Entity)
                .from(role_assignment::Column::OrgId)
                .to(org::Column::Id)
                .into(),
        )
        .filter(role_assignment::Column::PersonId.eq(person_id))
        .filter(role_assignment::Column::Status.eq(entity::STATUS_ACTIVE))
        .filter(role_assignment::Column::BeginDate.lte(today))
        .filter(
            Condition::any()
                .add(role_assignment::Column::EndDate.is_null())
                .add(role_assignment::Column::EndDate.gt(today)),
        )
        .filter(org::Column::Status.eq(entity::STATUS_ACTIVE))
        .into_tuple()
        .all(db)
        .await?;
    let acting_org = match org_claim {
        Some(claimed) => assignments
            .iter()
            .find(|(_, sourced_id, _, _)| sourced_id == claimed)
            .map(|(id, _, _, _)| *id),
        None => assignments
            .iter()
            .filter(|(_, _, _, role_type)| role_type == "primary")
            .map(|(id, _, _, _)| *id)
            .min(),
    };
    let Some(acting_org) = acting_org else {
        return Ok(None);
    };
    let mut roles: Vec<String> = assignments
        .iter()
        .filter(|(id, _, _, _)| *id == acting_org)
        .map(|(_, _, role, _)| role.clone())
        .collect();
    roles.sort();
    roles.dedup();
    let org = assignments
        .iter()
        .find(|(id, _, _, _)| *id == acting_org)
        .map(|(_, sourced_id, _, _)| sourced_id.clone())
        .unwrap_or_default();
    Ok(Some(Acting {
        person: person_sourced_id,
        org,
        roles,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwk(value: serde_json::Value) -> jsonwebtoken::jwk::Jwk {
        serde_json::from_value(value).expect("a JWK")
    }

    #[test]
    fn keys_are_pinned_to_an_algorithm_that_fits_their_type() {
        let rsa = serde_json::json!({ "kty": "RSA", "kid": "r", "n": "AQAB", "e": "AQAB" });
        assert_eq!(pinned_algorithm(&jwk(rsa.clone())), Some(Algorithm::RS256));
        let mut ps = rsa.clone();
        ps["alg"] = "PS256".into();
        assert_eq!(pinned_algorithm(&jwk(ps)), Some(Algorithm::PS256));
        let mut confused = rsa;
        confused["alg"] = "HS256".into();
        assert_eq!(pinned_algorithm(&jwk(confused)), None);
        let oct = serde_json::json!({ "kty": "oct", "kid": "s", "k": "c2VjcmV0", "alg": "HS256" });
        assert_eq!(pinned_algorithm(&jwk(oct)), None);
        let ed = serde_json::json!({ "kty": "OKP", "crv": "Ed25519", "kid": "e", "x": "AA" });
        assert_eq!(pinned_algorithm(&jwk(ed)), Some(Algorithm::EdDSA));
    }
}
