//! Read-only JSONPath evaluation over JSON text that builds only the part of the tree a query
//! needs.
//!
//! Building a whole `serde_json::Value` costs about 8 ms per MB on these machines, three
//! times what scanning the text costs, and more than the 10 ms budget of a filter query on a
//! 1 MB document. Most queries filter one collection: `$.sprint.tasks[?@.status=='blocked']`,
//! perhaps followed by more segments. For that shape this module makes one pass over the
//! text that:
//! 1. walks the singular prefix (`$.sprint.tasks`), skipping everything off the path;
//! 2. reads each child of the collection as raw member slices, parses only the members the
//!    filter names after `@`, and judges the child on that skeleton;
//! 3. parses a matching child in full and applies the rest of the query to it.
//!
//! Any other shape (a query that reads `$` in a filter, descendants or wildcards before the
//! filter, several selectors) falls back to parsing the whole document. The result is the
//! same either way: a test runs every document and query of the compliance suite, and
//! documents with duplicate and escaped keys, through both paths. Both spend the query's
//! budget of nodes (see [`crate::jsonpath`]).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};

use serde::Deserialize as _;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::docpath::{self, Step};
use crate::jsonpath::{
    self, Basic, Call, Evaluator, Logical, Query, Segment, Selector, SingularStep, ValueExpr,
};

/// The matches of a query: each normalized path with its value, borrowed from the whole
/// document when it was parsed, owned when only the matches were.
pub type Selected<'a> = Vec<(String, Cow<'a, Value>)>;

/// Evaluate the JSONPath `query` over the JSON `text`, within a budget of `max_nodes` nodes.
/// When the fast path does not apply, the whole document is parsed into `whole`, which the
/// borrowed matches point into.
pub fn select<'a>(
    query: &str,
    text: &'a str,
    whole: &'a mut Option<Value>,
    max_nodes: u64,
) -> anyhow::Result<Selected<'a>> {
    let path = docpath::compile(query)?;
    if let Some(plan) = Plan::of(path.query()) {
        return plan.run(text, max_nodes);
    }
    let document: &'a Value = whole.insert(serde_json::from_str(text)?);
    Ok(docpath::query(&path, document, max_nodes)?
        .into_iter()
        .map(|(path, value)| (path, Cow::Borrowed(value)))
        .collect())
}

/// A query split as `$ <prefix> [?<filter>] <rest>`.
#[derive(Debug)]
struct Plan<'q> {
    /// Names and non-negative indexes leading to the collection.
    prefix: Vec<Step>,
    /// The filter's condition, judged on the skeleton of each child.
    filter: &'q Logical,
    /// The members of each element the filter reads; `None` when it needs whole elements.
    members: Option<BTreeSet<String>>,
    /// The segments after the filter, applied to each matching element.
    rest: Query,
}

impl<'q> Plan<'q> {
    /// Recognise the shape, or `None` to fall back to a full parse.
    fn of(query: &'q Query) -> Option<Plan<'q>> {
        let mut prefix = Vec::new();
        for (done, segment) in query.segments.iter().enumerate() {
            if segment.descendant {
                return None;
            }
            match segment.selectors.as_slice() {
                [Selector::Name(name)] => prefix.push(Step::Key(name.clone())),
                // Negative indexes need the length first.
                [Selector::Index(index)] if *index >= 0 => prefix.push(Step::Index(*index)),
                [Selector::Filter(filter)] => {
                    let rest = &query.segments[done + 1..];
                    if logical_reads_root(filter) || segments_read_root(rest) {
                        return None;
                    }
                    return Some(Plan {
                        prefix,
                        filter,
                        members: referenced_members(filter),
                        rest: Query {
                            absolute: true,
                            segments: rest.to_vec(),
                        },
                    });
                }
                _ => return None,
            }
        }
        None
    }

    fn run<'a>(&self, text: &'a str, max_nodes: u64) -> anyhow::Result<Selected<'a>> {
        let mut judge = Judge::new(self, max_nodes);
        // The root, as a full evaluation pays for it.
        judge.spend()?;
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let navigated = Navigate {
            steps: &self.prefix,
            judge: &mut judge,
        }
        .deserialize(&mut deserializer);
        // A failure of the judge (the budget) travels through the parser as a message;
        // the judge keeps the error itself.
        if let Some(failure) = judge.failure.take() {
            return Err(failure);
        }
        let members = navigated?;
        deserializer.end()?;
        for (key, child) in members {
            let (members, other) = match child {
                Owned::Object(members) => (members, None),
                Owned::Other(value) => (Vec::new(), Some(value)),
            };
            judge.judge(Locator::Key(&key), &members, other)?;
        }
        Ok(judge
            .selected
            .into_iter()
            .map(|(path, value)| (path, Cow::Owned(value)))
            .collect())
    }
}

/// Whether any query in the segments' filters reads the root `$`.
fn segments_read_root(segments: &[Segment]) -> bool {
    segments.iter().any(|segment| {
        segment.selectors.iter().any(|selector| match selector {
            Selector::Filter(filter) => logical_reads_root(filter),
            _ => false,
        })
    })
}

fn logical_reads_root(logical: &Logical) -> bool {
    logical.0.iter().flatten().any(|basic| match basic {
        Basic::Paren { inner, .. } => logical_reads_root(inner),
        Basic::Compare { left, right, .. } => value_reads_root(left) || value_reads_root(right),
        Basic::Exists { query, .. } => query_reads_root(query),
        Basic::Test { call, .. } => call_reads_root(call),
    })
}

fn query_reads_root(query: &Query) -> bool {
    query.absolute || segments_read_root(&query.segments)
}

fn value_reads_root(value: &ValueExpr) -> bool {
    match value {
        ValueExpr::Literal(_) => false,
        ValueExpr::Singular(query) => query.absolute,
        ValueExpr::Call(call) => call_reads_root(call),
    }
}

fn call_reads_root(call: &Call) -> bool {
    match call {
        Call::Length(value) => value_reads_root(value),
        Call::Count(query) | Call::Value(query) => query_reads_root(query),
        Call::Match(subject, pattern) | Call::Search(subject, pattern) => {
            value_reads_root(subject) || value_reads_root(pattern)
        }
    }
}

/// The members of each child a filter reads: the first name of each relative query in it.
/// `None` when some query starts otherwise (`@`, `@.*`, `@..a`, `@[0]`): the filter then
/// needs whole children.
fn referenced_members(filter: &Logical) -> Option<BTreeSet<String>> {
    let mut members = BTreeSet::new();
    let mut whole = false;
    let mut first_name = |absolute: bool, first: Option<&str>| {
        if absolute {
            return;
        }
        match first {
            Some(name) => {
                members.insert(name.to_owned());
            }
            None => whole = true,
        }
    };
    visit_queries(filter, &mut first_name);
    (!whole).then_some(members)
}

/// Call `visit` with each query of a filter that is not inside another query: whether it is
/// absolute, and the name its first segment selects if that is all the segment does.
fn visit_queries(filter: &Logical, visit: &mut impl FnMut(bool, Option<&str>)) {
    fn of_query(query: &Query, visit: &mut impl FnMut(bool, Option<&str>)) {
        let first = query.segments.first().and_then(|segment| {
            match (segment.descendant, segment.selectors.as_slice()) {
                (false, [Selector::Name(name)]) => Some(name.as_str()),
                _ => None,
            }
        });
        visit(query.absolute, first);
    }
    fn of_value(value: &ValueExpr, visit: &mut impl FnMut(bool, Option<&str>)) {
        match value {
            ValueExpr::Literal(_) => {}
            ValueExpr::Singular(query) => {
                let first = match query.steps.first() {
                    Some(SingularStep::Name(name)) => Some(name.as_str()),
                    _ => None,
                };
                visit(query.absolute, first);
            }
            ValueExpr::Call(call) => of_call(call, visit),
        }
    }
    fn of_call(call: &Call, visit: &mut impl FnMut(bool, Option<&str>)) {
        match call {
            Call::Length(value) => of_value(value, visit),
            Call::Count(query) | Call::Value(query) => of_query(query, visit),
            Call::Match(subject, pattern) | Call::Search(subject, pattern) => {
                of_value(subject, visit);
                of_value(pattern, visit);
            }
        }
    }
    for basic in filter.0.iter().flatten() {
        match basic {
            Basic::Paren { inner, .. } => visit_queries(inner, visit),
            Basic::Compare { left, right, .. } => {
                of_value(left, visit);
                of_value(right, visit);
            }
            Basic::Exists { query, .. } => of_query(query, visit),
            Basic::Test { call, .. } => of_call(call, visit),
        }
    }
}

/// Judges the children of the filtered collection one at a time, as one pass over the text
/// meets them, and keeps the matches.
///
/// A filter that does not read `$` judges each child on its own, whatever its siblings and
/// its key, so each is judged in one slot, reused from child to child: the judging
/// allocates next to nothing, and the heap does not grow with the document.
struct Judge<'p, 'q> {
    plan: &'p Plan<'q>,
    evaluator: Evaluator,
    /// `$` and the prefix, as a normalized path.
    location: String,
    /// The child as the filter needs to see it.
    slot: Value,
    selected: Vec<(String, Value)>,
    /// Why judging failed, when it did inside the parser.
    failure: Option<anyhow::Error>,
}

impl<'p, 'q> Judge<'p, 'q> {
    fn new(plan: &'p Plan<'q>, max_nodes: u64) -> Self {
        let mut location = String::from("$");
        for step in &plan.prefix {
            match step {
                Step::Key(name) => docpath::push_normalized_name(&mut location, name),
                Step::Index(index) => {
                    let _ = write!(location, "[{index}]");
                }
            }
        }
        Judge {
            plan,
            evaluator: Evaluator::new(max_nodes),
            location,
            slot: Value::Null,
            selected: Vec::new(),
            failure: None,
        }
    }

    /// Spend a node of the budget: the root, or a step of the prefix found.
    fn spend(&mut self) -> anyhow::Result<()> {
        self.evaluator
            .charge_node()
            .map_err(|exhausted| jsonpath::exhausted_error(exhausted.max_nodes).into())
    }

    /// Spend a node inside the parser, keeping the error for [`Plan::run`].
    fn spend_in_parser<E: de::Error>(&mut self) -> Result<(), E> {
        self.spend().map_err(|err| {
            let message = format!("{err:#}");
            self.failure = Some(err);
            E::custom(message)
        })
    }

    /// Judge one child: an object as its raw `members`, anything else as the parsed `other`.
    fn judge(
        &mut self,
        at: Locator<'_>,
        members: &[Member<'_>],
        other: Option<Value>,
    ) -> anyhow::Result<()> {
        let whole = match (other, &self.plan.members) {
            (Some(value), _) => {
                self.slot = value;
                true
            }
            (None, Some(wanted)) => {
                if !self.slot.is_object() {
                    self.slot = Value::Object(Map::new());
                }
                let picked = self.slot.as_object_mut().expect("just made an object");
                for name in wanted {
                    // Of duplicate keys the last wins, as in a parse.
                    match members.iter().rev().find(|(key, _)| key == name) {
                        Some((_, raw)) => {
                            let value = serde_json::from_str(raw.get())?;
                            match picked.get_mut(name) {
                                Some(slot) => *slot = value,
                                None => {
                                    picked.insert(name.clone(), value);
                                }
                            }
                        }
                        None => {
                            picked.remove(name);
                        }
                    }
                }
                false
            }
            (None, None) => {
                self.slot = Value::Object(parse_members(members)?);
                true
            }
        };
        // Each child is a node the filter visits, as in a full evaluation.
        let holds = self
            .evaluator
            .charge_node()
            .and_then(|()| {
                self.evaluator
                    .test(self.plan.filter, &self.slot, &self.slot)
            })
            .map_err(|exhausted| jsonpath::exhausted_error(exhausted.max_nodes))?;
        if !holds {
            return Ok(());
        }
        let element = if whole {
            std::mem::take(&mut self.slot)
        } else {
            Value::Object(parse_members(members)?)
        };
        let mut base = self.location.clone();
        match at {
            Locator::Index(index) => {
                let _ = write!(base, "[{index}]");
            }
            Locator::Key(key) => docpath::push_normalized_name(&mut base, key),
        }
        if self.plan.rest.segments.is_empty() {
            self.selected.push((base, element));
            return Ok(());
        }
        let located = self
            .evaluator
            .locate_from(&self.plan.rest, &element)
            .map_err(|exhausted| jsonpath::exhausted_error(exhausted.max_nodes))?;
        for (value, location) in located.iter() {
            let path = located.normalized_path(location);
            self.selected
                .push((format!("{base}{}", &path[1..]), value.clone()));
        }
        Ok(())
    }
}

/// A member of an object, its value still raw text.
type Member<'de> = (Cow<'de, str>, &'de RawValue);

/// Parse raw members into an object; of duplicate keys the last wins, as in a parse.
fn parse_members(members: &[Member<'_>]) -> anyhow::Result<Map<String, Value>> {
    let mut map = Map::new();
    for (key, raw) in members {
        map.insert(key.as_ref().to_owned(), serde_json::from_str(raw.get())?);
    }
    Ok(map)
}

/// Where a child sits in the collection.
enum Locator<'k> {
    Index(usize),
    Key(&'k str),
}

/// A child of an object collection, kept until all members are read: of duplicate keys the
/// last wins, and members are judged in key order, as in a parse.
#[derive(Debug)]
enum Owned<'de> {
    Object(Vec<Member<'de>>),
    Other(Value),
}

/// Walks the prefix in one pass, skipping everything off the path. The children of a list
/// it leads to go to the judge as they are read; the members of an object are returned.
struct Navigate<'s, 'j, 'p, 'q> {
    steps: &'s [Step],
    judge: &'j mut Judge<'p, 'q>,
}

impl<'de> DeserializeSeed<'de> for Navigate<'_, '_, '_, '_> {
    type Value = BTreeMap<String, Owned<'de>>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Navigate<'_, '_, '_, '_> {
    type Value = BTreeMap<String, Owned<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        match self.steps.split_first() {
            None => {
                let mut members = BTreeMap::new();
                while let Some(key) = map.next_key::<String>()? {
                    let mut buffer = Vec::new();
                    let child = match map.next_value_seed(ChildSeed(&mut buffer))? {
                        Some(value) => Owned::Other(value),
                        None => Owned::Object(buffer),
                    };
                    members.insert(key, child);
                }
                Ok(members)
            }
            Some((Step::Key(name), rest)) => {
                let mut found = BTreeMap::new();
                let mark = self.judge.selected.len();
                // Keep scanning after a match: of duplicate keys the last one wins, so what
                // an earlier one led to is forgotten.
                while let Some(key) = map.next_key_seed(Wanted(|key: &str| key == name))? {
                    if key.is_some() {
                        self.judge.selected.truncate(mark);
                        found = map.next_value_seed(Navigate {
                            steps: rest,
                            judge: &mut *self.judge,
                        })?;
                        self.judge.spend_in_parser()?;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(found)
            }
            Some((Step::Index(_), _)) => {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(BTreeMap::new())
            }
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        match self.steps.split_first() {
            None => {
                let mut buffer = Vec::new();
                let mut index = 0;
                while let Some(other) = seq.next_element_seed(ChildSeed(&mut buffer))? {
                    if let Err(err) = self.judge.judge(Locator::Index(index), &buffer, other) {
                        let message = format!("{err:#}");
                        self.judge.failure = Some(err);
                        return Err(de::Error::custom(message));
                    }
                    buffer.clear();
                    index += 1;
                }
                Ok(BTreeMap::new())
            }
            Some((Step::Index(wanted), rest)) => {
                let mut found = BTreeMap::new();
                let mut index = 0;
                loop {
                    if index == *wanted {
                        let seed = Navigate {
                            steps: rest,
                            judge: &mut *self.judge,
                        };
                        match seq.next_element_seed(seed)? {
                            Some(members) => {
                                self.judge.spend_in_parser()?;
                                found = members;
                            }
                            None => break,
                        }
                    } else if seq.next_element::<IgnoredAny>()?.is_none() {
                        break;
                    }
                    index += 1;
                }
                Ok(found)
            }
            Some((Step::Key(_), _)) => {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(BTreeMap::new())
            }
        }
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }
}

/// Reads one child of the collection: an object's members, raw, into the buffer (and
/// returns `None`); anything else parsed.
struct ChildSeed<'b, 'de>(&'b mut Vec<Member<'de>>);

impl<'de> DeserializeSeed<'de> for ChildSeed<'_, 'de> {
    type Value = Option<Value>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ChildSeed<'_, 'de> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while let Some(key) = map.next_key_seed(Key)? {
            self.0.push((key, map.next_value::<&'de RawValue>()?));
        }
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Value::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(Some)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
        Ok(Some(Value::Bool(value)))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        Ok(Some(Value::from(value)))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Ok(Some(Value::from(value)))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        Ok(Some(Value::from(value)))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Some(Value::from(value)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Some(Value::Null))
    }
}

/// An object key, borrowed from the text unless it holds escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(key))
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(key.to_owned()))
    }
}

/// A map key, kept only when `wanted` says so; the others are never allocated.
struct Wanted<F>(F);

impl<'de, F: Fn(&str) -> bool> DeserializeSeed<'de> for Wanted<F> {
    type Value = Option<String>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de, F: Fn(&str) -> bool> Visitor<'de> for Wanted<F> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok((self.0)(key).then(|| key.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Error, ErrorKind};

    /// The prefix, the members and whether there is a rest, of the plan for `query`.
    fn plan(query: &str) -> Option<(Vec<Step>, Option<BTreeSet<String>>, bool)> {
        let path = docpath::compile(query).unwrap();
        Plan::of(path.query())
            .map(|plan| (plan.prefix, plan.members, !plan.rest.segments.is_empty()))
    }

    #[test]
    fn plans_recognise_the_filter_shape() {
        let (prefix, members, rest) =
            plan("$.sprint['tasks'][?@.status=='blocked' && @['a b'] > 1].title").unwrap();
        assert_eq!(
            prefix,
            [Step::Key("sprint".into()), Step::Key("tasks".into())]
        );
        assert_eq!(
            members,
            Some(BTreeSet::from(["status".to_owned(), "a b".to_owned()]))
        );
        assert!(rest);
        assert_eq!(plan("$.a[?length(@) > 1]").unwrap().1, None);
        assert_eq!(plan("$.a[?@.x == '$']").unwrap().1.unwrap().len(), 1);
        assert_eq!(
            plan("$ .a [?count(@.b[?@.c]) > 0 || match(@.d, @.e)]")
                .unwrap()
                .1,
            Some(BTreeSet::from([
                "b".to_owned(),
                "d".to_owned(),
                "e".to_owned()
            ]))
        );
        for other in [
            "$..a[?@.b]",
            "$.a[?@.b == $.c]",
            "$.a[?@.b[?@.c == $.d]]",
            "$.a[?@.b].c[?@.d == $.e]",
            "$.a[?@.b, ?@.c]",
            "$.a[*]",
            "$.a",
            "$[-1][?@.b]",
        ] {
            assert!(plan(other).is_none(), "{other}");
        }
    }

    /// The fast path pays for the root, the prefix, each child judged and what the rest of
    /// the query visits, as a full evaluation does: the budget means the same either way.
    #[test]
    fn the_fast_path_spends_what_a_full_evaluation_spends() {
        let text = r#"{"a": {"t": [{"s": "x", "n": 1}, {"s": "y", "n": 2}, 3, [4]],
                             "o": {"k": {"s": "x", "d": [1, 2]}, "j": {"s": "y"}}}}"#;
        let document: Value = serde_json::from_str(text).unwrap();
        for query in [
            "$.a.t[?@.s=='x']",
            "$.a.t[?@.n > 1].s",
            "$.a.o[?@.s=='x'].d[*]",
            "$.a.t[?@ == 3]",
            "$.a['t'][?length(@) == 2]",
            "$.a.t[?search(@.s, 'x|y')]",
            "$.a.t[0][?@]",
            "$.missing[?@.s]",
        ] {
            let path = docpath::compile(query).unwrap();
            assert!(
                Plan::of(path.query()).is_some(),
                "{query} takes the fast path"
            );
            let mut evaluator = Evaluator::new(u64::MAX);
            evaluator.locate(path.query(), &document).unwrap();
            let cost = evaluator.used();
            let mut whole = None;
            assert!(
                select(query, text, &mut whole, cost).is_ok(),
                "{query} in {cost}"
            );
            let mut whole = None;
            let err = select(query, text, &mut whole, cost - 1).unwrap_err();
            assert_eq!(Error::kind_of(&err), ErrorKind::Invalid, "{query}: {err:#}");
            assert!(whole.is_none(), "{query} took the fast path");
        }
    }
}
