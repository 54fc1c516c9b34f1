//! `orchestron health [--fix]`: the workers' and the tracker's health report from the core
//! (`health::check`), printed as a table or JSON; exits 1 while a problem is left.

use anyhow::bail;

use crate::context::Context;
use crate::output::Output;
use orchestron_core::ErrorKind;
use orchestron_core::health::{self, Verdict};
use orchestron_core::workers::git::Git;

pub(super) fn run(context: &Context, out: &mut Output, fix: bool) -> anyhow::Result<()> {
    let cx = context.core()?;
    let git = match Git::open(context.project_root()) {
        Ok(git) => Some(git),
        Err(err) if err.kind() == ErrorKind::Invalid => None,
        Err(err) => return Err(err.into()),
    };
    let report = health::check(cx, git.as_ref(), fix)?;
    if out.json() {
        out.json_line(&serde_json::to_value(&report)?)?;
    } else {
        for line in &report.fixed {
            out.line(&format!("fixed    {line}"))?;
        }
        for line in &report.left {
            out.line(&format!("left     {line}"))?;
        }
        for check in &report.checks {
            let verdict = match check.verdict {
                Verdict::Ok => "ok",
                Verdict::Info => "info",
                Verdict::Problem => "problem",
            };
            out.line(&format!(
                "{verdict:<8} {:<18} {}",
                check.name, check.summary
            ))?;
            for finding in &check.findings {
                out.line(&format!("{:<27}  {finding}", ""))?;
            }
        }
    }
    if report.problems > 0 {
        out.flush()?;
        bail!(
            "health found {} problem{}{}",
            report.problems,
            if report.problems == 1 { "" } else { "s" },
            if fix {
                " a safe repair cannot fix"
            } else {
                ": `orchestron health --fix` makes the safe repairs"
            }
        );
    }
    Ok(())
}
