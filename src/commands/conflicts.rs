//! `orchestron conflicts [--branch B]…`: the conflict forecast from the core
//! (`conflicts::forecast`), printed a pair per line or as JSON, and kept for SessionStart
//! (`conflicts::keep`). Conflicts are data: it exits 0 when it could look.

use crate::context::Context;
use crate::output::Output;
use orchestron_core::conflicts;
use orchestron_core::workers::git::{Git, summarize};

pub(super) fn run(context: &Context, out: &mut Output, branches: &[String]) -> anyhow::Result<()> {
    let cx = context.core()?;
    let git = Git::open(context.project_root())?;
    let forecast = conflicts::forecast(cx, &git, branches)?;
    // Kept for SessionStart, which tells a session whose branch would conflict.
    if let Err(err) = conflicts::keep(cx, &forecast) {
        crate::output::warn(&format!("the forecast could not be kept: {err}"));
    }
    if out.json() {
        return Ok(out.json_line(&serde_json::to_value(&forecast)?)?);
    }
    for met in &forecast.sessions {
        out.line(&format!(
            "sessions  {} ~ {}: {}",
            met.a,
            met.b,
            summarize(&met.files, 5)
        ))?;
        out.line(&format!("          {}", met.advice))?;
    }
    if forecast.pairs.is_empty() {
        let what = match forecast.branches.len() {
            0 => "no live branch: no integration branch and no worker branch yet".to_owned(),
            1 => format!(
                "one branch (`{}`): nothing to compare",
                forecast.branches[0]
            ),
            n => format!("no two of the {n} branches change the same file"),
        };
        return Ok(out.line(&what)?);
    }
    for pair in &forecast.pairs {
        let (kind, files) = if pair.conflicts.is_empty() {
            ("overlap ", &pair.both_changed)
        } else {
            ("conflict", &pair.conflicts)
        };
        out.line(&format!(
            "{kind}  {} ~ {}: {}",
            pair.a,
            pair.b,
            summarize(files, 5)
        ))?;
        out.line(&format!("          {}", pair.advice))?;
    }
    Ok(())
}
