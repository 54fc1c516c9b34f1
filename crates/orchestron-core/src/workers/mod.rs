//! `orchestron workers`: parallel headless Claude Code workers that drain the plan.
//!
//! - [`instructions`]: the bootstrap prompt a worker gets (`orchestron worker-instructions`).

pub mod instructions;
