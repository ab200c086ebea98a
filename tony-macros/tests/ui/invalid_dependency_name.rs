use tony_core::tony_plugin;

#[tony_plugin(dependencies("Base Plugin" = "^1"))]
#[derive(Default)]
struct Dependent;

fn main() {}
