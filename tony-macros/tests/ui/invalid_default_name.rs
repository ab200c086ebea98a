use tony_core::tony_plugin;

#[tony_plugin(version = "1.0.0")]
#[derive(Default)]
struct Größe;

fn main() {}
