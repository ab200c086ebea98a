//! Stage 3: the generated code.
//!
//! For a struct:
//!
//! - the struct itself, unchanged;
//! - one hidden inherent fn on it, the plugin's hot entry
//!   `__tony_plugin_code`, which returns a `static`: the metadata and a
//!   table of tony-core generics instantiated with the type (named after
//!   the type: a hot patch maps functions by symbol, so the name must not
//!   shift when another plugin is added before it in the same module);
//! - `impl PluginType`: the name, the state fingerprint, the struct's hash,
//!   and `descriptor()`, which hands the entry to tony-core; tony-core
//!   calls the newest entry through the jump table, so after a hot patch
//!   the new code answers (new metadata, a deserializer for the new
//!   layout);
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
    let plugin_type = tony("PluginType");
    let descriptor = tony("PluginDescriptor");

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
    let code = quote!(#struct_hash);

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
    // Only the paths carry the struct's span, so that a missing `Serialize`
    // or `Default` (say) is one error, at the struct's name.
    let save = quote_spanned!(span=> #save);
    let load = quote_spanned!(span=> #load);
    let migrate = quote_spanned!(span=> #migrate);
    let create = quote_spanned!(span=> ::tony_core::__private::create::<#ident>);
    let check_config = match p.config {
        Some(ty) => {
            let check = quote_spanned!(syn::spanned::Spanned::span(ty)=> ::tony_core::__private::check_config::<#ty>);
            quote!(::core::option::Option::Some(#check))
        }
        None => quote!(::core::option::Option::None),
    };

    // The plugin's hot entry, `__tony_plugin_code`, returns one `static`:
    // its metadata and a table of direct fn pointers to *this*
    // compilation's functions. The descriptor asks the newest entry
    // through the jump table each time, so after a patch every function is
    // the new code's (a deserializer for the new layout, say). Its
    // signature names no user type, so its symbol survives any edit of the
    // struct (a generic instance such as `serde_save::<Counter>` gets a
    // new one when a field is added, which the table could not map).
    //
    // Everything else is a tony-core generic instantiated with the type:
    // rustc compiles those in codegen units apart from the module that
    // defines the plugin, so a patch that edits a method recompiles little
    // besides the user's own code (see `Generated`). The static names the
    // type, not `Self`, which an item nested in a fn cannot use.
    quote! {
        #item

        const _: () = {
            impl #ident {
                #[doc(hidden)]
                fn __tony_plugin_code() -> &'static ::tony_core::__private::Generated {
                    static CODE: ::tony_core::__private::Generated = ::tony_core::__private::Generated {
                        metadata: ::tony_core::__private::MetadataParts {
                            name: #name,
                            version: #version,
                            description: #description,
                            min_tony_version: #min_tony_version,
                            dependencies: &[#(#dependencies),*],
                            state_version: #state_version,
                            file: #file,
                            line: #line,
                        },
                        vtable: ::tony_core::__private::VTable {
                            fingerprints: ::tony_core::__private::fingerprints::<#ident>,
                            create: #create,
                            save: #save,
                            load: #load,
                            migrate: #migrate,
                            check_config: #check_config,
                        },
                    };
                    &CODE
                }
            }

            #[automatically_derived]
            impl #plugin_type for #ident {
                const NAME: &'static str = #name;
                const STATE_FINGERPRINT: u64 = #state;
                const STRUCT_CODE: u64 = #code;

                fn descriptor() -> #descriptor {
                    ::tony_core::__private::descriptor(Self::__tony_plugin_code)
                }
            }

            ::tony_core::__private::inventory::submit! {
                ::tony_core::__private::Registration::new(
                    #ident::__tony_plugin_code,
                    ::core::any::TypeId::of::<#ident>,
                    &::tony_core::__private::StructCode {
                        name: #name,
                        crate_name: ::core::env!("CARGO_CRATE_NAME"),
                        bin_name: ::core::option_env!("CARGO_BIN_NAME"),
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
