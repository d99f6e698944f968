//! Who may use the admin console and the admin API.
//!
//! Three credentials are accepted:
//! - the admin token (`ONTOGRAPH_ADMIN_TOKEN`) as `Authorization: Bearer <token>`;
//! - a JWT signed with HS256 by `ONTOGRAPH_ADMIN_JWT_SECRET` whose `roles` (array) or `scope`
//!   (space-separated) claim includes `admin`, as a bearer token; its `sub` names the operator;
//! - the session cookie that `POST /admin/login` sets after checking one of the two above.
//!
//! The session cookie is stateless, so every gateway sharing the same secrets accepts it: its value
//! is `<base64url(who)>.<expires ms>.<nonce>.<hex HMAC-SHA256>`, keyed by
//! `ONTOGRAPH_ADMIN_SESSION_SECRET` or, when that is unset, by a key derived from the admin token
//! and JWT secret (rotating either ends every session). The CSRF token of a session is another
//! HMAC over the same value; the console reads it from `GET /admin/api/session` and sends it as
//! `X-CSRF-Token` on every state-changing call.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "og_admin";

/// How admin access is configured.
#[derive(Debug, Clone)]
pub struct AdminConfig {
    /// The admin token (`None`: tokens are not accepted).
    pub token: Option<String>,
    /// HS256 secret of admin-role JWTs (`None`: JWTs are not accepted).
    pub jwt_secret: Option<String>,
    /// Key of the session cookies (`None`: derived from the token and the JWT secret).
    pub session_secret: Option<String>,
    /// Lifetime of a console session.
    pub session_ttl: Duration,
    /// `Secure` attribute of the cookie: `None` sets it when the request came over HTTPS
    /// (`X-Forwarded-Proto: https`).
    pub cookie_secure: Option<bool>,
    /// Interval of the console's history samples (`/admin/api/history`; one hour is kept).
    pub history_interval: Duration,
}

impl AdminConfig {
    /// Only an admin token (sessions keyed from it).
    pub fn with_token(token: impl Into<String>) -> Self {
        AdminConfig {
            token: Some(token.into()),
            ..AdminConfig::default()
        }
    }
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            token: None,
            jwt_secret: None,
            session_secret: None,
            session_ttl: Duration::from_secs(8 * 3600),
            cookie_secure: None,
            history_interval: Duration::from_secs(5),
        }
    }
}

/// An authenticated operator.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Who: `admin` for the admin token, the JWT's subject, or the session's operator.
    pub who: String,
    /// The session's CSRF token (`None`: authenticated by a bearer credential, which a browser
    /// never attaches on its own, so no CSRF token is needed).
    pub csrf: Option<String>,
    /// When the session ends (sessions only).
    pub expires_ms: Option<u64>,
    /// The session's nonce (sessions only): logging out revokes it.
    pub session_id: Option<String>,
}

/// Why a credential was refused (the message is safe to show).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("no admin credential: send `Authorization: Bearer <admin token or admin JWT>` or log in at /admin/login")]
    Missing,
    #[error("the admin token or JWT is not valid")]
    Invalid,
    #[error("the JWT is not valid: {0}")]
    Jwt(String),
    #[error("the JWT does not carry the `admin` role (in `roles` or `scope`)")]
    NotAdmin,
}

#[derive(serde::Deserialize)]
struct Claims {
    sub: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    scope: Option<String>,
}

/// Checks credentials and issues and verifies session cookies.
pub struct Auth {
    token: Option<Vec<u8>>,
    jwt: Option<(jsonwebtoken::DecodingKey, jsonwebtoken::Validation)>,
    session_key: Vec<u8>,
    pub session_ttl: Duration,
    pub cookie_secure: Option<bool>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("token", &self.token.is_some())
            .field("jwt", &self.jwt.is_some())
            .finish_non_exhaustive()
    }
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Auth {
    /// `None` when neither a token nor a JWT secret is configured: the admin surface is closed.
    pub fn new(c: &AdminConfig) -> Option<Self> {
        let token = c.token.clone().filter(|t| !t.is_empty());
        let jwt_secret = c.jwt_secret.clone().filter(|t| !t.is_empty());
        if token.is_none() && jwt_secret.is_none() {
            return None;
        }
        let session_key = match c.session_secret.as_deref().filter(|s| !s.is_empty()) {
            Some(secret) => Sha256::digest(secret.as_bytes()).to_vec(),
            None => {
                let mut h = Sha256::new();
                h.update(b"ontograph admin session v1\0");
                h.update(token.as_deref().unwrap_or("").as_bytes());
                h.update(b"\0");
                h.update(jwt_secret.as_deref().unwrap_or("").as_bytes());
                h.finalize().to_vec()
            }
        };
        let jwt = jwt_secret.map(|secret| {
            let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
            v.validate_aud = false;
            v.set_required_spec_claims(&["exp", "sub"]);
            (jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()), v)
        });
        Some(Auth {
            token: token.map(String::into_bytes),
            jwt,
            session_key,
            session_ttl: c.session_ttl,
            cookie_secure: c.cookie_secure,
        })
    }

    /// Checks an admin token or an admin-role JWT; returns who it is.
    pub fn check_credential(&self, presented: &str) -> Result<String, AuthError> {
        let presented = presented.trim();
        if presented.is_empty() {
            return Err(AuthError::Missing);
        }
        if let Some(token) = &self.token {
            if constant_time_eq(presented.as_bytes(), token) {
                return Ok("admin".to_owned());
            }
        }
        let looks_like_jwt = presented.split('.').count() == 3;
        match &self.jwt {
            Some((key, validation)) if looks_like_jwt => {
                let data = jsonwebtoken::decode::<Claims>(presented, key, validation)
                    .map_err(|e| AuthError::Jwt(e.to_string()))?;
                let c = data.claims;
                let admin = c.roles.iter().any(|r| r == "admin")
                    || c.scope
                        .as_deref()
                        .is_some_and(|s| s.split_whitespace().any(|r| r == "admin"));
                if !admin {
                    return Err(AuthError::NotAdmin);
                }
                Ok(c.sub.unwrap_or_else(|| "jwt".to_owned()))
            }
            _ => Err(AuthError::Invalid),
        }
    }

    /// A new session cookie value for `who`, valid for the session lifetime.
    pub fn issue_session(&self, who: &str) -> String {
        let expires = now_ms() + self.session_ttl.as_millis() as u64;
        let nonce: u64 = rand::random();
        let payload = format!(
            "{}.{expires}.{nonce:016x}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(who)
        );
        let sig = self.mac(b"session", &payload);
        format!("{payload}.{sig}")
    }

    /// The operator of a valid, unexpired session cookie.
    pub fn verify_session(&self, cookie: &str) -> Option<Principal> {
        let (payload, sig) = cookie.rsplit_once('.')?;
        if !constant_time_eq(self.mac(b"session", payload).as_bytes(), sig.as_bytes()) {
            return None;
        }
        let mut parts = payload.splitn(3, '.');
        let who = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts.next()?)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())?;
        let expires: u64 = parts.next()?.parse().ok()?;
        if expires <= now_ms() {
            return None;
        }
        let nonce = parts.next()?.to_owned();
        let mut csrf = self.mac(b"csrf", payload);
        csrf.truncate(32);
        Some(Principal {
            who,
            csrf: Some(csrf),
            expires_ms: Some(expires),
            session_id: Some(nonce),
        })
    }

    fn mac(&self, purpose: &[u8], payload: &str) -> String {
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&self.session_key)
            .expect("HMAC accepts any key length");
        m.update(purpose);
        m.update(b"\0");
        m.update(payload.as_bytes());
        hex::encode(m.finalize().into_bytes())
    }
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(token: Option<&str>, jwt: Option<&str>) -> Auth {
        Auth::new(&AdminConfig {
            token: token.map(str::to_owned),
            jwt_secret: jwt.map(str::to_owned),
            ..AdminConfig::default()
        })
        .expect("configured")
    }

    fn jwt(secret: &str, claims: serde_json::Value) -> String {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .expect("ok")
    }

    #[test]
    fn nothing_configured_means_closed() {
        assert!(Auth::new(&AdminConfig::default()).is_none());
    }

    #[test]
    fn tokens_and_jwts() {
        let a = auth(Some("tok"), Some("jwt-secret"));
        assert_eq!(a.check_credential("tok").expect("ok"), "admin");
        assert_eq!(a.check_credential("tok2"), Err(AuthError::Invalid));
        assert_eq!(a.check_credential(""), Err(AuthError::Missing));
        let exp = now_ms() / 1000 + 600;
        let good = jwt(
            "jwt-secret",
            serde_json::json!({"sub": "alice", "exp": exp, "roles": ["admin"]}),
        );
        assert_eq!(a.check_credential(&good).expect("ok"), "alice");
        let scoped = jwt(
            "jwt-secret",
            serde_json::json!({"sub": "bob", "exp": exp, "scope": "read admin"}),
        );
        assert_eq!(a.check_credential(&scoped).expect("ok"), "bob");
        let reader = jwt(
            "jwt-secret",
            serde_json::json!({"sub": "carol", "exp": exp, "roles": ["read"]}),
        );
        assert_eq!(a.check_credential(&reader), Err(AuthError::NotAdmin));
        let forged = jwt(
            "other",
            serde_json::json!({"sub": "eve", "exp": exp, "roles": ["admin"]}),
        );
        assert!(
            matches!(a.check_credential(&forged), Err(AuthError::Jwt(m)) if m.contains("Signature"))
        );
        let expired = jwt(
            "jwt-secret",
            serde_json::json!({"sub": "dan", "exp": exp - 3600, "roles": ["admin"]}),
        );
        assert!(
            matches!(a.check_credential(&expired), Err(AuthError::Jwt(m)) if m.contains("Expired"))
        );
    }

    #[test]
    fn sessions_verify_and_resist_tampering() {
        let a = auth(Some("tok"), None);
        let cookie = a.issue_session("alice");
        let p = a.verify_session(&cookie).expect("valid");
        assert_eq!(p.who, "alice");
        assert_eq!(p.csrf.as_ref().map(String::len), Some(32));
        // Another instance with the same token accepts it; another token does not.
        assert!(auth(Some("tok"), None).verify_session(&cookie).is_some());
        assert!(auth(Some("tok-rotated"), None)
            .verify_session(&cookie)
            .is_none());
        // Tampering with the operator or the expiry breaks the signature.
        let (payload, sig) = cookie.rsplit_once('.').expect("ok");
        let other = payload.replacen(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("alice"),
            &base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("mallory"),
            1,
        );
        assert!(a.verify_session(&format!("{other}.{sig}")).is_none());
        // An expired session is refused.
        let short = Auth::new(&AdminConfig {
            token: Some("tok".into()),
            session_ttl: Duration::ZERO,
            ..AdminConfig::default()
        })
        .expect("ok");
        assert!(short.verify_session(&short.issue_session("x")).is_none());
    }
}
