//! All 703 cases of the RFC 9535 JSONPath Compliance Test Suite
//! (`tests/fixtures/jsonpath-cts/cts.json`, BSD-2, see the LICENSE beside it), run through the
//! same `docpath` functions that `state get` and `query` use.

use serde_json::Value;

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
        let compiled = orchestron::docpath::compile(selector);
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
        let matches = orchestron::docpath::query(&path, &case["document"]);
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
