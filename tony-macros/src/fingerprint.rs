//! Fingerprints, computed when the macro expands: 64-bit FNV-1a over a
//! canonical serialization of token streams.
//!
//! Deterministic by construction: no `RandomState`, no addresses, no spans.
//! The serialization walks the tokens instead of hashing
//! `TokenStream::to_string()`, because the compiler's printer and
//! proc-macro2's fallback printer space tokens differently (and the
//! compiler's depends on the source's own spacing), while the tokens
//! themselves do not. Only the spacing of adjacent punctuation is kept,
//! because it is meaning: `a && b` is not `a & &b`.
//!
//! - **code** of a struct: its attribute's arguments and its whole item;
//! - **code** of an impl block: its whole item, before rewriting;
//! - **state**: only what decides the bytes of a snapshot and the layout of
//!   the type: each field's name, type and `serde`/`cfg` attributes, the
//!   container's `serde`/`repr`/`cfg` attributes, `state_version` and
//!   `stateless`. Doc comments, visibility, derives other than serde's,
//!   and every method body are left out.
//!
//! The plugin's code fingerprint is [`combine`]d at run time from its
//! struct's and its impl blocks' hashes (see `expand.rs`).

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};
use quote::ToTokens;
use syn::{Attribute, Fields, ItemImpl, ItemStruct};

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

/// A 64-bit FNV-1a hasher (the same function tony-core uses at run time).
struct Fnv64(u64);

impl Fnv64 {
    /// A hasher that starts by hashing a domain, so that different kinds
    /// of hashes of the same tokens never coincide.
    fn new(domain: &str) -> Self {
        let mut h = Fnv64(FNV_OFFSET);
        h.str(domain);
        h
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(FNV_PRIME);
        }
    }

    fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }

    /// Length-prefixed, so that concatenations cannot collide.
    fn str(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.bytes(s.as_bytes());
    }

    fn tokens(&mut self, tokens: TokenStream) {
        for tt in tokens {
            match tt {
                TokenTree::Group(g) => {
                    let (open, close) = match g.delimiter() {
                        Delimiter::Parenthesis => (b'(', b')'),
                        Delimiter::Brace => (b'{', b'}'),
                        Delimiter::Bracket => (b'[', b']'),
                        Delimiter::None => (b'<', b'>'),
                    };
                    self.bytes(&[open]);
                    self.tokens(g.stream());
                    self.bytes(&[close]);
                }
                TokenTree::Ident(i) => {
                    self.bytes(b"i");
                    self.str(&i.to_string());
                }
                TokenTree::Punct(p) => {
                    let joint = match p.spacing() {
                        Spacing::Joint => b'j',
                        Spacing::Alone => b'a',
                    };
                    self.bytes(&[b'p', joint]);
                    self.str(p.as_char().encode_utf8(&mut [0; 4]));
                }
                TokenTree::Literal(l) => {
                    self.bytes(b"l");
                    self.str(&l.to_string());
                }
            }
        }
    }

    fn attrs<'a>(&mut self, attrs: impl IntoIterator<Item = &'a Attribute>, keep: &[&str]) {
        for attr in attrs {
            if keep.iter().any(|k| attr.path().is_ident(k)) {
                self.tokens(attr.to_token_stream());
            }
        }
    }
}

/// Hash of a token stream, for names derived from tokens (not a fingerprint).
pub(crate) fn tokens(domain: &str, tokens: TokenStream) -> u64 {
    let mut h = Fnv64::new(domain);
    h.tokens(tokens);
    h.0
}

/// The code hash of a `#[tony_plugin(...)]` struct: its arguments and the
/// whole item, doc comments included.
pub(crate) fn struct_code(args: &TokenStream, item: &ItemStruct) -> u64 {
    let mut h = Fnv64::new("tony-code-struct-v1");
    h.tokens(args.clone());
    h.tokens(item.to_token_stream());
    h.0
}

/// The code hash of a `#[tony_plugin]` impl block, as written.
pub(crate) fn impl_block(item: &ItemImpl) -> u64 {
    let mut h = Fnv64::new("tony-code-impl-v1");
    h.tokens(item.to_token_stream());
    h.0
}

/// The code hash of one method of an impl block, as written (attributes,
/// signature and body): what tells a receipt which methods an edit changed.
pub(crate) fn method(item: &syn::ImplItemFn) -> u64 {
    let mut h = Fnv64::new("tony-code-method-v1");
    h.tokens(item.to_token_stream());
    h.0
}

/// The state fingerprint: what decides the snapshot's bytes and the type's
/// layout, and nothing else.
pub(crate) fn state(item: &ItemStruct, state_version: u32, stateless: bool) -> u64 {
    const CONTAINER: &[&str] = &["serde", "repr", "cfg", "cfg_attr"];
    const FIELD: &[&str] = &["serde", "cfg", "cfg_attr"];
    let mut h = Fnv64::new("tony-state-v1");
    h.u64(u64::from(state_version));
    h.bytes(&[u8::from(stateless)]);
    h.attrs(&item.attrs, CONTAINER);
    h.bytes(match &item.fields {
        Fields::Named(_) => b"named",
        Fields::Unnamed(_) => b"tuple",
        Fields::Unit => b"unit",
    });
    for field in &item.fields {
        h.bytes(b"field");
        h.attrs(&field.attrs, FIELD);
        if let Some(ident) = &field.ident {
            h.str(&ident.to_string());
        }
        h.tokens(field.ty.to_token_stream());
    }
    h.0
}

/// A plugin's code fingerprint: its struct's hash and the distinct hashes
/// of its impl blocks, in sorted order.
///
/// tony-core computes the same at run time (`code_manifest::PluginCode::code`)
/// from the impl blocks registered for the type. Sorting makes it
/// independent of `inventory`'s order; deduplicating makes a block counted
/// once even when a hot-patch library registers it again. The macro itself
/// only uses it in tests, to compute what tony-core will.
#[cfg(test)]
pub(crate) fn combine(struct_hash: u64, impl_hashes: &[u64]) -> u64 {
    let mut blocks = impl_hashes.to_vec();
    blocks.sort_unstable();
    blocks.dedup();
    let mut h = Fnv64(FNV_OFFSET);
    h.u64(struct_hash);
    for b in blocks {
        h.u64(b);
    }
    h.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{self, Input};

    /// One version of a plugin's source: its struct's attribute arguments,
    /// the struct, and its `#[tony_plugin]` impl blocks.
    struct Source {
        args: &'static str,
        item: &'static str,
        impls: &'static [&'static str],
    }

    /// Parses a source exactly as the macro does and returns its (code,
    /// state) fingerprints.
    fn fingerprints(src: &Source) -> (u64, u64) {
        let args: TokenStream = src.args.parse().unwrap_or_default();
        let item: TokenStream = src.item.parse().unwrap_or_default();
        let Ok(Input::Struct(s)) = parse::input(args, item) else {
            panic!("not a struct: {}", src.item);
        };
        let Ok(plugin) = crate::validate::plugin(&s) else {
            panic!("invalid plugin: {}", src.args);
        };
        let impls: Vec<u64> = src
            .impls
            .iter()
            .map(|i| match syn::parse_str::<ItemImpl>(i) {
                Ok(item) => impl_block(&item),
                Err(e) => panic!("{e}: {i}"),
            })
            .collect();
        let code = combine(struct_code(&s.args_tokens, &s.item), &impls);
        (code, state(&s.item, plugin.state_version, plugin.stateless))
    }

    const ARGS: &str = r#"name = "counter", version = "1.0.0""#;
    const STRUCT: &str = r#"
        /// Counts.
        #[derive(Default, Serialize, Deserialize)]
        pub struct Counter {
            count: u64,
            #[serde(skip)]
            cache: Vec<u8>,
        }
    "#;
    const PLUGIN_IMPL: &str = r#"
        impl Plugin for Counter {
            fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
                self.count += 1;
                Ok(())
            }
        }
    "#;
    const INHERENT_IMPL: &str = r#"
        impl Counter {
            pub fn get(&self) -> u64 { self.count }
        }
    "#;

    fn base() -> Source {
        Source {
            args: ARGS,
            item: STRUCT,
            impls: &[PLUGIN_IMPL, INHERENT_IMPL],
        }
    }

    #[test]
    fn identical_sources_give_identical_fingerprints() {
        assert_eq!(fingerprints(&base()), fingerprints(&base()));
    }

    #[test]
    fn whitespace_and_impl_order_do_not_matter() {
        let reformatted = Source {
            item: "/// Counts.\n#[derive(Default, Serialize, Deserialize)] pub struct Counter { count : u64 , \
                   #[serde(skip)] cache : Vec<u8>, }",
            impls: &[INHERENT_IMPL, PLUGIN_IMPL],
            ..base()
        };
        assert_eq!(fingerprints(&reformatted), fingerprints(&base()));
    }

    #[test]
    fn a_changed_method_body_changes_code_not_state() {
        let edited = Source {
            impls: &[
                r#"
                impl Plugin for Counter {
                    fn activate(&mut self, _ctx: &mut Context<'_>) -> Result<(), BoxError> {
                        self.count += 2;
                        Ok(())
                    }
                }
                "#,
                INHERENT_IMPL,
            ],
            ..base()
        };
        let (code, state) = fingerprints(&base());
        let (edited_code, edited_state) = fingerprints(&edited);
        assert_ne!(code, edited_code);
        assert_eq!(state, edited_state);
    }

    #[test]
    fn doc_comments_and_metadata_change_code_not_state() {
        let (code, state) = fingerprints(&base());
        for edited in [
            Source {
                item: r#"
                    /// Counts things.
                    #[derive(Default, Serialize, Deserialize)]
                    pub struct Counter {
                        count: u64,
                        #[serde(skip)]
                        cache: Vec<u8>,
                    }
                "#,
                ..base()
            },
            Source {
                args: r#"name = "counter", version = "1.0.1""#,
                ..base()
            },
        ] {
            let (c, s) = fingerprints(&edited);
            assert_ne!(code, c);
            assert_eq!(state, s);
        }
    }

    #[test]
    fn state_changes_with_fields_serde_attributes_and_state_version() {
        let (code, state) = fingerprints(&base());
        for edited in [
            // a field's type
            Source {
                item: "#[derive(Default)] pub struct Counter { count: u32, #[serde(skip)] cache: Vec<u8> }",
                ..base()
            },
            // a field's name
            Source {
                item: "#[derive(Default)] pub struct Counter { total: u64, #[serde(skip)] cache: Vec<u8> }",
                ..base()
            },
            // a serde attribute
            Source {
                item: "#[derive(Default)] pub struct Counter { count: u64, cache: Vec<u8> }",
                ..base()
            },
            // a field more
            Source {
                item: "#[derive(Default)] pub struct Counter { count: u64, #[serde(skip)] cache: Vec<u8>, n: u8 }",
                ..base()
            },
        ] {
            let (c, s) = fingerprints(&edited);
            assert_ne!(state, s, "{}", edited.item);
            assert_ne!(code, c, "{}", edited.item);
        }
        let bumped = Source {
            args: r#"name = "counter", version = "1.0.0", state_version = 1"#,
            ..base()
        };
        assert_ne!(fingerprints(&bumped).1, state);
        let stateless = Source {
            args: r#"name = "counter", version = "1.0.0", stateless"#,
            ..base()
        };
        assert_ne!(fingerprints(&stateless).1, state);
    }

    #[test]
    fn state_ignores_docs_visibility_and_other_derives() {
        let (_, state) = fingerprints(&base());
        let edited = Source {
            item: r#"
                /// Something else entirely.
                #[derive(Debug, Clone, Default, Serialize, Deserialize)]
                pub(crate) struct Counter {
                    /// The count.
                    pub count: u64,
                    #[serde(skip)]
                    pub(crate) cache: Vec<u8>,
                }
            "#,
            ..base()
        };
        assert_eq!(fingerprints(&edited).1, state);
    }

    #[test]
    fn punctuation_spacing_that_changes_meaning_changes_the_hash() {
        let a: TokenStream = "fn f() { a && b }".parse().unwrap_or_default();
        let b: TokenStream = "fn f() { a & &b }".parse().unwrap_or_default();
        assert_ne!(tokens("t", a), tokens("t", b));
    }

    #[test]
    fn combine_is_order_and_duplicate_insensitive() {
        assert_eq!(combine(1, &[3, 2]), combine(1, &[2, 3, 3]));
        assert_ne!(combine(1, &[2]), combine(1, &[3]));
        assert_ne!(combine(1, &[]), combine(2, &[]));
    }
}
