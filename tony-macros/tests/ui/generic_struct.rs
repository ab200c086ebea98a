use tony_core::tony_plugin;

#[tony_plugin]
#[derive(Default)]
struct Generic<T> {
    value: T,
}

fn main() {
    let _ = Generic::<u8>::default().value;
}
