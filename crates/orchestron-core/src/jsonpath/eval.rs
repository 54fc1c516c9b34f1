//! Evaluation of a parsed query against a document, spending a budget of nodes.
//!
//! Nothing here recurses on the document: descendants and deep comparisons walk with
//! explicit stacks, so only the query's nesting (bounded by the parser) reaches the stack.

use std::borrow::Cow;
use std::collections::HashMap;

use regex::{Regex, RegexBuilder};
use serde_json::{Number, Value};

use super::ast::{
    Basic, Call, Comparison, Logical, Query, Segment, Selector, SingularQuery, SingularStep,
    ValueExpr,
};
use super::{
    MAX_CACHED_REGEXES, MAX_REGEX_BYTES, REGEX_BYTES_PER_NODE, REGEX_COMPILE_COST,
    STRING_BYTES_PER_NODE, push_normalized_name,
};

/// The query needed more nodes than its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exhausted {
    /// The budget it ran out of.
    pub max_nodes: u64,
}

type Eval<T> = Result<T, Exhausted>;

/// One step from a node to a child, borrowed from the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathStep<'v> {
    Name(&'v String),
    Index(usize),
}

/// The location of the root, which has no link.
const ROOT: usize = usize::MAX;

/// A location: the link to its parent and the last step, so that a million matches share
/// their common prefixes instead of each holding a path.
#[derive(Debug, Clone, Copy)]
struct Link<'v> {
    parent: usize,
    step: PathStep<'v>,
}

/// The nodes a query selected, in order, each with its location.
#[derive(Debug, Default)]
pub struct Located<'v> {
    links: Vec<Link<'v>>,
    nodes: Vec<(&'v Value, usize)>,
}

impl<'v> Located<'v> {
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Each node with its location, for [`Located::steps`] and [`Located::normalized_path`].
    pub fn iter(&self) -> impl Iterator<Item = (&'v Value, usize)> + '_ {
        self.nodes.iter().copied()
    }

    /// The steps from the root to a location.
    pub fn steps(&self, mut location: usize) -> Vec<PathStep<'v>> {
        let mut steps = Vec::new();
        while location != ROOT {
            let link = self.links[location];
            steps.push(link.step);
            location = link.parent;
        }
        steps.reverse();
        steps
    }

    /// The RFC 9535 normalized path of a location, such as `$['a'][0]` (section 2.7).
    pub fn normalized_path(&self, location: usize) -> String {
        let mut out = String::from("$");
        for step in self.steps(location) {
            match step {
                PathStep::Name(name) => push_normalized_name(&mut out, name),
                PathStep::Index(index) => {
                    out.push('[');
                    out.push_str(&index.to_string());
                    out.push(']');
                }
            }
        }
        out
    }

    fn link(&mut self, parent: usize, step: PathStep<'v>) -> usize {
        self.links.push(Link { parent, step });
        self.links.len() - 1
    }
}

/// The state of one evaluation: the budget left, and the patterns compiled so far.
#[derive(Debug)]
pub(crate) struct Evaluator {
    max_nodes: u64,
    used: u64,
    /// Compiled `match` patterns (anchored) by source; `None` for one that does not compile.
    anchored: HashMap<String, Option<Regex>>,
    /// Compiled `search` patterns by source.
    unanchored: HashMap<String, Option<Regex>>,
    /// How many patterns this evaluation compiled.
    #[cfg(test)]
    compiled: usize,
}

impl Evaluator {
    pub(crate) fn new(max_nodes: u64) -> Evaluator {
        Evaluator {
            max_nodes,
            used: 0,
            anchored: HashMap::new(),
            unanchored: HashMap::new(),
            #[cfg(test)]
            compiled: 0,
        }
    }

    /// The nodes spent so far.
    #[cfg(test)]
    pub(crate) fn used(&self) -> u64 {
        self.used
    }

    /// How many patterns this evaluation compiled, and how many it keeps.
    #[cfg(test)]
    pub(crate) fn regexes(&self) -> (usize, usize) {
        (self.compiled, self.anchored.len() + self.unanchored.len())
    }

    /// Spend one node: for a node visited outside [`Evaluator::locate`].
    pub(crate) fn charge_node(&mut self) -> Eval<()> {
        self.charge(1)
    }

    fn charge(&mut self, nodes: u64) -> Eval<()> {
        self.used = self.used.saturating_add(nodes);
        if self.used > self.max_nodes {
            return Err(Exhausted {
                max_nodes: self.max_nodes,
            });
        }
        Ok(())
    }

    fn charge_bytes(&mut self, bytes: usize, per_node: u64) -> Eval<()> {
        self.charge(u64::try_from(bytes).unwrap_or(u64::MAX) / per_node)
    }

    /// Every node an absolute query selects in `root`, with its location.
    pub(crate) fn locate<'v>(&mut self, query: &Query, root: &'v Value) -> Eval<Located<'v>> {
        self.charge(1)?;
        self.locate_from(query, root)
    }

    /// As [`Evaluator::locate`], for a `root` already paid for: a node a filter selected.
    pub(crate) fn locate_from<'v>(&mut self, query: &Query, root: &'v Value) -> Eval<Located<'v>> {
        let mut located = Located {
            links: Vec::new(),
            nodes: vec![(root, ROOT)],
        };
        let mut selected = Vec::new();
        for segment in &query.segments {
            let input = std::mem::take(&mut located.nodes);
            let mut output = Vec::new();
            for (node, location) in input {
                if !segment.descendant {
                    self.select_all(segment, node, root, &mut selected)?;
                    for (child, step) in selected.drain(..) {
                        output.push((child, located.link(location, step)));
                    }
                    continue;
                }
                // Each node, then its descendants, depth first in document order; a node
                // gets a location only when it has children to be the parent of.
                let mut stack = vec![(node, location, None)];
                while let Some((visited, parent, step)) = stack.pop() {
                    self.charge(1)?;
                    if !is_container(visited) {
                        continue;
                    }
                    let here = match step {
                        Some(step) => located.link(parent, step),
                        None => parent,
                    };
                    self.select_all(segment, visited, root, &mut selected)?;
                    for (child, step) in selected.drain(..) {
                        output.push((child, located.link(here, step)));
                    }
                    push_children(visited, |child, step| stack.push((child, here, Some(step))));
                }
            }
            located.nodes = output;
        }
        Ok(located)
    }

    /// Every node the segments select from `start`, without locations.
    fn nodes<'v>(
        &mut self,
        segments: &[Segment],
        start: &'v Value,
        root: &'v Value,
    ) -> Eval<Vec<&'v Value>> {
        let mut nodes = vec![start];
        let mut selected = Vec::new();
        for segment in segments {
            let mut output = Vec::new();
            for node in nodes {
                if !segment.descendant {
                    self.select_all(segment, node, root, &mut selected)?;
                    output.extend(selected.drain(..).map(|(child, _)| child));
                    continue;
                }
                let mut stack = vec![node];
                while let Some(visited) = stack.pop() {
                    self.charge(1)?;
                    if !is_container(visited) {
                        continue;
                    }
                    self.select_all(segment, visited, root, &mut selected)?;
                    output.extend(selected.drain(..).map(|(child, _)| child));
                    push_children(visited, |child, _| stack.push(child));
                }
            }
            nodes = output;
        }
        Ok(nodes)
    }

    /// Apply every selector of a segment to one node, in order.
    fn select_all<'v>(
        &mut self,
        segment: &Segment,
        node: &'v Value,
        root: &'v Value,
        out: &mut Vec<(&'v Value, PathStep<'v>)>,
    ) -> Eval<()> {
        for selector in &segment.selectors {
            self.select(selector, node, root, out)?;
        }
        Ok(())
    }

    fn select<'v>(
        &mut self,
        selector: &Selector,
        node: &'v Value,
        root: &'v Value,
        out: &mut Vec<(&'v Value, PathStep<'v>)>,
    ) -> Eval<()> {
        match (selector, node) {
            (Selector::Name(name), Value::Object(map)) => {
                if let Some((key, child)) = map.get_key_value(name) {
                    self.charge(1)?;
                    out.push((child, PathStep::Name(key)));
                }
            }
            (Selector::Wildcard, Value::Array(items)) => {
                for (index, child) in items.iter().enumerate() {
                    self.charge(1)?;
                    out.push((child, PathStep::Index(index)));
                }
            }
            (Selector::Wildcard, Value::Object(map)) => {
                for (key, child) in map {
                    self.charge(1)?;
                    out.push((child, PathStep::Name(key)));
                }
            }
            (Selector::Index(index), Value::Array(items)) => {
                if let Some(at) = resolve_index(*index, items.len()) {
                    self.charge(1)?;
                    out.push((&items[at], PathStep::Index(at)));
                }
            }
            (Selector::Slice { start, end, step }, Value::Array(items)) => {
                let (mut at, step, stop) = slice_bounds(*start, *end, *step, items.len());
                while (step > 0 && at < stop) || (step < 0 && at > stop) {
                    let index = usize::try_from(at).expect("a slice stays within the array");
                    self.charge(1)?;
                    out.push((&items[index], PathStep::Index(index)));
                    at += step;
                }
            }
            (Selector::Filter(condition), Value::Array(items)) => {
                for (index, child) in items.iter().enumerate() {
                    self.charge(1)?;
                    if self.test(condition, child, root)? {
                        out.push((child, PathStep::Index(index)));
                    }
                }
            }
            (Selector::Filter(condition), Value::Object(map)) => {
                for (key, child) in map {
                    self.charge(1)?;
                    if self.test(condition, child, root)? {
                        out.push((child, PathStep::Name(key)));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Whether a filter's condition holds for the node `current`.
    pub(crate) fn test(
        &mut self,
        condition: &Logical,
        current: &Value,
        root: &Value,
    ) -> Eval<bool> {
        for conjunction in &condition.0 {
            let mut holds = true;
            for basic in conjunction {
                if !self.basic(basic, current, root)? {
                    holds = false;
                    break;
                }
            }
            if holds {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn basic(&mut self, basic: &Basic, current: &Value, root: &Value) -> Eval<bool> {
        Ok(match basic {
            Basic::Paren { not, inner } => self.test(inner, current, root)? != *not,
            Basic::Compare { left, op, right } => {
                let left = self.value(left, current, root)?;
                let right = self.value(right, current, root)?;
                self.compare(left.as_deref(), *op, right.as_deref())?
            }
            Basic::Exists { not, query } => self.exists(query, current, root)? != *not,
            Basic::Test { not, call } => self.logical_call(call, current, root)? != *not,
        })
    }

    /// Whether a query selects anything; names and indexes are followed without building a
    /// list of nodes.
    fn exists(&mut self, query: &Query, current: &Value, root: &Value) -> Eval<bool> {
        let mut node = if query.absolute { root } else { current };
        self.charge(1)?;
        for (done, segment) in query.segments.iter().enumerate() {
            let child = match (segment.descendant, segment.selectors.as_slice(), node) {
                (false, [Selector::Name(name)], Value::Object(map)) => map.get(name),
                (false, [Selector::Index(index)], Value::Array(items)) => {
                    resolve_index(*index, items.len()).map(|at| &items[at])
                }
                (false, [Selector::Name(_) | Selector::Index(_)], _) => None,
                _ => {
                    let rest = &query.segments[done..];
                    return Ok(!self.nodes(rest, node, root)?.is_empty());
                }
            };
            match child {
                Some(child) => {
                    self.charge(1)?;
                    node = child;
                }
                None => return Ok(false),
            }
        }
        Ok(true)
    }

    /// The value of a comparison's side or a function's argument, or `None` for nothing.
    fn value<'a>(
        &mut self,
        expr: &'a ValueExpr,
        current: &'a Value,
        root: &'a Value,
    ) -> Eval<Option<Cow<'a, Value>>> {
        Ok(match expr {
            ValueExpr::Literal(value) => Some(Cow::Borrowed(value)),
            ValueExpr::Singular(query) => self.singular(query, current, root)?.map(Cow::Borrowed),
            ValueExpr::Call(call) => match &**call {
                Call::Length(argument) => {
                    let argument = self.value(argument, current, root)?;
                    let length = match argument.as_deref() {
                        Some(Value::String(text)) => {
                            self.charge_bytes(text.len(), STRING_BYTES_PER_NODE)?;
                            Some(text.chars().count())
                        }
                        Some(Value::Array(items)) => Some(items.len()),
                        Some(Value::Object(map)) => Some(map.len()),
                        _ => None,
                    };
                    length.map(|length| Cow::Owned(Value::from(length)))
                }
                Call::Count(query) => {
                    let start = if query.absolute { root } else { current };
                    self.charge(1)?;
                    let count = self.nodes(&query.segments, start, root)?.len();
                    Some(Cow::Owned(Value::from(count)))
                }
                Call::Value(query) => {
                    let start = if query.absolute { root } else { current };
                    self.charge(1)?;
                    match self.nodes(&query.segments, start, root)?.as_slice() {
                        [only] => Some(Cow::Borrowed(*only)),
                        _ => None,
                    }
                }
                // The parser lets only functions returning a value stand here.
                Call::Match(..) | Call::Search(..) => None,
            },
        })
    }

    fn singular<'a>(
        &mut self,
        query: &SingularQuery,
        current: &'a Value,
        root: &'a Value,
    ) -> Eval<Option<&'a Value>> {
        let mut node = if query.absolute { root } else { current };
        for step in &query.steps {
            self.charge(1)?;
            let child = match (step, node) {
                (SingularStep::Name(name), Value::Object(map)) => map.get(name),
                (SingularStep::Index(index), Value::Array(items)) => {
                    resolve_index(*index, items.len()).map(|at| &items[at])
                }
                _ => None,
            };
            match child {
                Some(child) => node = child,
                None => return Ok(None),
            }
        }
        Ok(Some(node))
    }

    /// `match` or `search`: whether the string matches the I-Regexp.
    fn logical_call(&mut self, call: &Call, current: &Value, root: &Value) -> Eval<bool> {
        let (subject, pattern, anchored) = match call {
            Call::Match(subject, pattern) => (subject, pattern, true),
            Call::Search(subject, pattern) => (subject, pattern, false),
            // The parser lets only functions returning a logical result stand here.
            _ => return Ok(false),
        };
        let subject = self.value(subject, current, root)?;
        let pattern = self.value(pattern, current, root)?;
        match (subject.as_deref(), pattern.as_deref()) {
            (Some(Value::String(text)), Some(Value::String(pattern))) => {
                self.regex_matches(pattern, anchored, text)
            }
            _ => Ok(false),
        }
    }

    /// Match `text` against `pattern`, compiling the pattern the first time this evaluation
    /// meets it. The pattern becomes a `regex` one as `serde_json_path` made it: `(?R)` so
    /// that `.` matches neither `\r` nor `\n`, anchored at both ends for `match`.
    fn regex_matches(&mut self, pattern: &str, anchored: bool, text: &str) -> Eval<bool> {
        let cache = if anchored {
            &self.anchored
        } else {
            &self.unanchored
        };
        if !cache.contains_key(pattern) {
            self.charge(REGEX_COMPILE_COST)?;
            let source = if anchored {
                format!("(?R)^({pattern})$")
            } else {
                format!("(?R)({pattern})")
            };
            #[cfg(test)]
            {
                self.compiled += 1;
            }
            let compiled = RegexBuilder::new(&source)
                .size_limit(MAX_REGEX_BYTES)
                .build()
                .ok();
            let cache = if anchored {
                &mut self.anchored
            } else {
                &mut self.unanchored
            };
            if cache.len() >= MAX_CACHED_REGEXES {
                cache.clear();
            }
            cache.insert(pattern.to_owned(), compiled);
        }
        self.charge(1)?;
        self.charge_bytes(text.len(), REGEX_BYTES_PER_NODE)?;
        let cache = if anchored {
            &self.anchored
        } else {
            &self.unanchored
        };
        Ok(cache
            .get(pattern)
            .and_then(Option::as_ref)
            .is_some_and(|regex| regex.is_match(text)))
    }

    fn compare(
        &mut self,
        left: Option<&Value>,
        op: Comparison,
        right: Option<&Value>,
    ) -> Eval<bool> {
        Ok(match op {
            Comparison::Equal => self.equal(left, right)?,
            Comparison::NotEqual => !self.equal(left, right)?,
            Comparison::Less => self.less(left, right)?,
            Comparison::Greater => self.less(right, left)?,
            Comparison::LessOrEqual => self.less(left, right)? || self.equal(left, right)?,
            Comparison::GreaterOrEqual => self.less(right, left)? || self.equal(left, right)?,
        })
    }

    /// `==` (RFC 9535 section 2.3.5.2.2): nothing equals only nothing; numbers compare by
    /// value; anything else deeply.
    fn equal(&mut self, left: Option<&Value>, right: Option<&Value>) -> Eval<bool> {
        match (left, right) {
            (None, None) => Ok(true),
            (Some(Value::Number(left)), Some(Value::Number(right))) => {
                Ok(number_equal(left, right))
            }
            (Some(left), Some(right)) => self.deep_equal(left, right),
            _ => Ok(false),
        }
    }

    /// Deep equality as `serde_json` has it (numbers inside arrays and objects by their
    /// representation), paying a node for each pair compared.
    fn deep_equal(&mut self, left: &Value, right: &Value) -> Eval<bool> {
        let mut pending = vec![(left, right)];
        while let Some((left, right)) = pending.pop() {
            self.charge(1)?;
            match (left, right) {
                (Value::Array(left), Value::Array(right)) => {
                    if left.len() != right.len() {
                        return Ok(false);
                    }
                    pending.extend(left.iter().zip(right));
                }
                (Value::Object(left), Value::Object(right)) => {
                    if left.len() != right.len() {
                        return Ok(false);
                    }
                    for (key, value) in left {
                        match right.get(key) {
                            Some(other) => pending.push((value, other)),
                            None => return Ok(false),
                        }
                    }
                }
                (Value::String(left), Value::String(right)) => {
                    self.charge_bytes(left.len().min(right.len()), STRING_BYTES_PER_NODE)?;
                    if left != right {
                        return Ok(false);
                    }
                }
                (left, right) => {
                    if left != right {
                        return Ok(false);
                    }
                }
            }
        }
        Ok(true)
    }

    /// `<`: numbers by value, strings by code point; anything else is not ordered.
    fn less(&mut self, left: Option<&Value>, right: Option<&Value>) -> Eval<bool> {
        Ok(match (left, right) {
            (Some(Value::Number(left)), Some(Value::Number(right))) => number_less(left, right),
            (Some(Value::String(left)), Some(Value::String(right))) => {
                self.charge_bytes(left.len().min(right.len()), STRING_BYTES_PER_NODE)?;
                left < right
            }
            _ => false,
        })
    }
}

fn is_container(value: &Value) -> bool {
    matches!(value, Value::Array(_) | Value::Object(_))
}

/// Push the children of a node onto a stack so that they pop in document order.
fn push_children<'v>(node: &'v Value, mut push: impl FnMut(&'v Value, PathStep<'v>)) {
    match node {
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate().rev() {
                push(child, PathStep::Index(index));
            }
        }
        Value::Object(map) => {
            for (key, child) in map.iter().rev() {
                push(child, PathStep::Name(key));
            }
        }
        _ => {}
    }
}

/// Resolve an index against an array length; negative counts from the end.
fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let resolved = if index < 0 { len + index } else { index };
    (0..len)
        .contains(&resolved)
        .then(|| usize::try_from(resolved).ok())
        .flatten()
}

/// The first index, the step and the bound (exclusive) of a slice over `len` elements,
/// as RFC 9535 section 2.3.4.2.2 computes them; a step of 0 selects nothing.
fn slice_bounds(
    start: Option<i64>,
    end: Option<i64>,
    step: Option<i64>,
    len: usize,
) -> (i128, i128, i128) {
    let step = i128::from(step.unwrap_or(1));
    let len = i128::try_from(len).unwrap_or(i128::MAX);
    let normalize = |index: i64| {
        let index = i128::from(index);
        if index >= 0 { index } else { len + index }
    };
    if step > 0 {
        let lower = start.map_or(0, normalize).clamp(0, len);
        let upper = end.map_or(len, normalize).clamp(0, len);
        (lower, step, upper)
    } else if step < 0 {
        let upper = start.map_or(len - 1, normalize).clamp(-1, len - 1);
        let lower = end.map_or(-1, normalize).clamp(-1, len - 1);
        (upper, step, lower)
    } else {
        (0, 0, 0)
    }
}

/// Numbers compare as `f64`, as `serde_json_path` compared them.
fn number_equal(left: &Number, right: &Number) -> bool {
    if let (Some(left), Some(right)) = (left.as_f64(), right.as_f64()) {
        left == right
    } else if let (Some(left), Some(right)) = (left.as_i64(), right.as_i64()) {
        left == right
    } else if let (Some(left), Some(right)) = (left.as_u64(), right.as_u64()) {
        left == right
    } else {
        false
    }
}

fn number_less(left: &Number, right: &Number) -> bool {
    if let (Some(left), Some(right)) = (left.as_f64(), right.as_f64()) {
        left < right
    } else if let (Some(left), Some(right)) = (left.as_i64(), right.as_i64()) {
        left < right
    } else if let (Some(left), Some(right)) = (left.as_u64(), right.as_u64()) {
        left < right
    } else {
        false
    }
}
