use tony_core::tony_plugin;

#[tony_plugin(dependencies("base-plugin" = "^1", "self-dependent" = "*"))]
#[derive(Default)]
struct SelfDependent;

fn main() {}
