//! The admin console (`/admin`, a web page served from assets compiled into the binary) and the
//! admin API under `/admin/api/` that it uses.
//!
//! Nothing under `/admin` answers without authentication ([`auth`]): an admin token or an
//! admin-role JWT as a bearer credential, or the session cookie set by `/admin/login`
//! (HttpOnly, SameSite=Strict). State-changing calls made with the cookie must carry the
//! session's CSRF token in `X-CSRF-Token` and must not come from another site (`Origin`,
//! `Sec-Fetch-Site`). Every action is written to the audit log ([`audit`]).

pub mod audit;
pub mod auth;
pub mod history;
pub mod indexes;
pub mod ingest;
pub mod state;
pub mod status;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use serde_json::{json, Value};

use crate::respond::{api_error, Remote};
use crate::state::AppState;
pub use auth::{AdminConfig, Principal};
pub use state::AdminState;

/// Header carrying the session's CSRF token on state-changing calls.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Failed logins from one address before it must wait.
const LOGIN_ATTEMPTS: u32 = 10;
const LOGIN_WINDOW: Duration = Duration::from_secs(300);

/// The console, the login page and the admin API.
pub fn routes(state: AppState) -> Router<AppState> {
    let protected = Router::new()
        .route("/admin", get(console_page))
        .route("/admin/", get(console_page))
        .route("/admin/assets/{file}", get(console_asset))
        .route("/admin/logout", post(logout))
        .route("/admin/api/session", get(session))
        .route("/admin/api/audit", get(audit_list))
        .route("/admin/api/history", get(history_list))
        .route("/admin/api/schema", get(schema_live))
        .route(
            "/admin/api/schema/indexes",
            post(create::<indexes::IndexRequest>),
        )
        .route(
            "/admin/api/schema/indexes/{name}",
            delete(drop_named::<false>),
        )
        .route(
            "/admin/api/schema/constraints",
            post(create::<indexes::ConstraintRequest>),
        )
        .route(
            "/admin/api/schema/constraints/{name}",
            delete(drop_named::<true>),
        )
        .route("/admin/api/schema/drift", get(drift))
        .route("/admin/api/schema/drift/apply", post(apply_drift))
        .route("/admin/api/schema/recommendations", get(recommend))
        .route("/admin/api/topology", get(status::topology))
        .route("/admin/api/cache", get(status::cache_admin))
        .route("/admin/api/supernodes", get(status::supernodes_admin))
        .route("/admin/api/hot-queries", get(status::hot_queries))
        .route("/admin/api/explain", post(status::explain_admin))
        .route("/admin/api/ingest", get(ingest::admin_status))
        .route("/admin/api/ingest/replay", post(ingest::admin_replay))
        .route_layer(middleware::from_fn_with_state(state, guard));
    Router::new()
        .route("/admin/login", get(login_page).post(login))
        .merge(protected)
}

fn is_api(path: &str) -> bool {
    path.starts_with("/admin/api/")
}

fn unauthenticated(api: bool, message: String) -> Response {
    if api {
        let mut r = api_error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", message);
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        r
    } else {
        (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, "/admin/login")],
            message,
        )
            .into_response()
    }
}

/// Why a request looks cross-site (`None`: same origin, or a client that says nothing).
fn cross_site(headers: &HeaderMap) -> Option<String> {
    let text = |h: header::HeaderName| headers.get(h).and_then(|v| v.to_str().ok());
    // Browsers say where a request comes from in Sec-Fetch-Site; when they do, that decides
    // (a form posted under a `no-referrer` policy carries `Origin: null`).
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return (site != "same-origin" && site != "none")
            .then(|| format!("the request came from another site (Sec-Fetch-Site: {site})"));
    }
    if let (Some(origin), Some(host)) = (text(header::ORIGIN), text(header::HOST)) {
        let origin_host = origin.split_once("://").map_or(origin, |(_, h)| h);
        if origin_host != host {
            return Some(format!("the request came from another origin ({origin})"));
        }
    }
    None
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

async fn guard(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let api = is_api(req.uri().path());
    let remote = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let auth = state.admin.auth.as_ref();
    if auth.is_none() && !state.access.enabled() {
        return api_error(
            StatusCode::UNAUTHORIZED,
            "ADMIN_DISABLED",
            "the admin console and API are off: set ONTOGRAPH_ADMIN_TOKEN (or ONTOGRAPH_ADMIN_JWT_SECRET, or API access control with an admin role)",
        );
    }
    let headers = req.headers();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.strip_prefix("Bearer ").unwrap_or(v));
    let session = auth.and_then(|a| cookie(headers, auth::SESSION_COOKIE).map(|c| (a, c)));
    let mut principal = if bearer.is_some() || headers.contains_key("x-api-key") {
        // The admin token or admin JWT, else an API credential (JWT, API key) with the admin
        // role.
        let admin = auth.and_then(|a| bearer.map(|b| a.check_credential(b)));
        let refused = match admin {
            Some(Ok(who)) => Ok(who),
            refusal => match state.access.enabled() {
                true => match state.access.authenticate(headers).await {
                    Ok(c) if c.has(crate::access::ADMIN) => Ok(c.subject),
                    Ok(c) => Err(format!("`{}` does not have the `admin` role", c.subject)),
                    Err(e) => Err(match refusal {
                        Some(Err(admin_error)) => admin_error.to_string(),
                        _ => e.to_string(),
                    }),
                },
                false => Err(refusal
                    .and_then(Result::err)
                    .map_or_else(|| auth::AuthError::Missing.to_string(), |e| e.to_string())),
            },
        };
        match refused {
            Ok(who) => Principal {
                who,
                csrf: None,
                expires_ms: None,
                session_id: None,
            },
            Err(message) => {
                state.admin.audit.record(audit::AuditEntry {
                    result: "refused".into(),
                    ..audit::entry(
                        "anonymous",
                        "auth",
                        req.uri().path(),
                        Err(message.clone()),
                        remote,
                    )
                });
                return unauthenticated(true, message);
            }
        }
    } else if let Some((auth, value)) = session {
        match auth.verify_session(value) {
            Some(p)
                if !state
                    .admin
                    .is_revoked(p.session_id.as_deref().unwrap_or(""))
                    .await =>
            {
                p
            }
            _ => {
                return unauthenticated(
                    api,
                    "the session expired or is not valid: log in again at /admin/login".into(),
                )
            }
        }
    } else {
        return unauthenticated(api, auth::AuthError::Missing.to_string());
    };
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        if let Some(expected) = &principal.csrf {
            let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            let refusal = cross_site(headers).or_else(|| match sent {
                Some(s) if auth::constant_time_eq(s.as_bytes(), expected.as_bytes()) => None,
                Some(_) => Some("the CSRF token does not match this session".into()),
                None => Some(format!(
                    "a state-changing call with the session cookie needs the `{CSRF_HEADER}` header (from GET /admin/api/session)"
                )),
            });
            if let Some(reason) = refusal {
                state.admin.audit.record(audit::AuditEntry {
                    result: "refused".into(),
                    ..audit::entry(
                        &principal.who,
                        "csrf",
                        &format!("{} {}", req.method(), req.uri().path()),
                        Err(reason.clone()),
                        remote,
                    )
                });
                return api_error(StatusCode::FORBIDDEN, "CSRF", reason);
            }
        }
    }
    principal.who.truncate(200);
    req.extensions_mut().insert(principal);
    next.run(req).await
}

/// Headers of every console page: no framing, no foreign scripts, no referrer.
fn page_headers(r: &mut Response) {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// The console's files, compiled in (no CDN: the console works offline). With
/// `ONTOGRAPH_CONSOLE_DIR` set, they are read from that folder on every request instead (for
/// working on the console without rebuilding).
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("../../assets/console/index.html"),
    ),
    (
        "login.html",
        "text/html; charset=utf-8",
        include_str!("../../assets/console/login.html"),
    ),
    (
        "console.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/console/console.css"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/console/console.js"),
    ),
    (
        "api.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/console/api.js"),
    ),
    (
        "charts.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/console/charts.js"),
    ),
    (
        "pages-schema.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/console/pages-schema.js"),
    ),
    (
        "pages-status.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/console/pages-status.js"),
    ),
];

fn asset(name: &str) -> Option<(&'static str, std::borrow::Cow<'static, str>)> {
    let (_, content_type, body) = ASSETS.iter().find(|(n, _, _)| *n == name)?;
    if let Some(dir) = std::env::var_os("ONTOGRAPH_CONSOLE_DIR") {
        if let Ok(text) = std::fs::read_to_string(std::path::Path::new(&dir).join(name)) {
            return Some((content_type, text.into()));
        }
    }
    Some((content_type, (*body).into()))
}

async fn console_page() -> Response {
    console_asset(Path("index.html".to_owned())).await
}

async fn console_asset(Path(file): Path<String>) -> Response {
    let Some((content_type, body)) = asset(&file).filter(|_| file != "login.html") else {
        return api_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("no asset `{file}`"),
        );
    };
    let mut r = ([(header::CONTENT_TYPE, content_type)], body.into_owned()).into_response();
    page_headers(&mut r);
    r
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn login_form(status: StatusCode, error: Option<&str>) -> Response {
    let block = error
        .map(|e| format!(r#"<p class="error" role="alert">{}</p>"#, escape_html(e)))
        .unwrap_or_default();
    let mut r = (
        status,
        axum::response::Html(
            asset("login.html")
                .map(|(_, page)| page.replace("{{error}}", &block))
                .unwrap_or_default(),
        ),
    )
        .into_response();
    page_headers(&mut r);
    r
}

async fn login_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(auth) = &state.admin.auth else {
        return login_form(
            StatusCode::SERVICE_UNAVAILABLE,
            Some("The admin console is off: set ONTOGRAPH_ADMIN_TOKEN (or ONTOGRAPH_ADMIN_JWT_SECRET) and restart."),
        );
    };
    if cookie(&headers, auth::SESSION_COOKIE).is_some_and(|c| auth.verify_session(c).is_some()) {
        return (StatusCode::SEE_OTHER, [(header::LOCATION, "/admin")]).into_response();
    }
    login_form(StatusCode::OK, None)
}

#[derive(serde::Deserialize)]
struct LoginForm {
    #[serde(default)]
    token: String,
}

async fn login(
    State(state): State<AppState>,
    Remote(remote): Remote,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(auth) = &state.admin.auth else {
        return login_page(State(state.clone()), headers).await;
    };
    let audit = |who: &str, outcome: Result<Option<String>, String>| {
        let mut e = audit::entry(who, "login", "console", outcome, remote.clone());
        if e.result == "error" {
            e.result = "refused".into();
        }
        state.admin.audit.record(e);
    };
    if let Some(reason) = cross_site(&headers) {
        audit("anonymous", Err(reason.clone()));
        return login_form(StatusCode::FORBIDDEN, Some(&reason));
    }
    let key = remote.clone().unwrap_or_default();
    {
        let mut failures = state
            .admin
            .login_failures
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        failures.retain(|_, (_, since)| since.elapsed() < LOGIN_WINDOW);
        if failures
            .get(&key)
            .is_some_and(|(n, _)| *n >= LOGIN_ATTEMPTS)
        {
            drop(failures);
            audit("anonymous", Err("too many failed logins".into()));
            let mut r = login_form(
                StatusCode::TOO_MANY_REQUESTS,
                Some("Too many failed logins from this address: wait five minutes."),
            );
            r.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(LOGIN_WINDOW.as_secs()),
            );
            return r;
        }
    }
    let form: LoginForm = match serde_urlencoded::from_bytes(&body) {
        Ok(f) => f,
        Err(e) => return login_form(StatusCode::BAD_REQUEST, Some(&format!("Bad form: {e}"))),
    };
    match auth.check_credential(&form.token) {
        Ok(who) => {
            audit(&who, Ok(None));
            let secure = auth.cookie_secure.unwrap_or_else(|| {
                headers
                    .get("x-forwarded-proto")
                    .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"))
            });
            let cookie = format!(
                "{}={}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={}{}",
                auth::SESSION_COOKIE,
                auth.issue_session(&who),
                auth.session_ttl.as_secs(),
                if secure { "; Secure" } else { "" }
            );
            let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, "/admin")]).into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Err(e) => {
            state
                .admin
                .login_failures
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(key)
                .or_insert((0, Instant::now()))
                .0 += 1;
            audit("anonymous", Err(e.to_string()));
            login_form(
                StatusCode::UNAUTHORIZED,
                Some(&format!("Login failed: {e}.")),
            )
        }
    }
}

async fn logout(
    State(state): State<AppState>,
    Remote(remote): Remote,
    Extension(p): Extension<Principal>,
) -> Response {
    if let (Some(session), Some(expires)) = (&p.session_id, p.expires_ms) {
        state.admin.revoke(session, expires).await;
    }
    state
        .admin
        .audit
        .record(audit::entry(&p.who, "logout", "console", Ok(None), remote));
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, "/admin/login".to_owned()),
            (
                header::SET_COOKIE,
                format!(
                    "{}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0",
                    auth::SESSION_COOKIE
                ),
            ),
        ],
    )
        .into_response()
}

async fn session(Extension(p): Extension<Principal>) -> Response {
    Json(json!({
        "subject": p.who,
        "csrf": p.csrf,
        "expiresAtMs": p.expires_ms,
        "via": if p.csrf.is_some() { "session" } else { "bearer" },
    }))
    .into_response()
}

#[derive(serde::Deserialize)]
struct Limit {
    limit: Option<usize>,
}

async fn audit_list(State(state): State<AppState>, Query(q): Query<Limit>) -> Response {
    let (entries, source) = state
        .admin
        .audit
        .list(q.limit.unwrap_or(200).clamp(1, 10_000))
        .await;
    Json(json!({ "source": source, "entries": entries })).into_response()
}

async fn history_list(State(state): State<AppState>) -> Response {
    Json(json!({
        "intervalSeconds": state.admin.history.interval.as_secs_f64(),
        "samples": state.admin.history.samples(),
    }))
    .into_response()
}

/// A Neo4j error as an API error: conflicts with existing items or data are 409.
fn neo4j_error(e: &graph::Error) -> Response {
    match (e.code(), e) {
        (
            Some(code),
            graph::Error::Cypher { message, .. } | graph::Error::Server { message, .. },
        ) => {
            let conflict = code.contains("AlreadyExists")
                || code.contains("ConstraintCreationFailed")
                || code.contains("ConstraintValidationFailed")
                || code.contains("IndexDropFailed")
                || code.contains("ConstraintDropFailed");
            let status = if conflict {
                StatusCode::CONFLICT
            } else {
                StatusCode::BAD_REQUEST
            };
            api_error(
                status,
                "NEO4J_REFUSED",
                format!("Neo4j refused it ({code}): {message}"),
            )
        }
        (_, other) if other.kind() == graph::ErrorKind::Unavailable => api_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "NEO4J_UNAVAILABLE",
            other.to_string(),
        ),
        (_, other) => api_error(StatusCode::BAD_GATEWAY, "NEO4J_ERROR", other.to_string()),
    }
}

fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T, Box<Response>> {
    serde_json::from_slice(body).map_err(|e| {
        Box::new(api_error(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            format!("the body is not a valid {what}: {e}"),
        ))
    })
}

async fn schema_live(State(state): State<AppState>) -> Response {
    match indexes::live(&state.engine.neo4j).await {
        Ok(mut v) => {
            v["ontology"] = indexes::Catalog::new(&state.engine.ontology()).to_json();
            Json(v).into_response()
        }
        Err(e) => neo4j_error(&e),
    }
}

/// Runs a validated schema statement on the leader (or refuses an invalid request with
/// `invalid_code`) and audits the outcome.
async fn create_item(
    state: &AppState,
    p: &Principal,
    remote: Option<String>,
    (action, invalid_code): (&str, &str),
    target: String,
    validated: Result<indexes::Validated, String>,
) -> Response {
    let v = match validated {
        Ok(v) => v,
        Err(message) => {
            state.admin.audit.record(audit::entry(
                &p.who,
                action,
                &target,
                Err(message.clone()),
                remote,
            ));
            return api_error(StatusCode::BAD_REQUEST, invalid_code, message);
        }
    };
    let outcome = match state.engine.neo4j.leader_client() {
        Ok(leader) => leader
            .run(
                &graph::Statement::new(v.cypher.clone()),
                graph::AccessMode::Write,
            )
            .await
            .map(drop),
        Err(e) => Err(e),
    };
    let audited = outcome
        .as_ref()
        .map(|()| Some(v.cypher.clone()))
        .map_err(ToString::to_string);
    state
        .admin
        .audit
        .record(audit::entry(&p.who, action, &v.name, audited, remote));
    match outcome {
        Ok(()) => (
            StatusCode::CREATED,
            Json(json!({ "name": v.name, "cypher": v.cypher })),
        )
            .into_response(),
        Err(e) => neo4j_error(&e),
    }
}

/// A request to create an index or a constraint: how it is named in errors and the audit log,
/// and how the ontology's catalog validates it.
trait CreateRequest: serde::de::DeserializeOwned {
    /// What the body is, for a parse error.
    const WHAT: &'static str;
    /// The audit action and the error code of an invalid request.
    const ACTION: (&'static str, &'static str);
    /// What the request is about, for the audit log of a refused request.
    fn target(&self) -> String;
    fn validate(&self, catalog: &indexes::Catalog) -> Result<indexes::Validated, String>;
}

impl CreateRequest for indexes::IndexRequest {
    const WHAT: &'static str = "index request";
    const ACTION: (&'static str, &'static str) = ("index.create", "INVALID_INDEX");
    fn target(&self) -> String {
        format!("{}:{}", self.labels.join("|"), self.properties.join(","))
    }
    fn validate(&self, catalog: &indexes::Catalog) -> Result<indexes::Validated, String> {
        indexes::validate_index(catalog, self)
    }
}

impl CreateRequest for indexes::ConstraintRequest {
    const WHAT: &'static str = "constraint request";
    const ACTION: (&'static str, &'static str) = ("constraint.create", "INVALID_CONSTRAINT");
    fn target(&self) -> String {
        format!("{}:{}", self.label, self.properties.join(","))
    }
    fn validate(&self, catalog: &indexes::Catalog) -> Result<indexes::Validated, String> {
        indexes::validate_constraint(catalog, self)
    }
}

/// `POST /admin/api/schema/indexes` and `POST /admin/api/schema/constraints`.
async fn create<R: CreateRequest>(
    State(state): State<AppState>,
    Remote(remote): Remote,
    Extension(p): Extension<Principal>,
    body: Bytes,
) -> Response {
    let request: R = match parse_body(&body, R::WHAT) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    let validated = request.validate(&indexes::Catalog::new(&state.engine.ontology()));
    create_item(&state, &p, remote, R::ACTION, request.target(), validated).await
}

#[derive(serde::Deserialize)]
struct Confirm {
    confirm: Option<String>,
}

async fn drop_item(
    state: &AppState,
    p: &Principal,
    remote: Option<String>,
    constraint: bool,
    name: String,
    confirm: Option<String>,
) -> Response {
    let (what, action) = if constraint {
        ("CONSTRAINT", "constraint.drop")
    } else {
        ("INDEX", "index.drop")
    };
    let refuse = |status, code: &str, message: String| {
        state.admin.audit.record(audit::entry(
            &p.who,
            action,
            &name,
            Err(message.clone()),
            remote.clone(),
        ));
        api_error(status, code, message)
    };
    if confirm.as_deref() != Some(name.as_str()) {
        return refuse(
            StatusCode::BAD_REQUEST,
            "CONFIRMATION_REQUIRED",
            format!("to drop `{name}`, repeat its name: ?confirm={name}"),
        );
    }
    let leader = match state.engine.neo4j.leader_client() {
        Ok(l) => l,
        Err(e) => return neo4j_error(&e),
    };
    let show = if constraint {
        "SHOW CONSTRAINTS YIELD name WHERE name = $name RETURN name, null AS owner"
    } else {
        "SHOW INDEXES YIELD name, owningConstraint WHERE name = $name RETURN name, owningConstraint AS owner"
    };
    let found = match leader
        .run(
            &graph::Statement::new(show).param("name", name.clone()),
            graph::AccessMode::Read,
        )
        .await
    {
        Ok(r) => r.rows,
        Err(e) => return neo4j_error(&e),
    };
    let Some(row) = found.first() else {
        return refuse(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("there is no {} named `{name}`", what.to_lowercase()),
        );
    };
    if let Some(owner) = row.get("owner").and_then(Value::as_str) {
        return refuse(
            StatusCode::BAD_REQUEST,
            "OWNED_INDEX",
            format!("`{name}` backs the constraint `{owner}`: drop the constraint instead"),
        );
    }
    // The name is quoted, and it is the name of an item that exists.
    let cypher = format!("DROP {what} {}", graph::migrate::quote(&name));
    match leader
        .run(
            &graph::Statement::new(cypher.clone()),
            graph::AccessMode::Write,
        )
        .await
    {
        Ok(_) => {
            state.admin.audit.record(audit::entry(
                &p.who,
                action,
                &name,
                Ok(Some(cypher)),
                remote,
            ));
            Json(json!({ "dropped": name })).into_response()
        }
        Err(e) => {
            state.admin.audit.record(audit::entry(
                &p.who,
                action,
                &name,
                Err(e.to_string()),
                remote,
            ));
            neo4j_error(&e)
        }
    }
}

/// `DELETE /admin/api/schema/indexes/{name}` and `DELETE /admin/api/schema/constraints/{name}`.
async fn drop_named<const CONSTRAINT: bool>(
    State(state): State<AppState>,
    Remote(remote): Remote,
    Extension(p): Extension<Principal>,
    Path(name): Path<String>,
    Query(c): Query<Confirm>,
) -> Response {
    drop_item(&state, &p, remote, CONSTRAINT, name, c.confirm).await
}

fn report_json(r: &graph::MigrationReport, desired: &[graph::SchemaItem]) -> Value {
    let missing: Vec<Value> = desired
        .iter()
        .filter(|i| r.created.iter().any(|n| n == i.name()))
        .map(|i| {
            let kind = match i {
                graph::SchemaItem::UniqueConstraint { .. } => "uniqueness constraint",
                graph::SchemaItem::Index { kind, .. } => match kind {
                    graph::IndexKind::Range => "range index",
                    graph::IndexKind::Text => "text index",
                    graph::IndexKind::Fulltext => "full-text index",
                    graph::IndexKind::Vector => "vector index",
                },
            };
            json!({ "name": i.name(), "kind": kind, "label": i.label(), "property": i.properties().join(", "), "cypher": i.create_cypher() })
        })
        .collect();
    json!({
        "missing": missing,
        "extra": r.would_drop,
        "kept": r.kept,
        "covered": r.covered,
        "conflicting": r.conflicting,
        "created": if r.dry_run { Vec::new() } else { r.created.clone() },
        "dropped": r.dropped,
        "dryRun": r.dry_run,
    })
}

async fn migrate(state: &AppState, dry_run: bool, drop: bool) -> Result<Value, graph::Error> {
    let desired = indexes::desired_items(&state.engine.ontology());
    let leader = state.engine.neo4j.leader_client()?;
    let options = graph::MigrationOptions {
        dry_run,
        drop,
        ..graph::MigrationOptions::default()
    };
    let report = graph::migrate(&leader, &desired, &options).await?;
    Ok(report_json(&report, &desired))
}

async fn drift(State(state): State<AppState>) -> Response {
    match migrate(&state, true, true).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => neo4j_error(&e),
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Apply {
    #[serde(default)]
    drop: bool,
}

async fn apply_drift(
    State(state): State<AppState>,
    Remote(remote): Remote,
    Extension(p): Extension<Principal>,
    body: Bytes,
) -> Response {
    let apply: Apply = if body.is_empty() {
        Apply::default()
    } else {
        match parse_body(&body, "`{\"drop\": bool}`") {
            Ok(a) => a,
            Err(r) => return *r,
        }
    };
    match migrate(&state, false, apply.drop).await {
        Ok(v) => {
            let detail = format!(
                "created {}; dropped {}",
                v["created"].as_array().map_or(0, Vec::len),
                v["dropped"].as_array().map_or(0, Vec::len)
            );
            state.admin.audit.record(audit::entry(
                &p.who,
                "schema.apply",
                if apply.drop {
                    "ontology (with drops)"
                } else {
                    "ontology"
                },
                Ok(Some(detail)),
                remote,
            ));
            Json(v).into_response()
        }
        Err(e) => {
            state.admin.audit.record(audit::entry(
                &p.who,
                "schema.apply",
                "ontology",
                Err(e.to_string()),
                remote,
            ));
            neo4j_error(&e)
        }
    }
}

async fn recommend(State(state): State<AppState>) -> Response {
    match indexes::live(&state.engine.neo4j).await {
        Ok(live) => {
            let catalog = indexes::Catalog::new(&state.engine.ontology());
            Json(indexes::recommendations(
                &catalog,
                &live,
                &state.hot.property_uses(),
            ))
            .into_response()
        }
        Err(e) => neo4j_error(&e),
    }
}
