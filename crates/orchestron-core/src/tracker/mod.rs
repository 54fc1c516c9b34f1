//! The project tracker: work items in SQLite (`<root>/orchestron.db`) as a dependency DAG
//! with a lifecycle. `model` holds the pure rules, `db` the connection and migrations,
//! `lease` the pure lease rule of a claim, `items` the queries shared by the operations,
//! `tasks` the operations on items (the claim leases applied in its transactions among them),
//! `claims` the supervisor's claim operations on top of `tasks`, `offers` the handoffs of
//! items between agents, `sprints`
//! sprints (burndown, velocity) and the time spent on items, `knowledge` the decisions and
//! memory entries, `plan` the queries behind what a session without an item is told of the
//! plan, `transfer` the export and import of the whole tracker, and `shared` the
//! V2 shared-state operations (configurations, epics, sprints, tools).
//! Opened lazily: only operations that need it open the database, and reads never create it.

pub mod claims;
pub mod db;
pub(crate) mod items;
pub mod knowledge;
pub mod lease;
pub mod model;
pub mod offers;
pub mod plan;
pub mod shared;
pub mod sprints;
pub mod tasks;
pub mod transfer;

pub use db::Db;
pub use items::Item;
