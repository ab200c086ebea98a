use tony_core::tony_plugin;

#[tony_plugin(name = "typo", verison = "1.0.0")]
#[derive(Default)]
struct Typo;

fn main() {}
