//! Generated names exactly as `@neo4j/graphql` 7.6 makes them: a type's plural is
//! `pluralize(camelcase(name))` with the name's leading underscores kept, and `@plural(value:)`
//! is `camelcase(value)` (the library's `schema-model/utils/string-manipulation`). Both packages
//! are ported here rule for rule: `camelcase` 6.3 (defaults: not Pascal case, consecutive
//! capitals not preserved) and `pluralize` 8.0 (its irregular, plural and uncountable rules).

use std::collections::HashMap;
use std::sync::OnceLock;

use regex::{Captures, Regex};

/// The plural root fields and type names are made of: `Person` → `people`, `USER` → `users`,
/// `PullRequest` → `pullRequests`, `Series` → `series`, `_Tag` → `_tags`.
pub fn plural_of(type_name: &str) -> String {
    format!(
        "{}{}",
        leading_underscores(type_name),
        pluralize(&camel_case(type_name))
    )
}

/// What `@plural(value:)` makes the plural: the value camel-cased, not pluralized again.
pub fn plural_from_directive(value: &str) -> String {
    format!("{}{}", leading_underscores(value), camel_case(value))
}

fn leading_underscores(name: &str) -> &str {
    let rest = name.trim_start_matches('_');
    if rest.is_empty() {
        ""
    } else {
        &name[..name.len() - rest.len()]
    }
}

fn is_separator(c: char) -> bool {
    matches!(c, '_' | '.' | '-' | ' ')
}

/// `camelcase` 6.3 with its default options.
pub fn camel_case(input: &str) -> String {
    let input = input.trim();
    if input.is_empty() {
        return String::new();
    }
    let chars: Vec<char> = input.chars().collect();
    if chars.len() == 1 {
        return input.to_lowercase();
    }
    let mut chars = chars;
    if input != input.to_lowercase() {
        chars = preserve_camel_case(chars);
    }
    let start = chars.iter().take_while(|c| is_separator(**c)).count();
    let lowered: String = chars[start..].iter().collect::<String>().to_lowercase();
    post_process(&lowered)
}

fn is_upper(c: char) -> bool {
    c.is_uppercase()
}

fn is_lower(c: char) -> bool {
    c.is_lowercase()
}

/// Inserts `-` between words: before a capital that follows a small letter, and before the last
/// capital of a run that a small letter follows (`XMLHttp` → `XML-Http`).
fn preserve_camel_case(mut s: Vec<char>) -> Vec<char> {
    let (mut last_lower, mut last_upper, mut last_last_upper) = (false, false, false);
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if last_lower && is_upper(c) {
            s.insert(i, '-');
            last_lower = false;
            last_last_upper = last_upper;
            last_upper = true;
            i += 1;
        } else if last_upper && last_last_upper && is_lower(c) {
            s.insert(i - 1, '-');
            last_last_upper = last_upper;
            last_upper = false;
            last_lower = true;
        } else {
            let lower: String = c.to_lowercase().collect();
            let upper: String = c.to_uppercase().collect();
            let same = |t: &str| t.chars().eq(std::iter::once(c));
            last_lower = same(&lower) && !same(&upper);
            last_last_upper = last_upper;
            last_upper = same(&upper) && !same(&lower);
        }
        i += 1;
    }
    s
}

/// Separators followed by an identifier character (or the end) become that character upper
/// cased; digits followed by an identifier character are upper cased with it.
fn post_process(input: &str) -> String {
    static SEPARATORS_AND_IDENTIFIER: OnceLock<Regex> = OnceLock::new();
    static NUMBERS_AND_IDENTIFIER: OnceLock<Regex> = OnceLock::new();
    let separators = SEPARATORS_AND_IDENTIFIER
        .get_or_init(|| Regex::new(r"[_.\- ]+([\p{Alphabetic}\p{N}_]|$)").expect("valid"));
    let numbers = NUMBERS_AND_IDENTIFIER
        .get_or_init(|| Regex::new(r"\d+([\p{Alphabetic}\p{N}_]|$)").expect("valid"));
    let once = separators.replace_all(input, |c: &Captures| c[1].to_uppercase());
    numbers
        .replace_all(&once, |c: &Captures| c[0].to_uppercase())
        .into_owned()
}

struct Rules {
    /// In the order `pluralize` adds them; the last one that matches applies.
    plural: Vec<(Regex, &'static str)>,
    /// single → plural, and the plurals themselves (kept as they are).
    irregular_singles: HashMap<String, &'static str>,
    irregular_plurals: HashMap<&'static str, &'static str>,
    uncountable: Vec<&'static str>,
}

fn rules() -> &'static Rules {
    static RULES: OnceLock<Rules> = OnceLock::new();
    RULES.get_or_init(|| {
        const IRREGULAR: &[(&str, &str)] = &[
            ("I", "we"),
            ("me", "us"),
            ("he", "they"),
            ("she", "they"),
            ("them", "them"),
            ("myself", "ourselves"),
            ("yourself", "yourselves"),
            ("itself", "themselves"),
            ("herself", "themselves"),
            ("himself", "themselves"),
            ("themself", "themselves"),
            ("is", "are"),
            ("was", "were"),
            ("has", "have"),
            ("this", "these"),
            ("that", "those"),
            ("echo", "echoes"),
            ("dingo", "dingoes"),
            ("volcano", "volcanoes"),
            ("tornado", "tornadoes"),
            ("torpedo", "torpedoes"),
            ("genus", "genera"),
            ("viscus", "viscera"),
            ("stigma", "stigmata"),
            ("stoma", "stomata"),
            ("dogma", "dogmata"),
            ("lemma", "lemmata"),
            ("schema", "schemata"),
            ("anathema", "anathemata"),
            ("ox", "oxen"),
            ("axe", "axes"),
            ("die", "dice"),
            ("yes", "yeses"),
            ("foot", "feet"),
            ("eave", "eaves"),
            ("goose", "geese"),
            ("tooth", "teeth"),
            ("quiz", "quizzes"),
            ("human", "humans"),
            ("proof", "proofs"),
            ("carve", "carves"),
            ("valve", "valves"),
            ("looey", "looies"),
            ("thief", "thieves"),
            ("groove", "grooves"),
            ("pickaxe", "pickaxes"),
            ("passerby", "passersby"),
        ];
        const PLURAL: &[(&str, &str)] = &[
            (r"s?$", "s"),
            (r"[^\x00-\x7F]$", "$0"),
            (r"([^aeiou]ese)$", "$1"),
            (r"(ax|test)is$", "$1es"),
            (r"(alias|[^aou]us|t[lm]as|gas|ris)$", "$1es"),
            (r"(e[mn]u)s?$", "$1s"),
            (r"([^l]ias|[aeiou]las|[ejzr]as|[iu]am)$", "$1"),
            (
                r"(alumn|syllab|vir|radi|nucle|fung|cact|stimul|termin|bacill|foc|uter|loc|strat)(?:us|i)$",
                "$1i",
            ),
            (r"(alumn|alg|vertebr)(?:a|ae)$", "$1ae"),
            (r"(seraph|cherub)(?:im)?$", "$1im"),
            (r"(her|at|gr)o$", "$1oes"),
            (
                r"(agend|addend|millenni|dat|extrem|bacteri|desiderat|strat|candelabr|errat|ov|symposi|curricul|automat|quor)(?:a|um)$",
                "$1a",
            ),
            (
                r"(apheli|hyperbat|periheli|asyndet|noumen|phenomen|criteri|organ|prolegomen|hedr|automat)(?:a|on)$",
                "$1a",
            ),
            (r"sis$", "ses"),
            (r"(?:(kni|wi|li)fe|(ar|l|ea|eo|oa|hoo)f)$", "$1$2ves"),
            (r"([^aeiouy]|qu)y$", "$1ies"),
            (r"([^ch][ieo][ln])ey$", "$1ies"),
            (r"(x|ch|ss|sh|zz)$", "$1es"),
            (r"(matr|cod|mur|sil|vert|ind|append)(?:ix|ex)$", "$1ices"),
            (r"\b((?:tit)?m|l)(?:ice|ouse)$", "$1ice"),
            (r"(pe)(?:rson|ople)$", "$1ople"),
            (r"(child)(?:ren)?$", "$1ren"),
            (r"eaux$", "$0"),
            (r"m[ae]n$", "men"),
            (r"^thou$", "you"),
            // The uncountable patterns, added last: each keeps the word as it is.
            (r"pok[eé]mon$", "$0"),
            (r"[^aeiou]ese$", "$0"),
            (r"deer$", "$0"),
            (r"fish$", "$0"),
            (r"measles$", "$0"),
            (r"o[iu]s$", "$0"),
            (r"pox$", "$0"),
            (r"sheep$", "$0"),
        ];
        const UNCOUNTABLE: &[&str] = &[
            "adulthood",
            "advice",
            "agenda",
            "aid",
            "aircraft",
            "alcohol",
            "ammo",
            "analytics",
            "anime",
            "athletics",
            "audio",
            "bison",
            "blood",
            "bream",
            "buffalo",
            "butter",
            "carp",
            "cash",
            "chassis",
            "chess",
            "clothing",
            "cod",
            "commerce",
            "cooperation",
            "corps",
            "debris",
            "diabetes",
            "digestion",
            "elk",
            "energy",
            "equipment",
            "excretion",
            "expertise",
            "firmware",
            "flounder",
            "fun",
            "gallows",
            "garbage",
            "graffiti",
            "hardware",
            "headquarters",
            "health",
            "herpes",
            "highjinks",
            "homework",
            "housework",
            "information",
            "jeans",
            "justice",
            "kudos",
            "labour",
            "literature",
            "machinery",
            "mackerel",
            "mail",
            "media",
            "mews",
            "moose",
            "music",
            "mud",
            "manga",
            "news",
            "only",
            "personnel",
            "pike",
            "plankton",
            "pliers",
            "police",
            "pollution",
            "premises",
            "rain",
            "research",
            "rice",
            "salmon",
            "scissors",
            "series",
            "sewage",
            "shambles",
            "shrimp",
            "software",
            "species",
            "staff",
            "swine",
            "tennis",
            "traffic",
            "transportation",
            "trout",
            "tuna",
            "wealth",
            "welfare",
            "whiting",
            "wildebeest",
            "wildlife",
            "you",
        ];
        Rules {
            plural: PLURAL
                .iter()
                .map(|(re, to)| (Regex::new(&format!("(?i){re}")).expect("valid"), *to))
                .collect(),
            irregular_singles: IRREGULAR
                .iter()
                .map(|(s, p)| (s.to_lowercase(), *p))
                .collect(),
            irregular_plurals: IRREGULAR.iter().map(|(s, p)| (*p, *s)).collect(),
            uncountable: UNCOUNTABLE.to_vec(),
        }
    })
}

/// `pluralize`'s `restoreCase`: the replacement takes the case of what it replaces.
fn restore_case(word: &str, token: &str) -> String {
    if word == token {
        return token.to_owned();
    }
    if word == word.to_lowercase() {
        return token.to_lowercase();
    }
    if word == word.to_uppercase() {
        return token.to_uppercase();
    }
    if word.chars().next().is_some_and(char::is_uppercase) {
        let mut chars = token.chars();
        return match chars.next() {
            Some(c) => c
                .to_uppercase()
                .chain(chars.as_str().to_lowercase().chars())
                .collect(),
            None => String::new(),
        };
    }
    token.to_lowercase()
}

/// `pluralize.plural` 8.0.
pub fn pluralize(word: &str) -> String {
    let r = rules();
    let token = word.to_lowercase();
    if r.irregular_plurals.contains_key(token.as_str()) {
        return restore_case(word, &token);
    }
    if let Some(plural) = r.irregular_singles.get(&token) {
        return restore_case(word, plural);
    }
    if token.is_empty() || r.uncountable.contains(&token.as_str()) {
        return word.to_owned();
    }
    for (re, to) in r.plural.iter().rev() {
        let Some(c) = re.captures(word) else { continue };
        let m = c.get(0).expect("the whole match");
        let result = interpolate(to, &c);
        let replaced = if m.as_str().is_empty() {
            // An empty match takes the case of the character before it.
            let before = word[..m.start()].chars().last().map(String::from);
            restore_case(before.as_deref().unwrap_or(""), &result)
        } else {
            restore_case(m.as_str(), &result)
        };
        return format!("{}{}{}", &word[..m.start()], replaced, &word[m.end()..]);
    }
    word.to_owned()
}

/// `$0`…`$99` in a replacement: the match and its groups (a group that did not take part: empty).
fn interpolate(to: &str, c: &Captures) -> String {
    static GROUP: OnceLock<Regex> = OnceLock::new();
    let group = GROUP.get_or_init(|| Regex::new(r"\$(\d{1,2})").expect("valid"));
    group
        .replace_all(to, |g: &Captures| {
            let i: usize = g[1].parse().unwrap_or(usize::MAX);
            c.get(i).map(|m| m.as_str().to_owned()).unwrap_or_default()
        })
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each name, its camel case and its plural as `camelcase` 6.3 and `pluralize` 8.0 give them
    /// (printed by node from the packages the library uses).
    const FROM_THE_PACKAGES: &str = "Person\tperson\tpeople
SalesPerson\tsalesPerson\tsalesPeople
Repository\trepository\trepositories
PullRequest\tpullRequest\tpullRequests
Match\tmatch\tmatches
Day\tday\tdays
Movie\tmovie\tmovies
Box\tbox\tboxes
USER\tuser\tusers
Series\tseries\tseries
Information\tinformation\tinformation
Status\tstatus\tstatuses
Index\tindex\tindices
Datum\tdatum\tdata
Analysis\tanalysis\tanalyses
Child\tchild\tchildren
Mouse\tmouse\tmice
Sheep\tsheep\tsheep
Knife\tknife\tknives
Leaf\tleaf\tleaves
Quiz\tquiz\tquizzes
Genus\tgenus\tgenera
_Tag\ttag\t_tags
HTTPServer\thttpServer\thttpServers
Chinese\tchinese\tchinese
Tech\ttech\tteches
Movie2Actor\tmovie2Actor\tmovie2Actors
Company\tcompany\tcompanies
Key\tkey\tkeys
Money\tmoney\tmonies
XMLHttpRequest\txmlHttpRequest\txmlHttpRequests
my_type\tmyType\tmyTypes
snake_CASE_name\tsnakeCaseName\tsnakeCaseNames
ABC\tabc\tabcs
A\ta\tas
Axis\taxis\taxes
Alias\talias\taliases
Bus\tbus\tbuses
Photo\tphoto\tphotos
Hero\thero\theroes
Wife\twife\twives
Ox\tox\toxen
Criterion\tcriterion\tcriteria
Phenomenon\tphenomenon\tphenomena
Matrix\tmatrix\tmatrices
Vertex\tvertex\tvertices
Cactus\tcactus\tcacti
Man\tman\tmen
Woman\twoman\twomen
Human\thuman\thumans
Fish\tfish\tfish
Pok\u{e9}mon\tpok\u{e9}mon\tpok\u{e9}mon
Thou\tthou\tyou
Movie_actor\tmovieActor\tmovieActors
a1b2\ta1B2\ta1B2s
PostV2\tpostV2\tpostV2s
ID\tid\tids
Id\tid\tids
UUIDThing\tuuidThing\tuuidThings";

    #[test]
    fn names_match_the_packages() {
        for line in FROM_THE_PACKAGES.lines() {
            let [name, camel, plural] = line.split('\t').collect::<Vec<_>>()[..] else {
                panic!("three columns: {line}")
            };
            assert_eq!(camel_case(name), camel, "camel case of {name}");
            assert_eq!(plural_of(name), plural, "plural of {name}");
        }
        assert_eq!(plural_from_directive("technologies"), "technologies");
        assert_eq!(plural_from_directive("Technologies"), "technologies");
        assert_eq!(plural_from_directive("my_things"), "myThings");
    }
}
