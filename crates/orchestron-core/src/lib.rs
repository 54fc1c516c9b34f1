//! The core of Orchestron: the rules and the stores under every face (the command line and
//! its hooks today; an MCP server, a worker supervisor and a dashboard next).
//!
//! It has no command line, prints nothing, reads no environment variable and never exits the
//! process: a face resolves its environment, calls an operation here with a typed request,
//! and renders the typed result or maps the [`error::ErrorKind`] its own way.
//!
//! - [`config`]: the project configuration and every default (a leaf);
//! - [`agents`]: the agents sessions work as, their skills, and the names views show;
//! - [`error`]: typed errors (invalid, not found, conflict, busy, internal) with hints;
//! - [`ids`], [`session`], [`handoff`], [`inbox`]: sessions as pure rules over documents,
//!   and [`sessions`]: the operations on them, one locked transaction each;
//! - [`handoffs`]: the handoffs sessions and people leave, kept per project, and the brief a
//!   new session is told of them;
//! - [`docpath`], [`select`], [`jsonpath`]: dot paths and JSONPath over documents (RFC 9535,
//!   bounded by a budget of nodes);
//! - [`store`]: locked, atomic JSON documents on disk, and [`bounds`]: the depth and size
//!   every stored document keeps, so that what is written can be read back;
//! - [`repo`]: where a checkout's state lives (one state root per git repository, shared by
//!   its worktrees), read from git's files;
//! - [`tracker`]: the project's work items in SQLite, and the operations on them;
//! - [`views`]: the board, the summary and the monitor, each gathered as one JSON value
//!   that every face renders its own way; [`status`]: the current session's item, blockers
//!   and messages, or the project in one line;
//! - [`snapshots`]: named context snapshots a session saves and another loads;
//! - [`text`]: how text is cut to fit, everywhere;
//! - [`briefing`]: what a session without an item is told of the plan when it starts;
//! - [`attention`]: the attention queue, everything that waits for a person, and
//!   [`notify`]: `notify.command`, run when something enters it;
//! - [`trust`]: a command the configuration names runs only when git does not track the
//!   configuration (it was not cloned with the repository);
//! - [`workers`]: parallel headless Claude Code workers: the supervisor, its processes, their
//!   streams and ledger, their instructions, git, the merge train and recovery, and
//!   [`health`]: the report on them and the tracker, with the safe repairs, and
//!   [`conflicts`]: the conflict forecast between live branches;
//! - [`review_points`]: where work stops for a person (the workflow's triggers, pure, and
//!   its document), and [`reviews`]: what a trigger that fires does, `approve`, `intervene`
//!   and `pause`;
//! - [`coordination`]: file leases between live sessions (touches and explicit leases, in
//!   one table a hook reads at once), and what a tool call on a file others hold is told.

pub mod agents;
pub mod attention;
pub mod bounds;
pub mod briefing;
pub mod config;
pub mod conflicts;
pub mod context;
pub mod coordination;
pub mod docpath;
pub mod error;
pub mod handoff;
pub mod handoffs;
pub mod health;
pub mod ids;
pub mod inbox;
pub mod jsonpath;
pub mod notify;
pub mod repo;
pub mod review_points;
pub mod reviews;
pub mod select;
pub mod session;
pub mod sessions;
pub mod snapshots;
pub mod status;
pub mod store;
pub mod text;
pub mod tracker;
pub mod trust;
pub mod views;
pub mod workers;

pub use context::{Clock, Context, Settings};
pub use error::{Error, ErrorKind, Result};
