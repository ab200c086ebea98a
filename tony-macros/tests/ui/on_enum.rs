use tony_core::tony_plugin;

#[tony_plugin(name = "mode")]
#[derive(Default)]
enum Mode {
    #[default]
    On,
    Off,
}

fn main() {
    let _ = [Mode::On, Mode::Off];
}
