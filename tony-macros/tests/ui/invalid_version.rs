use tony_core::tony_plugin;

#[tony_plugin(version = "1.x")]
#[derive(Default)]
struct Versioned;

fn main() {}
