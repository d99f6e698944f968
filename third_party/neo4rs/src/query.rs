use crate::{
    errors::{unexpected, Result},
    messages::{BoltRequest, BoltResponse},
    pool::ManagedConnection,
    stream::{DetachedRowStream, RowStream},
    types::{BoltList, BoltMap, BoltString, BoltType},
    Error, Success,
};

/// Abstracts a cypher query that is sent to neo4j server.
/// Ontograph patch: what the server said about a pipelined statement when it finished.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// The transaction's bookmark.
    pub bookmark: Option<String>,
    /// The statement's query type: `r` (reads only), `w` (writes only), `rw` (reads and
    /// writes) or `s` (schema changes). `EXPLAIN` reports it without running anything.
    pub query_type: Option<String>,
}

#[derive(Clone)]
pub struct Query {
    query: String,
    params: BoltMap,
}

impl Query {
    pub fn new(query: String) -> Self {
        Query {
            query,
            params: BoltMap::default(),
        }
    }

    pub fn param<T: Into<BoltType>>(mut self, key: &str, value: T) -> Self {
        self.params.put(key.into(), value.into());
        self
    }

    pub fn params<K, V>(mut self, input_params: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<BoltString>,
        V: Into<BoltType>,
    {
        for (key, value) in input_params {
            self.params.put(key.into(), value.into());
        }

        self
    }

    pub fn has_param_key(&self, key: &str) -> bool {
        self.params.value.contains_key(key)
    }

    pub(crate) async fn run(self, db: &str, connection: &mut ManagedConnection) -> Result<()> {
        let request = BoltRequest::run(db, &self.query, self.params);
        Self::try_run(request, connection)
            .await
            .map_err(unwrap_backoff)
    }

    pub(crate) async fn run_retryable(
        &self,
        db: &str,
        connection: &mut ManagedConnection,
    ) -> Result<(), backoff::Error<Error>> {
        let request = BoltRequest::run(db, &self.query, self.params.clone());
        Self::try_run(request, connection).await
    }

    pub(crate) async fn execute_retryable(
        &self,
        db: &str,
        fetch_size: usize,
        mut connection: ManagedConnection,
    ) -> Result<DetachedRowStream, backoff::Error<Error>> {
        let request = BoltRequest::run(db, &self.query, self.params.clone());
        Self::try_execute(request, fetch_size, &mut connection)
            .await
            .map(|stream| DetachedRowStream::new(stream, connection))
    }

    pub(crate) async fn execute_mut<'conn>(
        self,
        db: &str,
        fetch_size: usize,
        connection: &'conn mut ManagedConnection,
    ) -> Result<RowStream> {
        let run = BoltRequest::run(db, &self.query, self.params);
        Self::try_execute(run, fetch_size, connection)
            .await
            .map_err(unwrap_backoff)
    }

    /// Ontograph patch: runs the statement with its messages pipelined — `RUN` and `PULL`
    /// (all records) in one write, and for a write `BEGIN` too, then `COMMIT` — so a read costs
    /// one round trip and a write two. A read is an auto-commit `RUN` in read mode. `bookmarks`
    /// go into `BEGIN` (write) or `RUN` (read): the server waits until it has applied them.
    /// Returns the rows and a [`Summary`]: the bookmark the server gave for the transaction
    /// (from `COMMIT`, or from the final `PULL` summary of an auto-commit read) and the
    /// statement's query type.
    /// On a FAILURE the replies to the remaining pipelined messages (IGNORED) are drained and
    /// the connection is left for the pool to RESET.
    /// The error says whether `COMMIT` had been sent (then a retry could apply a write twice).
    pub(crate) async fn run_pipelined(
        self,
        db: &str,
        write: bool,
        bookmarks: &[String],
        connection: &mut ManagedConnection,
    ) -> std::result::Result<(Vec<crate::Row>, Summary), (Error, bool)> {
        let before = |e: Error| (e, false);
        let (rows, mut summary) = self
            .pipelined_body(db, write, bookmarks, connection)
            .await
            .map_err(before)?;
        if write {
            let during = |e: Error| (e, true);
            match connection.send_recv(BoltRequest::commit()).await.map_err(during)? {
                BoltResponse::Success(success) => summary.bookmark = success.get("bookmark").ok(),
                BoltResponse::Failure(f) => return Err((Error::Neo4j(f.into_error()), true)),
                other => return Err((unexpected(other, "COMMIT"), true)),
            }
        }
        connection.mark_clean();
        Ok((rows, summary))
    }

    async fn pipelined_body(
        self,
        db: &str,
        write: bool,
        bookmarks: &[String],
        connection: &mut ManagedConnection,
    ) -> Result<(Vec<crate::Row>, Summary)> {
        let mut pending = 2;
        if write {
            connection.write(BoltRequest::begin_after(db, bookmarks)).await?;
            pending += 1;
            connection
                .write(BoltRequest::run(db, &self.query, self.params))
                .await?;
        } else {
            connection
                .write(BoltRequest::run_read(db, &self.query, self.params, bookmarks))
                .await?;
        }
        connection.write(BoltRequest::pull(usize::MAX, -1)).await?;
        connection.flush().await?;

        let mut failure = None;
        if write {
            pending -= 1;
            match connection.recv().await? {
                BoltResponse::Success(_) => {}
                BoltResponse::Failure(f) => failure = Some(Error::Neo4j(f.into_error())),
                other => failure = Some(unexpected(other, "BEGIN")),
            }
        }
        let mut fields = BoltList::default();
        if failure.is_none() {
            pending -= 1;
            match connection.recv().await? {
                BoltResponse::Success(success) => fields = success.get("fields").unwrap_or_default(),
                BoltResponse::Failure(f) => failure = Some(Error::Neo4j(f.into_error())),
                other => failure = Some(unexpected(other, "RUN")),
            }
        }
        let mut rows = Vec::new();
        let mut summary = Summary::default();
        if failure.is_none() {
            pending -= 1;
            loop {
                match connection.recv().await? {
                    BoltResponse::Record(record) => {
                        rows.push(crate::Row::new(fields.clone(), record.data))
                    }
                    BoltResponse::Success(success) => {
                        summary.bookmark = success.get("bookmark").ok();
                        summary.query_type = success.get("type").ok();
                        break;
                    }
                    BoltResponse::Failure(f) => {
                        failure = Some(Error::Neo4j(f.into_error()));
                        break;
                    }
                }
            }
        }
        if let Some(error) = failure {
            for _ in 0..pending {
                // IGNORED replies: neo4rs has no variant for them, so they parse as errors.
                let _ = connection.recv().await;
            }
            return Err(error);
        }
        Ok((rows, summary))
    }

    async fn try_run(request: BoltRequest, connection: &mut ManagedConnection) -> QueryResult<()> {
        let _ = Self::try_request(request, connection).await?;
        match connection.send_recv(BoltRequest::discard()).await {
            Ok(BoltResponse::Success(_)) => Ok(()),
            otherwise => wrap_error(otherwise, "DISCARD"),
        }
    }

    async fn try_execute(
        request: BoltRequest,
        fetch_size: usize,
        connection: &mut ManagedConnection,
    ) -> QueryResult<RowStream> {
        Self::try_request(request, connection).await.map(|success| {
            let fields: BoltList = success.get("fields").unwrap_or_default();
            let qid: i64 = success.get("qid").unwrap_or(-1);
            RowStream::new(qid, fields, fetch_size)
        })
    }

    async fn try_request(
        request: BoltRequest,
        connection: &mut ManagedConnection,
    ) -> QueryResult<Success> {
        match connection.send_recv(request).await {
            Ok(BoltResponse::Success(success)) => Ok(success),
            otherwise => wrap_error(otherwise, "RUN"),
        }
    }
}

impl From<String> for Query {
    fn from(query: String) -> Self {
        Query::new(query)
    }
}

impl From<&str> for Query {
    fn from(query: &str) -> Self {
        Query::new(query.to_owned())
    }
}

type QueryResult<T> = Result<T, backoff::Error<Error>>;

fn wrap_error<T>(resp: Result<BoltResponse>, req: &str) -> QueryResult<T> {
    let error = match resp {
        Ok(BoltResponse::Failure(failure)) => Error::Neo4j(failure.into_error()),
        Ok(_) => unexpected(resp, req),
        Err(e) => e,
    };
    let can_retry = match &error {
        Error::Neo4j(e) => e.can_retry(),
        _ => false,
    };

    if can_retry {
        Err(backoff::Error::transient(error))
    } else {
        Err(backoff::Error::permanent(error))
    }
}

fn unwrap_backoff(err: backoff::Error<Error>) -> Error {
    match err {
        backoff::Error::Permanent(e) => e,
        backoff::Error::Transient { err, .. } => err,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_params() {
        let q = Query::new("MATCH (n) WHERE n.name = $name AND n.age > $age RETURN n".to_owned());
        let q = q.params([
            ("name", BoltType::from("Frobniscante")),
            ("age", BoltType::from(42)),
        ]);

        assert_eq!(
            q.params.get::<String>("name").unwrap(),
            String::from("Frobniscante")
        );
        assert_eq!(q.params.get::<i64>("age").unwrap(), 42);

        assert!(q.has_param_key("name"));
        assert!(!q.has_param_key("country"));
    }
}
