//! The instructions a worker starts with.
//!
//! STAND-IN until h13-attention merges: the item's id, title and description, the attempt,
//! and the protocol in a few lines.

use serde_json::{Value, json};

use crate::context::Context;
use crate::error::Result;
use crate::tracker::tasks;

/// Which attempt the instructions are for.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub number: u32,
    pub of: u32,
    pub into_branch: String,
}

/// A worker's instructions.
#[derive(Debug, Clone)]
pub struct Instructions {
    pub markdown: String,
    pub cut: Vec<String>,
    pub json: Value,
}

// STAND-IN until h13-attention merges
pub fn compose(cx: &Context, id: &str, attempt: Option<&Attempt>) -> Result<Instructions> {
    let detail = tasks::show(cx, id)?;
    let item = &detail.view.item;
    let mut markdown = format!("# {}: {}\n\n{}\n", item.id, item.title, item.description);
    if let Some(attempt) = attempt {
        markdown.push_str(&format!(
            "\nThis is attempt {} of {}.\n",
            attempt.number, attempt.of
        ));
    }
    markdown.push_str(&format!(
        "\nCommit on your branch, then run `orchestron task complete {} --note \"what you did\"`.\n",
        item.id
    ));
    Ok(Instructions {
        json: json!({"id": item.id, "markdown": markdown}),
        markdown,
        cut: Vec::new(),
    })
}
