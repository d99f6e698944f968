//! Canonical text of a GraphQL document: what two requests must share to be "the same
//! operation" (the result cache keys on it) and, with literals replaced, the operation's
//! *shape* (hot-query statistics group by it).
//!
//! Insignificant characters go — whitespace, commas, comments — and tokens are joined by one
//! space, so `{ people(limit: 2) { name } }` and `{people(limit:2){name}}` are equal. Strings
//! keep their exact content (block strings are kept as written).

/// The document's tokens, separated by single spaces.
pub fn normalize(source: &str) -> String {
    join(tokens(source), false)
}

/// Like [`normalize`], with string and number literals replaced by `?`.
pub fn shape(source: &str) -> String {
    join(tokens(source), true)
}

#[derive(Debug, PartialEq)]
enum Token<'a> {
    Literal(&'a str),
    Other(&'a str),
}

fn join(tokens: Vec<Token<'_>>, erase: bool) -> String {
    let mut out = String::with_capacity(tokens.len() * 6);
    for (i, t) in tokens.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        match t {
            Token::Literal(_) if erase => out.push('?'),
            Token::Literal(s) | Token::Other(s) => out.push_str(s),
        }
    }
    out
}

fn tokens(s: &str) -> Vec<Token<'_>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => i += 1,
            0xEF if b[i..].starts_with(&[0xEF, 0xBB, 0xBF]) => i += 3, // BOM
            b'#' => {
                while i < b.len() && b[i] != b'\n' && b[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' => {
                let start = i;
                if b[i..].starts_with(b"\"\"\"") {
                    i += 3;
                    while i < b.len() && !b[i..].starts_with(b"\"\"\"") {
                        i += if b[i..].starts_with(b"\\\"\"\"") {
                            4
                        } else {
                            1
                        };
                    }
                    i = (i + 3).min(b.len());
                } else {
                    i += 1;
                    while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
                        i += if b[i] == b'\\' { 2 } else { 1 };
                    }
                    i = (i + 1).min(b.len());
                }
                out.push(Token::Literal(&s[start..i.min(s.len())]));
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                i += 1;
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'.' | b'+' | b'-'))
                {
                    // Exponent signs only follow `e`/`E`.
                    if matches!(b[i], b'+' | b'-') && !matches!(b[i - 1], b'e' | b'E') {
                        break;
                    }
                    i += 1;
                }
                out.push(Token::Literal(&s[start..i]));
            }
            b'.' if b[i..].starts_with(b"...") => {
                out.push(Token::Other(&s[i..i + 3]));
                i += 3;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                out.push(Token::Other(&s[start..i]));
            }
            _ => {
                // Punctuators (and anything else, one character at a time, so invalid input
                // still normalizes; the parser reports it).
                let len = s[i..].chars().next().map_or(1, char::len_utf8);
                out.push(Token::Other(&s[i..i + len]));
                i += len;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insignificant_characters_do_not_matter() {
        let a = "query Q($id: ID!) {\n  people(where: {id: {eq: $id}}, limit: 2) { name } # hi\n}";
        let b = "query Q($id:ID!){people(where:{id:{eq:$id}} limit:2){name}}";
        assert_eq!(normalize(a), normalize(b));
        assert_eq!(
            normalize(b),
            "query Q ( $ id : ID ! ) { people ( where : { id : { eq : $ id } } limit : 2 ) { name } }"
        );
    }

    #[test]
    fn strings_keep_their_content() {
        assert_ne!(
            normalize(r#"{ people(where: {name: {eq: "a  b"}}) { name } }"#),
            normalize(r#"{ people(where: {name: {eq: "a b"}}) { name } }"#)
        );
        assert_eq!(
            normalize(r#"{ f(a: "x, # not a comment \" y") }"#),
            r#"{ f ( a : "x, # not a comment \" y" ) }"#
        );
        assert_eq!(
            normalize("{ f(a: \"\"\"block, \"\"\") }"),
            "{ f ( a : \"\"\"block, \"\"\" ) }"
        );
    }

    #[test]
    fn shapes_erase_literals() {
        assert_eq!(
            shape(r#"{ people(where: {name: {eq: "Ann"}}, limit: 10, offset: -1.5e+3) { name } }"#),
            shape(r#"{ people(where: {name: {eq: "Bob"}}, limit: 20, offset: 7) { name } }"#)
        );
        assert_eq!(
            shape("{ f(a: 1, b: $v, c: true) }"),
            "{ f ( a : ? b : $ v c : true ) }"
        );
    }

    #[test]
    fn fragments_spreads_and_unicode_survive() {
        assert_eq!(
            normalize("{ ...F } fragment F on Query { é }"),
            "{ ... F } fragment F on Query { é }"
        );
    }
}
