//! A minimal keep-alive HTTP/1.1 client on hyper's connection API: one TCP connection per
//! benchmark worker, reused for every request, the whole response body read each time.

use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{header, Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Where a service listens, parsed from an `http://host:port/path` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `host:port`, to connect to and to send as `Host`.
    pub authority: String,
    /// The path (and query) of the URL, `/` when it has none.
    pub path: String,
    /// Sent as `Authorization: Bearer …` when set (the admin API).
    pub bearer: Option<String>,
}

impl Endpoint {
    /// Parses a plain `http://` URL (no TLS: the benchmark talks to loopback).
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let uri: Uri = url
            .parse()
            .with_context(|| format!("`{url}` is not a URL"))?;
        match uri.scheme_str() {
            Some("http") => {}
            other => bail!("`{url}`: only http:// URLs are supported (got scheme {other:?})"),
        }
        let host = uri.host().ok_or_else(|| anyhow!("`{url}` has no host"))?;
        let port = uri.port_u16().unwrap_or(80);
        let path = uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "/".to_owned());
        Ok(Self {
            authority: format!("{host}:{port}"),
            path,
            bearer: None,
        })
    }

    /// The same server with another path (e.g. `/metrics` next to `/graphql`).
    pub fn with_path(&self, path: &str) -> Self {
        Self {
            authority: self.authority.clone(),
            path: path.to_owned(),
            bearer: self.bearer.clone(),
        }
    }

    /// The same endpoint, authenticated with a bearer token.
    pub fn with_bearer(mut self, token: &str) -> Self {
        self.bearer = Some(token.to_owned());
        self
    }
}

/// A status and a fully read body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Bytes,
    /// The `Ontograph-Cache` response header (HIT-L1, HIT-L2, MISS, BYPASS), when present.
    pub cache: Option<String>,
}

/// One persistent HTTP/1.1 connection.
pub struct Connection {
    endpoint: Endpoint,
    sender: SendRequest<Full<Bytes>>,
}

impl Connection {
    /// Connects (TCP_NODELAY, as any latency-minded client would) and does the HTTP/1 handshake.
    pub async fn open(endpoint: &Endpoint) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(&endpoint.authority)
            .await
            .with_context(|| format!("cannot connect to {}", endpoint.authority))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .context("HTTP/1 handshake failed")?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                eprintln!("latency: HTTP connection ended: {error}");
            }
        });
        Ok(Self {
            endpoint: endpoint.clone(),
            sender,
        })
    }

    /// POSTs a JSON body to the endpoint's path and reads the whole response.
    pub async fn post_json(&mut self, body: Bytes) -> anyhow::Result<Reply> {
        let request = Request::builder()
            .method(Method::POST)
            .uri(self.endpoint.path.as_str())
            .header(header::HOST, self.endpoint.authority.as_str())
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json")
            .body(Full::new(body))?;
        self.send(request).await
    }

    /// POSTs `body` to `path` with extra headers (webhooks: signatures, event types).
    pub async fn post_with(
        &mut self,
        path: &str,
        headers: &[(String, String)],
        body: Bytes,
    ) -> anyhow::Result<Reply> {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::HOST, self.endpoint.authority.as_str())
            .header(header::CONTENT_TYPE, "application/json");
        for (k, v) in headers {
            request = request.header(k.as_str(), v.as_str());
        }
        self.send(request.body(Full::new(body))?).await
    }

    /// GETs `path` on the same server.
    pub async fn get(&mut self, path: &str) -> anyhow::Result<Reply> {
        let request = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header(header::HOST, self.endpoint.authority.as_str())
            .body(Full::new(Bytes::new()))?;
        self.send(request).await
    }

    async fn send(&mut self, mut request: Request<Full<Bytes>>) -> anyhow::Result<Reply> {
        if let Some(token) = &self.endpoint.bearer {
            request.headers_mut().insert(
                header::AUTHORIZATION,
                format!("Bearer {token}")
                    .parse()
                    .context("the bearer token is not a valid header value")?,
            );
        }
        self.sender
            .ready()
            .await
            .context("the HTTP connection is closed")?;
        let response = self
            .sender
            .send_request(request)
            .await
            .context("HTTP request failed")?;
        let status = response.status();
        let cache = response
            .headers()
            .get("ontograph-cache")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .into_body()
            .collect()
            .await
            .context("reading the HTTP response body failed")?
            .to_bytes();
        Ok(Reply {
            status,
            body,
            cache,
        })
    }
}

/// One GET on a fresh connection, with a time limit (readiness and metrics scrapes).
pub async fn get_once(endpoint: &Endpoint, timeout: Duration) -> anyhow::Result<Reply> {
    let work = async {
        let mut connection = Connection::open(endpoint).await?;
        connection.get(&endpoint.path).await
    };
    tokio::time::timeout(timeout, work).await.map_err(|_| {
        anyhow!(
            "GET http://{}{} timed out",
            endpoint.authority,
            endpoint.path
        )
    })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() -> anyhow::Result<()> {
        let e = Endpoint::parse("http://127.0.0.1:8080/graphql")?;
        assert_eq!(e.authority, "127.0.0.1:8080");
        assert_eq!(e.path, "/graphql");
        assert_eq!(e.with_path("/metrics").path, "/metrics");
        let e = Endpoint::parse("http://localhost")?;
        assert_eq!(
            (e.authority.as_str(), e.path.as_str()),
            ("localhost:80", "/")
        );
        assert!(Endpoint::parse("https://x/graphql").is_err());
        Ok(())
    }
}
