use tony_core::tony_plugin;

#[tony_plugin(stateless = true)]
#[derive(Default)]
struct Quiet;

fn main() {}
