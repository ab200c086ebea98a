//! `#[tony_plugin]` on an impl block: every method that can be routed
//! through the jump table is split in two.
//!
//! ```text
//! impl Plugin for Counter {                 impl Plugin for Counter {
//!     fn activate(&mut self, ctx: ..) ..        fn activate(&mut self, ctx: ..) .. {
//!     { body }                          =>          hot_call(Self::__tony_hot_Plugin_activate, (self, ctx))
//! }                                             }
//!                                           }
//!                                           impl Counter {
//!                                               fn __tony_hot_Plugin_activate(&mut self, ctx: ..) ..
//!                                               { use Plugin as _; body }
//!                                           }
//! ```
//!
//! The visible method keeps its signature, attributes and docs; the body
//! moves to a hidden inherent method, called as a fn *item* (a zero-sized
//! type that subsecond can look up in its jump table; a closure capturing one
//! pointer-sized value would be mistaken for a function pointer and never
//! patched). In a trait impl, the hidden method brings the trait into scope
//! (`use Trait as _;`) and spells `Self::Assoc` as `<Self as Trait>::Assoc`,
//! which an inherent impl would otherwise find ambiguous.
//!
//! Methods that cannot be routed pass through unchanged (and are not hot):
//! generic over types or consts (lifetimes are fine), taking or returning
//! `impl Trait`, `async`, `const`, `unsafe`, `extern`, `default` fns, fns
//! with a `#[cfg]` on a parameter, and fns of more than 8 parameters
//! (counting `self`: the arities `hot_call` supports).
//!
//! The block is also described to tony-core (its trait, its hash, one hash
//! per method) through `inventory`, which is how a hot patch's changes are
//! told apart (see [`registration`]).

use proc_macro2::{Group, Ident, Punct, Spacing, Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote};
use syn::{Attribute, FnArg, ImplItem, ImplItemFn, Pat, PatIdent, Path, ReturnType};

use crate::fingerprint;
use crate::parse::ImplBlock;

/// The most parameters (with `self`) a routed method may have.
const MAX_ARITY: usize = 8;

/// Expands a validated `#[tony_plugin]` impl block.
pub(crate) fn expand(input: &ImplBlock) -> TokenStream {
    let original = &input.item;
    let mut visible = original.clone();
    let self_ty = &original.self_ty;
    // The block outside its methods (header, associated items): each
    // method has a hash of its own.
    let mut outline = original.clone();
    outline.items.retain(|i| !matches!(i, ImplItem::Fn(_)));
    let block_hash = fingerprint::impl_block(&outline);

    let trait_path = match &original.trait_ {
        // A negative impl has no methods and no code.
        Some((Some(_), _, _)) => return original.to_token_stream(),
        Some((None, path, _)) => Some(path),
        None => None,
    };
    let key = match trait_path {
        Some(path) => trait_key(path),
        None => String::new(),
    };
    let assoc_types: Vec<Ident> = original
        .items
        .iter()
        .filter_map(|i| match i {
            ImplItem::Type(t) => Some(t.ident.clone()),
            _ => None,
        })
        .collect();

    let mut hidden = Vec::new();
    for item in &mut visible.items {
        let ImplItem::Fn(f) = item else { continue };
        if cold_reason(f).is_some() {
            continue;
        }
        let method = unraw(&f.sig.ident);
        let hidden_ident = if key.is_empty() {
            format_ident!("__tony_hot_{}", method)
        } else {
            format_ident!("__tony_hot_{}_{}", key, method)
        };
        hidden.push(hidden_fn(f, &hidden_ident, trait_path, &assoc_types));
        make_visible(f, &hidden_ident);
    }

    // `#[cfg]`s on the block apply to what it generates too.
    let cfgs: Vec<&Attribute> = original
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg") || a.path().is_ident("cfg_attr"))
        .collect();
    let where_clause = &original.generics.where_clause;
    let registration = registration(original, trait_path, block_hash);
    let hidden = (!hidden.is_empty()).then(|| {
        quote! {
            impl #self_ty #where_clause {
                #(#hidden)*
            }
        }
    });
    quote! {
        #visible

        #(#cfgs)*
        const _: () = {
            #hidden
            #registration
        };
    }
}

/// The block's description, submitted to `inventory` for tony-core: the
/// plugin type, the trait (if any), the hash of the whole block and one hash
/// per method.
///
/// Static data, not functions: a hot-patch library's constructors submit
/// its blocks again, and reading their data tells Tony exactly what the
/// new code contains, whatever the edit renamed, added or removed. (An
/// earlier design called a fn named after the block's methods through the
/// jump table; adding a method renamed that fn, the original registry never
/// saw its successor, and every later edit of the block went unnoticed.)
fn registration(original: &syn::ItemImpl, trait_path: Option<&Path>, hash: u64) -> TokenStream {
    let self_ty = &original.self_ty;
    // The whole path, arguments included: `From<u8>` and `From<u16>` are
    // different blocks.
    let trait_name = trait_path
        .map(|path| compact(&path.to_token_stream().to_string()))
        .unwrap_or_default();
    let methods = original.items.iter().filter_map(|i| match i {
        ImplItem::Fn(f) => {
            let name = unraw(&f.sig.ident);
            let name = if trait_name.is_empty() {
                name
            } else {
                format!("{trait_name}::{name}")
            };
            let h = fingerprint::method(f);
            Some(quote!((#name, #h)))
        }
        _ => None,
    });
    quote! {
        ::tony_core::__private::inventory::submit! {
            ::tony_core::__private::ImplBlock::new(
                ::core::any::TypeId::of::<#self_ty>,
                &::tony_core::__private::BlockCode {
                    trait_name: #trait_name,
                    hash: #hash,
                    methods: &[#(#methods),*],
                },
            )
        }
    }
}

/// `Foo < u8 >` as `Foo<u8>`: the compiler's printer spaces tokens.
fn compact(printed: &str) -> String {
    let mut out = String::with_capacity(printed.len());
    let mut chars = printed.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ' ' {
            let next = chars.peek().copied().unwrap_or(' ');
            let prev = out.chars().last().unwrap_or(' ');
            let word = |c: char| c.is_alphanumeric() || c == '_';
            if word(prev) && word(next) {
                out.push(' ');
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// Why a method passes through unchanged, if it does.
pub(crate) fn cold_reason(f: &ImplItemFn) -> Option<&'static str> {
    let sig = &f.sig;
    if f.defaultness.is_some() {
        Some("`default fn`")
    } else if sig.constness.is_some() {
        Some("`const fn`")
    } else if sig.asyncness.is_some() {
        Some("`async fn`")
    } else if sig.unsafety.is_some() {
        Some("`unsafe fn`")
    } else if sig.abi.is_some() || sig.variadic.is_some() {
        Some("`extern fn`")
    } else if sig
        .generics
        .params
        .iter()
        .any(|p| !matches!(p, syn::GenericParam::Lifetime(_)))
    {
        Some("generic over a type or const")
    } else if sig.inputs.len() > MAX_ARITY {
        Some("more than 8 parameters")
    } else if sig.inputs.iter().any(|a| match a {
        FnArg::Typed(t) => mentions_impl(t.ty.to_token_stream()),
        FnArg::Receiver(r) => mentions_impl(r.ty.to_token_stream()),
    }) {
        Some("`impl Trait` parameter")
    } else if let ReturnType::Type(_, ty) = &sig.output
        && mentions_impl(ty.to_token_stream())
    {
        Some("`impl Trait` return type")
    } else if sig.inputs.iter().any(|a| {
        let attrs = match a {
            FnArg::Typed(t) => &t.attrs,
            FnArg::Receiver(r) => &r.attrs,
        };
        attrs
            .iter()
            .any(|a| a.path().is_ident("cfg") || a.path().is_ident("cfg_attr"))
    }) {
        Some("`#[cfg]` on a parameter")
    } else {
        None
    }
}

fn mentions_impl(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|tt| match tt {
        TokenTree::Ident(i) => i == "impl",
        TokenTree::Group(g) => mentions_impl(g.stream()),
        _ => false,
    })
}

/// The hidden inherent method: the original signature and body under a new
/// name, with only the attributes that matter to a body.
fn hidden_fn(
    f: &ImplItemFn,
    ident: &Ident,
    trait_path: Option<&Path>,
    assoc_types: &[Ident],
) -> TokenStream {
    let mut hidden = f.clone();
    hidden.vis = syn::Visibility::Inherited;
    hidden.sig.ident = ident.clone();
    hidden.attrs = f
        .attrs
        .iter()
        .filter(|a| {
            let p = a.path();
            [
                "cfg", "cfg_attr", "allow", "expect", "warn", "deny", "forbid",
            ]
            .iter()
            .any(|k| p.is_ident(k))
        })
        .cloned()
        .collect();
    // A hot method cannot be `const` (it would pass through): never suggest it.
    let Some(trait_path) = trait_path else {
        return quote! {
            #[doc(hidden)]
            #[allow(dead_code, clippy::missing_const_for_fn)]
            #hidden
        };
    };
    // The trait's methods and consts are in scope in its impl, not in an
    // inherent one: bring it in.
    let mut use_path = trait_path.clone();
    for seg in &mut use_path.segments {
        seg.arguments = syn::PathArguments::None;
    }
    hidden.block.stmts.insert(
        0,
        syn::parse_quote! {
            #[allow(unused_imports)]
            use #use_path as _;
        },
    );
    let tokens = qualify_assoc_types(hidden.to_token_stream(), trait_path, assoc_types);
    // The trait dictates the signature, which lints about signatures would
    // have the user change if they saw it on an inherent method.
    quote! {
        #[doc(hidden)]
        #[allow(
            dead_code,
            non_snake_case,
            clippy::missing_const_for_fn,
            clippy::unnecessary_wraps,
            clippy::unused_self,
            clippy::needless_pass_by_value,
            clippy::needless_pass_by_ref_mut,
            clippy::trivially_copy_pass_by_ref,
            clippy::large_types_passed_by_value,
            clippy::ptr_arg,
            clippy::boxed_local,
            clippy::too_many_arguments,
            clippy::fn_params_excessive_bools,
            clippy::unnecessary_box_returns,
            clippy::ref_option,
            clippy::wrong_self_convention,
            clippy::return_self_not_must_use,
            clippy::must_use_candidate,
            clippy::type_complexity
        )]
        #tokens
    }
}

/// Rewrites `Self::Assoc` as `<Self as Trait>::Assoc` for the associated
/// types the impl block defines.
fn qualify_assoc_types(tokens: TokenStream, trait_path: &Path, assoc: &[Ident]) -> TokenStream {
    if assoc.is_empty() {
        return tokens;
    }
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = TokenStream::new();
    let mut i = 0;
    while i < trees.len() {
        if let [
            TokenTree::Ident(s),
            TokenTree::Punct(c1),
            TokenTree::Punct(c2),
            TokenTree::Ident(name),
            ..,
        ] = &trees[i..]
            && s == "Self"
            && c1.as_char() == ':'
            && c1.spacing() == Spacing::Joint
            && c2.as_char() == ':'
            && assoc.iter().any(|a| a == name)
        {
            let mut lt = Punct::new('<', Spacing::Alone);
            lt.set_span(s.span());
            out.extend(quote!(#lt #s as #trait_path > :: #name));
            i += 4;
            continue;
        }
        match &trees[i] {
            TokenTree::Group(g) => {
                let mut group = Group::new(
                    g.delimiter(),
                    qualify_assoc_types(g.stream(), trait_path, assoc),
                );
                group.set_span(g.span());
                out.extend([TokenTree::Group(group)]);
            }
            other => out.extend([other.clone()]),
        }
        i += 1;
    }
    out
}

/// Turns the original method into the visible one: same signature, a body
/// that calls the hidden method through the jump table.
fn make_visible(f: &mut ImplItemFn, hidden: &Ident) {
    let mut args = Vec::new();
    for (i, arg) in f.sig.inputs.iter_mut().enumerate() {
        match arg {
            FnArg::Receiver(r) => {
                // `mut self` is a binding mode, not part of the signature;
                // kept here it would be an unused `mut`.
                if r.reference.is_none() {
                    r.mutability = None;
                }
                args.push(r.self_token.to_token_stream());
            }
            FnArg::Typed(t) => {
                let ident = match &*t.pat {
                    Pat::Ident(p)
                        if p.by_ref.is_none()
                            && p.subpat.is_none()
                            && !p.ident.to_string().starts_with('_') =>
                    {
                        p.ident.clone()
                    }
                    _ => Ident::new(&format!("arg{i}"), Span::mixed_site()),
                };
                *t.pat = Pat::Ident(PatIdent {
                    attrs: Vec::new(),
                    by_ref: None,
                    mutability: None,
                    ident: ident.clone(),
                    subpat: None,
                });
                args.push(ident.to_token_stream());
            }
        }
    }
    // A lint expectation about the body is met by the hidden method, not
    // by this one: keep it as an `allow`.
    for attr in &mut f.attrs {
        if attr.path().is_ident("expect")
            && let syn::Meta::List(list) = &mut attr.meta
        {
            list.path = syn::parse_quote!(allow);
        }
    }
    // The visible method is only a trampoline: inlined into its callers, a
    // call costs what subsecond's own `HotFn::call` does.
    if !f.attrs.iter().any(|a| a.path().is_ident("inline")) {
        f.attrs.push(syn::parse_quote!(#[inline]));
    }
    let body = quote! {
        ::tony_core::__private::hot_call(Self::#hidden, (#(#args,)*))
    };
    f.block = syn::Block {
        brace_token: f.block.brace_token,
        stmts: vec![syn::Stmt::Expr(syn::Expr::Verbatim(body), None)],
    };
}

/// The part of hidden names that identifies a trait: its last segment, plus
/// a hash of the whole path when it has more than one segment or generic
/// arguments (`From<u8>` and `From<u16>` must not collide).
fn trait_key(path: &Path) -> String {
    let last = path
        .segments
        .last()
        .map(|s| unraw(&s.ident))
        .unwrap_or_default();
    let plain = path.leading_colon.is_none()
        && path.segments.len() == 1
        && path.segments.iter().all(|s| s.arguments.is_none());
    if plain {
        last
    } else {
        let hash = fingerprint::tokens("tony-trait-key", path.to_token_stream());
        format!("{last}_{:08x}", hash as u32)
    }
}

fn unraw(ident: &Ident) -> String {
    let s = ident.to_string();
    s.strip_prefix("r#").map(str::to_owned).unwrap_or(s)
}
