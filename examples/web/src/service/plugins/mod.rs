//! The service's plugins, one file each: the plugin, its `#[tony_plugin]`
//! methods (hot under dx), and its routes.

pub mod auth;
pub mod counter;
pub mod greet;
pub mod metrics;
