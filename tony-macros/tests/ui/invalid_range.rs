use tony_core::tony_plugin;

#[tony_plugin(dependencies("base-plugin" = "^^1.0", "utils-plugin" = ">=2.0.0" optional))]
#[derive(Default)]
struct Dependent;

fn main() {}
