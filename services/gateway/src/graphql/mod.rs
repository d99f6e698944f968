//! `/graphql`: POST (JSON) and GET (queries), the GraphiQL IDE for browsers, and the generated
//! SDL at `/graphql/schema.graphql`. GraphQL over HTTP as the specification's current draft has
//! it ([`http`]; media types and status codes in [`crate::respond::MediaType`]).
//!
//! A request moves through named stages, each of which may refuse with one
//! [`Refusal`](crate::respond::Refusal), turned into a response in one place ([`serve`]):
//!
//! ```text
//! admission (credentials, persisted query) → document (parsed once, memoized) → admission
//! (budget, role, method, introspection) → cache → execute → render
//! ```
//!
//! Consistency: a request may ask for `eventual`, `session` or `strong` reads with the
//! `Ontograph-Consistency` header or the `consistency` request extension, and present the
//! bookmark of its last write with `Ontograph-Bookmark` or the `bookmark` extension. Every
//! mutation response carries its bookmark in the `Ontograph-Bookmark` header and in
//! `extensions.bookmark`.

pub mod admission;
pub mod cache;
pub mod document;
pub mod execute;
pub mod http;
mod ide;

use std::sync::Arc;
use std::time::Duration;

use async_graphql::parser::types::OperationType;
use async_graphql::Variables;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use graph::{Consistency, ConsistencyLevel};

use crate::access::Caller;
use crate::ratelimit::Decision;
use crate::respond::{graphql_body, rate_headers, MediaType, Refusal, Remote};
use crate::state::AppState;
use document::Prepared;
use execute::Outcome;
pub use http::{BOOKMARK_HEADER, CACHE_AGE_HEADER, CACHE_HEADER, CONSISTENCY_HEADER};

/// The routes of the GraphQL API (CORS on the API itself when origins are configured). Other
/// methods than GET and POST on `/graphql` get 405 with `Allow`.
pub fn routes(cors_origins: &[String]) -> Router<AppState> {
    let mut api = Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/graphql/schema.graphql", get(sdl));
    if let Some(cors) = cors_layer(cors_origins) {
        api = api.layer(cors);
    }
    api.route("/graphql/ide/{file}", get(ide::ide_asset))
}

/// CORS for the API: the configured origins, the headers clients send (credentials, consistency,
/// bookmarks) and those they may read (bookmarks, cache status, rate limits). No cookies: the
/// API authenticates with headers, so `Access-Control-Allow-Credentials` is never sent.
fn cors_layer(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use tower_http::cors::{AllowOrigin, CorsLayer};
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    let name = HeaderName::from_static;
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
            .allow_headers([
                header::CONTENT_TYPE,
                header::AUTHORIZATION,
                name("x-api-key"),
                name(CONSISTENCY_HEADER),
                name(BOOKMARK_HEADER),
            ])
            .expose_headers([
                name(BOOKMARK_HEADER),
                name(CACHE_HEADER),
                header::AGE,
                header::RETRY_AFTER,
                name("ratelimit-limit"),
                name("ratelimit-remaining"),
                name("ratelimit-reset"),
            ])
            .max_age(Duration::from_secs(600)),
    )
}

async fn graphql_post(
    State(state): State<AppState>,
    Remote(remote): Remote,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let media = match MediaType::negotiate(&headers) {
        Ok(media) => media,
        Err(refusal) => return refusal.into_response(MediaType::Json),
    };
    match http::from_post(&headers, body, state.limits.max_body_bytes) {
        Ok(request) => serve(&state, request, false, &headers, remote.as_deref(), media).await,
        Err(refusal) => refusal.into_response(media),
    }
}

async fn graphql_get(
    State(state): State<AppState>,
    Remote(remote): Remote,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    if query.is_empty() {
        let wants_html = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"));
        if wants_html {
            return Html(ide::graphiql(&ide::example_query(&state.engine.ontology())))
                .into_response();
        }
    }
    let media = match MediaType::negotiate(&headers) {
        Ok(media) => media,
        Err(refusal) => return refusal.into_response(MediaType::Json),
    };
    if query.is_empty() {
        return Refusal::bad_request("GET /graphql needs a `query` parameter").into_response(media);
    }
    match http::from_query_string(&query) {
        Ok(request) => serve(&state, request, true, &headers, remote.as_deref(), media).await,
        Err(refusal) => refusal.into_response(media),
    }
}

/// What a request is answered with, besides its body: rate-limit and cache headers.
#[derive(Default)]
struct ReplyHeaders {
    rate: Option<Decision>,
    /// `Ontograph-Cache` and the entry's age (`None`: the cache is off).
    cache: Option<(&'static str, Option<Duration>)>,
}

/// The answer of a request that was not refused.
enum Answer {
    Executed(Outcome),
    /// A stored response body, as it was.
    Cached(Bytes),
}

/// Runs the stages and renders their answer or refusal: the one place a request's response is
/// made.
async fn serve(
    state: &AppState,
    request: async_graphql::Request,
    via_get: bool,
    headers: &HeaderMap,
    remote: Option<&str>,
    media: MediaType,
) -> Response {
    state
        .counters
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut reply = ReplyHeaders::default();
    let mut response = match stages(state, request, via_get, headers, remote, &mut reply).await {
        Ok(Answer::Executed(outcome)) => {
            let mut response = graphql_body(StatusCode::OK, media, outcome.body);
            if let Some(value) = outcome
                .bookmark
                .and_then(|b| HeaderValue::from_str(&b).ok())
            {
                response
                    .headers_mut()
                    .insert(HeaderName::from_static(BOOKMARK_HEADER), value);
            }
            response
        }
        Ok(Answer::Cached(body)) => graphql_body(StatusCode::OK, media, body),
        Err(refusal) => refusal.into_response(media),
    };
    let out = response.headers_mut();
    if let Some(decision) = &reply.rate {
        rate_headers(out, decision);
    }
    if let Some((status, age)) = reply.cache {
        out.insert(
            HeaderName::from_static(CACHE_HEADER),
            HeaderValue::from_static(status),
        );
        if let Some(age) = age {
            out.insert(header::AGE, HeaderValue::from(age.as_secs()));
            out.insert(
                HeaderName::from_static(CACHE_AGE_HEADER),
                HeaderValue::from(age.as_millis() as u64),
            );
        }
    }
    response
}

/// admission → document → admission → cache → execute.
async fn stages(
    state: &AppState,
    mut request: async_graphql::Request,
    via_get: bool,
    headers: &HeaderMap,
    remote: Option<&str>,
    reply: &mut ReplyHeaders,
) -> Result<Answer, Refusal> {
    let caller = admission::authenticate(&state.access, headers).await?;
    state.persisted.resolve(&mut request).await?;
    if request.query.trim().is_empty() {
        return Err(Refusal::bad_request(
            "a GraphQL request needs a `query` (or the hash of a persisted query)",
        ));
    }
    let document = state
        .documents
        .prepare(&request.query, request.operation_name.as_deref());
    // A document that does not parse still spends (as a read) before its error is answered.
    let kind = document.as_ref().ok().and_then(|p| p.kind);
    reply.rate = admission::spend(&state.limiter, kind, &caller, remote).await?;
    let prepared = document?;
    admission::admit(&prepared, &caller, via_get, state.introspection)?;
    let consistency =
        execute::consistency_of(&request.extensions, headers, state.default_consistency)?;
    cached(
        state,
        &prepared,
        &request.variables,
        &consistency,
        &caller,
        reply,
    )
    .await
}

/// The cache stage: a stored answer when there is one this request may have, else the execute
/// stage (its result stored when it may be shared).
async fn cached(
    state: &AppState,
    prepared: &Arc<Prepared>,
    variables: &Variables,
    consistency: &Consistency,
    caller: &Caller,
    reply: &mut ReplyHeaders,
) -> Result<Answer, Refusal> {
    let execute = || async {
        execute::run(state, prepared, variables, consistency, caller)
            .await
            .map(Answer::Executed)
    };
    let Some(rc) = state.cache.clone() else {
        return execute().await;
    };
    let mut bypass = || {
        state
            .counters
            .cache_bypass
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        metrics::counter!("ontograph_cache_lookups_total", "result" => "bypass").increment(1);
        reply.cache = Some(("BYPASS", None));
    };
    if prepared.kind != Some(OperationType::Query)
        || consistency.level == ConsistencyLevel::Strong
        || prepared.ttl.is_some_and(|t| t.is_zero())
        || (prepared.ttl.is_none() && rc.policy.default_ttl.is_none())
    {
        bypass();
        return execute().await;
    }
    let key = rc.key(
        &state.engine.ontology(),
        prepared,
        variables,
        consistency.level,
        &caller.scope(),
    );
    let bookmark = consistency.bookmark.clone();
    let accept = move |e: &::cache::Entry| cache::covers(bookmark.as_deref(), &e.version);
    // What this request computed itself, when it is not to be shared (errors, policy).
    let own: std::sync::Mutex<Option<Result<Outcome, Refusal>>> = std::sync::Mutex::new(None);
    let compute = || async {
        let result = execute::run(state, prepared, variables, consistency, caller).await;
        let ttl = match &result {
            Ok(outcome) if outcome.cacheable => rc.ttl_for(prepared, &outcome.tags),
            _ => None,
        };
        match (ttl, result) {
            (Some(ttl), Ok(outcome)) => Ok((
                ::cache::Entry::new(
                    outcome.body,
                    outcome.tags,
                    outcome.observed.unwrap_or_default(),
                ),
                Some(ttl),
            )),
            (_, result) => {
                *own.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(result);
                Err(::cache::ComputeError("not cached".to_owned()))
            }
        }
    };
    match rc.cache.get_or_compute(&key, &accept, compute).await {
        Ok((entry, level)) => {
            reply.cache = Some((level.as_str(), Some(entry.age())));
            Ok(Answer::Cached(entry.body.clone()))
        }
        Err(_) => {
            bypass();
            let mine = own
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            match mine {
                Some(result) => result.map(Answer::Executed),
                // Another request's uncacheable result: run this one on its own.
                None => execute().await,
            }
        }
    }
}

async fn sdl(State(state): State<AppState>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/graphql; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"schema.graphql\"",
            ),
        ],
        state.sdl.as_str().to_owned(),
    )
}
