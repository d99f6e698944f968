//! What a Neo4j bookmark says: which transaction of which database it stands for.
//!
//! Neo4j 5 bookmarks are opaque to drivers, but the router needs to know whether a reader has
//! already applied the transaction a client presents, *before* sending it there: a server that
//! does not host the bookmark's database accepts the bookmark without waiting (checked on 5.26:
//! an independent server answers at once), so sending the bookmark along is not proof enough.
//!
//! A Neo4j 5 bookmark is `FB:` + base64 of a PackStream sequence: a list header whose size is
//! the number of databases, then per database its 16-byte id (`BYTES_8`) and the id of the last
//! transaction (an integer), then the list of external graph states (empty). Anything else
//! (another prefix, a format from a later version) parses as `None`, and the router then treats
//! the bookmark as unprovable and reads from the leader: safe, only slower.

use std::collections::HashMap;

use base64::Engine as _;

/// A database's identity inside a bookmark.
pub type DatabaseId = [u8; 16];

/// The transactions a bookmark stands for: per database, the id of the last one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BookmarkPosition(pub HashMap<DatabaseId, i64>);

impl BookmarkPosition {
    /// Parses a Neo4j 5 bookmark; `None` when the format is not the one described above.
    pub fn parse(bookmark: &str) -> Option<Self> {
        let body = bookmark.strip_prefix("FB:")?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(body)
            .ok()?;
        let mut reader = Reader {
            bytes: &bytes,
            at: 0,
        };
        let count = reader.list_header()?;
        let mut position = HashMap::with_capacity(count);
        for _ in 0..count {
            let id = reader.bytes16()?;
            let tx = reader.int()?;
            let entry = position.entry(id).or_insert(tx);
            *entry = (*entry).max(tx);
        }
        // The external graph states follow; a bookmark of ours never has any.
        reader.list_header()?;
        Some(BookmarkPosition(position))
    }

    /// Whether every transaction of `self` is covered by `applied` (same database, an equal or
    /// later transaction id).
    pub fn is_covered_by(&self, applied: &BookmarkPosition) -> bool {
        self.0
            .iter()
            .all(|(db, tx)| applied.0.get(db).is_some_and(|applied_tx| applied_tx >= tx))
    }

    /// Merges a newer observation in, keeping the highest transaction id per database.
    pub fn advance(&mut self, other: &BookmarkPosition) {
        for (db, tx) in &other.0 {
            let entry = self.0.entry(*db).or_insert(*tx);
            *entry = (*entry).max(*tx);
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let slice = self.bytes.get(self.at..self.at + n)?;
        self.at += n;
        Some(slice)
    }

    fn list_header(&mut self) -> Option<usize> {
        match self.byte()? {
            b @ 0x90..=0x9F => Some(usize::from(b - 0x90)),
            0xD4 => self.byte().map(usize::from),
            0xD5 => Some(usize::from(u16::from_be_bytes(
                self.take(2)?.try_into().ok()?,
            ))),
            _ => None,
        }
    }

    fn bytes16(&mut self) -> Option<DatabaseId> {
        if self.byte()? != 0xCC || self.byte()? != 16 {
            return None;
        }
        self.take(16)?.try_into().ok()
    }

    fn int(&mut self) -> Option<i64> {
        let b = self.byte()?;
        match b {
            0x00..=0x7F => Some(i64::from(b)),
            0xF0..=0xFF => Some(i64::from(b as i8)),
            0xC8 => Some(i64::from(self.byte()? as i8)),
            0xC9 => Some(i64::from(i16::from_be_bytes(
                self.take(2)?.try_into().ok()?,
            ))),
            0xCA => Some(i64::from(i32::from_be_bytes(
                self.take(4)?.try_into().ok()?,
            ))),
            0xCB => Some(i64::from_be_bytes(self.take(8)?.try_into().ok()?)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Bookmarks returned by Neo4j 5.26 (see the module docs).
    const LEADER_79548: &str = "FB:kcwQJloKCzUfTZ6fbqY24+i428oAATa8kA==";
    const LEADER_79550: &str = "FB:kcwQJloKCzUfTZ6fbqY24+i428oAATa+kA==";
    const OTHER_119: &str = "FB:kcwQhGePPNKjRwGI3PX/47r22XeQ";
    const BOTH: &str = "FB:kswQhGePPNKjRwGI3PX/47r22XfMECZaCgs1H02en26mNuPouNvKAAE2vpA=";

    #[test]
    fn parses_real_bookmarks() {
        let leader = BookmarkPosition::parse(LEADER_79548).expect("parses");
        assert_eq!(leader.0.len(), 1);
        assert_eq!(leader.0.values().copied().collect::<Vec<_>>(), vec![79548]);
        let other = BookmarkPosition::parse(OTHER_119).expect("parses");
        assert_eq!(other.0.values().copied().collect::<Vec<_>>(), vec![119]);
        let both = BookmarkPosition::parse(BOTH).expect("parses");
        assert_eq!(both.0.len(), 2);
    }

    #[test]
    fn coverage_needs_the_same_database_and_a_later_transaction() {
        let old = BookmarkPosition::parse(LEADER_79548).expect("parses");
        let new = BookmarkPosition::parse(LEADER_79550).expect("parses");
        let other = BookmarkPosition::parse(OTHER_119).expect("parses");
        assert!(old.is_covered_by(&new));
        assert!(new.is_covered_by(&new));
        assert!(!new.is_covered_by(&old));
        // Another database (an independent server) never proves anything.
        assert!(!old.is_covered_by(&other));
        let mut seen = other.clone();
        seen.advance(&old);
        assert!(old.is_covered_by(&seen));
        assert!(!new.is_covered_by(&seen));
    }

    #[test]
    fn unknown_formats_are_refused() {
        for bad in [
            "",
            "FB:",
            "FB:!!!",
            "neo4j:bookmark:v1:tx42",
            "FB:kQ==",
            "XX:kcwQhGePPNKjRwGI3PX/47r22XeQ",
        ] {
            assert_eq!(BookmarkPosition::parse(bad), None, "{bad}");
        }
    }
}
