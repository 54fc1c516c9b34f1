//! The project tracker: work items in SQLite (`<root>/orchestron.db`) as a dependency DAG
//! with a lifecycle. `model` holds the pure rules, `db` the connection and migrations,
//! `items` the queries. Opened lazily: only commands that need it open the database.

pub mod db;
pub mod items;
pub mod model;

pub use db::Db;
