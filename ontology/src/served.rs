//! The ontology as served: the type definitions plus the keys and range indexes the database
//! keeps for them ([`Ontology::adopt_database`]), swapped whole when the database's change.
//!
//! v7 type definitions declare no keys; their users create uniqueness constraints in the
//! database, and may create more while the service runs. Whoever reads the database's
//! constraints (at start, then on each degree-store scan in the gateway, on an interval in the
//! ingest worker) hands them to [`ServedOntology::adopt`]; every reader takes the current
//! ontology with [`ServedOntology::current`] once per operation, so an operation sees one set of
//! keys from compiling to tagging its result.

use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;

use crate::model::{DatabaseKeys, Ontology};

/// A key that appeared or disappeared: `(node type, property, where it comes from)`.
pub type Key = (String, String, String);

/// What an adoption changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Keys the ontology did not have before.
    pub added: Vec<Key>,
    /// Keys it no longer has.
    pub removed: Vec<Key>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}

/// The current ontology, replaceable while operations run on the previous one.
pub struct ServedOntology {
    current: ArcSwap<Ontology>,
    /// Serializes adoptions (two readers of the database racing would otherwise lose one).
    adopting: Mutex<()>,
}

impl ServedOntology {
    /// Serves `ontology` as it is (with whatever it has adopted already).
    pub fn new(ontology: Ontology) -> Self {
        ServedOntology {
            current: ArcSwap::from_pointee(ontology),
            adopting: Mutex::new(()),
        }
    }

    /// The ontology operations use now.
    pub fn current(&self) -> Arc<Ontology> {
        self.current.load_full()
    }

    /// Adopts what the database keeps now. Nothing is replaced when it is what was adopted
    /// before (in any order); otherwise returns the keys that changed (indexes alone may change
    /// with no key changing).
    pub fn adopt(&self, mut found: DatabaseKeys) -> Changes {
        found.constraints.sort_by(|a, b| a.name.cmp(&b.name));
        found.range_indexes.sort_by(|a, b| a.name.cmp(&b.name));
        let _one = self.adopting.lock().unwrap_or_else(PoisonError::into_inner);
        let before = self.current.load_full();
        if before.database == found {
            return Changes::default();
        }
        let mut next = (*before).clone();
        next.adopt_database(found);
        let (old, new) = (before.keys(), next.keys());
        let changes = Changes {
            added: new.iter().filter(|k| !old.contains(k)).cloned().collect(),
            removed: old.iter().filter(|k| !new.contains(k)).cloned().collect(),
        };
        self.current.store(Arc::new(next));
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DatabaseItem;

    fn item(name: &str, label: &str, property: &str) -> DatabaseItem {
        DatabaseItem {
            name: name.into(),
            label: label.into(),
            property: property.into(),
        }
    }

    fn served() -> ServedOntology {
        ServedOntology::new(
            crate::parse_ontology(
                "type Package @node { name: String! version: String deps: [Package!]! \
                 @relationship(type: \"DEPENDS_ON\", direction: OUT) }\n\
                 type Team @node { slug: String! @unique }",
            )
            .expect("parses"),
        )
    }

    fn key(t: &str, p: &str, source: &str) -> Key {
        (t.into(), p.into(), source.into())
    }

    #[test]
    fn constraints_become_keys_and_stop_being_keys_when_dropped() {
        let s = served();
        let first = s.current();
        assert_eq!(first.keys(), vec![key("Team", "slug", "@unique")]);
        let found = DatabaseKeys {
            constraints: vec![
                item("pkg_name", "Package", "name"),
                item("team_slug", "Team", "slug"),
                item("other", "Elsewhere", "name"),
            ],
            range_indexes: vec![item("pkg_version", "Package", "version")],
        };
        let changes = s.adopt(found.clone());
        assert_eq!(
            changes.added,
            vec![key("Package", "name", "database constraint `pkg_name`")]
        );
        assert!(changes.removed.is_empty());
        let now = s.current();
        let pkg = now.node("Package").expect("Package");
        assert!(pkg.property("name").expect("name").is_key());
        assert_eq!(
            pkg.property("version")
                .expect("version")
                .database_range_index
                .as_deref(),
            Some("pkg_version")
        );
        // The operations that took the ontology before keep theirs.
        assert!(!first
            .node("Package")
            .and_then(|n| n.property("name"))
            .expect("name")
            .is_key());
        assert_ne!(now.keys_digest, first.keys_digest);

        // The same items in another order change nothing, and nothing is replaced.
        let mut reordered = found.clone();
        reordered.constraints.reverse();
        assert!(s.adopt(reordered).is_empty());
        assert!(Arc::ptr_eq(&now, &s.current()));

        // The constraint dropped: the key goes; `@unique` stays a key.
        let changes = s.adopt(DatabaseKeys::default());
        assert_eq!(
            changes.removed,
            vec![key("Package", "name", "database constraint `pkg_name`")]
        );
        let now = s.current();
        assert!(!now
            .node("Package")
            .and_then(|n| n.property("name"))
            .expect("name")
            .is_key());
        assert_eq!(now.keys(), vec![key("Team", "slug", "@unique")]);
        assert_eq!(now.keys_digest, "");
    }
}
