//! Read-only JSONPath evaluation over JSON text that builds only the part of the tree a query
//! needs.
//!
//! Building a whole `serde_json::Value` costs about 8 ms per MB on these machines, four times
//! what scanning the text costs, and more than the 10 ms budget of a filter query on a 1 MB
//! document. Most queries filter one collection: `$.sprint.tasks[?@.status=='blocked']`,
//! perhaps followed by more segments. For that shape this module:
//! 1. walks the singular prefix (`$.sprint.tasks`) in one pass over the text, skipping
//!    everything off the path and keeping the collection's elements as raw slices;
//! 2. builds a skeleton of the collection whose elements hold only the members the filter
//!    names after `@`, and lets `serde_json_path` evaluate the filter on it;
//! 3. parses only the matching elements in full and applies the rest of the query to each.
//!
//! Any other shape (a filter that reads `$`, descendants or wildcards before the filter,
//! several selectors, blank space between segments) falls back to parsing the whole
//! document. The result is the same either way: a test runs every document and query of the
//! compliance suite through both paths.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

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
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let collection = Navigate(&self.prefix).deserialize(&mut deserializer)?;
        deserializer.end()?;
        let mut location = String::from("$");
        for step in &self.prefix {
            match step {
                Step::Key(name) => docpath::push_normalized_name(&mut location, name),
                Step::Index(index) => location.push_str(&format!("[{index}]")),
            }
        }
        // A filter that does not read `$` judges each child on its own, so each is judged
        // alone, inside a one-child wrapper: the memory of one skeleton is reused for the
        // next, and the heap does not grow with the document.
        let children: Vec<(String, &RawValue)> = match collection {
            Collection::None => return Ok(Vec::new()),
            Collection::List(items) => items
                .into_iter()
                .enumerate()
                .map(|(index, item)| (format!("[{index}]"), item))
                .collect(),
            Collection::Members(members) => members
                .into_iter()
                .map(|(key, item)| {
                    let mut segment = String::new();
                    docpath::push_normalized_name(&mut segment, &key);
                    (key, item, segment)
                })
                .map(|(key, item, segment)| (format!("{segment}\u{0}{key}"), item))
                .collect(),
        };
        let mut selected = Vec::new();
        for (locator, raw) in children {
            let (segment, key) = match locator.split_once('\u{0}') {
                Some((segment, key)) => (segment.to_owned(), Some(key.to_owned())),
                None => (locator, None),
            };
            let skeleton = self.skeleton(raw)?;
            let wrapper = match key {
                None => Value::Array(vec![skeleton]),
                Some(key) => Value::Object(Map::from_iter([(key, skeleton)])),
            };
            if self.filter.query_located(&wrapper).is_empty() {
                continue;
            }
            let element: Value = match (&self.members, wrapper) {
                // The skeleton was the whole element.
                (None, Value::Array(mut items)) => items.pop().unwrap_or(Value::Null),
                (None, Value::Object(map)) => {
                    map.into_iter().next().map_or(Value::Null, |(_, v)| v)
                }
                _ => serde_json::from_str(raw.get())?,
            };
            let base = format!("{location}{segment}");
            match &self.rest {
                None => selected.push((base, Cow::Owned(element))),
                Some(rest) => {
                    for (path, value) in docpath::query(rest, &element) {
                        selected.push((format!("{base}{}", &path[1..]), Cow::Owned(value.clone())));
                    }
                }
            }
        }
        Ok(selected)
    }

    /// An element as the filter needs to see it: only the members it reads when it is an
    /// object and the filter names them all, else the whole element.
    fn skeleton(&self, raw: &RawValue) -> anyhow::Result<Value> {
        let is_object = raw.get().trim_start().starts_with('{');
        match &self.members {
            Some(members) if is_object => {
                let mut deserializer = serde_json::Deserializer::from_str(raw.get());
                Ok(Value::Object(de::Deserializer::deserialize_map(
                    &mut deserializer,
                    Pick(members),
                )?))
            }
            _ => Ok(serde_json::from_str(raw.get())?),
        }
    }
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

/// Where the prefix led.
#[derive(Debug)]
enum Collection<'de> {
    /// Nowhere, or to a scalar: the filter selects nothing.
    None,
    List(Vec<&'de RawValue>),
    /// In key order, with the last of duplicate keys, as a parse would give.
    Members(BTreeMap<String, &'de RawValue>),
}

/// Walks the prefix in one pass, skipping everything off the path.
struct Navigate<'p>(&'p [Step]);

impl<'de> DeserializeSeed<'de> for Navigate<'_> {
    type Value = Collection<'de>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Navigate<'_> {
    type Value = Collection<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        match self.0.split_first() {
            None => {
                let mut members = BTreeMap::new();
                while let Some(key) = map.next_key::<String>()? {
                    members.insert(key, map.next_value::<&'de RawValue>()?);
                }
                Ok(Collection::Members(members))
            }
            Some((Step::Key(name), rest)) => {
                let mut found = Collection::None;
                // Keep scanning after a match: of duplicate keys the last one wins.
                while let Some(key) = map.next_key_seed(Wanted(|key: &str| key == name))? {
                    if key.is_some() {
                        found = map.next_value_seed(Navigate(rest))?;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(found)
            }
            Some((Step::Index(_), _)) => {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Collection::None)
            }
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        match self.0.split_first() {
            None => {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<&'de RawValue>()? {
                    items.push(item);
                }
                Ok(Collection::List(items))
            }
            Some((Step::Index(wanted), rest)) => {
                let mut found = Collection::None;
                let mut index = 0;
                loop {
                    if index == *wanted {
                        match seq.next_element_seed(Navigate(rest))? {
                            Some(collection) => found = collection,
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
                Ok(Collection::None)
            }
        }
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Collection::None)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Collection::None)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Collection::None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Collection::None)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Collection::None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Collection::None)
    }
}

/// Deserializes an object keeping only the listed members.
struct Pick<'w>(&'w BTreeSet<String>);

impl<'de> Visitor<'de> for Pick<'_> {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut picked = Map::new();
        while let Some(key) = map.next_key_seed(Wanted(|key: &str| self.0.contains(key)))? {
            match key {
                Some(key) => {
                    picked.insert(key, map.next_value()?);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(picked)
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
