//! Stage 3: the generated code.
//!
//! For a struct:
//!
//! - the struct itself, unchanged;
//! - hidden inherent fns on it (`__tony_plugin_*`): its metadata, its
//!   fingerprints and its default instance, each a fn item named after the
//!   type (a hot patch maps functions by symbol, so these names must not
//!   shift when another plugin is added before it in the same module);
//! - `impl PluginType`, whose `descriptor()` builds the metadata and a
//!   `VTable` of non-capturing closures, each of which calls a fn item
//!   through `__private::hot_call`: after a hot patch the new code answers
//!   (new fingerprints, new metadata, a deserializer for the new layout);
//! - an `inventory::submit!` of the descriptor fn, through
//!   `__private::inventory`, so the user's crate needs no inventory
//!   dependency.
//!
//! All of it but the struct lives in `const _: () = { ... };`.
//!
//! The code fingerprint of a plugin covers its struct and its
//! `#[tony_plugin]` impl blocks, which the struct's attribute cannot see.
//! So the struct's registration carries its own hashes (code, state) and
//! each impl block registers its own description (`__private::ImplBlock`:
//! the plugin's `TypeId`, the trait, one hash per method); tony-core joins
//! them into one `CodeManifest` entry per plugin. A hot-patch library's
//! constructors submit its registrations again: that is how Tony reads
//! what the incoming code contains, and which plugins an edit changed,
//! whatever the edit renamed, added or removed.
//!
//! A compile-time design (say, one `impl ImplHash<N> for X` per block) does
//! not work: no macro invocation can know how many blocks a type has, or
//! its own index among them, and Rust cannot enumerate a type's impls.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use crate::parse::{self, Input};
use crate::validate::{self, Plugin};
use crate::{fingerprint, impl_block};

/// Where the struct is defined, as far as the compiler tells the macro.
pub(crate) struct Source {
    /// The absolute path of the file, when the compiler gives a real one.
    pub file: Option<String>,
}

/// The whole attribute: parse, validate, expand. On an error, the error at
/// its tokens and the item unchanged, so that nothing else fails because
/// the item went missing.
pub(crate) fn tony_plugin(args: TokenStream, item: TokenStream, source: &Source) -> TokenStream {
    let expanded = parse::input(args, item.clone()).and_then(|input| match &input {
        Input::Struct(s) => validate::plugin(s).map(|p| plugin_struct(&p, source)),
        Input::Impl(i) => validate::impl_block(i).map(|()| impl_block::expand(i)),
        Input::Other(o) => Err(validate::other_item(o)),
    });
    match expanded {
        Ok(tokens) => tokens,
        Err(e) => {
            let error = e.to_compile_error();
            quote!(#error #item)
        }
    }
}

/// A tony-core item the expansion names, through `__private`.
fn tony(name: &str) -> TokenStream {
    let name = quote::format_ident!("{}", name);
    quote!(::tony_core::__private::#name)
}

fn plugin_struct(p: &Plugin<'_>, source: &Source) -> TokenStream {
    let item = &p.input.item;
    let ident = &item.ident;
    let span = ident.span();
    let plugin_trait = tony("Plugin");
    let plugin_type = tony("PluginType");
    let descriptor = tony("PluginDescriptor");
    let fingerprints = tony("Fingerprints");
    let hot = quote!(::tony_core::__private::hot_call);

    let name = &p.name;
    let version = match p.version {
        Some(v) => quote!(#v),
        None => quote!(::core::env!("CARGO_PKG_VERSION")),
    };
    let description = &p.description;
    let min_tony_version = match p.min_tony_version {
        Some(v) => quote!(::core::option::Option::Some(#v)),
        None => quote!(::core::option::Option::None),
    };
    let dependencies = p.dependencies.iter().map(|d| {
        let (name, req, optional) = (&d.name, &d.req, d.optional);
        quote!((#name, #req, #optional))
    });
    let state_version = p.state_version;
    let file = match &source.file {
        Some(file) => quote!(#file),
        None => quote!(::core::concat!(
            ::core::env!("CARGO_MANIFEST_DIR"),
            "/",
            ::core::file!()
        )),
    };
    // Spanned at the struct's name: the line of the struct, not of the attribute.
    let line = quote_spanned!(span=> ::core::line!());

    let struct_hash = fingerprint::struct_code(&p.input.args_tokens, item);
    let state = fingerprint::state(item, p.state_version, p.stateless);
    // The hidden fn answers with the struct's own hashes through the jump
    // table (so the state layout is the new code's after a patch); the code
    // fingerprint of the whole plugin is tony-core's (see the module docs).
    let code = quote!(#struct_hash);
    let fingerprints_entry = quote! {
        || ::tony_core::__private::plugin_fingerprints::<Self, _, _>(#name, Self::__tony_plugin_fingerprints)
    };

    let (save, load, migrate) = if p.stateless {
        (
            quote!(::tony_core::__private::stateless_save),
            quote!(::tony_core::__private::stateless_load::<#ident>),
            quote!(::tony_core::__private::stateless_migrate::<#ident>),
        )
    } else {
        (
            quote!(::tony_core::__private::serde_save::<#ident>),
            quote!(::tony_core::__private::serde_load::<#ident>),
            quote!(::tony_core::__private::migrate::<#ident>),
        )
    };
    // Each closure spanned at the struct's name as a whole, so that a
    // missing `Serialize` (say) is one error, there.
    let hot_at_ident = quote_spanned!(span=> ::tony_core::__private::hot_call);
    // Through non-generic inherent fns: a generic instance such as
    // `serde_save::<Counter>` gets a new symbol when Counter's fields change,
    // so a hot patch's table would not map it and the original code would run.
    // Only the paths carry the struct's span: the arguments must stay at the
    // call site, like the parameters they name, or a plugin declared by a
    // `macro_rules!` would not see them (hygiene).
    let save_fn = quote_spanned!(span=> #save);
    let load_fn = quote_spanned!(span=> #load);
    let migrate_fn = quote_spanned!(span=> #migrate);
    let save = quote_spanned!(span=> |plugin| #hot_at_ident(Self::__tony_plugin_save, (plugin,)));
    let load = quote_spanned!(span=> |bytes| #hot_at_ident(Self::__tony_plugin_load, (bytes,)));
    let migrate = quote_spanned!(span=> |old| #hot_at_ident(Self::__tony_plugin_migrate, (old,)));
    let default = quote_spanned!(span=> <Self as ::core::default::Default>::default());
    // Also through an inherent fn, for the same reason as save/load/migrate:
    // `check_config::<Cfg>` gets a new symbol when `Cfg`'s fields change.
    let (check_config, check_config_fn) = match p.config {
        Some(ty) => {
            let check = quote_spanned!(syn::spanned::Spanned::span(ty)=> ::tony_core::__private::check_config::<#ty>);
            (
                quote!(::core::option::Option::Some(|file, plugin| #hot(Self::__tony_plugin_check_config, (file, plugin)))),
                quote! {
                    #[doc(hidden)]
                    fn __tony_plugin_check_config(
                        file: &::tony_core::__private::PluginConfigFile,
                        plugin: &str,
                    ) -> ::core::result::Result<(), ::tony_core::__private::ConfigFileError> {
                        #check(file, plugin)
                    }
                },
            )
        }
        None => (quote!(::core::option::Option::None), quote!()),
    };

    quote! {
        #item

        const _: () = {
            impl #ident {
                #[doc(hidden)]
                fn __tony_plugin_metadata() -> ::tony_core::__private::MetadataParts {
                    ::tony_core::__private::MetadataParts {
                        name: #name,
                        version: #version,
                        description: #description,
                        min_tony_version: #min_tony_version,
                        dependencies: &[#(#dependencies),*],
                        state_version: #state_version,
                        file: #file,
                        line: #line,
                    }
                }

                #[doc(hidden)]
                fn __tony_plugin_fingerprints() -> #fingerprints {
                    #fingerprints {
                        code: #code,
                        state: #state,
                    }
                }

                #[doc(hidden)]
                fn __tony_plugin_create() -> ::std::boxed::Box<dyn #plugin_trait> {
                    ::std::boxed::Box::new(#default)
                }

                #[doc(hidden)]
                fn __tony_plugin_save(plugin: &dyn #plugin_trait) -> ::core::result::Result<::std::vec::Vec<u8>, ::tony_core::__private::BoxError> {
                    #save_fn(plugin)
                }

                #[doc(hidden)]
                fn __tony_plugin_load(bytes: &[u8]) -> ::tony_core::__private::PluginResult {
                    #load_fn(bytes)
                }

                #check_config_fn

                #[doc(hidden)]
                fn __tony_plugin_migrate(old: &::tony_core::__private::OldState<'_>) -> ::tony_core::__private::PluginResult {
                    #migrate_fn(old)
                }
            }

            #[automatically_derived]
            impl #plugin_type for #ident {
                const NAME: &'static str = #name;
                const STATE_FINGERPRINT: u64 = #state;

                fn descriptor() -> #descriptor {
                    ::tony_core::__private::descriptor(
                        #hot(Self::__tony_plugin_metadata, ()),
                        ::tony_core::__private::VTable {
                            fingerprints: #fingerprints_entry,
                            create: || #hot(Self::__tony_plugin_create, ()),
                            save: #save,
                            load: #load,
                            migrate: #migrate,
                            check_config: #check_config,
                        },
                    )
                }
            }

            ::tony_core::__private::inventory::submit! {
                ::tony_core::__private::Registration::new(
                    <#ident as #plugin_type>::descriptor,
                    ::core::any::TypeId::of::<#ident>,
                    &::tony_core::__private::StructCode {
                        name: #name,
                        crate_name: ::core::env!("CARGO_CRATE_NAME"),
                        code: #code,
                        state: #state,
                    },
                )
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use proc_macro2::{TokenStream, TokenTree};
    use quote::quote;

    fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
        super::tony_plugin(args, item, &super::Source { file: None })
    }

    /// Every `tony_core::X` path in `tokens`, as `X`.
    fn tony_core_paths(tokens: TokenStream, out: &mut Vec<String>) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        for (i, tt) in trees.iter().enumerate() {
            match tt {
                TokenTree::Ident(id) if id == "tony_core" => {
                    if let Some(TokenTree::Ident(next)) = trees.get(i + 3) {
                        out.push(next.to_string());
                    }
                }
                TokenTree::Group(g) => tony_core_paths(g.stream(), out),
                _ => {}
            }
        }
    }

    /// The runtime is named only through `::tony_core::__private`.
    #[test]
    fn generated_paths_go_through_private() {
        let mut paths = Vec::new();
        for (args, item) in [
            (
                quote!(name = "p", config = Cfg, dependencies("q" = "^1" optional)),
                quote!(
                    struct P {
                        n: u8,
                    }
                ),
            ),
            (
                quote!(stateless),
                quote!(
                    struct Q;
                ),
            ),
            (
                quote!(),
                quote!(impl Plugin for P { fn activate(&mut self, c: &mut Context<'_>) -> R { x } }),
            ),
        ] {
            tony_core_paths(expand(args, item), &mut paths);
        }
        assert!(paths.iter().any(|p| p == "__private"));
        for p in &paths {
            assert_eq!(p, "__private", "::tony_core::{p}");
        }
    }

    #[test]
    fn errors_keep_the_item() {
        let item = quote!(
            struct P {
                n: u8,
            }
        );
        let out = expand(quote!(nope = 1), item.clone()).to_string();
        assert!(out.starts_with(":: core :: compile_error !"), "{out}");
        assert!(out.ends_with(&item.to_string()), "{out}");
    }
}
