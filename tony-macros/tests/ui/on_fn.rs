use tony_core::tony_plugin;

#[tony_plugin]
fn plugin() {}

fn main() {
    plugin();
}
