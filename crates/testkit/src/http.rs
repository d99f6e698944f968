//! Requests to an in-process `axum::Router`, and their replies read whole.

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::{json, Value};
use tower::ServiceExt as _;

/// A reply, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body as JSON (`null` when it is not JSON; see `text`).
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `data` of a GraphQL reply, asserting a 200 without errors.
    pub fn data(&self) -> Value {
        assert_eq!(self.status, StatusCode::OK, "{}", self.text);
        assert!(
            self.body.get("errors").is_none(),
            "unexpected errors: {}",
            self.text
        );
        self.body["data"].clone()
    }

    /// `extensions.code` of the first GraphQL error.
    pub fn code(&self) -> &str {
        self.body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or("")
    }

    /// `message` of the first GraphQL error.
    pub fn message(&self) -> &str {
        self.body["errors"][0]["message"].as_str().unwrap_or("")
    }
}

/// A request with these headers and, when given, a JSON body.
pub fn request(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Request<Body> {
    let mut r = Request::builder().method(method).uri(path);
    if body.is_some() {
        r = r.header(header::CONTENT_TYPE, "application/json");
    }
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .expect("request")
}

/// Sends a request and reads the reply whole.
pub async fn send(app: &axum::Router, req: Request<Body>) -> Reply {
    let resp = app.clone().oneshot(req).await.expect("response");
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    Reply {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// [`request`] then [`send`].
pub async fn call(
    app: &axum::Router,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Reply {
    send(app, request(method, path, headers, body)).await
}

/// A GraphQL query to `/graphql` (POST), with variables and headers.
pub async fn graphql(
    app: &axum::Router,
    query: &str,
    variables: Value,
    headers: &[(&str, &str)],
) -> Reply {
    let body = json!({ "query": query, "variables": variables });
    call(app, "POST", "/graphql", headers, Some(&body)).await
}

/// A POST of this JSON body to `/graphql`, with headers.
pub async fn post(app: &axum::Router, body: Value, headers: &[(&str, &str)]) -> Reply {
    call(app, "POST", "/graphql", headers, Some(&body)).await
}

/// Percent-encodes everything but RFC 3986's unreserved characters (for query strings).
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
