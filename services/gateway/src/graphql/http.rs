//! GraphQL over HTTP, as the specification's current draft has it: a request's parameters from a
//! POST body (`application/json` only: anything else is 415) or a GET query string, each checked
//! for its type (`query` and `operationName` strings, `variables` and `extensions` objects,
//! `null` as if absent; anything else is 400), and the headers Ontograph adds to the protocol.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{header, HeaderMap, StatusCode};
use serde_json::{Map, Value};

use crate::respond::Refusal;

/// Request header naming the read consistency (`eventual`, `session`, `strong`).
pub const CONSISTENCY_HEADER: &str = "ontograph-consistency";
/// Request header presenting a bookmark; response header carrying a mutation's bookmark.
pub const BOOKMARK_HEADER: &str = "ontograph-bookmark";
/// Response header saying where the response came from: `HIT-L1`, `HIT-L2`, `MISS` or `BYPASS`.
pub const CACHE_HEADER: &str = "ontograph-cache";
/// Response header with the cached entry's age in milliseconds (`Age` has it in seconds).
pub const CACHE_AGE_HEADER: &str = "ontograph-cache-age-ms";

/// The parameters of a POST: the body must be a JSON object sent as `application/json`
/// (UTF-8; a `charset` parameter, when given, must say so).
pub fn from_post(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    max_body_bytes: usize,
) -> Result<async_graphql::Request, Refusal> {
    check_content_type(headers)?;
    let body = body.map_err(|rejection| {
        let status = rejection.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            format!("request body too large: the limit is {max_body_bytes} bytes")
        } else {
            format!("could not read the request body: {rejection}")
        };
        Refusal::new(status, "BAD_REQUEST", message)
    })?;
    let value: Value = serde_json::from_slice(&body).map_err(|e| {
        Refusal::bad_request(format!(
            "the body must be JSON {{\"query\", \"variables\", \"operationName\", \"extensions\"}}: {e}"
        ))
    })?;
    match value {
        Value::Object(map) => params(map),
        other => Err(Refusal::bad_request(format!(
            "the body must be a JSON object {{\"query\", \"variables\", \"operationName\", \"extensions\"}}, not {}",
            kind(&other)
        ))),
    }
}

/// The parameters of a GET: `query`, `operationName`, and `variables` and `extensions` as JSON
/// text, URL-encoded.
pub fn from_query_string(text: &str) -> Result<async_graphql::Request, Refusal> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(text)
        .map_err(|e| Refusal::bad_request(format!("bad query string: {e}")))?;
    let mut map = Map::new();
    for (name, value) in pairs {
        let value = match name.as_str() {
            "variables" | "extensions" => serde_json::from_str(&value).map_err(|e| {
                Refusal::bad_request(format!("`{name}` must be a JSON object: {e}"))
            })?,
            _ => Value::String(value),
        };
        map.insert(name, value);
    }
    params(map)
}

/// `application/json` (any charset parameter must be UTF-8); 415 otherwise.
fn check_content_type(headers: &HeaderMap) -> Result<(), Refusal> {
    let unsupported = |what: String| {
        Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            format!("a GraphQL POST must be sent as application/json, not {what}"),
        )
    };
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(unsupported("without a Content-Type".to_owned()));
    };
    let text = value.to_str().unwrap_or("").trim();
    let mut parts = text.split(';');
    let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    if essence != "application/json" {
        return Err(unsupported(format!("`{text}`")));
    }
    for parameter in parts {
        if let Some((name, value)) = parameter.split_once('=') {
            let value = value.trim().trim_matches('"').to_ascii_lowercase();
            if name.trim().eq_ignore_ascii_case("charset") && value != "utf-8" && value != "utf8" {
                return Err(unsupported(format!("charset {value} (only UTF-8)")));
            }
        }
    }
    Ok(())
}

/// The request from its parameters, each of the type the specification gives it.
fn params(mut map: Map<String, Value>) -> Result<async_graphql::Request, Refusal> {
    let wrong = |name: &str, expected: &str, got: &Value| {
        Refusal::bad_request(format!("`{name}` must be {expected}, not {}", kind(got)))
    };
    let query = match map.remove("query") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(q)) => q,
        Some(other) => return Err(wrong("query", "a string", &other)),
    };
    let operation_name = match map.remove("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name),
        Some(other) => return Err(wrong("operationName", "a string", &other)),
    };
    let variables = match map.remove("variables") {
        None | Some(Value::Null) => async_graphql::Variables::default(),
        Some(v @ Value::Object(_)) => serde_json::from_value(v)
            .map_err(|e| Refusal::bad_request(format!("`variables`: {e}")))?,
        Some(other) => return Err(wrong("variables", "an object", &other)),
    };
    let extensions = match map.remove("extensions") {
        None | Some(Value::Null) => Default::default(),
        Some(v @ Value::Object(_)) => serde_json::from_value(v)
            .map_err(|e| Refusal::bad_request(format!("`extensions`: {e}")))?,
        Some(other) => return Err(wrong("extensions", "an object", &other)),
    };
    let mut request = async_graphql::Request::new(query).variables(variables);
    request.operation_name = operation_name;
    request.extensions = extensions;
    Ok(request)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn json_headers(content_type: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(content_type).expect("header"),
        );
        h
    }

    fn post(content_type: &str, body: &str) -> Result<async_graphql::Request, StatusCode> {
        from_post(
            &json_headers(content_type),
            Ok(Bytes::from(body.to_owned())),
            1024,
        )
        .map_err(|r| r.status)
    }

    #[test]
    fn a_post_is_json_with_parameters_of_their_types() {
        let r = post(
            "application/json; charset=utf-8",
            r#"{"query": "{ a }", "operationName": null, "variables": {"x": 1}, "extensions": null}"#,
        )
        .expect("valid");
        assert_eq!(r.query, "{ a }");
        assert_eq!(r.operation_name, None);
        assert_eq!(
            post("text/plain", r#"{"query": "{ a }"}"#).err(),
            Some(StatusCode::UNSUPPORTED_MEDIA_TYPE)
        );
        assert_eq!(
            post("application/json; charset=latin1", r#"{"query": "{ a }"}"#).err(),
            Some(StatusCode::UNSUPPORTED_MEDIA_TYPE)
        );
        let missing = from_post(&HeaderMap::new(), Ok(Bytes::from_static(b"{}")), 10);
        assert_eq!(
            missing.err().map(|r| r.status),
            Some(StatusCode::UNSUPPORTED_MEDIA_TYPE)
        );
        for bad in [
            r#"{"query": {}}"#,
            r#"{"query": 0}"#,
            r#"{"query": "{ a }", "variables": "x"}"#,
            r#"{"query": "{ a }", "variables": []}"#,
            r#"{"query": "{ a }", "operationName": false}"#,
            r#"{"query": "{ a }", "extensions": 0}"#,
            r#"["query"]"#,
            "",
            r#"{ "not a JSON"#,
        ] {
            assert_eq!(
                post("application/json", bad).err(),
                Some(StatusCode::BAD_REQUEST),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_get_carries_json_variables_and_extensions() {
        let r = from_query_string("query=query%20Q(%24n%3A%20String)%20%7B%20a%20%7D&variables=%7B%22n%22%3A%22x%22%7D&operationName=Q")
            .expect("valid");
        assert_eq!(r.operation_name.as_deref(), Some("Q"));
        assert!(r.variables.iter().any(|(k, _)| k.as_str() == "n"));
        assert_eq!(
            from_query_string("query=%7Ba%7D&variables=nope")
                .err()
                .map(|r| r.status),
            Some(StatusCode::BAD_REQUEST)
        );
        assert_eq!(
            from_query_string("query=%7Ba%7D&variables=%5B%5D")
                .err()
                .map(|r| r.status),
            Some(StatusCode::BAD_REQUEST)
        );
    }
}
