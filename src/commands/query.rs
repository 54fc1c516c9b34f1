//! `orchestron query`: RFC 9535 JSONPath over any JSON document, for scripts.

use std::io::Read as _;

use anyhow::Context as _;
use serde_json::{Value, json};

use crate::cli::QueryArgs;
use crate::docpath;
use crate::output::Output;

pub(super) fn run(out: &mut Output, args: QueryArgs) -> anyhow::Result<()> {
    let path = docpath::compile(&args.jsonpath)?;
    let (bytes, source) = match &args.file {
        Some(file) if file.as_os_str() != "-" => (
            std::fs::read(file).with_context(|| format!("cannot read `{}`", file.display()))?,
            format!("`{}`", file.display()),
        ),
        _ => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("cannot read stdin")?;
            (bytes, "stdin".to_owned())
        }
    };
    let document: Value =
        serde_json::from_slice(&bytes).with_context(|| format!("{source} is not valid JSON"))?;
    let matches = docpath::query(&path, &document);
    if args.paths {
        let located: Vec<Value> = matches
            .into_iter()
            .map(|(path, value)| json!({"path": path, "value": value}))
            .collect();
        out.serialize(&located)?;
    } else {
        let values: Vec<&Value> = matches.into_iter().map(|(_, value)| value).collect();
        out.serialize(&values)?;
    }
    Ok(())
}
