//! `#[tony_plugin]` on impl blocks: every method shape keeps its signature
//! and behaviour, whether routed through `hot_call` or passed through; and
//! the plugin runs in a `PluginSystem`.

#![allow(clippy::unwrap_used)]

use std::fmt;

use serde::{Deserialize, Serialize};
use tony_core::{BoxError, Context, OldState, Plugin, PluginSystem, tony_plugin};

/// A plugin whose methods take every shape.
#[tony_plugin(name = "shapes", version = "1.0.0")]
#[derive(Default, Serialize, Deserialize)]
struct Shapes {
    n: u64,
    label: String,
}

#[tony_plugin]
impl Plugin for Shapes {
    /// Counts activations.
    fn activate(&mut self, ctx: &mut Context<'_>) -> Result<(), BoxError> {
        let _ = ctx;
        self.n += 1;
        Ok(())
    }

    fn deactivate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
        self.label.push('-');
        Ok(())
    }

    fn migrate(old: &OldState<'_>) -> Result<Self, BoxError> {
        Ok(Shapes {
            n: u64::from(old.state_version),
            label: "migrated".into(),
        })
    }
}

#[tony_plugin]
impl Shapes {
    /// A plain getter.
    #[must_use]
    pub fn get(&self) -> u64 {
        self.n
    }

    pub fn add(&mut self, by: u64) -> u64 {
        self.n += by;
        self.n
    }

    pub fn into_n(self) -> u64 {
        self.n
    }

    pub fn bump_owned(mut self, by: u64) -> Self {
        self.n += by;
        self
    }

    #[allow(clippy::boxed_local)]
    pub fn boxed(self: Box<Self>) -> u64 {
        self.n
    }

    /// Patterns, wildcards, `mut` bindings and an underscore name.
    pub fn patterns(&self, (a, b): (u64, u64), _: u8, mut c: u64, _unused: u64) -> u64 {
        c += a + b + self.n;
        c
    }

    pub fn struct_pattern(Pair { x, y }: Pair) -> u64 {
        x * y
    }

    pub fn borrow<'a>(&'a self, s: &'a str) -> &'a str {
        if self.n > 0 { s } else { &self.label }
    }

    pub fn elided(&self) -> &str {
        &self.label
    }

    pub fn with_n(n: u64) -> Self {
        Shapes {
            n,
            ..Default::default()
        }
    }

    pub fn r#type(&self) -> u8 {
        7
    }

    #[expect(clippy::too_many_arguments)]
    pub fn eight(&self, a: u8, b: u8, c: u8, d: u8, e: u8, f: u8, g: u8) -> u64 {
        u64::from(a + b + c + d + e + f + g) + self.n
    }

    // The rest pass through unchanged.

    #[allow(clippy::too_many_arguments)]
    pub fn nine(&self, a: u8, b: u8, c: u8, d: u8, e: u8, f: u8, g: u8, h: u8) -> u64 {
        u64::from(a + b + c + d + e + f + g + h)
    }

    pub fn generic<T: Into<u64>>(&mut self, t: T) -> u64 {
        self.n += t.into();
        self.n
    }

    pub fn impl_arg(&self, it: impl Iterator<Item = u64>) -> u64 {
        it.sum::<u64>() + self.n
    }

    pub fn impl_ret(&self) -> impl Iterator<Item = u64> + '_ {
        std::iter::once(self.n)
    }

    pub async fn later(&self) -> u64 {
        self.n
    }

    pub const fn constant() -> u64 {
        42
    }
}

/// A struct to destructure in a parameter.
struct Pair {
    x: u64,
    y: u64,
}

mod traits {
    /// Not imported where it is implemented: the hidden methods must still
    /// find its methods, consts and types.
    pub trait Describe {
        type Out;
        const K: u64;
        fn describe(&self) -> Self::Out;
        fn helper(&self) -> u64 {
            1
        }
    }
}

#[tony_plugin]
impl traits::Describe for Shapes {
    type Out = Vec<u64>;
    const K: u64 = 10;

    fn describe(&self) -> Self::Out {
        let out: Self::Out = vec![self.helper() + Self::K, self.n];
        out
    }
}

// Two traits with a method of the same name, and one generic trait twice.

#[tony_plugin]
impl fmt::Display for Shapes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shapes({})", self.n)
    }
}

#[tony_plugin]
impl fmt::Debug for Shapes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Shapes {{ n: {} }}", self.n)
    }
}

#[tony_plugin]
impl From<u8> for Shapes {
    fn from(n: u8) -> Self {
        Shapes::with_n(u64::from(n))
    }
}

#[tony_plugin]
impl From<u16> for Shapes {
    fn from(n: u16) -> Self {
        Shapes::with_n(u64::from(n) * 2)
    }
}

#[test]
fn routed_methods_behave_as_written() {
    let mut s = Shapes::with_n(1);
    assert_eq!(s.get(), 1);
    assert_eq!(s.add(2), 3);
    assert_eq!(s.patterns((1, 2), 0, 10, 0), 16);
    assert_eq!(Shapes::struct_pattern(Pair { x: 3, y: 4 }), 12);
    assert_eq!(s.borrow("given"), "given");
    assert_eq!(s.elided(), "");
    assert_eq!(s.r#type(), 7);
    assert_eq!(s.eight(1, 1, 1, 1, 1, 1, 1), 10);
    let s = s.bump_owned(1);
    assert_eq!(Box::new(Shapes::with_n(5)).boxed(), 5);
    assert_eq!(s.into_n(), 4);
}

#[test]
fn passed_through_methods_behave_as_written() {
    let mut s = Shapes::with_n(1);
    assert_eq!(s.nine(1, 1, 1, 1, 1, 1, 1, 1), 8);
    assert_eq!(s.generic(2u8), 3);
    assert_eq!(s.impl_arg([1, 2].into_iter()), 6);
    assert_eq!(s.impl_ret().collect::<Vec<_>>(), [3]);
    assert_eq!(Shapes::constant(), 42);
    drop(s.later());
}

#[test]
fn trait_methods_types_and_consts_resolve() {
    use traits::Describe as _;
    assert_eq!(Shapes::with_n(2).describe(), [11, 2]);
    assert_eq!(Shapes::with_n(2).to_string(), "shapes(2)");
    assert_eq!(format!("{:?}", Shapes::with_n(2)), "Shapes { n: 2 }");
    assert_eq!(Shapes::from(3u8).get(), 3);
    assert_eq!(Shapes::from(3u16).get(), 6);
}

#[test]
fn the_plugin_runs_in_a_system() {
    let system = PluginSystem::builder()
        .select(|m| m.name() == "shapes")
        .build()
        .unwrap();
    system.initialize().unwrap();
    assert_eq!(system.with::<Shapes, _>(Shapes::get).unwrap(), 1);
    system
        .with_mut::<Shapes, _>(|s| s.label = "kept".into())
        .unwrap();
    let result = system.reload_plugin("shapes");
    assert!(result.success, "{result:?}");
    assert!(result.state_preserved, "{result:?}");
    // the snapshot is taken before deactivate; activate ran again
    let (n, label) = system
        .with::<Shapes, _>(|s| (s.n, s.label.clone()))
        .unwrap();
    assert_eq!((n, label.as_str()), (2, "kept"));
}
