//! The demo's plugins, one file each.

pub mod banner;
pub mod counter;
pub mod greeter;
pub mod reporter;
