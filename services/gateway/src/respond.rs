//! Turning refusals into responses, in one place: the [`Refusal`] every stage of the GraphQL
//! request path returns, the media type a GraphQL response is written in ([`MediaType`], chosen
//! from `Accept` as the GraphQL-over-HTTP specification says), the `{"error": {code, message}}`
//! body of the admin API and the webhook receiver, and the caller's address ([`Remote`]).

use std::net::SocketAddr;

use async_graphql::ServerError;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Seconds a client is asked to wait after a 503.
pub const RETRY_AFTER_SECONDS: u64 = 5;

/// `application/graphql-response+json`: the specification's media type for GraphQL responses.
pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// The media type of a GraphQL response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    /// `application/graphql-response+json`: request errors get 4xx and carry no `data`.
    GraphQLResponse,
    /// `application/json`, for clients that ask for it, for `*/*` and without `Accept`: every
    /// well-formed GraphQL request gets 200, as the specification prescribes for legacy clients.
    Json,
}

impl MediaType {
    pub fn content_type(self) -> &'static str {
        match self {
            MediaType::GraphQLResponse => "application/graphql-response+json; charset=utf-8",
            MediaType::Json => "application/json",
        }
    }

    /// The media type a client accepts (`Accept`, with q-values): the GraphQL response type when
    /// it names it at least as willingly as `application/json`; `application/json` for `*/*`,
    /// `application/*` and no `Accept`. `Err` when it accepts neither (406).
    pub fn negotiate(headers: &HeaderMap) -> Result<MediaType, Refusal> {
        let accept: Vec<&str> = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if accept.iter().all(|a| a.trim().is_empty()) {
            return Ok(MediaType::Json);
        }
        let (mut graphql, mut json) = (None::<f32>, None::<f32>);
        for range in accept.iter().flat_map(|a| a.split(',')) {
            let mut parts = range.split(';');
            let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let slot = match name.as_str() {
                GRAPHQL_RESPONSE_JSON => &mut graphql,
                "application/json" | "application/*" | "*/*" => &mut json,
                _ => continue,
            };
            *slot = Some(slot.map_or(q, |old| old.max(q)));
        }
        match (graphql.filter(|q| *q > 0.0), json.filter(|q| *q > 0.0)) {
            (Some(g), j) if j.is_none_or(|j| g >= j) => Ok(MediaType::GraphQLResponse),
            (_, Some(_)) => Ok(MediaType::Json),
            _ => Err(Refusal::new(
                StatusCode::NOT_ACCEPTABLE,
                "NOT_ACCEPTABLE",
                format!(
                    "GraphQL responses are {GRAPHQL_RESPONSE_JSON} or application/json; the \
                     Accept header allows neither ({})",
                    accept.join(", ")
                ),
            )),
        }
    }
}

/// Why a request is not answered with data (its parts are in [`Refused`], boxed: a refusal is
/// the error of every stage and stays one pointer wide).
#[derive(Debug, Clone)]
pub struct Refusal(Box<Refused>);

impl std::ops::Deref for Refusal {
    type Target = Refused;
    fn deref(&self) -> &Refused {
        &self.0
    }
}

impl std::ops::DerefMut for Refusal {
    fn deref_mut(&mut self) -> &mut Refused {
        &mut self.0
    }
}

/// The HTTP status, the GraphQL errors and the headers that go with them (`Retry-After`,
/// `WWW-Authenticate`, rate limits...).
#[derive(Debug, Clone)]
pub struct Refused {
    pub status: StatusCode,
    pub errors: Vec<ServerError>,
    pub headers: HeaderMap,
    /// A GraphQL request error (the document does not parse or validate, a variable does not
    /// coerce, a limit is exceeded): `application/json` clients get it with 200, as the
    /// specification prescribes for them; `application/graphql-response+json` ones with
    /// `status`.
    pub request_error: bool,
}

impl Refusal {
    /// One error with a machine-readable `extensions.code`.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Refusal(Box::new(Refused {
            status,
            errors: vec![coded_error(message, code)],
            headers: HeaderMap::new(),
            request_error: false,
        }))
    }

    /// 400 `BAD_REQUEST`: the HTTP request is not a well-formed GraphQL request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Refusal::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
    }

    /// GraphQL request errors (see [`Refusal::request_error`]).
    pub fn request_errors(errors: Vec<ServerError>) -> Self {
        Refusal(Box::new(Refused {
            status: StatusCode::BAD_REQUEST,
            errors,
            headers: HeaderMap::new(),
            request_error: true,
        }))
    }

    /// The same refusal with one more header.
    #[must_use]
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// The status it is sent with in this media type.
    pub fn status_for(&self, media: MediaType) -> StatusCode {
        if self.request_error && media == MediaType::Json {
            StatusCode::OK
        } else {
            self.status
        }
    }

    /// The response: `{"errors": [...]}` (never `data`: nothing was executed).
    pub fn into_response(self, media: MediaType) -> Response {
        let status = self.status_for(media);
        let Refused {
            errors, headers, ..
        } = *self.0;
        let body = match serde_json::to_vec(&json!({ "errors": errors })) {
            Ok(body) => Bytes::from(body),
            Err(e) => {
                tracing::error!(error = %e, "error serialization failed");
                Bytes::from_static(br#"{"errors":[{"message":"internal error"}]}"#)
            }
        };
        let mut response = graphql_body(status, media, body);
        response.headers_mut().extend(headers);
        response
    }
}

/// A GraphQL response body with its status and content type.
pub fn graphql_body(status: StatusCode, media: MediaType, body: Bytes) -> Response {
    (status, [(header::CONTENT_TYPE, media.content_type())], body).into_response()
}

/// A GraphQL error with a machine-readable `extensions.code` and no `locations` (it is about
/// the request as a whole, not a place in the document).
pub fn coded_error(message: impl Into<String>, code: &str) -> ServerError {
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", code);
    let mut error = ServerError::new(message, None);
    error.extensions = Some(extensions);
    error
}

/// `{"error": {"code", "message"}}` with a status: the admin API's and the webhook receiver's
/// errors. A 503 asks the client to retry after [`RETRY_AFTER_SECONDS`].
pub fn api_error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = json!({ "error": { "code": code, "message": message.into() } });
    let mut response = (status, axum::Json(body)).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    }
    response
}

/// The body as JSON, or 400 `NOT_JSON` saying why not.
pub fn json_body(body: &[u8]) -> Result<serde_json::Value, Box<Response>> {
    serde_json::from_slice(body).map_err(|e| {
        Box::new(api_error(
            StatusCode::BAD_REQUEST,
            "NOT_JSON",
            format!("the body is not JSON: {e}"),
        ))
    })
}

/// `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`, and `Retry-After` on refusals.
pub fn rate_headers(headers: &mut HeaderMap, decision: &crate::ratelimit::Decision) {
    for (name, value) in decision.headers() {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    }
}

/// The client's address (from the listener's connect info, when the server provides it).
pub struct Remote(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for Remote {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Remote(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> Result<MediaType, StatusCode> {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT,
            HeaderValue::from_str(value).expect("header"),
        );
        MediaType::negotiate(&h).map_err(|r| r.status)
    }

    #[test]
    fn accept_chooses_the_media_type() {
        assert_eq!(
            MediaType::negotiate(&HeaderMap::new()).ok(),
            Some(MediaType::Json)
        );
        assert_eq!(accept("*/*"), Ok(MediaType::Json));
        assert_eq!(accept("application/json"), Ok(MediaType::Json));
        assert_eq!(
            accept("application/graphql-response+json"),
            Ok(MediaType::GraphQLResponse)
        );
        assert_eq!(
            accept("application/graphql-response+json, application/json;q=0.9"),
            Ok(MediaType::GraphQLResponse)
        );
        assert_eq!(
            accept("application/graphql-response+json;q=0.5, application/json"),
            Ok(MediaType::Json)
        );
        assert_eq!(
            accept("text/html,application/xhtml+xml,*/*;q=0.8"),
            Ok(MediaType::Json)
        );
        assert_eq!(accept("text/html"), Err(StatusCode::NOT_ACCEPTABLE));
        assert_eq!(
            accept("application/json;q=0"),
            Err(StatusCode::NOT_ACCEPTABLE)
        );
    }

    #[test]
    fn request_errors_are_200_only_for_legacy_clients() {
        let r = Refusal::request_errors(vec![coded_error("bad", "X")]);
        assert_eq!(r.status_for(MediaType::Json), StatusCode::OK);
        assert_eq!(
            r.status_for(MediaType::GraphQLResponse),
            StatusCode::BAD_REQUEST
        );
        let r = Refusal::new(StatusCode::FORBIDDEN, "FORBIDDEN", "no");
        assert_eq!(r.status_for(MediaType::Json), StatusCode::FORBIDDEN);
    }
}
