//! A recursive-descent parser for RFC 9535 JSONPath, in one pass and linear time.
//!
//! Each level of recursion consumes a `[` or a `(`, and the parser refuses to open more than
//! [`MAX_QUERY_NESTING`] of them at once, so no query can exhaust the stack. Function calls
//! are checked as they are read (RFC 9535 section 2.4.3: the arity, and which arguments
//! convert to which parameter types), so the evaluator never meets an ill-typed call.

use std::str::FromStr as _;

use serde_json::{Number, Value};

use super::ast::{
    Basic, Call, Comparison, Logical, Query, Segment, Selector, SingularQuery, ValueExpr,
};
use super::{MAX_QUERY_NESTING, SyntaxError};

/// The largest integer an index or slice may hold, as in I-JSON: 2^53 - 1.
const MAX_INTEGER: i64 = (1 << 53) - 1;

/// Parse a whole JSONPath query, which starts with `$`.
pub(crate) fn parse(source: &str) -> Result<Query, SyntaxError> {
    let mut parser = Parser {
        source,
        bytes: source.as_bytes(),
        position: 0,
        depth: 0,
    };
    if !parser.eat(b'$') {
        return Err(parser.error("a JSONPath starts with `$`"));
    }
    let segments = parser.segments()?;
    if parser.position < parser.bytes.len() {
        return Err(parser.unexpected("a segment such as `.name` or `[0]`"));
    }
    Ok(Query {
        absolute: true,
        segments,
    })
}

struct Parser<'s> {
    source: &'s str,
    bytes: &'s [u8],
    /// A byte offset, always on a character boundary.
    position: usize,
    /// How many `[` and `(` are open.
    depth: usize,
}

/// What the parser read where a value, a query or a function may stand.
enum Operand {
    Literal(Value),
    Query(Query),
    Call(Call),
}

/// The type of what a function returns (RFC 9535 section 2.4.1).
#[derive(Clone, Copy, PartialEq)]
enum Returns {
    Value,
    Logical,
}

impl<'s> Parser<'s> {
    fn error(&self, message: impl Into<String>) -> SyntaxError {
        self.error_at(self.position, message)
    }

    fn error_at(&self, position: usize, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            message: message.into(),
            position,
        }
    }

    /// An error naming what was expected and what was found instead.
    fn unexpected(&self, expected: &str) -> SyntaxError {
        match self.source[self.position..].chars().next() {
            None => self.error(format!("expected {expected}, found the end")),
            Some(found) => self.error(format!(
                "expected {expected}, found `{}`",
                found.escape_debug()
            )),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.position).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<u8> {
        self.bytes.get(self.position + offset).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.position += 1;
        }
        found
    }

    fn eat_str(&mut self, text: &str) -> bool {
        let found = self.bytes[self.position..].starts_with(text.as_bytes());
        if found {
            self.position += text.len();
        }
        found
    }

    fn expect(&mut self, byte: u8, expected: &str) -> Result<(), SyntaxError> {
        if self.eat(byte) {
            Ok(())
        } else {
            Err(self.unexpected(expected))
        }
    }

    /// Skip blank space: spaces, tabs, line feeds and carriage returns.
    fn skip_blank(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.position += 1;
        }
    }

    /// Open a `[` or `(`, refusing to nest deeper than the bound.
    fn open(&mut self) -> Result<(), SyntaxError> {
        if self.depth == MAX_QUERY_NESTING {
            return Err(self.error(format!(
                "brackets and parentheses nest more than {MAX_QUERY_NESTING} deep"
            )));
        }
        self.depth += 1;
        self.position += 1;
        Ok(())
    }

    fn close(&mut self, byte: u8, expected: &str) -> Result<(), SyntaxError> {
        self.expect(byte, expected)?;
        self.depth -= 1;
        Ok(())
    }

    /// Segments, each perhaps after blank space; stops before blank space that no segment
    /// follows.
    fn segments(&mut self) -> Result<Vec<Segment>, SyntaxError> {
        let mut segments = Vec::new();
        loop {
            let before = self.position;
            self.skip_blank();
            match self.peek() {
                Some(b'.') if self.peek_at(1) == Some(b'.') => {
                    self.position += 2;
                    let selectors = match self.peek() {
                        Some(b'*') => {
                            self.position += 1;
                            vec![Selector::Wildcard]
                        }
                        Some(b'[') => self.bracketed()?,
                        _ => vec![Selector::Name(
                            self.member_name("a member name, `*` or `[` after `..`")?,
                        )],
                    };
                    segments.push(Segment {
                        descendant: true,
                        selectors,
                    });
                }
                Some(b'.') => {
                    self.position += 1;
                    let selector = if self.eat(b'*') {
                        Selector::Wildcard
                    } else {
                        Selector::Name(self.member_name("a member name or `*` after `.`")?)
                    };
                    segments.push(Segment {
                        descendant: false,
                        selectors: vec![selector],
                    });
                }
                Some(b'[') => {
                    let selectors = self.bracketed()?;
                    segments.push(Segment {
                        descendant: false,
                        selectors,
                    });
                }
                _ => {
                    self.position = before;
                    return Ok(segments);
                }
            }
        }
    }

    /// A member name in shorthand: a letter, `_` or a non-ASCII character first, then those
    /// or digits.
    fn member_name(&mut self, expected: &str) -> Result<String, SyntaxError> {
        let rest = &self.source[self.position..];
        let first_ok = rest
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || !c.is_ascii());
        if !first_ok {
            return Err(self.unexpected(expected));
        }
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii()))
            .unwrap_or(rest.len());
        self.position += end;
        Ok(rest[..end].to_owned())
    }

    /// `[selector, selector, …]`.
    fn bracketed(&mut self) -> Result<Vec<Selector>, SyntaxError> {
        self.open()?;
        self.skip_blank();
        let mut selectors = vec![self.selector()?];
        loop {
            self.skip_blank();
            if self.eat(b',') {
                self.skip_blank();
                selectors.push(self.selector()?);
            } else {
                self.close(b']', "`,` or `]`")?;
                return Ok(selectors);
            }
        }
    }

    fn selector(&mut self) -> Result<Selector, SyntaxError> {
        match self.peek() {
            Some(b'*') => {
                self.position += 1;
                Ok(Selector::Wildcard)
            }
            Some(b'\'' | b'"') => Ok(Selector::Name(self.string()?)),
            Some(b'?') => {
                self.position += 1;
                self.skip_blank();
                Ok(Selector::Filter(self.logical()?))
            }
            Some(b'-' | b'0'..=b'9' | b':') => self.index_or_slice(),
            _ => Err(self.unexpected("a selector (a name, `*`, an index, a slice or a filter)")),
        }
    }

    fn index_or_slice(&mut self) -> Result<Selector, SyntaxError> {
        let start = self.integer_if_any()?;
        let after_start = self.position;
        self.skip_blank();
        if !self.eat(b':') {
            self.position = after_start;
            return match start {
                Some(index) => Ok(Selector::Index(index)),
                None => Err(self.unexpected("an index or a slice")),
            };
        }
        self.skip_blank();
        let end = self.integer_if_any()?;
        self.skip_blank();
        let step = if self.eat(b':') {
            self.skip_blank();
            self.integer_if_any()?
        } else {
            None
        };
        Ok(Selector::Slice { start, end, step })
    }

    /// An integer (`0`, or an optional `-` and digits without a leading zero) within the
    /// I-JSON range, if one starts here.
    fn integer_if_any(&mut self) -> Result<Option<i64>, SyntaxError> {
        let start = self.position;
        let negative = self.eat(b'-');
        match self.peek() {
            Some(b'0') if negative => Err(self.error_at(start, "`-0` is not an index")),
            Some(b'0') => {
                self.position += 1;
                Ok(Some(0))
            }
            Some(b'1'..=b'9') => {
                while matches!(self.peek(), Some(b'0'..=b'9')) {
                    self.position += 1;
                }
                self.source[start..self.position]
                    .parse::<i64>()
                    .ok()
                    .filter(|value| value.abs() <= MAX_INTEGER)
                    .map(Some)
                    .ok_or_else(|| {
                        self.error_at(start, format!("an index must lie within ±{MAX_INTEGER}"))
                    })
            }
            _ if negative => Err(self.unexpected("digits after `-`")),
            _ => Ok(None),
        }
    }

    /// A string literal in single or double quotes, with JSON's escapes (and `\'` inside
    /// single quotes).
    fn string(&mut self) -> Result<String, SyntaxError> {
        let quote = self.bytes[self.position];
        self.position += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.source[self.position..].chars().next() else {
                return Err(self.error("unterminated string"));
            };
            let at = self.position;
            self.position += c.len_utf8();
            match c {
                _ if c as u32 == u32::from(quote) => return Ok(out),
                '\\' => out.push(self.escape(quote, at)?),
                c if (c as u32) < 0x20 => {
                    return Err(
                        self.error_at(at, "a control character in a string must be escaped")
                    );
                }
                c => out.push(c),
            }
        }
    }

    /// The character an escape after `\` stands for.
    fn escape(&mut self, quote: u8, at: usize) -> Result<char, SyntaxError> {
        let escaped = self.peek();
        self.position += 1;
        Ok(match escaped {
            Some(b'b') => '\u{8}',
            Some(b't') => '\t',
            Some(b'n') => '\n',
            Some(b'f') => '\u{c}',
            Some(b'r') => '\r',
            Some(b'/') => '/',
            Some(b'\\') => '\\',
            Some(byte) if byte == quote => char::from(quote),
            Some(b'u') => {
                let first = self.hex4(at)?;
                match first {
                    0xD800..=0xDBFF => {
                        if !self.eat_str("\\u") {
                            return Err(self.error_at(at, "a high surrogate without a low one"));
                        }
                        let second = self.hex4(at)?;
                        if !(0xDC00..=0xDFFF).contains(&second) {
                            return Err(self.error_at(at, "a high surrogate without a low one"));
                        }
                        let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                        char::from_u32(code).expect("a surrogate pair is a character")
                    }
                    0xDC00..=0xDFFF => {
                        return Err(self.error_at(at, "a low surrogate without a high one"));
                    }
                    code => char::from_u32(code).expect("not a surrogate, so a character"),
                }
            }
            _ => {
                self.position = at;
                return Err(self.error("unknown escape in a string"));
            }
        })
    }

    /// Four hexadecimal digits.
    fn hex4(&mut self, at: usize) -> Result<u32, SyntaxError> {
        let digits = self
            .bytes
            .get(self.position..self.position + 4)
            .filter(|digits| digits.iter().all(u8::is_ascii_hexdigit))
            .ok_or_else(|| self.error_at(at, "`\\u` takes four hexadecimal digits"))?;
        let code = digits.iter().fold(0, |code, digit| {
            code * 16 + char::from(*digit).to_digit(16).unwrap_or(0)
        });
        self.position += 4;
        Ok(code)
    }

    /// `a && b || c`: conjunctions joined by `||`.
    fn logical(&mut self) -> Result<Logical, SyntaxError> {
        let mut disjuncts = vec![self.conjunction()?];
        loop {
            let before = self.position;
            self.skip_blank();
            if self.eat_str("||") {
                self.skip_blank();
                disjuncts.push(self.conjunction()?);
            } else {
                self.position = before;
                return Ok(Logical(disjuncts));
            }
        }
    }

    fn conjunction(&mut self) -> Result<Vec<Basic>, SyntaxError> {
        let mut conjuncts = vec![self.basic()?];
        loop {
            let before = self.position;
            self.skip_blank();
            if self.eat_str("&&") {
                self.skip_blank();
                conjuncts.push(self.basic()?);
            } else {
                self.position = before;
                return Ok(conjuncts);
            }
        }
    }

    /// A parenthesised expression, a comparison, an existence test or a function test,
    /// each perhaps negated.
    fn basic(&mut self) -> Result<Basic, SyntaxError> {
        if self.eat(b'!') {
            self.skip_blank();
            return match self.peek() {
                Some(b'(') => Ok(Basic::Paren {
                    not: true,
                    inner: self.parenthesised()?,
                }),
                Some(b'@' | b'$') => Ok(Basic::Exists {
                    not: true,
                    query: self.query()?,
                }),
                Some(b'a'..=b'z') => {
                    let start = self.position;
                    let call = self.logical_call(start)?;
                    Ok(Basic::Test { not: true, call })
                }
                _ => Err(self.unexpected("`(`, a query or a function after `!`")),
            };
        }
        if self.peek() == Some(b'(') {
            return Ok(Basic::Paren {
                not: false,
                inner: self.parenthesised()?,
            });
        }
        let start = self.position;
        let left = self.operand()?;
        let before = self.position;
        self.skip_blank();
        if let Some(op) = self.comparison() {
            let left = self.comparable(left, start)?;
            self.skip_blank();
            let right_start = self.position;
            let right = self.operand()?;
            let right = self.comparable(right, right_start)?;
            return Ok(Basic::Compare { left, op, right });
        }
        self.position = before;
        match left {
            Operand::Query(query) => Ok(Basic::Exists { not: false, query }),
            Operand::Call(call) if returns(&call) == Returns::Logical => {
                Ok(Basic::Test { not: false, call })
            }
            Operand::Call(_) => Err(self.error_at(
                start,
                "this function returns a value: compare it, such as `length(@) > 1`",
            )),
            Operand::Literal(_) => Err(self.error_at(
                start,
                "a literal is no test on its own: compare it, such as `@.a == 1`",
            )),
        }
    }

    fn parenthesised(&mut self) -> Result<Logical, SyntaxError> {
        self.open()?;
        self.skip_blank();
        let inner = self.logical()?;
        self.skip_blank();
        self.close(b')', "`)`")?;
        Ok(inner)
    }

    fn comparison(&mut self) -> Option<Comparison> {
        let (op, width) = match (self.peek()?, self.peek_at(1)) {
            (b'=', Some(b'=')) => (Comparison::Equal, 2),
            (b'!', Some(b'=')) => (Comparison::NotEqual, 2),
            (b'<', Some(b'=')) => (Comparison::LessOrEqual, 2),
            (b'>', Some(b'=')) => (Comparison::GreaterOrEqual, 2),
            (b'<', _) => (Comparison::Less, 1),
            (b'>', _) => (Comparison::Greater, 1),
            _ => return None,
        };
        self.position += width;
        Some(op)
    }

    /// A side of a comparison: a literal, a singular query, or a function returning a value.
    fn comparable(&self, operand: Operand, start: usize) -> Result<ValueExpr, SyntaxError> {
        self.value_expr(operand, start, "a comparison")
    }

    /// What converts to a value: a literal, a singular query, or a function returning a
    /// value; `place` names where it stands, for the error.
    fn value_expr(
        &self,
        operand: Operand,
        start: usize,
        place: &str,
    ) -> Result<ValueExpr, SyntaxError> {
        match operand {
            Operand::Literal(value) => Ok(ValueExpr::Literal(value)),
            Operand::Query(query) => match query.singular() {
                Some(steps) => Ok(ValueExpr::Singular(SingularQuery {
                    absolute: query.absolute,
                    steps,
                })),
                None => Err(self.error_at(
                    start,
                    format!(
                        "{place} needs a singular query (names and indexes only), \
                         not one that can select several nodes"
                    ),
                )),
            },
            Operand::Call(call) if returns(&call) == Returns::Value => {
                Ok(ValueExpr::Call(Box::new(call)))
            }
            Operand::Call(_) => Err(self.error_at(
                start,
                format!("{place} needs a value, and this function returns a logical result"),
            )),
        }
    }

    /// A literal, a query or a function call.
    fn operand(&mut self) -> Result<Operand, SyntaxError> {
        match self.peek() {
            Some(b'@' | b'$') => Ok(Operand::Query(self.query()?)),
            Some(b'\'' | b'"') => Ok(Operand::Literal(Value::String(self.string()?))),
            Some(b'-' | b'0'..=b'9') => Ok(Operand::Literal(Value::Number(self.number()?))),
            Some(b'a'..=b'z') => {
                let start = self.position;
                let name = self.function_name();
                if self.peek() == Some(b'(') {
                    return Ok(Operand::Call(self.call(name, start)?));
                }
                match name {
                    "true" => Ok(Operand::Literal(Value::Bool(true))),
                    "false" => Ok(Operand::Literal(Value::Bool(false))),
                    "null" => Ok(Operand::Literal(Value::Null)),
                    _ => Err(self.error_at(
                        start,
                        format!("unknown name `{name}`: expected a literal, a query or a function"),
                    )),
                }
            }
            _ => Err(self.unexpected("a literal, a query (`@…`, `$…`) or a function")),
        }
    }

    /// `@` or `$` and segments.
    fn query(&mut self) -> Result<Query, SyntaxError> {
        let absolute = self.peek() == Some(b'$');
        self.position += 1;
        Ok(Query {
            absolute,
            segments: self.segments()?,
        })
    }

    /// A number as JSON writes it (and `-0`).
    fn number(&mut self) -> Result<Number, SyntaxError> {
        let start = self.position;
        self.eat(b'-');
        match self.peek() {
            Some(b'0') => self.position += 1,
            Some(b'1'..=b'9') => self.skip_digits(),
            _ => return Err(self.unexpected("digits")),
        }
        if self.peek() == Some(b'.') && self.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
            self.position += 1;
            self.skip_digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.position += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.position += 1;
            }
            if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
                return Err(self.unexpected("the digits of an exponent"));
            }
            self.skip_digits();
        }
        Number::from_str(&self.source[start..self.position])
            .map_err(|err| self.error_at(start, format!("invalid number: {err}")))
    }

    fn skip_digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.position += 1;
        }
    }

    /// A function name: a lowercase letter, then lowercase letters, digits and `_`.
    fn function_name(&mut self) -> &'s str {
        let start = self.position;
        while matches!(self.peek(), Some(b'a'..=b'z' | b'0'..=b'9' | b'_')) {
            self.position += 1;
        }
        let source: &'s str = self.source;
        &source[start..self.position]
    }

    /// A call of a function whose result is logical (after `!`, or alone as a test).
    fn logical_call(&mut self, start: usize) -> Result<Call, SyntaxError> {
        let name = self.function_name();
        if self.peek() != Some(b'(') {
            return Err(self.unexpected("`(` after a function name"));
        }
        let call = self.call(name, start)?;
        if returns(&call) != Returns::Logical {
            return Err(self.error_at(
                start,
                "this function returns a value: compare it, such as `length(@) > 1`",
            ));
        }
        Ok(call)
    }

    /// The arguments of the function `name` (the parser stands on `(`), checked against its
    /// parameters.
    fn call(&mut self, name: &str, start: usize) -> Result<Call, SyntaxError> {
        let name = name.to_owned();
        let arity = match name.as_str() {
            "length" | "count" | "value" => 1,
            "match" | "search" => 2,
            _ => return Err(self.error_at(start, format!("unknown function `{name}`"))),
        };
        self.open()?;
        self.skip_blank();
        let mut arguments = Vec::new();
        if self.peek() != Some(b')') {
            loop {
                let at = self.position;
                arguments.push((self.operand()?, at));
                self.skip_blank();
                if !self.eat(b',') {
                    break;
                }
                self.skip_blank();
            }
        }
        self.close(b')', "`,` or `)`")?;
        if arguments.len() != arity {
            return Err(self.error_at(
                start,
                format!(
                    "`{name}` takes {arity} argument{}, not {}",
                    if arity == 1 { "" } else { "s" },
                    arguments.len()
                ),
            ));
        }
        let mut arguments = arguments.into_iter();
        let mut next = || arguments.next().expect("the arity was checked");
        let place = format!("an argument of `{name}`");
        Ok(match name.as_str() {
            "length" => {
                let (operand, at) = next();
                Call::Length(self.value_expr(operand, at, &place)?)
            }
            "count" => {
                let (operand, at) = next();
                Call::Count(self.nodes(operand, at, &name)?)
            }
            "value" => {
                let (operand, at) = next();
                Call::Value(self.nodes(operand, at, &name)?)
            }
            _ => {
                let (subject, subject_at) = next();
                let (pattern, pattern_at) = next();
                let subject = self.value_expr(subject, subject_at, &place)?;
                let pattern = self.value_expr(pattern, pattern_at, &place)?;
                if name == "match" {
                    Call::Match(subject, pattern)
                } else {
                    Call::Search(subject, pattern)
                }
            }
        })
    }

    /// An argument that must be a query, for a parameter of nodes.
    fn nodes(&self, operand: Operand, start: usize, name: &str) -> Result<Query, SyntaxError> {
        match operand {
            Operand::Query(query) => Ok(query),
            _ => Err(self.error_at(start, format!("`{name}` takes a query such as `@.*`"))),
        }
    }
}

/// The type of what a call returns.
fn returns(call: &Call) -> Returns {
    match call {
        Call::Length(_) | Call::Count(_) | Call::Value(_) => Returns::Value,
        Call::Match(..) | Call::Search(..) => Returns::Logical,
    }
}
