//! Read rules on the caller's token: `@authorization(filter: [{ where: { jwt: { … } } }])` and
//! the typed JWT (`type JWT @jwt { roles: [String!]! @jwtClaim(path: "app.roles") }`) they read.
//!
//! A rule's `jwt` condition depends on the token alone, so it is decided per request, in Rust,
//! and reaches the statement as one boolean parameter per type (hidden nodes then match nothing,
//! and an index seek stays an index seek). Conditions are the library's: per claim `eq`, `in`,
//! `contains`, `startsWith`, `endsWith`, `lt`, `lte`, `gt`, `gte`, `includes` (on lists), the
//! v6 suffixes (`roles_INCLUDES`), and `AND`/`OR`/`NOT`. A claim the token lacks satisfies no
//! comparison, as the library's `IS NOT NULL AND …` guard makes it.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

/// The token claims a rule may name without a typed JWT (the registered claims), and `roles`,
/// which reads the caller's roles (from the token's roles claim, or an API key's).
pub const STANDARD_CLAIMS: &[&str] = &["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "roles"];

/// Comparison operators of a claim condition, in the v7 form.
pub const OPERATORS: &[&str] = &[
    "eq",
    "in",
    "contains",
    "startsWith",
    "endsWith",
    "lt",
    "lte",
    "gt",
    "gte",
    "includes",
];

/// v6 suffixes and the operator each stands for.
const SUFFIXES: &[(&str, &str)] = &[
    ("_INCLUDES", "includes"),
    ("_STARTS_WITH", "startsWith"),
    ("_ENDS_WITH", "endsWith"),
    ("_CONTAINS", "contains"),
    ("_LTE", "lte"),
    ("_GTE", "gte"),
    ("_LT", "lt"),
    ("_GT", "gt"),
    ("_IN", "in"),
    ("_EQ", "eq"),
];

/// `type JWT @jwt { … }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtType {
    pub name: String,
    pub claims: Vec<JwtClaim>,
}

/// A claim of the typed JWT: its field name and where it sits in the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtClaim {
    pub name: String,
    /// `@jwtClaim(path: "a.b")` split on dots not escaped by a backslash (`https://x\\.com/r`
    /// is one key); the field name alone without it.
    pub path: Vec<String>,
}

/// One read rule: a condition on the token, one on the node (a `where` whose values may be
/// `"$jwt.<claim>"`), and whether an unauthenticated caller fails it whatever they say
/// (`requireAuthentication`, true unless set to false).
#[derive(Debug, Clone, PartialEq)]
pub struct ReadRule {
    /// `where.jwt` (`{}` when absent: no condition on the token).
    pub jwt: Value,
    /// `where.node`, as written.
    pub node: Option<Value>,
    pub require_authentication: bool,
}

/// What a rule is decided on: the caller's token payload, roles and whether it authenticated.
pub struct Token<'a> {
    pub claims: &'a Map<String, Value>,
    pub roles: &'a BTreeSet<String>,
    pub authenticated: bool,
    pub jwt: Option<&'a JwtType>,
}

/// Splits a `@jwtClaim(path:)` on dots not escaped by a backslash.
pub fn claim_path(path: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => parts.push(String::new()),
            c => {
                // `\.` is a dot within the key.
                let c = if c == '\\' && chars.peek() == Some(&'.') {
                    chars.next().unwrap_or('.')
                } else {
                    c
                };
                if let Some(p) = parts.last_mut() {
                    p.push(c);
                }
            }
        }
    }
    parts
}

/// The claim and operator a condition key names: `roles_INCLUDES` → (`roles`, `includes`),
/// `roles` → (`roles`, None: an object of operators follows).
pub fn split_key(key: &str) -> (&str, Option<&'static str>) {
    for (suffix, op) in SUFFIXES {
        if let Some(claim) = key.strip_suffix(suffix) {
            return (claim, Some(op));
        }
    }
    (key, None)
}

impl ReadRule {
    /// Whether the rule's conditions on the token hold for this caller (its `node` condition,
    /// if any, is then for the statement to check).
    pub fn holds(&self, token: &Token<'_>) -> bool {
        (token.authenticated || !self.require_authentication) && condition(&self.jwt, token)
    }

    /// The rule's `node` condition with each `"$jwt.<claim>"` replaced by the claim's value in
    /// this caller's token (`Some(None)`: the rule has none); `None` when a claim it names is
    /// missing (the rule then holds for no node, as the library's `IS NOT NULL AND …` guard
    /// makes it).
    pub fn node_condition(&self, token: &Token<'_>) -> Option<Option<Value>> {
        fn fill(v: &Value, token: &Token<'_>) -> Option<Value> {
            Some(match v {
                Value::String(s) => match s.strip_prefix("$jwt.") {
                    Some(claim) => claim_value(claim, token)?,
                    None => v.clone(),
                },
                Value::Array(items) => Value::Array(
                    items
                        .iter()
                        .map(|x| fill(x, token))
                        .collect::<Option<_>>()?,
                ),
                Value::Object(m) => Value::Object(
                    m.iter()
                        .map(|(k, x)| Some((k.clone(), fill(x, token)?)))
                        .collect::<Option<_>>()?,
                ),
                other => other.clone(),
            })
        }
        match &self.node {
            None => Some(None),
            Some(node) => fill(node, token).map(Some),
        }
    }

    /// Whether the rule reads more of the token than the caller's roles and whether it
    /// authenticated (what the cache scope holds).
    pub fn reads_claims(&self) -> bool {
        fn names_jwt(v: &Value) -> bool {
            match v {
                Value::String(s) => s.starts_with("$jwt."),
                Value::Array(items) => items.iter().any(names_jwt),
                Value::Object(m) => m.values().any(names_jwt),
                _ => false,
            }
        }
        if self.node.as_ref().is_some_and(names_jwt) {
            return true;
        }
        fn claims(v: &Value, out: &mut bool) {
            if let Value::Object(m) = v {
                for (k, v) in m {
                    match k.as_str() {
                        "AND" | "OR" => v
                            .as_array()
                            .into_iter()
                            .flatten()
                            .for_each(|x| claims(x, out)),
                        "NOT" => claims(v, out),
                        key => *out |= split_key(key).0 != "roles",
                    }
                }
            }
        }
        let mut out = false;
        claims(&self.jwt, &mut out);
        out
    }
}

fn condition(cond: &Value, token: &Token<'_>) -> bool {
    let Value::Object(m) = cond else {
        return false;
    };
    m.iter().all(|(k, v)| match k.as_str() {
        "AND" => v
            .as_array()
            .into_iter()
            .flatten()
            .all(|x| condition(x, token)),
        "OR" => v
            .as_array()
            .into_iter()
            .flatten()
            .any(|x| condition(x, token)),
        "NOT" => !condition(v, token),
        key => {
            let (claim, op) = split_key(key);
            let value = claim_value(claim, token);
            match (op, v) {
                (Some(op), operand) => compare(value.as_ref(), op, operand),
                (None, Value::Object(ops)) => ops
                    .iter()
                    .all(|(op, operand)| compare(value.as_ref(), op, operand)),
                (None, operand) => compare(value.as_ref(), "eq", operand),
            }
        }
    })
}

/// The claim's value in the token (at its typed path, else at the name read as a path);
/// `roles` falls back to the caller's roles (an API key's, or the configured roles claim's).
fn claim_value(claim: &str, token: &Token<'_>) -> Option<Value> {
    let path = token
        .jwt
        .and_then(|j| j.claims.iter().find(|c| c.name == claim))
        .map(|c| c.path.clone())
        .unwrap_or_else(|| claim_path(claim));
    let mut at = token.claims.get(path.first()?);
    for key in &path[1..] {
        at = at.and_then(|v| v.get(key));
    }
    match at {
        Some(v) if !v.is_null() => Some(v.clone()),
        _ if claim == "roles" && token.authenticated => Some(Value::Array(
            token.roles.iter().cloned().map(Value::String).collect(),
        )),
        _ => None,
    }
}

fn compare(value: Option<&Value>, op: &str, operand: &Value) -> bool {
    let Some(value) = value else {
        return false;
    };
    let text = |v: &Value| v.as_str().map(str::to_owned);
    match op {
        "eq" => value == operand || numbers(value, operand) == Some(std::cmp::Ordering::Equal),
        "in" => operand
            .as_array()
            .is_some_and(|xs| xs.iter().any(|x| x == value)),
        "includes" => value.as_array().is_some_and(|xs| xs.contains(operand)),
        "contains" | "startsWith" | "endsWith" => match (text(value), text(operand)) {
            (Some(v), Some(o)) => match op {
                "contains" => v.contains(&o),
                "startsWith" => v.starts_with(&o),
                _ => v.ends_with(&o),
            },
            _ => false,
        },
        "lt" | "lte" | "gt" | "gte" => {
            let order = numbers(value, operand).or_else(|| match (text(value), text(operand)) {
                (Some(v), Some(o)) => Some(v.cmp(&o)),
                _ => None,
            });
            order.is_some_and(|o| match op {
                "lt" => o.is_lt(),
                "lte" => o.is_le(),
                "gt" => o.is_gt(),
                _ => o.is_ge(),
            })
        }
        _ => false,
    }
}

fn numbers(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn holds(rule: Value, claims: Value, roles: &[&str], authenticated: bool) -> bool {
        let claims = claims.as_object().cloned().unwrap_or_default();
        let roles: BTreeSet<String> = roles.iter().map(|r| (*r).to_owned()).collect();
        let jwt = JwtType {
            name: "JWT".into(),
            claims: vec![JwtClaim {
                name: "groups".into(),
                path: claim_path("https://x\\.com/claims.groups"),
            }],
        };
        let token = Token {
            claims: &claims,
            roles: &roles,
            authenticated,
            jwt: Some(&jwt),
        };
        ReadRule {
            jwt: rule,
            node: None,
            require_authentication: true,
        }
        .holds(&token)
    }

    #[test]
    fn conditions_decide_as_the_library_does() {
        assert!(holds(
            json!({"roles_INCLUDES": "hr"}),
            json!({}),
            &["read", "hr"],
            true
        ));
        assert!(!holds(
            json!({"roles_INCLUDES": "hr"}),
            json!({}),
            &["read"],
            true
        ));
        // Unauthenticated callers fail a rule that requires authentication.
        assert!(!holds(
            json!({"roles_INCLUDES": "read"}),
            json!({}),
            &["read"],
            false
        ));
        assert!(holds(
            json!({"roles": {"includes": "hr"}}),
            json!({"roles": ["hr"]}),
            &[],
            true
        ));
        assert!(holds(
            json!({"sub": {"eq": "u1"}}),
            json!({"sub": "u1"}),
            &[],
            true
        ));
        assert!(!holds(json!({"sub": {"eq": "u1"}}), json!({}), &[], true));
        assert!(holds(
            json!({"NOT": {"sub": {"eq": "u1"}}}),
            json!({"sub": "u2"}),
            &[],
            true
        ));
        assert!(holds(
            json!({"OR": [{"sub": {"in": ["a", "b"]}}, {"exp": {"gt": 10}}]}),
            json!({"sub": "c", "exp": 11}),
            &[],
            true
        ));
        assert!(holds(
            json!({"groups": {"includes": "admins"}}),
            json!({"https://x.com/claims": {"groups": ["admins"]}}),
            &[],
            true
        ));
        assert!(holds(
            json!({"sub": {"startsWith": "auth0|"}}),
            json!({"sub": "auth0|42"}),
            &[],
            true
        ));
    }

    #[test]
    fn node_conditions_take_the_callers_claims() {
        let claims = json!({"sub": "u1", "org": {"id": 7}});
        let claims = claims.as_object().cloned().unwrap_or_default();
        let roles = BTreeSet::new();
        let token = Token {
            claims: &claims,
            roles: &roles,
            authenticated: true,
            jwt: None,
        };
        let rule = |node: Value| ReadRule {
            jwt: json!({}),
            node: Some(node),
            require_authentication: true,
        };
        assert_eq!(
            rule(json!({"owner": {"id": {"eq": "$jwt.sub"}}, "org": {"in": ["$jwt.org.id"]}}))
                .node_condition(&token),
            Some(Some(
                json!({"owner": {"id": {"eq": "u1"}}, "org": {"in": [7]}})
            ))
        );
        // A claim the token lacks: the rule holds for no node.
        assert_eq!(
            rule(json!({"owner": {"eq": "$jwt.tenant"}})).node_condition(&token),
            None
        );
        assert!(rule(json!({"owner": {"eq": "$jwt.sub"}})).reads_claims());
        assert!(!rule(json!({"published": {"eq": true}})).reads_claims());
    }

    #[test]
    fn claim_paths_split_on_unescaped_dots() {
        assert_eq!(claim_path("a.b"), vec!["a", "b"]);
        assert_eq!(claim_path("https://x\\.com/r"), vec!["https://x.com/r"]);
    }
}
