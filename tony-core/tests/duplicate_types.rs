//! Issue 11: two `#[tony_plugin]` structs of one name from one
//! `macro_rules!` invocation share a source location; they are still two
//! plugins, and the registry refuses them naming both types. (Its own test
//! binary: every system built with the inventory here sees the twins.)
#![allow(clippy::unwrap_used, missing_docs)]

use tony_core::{BoxError, Context, Plugin, Registry, tony_plugin};

macro_rules! twins {
    ($first:ident, $second:ident) => {
        #[tony_plugin(name = "twin", version = "1.0.0", stateless)]
        #[derive(Default)]
        pub struct $first;
        impl Plugin for $first {
            fn activate(&mut self, _: &mut Context<'_>) -> Result<(), BoxError> {
                Ok(())
            }
        }

        #[tony_plugin(name = "twin", version = "1.0.0", stateless)]
        #[derive(Default)]
        pub struct $second;
        impl Plugin for $second {
            fn activate(&mut self, _: &mut Context<'_>) -> Result<(), BoxError> {
                Ok(())
            }
        }
    };
}

twins!(FirstTwin, SecondTwin);

#[test]
fn two_macro_generated_types_of_one_name_are_refused_naming_both() {
    let err = Registry::new(true, Vec::new()).expect_err("the twins were merged into one plugin");
    let msg = err.to_string();
    assert!(
        msg.contains("FirstTwin") && msg.contains("SecondTwin"),
        "{msg}"
    );
}
