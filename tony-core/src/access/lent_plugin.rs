//! [`LentPlugin`]: a live instance lent by name, whose type and layout the
//! borrower checks ([`PluginSystem::try_lend`](crate::PluginSystem::try_lend)).

use std::any::Any;

use crate::access::AccessError;
use crate::plugin::Plugin;
use crate::plugin::plugin_type::{PluginType, wrong_type};

/// A live plugin instance lent by
/// [`PluginSystem::try_lend`](crate::PluginSystem::try_lend): typed by the
/// code that uses it, not by the code that borrowed it.
///
/// That split is what makes it safe to hand to hot code: a host borrows a
/// plugin by name, and passes the loan to a function that `dx serve
/// --hot-patch` may have replaced with one compiled against a new layout of
/// the plugin's struct. [`get`](Self::get) and [`get_mut`](Self::get_mut)
/// check the layout *as compiled into their caller* against the live
/// instance's, like typed access does, so stale code gets
/// [`AccessError::StaleLayout`] instead of reading memory of another shape.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use tony_core::{BoxError, Context, Plugin, PluginSystem, tony_plugin};
///
/// #[tony_plugin(name = "tally", version = "1.0.0")]
/// #[derive(Default, Serialize, Deserialize)]
/// struct Tally { n: u64 }
///
/// impl Plugin for Tally {
///     fn activate(&mut self, _: &mut Context<'_>) -> Result<(), BoxError> { Ok(()) }
/// }
///
/// let system = PluginSystem::builder().build()?;
/// system.initialize()?;
/// let n = system.try_lend("tally", |mut lent| {
///     assert_eq!(lent.name(), "tally");
///     let tally = lent.get_mut::<Tally>()?;
///     tally.n += 1;
///     Ok::<_, tony_core::AccessError>(tally.n)
/// })??;
/// assert_eq!(n, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct LentPlugin<'a> {
    name: &'static str,
    instance: &'a mut dyn Plugin,
    /// The live instance's state layout fingerprint.
    layout: u64,
}

impl<'a> LentPlugin<'a> {
    pub(crate) fn new(name: &'static str, instance: &'a mut dyn Plugin, layout: u64) -> Self {
        LentPlugin {
            name,
            instance,
            layout,
        }
    }

    /// The plugin's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The instance as a `T`: fails when `T` is compiled against another
    /// state layout than the live instance's, or is another type.
    pub fn get<T: PluginType>(&self) -> Result<&T, AccessError> {
        self.check::<T>()?;
        (&*self.instance as &dyn Any)
            .downcast_ref()
            .ok_or_else(wrong_type::<T>)
    }

    /// The instance as a `T`, mutably; see [`get`](Self::get).
    pub fn get_mut<T: PluginType>(&mut self) -> Result<&mut T, AccessError> {
        self.check::<T>()?;
        (&mut *self.instance as &mut dyn Any)
            .downcast_mut()
            .ok_or_else(wrong_type::<T>)
    }

    /// The layout check of typed access.
    fn check<T: PluginType>(&self) -> Result<(), AccessError> {
        if T::STATE_FINGERPRINT == self.layout {
            return Ok(());
        }
        Err(AccessError::StaleLayout {
            plugin: self.name.to_owned(),
            expected: T::STATE_FINGERPRINT,
            live: self.layout,
        })
    }
}

impl std::fmt::Debug for LentPlugin<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LentPlugin")
            .field("name", &self.name)
            .field("layout", &format_args!("{:#x}", self.layout))
            .finish_non_exhaustive()
    }
}
