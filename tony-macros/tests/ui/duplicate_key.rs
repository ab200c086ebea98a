use tony_core::tony_plugin;

#[tony_plugin(name = "first", version = "1.0.0", name = "second")]
#[derive(Default)]
struct Twice;

fn main() {}
