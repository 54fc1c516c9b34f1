//! Paths into JSON documents, and changes at the places they name.
//!
//! Two notations are accepted:
//! - a dot path (`a.b.c`, `tasks[0].title`, `a["key.with.dots"]`; `""` is the root), which
//!   names at most one place and, when written to, creates what is missing on the way;
//! - an RFC 9535 JSONPath starting with `$` (filters included), evaluated by [`jsonpath`]
//!   within a budget of nodes, which names every matching node. A JSONPath made only of
//!   names and indexes (`$.a.b`, `$['x'][0]`) names one place and is written to like a dot
//!   path.
//!
//! Pure: values in, values out.

use std::fmt::Write as _;

use serde_json::{Map, Number, Value};

use crate::config::DEFAULT_QUERY_MAX_NODES;
use crate::error::Error;
use crate::jsonpath::{self, JsonPath, Located, PathStep, SingularStep};

pub use crate::jsonpath::push_normalized_name;

/// One step from a node to a child.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    Key(String),
    /// An array index; negative counts from the end.
    Index(i64),
}

/// A parsed path.
#[derive(Debug)]
pub enum DocPath {
    /// A dot path: at most one place.
    Dot(Vec<Step>),
    /// A JSONPath; `singular` holds its steps when it names at most one place, and
    /// `max_nodes` is its budget.
    Query {
        path: Box<JsonPath>,
        singular: Option<Vec<Step>>,
        max_nodes: u64,
    },
}

/// What a JSONPath matched: each node with its normalized path.
pub type Matches<'a> = Vec<(String, &'a Value)>;

/// The result of a lookup.
#[derive(Debug)]
pub enum Found<'a> {
    /// A dot path: the value, if it is there.
    One(Option<&'a Value>),
    /// A JSONPath: every match, in document order.
    Many(Matches<'a>),
}

/// A change to make at each place a path names.
#[derive(Debug, Clone, Copy)]
pub enum Edit<'a> {
    /// Replace the value.
    Set(&'a Value),
    /// Merge deeply: objects recursively, arrays and scalars replaced.
    Merge(&'a Map<String, Value>),
    /// Remove the key or array element; a missing one is not an error.
    Delete,
    /// Push onto an array, created when missing.
    Append(&'a Value),
    /// Add to a number, which starts at 0 when missing.
    Increment(&'a Number),
}

/// What an edit did.
#[derive(Debug, Default, PartialEq)]
pub struct Applied {
    /// How many places the path named.
    pub matched: usize,
    /// Whether the document changed.
    pub changed: bool,
    /// The new value at each place (for `Increment`, the new numbers).
    pub values: Vec<Value>,
}

impl DocPath {
    /// Parse `raw`: a JSONPath when it starts with `$`, else a dot path. A JSONPath gets the
    /// default budget ([`DocPath::with_max_nodes`] sets another).
    pub fn parse(raw: &str) -> anyhow::Result<DocPath> {
        if raw.starts_with('$') {
            let path = compile(raw)?;
            let singular = path.singular_steps().map(|steps| {
                steps
                    .into_iter()
                    .map(|step| match step {
                        SingularStep::Name(name) => Step::Key(name),
                        SingularStep::Index(index) => Step::Index(index),
                    })
                    .collect()
            });
            Ok(DocPath::Query {
                path: Box::new(path),
                singular,
                max_nodes: DEFAULT_QUERY_MAX_NODES,
            })
        } else {
            parse_dot(raw).map(DocPath::Dot)
        }
    }

    /// The same path with a budget of `max_nodes` nodes for a JSONPath (`query.max_nodes`).
    pub fn with_max_nodes(mut self, max_nodes: u64) -> DocPath {
        if let DocPath::Query {
            max_nodes: budget, ..
        } = &mut self
        {
            *budget = max_nodes;
        }
        self
    }

    /// The budget of a JSONPath, in nodes (a dot path needs none).
    pub fn max_nodes(&self) -> u64 {
        match self {
            DocPath::Query { max_nodes, .. } => *max_nodes,
            DocPath::Dot(_) => DEFAULT_QUERY_MAX_NODES,
        }
    }

    pub fn is_query(&self) -> bool {
        matches!(self, DocPath::Query { .. })
    }

    /// Look the path up in `document`; a JSONPath fails past its budget.
    pub fn find<'a>(&self, document: &'a Value) -> anyhow::Result<Found<'a>> {
        Ok(match self {
            DocPath::Dot(steps) => Found::One(lookup(document, steps)),
            DocPath::Query {
                path, max_nodes, ..
            } => Found::Many(query(path, document, *max_nodes)?),
        })
    }

    /// Apply `edit` at every place the path names.
    pub fn apply(&self, document: &mut Value, edit: Edit<'_>) -> anyhow::Result<Applied> {
        let (targets, create) = match self {
            DocPath::Dot(steps)
            | DocPath::Query {
                singular: Some(steps),
                ..
            } => (vec![steps.clone()], true),
            DocPath::Query {
                path,
                singular: None,
                max_nodes,
            } => {
                let located = locate(path, document, *max_nodes)?;
                let mut targets: Vec<Vec<Step>> = located
                    .iter()
                    .map(|(_, location)| steps_of(&located.steps(location)))
                    .collect();
                // Deepest and highest index first, so that deleting one match never moves
                // another; and each place once, however many selectors reached it.
                targets.sort_by(|a, b| b.cmp(a));
                targets.dedup();
                (targets, false)
            }
        };
        // Every place is checked before any is changed, so a refused edit changes nothing:
        // not even the containers a created path would have made on its way.
        for steps in &targets {
            check_at(document, steps, edit, create)?;
        }
        let mut applied = Applied {
            matched: 0,
            changed: false,
            values: Vec::new(),
        };
        // Several places can undo each other (a merge at `$..b` into both `b` and `b.b`):
        // whether the document changed is then decided by comparing it whole.
        let before = (targets.len() > 1).then(|| document.clone());
        for steps in &targets {
            let (matched, changed, value) = apply_at(document, steps, edit, create)?;
            applied.matched += usize::from(matched);
            applied.changed |= changed;
            applied.values.extend(value);
        }
        if let Some(before) = before
            && applied.changed
        {
            applied.changed = *document != before;
        }
        // Report new values in document order, the order of the matches.
        applied.values.reverse();
        Ok(applied)
    }
}

/// Compile an RFC 9535 JSONPath; the error shows where it failed.
pub fn compile(raw: &str) -> anyhow::Result<JsonPath> {
    JsonPath::parse(raw).map_err(|err| {
        Error::invalid(format!(
            "invalid JSONPath: {}\n{}",
            err.message,
            jsonpath::show_position(raw, err.position)
        ))
        .into()
    })
}

/// Evaluate a compiled JSONPath within a budget of `max_nodes` nodes: each match with its
/// normalized path.
pub fn query<'a>(
    path: &JsonPath,
    document: &'a Value,
    max_nodes: u64,
) -> anyhow::Result<Matches<'a>> {
    let located = locate(path, document, max_nodes)?;
    Ok(located
        .iter()
        .map(|(node, location)| (located.normalized_path(location), node))
        .collect())
}

fn locate<'a>(path: &JsonPath, document: &'a Value, max_nodes: u64) -> anyhow::Result<Located<'a>> {
    path.locate(document, max_nodes)
        .map_err(|exhausted| jsonpath::exhausted_error(exhausted.max_nodes).into())
}

fn steps_of(location: &[PathStep<'_>]) -> Vec<Step> {
    location
        .iter()
        .map(|step| match step {
            PathStep::Name(name) => Step::Key((*name).clone()),
            PathStep::Index(index) => Step::Index(i64::try_from(*index).unwrap_or(i64::MAX)),
        })
        .collect()
}

/// Render steps as a dot path, for messages.
pub fn display_steps(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps {
        match step {
            Step::Key(key) if is_plain_key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Step::Key(key) => {
                let _ = write!(out, "[{}]", Value::String(key.clone()));
            }
            Step::Index(index) => {
                let _ = write!(out, "[{index}]");
            }
        }
    }
    if out.is_empty() {
        out.push('$');
    }
    out
}

fn is_plain_key(key: &str) -> bool {
    !key.is_empty() && !key.contains(['.', '[', ']', '"', '\''])
}

/// Resolve an index against an array length; `None` when out of range.
fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let resolved = if index < 0 { len + index } else { index };
    (0..len).contains(&resolved).then_some(resolved as usize)
}

/// A key used on an array: a number names an element (`tasks.0` as V2 scripts wrote it).
fn as_index(key: &str) -> Option<i64> {
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        return None;
    }
    key.parse().ok()
}

fn child<'a>(node: &'a Value, step: &Step) -> Option<&'a Value> {
    match (node, step) {
        (Value::Object(map), Step::Key(key)) => map.get(key),
        (Value::Array(items), Step::Index(index)) => {
            resolve_index(*index, items.len()).map(|i| &items[i])
        }
        (Value::Array(items), Step::Key(key)) => as_index(key)
            .and_then(|index| resolve_index(index, items.len()))
            .map(|i| &items[i]),
        _ => None,
    }
}

fn lookup<'a>(document: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    steps
        .iter()
        .try_fold(document, |node, step| child(node, step))
}

/// What kind of JSON value this is, for messages: `a string`, `an array`.
pub fn display_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Where one step from a node leads, decided without changing anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// The child is there: an object's member, or the array element at this position.
    Member,
    Element(usize),
    /// The child is missing and `create` makes it (a new key, or the next array element);
    /// on a `null` node the container itself is made first.
    Made,
    /// The child is missing and nothing is made.
    Missing,
}

/// Where `step` leads from `node` (`None`: a node this edit has just made, empty). The one
/// rule behind [`child_mut`] and [`check_at`].
fn reach(node: Option<&Value>, step: &Step, create: bool, at: &[Step]) -> anyhow::Result<Reach> {
    let node = match node {
        None | Some(Value::Null) if create => {
            // A new container: an object takes any key, an array its first element.
            return match step {
                Step::Index(index) if *index != 0 => anyhow::bail!(
                    "index {index} is out of range for `{}` (length 0)",
                    display_steps(at)
                ),
                _ => Ok(Reach::Made),
            };
        }
        None => return Ok(Reach::Missing),
        Some(node) => node,
    };
    match (node, step) {
        (Value::Object(map), Step::Key(key)) => Ok(if map.contains_key(key) {
            Reach::Member
        } else if create {
            Reach::Made
        } else {
            Reach::Missing
        }),
        (Value::Array(items), step) => {
            let index = match step {
                Step::Index(index) => *index,
                Step::Key(key) => match as_index(key) {
                    Some(index) => index,
                    None => anyhow::bail!(
                        "`{}` is an array: use an index such as `[0]`, not `{key}`",
                        display_steps(at)
                    ),
                },
            };
            let len = items.len();
            match resolve_index(index, len) {
                Some(i) => Ok(Reach::Element(i)),
                None if create && usize::try_from(index).is_ok_and(|i| i == len) => Ok(Reach::Made),
                None if create => anyhow::bail!(
                    "index {index} is out of range for `{}` (length {len})",
                    display_steps(at)
                ),
                None => Ok(Reach::Missing),
            }
        }
        (node, step) if create => anyhow::bail!(
            "cannot reach `{}`: `{}` is {}",
            display_steps(&[at, std::slice::from_ref(step)].concat()),
            display_steps(at),
            display_kind(node)
        ),
        _ => Ok(Reach::Missing),
    }
}

/// The mutable child at `step`, inserting `null` when it is missing and `create` is set
/// (the flag returned says so). `Ok(None)` when it is missing and `create` is not set.
fn child_mut<'a>(
    node: &'a mut Value,
    step: &Step,
    create: bool,
    at: &[Step],
) -> anyhow::Result<Option<(&'a mut Value, bool)>> {
    let reach = reach(Some(node), step, create, at)?;
    if reach == Reach::Made && node.is_null() {
        *node = match step {
            Step::Key(_) => Value::Object(Map::new()),
            Step::Index(_) => Value::Array(Vec::new()),
        };
    }
    Ok(match (reach, node, step) {
        (Reach::Member, Value::Object(map), Step::Key(key)) => map.get_mut(key).map(|v| (v, false)),
        (Reach::Element(i), Value::Array(items), _) => Some((&mut items[i], false)),
        (Reach::Made, Value::Object(map), Step::Key(key)) => {
            Some((map.entry(key.clone()).or_insert(Value::Null), true))
        }
        (Reach::Made, Value::Array(items), _) => {
            items.push(Value::Null);
            items.last_mut().map(|value| (value, true))
        }
        _ => None,
    })
}

/// Whether [`apply_at`] would succeed, without changing anything: the same walk, on a
/// document that is only read. A path that runs past the document is created fresh, where
/// only a key or the index 0 of a new array can be made.
fn check_at(document: &Value, steps: &[Step], edit: Edit<'_>, create: bool) -> anyhow::Result<()> {
    if let Edit::Delete = edit {
        return if steps.is_empty() {
            Err(anyhow::anyhow!("cannot delete the root of a document"))
        } else {
            Ok(())
        };
    }
    // `None` once the walk is in containers this edit would make.
    let mut node = Some(document);
    for (depth, step) in steps.iter().enumerate() {
        node = match reach(node, step, create, &steps[..depth])? {
            Reach::Member | Reach::Element(_) => node.and_then(|node| child(node, step)),
            Reach::Made => None,
            Reach::Missing => return Ok(()),
        };
    }
    let whole = || display_steps(steps);
    match (edit, node) {
        (Edit::Append(_), Some(other)) if !other.is_null() && !other.is_array() => anyhow::bail!(
            "cannot append to `{}`: it is {}",
            whole(),
            display_kind(other)
        ),
        (Edit::Increment(by), node) => {
            let zero = Number::from(0);
            let current = match node {
                None | Some(Value::Null) => &zero,
                Some(Value::Number(number)) => number,
                Some(other) => anyhow::bail!(
                    "cannot increment `{}`: it is {}",
                    whole(),
                    display_kind(other)
                ),
            };
            if add(current, by).is_none() {
                anyhow::bail!("incrementing `{}` overflows", whole());
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Apply `edit` at one place. Returns whether the place existed or was made, whether the
/// document changed, and the new value when the edit reports one.
fn apply_at(
    document: &mut Value,
    steps: &[Step],
    edit: Edit<'_>,
    create: bool,
) -> anyhow::Result<(bool, bool, Option<Value>)> {
    if let Edit::Delete = edit {
        return delete_at(document, steps);
    }
    let mut node = document;
    let mut created = false;
    for (depth, step) in steps.iter().enumerate() {
        match child_mut(node, step, create, &steps[..depth])? {
            Some((next, made)) => {
                node = next;
                created |= made;
            }
            None => return Ok((false, false, None)),
        }
    }
    let whole = || display_steps(steps);
    let (changed, value) = match edit {
        Edit::Set(value) => {
            let changed = created || node != value;
            *node = value.clone();
            (changed, None)
        }
        Edit::Merge(data) => {
            let changed = if let Value::Object(target) = node {
                merge_into(target, data)
            } else {
                *node = Value::Object(data.clone());
                true
            };
            (created || changed, None)
        }
        Edit::Append(value) => {
            if node.is_null() {
                *node = Value::Array(Vec::new());
            }
            let Value::Array(items) = node else {
                anyhow::bail!(
                    "cannot append to `{}`: it is {}",
                    whole(),
                    display_kind(node)
                );
            };
            items.push(value.clone());
            (true, None)
        }
        Edit::Increment(by) => {
            let current = match &*node {
                Value::Null => &Number::from(0),
                Value::Number(number) => number,
                other => anyhow::bail!(
                    "cannot increment `{}`: it is {}",
                    whole(),
                    display_kind(other)
                ),
            };
            let sum = add(current, by)
                .ok_or_else(|| anyhow::anyhow!("incrementing `{}` overflows", whole()))?;
            let changed = created || Value::Number(sum.clone()) != *node;
            *node = Value::Number(sum.clone());
            (changed, Some(Value::Number(sum)))
        }
        Edit::Delete => unreachable!("handled above"),
    };
    Ok((true, changed, value))
}

fn delete_at(document: &mut Value, steps: &[Step]) -> anyhow::Result<(bool, bool, Option<Value>)> {
    let Some((last, parents)) = steps.split_last() else {
        anyhow::bail!("cannot delete the root of a document");
    };
    let Some(parent) = parents.iter().try_fold(document, |node, step| {
        child_mut(node, step, false, &[])
            .ok()
            .flatten()
            .map(|(next, _)| next)
    }) else {
        return Ok((false, false, None));
    };
    let removed = match (parent, last) {
        (Value::Object(map), Step::Key(key)) => map.remove(key).is_some(),
        (Value::Array(items), step) => {
            let index = match step {
                Step::Index(index) => Some(*index),
                Step::Key(key) => as_index(key),
            };
            match index.and_then(|index| resolve_index(index, items.len())) {
                Some(i) => {
                    items.remove(i);
                    true
                }
                None => false,
            }
        }
        _ => false,
    };
    Ok((removed, removed, None))
}

/// Merge `data` into `target`: objects recursively, everything else replaced. Returns
/// whether anything changed.
pub fn merge_into(target: &mut Map<String, Value>, data: &Map<String, Value>) -> bool {
    let mut changed = false;
    for (key, incoming) in data {
        match (target.get_mut(key), incoming) {
            (Some(Value::Object(existing)), Value::Object(incoming)) => {
                changed |= merge_into(existing, incoming);
            }
            (Some(existing), incoming) if existing == incoming => {}
            _ => {
                target.insert(key.clone(), incoming.clone());
                changed = true;
            }
        }
    }
    changed
}

/// `a + b`, in integers when both are integers, else in floating point.
fn add(a: &Number, b: &Number) -> Option<Number> {
    if let (Some(a), Some(b)) = (a.as_i64(), b.as_i64()) {
        return a.checked_add(b).map(Number::from);
    }
    if let (Some(a), Some(b)) = (a.as_u64(), b.as_u64()) {
        return a.checked_add(b).map(Number::from);
    }
    Number::from_f64(a.as_f64()? + b.as_f64()?)
}

/// Parse a dot path: `a.b`, `a[0]`, `a[-1]`, `a["k.e.y"]`, `a['k']`; `""` is the root.
fn parse_dot(raw: &str) -> anyhow::Result<Vec<Step>> {
    let fail = |at: usize, what: &str| -> anyhow::Error {
        Error::invalid(format!(
            "invalid path: {what}\n{}",
            jsonpath::show_position(raw, at)
        ))
        .into()
    };
    let bytes = raw.as_bytes();
    let mut steps = Vec::new();
    let mut i = 0;
    let mut expect_key = true; // at the start, or after a `.`
    while i < bytes.len() {
        match bytes[i] {
            b'[' => {
                let (step, next) = parse_bracket(raw, i).map_err(|what| fail(i, what))?;
                steps.push(step);
                i = next;
                expect_key = false;
            }
            b'.' if expect_key => return Err(fail(i, "empty key")),
            b'.' => {
                i += 1;
                if i == bytes.len() {
                    return Err(fail(i, "a path cannot end with `.`"));
                }
                expect_key = true;
            }
            b']' => return Err(fail(i, "unexpected `]`")),
            _ if !expect_key => return Err(fail(i, "expected `.` or `[`")),
            _ => {
                let end = raw[i..]
                    .find(['.', '[', ']'])
                    .map_or(raw.len(), |offset| i + offset);
                steps.push(Step::Key(raw[i..end].to_owned()));
                i = end;
                expect_key = false;
            }
        }
    }
    Ok(steps)
}

/// Parse `[N]`, `["key"]` or `['key']` starting at `start`; returns the step and the offset
/// after the closing bracket.
fn parse_bracket(raw: &str, start: usize) -> Result<(Step, usize), &'static str> {
    let rest = &raw[start + 1..];
    match rest.chars().next() {
        Some(quote @ ('"' | '\'')) => {
            let mut key = String::new();
            let mut chars = rest.char_indices().skip(1);
            while let Some((offset, c)) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some((_, escaped @ ('"' | '\'' | '\\' | '/'))) => key.push(escaped),
                        Some((_, 'n')) => key.push('\n'),
                        Some((_, 't')) => key.push('\t'),
                        _ => return Err("unknown escape in a quoted key"),
                    },
                    c if c == quote => {
                        return if rest[offset + 1..].starts_with(']') {
                            Ok((Step::Key(key), start + 1 + offset + 2))
                        } else {
                            Err("expected `]` after a quoted key")
                        };
                    }
                    c => key.push(c),
                }
            }
            Err("unterminated quoted key")
        }
        _ => {
            let end = rest.find(']').ok_or("unterminated `[`")?;
            let index = rest[..end].trim().parse::<i64>().map_err(
                |_| "expected an index such as `[0]` or a quoted key such as `[\"a.b\"]`",
            )?;
            Ok((Step::Index(index), start + 1 + end + 1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(k: &str) -> Step {
        Step::Key(k.to_owned())
    }

    #[test]
    fn dot_paths_parse() {
        let cases: &[(&str, Vec<Step>)] = &[
            ("", vec![]),
            ("a", vec![key("a")]),
            ("a.b.c", vec![key("a"), key("b"), key("c")]),
            ("a[0].b", vec![key("a"), Step::Index(0), key("b")]),
            ("a[-1]", vec![key("a"), Step::Index(-1)]),
            (r#"a["k.e.y"].z"#, vec![key("a"), key("k.e.y"), key("z")]),
            ("['x']", vec![key("x")]),
            ("[0][1]", vec![Step::Index(0), Step::Index(1)]),
        ];
        for (raw, steps) in cases {
            assert_eq!(&parse_dot(raw).unwrap(), steps, "{raw}");
        }
        for bad in [
            "a..b",
            ".a",
            "a.",
            "a[",
            "a[x]",
            "a]",
            "a[0]b",
            r#"a["x"#,
            "a[\"x\"y]",
        ] {
            assert!(parse_dot(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn singular_queries_are_recognised() {
        let singular = |raw: &str| match DocPath::parse(raw).unwrap() {
            DocPath::Query { singular, .. } => singular,
            DocPath::Dot(_) => unreachable!("a JSONPath"),
        };
        assert_eq!(singular("$"), Some(vec![]));
        assert_eq!(
            singular("$.a['b'][2]"),
            Some(vec![key("a"), key("b"), Step::Index(2)])
        );
        assert_eq!(
            singular("$['a\\'b'] [-1]"),
            Some(vec![key("a'b"), Step::Index(-1)])
        );
        for plural in ["$.*", "$..a", "$[0:2]", "$[?@.a]", "$.a[0,1]", "$['a','b']"] {
            assert_eq!(singular(plural), None, "{plural}");
        }
    }

    fn apply(doc: &mut Value, path: &str, edit: Edit<'_>) -> Applied {
        DocPath::parse(path).unwrap().apply(doc, edit).unwrap()
    }

    #[test]
    fn set_creates_and_detects_no_change() {
        let mut doc = json!({});
        let value = json!(1);
        assert!(apply(&mut doc, "a.b[0]", Edit::Set(&value)).changed);
        assert_eq!(doc, json!({"a": {"b": [1]}}));
        assert!(!apply(&mut doc, "a.b[0]", Edit::Set(&value)).changed);
        assert!(!apply(&mut doc, "$.a.b[0]", Edit::Set(&value)).changed);
        let null = Value::Null;
        assert!(
            apply(&mut doc, "a.n", Edit::Set(&null)).changed,
            "a new null key is a change"
        );
        assert!(
            DocPath::parse("a.b[0].c")
                .unwrap()
                .apply(&mut doc, Edit::Set(&value))
                .is_err()
        );
        assert!(
            DocPath::parse("a.b[5]")
                .unwrap()
                .apply(&mut doc, Edit::Set(&value))
                .is_err()
        );
    }

    #[test]
    fn filters_edit_every_match() {
        let mut doc = json!({"tasks": {"t1": {"status": "blocked"}, "t2": {"status": "done"},
                                        "t3": {"status": "blocked"}}});
        let data = json!({"flag": true});
        let applied = apply(
            &mut doc,
            "$.tasks[?(@.status=='blocked')]",
            Edit::Merge(data.as_object().unwrap()),
        );
        assert_eq!(applied.matched, 2);
        assert_eq!(doc["tasks"]["t1"]["flag"], true);
        assert_eq!(doc["tasks"]["t2"].get("flag"), None);
        let applied = apply(&mut doc, "$.tasks[?@.flag]", Edit::Delete);
        assert_eq!(applied.matched, 2);
        assert_eq!(doc, json!({"tasks": {"t2": {"status": "done"}}}));
    }

    #[test]
    fn deleting_several_array_elements_keeps_the_right_ones() {
        let mut doc = json!({"a": [0, 1, 2, 3, 4, 5]});
        apply(&mut doc, "$.a[?@ > 0 && @ < 5]", Edit::Delete);
        assert_eq!(doc, json!({"a": [0, 5]}));
        let applied = apply(&mut doc, "$.a[0,0]", Edit::Delete);
        assert_eq!((applied.matched, doc), (1, json!({"a": [5]})));
    }

    #[test]
    fn merge_is_deep_and_replaces_arrays() {
        let mut doc = json!({"a": {"x": 1, "l": [1, 2], "o": {"p": 1}}});
        let data = json!({"a": {"l": [3], "o": {"q": 2}}, "b": 2});
        assert!(apply(&mut doc, "", Edit::Merge(data.as_object().unwrap())).changed);
        assert_eq!(
            doc,
            json!({"a": {"x": 1, "l": [3], "o": {"p": 1, "q": 2}}, "b": 2})
        );
        assert!(!apply(&mut doc, "$", Edit::Merge(data.as_object().unwrap())).changed);
    }

    #[test]
    fn append_and_increment() {
        let mut doc = json!({"s": "x"});
        let one = Number::from(1);
        let half = Number::from_f64(0.5).unwrap();
        let item = json!("i");
        apply(&mut doc, "l", Edit::Append(&item));
        apply(&mut doc, "l", Edit::Append(&item));
        assert_eq!(doc["l"], json!(["i", "i"]));
        assert_eq!(
            apply(&mut doc, "n", Edit::Increment(&one)).values,
            vec![json!(1)]
        );
        assert_eq!(
            apply(&mut doc, "n", Edit::Increment(&half)).values,
            vec![json!(1.5)]
        );
        doc["m"] = json!([{"n": 10}, {"n": 20}, {"k": {"n": 30}}]);
        assert_eq!(
            apply(&mut doc, "$.m..n", Edit::Increment(&one)).values,
            vec![json!(11), json!(21), json!(31)],
            "new values come in document order"
        );
        assert!(
            DocPath::parse("s")
                .unwrap()
                .apply(&mut doc, Edit::Increment(&one))
                .is_err()
        );
        assert!(
            DocPath::parse("s")
                .unwrap()
                .apply(&mut doc, Edit::Append(&item))
                .is_err()
        );
    }

    #[test]
    fn missing_paths_are_soft() {
        let mut doc = json!({"a": {"b": 1}});
        assert!(matches!(
            DocPath::parse("a.x.y").unwrap().find(&doc).unwrap(),
            Found::One(None)
        ));
        assert!(matches!(
            DocPath::parse("a.b.c").unwrap().find(&doc).unwrap(),
            Found::One(None)
        ));
        assert_eq!(apply(&mut doc, "a.x.y", Edit::Delete), Applied::default());
        assert!(
            DocPath::parse("")
                .unwrap()
                .apply(&mut doc, Edit::Delete)
                .is_err()
        );
    }

    #[test]
    fn normalized_paths_escape_names() {
        let doc = json!({"a'b": {"c\\d": [1]}});
        let path = compile("$..*").unwrap();
        let found: Vec<String> = query(&path, &doc, 100)
            .unwrap()
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        assert_eq!(
            found,
            [
                "$['a\\'b']",
                "$['a\\'b']['c\\\\d']",
                "$['a\\'b']['c\\\\d'][0]"
            ]
        );
    }

    #[test]
    fn invalid_jsonpath_shows_where() {
        let err = DocPath::parse("$.a[?(@.b==]").unwrap_err().to_string();
        assert!(err.contains("invalid JSONPath"), "{err}");
        assert!(err.contains('^'), "{err}");
    }
}

/// Set, merge and delete at random dot paths and JSONPaths on random documents, against a
/// model written independently: what a path names is found by walking the document, and
/// each edit is applied to a copy by plain rules.
#[cfg(test)]
mod properties {
    use std::cmp::Ordering;

    use proptest::prelude::*;
    use serde_json::{Map, Value, json};

    use super::{DocPath, Edit};

    const KEYS: [&str; 3] = ["a", "b", "c"];

    /// A step as the model sees it.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum At {
        Key(&'static str),
        Index(i64),
    }

    /// Where the edit goes.
    #[derive(Debug, Clone)]
    enum Place {
        /// One place, written as a dot path or as a JSONPath of names and indexes.
        One {
            steps: Vec<At>,
            jsonpath: bool,
            brackets: bool,
        },
        /// `$.k[*]`: every child of `k`.
        Children(&'static str),
        /// `$..k`: every member `k`, at any depth.
        Descendants(&'static str),
        /// `$.k[?@.a == n]`: the children of `k` whose `a` is `n`.
        Filter(&'static str, i64),
    }

    #[derive(Debug, Clone)]
    enum Change {
        Set(Value),
        Merge(Map<String, Value>),
        Delete,
    }

    fn key() -> impl Strategy<Value = &'static str> {
        prop::sample::select(KEYS.to_vec())
    }

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (0..3i64).prop_map(Value::from),
            prop::sample::select(vec!["x", "y"]).prop_map(Value::from),
        ]
    }

    fn object_of(inner: impl Strategy<Value = Value>) -> impl Strategy<Value = Map<String, Value>> {
        prop::collection::btree_map(key().prop_map(String::from), inner, 0..4)
            .prop_map(|members| members.into_iter().collect())
    }

    fn value() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(3, 20, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                object_of(inner).prop_map(Value::Object),
            ]
        })
    }

    fn place() -> impl Strategy<Value = Place> {
        let step = prop_oneof![key().prop_map(At::Key), (-2..3i64).prop_map(At::Index)];
        prop_oneof![
            4 => (prop::collection::vec(step, 0..4), any::<bool>(), any::<bool>())
                .prop_map(|(steps, jsonpath, brackets)| Place::One { steps, jsonpath, brackets }),
            1 => key().prop_map(Place::Children),
            1 => key().prop_map(Place::Descendants),
            1 => (key(), 0..3i64).prop_map(|(key, n)| Place::Filter(key, n)),
        ]
    }

    fn change() -> impl Strategy<Value = Change> {
        prop_oneof![
            value().prop_map(Change::Set),
            object_of(value()).prop_map(Change::Merge),
            Just(Change::Delete),
        ]
    }

    impl Place {
        fn render(&self) -> String {
            match self {
                Place::One {
                    steps,
                    jsonpath: false,
                    ..
                } => {
                    let mut out = String::new();
                    for step in steps {
                        match step {
                            At::Key(key) if out.is_empty() => out.push_str(key),
                            At::Key(key) => out.push_str(&format!(".{key}")),
                            At::Index(index) => out.push_str(&format!("[{index}]")),
                        }
                    }
                    out
                }
                Place::One {
                    steps,
                    jsonpath: true,
                    brackets,
                } => {
                    let mut out = String::from("$");
                    for step in steps {
                        match step {
                            At::Key(key) if *brackets => out.push_str(&format!("['{key}']")),
                            At::Key(key) => out.push_str(&format!(".{key}")),
                            At::Index(index) => out.push_str(&format!("[{index}]")),
                        }
                    }
                    out
                }
                Place::Children(key) => format!("$.{key}[*]"),
                Place::Descendants(key) => format!("$..{key}"),
                Place::Filter(key, n) => format!("$.{key}[?@.a == {n}]"),
            }
        }
    }

    /// An index resolved against a length, negative from the end.
    fn resolve(index: i64, len: usize) -> Option<usize> {
        let len = i64::try_from(len).ok()?;
        let at = if index < 0 { len + index } else { index };
        (0..len)
            .contains(&at)
            .then(|| usize::try_from(at).ok())
            .flatten()
    }

    /// The value at `steps`, if there is one.
    fn get_mut<'v>(mut node: &'v mut Value, steps: &[At]) -> Option<&'v mut Value> {
        for step in steps {
            node = match (node, step) {
                (Value::Object(map), At::Key(key)) => map.get_mut(*key)?,
                (Value::Array(items), At::Index(index)) => {
                    let at = resolve(*index, items.len())?;
                    &mut items[at]
                }
                _ => return None,
            };
        }
        Some(node)
    }

    /// The place `steps` names, made on the way as a dot path makes it: a missing member
    /// is added, an index one past the end appends, `null` becomes what the next step
    /// needs. `None` where it cannot be made.
    fn make<'v>(mut node: &'v mut Value, steps: &[At]) -> Option<&'v mut Value> {
        for step in steps {
            if node.is_null() {
                *node = match step {
                    At::Key(_) => json!({}),
                    At::Index(_) => json!([]),
                };
            }
            node = match (node, step) {
                (Value::Object(map), At::Key(key)) => {
                    map.entry((*key).to_owned()).or_insert(Value::Null)
                }
                (Value::Array(items), At::Index(index)) => match resolve(*index, items.len()) {
                    Some(at) => &mut items[at],
                    None if usize::try_from(*index).is_ok_and(|at| at == items.len()) => {
                        items.push(Value::Null);
                        items.last_mut()?
                    }
                    None => return None,
                },
                _ => return None,
            };
        }
        Some(node)
    }

    /// `data` merged into `base`: objects member by member, anything else replaced.
    fn merged(base: &Value, data: &Value) -> Value {
        match (base, data) {
            (Value::Object(base), Value::Object(data)) => {
                let mut out = base.clone();
                for (key, incoming) in data {
                    let next = match base.get(key) {
                        Some(existing) => merged(existing, incoming),
                        None => incoming.clone(),
                    };
                    out.insert(key.clone(), next);
                }
                Value::Object(out)
            }
            (_, data) => data.clone(),
        }
    }

    /// Every place in the document, in document order, with its value.
    fn places(document: &Value) -> Vec<(Vec<At>, &Value)> {
        let mut out = Vec::new();
        let mut pending = vec![(Vec::new(), document)];
        while let Some((steps, node)) = pending.pop() {
            let mut children: Vec<(Vec<At>, &Value)> = match node {
                Value::Object(map) => map
                    .iter()
                    .map(|(key, child)| {
                        let key = KEYS.iter().find(|k| *k == key).expect("a known key");
                        ([steps.clone(), vec![At::Key(key)]].concat(), child)
                    })
                    .collect(),
                Value::Array(items) => items
                    .iter()
                    .enumerate()
                    .map(|(i, child)| ([steps.clone(), vec![At::Index(i as i64)]].concat(), child))
                    .collect(),
                _ => Vec::new(),
            };
            out.push((steps, node));
            children.reverse();
            pending.extend(children);
        }
        out
    }

    /// Document order of two places.
    fn document_order(a: &[At], b: &[At]) -> Ordering {
        for (x, y) in a.iter().zip(b) {
            let order = match (x, y) {
                (At::Key(x), At::Key(y)) => x.cmp(y),
                (At::Index(x), At::Index(y)) => x.cmp(y),
                _ => unreachable!("siblings are all keys or all indexes"),
            };
            if order != Ordering::Equal {
                return order;
            }
        }
        a.len().cmp(&b.len())
    }

    /// What the model makes of the change: the document after it, how many places were
    /// matched, or `None` when the change must be refused.
    fn model(document: &Value, place: &Place, change: &Change) -> Option<(Value, usize)> {
        let mut after = document.clone();
        let apply = |node: &mut Value| match change {
            Change::Set(value) => *node = value.clone(),
            Change::Merge(data) => *node = merged(node, &Value::Object(data.clone())),
            Change::Delete => unreachable!("deletes remove"),
        };
        let targets: Vec<Vec<At>> = match place {
            Place::One { steps, .. } => {
                if let Change::Delete = change {
                    let (last, parents) = steps.split_last()?;
                    let removed = match (get_mut(&mut after, parents), last) {
                        (Some(Value::Object(map)), At::Key(key)) => map.remove(*key).is_some(),
                        (Some(Value::Array(items)), At::Index(index)) => {
                            match resolve(*index, items.len()) {
                                Some(at) => {
                                    items.remove(at);
                                    true
                                }
                                None => false,
                            }
                        }
                        _ => false,
                    };
                    return Some((after, usize::from(removed)));
                }
                apply(make(&mut after, steps)?);
                return Some((after, 1));
            }
            Place::Children(key) => places(document)
                .into_iter()
                .filter(|(steps, _)| steps.len() == 2 && steps[0] == At::Key(key))
                .map(|(steps, _)| steps)
                .collect(),
            Place::Descendants(key) => places(document)
                .into_iter()
                .filter(|(steps, _)| steps.last() == Some(&At::Key(key)))
                .map(|(steps, _)| steps)
                .collect(),
            Place::Filter(key, n) => places(document)
                .into_iter()
                .filter(|(steps, node)| {
                    steps.len() == 2 && steps[0] == At::Key(key) && node.get("a") == Some(&json!(n))
                })
                .map(|(steps, _)| steps)
                .collect(),
        };
        // Last in document order first, so that no edit moves a place still to come.
        let mut targets = targets;
        targets.sort_by(|a, b| document_order(b, a));
        let mut matched = 0;
        for steps in &targets {
            if let Change::Delete = change {
                let (last, parents) = steps.split_last()?;
                let removed = match (get_mut(&mut after, parents), last) {
                    (Some(Value::Object(map)), At::Key(key)) => map.remove(*key).is_some(),
                    (Some(Value::Array(items)), At::Index(index)) => {
                        items.remove(usize::try_from(*index).expect("found in order"));
                        true
                    }
                    _ => false,
                };
                matched += usize::from(removed);
            } else if let Some(node) = get_mut(&mut after, steps) {
                apply(node);
                matched += 1;
            }
        }
        Some((after, matched))
    }

    /// Found by the property below: a merge at `$..b` changes `c.b.b`, then `c.b` undoes it.
    #[test]
    fn edits_that_undo_each_other_change_nothing() {
        let mut document = json!({"c": {"b": {"b": 1}}});
        let data = json!({"b": 1});
        let path = DocPath::parse("$..b").unwrap();
        let applied = path
            .apply(&mut document, Edit::Merge(data.as_object().unwrap()))
            .unwrap();
        assert_eq!(document, json!({"c": {"b": {"b": 1}}}));
        assert!(!applied.changed);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn edits_agree_with_the_model(
            members in object_of(value()),
            place in place(),
            change in change(),
        ) {
            let document = Value::Object(members);
            let path = DocPath::parse(&place.render()).unwrap();
            let mut edited = document.clone();
            let edit = match &change {
                Change::Set(value) => Edit::Set(value),
                Change::Merge(data) => Edit::Merge(data),
                Change::Delete => Edit::Delete,
            };
            let applied = path.apply(&mut edited, edit);
            match model(&document, &place, &change) {
                None => prop_assert!(applied.is_err(), "{}: {:?}", place.render(), applied),
                Some((expected, matched)) => {
                    let applied = applied.unwrap();
                    prop_assert_eq!(&edited, &expected, "{}", place.render());
                    prop_assert_eq!(applied.matched, matched, "{}", place.render());
                    prop_assert_eq!(applied.changed, expected != document, "{}", place.render());
                }
            }
        }

        /// A place named as a dot path and as a JSONPath is the same place.
        #[test]
        fn dot_paths_and_jsonpaths_name_the_same_place(
            members in object_of(value()),
            steps in prop::collection::vec(
                prop_oneof![key().prop_map(At::Key), (-2..3i64).prop_map(At::Index)],
                0..4,
            ),
            brackets in any::<bool>(),
        ) {
            let document = Value::Object(members);
            let dot = Place::One { steps: steps.clone(), jsonpath: false, brackets }.render();
            let jsonpath = Place::One { steps, jsonpath: true, brackets }.render();
            let found = |raw: &str| -> Option<Value> {
                match DocPath::parse(raw).unwrap().find(&document).unwrap() {
                    super::Found::One(value) => value.cloned(),
                    super::Found::Many(matches) => {
                        assert!(matches.len() <= 1, "{raw} names one place at most");
                        matches.first().map(|(_, value)| (*value).clone())
                    }
                }
            };
            prop_assert_eq!(found(&dot), found(&jsonpath), "{} {}", dot, jsonpath);
        }
    }
}
