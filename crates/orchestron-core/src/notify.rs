//! Notifications when something enters the attention queue.
//!
//! STAND-IN until h13-attention merges: does nothing.

use crate::context::Context;

// STAND-IN until h13-attention merges
pub fn entered(_cx: &Context, _item: &str) {}
