//! The admission stage: who is calling (credentials), whether they may spend from their budget,
//! and whether they may run this operation here (role, method, introspection). Everything is
//! checked once per request, before the cache is consulted: a cached answer is only for callers
//! allowed to run the operation.

use async_graphql::parser::types::OperationType;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};

use crate::access::{Access, AuthError, Caller, CallerKind, READ, WRITE};
use crate::ratelimit::{Class, Decision, RateLimiter};
use crate::respond::{rate_headers, Refusal};

use super::document::Prepared;

/// The caller behind the request's credentials; 401 with the reason and an RFC 6750
/// challenge when they do not hold.
pub async fn authenticate(access: &Access, headers: &HeaderMap) -> Result<Caller, Refusal> {
    access.authenticate(headers).await.map_err(|e| {
        metrics::counter!("ontograph_auth_refused_total", "reason" => "unauthenticated")
            .increment(1);
        unauthenticated(&e)
    })
}

fn unauthenticated(e: &AuthError) -> Refusal {
    let refusal = Refusal::new(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", e.to_string());
    match HeaderValue::from_str(&e.challenge()) {
        Ok(v) => refusal.with_header(header::WWW_AUTHENTICATE, v),
        Err(_) => refusal,
    }
}

/// Spends one request of the caller's read or write budget (by subject when authenticated, else
/// by address). `kind` is the operation's type (`None` when the document does not parse:
/// counted as a read). `Ok(None)` when the class is not limited; a refusal carries the rate
/// headers and `Retry-After`.
pub async fn spend(
    limiter: &RateLimiter,
    kind: Option<OperationType>,
    caller: &Caller,
    remote: Option<&str>,
) -> Result<Option<Decision>, Refusal> {
    if !limiter.config().enabled() {
        return Ok(None);
    }
    let class = match kind {
        Some(OperationType::Mutation) => Class::Write,
        _ => Class::Read,
    };
    let client = match caller.kind {
        CallerKind::Jwt | CallerKind::ApiKey => format!("sub:{}", caller.subject),
        _ => format!("ip:{}", remote.unwrap_or("unknown")),
    };
    let Some(decision) = limiter.check(class, &client).await else {
        return Ok(None);
    };
    if decision.allowed {
        return Ok(Some(decision));
    }
    let rate = limiter
        .config()
        .rate(class)
        .map(|r| r.to_string())
        .unwrap_or_default();
    let who = client.split_once(':').map_or(client.as_str(), |(_, w)| w);
    let mut refusal = Refusal::new(
        StatusCode::TOO_MANY_REQUESTS,
        "RATE_LIMITED",
        format!(
            "rate limit exceeded: {rate} {}s for `{who}`; retry in {:.1} s",
            class.as_str(),
            decision.retry_after.as_secs_f64()
        ),
    );
    rate_headers(&mut refusal.headers, &decision);
    Err(refusal)
}

/// Whether the caller may run this operation here: mutations only with POST (405 over GET,
/// naming POST in `Allow`), queries with the `read` role and mutations with `write`,
/// introspection only when it is on.
pub fn admit(
    prepared: &Prepared,
    caller: &Caller,
    via_get: bool,
    introspection: bool,
) -> Result<(), Refusal> {
    let kind = prepared.kind;
    if via_get && kind == Some(OperationType::Mutation) {
        return Err(Refusal::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "BAD_REQUEST",
            "mutations must be sent with POST",
        )
        .with_header(header::ALLOW, HeaderValue::from_static("POST")));
    }
    authorize(caller, kind)?;
    if !introspection && prepared.introspects {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "INTROSPECTION_DISABLED",
            "introspection is disabled on this server (`__schema` and `__type` are not answered)",
        ));
    }
    Ok(())
}

/// Queries need `read`, mutations `write`; 403 names what is missing.
fn authorize(caller: &Caller, kind: Option<OperationType>) -> Result<(), Refusal> {
    let (needs, what) = match kind {
        Some(OperationType::Mutation) => (WRITE, "mutations"),
        _ => (READ, "queries"),
    };
    if caller.has(needs) {
        return Ok(());
    }
    metrics::counter!("ontograph_auth_refused_total", "reason" => "forbidden").increment(1);
    let roles = if caller.roles.is_empty() {
        "no role".to_owned()
    } else {
        format!(
            "roles {}",
            caller.roles.iter().cloned().collect::<Vec<_>>().join(", ")
        )
    };
    Err(Refusal::new(
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
        format!(
            "{what} need the `{needs}` role; `{}` has {roles}",
            caller.subject
        ),
    ))
}
