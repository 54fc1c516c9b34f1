//! Parallel headless Claude Code workers (`orchestron workers`): each works one item in its
//! own git worktree. `git` runs git safely and within bounds, `train` integrates finished
//! work one at a time (tests, conflict prediction, merge, DONE), and `recover` finds and
//! repairs what a killed supervisor left behind.

pub mod git;
pub mod recover;
pub mod train;
