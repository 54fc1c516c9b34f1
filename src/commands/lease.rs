//! `orchestron lease acquire|release|list|check`: file leases from the core
//! (`coordination`). This face turns the paths a person or a model typed, relative to the
//! current folder, into keys relative to the repository's top level, and prints.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::cli::LeaseCommand;
use crate::context::Context;
use crate::output::Output;
use orchestron_core::Error;
use orchestron_core::coordination::{self, Row, glob};

pub(super) fn run(
    context: &Context,
    out: &mut Output,
    command: LeaseCommand,
) -> anyhow::Result<()> {
    let cx = context.core()?;
    match command {
        LeaseCommand::Acquire {
            paths,
            ttl,
            exclusive,
            item,
        } => {
            let ttl = match ttl {
                Some(raw) => orchestron_core::config::lease_ttl(&raw)?,
                None => cx.config().lease_ttl(),
            };
            let patterns = patterns(context, &paths)?;
            let session = context.current_session()?;
            let acquired = coordination::acquire(
                cx,
                &session,
                &context.lease_holder(),
                &coordination::Acquire {
                    patterns,
                    ttl,
                    exclusive,
                    item,
                },
            )?;
            if out.json() {
                return Ok(out.json_line(&serde_json::to_value(&acquired)?)?);
            }
            for lease in &acquired.leases {
                out.line(&format!(
                    "leased {}{}{} until {}",
                    lease.path,
                    if lease.exclusive { " exclusively" } else { "" },
                    lease
                        .item_words()
                        .map(|item| format!(" for {item}"))
                        .unwrap_or_default(),
                    lease.until
                ))?;
            }
            for other in &acquired.others {
                out.line(&format!("  also on it: {}", describe(other)))?;
            }
            Ok(())
        }
        LeaseCommand::Release { paths, all, force } => {
            let session = if force {
                None
            } else {
                Some(context.current_session()?)
            };
            let patterns = if all {
                None
            } else {
                Some(patterns(context, &paths)?)
            };
            let gone = coordination::release(cx, session.as_ref(), patterns.as_deref(), force)?;
            if out.json() {
                return Ok(out.json_line(&json!({"released": gone}))?);
            }
            if gone.is_empty() {
                out.line("nothing to release")?;
            }
            for row in &gone {
                out.line(&format!("released {}", describe(row)))?;
            }
            Ok(())
        }
        LeaseCommand::List => {
            let rows = coordination::list(cx)?;
            if out.json() {
                return Ok(out.json_line(&json!({"leases": rows}))?);
            }
            if rows.is_empty() {
                return Ok(out.line("no live lease or touch")?);
            }
            table(out, &rows)
        }
        LeaseCommand::Check { paths } => {
            let mut keys = Vec::new();
            for path in &paths {
                let typed = path.strip_prefix(":/").map_or_else(
                    || context.working_dir().join(path),
                    |rest| home(context).join(rest),
                );
                if glob::is_glob(path) && std::fs::symlink_metadata(&typed).is_err() {
                    return Err(Error::invalid(format!(
                        "`{path}` is a glob: `lease check` takes paths"
                    ))
                    .with_hint("`orchestron lease list` shows every lease, globs included")
                    .into());
                }
                keys.push(key(context, path)?);
            }
            let checked = coordination::check(cx, &keys)?;
            if out.json() {
                return Ok(out.json_line(&json!({"paths": checked}))?);
            }
            for entry in &checked {
                if entry.holders.is_empty() {
                    out.line(&format!("{}: free", entry.path))?;
                }
                for row in &entry.holders {
                    out.line(&format!("{}: {}", entry.path, describe(row)))?;
                }
            }
            Ok(())
        }
    }
}

/// One entry in words: what, by whom, for which item, since when, until when.
fn describe(row: &Row) -> String {
    let what = match (row.kind, row.exclusive) {
        ("touch", _) => format!(
            "edited by {} {}",
            row.holder(),
            coordination::ago(row.age_seconds)
        ),
        (_, true) => format!("leased exclusively by {} since {}", row.holder(), row.since),
        _ => format!("leased by {} since {}", row.holder(), row.since),
    };
    let item = row
        .item_words()
        .map(|item| format!(" for {item}"))
        .unwrap_or_default();
    let path = if row.kind == "lease" {
        format!(" `{}`", row.path)
    } else {
        String::new()
    };
    format!("{what}{item}{path}, until {}", row.until)
}

fn table(out: &mut Output, rows: &[Row]) -> anyhow::Result<()> {
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            vec![
                row.path.clone(),
                if row.exclusive {
                    "lease (exclusive)".to_owned()
                } else {
                    row.kind.to_owned()
                },
                row.holder(),
                row.item.clone().unwrap_or_default(),
                row.since.clone(),
                row.until.clone(),
            ]
        })
        .collect();
    Ok(out.table(&["PATH", "KIND", "HOLDER", "ITEM", "SINCE", "UNTIL"], &body)?)
}

/// The main worktree (or project folder) keys belong to.
fn home(context: &Context) -> PathBuf {
    context.location().home.clone()
}

fn outside(path: &str, home: &Path) -> anyhow::Error {
    Error::invalid(format!(
        "`{path}` is outside the repository at {}: leases are on its files",
        home.display()
    ))
    .into()
}

/// The key of a path typed relative to the current folder.
fn key(context: &Context, path: &str) -> anyhow::Result<String> {
    let home = home(context);
    let key = coordination::key_of(Path::new(path), context.working_dir(), &home)
        .ok_or_else(|| outside(path, &home))?;
    if key.is_empty() {
        return Err(Error::invalid(format!(
            "`{path}` is the repository itself: name files or a glob such as `src/**`"
        ))
        .into());
    }
    Ok(key)
}

/// Paths and globs typed relative to the current folder, as patterns over keys.
fn patterns(context: &Context, typed: &[String]) -> anyhow::Result<Vec<String>> {
    let home = home(context);
    typed
        .iter()
        .map(|raw| coordination::pattern_of(raw, context.working_dir(), &home).map_err(Into::into))
        .collect()
}
