//! Parallel headless Claude Code workers (`orchestron workers`).
//!
//! - [`supervisor`]: the loop that claims ready items, starts a worker for each in its own
//!   worktree and process group, watches its stream, judges how it ended, retries, and hands
//!   successes to the merge train;
//! - [`process`]: starting and signalling worker processes, and telling a live process from
//!   a recycled pid;
//! - [`stream`]: Claude Code's stream-json, reduced to typed events (pure);
//! - [`records`]: the ledger of runs and attempts in the tracker (`worker_runs`,
//!   `worker_attempts`);
//! - [`instructions`]: what a worker is told;
//! - [`git`]: runs git safely and within bounds, never on the user's checkout;
//! - [`train`]: integrates finished work one at a time (tests, conflict prediction, merge,
//!   DONE);
//! - [`recover`]: finds and repairs what a killed supervisor left behind.

pub mod git;
pub mod instructions;
pub mod process;
pub mod records;
pub mod recover;
pub mod stream;
pub mod supervisor;
pub mod train;
