//! Stage 2: what the parsed attribute means, checked at compile time. Every
//! rejection points at the offending tokens.

use syn::spanned::Spanned as _;
use syn::{Ident, Item, ItemStruct, LitStr, Type};

use crate::parse::{ImplBlock, PluginStruct};

/// A `#[tony_plugin]` struct whose attribute passed every check.
pub(crate) struct Plugin<'a> {
    pub input: &'a PluginStruct,
    /// The plugin's name: given, or the type's name in kebab-case.
    pub name: String,
    /// The version literal, or `None` for the crate's `CARGO_PKG_VERSION`.
    pub version: Option<&'a LitStr>,
    /// Given, or the doc comment, or empty.
    pub description: String,
    pub min_tony_version: Option<&'a LitStr>,
    pub state_version: u32,
    pub dependencies: Vec<Dependency>,
    pub stateless: bool,
    pub config: Option<&'a Type>,
}

/// A dependency whose name and range are valid.
pub(crate) struct Dependency {
    pub name: String,
    pub req: String,
    pub optional: bool,
}

/// Collects independent errors so that one expansion reports all of them.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    fn finish<T>(self, ok: T) -> syn::Result<T> {
        match self.0 {
            Some(e) => Err(e),
            None => Ok(ok),
        }
    }
}

/// Rejects anything that is neither a struct nor an impl block, pointing at
/// its keyword.
pub(crate) fn other_item(item: &Item) -> syn::Error {
    const MSG: &str = "#[tony_plugin] goes on a struct (the plugin) or on an impl block of it";
    let (what, at) = match item {
        Item::Enum(i) => ("an enum", i.enum_token.span()),
        Item::Union(i) => ("a union", i.union_token.span()),
        Item::Fn(i) => ("a function", i.sig.fn_token.span()),
        Item::Trait(i) => ("a trait", i.trait_token.span()),
        Item::Mod(i) => ("a module", i.mod_token.span()),
        Item::Type(i) => ("a type alias", i.type_token.span()),
        Item::Const(i) => ("a constant", i.const_token.span()),
        Item::Static(i) => ("a static", i.static_token.span()),
        other => ("this item", other.span()),
    };
    syn::Error::new(at, format!("{MSG}, not on {what}"))
}

/// Checks a `#[tony_plugin(...)]` struct and resolves every default.
pub(crate) fn plugin(input: &PluginStruct) -> syn::Result<Plugin<'_>> {
    let mut errors = Errors::default();
    let args = &input.args;
    let item = &input.item;

    if let Some(e) = generics(item) {
        errors.push(e);
    }

    let name = match &args.name {
        Some(lit) => {
            let name = lit.value();
            if let Err(reason) = check_name(&name) {
                errors.push(syn::Error::new_spanned(
                    lit,
                    format!("invalid plugin name `{name}`: {reason}"),
                ));
            }
            name
        }
        None => {
            let name = kebab_case(&item.ident);
            if let Err(reason) = check_name(&name) {
                errors.push(syn::Error::new_spanned(
                    &item.ident,
                    format!(
                        "the default plugin name `{name}` (this type's name in kebab-case) is invalid: \
                         {reason}; set one with `name = \"...\"`"
                    ),
                ));
            }
            name
        }
    };

    for (lit, what) in [
        (&args.version, "version"),
        (&args.min_tony_version, "min_tony_version"),
    ] {
        if let Some(lit) = lit
            && let Err(e) = semver::Version::parse(&lit.value())
        {
            errors.push(syn::Error::new_spanned(
                lit,
                format!(
                    "invalid {what} `{}`: {e} (expected semver, e.g. \"1.2.3\")",
                    lit.value()
                ),
            ));
        }
    }

    let state_version = match &args.state_version {
        Some(lit) if !matches!(lit.suffix(), "" | "u32") => {
            errors.push(syn::Error::new_spanned(lit, "`state_version` is a u32"));
            0
        }
        Some(lit) => lit.base10_parse::<u32>().unwrap_or_else(|e| {
            errors.push(syn::Error::new_spanned(
                lit,
                format!("invalid `state_version`: {e}"),
            ));
            0
        }),
        None => 0,
    };

    let mut dependencies: Vec<Dependency> = Vec::new();
    for dep in args.dependencies.iter().flat_map(|d| &d.list) {
        let dep_name = dep.name.value();
        if let Err(reason) = check_name(&dep_name) {
            errors.push(syn::Error::new_spanned(
                &dep.name,
                format!("invalid dependency name `{dep_name}`: {reason}"),
            ));
        } else if dep_name == name {
            errors.push(syn::Error::new_spanned(
                &dep.name,
                format!("plugin `{name}` cannot depend on itself"),
            ));
        } else if dependencies.iter().any(|d| d.name == dep_name) {
            errors.push(syn::Error::new_spanned(
                &dep.name,
                format!("dependency `{dep_name}` is listed twice"),
            ));
        }
        let req = dep.req.value();
        if let Err(e) = semver::VersionReq::parse(&req) {
            errors.push(syn::Error::new_spanned(
                &dep.req,
                format!(
                    "invalid version range `{req}` for `{dep_name}`: {e} (expected e.g. \"^1.0.0\")"
                ),
            ));
        }
        dependencies.push(Dependency {
            name: dep_name,
            req,
            optional: dep.optional,
        });
    }

    let description = match &args.description {
        Some(lit) => lit.value(),
        None => crate::parse::doc_comment(&item.attrs).unwrap_or_default(),
    };

    errors.finish(Plugin {
        input,
        name,
        version: args.version.as_ref(),
        description,
        min_tony_version: args.min_tony_version.as_ref(),
        state_version,
        dependencies,
        stateless: args.stateless.is_some(),
        config: args.config.as_ref(),
    })
}

/// A plugin is one concrete type: no lifetime, type or const parameters.
fn generics(item: &ItemStruct) -> Option<syn::Error> {
    let g = &item.generics;
    if !g.params.is_empty() {
        Some(syn::Error::new_spanned(
            g,
            "a #[tony_plugin] struct cannot be generic: a plugin is one concrete type",
        ))
    } else {
        g.where_clause.as_ref().map(|w| {
            syn::Error::new_spanned(w, "a #[tony_plugin] struct cannot have a where clause")
        })
    }
}

/// Checks `#[tony_plugin]` on an impl block: no arguments, no generics.
pub(crate) fn impl_block(input: &ImplBlock) -> syn::Result<()> {
    let mut errors = Errors::default();
    if !input.args_tokens.is_empty() {
        errors.push(syn::Error::new_spanned(
            &input.args_tokens,
            "#[tony_plugin] on an impl block takes no arguments (metadata goes on the struct)",
        ));
    }
    let g = &input.item.generics;
    if !g.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            g,
            "#[tony_plugin] cannot make a generic impl block hot-patchable: implement it for the concrete plugin type",
        ));
    }
    errors.finish(())
}

/// The plugin naming rule, the same as `tony_core::Metadata::validate_name`:
/// 1 to 64 characters of lowercase ASCII letters, digits and `-`, starting
/// with a letter, with no trailing or doubled `-`.
pub(crate) fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > 64 {
        Err("must be 1 to 64 characters long")
    } else if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        Err("must start with a lowercase ASCII letter")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        Err("may contain only lowercase ASCII letters, digits and `-`")
    } else if name.ends_with('-') || name.contains("--") {
        Err("must not end with `-` or contain `--`")
    } else {
        Ok(())
    }
}

/// A type name in kebab-case: `HttpServer` and `HTTPServer` give
/// `http-server`, `Plugin2Go` gives `plugin2-go`, `my_plugin` gives
/// `my-plugin`. Digits stay with the word before them.
pub(crate) fn kebab_case(ident: &Ident) -> String {
    let ident = ident.to_string();
    let ident = ident.strip_prefix("r#").unwrap_or(&ident);
    let mut words: Vec<String> = Vec::new();
    for part in ident.split('_').filter(|p| !p.is_empty()) {
        let chars: Vec<char> = part.chars().collect();
        let mut word = String::new();
        // Whether the last letter seen in this word was uppercase.
        let mut last_upper = None;
        for (i, &c) in chars.iter().enumerate() {
            let boundary = c.is_uppercase()
                && !word.is_empty()
                && match last_upper {
                    // `aB`, `a2B`: a lowercase letter (maybe then digits) before.
                    Some(false) => true,
                    // `ABc`: the last capital of an acronym starts a new word.
                    Some(true) => chars.get(i + 1).is_some_and(|n| n.is_lowercase()),
                    None => false,
                };
            if boundary {
                words.push(std::mem::take(&mut word));
            }
            if c.is_uppercase() {
                last_upper = Some(true);
            } else if c.is_lowercase() {
                last_upper = Some(false);
            }
            word.extend(c.to_lowercase());
        }
        words.push(word);
    }
    words.join("-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::format_ident;

    #[test]
    fn kebab() {
        for (ident, kebab) in [
            ("Counter", "counter"),
            ("MyPlugin", "my-plugin"),
            ("HTTPServer", "http-server"),
            ("HttpServer", "http-server"),
            ("Plugin2", "plugin2"),
            ("Plugin2Go", "plugin2-go"),
            ("V2Plugin", "v2-plugin"),
            ("my_plugin", "my-plugin"),
            ("Foo__Bar", "foo-bar"),
            ("IOError", "io-error"),
            ("ABC", "abc"),
        ] {
            assert_eq!(kebab_case(&format_ident!("{}", ident)), kebab, "{ident}");
        }
        assert_eq!(kebab_case(&format_ident!("r#type")), "type");
    }

    /// The same cases as tony-core's `metadata::tests::name_rule`.
    #[test]
    fn name_rule() {
        for ok in ["a", "base-plugin", "x2", "a-b-c", &"a".repeat(64)] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "A",
            "2a",
            "a_b",
            "a-",
            "a--b",
            "-a",
            "é",
            "a b",
            &"a".repeat(65),
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
