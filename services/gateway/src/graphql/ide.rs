//! The GraphiQL IDE at `GET /graphql` (for browsers), served from assets compiled into the
//! binary (GraphiQL 4, React 18; MIT, see assets/graphiql/LICENSES.txt), so it works offline.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;

/// The GraphiQL IDE, served from assets compiled into the binary (no CDN: it works offline).
pub(super) fn graphiql(default_query: &str) -> String {
    let default_query = serde_json::to_string(default_query).unwrap_or_else(|_| "\"\"".into());
    r##"<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="robots" content="noindex">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Ontograph GraphiQL</title>
    <style>body { height: 100%; margin: 0; width: 100%; overflow: hidden; } #graphiql { height: 100vh; }</style>
    <script src="/graphql/ide/react.production.min.js"></script>
    <script src="/graphql/ide/react-dom.production.min.js"></script>
    <link rel="stylesheet" href="/graphql/ide/graphiql.min.css" />
  </head>
  <body>
    <div id="graphiql">Loading the GraphiQL IDE…</div>
    <script src="/graphql/ide/graphiql.min.js"></script>
    <script>
      ReactDOM.createRoot(document.getElementById("graphiql")).render(
        React.createElement(GraphiQL, {
          fetcher: GraphiQL.createFetcher({ url: new URL("/graphql", window.location.origin).toString() }),
          defaultEditorToolsVisibility: true,
          defaultQuery: DEFAULT_QUERY,
        })
      );
    </script>
  </body>
</html>"##
        .replace("DEFAULT_QUERY", &default_query)
}

/// A first query for the IDE, from the ontology's first node type.
pub(super) fn example_query(o: &ontology::Ontology) -> String {
    let Some(n) = o.nodes.values().next() else {
        return String::new();
    };
    let fields: Vec<&str> = n
        .properties()
        .filter(|p| !p.list)
        .take(3)
        .map(|p| p.name.as_str())
        .collect();
    format!(
        "# Ontograph: the GraphQL API generated from your ontology.\n# Browse it in the Docs panel; the SDL is at /graphql/schema.graphql.\n{{\n  {}(limit: 5) {{\n    {}\n  }}\n}}\n",
        n.plural,
        fields.join("\n    ")
    )
}

/// Static files of the IDE (GraphiQL 4, React 18; MIT, see assets/graphiql/LICENSES.txt).
pub(super) async fn ide_asset(Path(file): Path<String>) -> axum::response::Response {
    let (body, content_type): (&'static [u8], &str) = match file.as_str() {
        "graphiql.min.js" => (
            include_bytes!("../../assets/graphiql/graphiql.min.js"),
            "text/javascript",
        ),
        "graphiql.min.css" => (
            include_bytes!("../../assets/graphiql/graphiql.min.css"),
            "text/css",
        ),
        "react.production.min.js" => (
            include_bytes!("../../assets/graphiql/react.production.min.js"),
            "text/javascript",
        ),
        "react-dom.production.min.js" => (
            include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
            "text/javascript",
        ),
        _ => return (StatusCode::NOT_FOUND, "no such IDE asset").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}
