//! Exports `main` from this package's test and bench binaries.
//!
//! subsecond finds the running executable through `dlsym(RTLD_DEFAULT,
//! "main")`; a plain cargo-built binary does not export it, and then every
//! `apply_patch` panics. `rustc-link-arg` (not `rustc-link-arg-tests`, which
//! misses benches and is an error in a package without a `tests/` target)
//! reaches every linked target of this package, and only this package.

fn main() {
    println!("cargo:rustc-link-arg=-Wl,--export-dynamic-symbol=main");
    println!("cargo:rerun-if-changed=build.rs");
}
