//! The receiver's parts: the sources (rules and signature verifier each), the broker, and
//! publishing an accepted event.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use ontology::mapping::{Mapping, SignatureSpec};

use super::signature::{Scheme, Verifier};

/// The webhook receiver's settings.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// The sources, each with its rules and its signature verifier.
    pub sources: Vec<Source>,
    /// The broker the receiver publishes to.
    pub bus: bus::BusConfig,
}

/// One ingestion source: its validated mapping rules and its signature verifier.
#[derive(Debug, Clone)]
pub struct Source {
    /// The rules (`schema/mappings/<source>.yaml`).
    pub mapping: Mapping,
    /// Checks the request signature.
    pub verifier: Verifier,
}

impl Source {
    /// A source from its rules and secret.
    pub fn new(mapping: Mapping, secret: &str) -> Result<Self, String> {
        let scheme = match &mapping.signature {
            Some(SignatureSpec::Github) => Scheme::GitHub,
            Some(SignatureSpec::Hmac {
                signature_header,
                timestamp_header,
                tolerance_seconds,
            }) => Scheme::Hmac {
                signature_header: signature_header.clone(),
                timestamp_header: timestamp_header.clone(),
                tolerance: std::time::Duration::from_secs(*tolerance_seconds),
            },
            None => {
                return Err(format!(
                "source `{}` has no `signature` in its rules: unsigned webhooks are not accepted",
                mapping.source
            ))
            }
        };
        let verifier = Verifier::new(scheme, secret.as_bytes())
            .map_err(|e| format!("source `{}`: {e}", mapping.source))?;
        Ok(Source { mapping, verifier })
    }
}

/// The receiver: sources by name and the broker.
#[derive(Debug)]
pub struct Receiver {
    /// Sources by name.
    pub sources: HashMap<String, Arc<Source>>,
    /// The broker.
    pub bus: bus::Bus,
}

impl Receiver {
    /// The receiver of a configuration, with the broker's topology declared (when the broker
    /// is not there yet, webhooks get 503 until it is).
    pub async fn start(config: &WebhookConfig) -> Receiver {
        let bus = bus::Bus::new(config.bus.clone());
        if let Err(e) = bus.declare().await {
            tracing::warn!(error = %e, "RabbitMQ is not ready; webhooks get 503 until it is");
        }
        let sources: HashMap<String, Arc<Source>> = config
            .sources
            .iter()
            .map(|s| (s.mapping.source.clone(), Arc::new(s.clone())))
            .collect();
        let mut names: Vec<&String> = sources.keys().collect();
        names.sort();
        tracing::info!(sources = ?names, "ingestion on: POST /ingest/{{source}}");
        Receiver { sources, bus }
    }
}

/// The environment variable holding a source's secret: `ONTOGRAPH_INGEST_SECRET_<SOURCE>`.
pub fn secret_env(source: &str) -> String {
    format!(
        "ONTOGRAPH_INGEST_SECRET_{}",
        source.to_ascii_uppercase().replace('-', "_")
    )
}

/// Publishes one accepted event to its partition; `Ok` once the broker confirmed it.
pub async fn publish(
    ingest: &Receiver,
    source: &str,
    event_type: &str,
    key: &str,
    partition_key: &str,
    raw: &[u8],
) -> Result<(), bus::BusError> {
    let routing_key = format!("{source}.{event_type}");
    let partition = bus::partition_of(partition_key, ingest.bus.config().partitions);
    let received = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis().to_string())
        .unwrap_or_default();
    let headers = [
        ("x-source", source),
        ("x-event-type", event_type),
        ("x-received-ms", received.as_str()),
    ];
    ingest
        .bus
        .publish(&bus::Message {
            target: bus::Target::Events,
            routing_key: &routing_key,
            message_id: key,
            partition,
            headers: &headers,
            body: raw,
        })
        .await
}
