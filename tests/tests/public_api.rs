//! The public API of tony-core, tony-macros and tony-hot, each with the
//! feature sets users build it with, compared with the listings checked in
//! under `public-api/`, so that every change to the surface shows in review
//! as a change to one of those files. Items marked `#[doc(hidden)]` are not
//! listed: rustdoc leaves them out, as it does from the docs.
//!
//! CI runs it through `scripts/check-public-api.sh`. After an intended change
//! of the API, regenerate the listings and commit them:
//!
//! ```text
//! UPDATE_PUBLIC_API=1 scripts/check-public-api.sh
//! ```
//!
//! The listings are rendered by the `public-api` crate from rustdoc JSON, an
//! unstable format that changes with the toolchain: the pinned `public-api`
//! reads format 57, which rustc 1.95 writes (with `RUSTC_BOOTSTRAP=1`, set
//! only for the nested `cargo rustdoc`). Hence `#[ignore]`: a plain
//! `cargo test --workspace` on another toolchain is not failed by it.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The rustdoc JSON format the pinned `public-api` crate reads.
const FORMAT_VERSION: u32 = 57;

/// Auto traits rustc 1.95 lists for every type but stable Rust cannot name.
const UNSTABLE_AUTO_TRAITS: [&str; 2] = ["core::marker::Freeze", "core::marker::UnsafeUnpin"];

/// One listing: a crate built with one set of features.
struct Surface {
    package: &'static str,
    no_default_features: bool,
    features: &'static str,
    listing: &'static str,
}

const SURFACES: [Surface; 5] = [
    Surface {
        package: "tony-core",
        no_default_features: false,
        features: "",
        listing: "tony-core.txt",
    },
    // What tony-hot's default `patch` feature turns on in tony-core.
    Surface {
        package: "tony-core",
        no_default_features: false,
        features: "hot",
        listing: "tony-core-hot.txt",
    },
    Surface {
        package: "tony-macros",
        no_default_features: false,
        features: "",
        listing: "tony-macros.txt",
    },
    Surface {
        package: "tony-hot",
        no_default_features: false,
        features: "",
        listing: "tony-hot.txt",
    },
    // What a release build that leaves hot patching out links against.
    Surface {
        package: "tony-hot",
        no_default_features: true,
        features: "",
        listing: "tony-hot-no-default-features.txt",
    },
];

#[test]
#[ignore = "needs rustc 1.95's rustdoc JSON; run by scripts/check-public-api.sh"]
fn the_public_api_matches_the_checked_in_listings() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let update = std::env::var("UPDATE_PUBLIC_API")
        .is_ok_and(|v| matches!(v.to_lowercase().as_str(), "1" | "yes" | "true"));
    let mut drifted = Vec::new();
    for surface in &SURFACES {
        let rendered = render(root, surface);
        let path = root.join("public-api").join(surface.listing);
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &rendered).unwrap();
            continue;
        }
        // A missing listing shows as every item added.
        let expected = std::fs::read_to_string(&path).unwrap_or_default();
        if rendered != expected {
            drifted.push(format!(
                "public-api/{}:\n{}",
                surface.listing,
                diff(&expected, &rendered)
            ));
        }
    }
    assert!(
        drifted.is_empty(),
        "the public API differs from its checked-in listing \
         (- only in the listing, + only in the code):\n\n{}\n\
         If the change is intended, regenerate the listings with\n    \
         UPDATE_PUBLIC_API=1 scripts/check-public-api.sh\n\
         and commit public-api/ with the change, so that review sees it.",
        drifted.join("\n")
    );
}

/// The public API of `surface`, one item a line, as `public-api` renders it.
fn render(root: &Path, surface: &Surface) -> String {
    let json = rustdoc_json(root, surface);
    let text = std::fs::read_to_string(&json).unwrap();
    let format = format_version(&text);
    assert_eq!(
        format,
        Some(FORMAT_VERSION),
        "{} is rustdoc JSON format {format:?}; the pinned public-api crate reads \
         format {FORMAT_VERSION} (rustc 1.95). Run this check with rustc 1.95, or move \
         the `public-api` pin to the release that reads this toolchain's format.",
        json.display()
    );
    // Blanket impls (`impl<T> From<T> for T` and the like) come from std,
    // say nothing about Tony, and change with the toolchain. Auto-trait
    // impls stay, as losing `Send` or `Sync` breaks users, except those of
    // the unstable auto traits, which no user on stable can name.
    let api = public_api::Builder::from_rustdoc_json(&json)
        .omit_blanket_impls(true)
        .build()
        .unwrap_or_else(|e| panic!("public-api cannot read {}: {e}", json.display()));
    let mut listing = String::new();
    for item in api.items().map(ToString::to_string) {
        if !UNSTABLE_AUTO_TRAITS
            .iter()
            .any(|t| item.starts_with("impl") && item.contains(&format!("{t} for ")))
        {
            listing.push_str(&item);
            listing.push('\n');
        }
    }
    listing
}

/// Builds the rustdoc JSON of `surface` and returns its path.
///
/// A target directory of its own: the outer `cargo test` holds the lock on
/// the usual one, and `RUSTC_BOOTSTRAP` must not touch its fingerprints.
fn rustdoc_json(root: &Path, surface: &Surface) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from)
        .join("public-api");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(root)
        .env("RUSTC_BOOTSTRAP", "1")
        .args(["rustdoc", "--lib", "-p", surface.package, "--target-dir"])
        .arg(&target);
    if surface.no_default_features {
        command.arg("--no-default-features");
    }
    if !surface.features.is_empty() {
        command.args(["--features", surface.features]);
    }
    command.args(["--", "-Zunstable-options", "--output-format", "json"]);
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    target
        .join("doc")
        .join(format!("{}.json", surface.package.replace('-', "_")))
}

/// The `format_version` of a rustdoc JSON document: the last field rustdoc
/// writes. Read from the text, because parsing the whole document for one
/// number needs serde_json without its recursion limit.
fn format_version(json: &str) -> Option<u32> {
    let key = "\"format_version\":";
    let start = json.rfind(key)? + key.len();
    let digits: String = json[start..]
        .chars()
        .skip_while(|c| c.is_whitespace())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The items only in `expected` (`-`) and only in `actual` (`+`). Listings
/// are sorted sets of items, so a set difference is the whole story unless
/// only order or repetition changed.
fn diff(expected: &str, actual: &str) -> String {
    let old: BTreeSet<&str> = expected.lines().collect();
    let new: BTreeSet<&str> = actual.lines().collect();
    let mut out = String::new();
    for line in old.difference(&new) {
        out.push_str(&format!("- {line}\n"));
    }
    for line in new.difference(&old) {
        out.push_str(&format!("+ {line}\n"));
    }
    if out.is_empty() {
        out.push_str("  (same items, in another order or count)\n");
    }
    out
}
