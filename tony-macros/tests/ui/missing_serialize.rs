use serde::Deserialize;
use tony_core::{BoxError, Context, Plugin, tony_plugin};

#[tony_plugin]
#[derive(Default, Deserialize)]
struct NotSerializable {
    n: u32,
}

impl Plugin for NotSerializable {
    fn activate(&mut self, _: &mut Context<'_>) -> Result<(), BoxError> {
        Ok(())
    }
}

fn main() {}
