//! Services by type, each owned by the plugin (or the host) that provided it.
//!
//! The map's lock is held only to read or change the map: a withdrawn
//! service is dropped after the lock is released, contained, because its
//! `Drop` is user code (it may look up another service, or panic).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use crate::access::context::Error;
use crate::engine::containment;

/// The owner name of services the host provides.
pub(crate) const HOST: &str = "(host)";

#[derive(Default)]
pub(crate) struct Services {
    map: RwLock<HashMap<TypeId, Service>>,
}

struct Service {
    owner: String,
    value: Arc<dyn Any + Send + Sync>,
}

impl Services {
    pub(crate) fn provide(
        &self,
        owner: &str,
        value: Arc<dyn Any + Send + Sync>,
        id: TypeId,
        type_name: &'static str,
    ) -> Result<(), Error> {
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(existing) = map.get(&id) {
            return Err(Error::ServiceTaken {
                plugin: owner.to_owned(),
                service: type_name,
                owner: existing.owner.clone(),
            });
        }
        tracing::debug!(plugin = owner, service = type_name, "service provided");
        map.insert(
            id,
            Service {
                owner: owner.to_owned(),
                value,
            },
        );
        Ok(())
    }

    pub(crate) fn get(&self, id: TypeId) -> Option<Arc<dyn Any + Send + Sync>> {
        let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
        map.get(&id).map(|s| Arc::clone(&s.value))
    }

    /// Withdraws every service `owner` provides; returns how many. The
    /// services are dropped with no lock held; a `Drop` that panics is
    /// reported, not propagated.
    pub(crate) fn withdraw(&self, owner: &str) -> usize {
        let removed: Vec<Service> = {
            let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
            map.extract_if(|_, s| s.owner == owner)
                .map(|(_, s)| s)
                .collect()
        };
        let count = removed.len();
        for s in removed {
            if let Err(e) = containment::drop_contained(owner, "service drop", s.value) {
                tracing::error!(plugin = owner, error = %e, "dropping a withdrawn service panicked");
            }
        }
        count
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        let map = std::mem::take(self.map.get_mut().unwrap_or_else(PoisonError::into_inner));
        for (_, s) in map {
            if let Err(e) = containment::drop_contained(&s.owner, "service drop", s.value) {
                tracing::error!(plugin = %s.owner, error = %e, "dropping a service panicked");
            }
        }
    }
}
