//! RFC 9535 JSONPath: a parser and an evaluator bounded in time, memory and stack, whatever
//! the query and the document.
//!
//! - Parsing is one pass in linear time; brackets and parentheses nest at most
//!   [`MAX_QUERY_NESTING`] deep and a query is at most [`MAX_QUERY_BYTES`] long, so no query
//!   exhausts the stack or takes long to read.
//! - Evaluation spends a budget of nodes (`query.max_nodes` in `config.json`): every node a
//!   selector visits costs one, in filters and descendants too, and so does every node a
//!   comparison walks; strings cost by their length, and compiling a regular expression
//!   costs [`REGEX_COMPILE_COST`]. Every list the evaluator holds grows only as it spends,
//!   so memory is bounded by the same budget. Past it, the query fails.
//! - `match` and `search` compile each pattern once per evaluation (a few are kept, see
//!   [`MAX_CACHED_REGEXES`]), each at most [`MAX_REGEX_BYTES`] compiled; a pattern that
//!   does not compile matches nothing, as RFC 9535 says of invalid I-Regexps.
//!
//! The results (values, normalized paths, order) are those of the compliance test suite;
//! where `serde_json_path` 0.7, which this replaces, departs from RFC 9535, this follows the
//! RFC: blank space before `..` is allowed, `\ud83d`-style escapes may be lowercase, a
//! negative index in a singular query counts from the end, and `<=`, `>=` are `<` or `==`.
//!
//! Pure: values in, values out.

mod ast;
mod eval;
mod parse;

use std::fmt::Write as _;

use serde_json::Value;

pub use ast::SingularStep;
pub(crate) use ast::{Basic, Call, Logical, Query, Segment, Selector, ValueExpr};
pub(crate) use eval::Evaluator;
pub use eval::{Exhausted, Located, PathStep};

/// The longest JSONPath accepted, in bytes: 128 KiB, as long as one command-line argument
/// may be on Linux, and far past any query a person or a script writes.
pub const MAX_QUERY_BYTES: usize = 128 * 1024;

/// How deep brackets and parentheses may nest in a JSONPath (`$[?@[?(…)]]`): each level is
/// a level of recursion in the parser and the evaluator, so this bounds their stack. The
/// deepest query takes about 400 KB of stack in a debug build, a fifth of a test thread's.
pub const MAX_QUERY_NESTING: usize = 32;

/// The most memory one compiled `match` or `search` pattern may take (the `regex` crate's
/// size limit). `a{100}{100}` fits; a pattern past it matches nothing.
pub const MAX_REGEX_BYTES: usize = 1 << 20;

/// How many compiled patterns one evaluation keeps for reuse; past it the cache starts
/// afresh, so patterns read from a document cannot pile up in memory.
pub const MAX_CACHED_REGEXES: usize = 16;

/// What compiling one pattern costs from the node budget: a compilation takes from tens of
/// microseconds to a few milliseconds, as long as visiting ten thousand nodes or more.
pub const REGEX_COMPILE_COST: u64 = 10_000;

/// How many bytes of a string `match` and `search` read for one node of the budget.
pub const REGEX_BYTES_PER_NODE: u64 = 4;

/// How many bytes of a string a comparison or `length` reads for one node of the budget.
pub const STRING_BYTES_PER_NODE: u64 = 64;

/// A parsed JSONPath query.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    query: Query,
}

/// Why a JSONPath does not parse, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub message: String,
    /// The byte offset in the query where it went wrong.
    pub position: usize,
}

impl JsonPath {
    /// Parse an RFC 9535 JSONPath query.
    pub fn parse(source: &str) -> Result<JsonPath, SyntaxError> {
        if source.len() > MAX_QUERY_BYTES {
            return Err(SyntaxError {
                message: format!(
                    "the query is {} bytes long, more than the {MAX_QUERY_BYTES} allowed",
                    source.len()
                ),
                position: MAX_QUERY_BYTES,
            });
        }
        parse::parse(source).map(|query| JsonPath { query })
    }

    pub(crate) fn query(&self) -> &Query {
        &self.query
    }

    /// The steps of a query made only of single names and indexes, which names at most one
    /// place; `None` for any other.
    pub fn singular_steps(&self) -> Option<Vec<SingularStep>> {
        self.query.singular()
    }

    /// Every node the query selects in `root`, in order, with its location; fails when that
    /// needs more than `max_nodes` nodes.
    pub fn locate<'v>(&self, root: &'v Value, max_nodes: u64) -> Result<Located<'v>, Exhausted> {
        Evaluator::new(max_nodes).locate(&self.query, root)
    }
}

/// The error of a query that ran out of its budget, naming the setting that raises it.
pub fn exhausted_error(max_nodes: u64) -> crate::error::Error {
    crate::error::Error::invalid(format!(
        "the JSONPath query needs more than {max_nodes} nodes, the limit `query.max_nodes`"
    ))
    .with_hint(
        "narrow the query (name the collection to filter rather than searching with `..`), \
         or raise `query.max_nodes` in the state root's `config.json`",
    )
}

/// The query with a caret under the character at byte `position`, on two lines indented by
/// two spaces. A long query is cut to the part around the position.
pub fn show_position(source: &str, position: usize) -> String {
    /// How many characters of the query to show before and after the position.
    const BEFORE: usize = 60;
    const AFTER: usize = 20;
    let position = floor_char_boundary(source, position.min(source.len()));
    let before: Vec<char> = source[..position].chars().collect();
    let skipped = before.len().saturating_sub(BEFORE);
    let mut line = String::from("  ");
    if skipped > 0 {
        line.push('…');
    }
    let shown_before = &before[skipped..];
    line.extend(shown_before.iter().map(|c| printable(*c)));
    let mut after = source[position..].chars();
    line.extend(after.by_ref().take(AFTER).map(printable));
    if after.next().is_some() {
        line.push('…');
    }
    let indent = shown_before.len() + usize::from(skipped > 0);
    let _ = write!(line, "\n  {}^", " ".repeat(indent));
    line
}

/// A character as the one-line excerpt shows it: control characters as spaces, so the
/// caret stays under its place.
fn printable(c: char) -> char {
    if c.is_control() { ' ' } else { c }
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

/// Append the normalized-path segment of a member name: `['name']`, escaped as RFC 9535
/// section 2.7 requires.
pub fn push_normalized_name(out: &mut String, name: &str) {
    out.push_str("['");
    for c in name.chars() {
        match c {
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push_str("']");
}

#[cfg(test)]
mod tests;
