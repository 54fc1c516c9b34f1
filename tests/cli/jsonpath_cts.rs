//! All 703 cases of the RFC 9535 JSONPath Compliance Test Suite
//! (`tests/fixtures/jsonpath-cts/cts.json`, BSD-2, see the LICENSE beside it), run through the
//! same `docpath` functions that `state get` and `query` use.

use serde_json::Value;

/// The default budget, which every case fits.
const BUDGET: u64 = orchestron_core::config::DEFAULT_QUERY_MAX_NODES;

#[test]
fn every_compliance_test_suite_case_passes() {
    let suite: Value =
        serde_json::from_str(include_str!("../fixtures/jsonpath-cts/cts.json")).unwrap();
    let cases = suite["tests"].as_array().unwrap();
    assert_eq!(cases.len(), 703);
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let selector = case["selector"].as_str().unwrap();
        let compiled = orchestron_core::docpath::compile(selector);
        if case["invalid_selector"] == true {
            if compiled.is_ok() {
                failures.push(format!("{name}: `{selector}` should be invalid"));
            }
            continue;
        }
        let path = match compiled {
            Ok(path) => path,
            Err(err) => {
                failures.push(format!("{name}: `{selector}` failed to parse: {err}"));
                continue;
            }
        };
        let matches = orchestron_core::docpath::query(&path, &case["document"], BUDGET).unwrap();
        let values: Vec<Value> = matches.iter().map(|(_, value)| (*value).clone()).collect();
        let paths: Vec<Value> = matches
            .iter()
            .map(|(path, _)| Value::String(path.clone()))
            .collect();
        // Some cases allow several orders (object member order is unspecified).
        let expected: Vec<(&Value, &Value)> = match case.get("result") {
            Some(result) => vec![(result, &case["result_paths"])],
            None => case["results"]
                .as_array()
                .unwrap()
                .iter()
                .zip(case["results_paths"].as_array().unwrap())
                .collect(),
        };
        let ok = expected.iter().any(|(result, result_paths)| {
            **result == Value::Array(values.clone())
                && **result_paths == Value::Array(paths.clone())
        });
        if !ok {
            failures.push(format!("{name}: `{selector}` gave {values:?} at {paths:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 703 failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `select`, which parses only what a query needs, must agree exactly (values, paths, order)
/// with evaluating the query on the whole parsed document, for every valid query of the suite
/// and for documents built to trip it: duplicate keys, escaped keys, filters over objects.
#[test]
fn partial_parsing_agrees_with_full_evaluation() {
    let suite: Value =
        serde_json::from_str(include_str!("../fixtures/jsonpath-cts/cts.json")).unwrap();
    let mut cases: Vec<(String, String)> = suite["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|case| case["invalid_selector"] != true)
        .map(|case| {
            (
                case["selector"].as_str().unwrap().to_owned(),
                case["document"].to_string(),
            )
        })
        .collect();
    let tricky = r#"{"a": {"t": [{"s": "x", "n": 1}, {"s": "y", "n": 2}, 3, [4], {"s": "x", "n": 3}],
                      "o": {"k2": {"s": "x"}, "k1": {"s": "x", "d": {"e": 1}}, "k\"3": {"s": "z"}}},
                     "a": {"t": [{"s": "x", "n": 9, "s": "y"}, {"s": "y", "s": "x", "n": 8}],
                           "o": {"k": {"s": "x"}, "j": {"s": "y", "s": "x"}, "k": {"s": "y"}},
                           "l": {"k\n": {"s": 1}}},
                     "limit": 2}"#;
    for query in [
        "$.a.t[?@.s=='x']",
        "$.a.t[?@.s=='x'].n",
        "$.a.t[?@.s=='y']",
        "$.a.o[?@.s=='y']",
        "$.a['o'][?@.s=='x']",
        "$.a.o[?@.s=='x']..e",
        "$.a.l[?@.s==1]",
        "$.a.t[?@.n > 1]",
        "$.a.t[?@ == 3]",
        "$.a.t[?length(@) == 2]",
        "$.a.t[?@.n > $.limit]",
        "$.a.t[0][?@]",
        "$.missing[?@.s]",
        "$.limit[?@.s]",
    ] {
        cases.push((query.to_owned(), tricky.to_owned()));
    }
    let mut failures = Vec::new();
    for (query, text) in &cases {
        let path = orchestron_core::docpath::compile(query).unwrap();
        let document: Value = serde_json::from_str(text).unwrap();
        let expected: Vec<(String, Value)> =
            orchestron_core::docpath::query(&path, &document, BUDGET)
                .unwrap()
                .into_iter()
                .map(|(path, value)| (path, value.clone()))
                .collect();
        let mut whole = None;
        let selected: Vec<(String, Value)> =
            orchestron_core::select::select(query, text, &mut whole, BUDGET)
                .unwrap()
                .into_iter()
                .map(|(path, value)| (path, value.into_owned()))
                .collect();
        if selected != expected {
            failures.push(format!(
                "`{query}` on {text}:\n  select {selected:?}\n  full   {expected:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} disagree:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
