//! Orphans after a killed supervisor.
