use tony_core::tony_plugin;

#[tony_plugin(state_version = 5_000_000_000)]
#[derive(Default)]
struct Huge;

fn main() {}
