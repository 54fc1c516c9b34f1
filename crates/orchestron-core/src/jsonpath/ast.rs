//! The syntax tree of a JSONPath query, already checked: every function has its arity and
//! argument types, and every comparison compares values (RFC 9535 section 2.4.3).

use serde_json::Value;

/// A query: `$` or `@` followed by segments.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Query {
    /// `$` (the root) rather than `@` (the current node).
    pub(crate) absolute: bool,
    pub(crate) segments: Vec<Segment>,
}

/// A segment: its selectors applied to each input node (a child segment), or to each input
/// node and every one of its descendants (a descendant segment, `..`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Segment {
    pub(crate) descendant: bool,
    pub(crate) selectors: Vec<Selector>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Selector {
    /// `'name'`, `.name`: the member of that name.
    Name(String),
    /// `*`: every child.
    Wildcard,
    /// `3`, `-1`: one element, negative counting from the end.
    Index(i64),
    /// `start:end:step`.
    Slice {
        start: Option<i64>,
        end: Option<i64>,
        step: Option<i64>,
    },
    /// `?expression`: the children for which it holds.
    Filter(Logical),
}

/// `a || b || …` of `x && y && …`: a disjunction of conjunctions.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Logical(pub(crate) Vec<Vec<Basic>>);

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Basic {
    /// `(…)` or `!(…)`.
    Paren { not: bool, inner: Logical },
    /// `a == b`, `a < b`, …
    Compare {
        left: ValueExpr,
        op: Comparison,
        right: ValueExpr,
    },
    /// `@.a`, `!$.b[*]`: whether the query selects anything.
    Exists { not: bool, query: Query },
    /// `match(…)`, `!search(…)`: a function whose result is logical.
    Test { not: bool, call: Call },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Comparison {
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

/// What yields one value or nothing: a comparison's side, a value argument.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ValueExpr {
    /// A string, number, `true`, `false` or `null`.
    Literal(Value),
    /// A query that names at most one node.
    Singular(SingularQuery),
    /// `length(…)`, `count(…)`, `value(…)`.
    Call(Box<Call>),
}

/// A query of names and indexes only, one per segment.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SingularQuery {
    pub(crate) absolute: bool,
    pub(crate) steps: Vec<SingularStep>,
}

/// A step of a singular query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SingularStep {
    Name(String),
    /// An index; negative counts from the end.
    Index(i64),
}

/// A call of one of the functions RFC 9535 defines, its arguments typed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Call {
    /// The length of a string (in characters), an array or an object.
    Length(ValueExpr),
    /// The number of nodes a query selects.
    Count(Query),
    /// The one node a query selects, or nothing.
    Value(Query),
    /// Whether the whole string matches the I-Regexp.
    Match(ValueExpr, ValueExpr),
    /// Whether some substring matches the I-Regexp.
    Search(ValueExpr, ValueExpr),
}

impl Query {
    /// The steps of a query made of single names and indexes, which names at most one node.
    pub(crate) fn singular(&self) -> Option<Vec<SingularStep>> {
        self.segments
            .iter()
            .map(|segment| match segment.selectors.as_slice() {
                [Selector::Name(name)] if !segment.descendant => {
                    Some(SingularStep::Name(name.clone()))
                }
                [Selector::Index(index)] if !segment.descendant => {
                    Some(SingularStep::Index(*index))
                }
                _ => None,
            })
            .collect()
    }
}
