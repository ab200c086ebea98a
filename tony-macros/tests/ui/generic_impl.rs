use tony_core::tony_plugin;

struct Wrapper<T>(T);

#[tony_plugin]
impl<T: Clone> Wrapper<T> {
    fn get(&self) -> T {
        self.0.clone()
    }
}

fn main() {
    let _ = Wrapper(1).get();
}
