use tony_core::tony_plugin;

#[tony_plugin(min_tony_version = "0.1")]
#[derive(Default)]
struct NeedsTony;

fn main() {}
