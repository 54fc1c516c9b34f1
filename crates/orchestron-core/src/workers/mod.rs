//! Parallel headless Claude Code workers (`orchestron workers`): each works one item in its
//! own git worktree.
//!
//! - [`instructions`]: the bootstrap prompt a worker gets (`orchestron worker-instructions`);
//! - [`git`]: runs git safely and within bounds, never on the user's checkout;
//! - [`train`]: integrates finished work one at a time (tests, conflict prediction, merge,
//!   DONE);
//! - [`recover`]: finds and repairs what a killed supervisor left behind.

pub mod git;
pub mod instructions;
pub mod recover;
pub mod train;
