//! `orchestron query`: RFC 9535 JSONPath over any JSON document, for scripts.

use std::io::Read as _;

use anyhow::Context as _;

use crate::cli::QueryArgs;
use crate::context::Context;
use crate::output::Output;
use orchestron_core::{docpath, select};

pub(super) fn run(context: &Context, out: &mut Output, args: QueryArgs) -> anyhow::Result<()> {
    docpath::compile(&args.jsonpath)?;
    let max_nodes = context.config()?.query_max_nodes();
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
    // The core's own errors (the query's budget) say what they are; anything else is the
    // document.
    let matches = select::select(&args.jsonpath, &text, &mut whole, max_nodes).map_err(|err| {
        if err.is::<orchestron_core::Error>() {
            err
        } else {
            err.context(format!("{source} is not valid JSON"))
        }
    })?;
    out.matches(&matches, args.paths)?;
    super::release(matches);
    super::release(whole);
    Ok(())
}
