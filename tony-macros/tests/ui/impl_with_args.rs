use tony_core::tony_plugin;

struct Plain;

#[tony_plugin(name = "plain")]
impl Plain {
    fn get(&self) -> u8 {
        1
    }
}

fn main() {
    let _ = Plain.get();
}
