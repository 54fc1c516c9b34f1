use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

/// Every match of `query` in `document` as (normalized path, value).
fn run(query: &str, document: &Value, max_nodes: u64) -> Result<Vec<(String, Value)>, Exhausted> {
    let path = JsonPath::parse(query).unwrap_or_else(|err| panic!("`{query}`: {err:?}"));
    let located = path.locate(document, max_nodes)?;
    Ok(located
        .iter()
        .map(|(value, location)| (located.normalized_path(location), value.clone()))
        .collect())
}

/// The nodes `query` spends on `document`.
fn cost(query: &str, document: &Value) -> u64 {
    let path = JsonPath::parse(query).unwrap();
    let mut evaluator = Evaluator::new(u64::MAX);
    evaluator.locate(path.query(), document).unwrap();
    evaluator.used()
}

fn error(query: &str) -> SyntaxError {
    JsonPath::parse(query).expect_err(query)
}

#[test]
fn syntax_errors_say_what_and_where() {
    let cases = [
        ("", 0, "starts with `$`"),
        (
            "$.",
            2,
            "expected a member name or `*` after `.`, found the end",
        ),
        ("$.1a", 2, "found `1`"),
        ("$[", 2, "expected a selector"),
        ("$['a'", 5, "expected `,` or `]`"),
        ("$[01]", 3, "expected `,` or `]`, found `1`"),
        ("$[-0]", 2, "`-0` is not an index"),
        ("$[9007199254740992]", 2, "within ±9007199254740991"),
        ("$['a\\x']", 4, "unknown escape"),
        ("$['\\uDC00']", 3, "a low surrogate without a high one"),
        ("$[?@.a == ]", 10, "expected a literal, a query"),
        ("$[?@.* == 1]", 3, "a comparison needs a singular query"),
        ("$[?1]", 3, "a literal is no test on its own"),
        ("$[?length(@)]", 3, "this function returns a value"),
        ("$[?match(@, 'a') == true]", 3, "returns a logical result"),
        ("$[?foo(@)]", 3, "unknown function `foo`"),
        ("$[?count(1) > 0]", 9, "`count` takes a query"),
        (
            "$[?length(@.*) > 0]",
            10,
            "an argument of `length` needs a singular query",
        ),
        (
            "$[?length(@, @) > 0]",
            3,
            "`length` takes 1 argument, not 2",
        ),
        ("$[?@.a == truex]", 10, "unknown name `truex`"),
        ("$.a ", 3, "found ` `"),
    ];
    for (query, position, message) in cases {
        let err = error(query);
        assert!(
            err.message.contains(message) && err.position == position,
            "`{query}`: {err:?}, expected `{message}` at {position}"
        );
    }
}

#[test]
fn nesting_is_bounded_at_the_limit() {
    // `$[` opens one level; each `(` one more.
    let parens =
        |depth: usize| format!("$[?{}@.a{}]", "(".repeat(depth - 1), ")".repeat(depth - 1));
    let filters = |depth: usize| format!("${}.a{}", "[?@".repeat(depth), "]".repeat(depth));
    let document = json!([{"a": 1}]);
    for query in [parens(MAX_QUERY_NESTING), filters(MAX_QUERY_NESTING)] {
        run(&query, &document, 1_000).unwrap();
    }
    for query in [
        parens(MAX_QUERY_NESTING + 1),
        filters(MAX_QUERY_NESTING + 1),
    ] {
        let err = error(&query);
        assert!(err.message.contains("nest more than 32 deep"), "{err:?}");
    }
}

#[test]
fn hostile_nesting_is_refused_on_a_small_stack() {
    // A thread with half the stack of a test thread, which the deepest query allowed
    // needs about a third of in a debug build: unbounded, these would overflow it.
    std::thread::Builder::new()
        .stack_size(1024 * 1024)
        .spawn(|| {
            for query in [
                format!("$[?{}", "(".repeat(100_000)),
                format!("$[?{}", "@[?".repeat(40_000)),
                format!("$[?{}", "length(".repeat(15_000)),
                format!("$[?{}@{}]", "!(".repeat(30_000), ")".repeat(30_000)),
                format!("${}", "[?@".repeat(40_000)),
            ] {
                let err = error(&query);
                assert!(err.message.contains("nest more than"), "{err:?}");
            }
            let depth = MAX_QUERY_NESTING;
            let parens = format!("$[?{}@.a{}]", "(".repeat(depth - 1), ")".repeat(depth - 1));
            run(&parens, &json!([{"a": 1}]), 1_000).unwrap();
            // Filters in filters, each evaluated: a document as deep as the query.
            let filters = format!("${}.a{}", "[?@".repeat(depth), "]".repeat(depth));
            let mut document = json!({"a": 1});
            for _ in 0..depth {
                document = json!([document]);
            }
            assert_eq!(run(&filters, &document, 100_000).unwrap().len(), 1);
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn query_length_is_bounded_at_the_limit() {
    let at_limit = format!("$['{}']", "a".repeat(MAX_QUERY_BYTES - 5));
    assert_eq!(at_limit.len(), MAX_QUERY_BYTES);
    JsonPath::parse(&at_limit).unwrap();
    let past = format!("$['{}']", "a".repeat(MAX_QUERY_BYTES - 4));
    let err = error(&past);
    assert!(
        err.message.contains("more than the 131072 allowed"),
        "{err:?}"
    );
}

#[test]
fn the_budget_counts_every_node_visited() {
    let document = json!({"a": [1, {"b": 2}], "c": "x"});
    // The root, then each node selected.
    assert_eq!(cost("$", &document), 1);
    assert_eq!(cost("$.a", &document), 2);
    assert_eq!(cost("$.a[*]", &document), 4);
    // Descendants: each node walked (5) and each node selected from them (4).
    assert_eq!(cost("$..*", &document), 1 + 6 + 5);
    // A filter: each child tested, and each step of its query.
    assert_eq!(cost("$.a[?@.b == 2]", &document), 2 + 2 + 2);
    // At the budget a query passes; one node short it fails, naming the budget.
    let needed = cost("$..*", &document);
    assert_eq!(run("$..*", &document, needed).unwrap().len(), 5);
    assert_eq!(
        run("$..*", &document, needed - 1),
        Err(Exhausted {
            max_nodes: needed - 1
        })
    );
}

/// A document of `n` objects, each with a title and a list.
fn wide(n: usize) -> Value {
    Value::Array(
        (0..n)
            .map(|i| json!({"id": i, "title": format!("task {i}"), "tags": ["x", "y"]}))
            .collect(),
    )
}

#[test]
fn quadratic_queries_run_out_of_budget() {
    let document = wide(2_000);
    for query in [
        "$..[?count($..*) > 3]",
        "$..*..*..*",
        "$[*][?$ == $]",
        "$[?value($[*].id) == 1]",
    ] {
        let result = run(query, &document, 30_000).map(|found| found.len());
        assert_eq!(result, Err(Exhausted { max_nodes: 30_000 }), "{query}");
    }
    // Results too: what a query returns it has paid for.
    let all = run("$..*", &document, 100_000).unwrap();
    assert!(all.len() < 100_000);
}

#[test]
fn deep_comparisons_spend_the_budget() {
    let big: Vec<u32> = (0..10_000).collect();
    let document = json!({"a": big, "b": big});
    assert_eq!(
        run("$[?@ == $.b]", &document, 5_000),
        Err(Exhausted { max_nodes: 5_000 })
    );
    assert_eq!(run("$[?@ == $.b]", &document, 100_000).unwrap().len(), 2);
}

#[test]
fn regexes_compile_once_per_evaluation() {
    let document = Value::Array(
        (0..1_000)
            .map(|i| {
                let pattern = ["a.*", "a[0-9]*", ".+"][i % 3];
                json!({"t": format!("a{i}"), "p": pattern})
            })
            .collect(),
    );
    let compiled = |query: &str| {
        let path = JsonPath::parse(query).unwrap();
        let mut evaluator = Evaluator::new(u64::MAX);
        let found = evaluator.locate(path.query(), &document).unwrap().len();
        (found, evaluator.regexes())
    };
    assert_eq!(compiled("$[?search(@.t, '9$')]"), (100, (1, 1)));
    assert_eq!(compiled("$[?match(@.t, 'a1.*')]"), (111, (1, 1)));
    // Patterns from the document: each distinct one once.
    assert_eq!(compiled("$[?match(@.t, @.p)]"), (1_000, (3, 3)));
    // Past the cache's size, patterns are compiled again, but never kept beyond it.
    let many = Value::Array(
        (0..100)
            .map(|i| json!({"t": "x", "p": format!("x{{1,{}}}", i + 1)}))
            .collect(),
    );
    let path = JsonPath::parse("$[?match(@.t, @.p)]").unwrap();
    let mut evaluator = Evaluator::new(u64::MAX);
    assert_eq!(evaluator.locate(path.query(), &many).unwrap().len(), 100);
    let (compiled, kept) = evaluator.regexes();
    assert_eq!(compiled, 100);
    assert!(kept <= MAX_CACHED_REGEXES, "{kept}");
    // Each compilation costs.
    assert!(evaluator.used() >= 100 * REGEX_COMPILE_COST);
}

#[test]
fn regexes_follow_i_regexp() {
    let document = json!(["axb", "a\nb", "a\rb", "zaxbz", "😀"]);
    let matched = |query: &str| -> Vec<Value> {
        run(query, &document, 1_000_000)
            .unwrap()
            .into_iter()
            .map(|(_, value)| value)
            .collect()
    };
    assert_eq!(matched("$[?match(@, 'a.b')]"), [json!("axb")]);
    assert_eq!(
        matched("$[?search(@, 'a.b')]"),
        [json!("axb"), json!("zaxbz")]
    );
    assert_eq!(matched("$[?match(@, '.')]"), [json!("😀")]);
    // Not a pattern, or one past the size limit: no match, quickly.
    assert!(matched("$[?match(@, '(')]").is_empty());
    assert!(matched("$[?search(@, 'a{1000}{1000}')]").is_empty());
    // The pattern of finding 5 still compiles.
    assert!(matched("$[?search(@, 'a{100}{100}')]").is_empty());
}

#[test]
fn deep_documents_are_walked_without_recursion() {
    // Built by hand: deeper than any parser allows.
    let mut document = json!("leaf");
    for _ in 0..20_000 {
        document = Value::Array(vec![document]);
    }
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let all = JsonPath::parse("$..*").unwrap();
            let found = all.locate(&document, 1_000_000).unwrap();
            assert_eq!(found.len(), 20_000);
            let (_, third) = found.iter().nth(2).unwrap();
            assert_eq!(found.normalized_path(third), "$[0][0][0]");
            let equal = JsonPath::parse("$[?@ == $[0]]").unwrap();
            assert_eq!(equal.locate(&document, 1_000_000).unwrap().len(), 1);
            // `serde_json` would drop the document recursively.
            std::mem::forget(document);
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn where_this_departs_from_serde_json_path_it_follows_rfc_9535() {
    let document = json!([[1, 2], [3], {"a": true}, {"a": false}]);
    // Blank space before a descendant segment.
    assert_eq!(run("$ ..a", &document, 1_000).unwrap().len(), 2);
    // Lowercase hexadecimal digits in a surrogate pair.
    let smile = json!({"😀": 1});
    assert_eq!(run("$['\\ud83d\\ude00']", &smile, 100).unwrap().len(), 1);
    // A negative index in a singular query counts from the end.
    assert_eq!(
        run("$[?@[-1] == 2]", &document, 1_000).unwrap(),
        [("$[0]".to_owned(), json!([1, 2]))]
    );
    // Booleans are not ordered, and nothing is `<=` nothing.
    assert!(run("$[?@.a > false]", &document, 1_000).unwrap().is_empty());
    assert_eq!(run("$[?@.x <= @.y]", &document, 1_000).unwrap().len(), 4);
}

#[test]
fn positions_are_shown_under_the_character() {
    assert_eq!(
        show_position("$.a[?@.b==]", 10),
        "  $.a[?@.b==]\n            ^"
    );
    // Past the 65,535th character (a width `format!` cannot pad to): cut, never a panic.
    let long = format!("$['{}{}'] ?", "a".repeat(70_000), "é".repeat(10));
    let err = error(&long);
    assert_eq!(err.position, long.len() - 2);
    let shown = show_position(&long, err.position);
    let (line, caret) = shown.split_once('\n').unwrap();
    assert!(
        line.starts_with("  …a") && line.ends_with("ééé'] ?"),
        "{line}"
    );
    assert!(caret.trim_start().starts_with('^') && caret.ends_with('^'));
    let under: String = line.chars().skip(caret.chars().count() - 1).collect();
    assert_eq!(under, " ?", "the caret is under the blank");
    // Control characters print as spaces, so the caret stays aligned.
    assert_eq!(show_position("$[\n\t?", 4), "  $[  ?\n      ^");
}

/// Queries built from the grammar, to compare with `serde_json_path`: names and indexes
/// small, filters two deep at most, and only `==`, `!=` and `<` (where the two agree).
fn query_text(depth: u32) -> impl Strategy<Value = String> {
    let name = prop::sample::select(vec!["a", "b", "k", "é"]);
    let singular = (
        prop::sample::select(vec!["@", "$"]),
        prop::collection::vec(
            prop_oneof![
                name.clone().prop_map(|n| format!(".{n}")),
                name.clone().prop_map(|n| format!("['{n}']")),
                (0..3u8).prop_map(|i| format!("[{i}]")),
            ],
            0..3,
        ),
    )
        .prop_map(|(start, steps)| format!("{start}{}", steps.concat()));
    let literal = prop::sample::select(vec!["1", "2", "-1", "2.0", "'a'", "'b'", "true", "null"]);
    // `serde_json_path` reads a query of names and indexes as a singular one wherever it
    // can, and there counts negative indexes wrong; the arguments of `count` and `value`
    // keep to positive ones.
    let plain_segment = |negative: bool| {
        let simple_selector = prop_oneof![
            name.clone().prop_map(|n| format!("'{n}'")),
            Just("*".to_owned()),
            (if negative { -2..3i8 } else { 0..3i8 }).prop_map(|i| i.to_string()),
            prop::sample::select(vec!["0:2", "::-1", "1:", ":1", "::2", "-1:"])
                .prop_map(String::from),
        ];
        prop_oneof![
            name.clone().prop_map(|n| format!(".{n}")),
            Just(".*".to_owned()),
            name.clone().prop_map(|n| format!("..{n}")),
            Just("..*".to_owned()),
            prop::collection::vec(simple_selector, 1..3)
                .prop_map(|selectors| format!("[{}]", selectors.join(","))),
        ]
    };
    let segments = |segment: BoxedStrategy<String>| {
        prop::collection::vec(segment, 0..3).prop_map(|segments| segments.concat())
    };
    let relative = |negative: bool| {
        (
            prop::sample::select(vec!["@", "$"]),
            segments(plain_segment(negative).boxed()),
        )
            .prop_map(|(start, segments)| format!("{start}{segments}"))
    };
    let value = prop_oneof![
        literal.clone().prop_map(String::from),
        singular.clone(),
        singular.clone().prop_map(|q| format!("length({q})")),
        relative(false).prop_map(|q| format!("count({q})")),
        relative(false).prop_map(|q| format!("value({q})")),
    ];
    let op = prop::sample::select(vec!["==", "!=", "<"]);
    let basic = prop_oneof![
        (value.clone(), op, value).prop_map(|(l, op, r)| format!("{l} {op} {r}")),
        relative(true),
        relative(true).prop_map(|q| format!("!{q}")),
        (
            singular.clone(),
            prop::sample::select(vec!["'a.*'", "'[ab]'", "'^a'"])
        )
            .prop_map(|(q, p)| format!("match({q}, {p})")),
        (singular, prop::sample::select(vec!["'a'", "'.'"]))
            .prop_map(|(q, p)| format!("!search({q},{p})")),
    ];
    let logical = prop::collection::vec((basic, prop::sample::select(vec![" && ", " || "])), 1..3)
        .prop_map(|parts| {
            let mut out = String::new();
            for (i, (basic, join)) in parts.iter().enumerate() {
                if i > 0 {
                    out.push_str(join);
                }
                out.push_str(basic);
            }
            out
        });
    let filter = if depth == 0 {
        logical.boxed()
    } else {
        prop_oneof![
            logical.clone(),
            logical.clone().prop_map(|l| format!("!({l})")),
            query_text(depth - 1).prop_map(|q| format!("@{}", &q[1..])),
        ]
        .boxed()
    };
    let segment = prop_oneof![
        3 => plain_segment(true),
        1 => filter.clone().prop_map(|f| format!("[?{f}]")),
        1 => filter.prop_map(|f| format!("..[?{f}]")),
    ];
    segments(segment.boxed()).prop_map(|segments| format!("${segments}"))
}

/// Small documents over the names the queries use.
fn document() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-2..3i64).prop_map(Value::from),
        Just(json!(2.0)),
        prop::sample::select(vec!["a", "b", "ab", "ba"]).prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec!["a", "b", "k", "é"]).prop_map(String::from),
                inner,
                0..4
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A query with one character inserted, removed or replaced, to probe what is refused.
fn mutated() -> impl Strategy<Value = String> {
    (
        query_text(1),
        any::<prop::sample::Index>(),
        prop::sample::select(vec![
            "", "$", "@", ".", "..", "[", "]", "(", ")", "?", "!", "'", "\"", ",", ":", "*", "=",
            "<", "&&", "||", "-", "0", "01", "e", " ", "\\", "\\u", "length(", "x",
        ]),
        any::<bool>(),
    )
        .prop_map(|(query, at, insert, replace)| {
            let boundaries: Vec<usize> = (0..=query.len())
                .filter(|i| query.is_char_boundary(*i))
                .collect();
            let at = boundaries[at.index(boundaries.len())];
            let end = if replace {
                boundaries.iter().copied().find(|i| *i > at).unwrap_or(at)
            } else {
                at
            };
            format!("{}{insert}{}", &query[..at], &query[end..])
        })
}

/// What `serde_json_path` makes of a query on a document, as this module reports it.
fn reference(query: &str, document: &Value) -> Option<Vec<(String, Value)>> {
    let path = serde_json_path::JsonPath::parse(query).ok()?;
    Some(
        path.query_located(document)
            .iter()
            .map(|node| (node.location().to_string(), node.node().clone()))
            .collect(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// On queries and documents where `serde_json_path` follows RFC 9535, this agrees with it
    /// exactly: the same nodes, paths and order.
    #[test]
    fn agrees_with_serde_json_path(query in query_text(2), document in document()) {
        let ours = run(&query, &document, u64::MAX);
        let theirs = reference(&query, &document);
        prop_assert_eq!(ours.ok(), theirs, "{}", query);
    }

    /// Both refuse the same queries (bar blank space before `..`, which RFC 9535 allows and
    /// `serde_json_path` refuses).
    #[test]
    fn refuses_what_serde_json_path_refuses(query in mutated()) {
        prop_assume!(!query.contains(" .."));
        let ours = JsonPath::parse(&query);
        let theirs = serde_json_path::JsonPath::parse(&query);
        prop_assert_eq!(ours.is_ok(), theirs.is_ok(), "{}: {:?}", query, ours);
    }
}
