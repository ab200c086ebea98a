//! [`PluginType`]: the static side of a plugin type, and typed access by it
//! ([`PluginSystem::with`](crate::PluginSystem::with),
//! [`DependencyRef::with`]).

use std::any::Any;

use crate::access::AccessError;
use crate::access::context::{DependencyRef, Host};
use crate::plugin::Plugin;
use crate::plugin::descriptor::PluginDescriptor;

/// The static side of a plugin type: its name, its state layout as compiled
/// into the caller, and its [`PluginDescriptor`].
///
/// `#[tony_plugin]` implements it. Written by hand, it looks like this:
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use tony_core::{BoxError, Context, Metadata, Plugin, PluginDescriptor, PluginType};
///
/// #[derive(Default, Serialize, Deserialize)]
/// struct Manual { n: u32 }
///
/// impl Plugin for Manual {
///     fn activate(&mut self, _: &mut Context<'_>) -> Result<(), BoxError> { Ok(()) }
/// }
///
/// impl PluginType for Manual {
///     const NAME: &'static str = "manual";
///     const STATE_FINGERPRINT: u64 = tony_core::PluginDescriptor::layout_fingerprint::<Self>();
///     fn descriptor() -> PluginDescriptor {
///         PluginDescriptor::serde::<Self>(Metadata::new(Self::NAME, "1.0.0"))
///     }
/// }
///
/// let system = tony_core::PluginSystem::builder()
///     .register_inventory(false)
///     .plugin::<Manual>()
///     .build()?;
/// system.initialize()?;
/// assert_eq!(system.with::<Manual, _>(|m| m.n)?, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait PluginType: Plugin + Sized {
    /// The plugin's name, as in its [`Metadata`](crate::Metadata).
    const NAME: &'static str;

    /// Fingerprint of the state layout *as compiled into the caller*.
    ///
    /// Typed access compares it with the live instance's, so code compiled
    /// against an older layout gets an error instead of reading memory of
    /// another shape.
    const STATE_FINGERPRINT: u64;

    /// Not API: the hash `#[tony_plugin]` takes of the struct, for the code
    /// fingerprint of a type the running code's manifest does not know yet.
    #[doc(hidden)]
    const STRUCT_CODE: u64 = 0;

    /// Everything the registry needs to know about this type.
    fn descriptor() -> PluginDescriptor;
}

/// Runs `f` on the live instance of `T`, lent by `host`.
pub(crate) fn typed<T: PluginType, R, H: Host + ?Sized>(
    host: &H,
    f: impl FnOnce(&mut T) -> R,
) -> Result<R, AccessError> {
    let mut f = Some(f);
    let mut out = None;
    host.access(T::NAME, T::STATE_FINGERPRINT, &mut |any: &mut dyn Any| {
        if let (Some(typed), Some(f)) = (any.downcast_mut::<T>(), f.take()) {
            out = Some(f(typed));
        }
    })?;
    out.ok_or_else(wrong_type::<T>)
}

/// The live instance of `T`'s plugin is not a `T`.
#[cold]
pub(crate) fn wrong_type<T: PluginType>() -> AccessError {
    AccessError::WrongType {
        plugin: T::NAME.to_owned(),
        expected: std::any::type_name::<T>(),
    }
}

impl DependencyRef<'_> {
    /// Runs `f` on the dependency's instance (typed access, see
    /// [`PluginSystem::with`](crate::PluginSystem::with)).
    pub fn with<T: PluginType, R>(&self, f: impl FnOnce(&T) -> R) -> Result<R, AccessError> {
        typed(self.host, |t: &mut T| f(t))
    }
}
