use tony_core::tony_plugin;

#[tony_plugin(name = "My_Plugin")]
#[derive(Default)]
struct MyPlugin;

fn main() {}
