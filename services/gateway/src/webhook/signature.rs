//! Webhook signature verification for the event-ingestion receiver (`POST /ingest/{source}`).
//!
//! Two schemes are supported:
//!
//! - [`Scheme::GitHub`]: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, raw body)>`.
//! - [`Scheme::Hmac`]: a Stripe-like scheme with replay protection. One header holds the
//!   Unix time in seconds, another `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`,
//!   and the timestamp must lie within a tolerance of the receiver's clock.
//!
//! This module is pure logic: no I/O, no async. The caller adapts its header map to a
//! case-insensitive lookup closure and passes the raw, unparsed request body.
//!
//! MACs are compared in constant time ([`Mac::verify_slice`]). Errors never contain the
//! secret or the expected signature.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The header GitHub puts its SHA-256 signature in.
const GITHUB_SIGNATURE_HEADER: &str = "X-Hub-Signature-256";
/// The prefix every signature header value must carry.
const SHA256_PREFIX: &str = "sha256=";
/// Length in bytes of an HMAC-SHA256 tag.
const TAG_LEN: usize = 32;

/// How a webhook sender signs its requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    /// GitHub-compatible: header `X-Hub-Signature-256: sha256=<lowercase hex HMAC-SHA256(secret, raw body)>`.
    GitHub,
    /// Generic HMAC with replay protection: header `timestamp_header` holds Unix seconds; header
    /// `signature_header` holds `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`
    /// (Stripe-like); the timestamp must be within `tolerance` of now, in either direction.
    Hmac {
        /// Name of the header carrying `sha256=<hex>`.
        signature_header: String,
        /// Name of the header carrying the Unix time in seconds at which the request was signed.
        timestamp_header: String,
        /// How far (past or future) the timestamp may be from the receiver's clock.
        tolerance: Duration,
    },
}

impl Scheme {
    /// The [`Scheme::Hmac`] defaults: headers `X-Ontograph-Signature` and
    /// `X-Ontograph-Timestamp`, tolerance 300 s.
    pub fn hmac_default() -> Self {
        Scheme::Hmac {
            signature_header: "X-Ontograph-Signature".to_owned(),
            timestamp_header: "X-Ontograph-Timestamp".to_owned(),
            tolerance: Duration::from_secs(300),
        }
    }
}

/// Why a webhook request was rejected (or a [`Verifier`] could not be built).
///
/// Messages name the header and the problem; they never contain the secret or the expected
/// signature.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    /// A required header is absent; holds the header name.
    #[error("missing {0} header")]
    MissingHeader(String),
    /// A header is present but cannot be parsed.
    #[error("malformed {header} header: {reason}")]
    Malformed {
        /// The header's name.
        header: String,
        /// What is wrong with its value.
        reason: String,
    },
    /// The signature is well-formed but was not made with this secret over this body
    /// (and, for [`Scheme::Hmac`], this timestamp).
    #[error("the signature does not match the body")]
    Mismatch,
    /// The signature is valid but the timestamp is outside the tolerance window.
    #[error(
        "the timestamp is {} s away from now ({}); the tolerance is {} s (replayed or clock skew?)",
        .age_seconds.unsigned_abs(),
        direction(*.age_seconds),
        .tolerance_seconds
    )]
    Stale {
        /// Now minus the timestamp, in seconds: positive when the timestamp is in the past,
        /// negative when it is in the future.
        age_seconds: i64,
        /// The configured tolerance, in whole seconds.
        tolerance_seconds: u64,
    },
    /// The configured secret is empty, which would make every signature forgeable.
    #[error("the webhook secret is empty; configure a non-empty secret")]
    EmptySecret,
}

fn direction(age_seconds: i64) -> &'static str {
    if age_seconds < 0 {
        "in the future"
    } else {
        "in the past"
    }
}

/// Verifies (and, for senders and tests, produces) webhook signatures for one source.
///
/// Holds the scheme and the HMAC state keyed with the secret; its `Debug` output redacts the
/// secret.
#[derive(Clone)]
pub struct Verifier {
    scheme: Scheme,
    /// HMAC-SHA256 keyed with the secret, cloned for every message.
    keyed: HmacSha256,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("scheme", &self.scheme)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl Verifier {
    /// A verifier for `scheme` with the shared `secret`; an empty secret is rejected with
    /// [`SignatureError::EmptySecret`].
    pub fn new(scheme: Scheme, secret: impl Into<Vec<u8>>) -> Result<Self, SignatureError> {
        let secret = secret.into();
        if secret.is_empty() {
            return Err(SignatureError::EmptySecret);
        }
        // HMAC accepts keys of any length, so this cannot fail for a non-empty secret; the
        // only rejection this API has for a key is the empty one.
        let keyed = <HmacSha256 as Mac>::new_from_slice(&secret)
            .map_err(|_| SignatureError::EmptySecret)?;
        Ok(Verifier { scheme, keyed })
    }

    /// The scheme this verifier checks.
    pub fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    /// Checks the signature of a request whose raw body is `body`, received at `now`.
    ///
    /// `header(name)` looks a header up case-insensitively (the caller adapts its header map).
    /// For [`Scheme::Hmac`] the MAC is checked before the timestamp window, so a request
    /// without a valid MAC learns nothing about the window.
    pub fn verify(
        &self,
        header: &dyn Fn(&str) -> Option<String>,
        body: &[u8],
        now: SystemTime,
    ) -> Result<(), SignatureError> {
        match &self.scheme {
            Scheme::GitHub => {
                let value = required(header, GITHUB_SIGNATURE_HEADER)?;
                let tag = parse_signature(GITHUB_SIGNATURE_HEADER, &value)?;
                let mut mac = self.keyed.clone();
                mac.update(body);
                mac.verify_slice(&tag).map_err(|_| SignatureError::Mismatch)
            }
            Scheme::Hmac {
                signature_header,
                timestamp_header,
                tolerance,
            } => {
                let value = required(header, signature_header)?;
                let timestamp = required(header, timestamp_header)?;
                let tag = parse_signature(signature_header, &value)?;
                let timestamp = timestamp.trim();
                let signed_at = parse_timestamp(timestamp_header, timestamp)?;

                let mut mac = self.keyed.clone();
                mac.update(timestamp.as_bytes());
                mac.update(b".");
                mac.update(body);
                mac.verify_slice(&tag)
                    .map_err(|_| SignatureError::Mismatch)?;

                let age_seconds = unix_seconds(now).saturating_sub(signed_at);
                let tolerance_seconds = tolerance.as_secs();
                if age_seconds.unsigned_abs() > tolerance_seconds {
                    return Err(SignatureError::Stale {
                        age_seconds,
                        tolerance_seconds,
                    });
                }
                Ok(())
            }
        }
    }

    /// Produces the header(s) a sender must set for `body` sent at `now`, as
    /// `(header name, value)` pairs (used by tests, the bench and docs).
    ///
    /// For [`Scheme::Hmac`] the timestamp header comes first, then the signature header; a
    /// `now` before the Unix epoch is signed as timestamp 0.
    pub fn sign(&self, body: &[u8], now: SystemTime) -> Vec<(String, String)> {
        match &self.scheme {
            Scheme::GitHub => {
                let mut mac = self.keyed.clone();
                mac.update(body);
                vec![(GITHUB_SIGNATURE_HEADER.to_owned(), format_tag(mac))]
            }
            Scheme::Hmac {
                signature_header,
                timestamp_header,
                ..
            } => {
                let timestamp = unix_seconds(now).max(0).to_string();
                let mut mac = self.keyed.clone();
                mac.update(timestamp.as_bytes());
                mac.update(b".");
                mac.update(body);
                vec![
                    (timestamp_header.clone(), timestamp),
                    (signature_header.clone(), format_tag(mac)),
                ]
            }
        }
    }
}

fn required(header: &dyn Fn(&str) -> Option<String>, name: &str) -> Result<String, SignatureError> {
    header(name).ok_or_else(|| SignatureError::MissingHeader(name.to_owned()))
}

fn malformed(header: &str, reason: impl Into<String>) -> SignatureError {
    SignatureError::Malformed {
        header: header.to_owned(),
        reason: reason.into(),
    }
}

/// Parses `sha256=<64 hex digits>` (either case) into the raw tag.
fn parse_signature(header: &str, value: &str) -> Result<Vec<u8>, SignatureError> {
    let digest = value
        .trim()
        .strip_prefix(SHA256_PREFIX)
        .ok_or_else(|| malformed(header, "expected the form sha256=<hex digest>"))?;
    let tag = hex::decode(digest)
        .map_err(|e| malformed(header, format!("the digest is not valid hex ({e})")))?;
    if tag.len() != TAG_LEN {
        return Err(malformed(
            header,
            format!(
                "expected {} hex digits after sha256=, found {}",
                TAG_LEN * 2,
                digest.len()
            ),
        ));
    }
    Ok(tag)
}

/// Parses a Unix time in whole seconds: ASCII digits only.
fn parse_timestamp(header: &str, value: &str) -> Result<i64, SignatureError> {
    let reason = "expected Unix time in whole seconds";
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed(header, reason));
    }
    value.parse::<i64>().map_err(|_| malformed(header, reason))
}

fn format_tag(mac: HmacSha256) -> String {
    format!(
        "{SHA256_PREFIX}{}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// `now` as Unix seconds, negative before the epoch, saturating at the `i64` range.
fn unix_seconds(now: SystemTime) -> i64 {
    match now.duration_since(UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const SECRET: &str = "It's a Secret to Everybody";
    const BODY: &[u8] = b"Hello, World!";

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    /// A case-insensitive header map built from `(name, value)` pairs.
    struct Headers(HashMap<String, String>);

    impl Headers {
        fn new<K: AsRef<str>, V: AsRef<str>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
            Headers(
                pairs
                    .into_iter()
                    .map(|(k, v)| (k.as_ref().to_ascii_lowercase(), v.as_ref().to_owned()))
                    .collect(),
            )
        }

        fn lookup(&self) -> impl Fn(&str) -> Option<String> + '_ {
            move |name| self.0.get(&name.to_ascii_lowercase()).cloned()
        }

        fn set(&mut self, name: &str, value: &str) {
            self.0.insert(name.to_ascii_lowercase(), value.to_owned());
        }

        fn remove(&mut self, name: &str) {
            self.0.remove(&name.to_ascii_lowercase());
        }
    }

    fn github() -> Verifier {
        Verifier::new(Scheme::GitHub, SECRET).expect("non-empty secret")
    }

    fn hmac() -> Verifier {
        Verifier::new(Scheme::hmac_default(), SECRET).expect("non-empty secret")
    }

    fn direct_hex(secret: &[u8], message: &[u8]) -> String {
        let mut mac = HmacSha256::new_from_slice(secret).expect("any key length");
        mac.update(message);
        hex::encode(mac.finalize().into_bytes())
    }

    const NOW: u64 = 1_700_000_000;

    #[test]
    fn github_known_answer() {
        let expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(
            format!("sha256={}", direct_hex(SECRET.as_bytes(), BODY)),
            expected
        );
        assert_eq!(
            github().sign(BODY, at(NOW)),
            vec![("X-Hub-Signature-256".to_owned(), expected.to_owned())]
        );
        let headers = Headers::new([("x-hub-signature-256", expected)]);
        assert_eq!(github().verify(&headers.lookup(), BODY, at(NOW)), Ok(()));
    }

    #[test]
    fn github_accepts_uppercase_hex_and_any_header_case() {
        let value = format!(
            "sha256={}",
            direct_hex(SECRET.as_bytes(), BODY).to_uppercase()
        );
        let headers = Headers::new([("X-HUB-SIGNATURE-256", value)]);
        assert_eq!(github().verify(&headers.lookup(), BODY, at(NOW)), Ok(()));
    }

    #[test]
    fn github_invalid_signature() {
        let wrong = format!("sha256={}", direct_hex(b"another secret", BODY));
        let headers = Headers::new([("X-Hub-Signature-256", wrong)]);
        assert_eq!(
            github().verify(&headers.lookup(), BODY, at(NOW)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn github_body_altered_after_signing() {
        let headers = Headers::new(github().sign(BODY, at(NOW)));
        assert_eq!(
            github().verify(&headers.lookup(), b"Hello, World?", at(NOW)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn github_missing_header() {
        let headers = Headers::new(Vec::<(String, String)>::new());
        let err = github()
            .verify(&headers.lookup(), BODY, at(NOW))
            .expect_err("no header");
        assert_eq!(
            err,
            SignatureError::MissingHeader("X-Hub-Signature-256".to_owned())
        );
        assert_eq!(err.to_string(), "missing X-Hub-Signature-256 header");
    }

    #[test]
    fn github_malformed_without_prefix() {
        let headers = Headers::new([("X-Hub-Signature-256", direct_hex(SECRET.as_bytes(), BODY))]);
        let err = github()
            .verify(&headers.lookup(), BODY, at(NOW))
            .expect_err("no prefix");
        assert!(
            matches!(&err, SignatureError::Malformed { header, .. } if header == "X-Hub-Signature-256"),
            "{err:?}"
        );
        assert!(err
            .to_string()
            .starts_with("malformed X-Hub-Signature-256 header: "));
    }

    #[test]
    fn github_malformed_bad_hex() {
        let bad = format!("sha256={}", "zz".repeat(32));
        let headers = Headers::new([("X-Hub-Signature-256", bad)]);
        assert!(matches!(
            github().verify(&headers.lookup(), BODY, at(NOW)),
            Err(SignatureError::Malformed { .. })
        ));
    }

    #[test]
    fn github_malformed_wrong_length() {
        let short = format!("sha256={}", &direct_hex(SECRET.as_bytes(), BODY)[..62]);
        let headers = Headers::new([("X-Hub-Signature-256", short)]);
        assert!(matches!(
            github().verify(&headers.lookup(), BODY, at(NOW)),
            Err(SignatureError::Malformed { .. })
        ));
    }

    #[test]
    fn hmac_known_answer_and_round_trip() {
        let signed = hmac().sign(BODY, at(NOW));
        let expected_tag = direct_hex(SECRET.as_bytes(), b"1700000000.Hello, World!");
        assert_eq!(
            signed,
            vec![
                ("X-Ontograph-Timestamp".to_owned(), NOW.to_string()),
                (
                    "X-Ontograph-Signature".to_owned(),
                    format!("sha256={expected_tag}")
                ),
            ]
        );
        let headers = Headers::new(signed);
        assert_eq!(hmac().verify(&headers.lookup(), BODY, at(NOW)), Ok(()));
        // Within the window in both directions, including its edges.
        for now in [NOW - 300, NOW - 1, NOW + 1, NOW + 300] {
            assert_eq!(hmac().verify(&headers.lookup(), BODY, at(now)), Ok(()));
        }
    }

    #[test]
    fn hmac_replayed_outside_the_window() {
        let headers = Headers::new(hmac().sign(BODY, at(NOW)));
        let err = hmac()
            .verify(&headers.lookup(), BODY, at(NOW + 900))
            .expect_err("stale");
        assert_eq!(
            err,
            SignatureError::Stale {
                age_seconds: 900,
                tolerance_seconds: 300
            }
        );
        assert_eq!(
            err.to_string(),
            "the timestamp is 900 s away from now (in the past); the tolerance is 300 s \
             (replayed or clock skew?)"
        );
    }

    #[test]
    fn hmac_future_timestamp_outside_the_window() {
        let headers = Headers::new(hmac().sign(BODY, at(NOW + 301)));
        let err = hmac()
            .verify(&headers.lookup(), BODY, at(NOW))
            .expect_err("future");
        assert_eq!(
            err,
            SignatureError::Stale {
                age_seconds: -301,
                tolerance_seconds: 300
            }
        );
        assert!(err
            .to_string()
            .contains("301 s away from now (in the future)"));
    }

    #[test]
    fn hmac_checks_the_mac_before_the_window() {
        let mut headers = Headers::new(hmac().sign(BODY, at(NOW)));
        headers.set(
            "X-Ontograph-Signature",
            &format!("sha256={}", "00".repeat(32)),
        );
        assert_eq!(
            hmac().verify(&headers.lookup(), BODY, at(NOW + 10_000)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn hmac_timestamp_is_covered_by_the_mac() {
        let mut headers = Headers::new(hmac().sign(BODY, at(NOW - 10_000)));
        headers.set("X-Ontograph-Timestamp", &NOW.to_string());
        assert_eq!(
            hmac().verify(&headers.lookup(), BODY, at(NOW)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn hmac_body_altered_after_signing() {
        let headers = Headers::new(hmac().sign(BODY, at(NOW)));
        assert_eq!(
            hmac().verify(&headers.lookup(), b"Goodbye", at(NOW)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn hmac_timestamp_not_a_number() {
        for bad in ["soon", "", "-5", "1.5", "99999999999999999999"] {
            let mut headers = Headers::new(hmac().sign(BODY, at(NOW)));
            headers.set("X-Ontograph-Timestamp", bad);
            let err = hmac()
                .verify(&headers.lookup(), BODY, at(NOW))
                .expect_err("not a number");
            assert!(
                matches!(&err, SignatureError::Malformed { header, .. } if header == "X-Ontograph-Timestamp"),
                "{bad:?}: {err:?}"
            );
        }
    }

    #[test]
    fn hmac_missing_headers() {
        let mut headers = Headers::new(hmac().sign(BODY, at(NOW)));
        headers.remove("X-Ontograph-Timestamp");
        let err = hmac()
            .verify(&headers.lookup(), BODY, at(NOW))
            .expect_err("no timestamp");
        assert_eq!(
            err,
            SignatureError::MissingHeader("X-Ontograph-Timestamp".to_owned())
        );
        assert_eq!(err.to_string(), "missing X-Ontograph-Timestamp header");

        let mut headers = Headers::new(hmac().sign(BODY, at(NOW)));
        headers.remove("X-Ontograph-Signature");
        assert_eq!(
            hmac().verify(&headers.lookup(), BODY, at(NOW)),
            Err(SignatureError::MissingHeader(
                "X-Ontograph-Signature".to_owned()
            ))
        );
    }

    #[test]
    fn hmac_custom_headers_and_tolerance() {
        let scheme = Scheme::Hmac {
            signature_header: "X-Sig".to_owned(),
            timestamp_header: "X-Ts".to_owned(),
            tolerance: Duration::from_secs(5),
        };
        let verifier = Verifier::new(scheme, b"k".to_vec()).expect("non-empty secret");
        let headers = Headers::new(verifier.sign(BODY, at(NOW)));
        assert_eq!(
            verifier.verify(&headers.lookup(), BODY, at(NOW + 5)),
            Ok(())
        );
        assert!(matches!(
            verifier.verify(&headers.lookup(), BODY, at(NOW + 6)),
            Err(SignatureError::Stale { .. })
        ));
    }

    #[test]
    fn sign_round_trips_with_verify() {
        for verifier in [github(), hmac()] {
            for body in [&b""[..], BODY, &[0u8, 255, 10, 13][..]] {
                let headers = Headers::new(verifier.sign(body, at(NOW)));
                assert_eq!(verifier.verify(&headers.lookup(), body, at(NOW)), Ok(()));
            }
        }
    }

    #[test]
    fn debug_hides_the_secret() {
        for verifier in [github(), hmac()] {
            let debug = format!("{verifier:?}");
            assert!(!debug.contains(SECRET), "{debug}");
            assert!(!debug.contains("Secret to Everybody"), "{debug}");
            assert!(debug.contains("<redacted>"), "{debug}");
        }
    }

    #[test]
    fn errors_never_reveal_the_secret_or_expected_signature() {
        let expected = direct_hex(SECRET.as_bytes(), BODY);
        let headers =
            Headers::new([("X-Hub-Signature-256", format!("sha256={}", "ab".repeat(32)))]);
        let err = github()
            .verify(&headers.lookup(), BODY, at(NOW))
            .expect_err("mismatch");
        let message = err.to_string();
        assert_eq!(message, "the signature does not match the body");
        assert!(!message.contains(&expected) && !message.contains(SECRET));
    }

    #[test]
    fn empty_secret_rejected() {
        assert_eq!(
            Verifier::new(Scheme::GitHub, Vec::new()).map(|_| ()),
            Err(SignatureError::EmptySecret)
        );
        assert_eq!(
            Verifier::new(Scheme::hmac_default(), "").map(|_| ()),
            Err(SignatureError::EmptySecret)
        );
    }
}
