//! `orchestron query`: RFC 9535 JSONPath over any JSON document, for scripts.

use std::io::Read as _;

use anyhow::Context as _;

use crate::cli::QueryArgs;
use crate::output::Output;
use orchestron_core::{docpath, select};

pub(super) fn run(out: &mut Output, args: QueryArgs) -> anyhow::Result<()> {
    docpath::compile(&args.jsonpath)?;
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
    let text = String::from_utf8(bytes)
        .with_context(|| format!("{source} is not valid JSON: it is not UTF-8"))?;
    let mut whole = None;
    let matches = select::select(&args.jsonpath, &text, &mut whole)
        .with_context(|| format!("{source} is not valid JSON"))?;
    out.matches(&matches, args.paths)?;
    super::release(matches);
    super::release(whole);
    Ok(())
}
