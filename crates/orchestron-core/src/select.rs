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
//!    filter names after `@`, and lets `serde_json_path` judge the child on that skeleton;
//! 3. parses a matching child in full and applies the rest of the query to it.
//!
//! Any other shape (a filter that reads `$`, descendants or wildcards before the filter,
//! several selectors, blank space between segments) falls back to parsing the whole
//! document. The result is the same either way: a test runs every document and query of the
//! compliance suite, and documents with duplicate and escaped keys, through both paths.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};

use serde::Deserialize as _;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use serde_json_path::JsonPath;

use crate::docpath::{self, Step};

/// The matches of a query: each normalized path with its value, borrowed from the whole
/// document when it was parsed, owned when only the matches were.
pub type Selected<'a> = Vec<(String, Cow<'a, Value>)>;

/// Evaluate the JSONPath `query` over the JSON `text`. When the fast path does not apply,
/// the whole document is parsed into `whole`, which the borrowed matches point into.
pub fn select<'a>(
    query: &str,
    text: &'a str,
    whole: &'a mut Option<Value>,
) -> anyhow::Result<Selected<'a>> {
    let path = docpath::compile(query)?;
    if let Some(plan) = Plan::of(query) {
        return plan.run(text);
    }
    let document: &'a Value = whole.insert(serde_json::from_str(text)?);
    Ok(docpath::query(&path, document)
        .into_iter()
        .map(|(path, value)| (path, Cow::Borrowed(value)))
        .collect())
}

/// A query split as `$ <prefix> [?<filter>] <rest>`.
#[derive(Debug)]
struct Plan {
    /// Names and non-negative indexes leading to the collection.
    prefix: Vec<Step>,
    /// `$[?…]`: the filter segment alone, evaluated on the skeleton.
    filter: JsonPath,
    /// The members of each element the filter reads; `None` when it needs whole elements.
    members: Option<BTreeSet<String>>,
    /// `$<rest>`, applied to each matching element.
    rest: Option<JsonPath>,
}

impl Plan {
    /// Recognise the shape, or `None` to fall back to a full parse.
    fn of(query: &str) -> Option<Plan> {
        let bytes = query.as_bytes();
        let mut prefix = Vec::new();
        let mut i = 1; // after `$`
        loop {
            let start = i;
            match bytes.get(i)? {
                b'.' => {
                    i += 1;
                    while bytes
                        .get(i)
                        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b >= 0x80)
                    {
                        i += 1;
                    }
                }
                b'[' => i = closing_bracket(bytes, i)? + 1,
                _ => return None, // descendants, blank space, the exotic
            }
            let segment = &query[start..i];
            if let Some(step) = singular(segment) {
                prefix.push(step);
                continue;
            }
            let condition = segment
                .strip_prefix('[')?
                .strip_suffix(']')?
                .trim_start()
                .strip_prefix('?')?;
            if has_top_level_comma(condition) {
                return None;
            }
            let members = referenced_members(condition)?;
            let rest = &query[i..];
            return Some(Plan {
                prefix,
                filter: JsonPath::parse(&format!("${segment}")).ok()?,
                members,
                rest: if rest.is_empty() {
                    None
                } else {
                    Some(JsonPath::parse(&format!("${rest}")).ok()?)
                },
            });
        }
    }

    fn run<'a>(&self, text: &'a str) -> anyhow::Result<Selected<'a>> {
        let mut judge = Judge::new(self);
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let members = Navigate {
            steps: &self.prefix,
            judge: &mut judge,
        }
        .deserialize(&mut deserializer)?;
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

/// Judges the children of the filtered collection one at a time, as one pass over the text
/// meets them, and keeps the matches.
///
/// A filter that does not read `$` judges each child on its own, whatever its siblings and
/// its key, so each is judged inside a one-child list, reused from child to child: the
/// judging allocates next to nothing, and the heap does not grow with the document.
struct Judge<'p> {
    plan: &'p Plan,
    /// `$` and the prefix, as a normalized path.
    location: String,
    /// `[child]`: the child as the filter needs to see it.
    list: Value,
    selected: Vec<(String, Value)>,
}

impl<'p> Judge<'p> {
    fn new(plan: &'p Plan) -> Self {
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
            location,
            list: Value::Array(vec![Value::Null]),
            selected: Vec::new(),
        }
    }

    /// Judge one child: an object as its raw `members`, anything else as the parsed `other`.
    fn judge(
        &mut self,
        at: Locator<'_>,
        members: &[Member<'_>],
        other: Option<Value>,
    ) -> anyhow::Result<()> {
        let Value::Array(list) = &mut self.list else {
            unreachable!("the judged list is a list")
        };
        let slot = &mut list[0];
        let whole = match (other, &self.plan.members) {
            (Some(value), _) => {
                *slot = value;
                true
            }
            (None, Some(wanted)) => {
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                let picked = slot.as_object_mut().expect("just made an object");
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
                *slot = Value::Object(parse_members(members)?);
                true
            }
        };
        if self.plan.filter.query(&self.list).is_empty() {
            return Ok(());
        }
        let element = if whole {
            let Value::Array(list) = &mut self.list else {
                unreachable!("the judged list is a list")
            };
            std::mem::take(&mut list[0])
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
        match &self.plan.rest {
            None => self.selected.push((base, element)),
            Some(rest) => {
                for (path, value) in docpath::query(rest, &element) {
                    self.selected
                        .push((format!("{base}{}", &path[1..]), value.clone()));
                }
            }
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

/// A segment that names one child: `.name`, `['name']`, `[3]` (negative indexes need the
/// length first, so they fall back).
fn singular(segment: &str) -> Option<Step> {
    if let Some(name) = segment.strip_prefix('.') {
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || !c.is_ascii());
        return valid.then(|| Step::Key(name.to_owned()));
    }
    let inner = segment.strip_prefix('[')?.strip_suffix(']')?;
    if let Ok(index) = inner.parse::<i64>() {
        return (index >= 0 && inner == index.to_string()).then_some(Step::Index(index));
    }
    let quote = inner.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let name = inner.strip_prefix(quote)?.strip_suffix(quote)?;
    (!name.contains(['\\', '\'', '"'])).then(|| Step::Key(name.to_owned()))
}

/// Skip a string literal starting at `i` (a quote); returns the index of its closing quote.
fn skip_string(bytes: &[u8], mut i: usize) -> usize {
    let quote = bytes[i];
    i += 1;
    while i < bytes.len() && bytes[i] != quote {
        i += if bytes[i] == b'\\' { 2 } else { 1 };
    }
    i
}

/// The index of the `]` closing the `[` at `open`, skipping string literals and nesting.
fn closing_bracket(bytes: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' | b'"' => i = skip_string(bytes, i),
            b'[' | b'(' => depth += 1,
            b']' | b')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return (bytes[i] == b']').then_some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn has_top_level_comma(condition: &str) -> bool {
    let bytes = condition.as_bytes();
    let mut depth = 0i32;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' | b'"' => i = skip_string(bytes, i),
            b'[' | b'(' => depth += 1,
            b']' | b')' => depth -= 1,
            b',' if depth == 0 => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

/// The members a filter reads: the first name after each `@`. `Some(None)` when some `@` is
/// followed by anything else (the filter needs whole elements); `None` when the filter reads
/// the root `$`, which the fast path does not have.
fn referenced_members(condition: &str) -> Option<Option<BTreeSet<String>>> {
    let bytes = condition.as_bytes();
    let mut members = BTreeSet::new();
    let mut whole = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' | b'"' => i = skip_string(bytes, i),
            b'$' => return None,
            b'@' => match member_after_at(&condition[i + 1..]) {
                Some(name) => {
                    members.insert(name);
                }
                None => whole = true,
            },
            _ => {}
        }
        i += 1;
    }
    Some((!whole).then_some(members))
}

/// The member name right after an `@`: `.name`, `['name']` or `["name"]`, without escapes.
fn member_after_at(rest: &str) -> Option<String> {
    if let Some(after) = rest.strip_prefix('.') {
        let end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii()))
            .unwrap_or(after.len());
        let first = after.chars().next()?;
        return (end > 0 && !first.is_ascii_digit()).then(|| after[..end].to_owned());
    }
    let inner = rest.strip_prefix('[')?;
    let quote = inner.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let name_and_rest = &inner[1..];
    let end = name_and_rest.find([quote, '\\'])?;
    let closes =
        name_and_rest[end..].starts_with(quote) && name_and_rest[end + 1..].starts_with(']');
    closes.then(|| name_and_rest[..end].to_owned())
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
struct Navigate<'s, 'j, 'p> {
    steps: &'s [Step],
    judge: &'j mut Judge<'p>,
}

impl<'de> DeserializeSeed<'de> for Navigate<'_, '_, '_> {
    type Value = BTreeMap<String, Owned<'de>>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Navigate<'_, '_, '_> {
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
                    self.judge
                        .judge(Locator::Index(index), &buffer, other)
                        .map_err(|err| de::Error::custom(format!("{err:#}")))?;
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
                            Some(members) => found = members,
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

    #[test]
    fn plans_recognise_the_filter_shape() {
        let plan =
            Plan::of("$.sprint['tasks'][?@.status=='blocked' && @['a b'] > 1].title").unwrap();
        assert_eq!(
            plan.prefix,
            [Step::Key("sprint".into()), Step::Key("tasks".into())]
        );
        assert_eq!(
            plan.members,
            Some(BTreeSet::from(["status".to_owned(), "a b".to_owned()]))
        );
        assert!(plan.rest.is_some());
        assert_eq!(Plan::of("$.a[?length(@) > 1]").unwrap().members, None);
        assert_eq!(
            Plan::of("$.a[?@.x == '$']").unwrap().members.unwrap().len(),
            1
        );
        for other in [
            "$..a[?@.b]",
            "$.a[?@.b == $.c]",
            "$.a[?@.b, ?@.c]",
            "$.a[*]",
            "$.a",
            "$ .a[?@.b]",
            "$[-1][?@.b]",
        ] {
            assert!(Plan::of(other).is_none(), "{other}");
        }
    }
}
