use tony_core::tony_plugin;

#[tony_plugin(dependencies("base-plugin" = "^1", "base-plugin" = ">=2" optional))]
#[derive(Default)]
struct Greedy;

fn main() {}
