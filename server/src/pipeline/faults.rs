//! Fault injection for transport decryption and re-encryption, for tests
//! only: in release builds `Faults` holds nothing and injects nothing.

#[cfg(debug_assertions)]
use std::sync::Arc;
#[cfg(debug_assertions)]
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// What an injected fault is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Transient,
    Permanent,
}

#[derive(Clone, Default)]
pub struct Faults {
    #[cfg(debug_assertions)]
    inner: Arc<Plans>,
}

#[cfg(debug_assertions)]
#[derive(Default)]
struct Plans {
    decrypt_transient: AtomicUsize,
    decrypt_permanent: AtomicBool,
    reencrypt_transient: AtomicUsize,
    reencrypt_permanent: AtomicBool,
}

impl Faults {
    /// The next decryption fails (transiently `transient` times first).
    #[cfg(debug_assertions)]
    pub fn fail_decryption(&self, transient: usize, permanent: bool) {
        self.inner
            .decrypt_transient
            .store(transient, Ordering::SeqCst);
        self.inner
            .decrypt_permanent
            .store(permanent, Ordering::SeqCst);
    }

    #[cfg(debug_assertions)]
    pub fn fail_reencryption(&self, transient: usize, permanent: bool) {
        self.inner
            .reencrypt_transient
            .store(transient, Ordering::SeqCst);
        self.inner
            .reencrypt_permanent
            .store(permanent, Ordering::SeqCst);
    }

    pub fn decryption(&self) -> Option<Fault> {
        #[cfg(debug_assertions)]
        {
            take(&self.inner.decrypt_transient, &self.inner.decrypt_permanent)
        }
        #[cfg(not(debug_assertions))]
        None
    }

    pub fn reencryption(&self) -> Option<Fault> {
        #[cfg(debug_assertions)]
        {
            take(
                &self.inner.reencrypt_transient,
                &self.inner.reencrypt_permanent,
            )
        }
        #[cfg(not(debug_assertions))]
        None
    }
}

#[cfg(debug_assertions)]
fn take(transient: &AtomicUsize, permanent: &AtomicBool) -> Option<Fault> {
    let left = transient.load(Ordering::SeqCst);
    if left > 0 {
        transient.store(left - 1, Ordering::SeqCst);
        return Some(Fault::Transient);
    }
    permanent.load(Ordering::SeqCst).then_some(Fault::Permanent)
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Faults")
    }
}
