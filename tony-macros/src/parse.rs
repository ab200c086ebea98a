//! Stage 1: the attribute's arguments and the item it sits on, parsed into a
//! small AST that keeps the original syn nodes, so that every later error can
//! point at the tokens the user wrote.
//!
//! Syntax-level mistakes (an unknown key, a key given twice, a value of the
//! wrong kind) are reported here; what the values *mean* is checked in
//! [`validate`](crate::validate).

use proc_macro2::TokenStream;
use syn::ext::IdentExt as _;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{
    Attribute, Expr, ExprLit, Ident, Item, ItemImpl, ItemStruct, Lit, LitInt, LitStr, Meta, Token,
    Type,
};

/// The keys `#[tony_plugin(...)]` accepts on a struct, for error messages.
pub(crate) const KEYS: &str = "`name`, `version`, `description`, `min_tony_version`, `state_version`, `dependencies`, `stateless`, `config`";

/// What the attribute is attached to.
pub(crate) enum Input {
    /// `#[tony_plugin(...)] struct X { ... }`: a plugin type.
    Struct(Box<PluginStruct>),
    /// `#[tony_plugin] impl ... for X { ... }`: hot-patchable methods.
    Impl(Box<ImplBlock>),
    /// Anything else: rejected in validation.
    Other(Box<Item>),
}

/// `#[tony_plugin(...)]` on a struct.
pub(crate) struct PluginStruct {
    /// The attribute's arguments as written: part of the code fingerprint.
    pub args_tokens: TokenStream,
    pub args: PluginArgs,
    pub item: ItemStruct,
}

/// `#[tony_plugin]` on an impl block.
pub(crate) struct ImplBlock {
    /// The attribute's arguments: must be empty.
    pub args_tokens: TokenStream,
    pub item: ItemImpl,
}

/// The arguments of `#[tony_plugin(...)]` on a struct, each kept as its
/// literal (or type) so validation can point at it.
#[derive(Default)]
pub(crate) struct PluginArgs {
    pub name: Option<LitStr>,
    pub version: Option<LitStr>,
    pub description: Option<LitStr>,
    pub min_tony_version: Option<LitStr>,
    pub state_version: Option<LitInt>,
    pub dependencies: Option<Dependencies>,
    pub stateless: Option<Ident>,
    pub config: Option<Type>,
}

/// `dependencies("a" = "^1.0.0", "b" = ">=2.0.0" optional)`.
pub(crate) struct Dependencies {
    pub list: Vec<DependencyArg>,
}

/// One `"name" = "range" [optional]`.
pub(crate) struct DependencyArg {
    pub name: LitStr,
    pub req: LitStr,
    pub optional: bool,
}

/// Parses the attribute's arguments and the item.
///
/// The item is classified first: an attribute on an enum is reported as
/// such, whatever its arguments say.
pub(crate) fn input(args: TokenStream, item: TokenStream) -> syn::Result<Input> {
    match syn::parse2::<Item>(item)? {
        Item::Struct(item) => Ok(Input::Struct(Box::new(PluginStruct {
            args: syn::parse2(args.clone())?,
            args_tokens: args,
            item,
        }))),
        Item::Impl(item) => Ok(Input::Impl(Box::new(ImplBlock {
            args_tokens: args,
            item,
        }))),
        other => Ok(Input::Other(Box::new(other))),
    }
}

impl Parse for PluginArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = PluginArgs::default();
        while !input.is_empty() {
            // `parse_any` so that a keyword (`type = ...`) is reported as an
            // unknown key rather than as a confusing syntax error.
            let key = input.call(Ident::parse_any)?;
            match key.to_string().as_str() {
                "name" => set(&mut args.name, &key, value(input)?)?,
                "version" => set(&mut args.version, &key, value(input)?)?,
                "description" => set(&mut args.description, &key, value(input)?)?,
                "min_tony_version" => set(&mut args.min_tony_version, &key, value(input)?)?,
                "state_version" => set(&mut args.state_version, &key, value(input)?)?,
                "config" => set(&mut args.config, &key, value(input)?)?,
                "stateless" => {
                    if input.peek(Token![=]) || input.peek(syn::token::Paren) {
                        return Err(syn::Error::new_spanned(
                            &key,
                            "`stateless` is a flag: write `stateless` alone",
                        ));
                    }
                    set(&mut args.stateless, &key, key.clone())?;
                }
                "dependencies" => {
                    if !input.peek(syn::token::Paren) {
                        return Err(input.error(
                            "expected `dependencies(\"name\" = \"range\", \"other\" = \"range\" optional)`",
                        ));
                    }
                    let content;
                    syn::parenthesized!(content in input);
                    let list = Punctuated::<DependencyArg, Token![,]>::parse_terminated(&content)?;
                    let deps = Dependencies {
                        list: list.into_iter().collect(),
                    };
                    set(&mut args.dependencies, &key, deps)?;
                }
                other => {
                    return Err(syn::Error::new_spanned(
                        &key,
                        format!("unknown key `{other}` in #[tony_plugin]; expected one of {KEYS}"),
                    ));
                }
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(args)
    }
}

impl Parse for DependencyArg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let name = input.parse()?;
        input.parse::<Token![=]>()?;
        let req = input.parse()?;
        let optional = if input.peek(Ident::peek_any) {
            let flag = input.call(Ident::parse_any)?;
            if flag != "optional" {
                return Err(syn::Error::new_spanned(
                    flag,
                    "expected `optional` or `,` after a dependency's range",
                ));
            }
            true
        } else {
            false
        };
        Ok(DependencyArg {
            name,
            req,
            optional,
        })
    }
}

/// `= <value>`.
fn value<T: Parse>(input: ParseStream<'_>) -> syn::Result<T> {
    input.parse::<Token![=]>()?;
    input.parse()
}

/// Stores the first occurrence of a key; a second one is an error at the key.
fn set<T>(slot: &mut Option<T>, key: &Ident, value: T) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new_spanned(
            key,
            format!("duplicate key `{key}` in #[tony_plugin]"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

/// The item's doc comment: each line trimmed, joined with `\n`, and the
/// whole trimmed. `None` when there is no literal doc comment
/// (`#[doc = include_str!(...)]` is not expanded yet when the macro runs).
pub(crate) fn doc_comment(attrs: &[Attribute]) -> Option<String> {
    let mut lines = Vec::new();
    for attr in attrs {
        if let Meta::NameValue(nv) = &attr.meta
            && nv.path.is_ident("doc")
            && let Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) = &nv.value
        {
            lines.extend(s.value().split('\n').map(|l| l.trim().to_owned()));
        }
    }
    let doc = lines.join("\n");
    let doc = doc.trim();
    (!doc.is_empty()).then(|| doc.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn args(tokens: TokenStream) -> syn::Result<PluginArgs> {
        syn::parse2(tokens)
    }

    fn message(r: syn::Result<PluginArgs>) -> String {
        match r {
            Ok(_) => String::from("<parsed>"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn every_key() {
        let a = args(quote! {
            name = "p", version = "1.0.0", description = "d", min_tony_version = "0.1.0",
            state_version = 3, dependencies("a" = "^1", "b" = ">=2" optional,), stateless,
            config = my::Config,
        });
        let a = match a {
            Ok(a) => a,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(a.name.as_ref().map(LitStr::value).as_deref(), Some("p"));
        assert!(a.stateless.is_some() && a.config.is_some());
        let optional: Vec<bool> = a
            .dependencies
            .iter()
            .flat_map(|d| d.list.iter().map(|d| d.optional))
            .collect();
        assert_eq!(optional, [false, true]);
    }

    #[test]
    fn empty_and_trailing_comma() {
        assert_eq!(message(args(quote!())), "<parsed>");
        assert_eq!(message(args(quote!(stateless,))), "<parsed>");
    }

    #[test]
    fn unknown_and_duplicate_keys() {
        assert!(message(args(quote!(nmae = "x"))).starts_with("unknown key `nmae`"));
        assert!(message(args(quote!(type = "x"))).starts_with("unknown key `type`"));
        assert_eq!(
            message(args(quote!(name = "a", name = "b"))),
            "duplicate key `name` in #[tony_plugin]"
        );
        assert_eq!(
            message(args(quote!(stateless, stateless))),
            "duplicate key `stateless` in #[tony_plugin]"
        );
    }

    #[test]
    fn wrong_value_kinds() {
        assert_eq!(message(args(quote!(name = 5))), "expected string literal");
        assert!(message(args(quote!(stateless = true))).contains("flag"));
        assert!(message(args(quote!(dependencies = "a"))).contains("dependencies("));
        assert!(message(args(quote!(dependencies("a" = "1" opt)))).contains("`optional`"));
    }

    #[test]
    fn doc_comments_are_trimmed_and_joined() {
        let item: ItemStruct = syn::parse_quote! {
            ///   First line.
            ///
            /// Second  paragraph.
            #[derive(Default)]
            struct X;
        };
        assert_eq!(
            doc_comment(&item.attrs).as_deref(),
            Some("First line.\n\nSecond  paragraph.")
        );
        let bare: ItemStruct = syn::parse_quote!(
            struct X;
        );
        assert_eq!(doc_comment(&bare.attrs), None);
    }
}
