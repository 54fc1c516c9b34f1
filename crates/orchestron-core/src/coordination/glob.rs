//! Path globs for file leases, pure: keys are paths relative to a repository's top level,
//! `/`-separated. In a pattern, `**` as a whole component matches any number of components
//! (none included), `*` any run of characters within a component, `?` one character,
//! `[abc]`, `[a-z]` and `[!a]` one character of a class, and `\` takes the next character
//! literally. [`overlap`] says whether two patterns can match one path, which is how a
//! lease covers a file and how two items' declared files collide.

/// The most characters a pattern holds: enough for any real path, and it bounds the work of
/// matching two patterns (quadratic in their lengths).
pub const MAX_PATTERN_CHARS: usize = 1_024;

/// A checked pattern: its text and its components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    text: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// `**`: any number of components.
    AnyDepth,
    /// One component.
    Segment(Vec<Token>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Char(char),
    /// `?`
    One,
    /// `*`
    Star,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// Whether `text` uses glob syntax (and is not one literal path).
pub fn is_glob(text: &str) -> bool {
    text.contains(['*', '?', '[', '\\'])
}

/// `path` with its glob characters escaped: a pattern matching that path exactly (a file
/// called `app/[id]/page.tsx`).
pub fn escape(path: &str) -> String {
    let mut escaped = String::with_capacity(path.len());
    for c in path.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// What a lease, a declared file or a sensitive path covers: a glob as written; a literal
/// path, itself and everything under it (a folder named plainly is taken whole, whether or
/// not it exists yet).
pub fn covering(pattern: &str) -> Result<Glob, String> {
    if is_glob(pattern) {
        Glob::parse(pattern)
    } else {
        let glob = Glob::parse(&format!("{}/**", escape(pattern)))?;
        Ok(Glob {
            text: pattern.to_owned(),
            parts: glob.parts,
        })
    }
}

impl Glob {
    /// Check `text` as a pattern over keys. The error says what is wrong in one line.
    pub fn parse(text: &str) -> Result<Glob, String> {
        if text.is_empty() {
            return Err("an empty pattern matches nothing".to_owned());
        }
        if text.chars().count() > MAX_PATTERN_CHARS {
            return Err(format!(
                "a pattern holds at most {MAX_PATTERN_CHARS} characters, not {}",
                text.chars().count()
            ));
        }
        if text.starts_with('/') {
            return Err(format!(
                "`{text}` starts with `/`: patterns are relative to the repository's top level"
            ));
        }
        let mut parts = Vec::new();
        for component in text.split('/') {
            match component {
                "" => {
                    return Err(format!(
                        "`{text}` has an empty component (`//` or a trailing `/`)"
                    ));
                }
                "." | ".." => {
                    return Err(format!(
                        "`{text}` has a `{component}` component: patterns name paths inside the \
                         repository"
                    ));
                }
                "**" => {
                    if parts.last() != Some(&Part::AnyDepth) {
                        parts.push(Part::AnyDepth);
                    }
                }
                _ => parts.push(Part::Segment(segment(text, component)?)),
            }
        }
        Ok(Glob {
            text: text.to_owned(),
            parts,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the path `key` matches.
    pub fn matches(&self, key: &str) -> bool {
        let components: Vec<&str> = key.split('/').collect();
        let mut memo = vec![None; (self.parts.len() + 1) * (components.len() + 1)];
        parts_match(&self.parts, &components, 0, 0, &mut memo)
    }

    /// `key` as a pattern matching only itself.
    #[cfg(test)]
    fn literal(key: &str) -> Glob {
        Glob {
            text: key.to_owned(),
            parts: key
                .split('/')
                .map(|component| Part::Segment(component.chars().map(Token::Char).collect()))
                .collect(),
        }
    }
}

fn segment(text: &str, component: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = component.chars().peekable();
    while let Some(c) = chars.next() {
        let token = match c {
            '*' => {
                if chars.peek() == Some(&'*') {
                    return Err(format!(
                        "`{text}` has `**` inside a component: write it as a whole component, \
                         as in `src/**/*.rs`"
                    ));
                }
                Token::Star
            }
            '?' => Token::One,
            '\\' => match chars.next() {
                Some(escaped) => Token::Char(escaped),
                None => return Err(format!("`{text}` ends a component with a lone `\\`")),
            },
            '[' => {
                let negated = matches!(chars.peek(), Some('!' | '^'));
                if negated {
                    chars.next();
                }
                let mut ranges = Vec::new();
                let mut closed = false;
                let mut first = true;
                while let Some(c) = chars.next() {
                    if c == ']' && !first {
                        closed = true;
                        break;
                    }
                    first = false;
                    let low = if c == '\\' {
                        chars
                            .next()
                            .ok_or_else(|| format!("`{text}` has an unclosed `[`"))?
                    } else {
                        c
                    };
                    if chars.peek() == Some(&'-') {
                        chars.next();
                        match chars.next() {
                            Some(']') => {
                                ranges.push((low, low));
                                ranges.push(('-', '-'));
                                closed = true;
                                break;
                            }
                            Some(high) if high >= low => ranges.push((low, high)),
                            Some(high) => {
                                return Err(format!(
                                    "`{text}` has the range `{low}-{high}`, which runs backwards"
                                ));
                            }
                            None => break,
                        }
                    } else {
                        ranges.push((low, low));
                    }
                }
                if !closed {
                    return Err(format!("`{text}` has an unclosed `[`"));
                }
                Token::Class { negated, ranges }
            }
            c => Token::Char(c),
        };
        if !(token == Token::Star && tokens.last() == Some(&Token::Star)) {
            tokens.push(token);
        }
    }
    Ok(tokens)
}

fn parts_match(
    parts: &[Part],
    components: &[&str],
    i: usize,
    j: usize,
    memo: &mut [Option<bool>],
) -> bool {
    let slot = i * (components.len() + 1) + j;
    if let Some(known) = memo[slot] {
        return known;
    }
    let result = match parts.get(i) {
        None => j == components.len(),
        Some(Part::AnyDepth) => {
            parts_match(parts, components, i + 1, j, memo)
                || (j < components.len() && parts_match(parts, components, i, j + 1, memo))
        }
        Some(Part::Segment(tokens)) => {
            j < components.len()
                && segment_matches(tokens, components[j])
                && parts_match(parts, components, i + 1, j + 1, memo)
        }
    };
    memo[slot] = Some(result);
    result
}

/// Whether one component matches a segment's tokens: the usual wildcard walk, going back to
/// the latest `*` on a mismatch (linear for one star, at most quadratic).
fn segment_matches(tokens: &[Token], text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    let (mut t, mut c) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while c < chars.len() {
        match tokens.get(t) {
            Some(Token::Star) => {
                star = Some((t, c));
                t += 1;
            }
            Some(token) if char_matches(token, chars[c]) => {
                t += 1;
                c += 1;
            }
            _ => match star {
                Some((star_t, star_c)) => {
                    t = star_t + 1;
                    c = star_c + 1;
                    star = Some((star_t, star_c + 1));
                }
                None => return false,
            },
        }
    }
    tokens[t..].iter().all(|token| *token == Token::Star)
}

fn char_matches(token: &Token, c: char) -> bool {
    match token {
        Token::Char(x) => *x == c,
        Token::One => true,
        Token::Class { negated, ranges } => in_class(c, *negated, ranges),
        Token::Star => false,
    }
}

/// Whether some path matches both `a` and `b`. Exact for the syntax above, except that two
/// classes are said to meet unless both are plain lists that share no character (the
/// answer errs towards "they may meet", which is the safe side for leases).
pub fn overlap(a: &Glob, b: &Glob) -> bool {
    let mut memo = Memo::new(a.parts.len(), b.parts.len());
    parts_meet(&a.parts, &b.parts, 0, 0, &mut memo)
}

/// What was found for each pair of positions, `None` until it is.
struct Memo {
    width: usize,
    known: Vec<Option<bool>>,
}

impl Memo {
    fn new(a: usize, b: usize) -> Memo {
        Memo {
            width: b + 1,
            known: vec![None; (a + 1) * (b + 1)],
        }
    }

    fn get(&self, (i, j): &(usize, usize)) -> Option<&bool> {
        self.known[i * self.width + j].as_ref()
    }

    fn insert(&mut self, (i, j): (usize, usize), value: bool) {
        self.known[i * self.width + j] = Some(value);
    }
}

fn parts_meet(a: &[Part], b: &[Part], i: usize, j: usize, memo: &mut Memo) -> bool {
    if let Some(&known) = memo.get(&(i, j)) {
        return known;
    }
    let result = match (a.get(i), b.get(j)) {
        (None, None) => true,
        (Some(Part::AnyDepth), _) => {
            parts_meet(a, b, i + 1, j, memo) || (j < b.len() && parts_meet(a, b, i, j + 1, memo))
        }
        (_, Some(Part::AnyDepth)) => {
            parts_meet(a, b, i, j + 1, memo) || (i < a.len() && parts_meet(a, b, i + 1, j, memo))
        }
        (Some(Part::Segment(x)), Some(Part::Segment(y))) => {
            segments_meet(x, y) && parts_meet(a, b, i + 1, j + 1, memo)
        }
        _ => false,
    };
    memo.insert((i, j), result);
    result
}

fn segments_meet(a: &[Token], b: &[Token]) -> bool {
    // A component is never empty: two patterns of only stars meet on any one character.
    let mut memo = Memo::new(a.len(), b.len());
    tokens_meet(a, b, 0, 0, &mut memo)
}

fn tokens_meet(a: &[Token], b: &[Token], i: usize, j: usize, memo: &mut Memo) -> bool {
    if let Some(&known) = memo.get(&(i, j)) {
        return known;
    }
    let result = match (a.get(i), b.get(j)) {
        (None, None) => true,
        (Some(Token::Star), _) => {
            tokens_meet(a, b, i + 1, j, memo) || (j < b.len() && tokens_meet(a, b, i, j + 1, memo))
        }
        (_, Some(Token::Star)) => {
            tokens_meet(a, b, i, j + 1, memo) || (i < a.len() && tokens_meet(a, b, i + 1, j, memo))
        }
        (Some(x), Some(y)) => chars_meet(x, y) && tokens_meet(a, b, i + 1, j + 1, memo),
        _ => false,
    };
    memo.insert((i, j), result);
    result
}

fn chars_meet(a: &Token, b: &Token) -> bool {
    match (a, b) {
        (Token::Char(x), Token::Char(y)) => x == y,
        (Token::One, _) | (_, Token::One) => true,
        (Token::Char(c), Token::Class { negated, ranges })
        | (Token::Class { negated, ranges }, Token::Char(c)) => in_class(*c, *negated, ranges),
        (
            Token::Class {
                negated: false,
                ranges: x,
            },
            Token::Class {
                negated: false,
                ranges: y,
            },
        ) => x.iter().any(|(a_low, a_high)| {
            y.iter()
                .any(|(b_low, b_high)| a_low <= b_high && b_low <= a_high)
        }),
        _ => true,
    }
}

fn in_class(c: char, negated: bool, ranges: &[(char, char)]) -> bool {
    ranges.iter().any(|(low, high)| (*low..=*high).contains(&c)) != negated
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(text: &str) -> Glob {
        Glob::parse(text).unwrap()
    }

    #[test]
    fn matching() {
        assert!(g("src/auth/**").matches("src/auth/login.rs"));
        assert!(g("src/auth/**").matches("src/auth/a/b/c.rs"));
        assert!(g("src/auth/**").matches("src/auth"));
        assert!(!g("src/auth/**").matches("src/authz/x.rs"));
        assert!(g("src/*.rs").matches("src/main.rs"));
        assert!(!g("src/*.rs").matches("src/a/main.rs"));
        assert!(g("**/*.rs").matches("main.rs"));
        assert!(g("**/*.rs").matches("a/b/main.rs"));
        assert!(g(".env*").matches(".env.local"));
        assert!(g("src/[ab].txt").matches("src/b.txt"));
        assert!(!g("src/[!ab].txt").matches("src/b.txt"));
        assert!(g("src/[!ab].txt").matches("src/c.txt"));
        assert!(g("a\\*b").matches("a*b"));
        assert!(!g("a\\*b").matches("axb"));
        assert!(g("src/x.txt").matches("src/x.txt"));
        assert!(!g("src/x.txt").matches("src/x.txtx"));
        assert!(g("**").matches("anything/at/all"));
        assert!(g("a/**/b").matches("a/b"));
        assert!(g("a/**/b").matches("a/x/y/b"));
        assert!(!g("a/**/b").matches("a/x/y/c"));
    }

    #[test]
    fn overlaps() {
        let meet = |a: &str, b: &str| {
            let (a, b) = (g(a), g(b));
            let there = overlap(&a, &b);
            assert_eq!(there, overlap(&b, &a), "not symmetric: {a:?} {b:?}");
            there
        };
        assert!(meet("src/auth/**", "src/**/*.rs"));
        assert!(meet("src/auth/**", "src/auth/login.rs"));
        assert!(!meet("src/auth/**", "src/billing/**"));
        assert!(!meet("docs/*.md", "src/**"));
        assert!(meet("**/*.md", "docs/*"));
        assert!(!meet("**/*.md", "**/*.rs"));
        assert!(meet("*a", "b*"));
        assert!(!meet("a*", "b*"));
        assert!(meet("[a-c]x", "bx"));
        assert!(!meet("[a-c]x", "[d-f]x"));
        assert!(meet("[!a]x", "[a-c]x"));
        assert!(meet("**", "x"));
        assert!(!meet("a/b", "a/b/c"));
        assert!(meet("a/**", "a"));
    }

    #[test]
    fn matching_agrees_with_overlap_with_the_path_itself() {
        let patterns = [
            "**", "*", "a/**", "**/b", "a/**/b", "*.rs", "a/*.rs", "a/*/c", "[ab]*", "[!a]?",
            "a?c", "**/*.md", "a/b", "*a*b*", "a\\*",
        ];
        let keys = [
            "a",
            "b",
            "a/b",
            "a/b/c",
            "a/x/y/b",
            "main.rs",
            "a/main.rs",
            "a/b/c.rs",
            "abc",
            "bc",
            "docs/x.md",
            "x.md",
            "aXbYb",
            "a*",
            "ab",
        ];
        for pattern in patterns {
            let glob = g(pattern);
            for key in keys {
                assert_eq!(
                    glob.matches(key),
                    overlap(&glob, &Glob::literal(key)),
                    "{pattern} ~ {key}"
                );
            }
        }
    }

    #[test]
    fn a_plain_path_covers_what_is_under_it_and_escapes_keep_brackets_literal() {
        let cover = |p: &str| covering(p).unwrap();
        assert!(cover("src").matches("src"));
        assert!(cover("src").matches("src/a/b.rs"));
        assert!(!cover("src").matches("srcs/a.rs"));
        assert!(overlap(&cover("newmod"), &cover("newmod/x.rs")));
        assert!(!overlap(&cover("newmod"), &cover("other/x.rs")));
        let page = escape("app/[id]/page.tsx");
        assert_eq!(page, "app/\\[id\\]/page.tsx");
        assert!(g(&page).matches("app/[id]/page.tsx"));
        assert!(!g(&page).matches("app/i/page.tsx"));
        let long = "a".repeat(MAX_PATTERN_CHARS + 1);
        assert!(Glob::parse(&long).unwrap_err().contains("at most"));
    }

    #[test]
    fn bad_patterns_say_why() {
        for (bad, why) in [
            ("", "empty pattern"),
            ("/etc/passwd", "starts with `/`"),
            ("src//x", "empty component"),
            ("src/", "empty component"),
            ("../x", "`..` component"),
            ("src/a**", "`**` inside a component"),
            ("src/[ab", "unclosed `[`"),
            ("src/[z-a]", "runs backwards"),
            ("src/x\\", "lone `\\`"),
        ] {
            let err = Glob::parse(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }
}
