//! Typed errors of the Neo4j access layer, classified so callers can map them to clear responses.

use std::time::Duration;

use crate::statement::AccessMode;

/// Result alias used throughout this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Neo4j error code of a uniqueness (or other schema constraint) violation.
pub const CONSTRAINT_VIOLATION_CODE: &str = "Neo.ClientError.Schema.ConstraintValidationFailed";

/// Everything that can go wrong between Ontograph and Neo4j.
///
/// Use [`Error::kind`] for a coarse classification (metrics label, HTTP/GraphQL mapping);
/// match on the variants when the details matter.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client configuration is unusable (bad URI, zero pool size, ...).
    #[error("invalid Neo4j configuration: {0}")]
    Config(String),

    /// Neo4j could not be reached or the connection broke (refused, reset, pool closed),
    /// or the server said it cannot serve this request right now (not the leader, read-only).
    #[error("Neo4j is unavailable: {message}")]
    Unavailable {
        /// What failed, for logs.
        message: String,
        /// Neo4j's status code when the server itself refused (e.g. `Neo.ClientError.Cluster.NotALeader`).
        code: Option<String>,
    },

    /// Neo4j rejected the credentials or the user lacks a permission.
    #[error("Neo4j refused access: {message}")]
    Security {
        /// Neo4j's status code, e.g. `Neo.ClientError.Security.Unauthorized` (empty if unknown).
        code: String,
        /// Neo4j's message.
        message: String,
    },

    /// Neo4j rejected the statement: syntax or semantic error, bad parameter type, constraint
    /// violation, arithmetic error... (`Neo.ClientError.*`). The caller's fault, not retryable.
    #[error("Neo4j rejected the statement [{code}]: {message}")]
    Cypher {
        /// Neo4j's status code, e.g. `Neo.ClientError.Statement.SyntaxError`.
        code: String,
        /// Neo4j's message, unchanged.
        message: String,
    },

    /// Neo4j failed while running a valid statement (`Neo.TransientError.*` after neo4rs's own
    /// retries, or `Neo.DatabaseError.*`).
    #[error("Neo4j failed to run the statement [{code}]: {message}")]
    Server {
        /// Neo4j's status code.
        code: String,
        /// Neo4j's message, unchanged.
        message: String,
    },

    /// The statement did not finish within its timeout. For a write the outcome is unknown:
    /// it may still commit (a best-effort `TERMINATE TRANSACTIONS` is sent to stop it).
    #[error("Neo4j {access} statement timed out after {after:?}")]
    Timeout {
        /// The limit that was exceeded.
        after: Duration,
        /// Whether it was a read or a write.
        access: AccessMode,
    },

    /// A statement parameter cannot be sent to Neo4j (e.g. an integer beyond the 64-bit range).
    #[error("invalid parameter `{path}`: {reason}")]
    Parameter {
        /// Where the bad value sits, e.g. `ids[3]`.
        path: String,
        /// Why it cannot be sent.
        reason: String,
    },

    /// A value returned by Neo4j could not be turned into JSON.
    #[error("cannot convert a Neo4j result value: {0}")]
    Conversion(String),

    /// Neo4j (or the driver) answered something this client does not understand.
    #[error("unexpected Neo4j protocol exchange: {0}")]
    Protocol(String),
}

/// Coarse classification of an [`Error`]; its [`ErrorKind::as_str`] is the `kind` metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// See [`Error::Config`].
    Config,
    /// See [`Error::Unavailable`].
    Unavailable,
    /// See [`Error::Security`].
    Security,
    /// See [`Error::Cypher`].
    Cypher,
    /// See [`Error::Server`].
    Server,
    /// See [`Error::Timeout`].
    Timeout,
    /// See [`Error::Parameter`].
    Parameter,
    /// See [`Error::Conversion`].
    Conversion,
    /// See [`Error::Protocol`].
    Protocol,
}

impl ErrorKind {
    /// Stable lower-case name, used as a metric label.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Config => "config",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Security => "security",
            ErrorKind::Cypher => "cypher",
            ErrorKind::Server => "server",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Parameter => "parameter",
            ErrorKind::Conversion => "conversion",
            ErrorKind::Protocol => "protocol",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Error {
    /// The coarse classification of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Config(_) => ErrorKind::Config,
            Error::Unavailable { .. } => ErrorKind::Unavailable,
            Error::Security { .. } => ErrorKind::Security,
            Error::Cypher { .. } => ErrorKind::Cypher,
            Error::Server { .. } => ErrorKind::Server,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::Parameter { .. } => ErrorKind::Parameter,
            Error::Conversion(_) => ErrorKind::Conversion,
            Error::Protocol(_) => ErrorKind::Protocol,
        }
    }

    /// Neo4j's status code, when the server produced this error.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Cypher { code, .. }
            | Error::Server { code, .. }
            | Error::Security { code, .. } => Some(code),
            Error::Unavailable { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// Whether Neo4j refused the statement because it would break a schema constraint.
    pub fn is_constraint_violation(&self) -> bool {
        self.code() == Some(CONSTRAINT_VIOLATION_CODE)
    }

    /// Whether running the same statement again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Unavailable { .. } | Error::Timeout { .. } => true,
            Error::Server { code, .. } => code.starts_with("Neo.TransientError."),
            _ => false,
        }
    }

    /// Classifies a Neo4j status code and message.
    pub(crate) fn from_neo4j_code(code: String, message: String) -> Error {
        let mut parts = code.split('.').skip(1);
        let (class, category) = (parts.next(), parts.next());
        match (class, category) {
            (Some("ClientError"), Some("Security")) => Error::Security { code, message },
            (Some("ClientError"), _) if is_unavailable_code(&code) => Error::Unavailable {
                message,
                code: Some(code),
            },
            (Some("ClientError"), _) => Error::Cypher { code, message },
            // Neo4j reports a transaction stopped by TERMINATE TRANSACTIONS as transient.
            _ => Error::Server { code, message },
        }
    }
}

/// Codes that mean "this server cannot serve you now", not "your statement is wrong".
fn is_unavailable_code(code: &str) -> bool {
    matches!(
        code,
        "Neo.ClientError.Cluster.NotALeader"
            | "Neo.ClientError.General.ForbiddenOnReadOnlyDatabase"
            | "Neo.ClientError.Database.DatabaseNotFound"
            | "Neo.ClientError.Database.DatabaseUnavailable"
    )
}

impl From<neo4rs::Error> for Error {
    fn from(error: neo4rs::Error) -> Self {
        use neo4rs::Error as N;
        match error {
            N::Neo4j(e) => Error::from_neo4j_code(e.code().to_owned(), e.message().to_owned()),
            N::IOError { detail } => Error::Unavailable {
                message: detail.to_string(),
                code: None,
            },
            N::ConnectionError => Error::Unavailable {
                message: "no connection could be obtained from the pool".to_owned(),
                code: None,
            },
            N::AuthenticationError(message) => Error::Security {
                code: String::new(),
                message,
            },
            N::UrlParseError(e) => Error::Config(format!("invalid URI: {e}")),
            N::UnsupportedScheme(s) => Error::Config(format!("unsupported URI scheme `{s}`")),
            N::InvalidDnsName(s) => Error::Config(format!("invalid DNS name `{s}`")),
            N::InvalidConfig => Error::Config("incomplete driver configuration".to_owned()),
            e @ (N::StringTooLong | N::MapTooBig | N::BytesTooBig | N::ListTooLong) => {
                Error::Parameter {
                    path: String::new(),
                    reason: e.to_string(),
                }
            }
            N::UnexpectedMessage(text) => match parse_failure_debug(&text) {
                // neo4rs 0.8 reports a FAILURE that arrives while streaming (PULL) or on COMMIT as
                // an "unexpected message" whose text is the Debug form of the Bolt FAILURE.
                Some((code, message)) => Error::from_neo4j_code(code, message),
                None => Error::Protocol(text),
            },
            N::DeserializationError(e) => Error::Conversion(e.to_string()),
            e @ (N::ConversionError | N::UnknownType(_) | N::InvalidTypeMarker(_)) => {
                Error::Conversion(e.to_string())
            }
            other => Error::Protocol(other.to_string()),
        }
    }
}

/// Recovers Neo4j's `code` and `message` from the Debug text of a Bolt FAILURE.
///
/// neo4rs 0.8 wraps a FAILURE received in reply to PULL or COMMIT into
/// `Error::UnexpectedMessage(format!("unexpected response for PULL: {:?}", response))`; the
/// Debug form contains `BoltString { value: "code" }: String(BoltString { value: "..." })`.
pub(crate) fn parse_failure_debug(text: &str) -> Option<(String, String)> {
    if !text.contains("Failure") {
        return None;
    }
    let code = debug_string_field(text, "code")?;
    let message = debug_string_field(text, "message").unwrap_or_default();
    Some((code, message))
}

/// Finds `BoltString { value: "<key>" }: String(BoltString { value: "<value>" })` and returns the
/// unescaped value.
fn debug_string_field(text: &str, key: &str) -> Option<String> {
    let marker = format!("BoltString {{ value: {key:?} }}: String(BoltString {{ value: \"");
    let start = text.find(&marker)? + marker.len();
    unescape_debug_str(&text[start..])
}

/// Reads a Rust `{:?}`-escaped string body up to its closing quote.
fn unescape_debug_str(body: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                '0' => out.push('\0'),
                '\\' => out.push('\\'),
                '\'' => out.push('\''),
                '"' => out.push('"'),
                'u' => {
                    if chars.next()? != '{' {
                        return None;
                    }
                    let mut hex = String::new();
                    for h in chars.by_ref() {
                        if h == '}' {
                            break;
                        }
                        hex.push(h);
                    }
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                other => {
                    out.push('\\');
                    out.push(other);
                }
            },
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use neo4rs::{BoltMap, BoltString, BoltType};

    fn failure_text(code: &str, message: &str) -> String {
        let mut map = BoltMap::new();
        map.put(BoltString::from("code"), BoltType::from(code));
        map.put(BoltString::from("message"), BoltType::from(message));
        // Same shape neo4rs produces: `unexpected(Ok(Failure(Failure { metadata })), "PULL")`.
        format!("unexpected response for PULL: Ok(Failure(Failure {{ metadata: {map:?} }}))")
    }

    #[test]
    fn recovers_code_and_message_from_a_streamed_failure() {
        let message = "Node(12) already exists with label `Person` and property `handle` = 'a\"b'\nline2 \u{7f}";
        let text = failure_text(CONSTRAINT_VIOLATION_CODE, message);
        let error = Error::from(neo4rs::Error::UnexpectedMessage(text));
        assert_eq!(error.kind(), ErrorKind::Cypher);
        assert!(error.is_constraint_violation());
        match error {
            Error::Cypher { message: m, .. } => assert_eq!(m, message),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn unrelated_unexpected_messages_are_protocol_errors() {
        let error = Error::from(neo4rs::Error::UnexpectedMessage(
            "unexpected response for RESET: Record(..)".into(),
        ));
        assert_eq!(error.kind(), ErrorKind::Protocol);
    }

    #[test]
    fn classifies_status_codes() {
        let kind = |code: &str| Error::from_neo4j_code(code.to_owned(), String::new()).kind();
        assert_eq!(
            kind("Neo.ClientError.Statement.SyntaxError"),
            ErrorKind::Cypher
        );
        assert_eq!(
            kind("Neo.ClientError.Security.Unauthorized"),
            ErrorKind::Security
        );
        assert_eq!(
            kind("Neo.ClientError.Cluster.NotALeader"),
            ErrorKind::Unavailable
        );
        assert_eq!(
            kind("Neo.ClientError.General.ForbiddenOnReadOnlyDatabase"),
            ErrorKind::Unavailable
        );
        assert_eq!(
            kind("Neo.TransientError.Transaction.DeadlockDetected"),
            ErrorKind::Server
        );
        assert_eq!(
            kind("Neo.DatabaseError.General.UnknownError"),
            ErrorKind::Server
        );
        assert!(Error::from_neo4j_code(
            "Neo.TransientError.Transaction.DeadlockDetected".into(),
            String::new()
        )
        .is_retryable());
    }

    #[test]
    fn io_errors_mean_unavailable() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let error = Error::from(neo4rs::Error::IOError { detail: io });
        assert_eq!(error.kind(), ErrorKind::Unavailable);
        assert!(error.is_retryable());
    }
}
