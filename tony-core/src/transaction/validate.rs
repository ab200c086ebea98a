//! Custom validation of a plugin before it reloads: a new version is
//! checked against the running one before anything changes.

use crate::plugin::metadata::Metadata;

/// The verdict of a [`Validator`]: valid, or the reasons it is not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Validation {
    /// Why the candidate is rejected; empty when it is valid.
    pub errors: Vec<String>,
}

impl Validation {
    /// Accepts the candidate.
    pub fn valid() -> Self {
        Validation::default()
    }

    /// Rejects the candidate for `reason`.
    pub fn reject(reason: impl Into<String>) -> Self {
        Validation {
            errors: vec![reason.into()],
        }
    }

    /// Whether the candidate is accepted.
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }
}

/// A check every reload must pass before anything changes.
///
/// Registered with [`PluginSystemBuilder::validator`](crate::PluginSystemBuilder::validator);
/// closures `Fn(&Metadata, &Metadata) -> Validation` (new, then running)
/// are validators.
///
/// ```
/// use tony_core::{Metadata, PluginSystem, Validation};
///
/// let system = PluginSystem::builder()
///     .register_inventory(false)
///     .validator(|new: &Metadata, old: &Metadata| {
///         if new.version() < old.version() {
///             Validation::reject(format!("{} would downgrade", new.name()))
///         } else {
///             Validation::valid()
///         }
///     })
///     .build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Validator: Send + Sync + 'static {
    /// Judges `candidate`, the metadata about to run, against `running`.
    fn validate(&self, candidate: &Metadata, running: &Metadata) -> Validation;
}

impl<F> Validator for F
where
    F: Fn(&Metadata, &Metadata) -> Validation + Send + Sync + 'static,
{
    fn validate(&self, candidate: &Metadata, running: &Metadata) -> Validation {
        self(candidate, running)
    }
}
