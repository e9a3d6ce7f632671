//! Parsing of `#[index(...)]` on fields and `#[indexed(...)]` on the struct.
//!
//! Hand-written parsers rather than `parse_nested_meta`, so that every mistake
//! gets a message naming what was expected instead of a generic token error.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Attribute, Ident, LitStr, MacroDelimiter, Meta, MetaList, Token, Type, parenthesized};

/// What one `#[index]` or `#[index(...)]` on a field asks for.
pub(crate) struct FieldAttr {
    pub unique: bool,
    pub each: bool,
    pub covering: bool,
    /// The handle's name, when it is not the field's (`name = "by_score"`).
    pub name: Option<Ident>,
}

/// One item of a struct-level `#[indexed(...)]`.
pub(crate) enum StructAttr {
    /// `composite(name = (field, field, ...), unique, covering)`
    Composite {
        name: Ident,
        fields: Vec<Ident>,
        /// The parenthesised field list, for errors about it as a whole.
        list: Span,
        unique: bool,
        covering: bool,
    },
    /// `computed(name: Type = method, unique, each, covering)`
    Computed {
        name: Ident,
        ty: Box<Type>,
        method: Ident,
        unique: bool,
        each: bool,
        covering: bool,
    },
}

const FIELD_OPTIONS: &str = "expected `unique`, `each`, `covering` or `name = \"...\"`";

/// Parses one `#[index]` attribute: the bare word or a list of options.
pub(crate) fn field_attr(attr: &Attribute) -> syn::Result<FieldAttr> {
    match &attr.meta {
        Meta::Path(_) => Ok(FieldAttr {
            unique: false,
            each: false,
            covering: false,
            name: None,
        }),
        Meta::List(list) => {
            parenthesized_list(list, "#[index(...)]")?;
            list.parse_args_with(parse_field_options)
        }
        Meta::NameValue(meta) => Err(syn::Error::new_spanned(
            meta,
            "expected `#[index]` or `#[index(options)]`, such as `#[index(unique)]`",
        )),
    }
}

/// Parses `#[key]`, which takes no options: the key is unique by nature, and
/// its handle is named after its field.
pub(crate) fn key_attr(attr: &Attribute) -> syn::Result<()> {
    match &attr.meta {
        Meta::Path(_) => Ok(()),
        _ => Err(syn::Error::new_spanned(
            attr,
            "expected `#[key]` alone: a document's own key takes no options \
             (it is unique, and its handle is named after the field)",
        )),
    }
}

/// The one-word options every kind of index takes, each at most once.
#[derive(Default)]
struct Flags {
    unique: Option<()>,
    each: Option<()>,
    covering: Option<()>,
}

impl Flags {
    /// Records `option` if it is one of the words; `false` if it is not.
    fn take(&mut self, option: &Ident) -> syn::Result<bool> {
        let slot = if option == "unique" {
            &mut self.unique
        } else if option == "each" {
            &mut self.each
        } else if option == "covering" {
            &mut self.covering
        } else {
            return Ok(false);
        };
        set_once(slot, option, ())?;
        Ok(true)
    }
}

fn parse_field_options(input: ParseStream) -> syn::Result<FieldAttr> {
    let mut flags = Flags::default();
    let mut name = None;
    while !input.is_empty() {
        let option = option_word(input, FIELD_OPTIONS)?;
        if option == "name" {
            let value = index_name(input)?;
            set_once(&mut name, &option, value)?;
        } else if !flags.take(&option)? {
            return Err(unknown_option(&option, FIELD_OPTIONS));
        }
        separator(input, "options")?;
    }
    Ok(FieldAttr {
        unique: flags.unique.is_some(),
        each: flags.each.is_some(),
        covering: flags.covering.is_some(),
        name,
    })
}

/// Parses every item of one `#[indexed(...)]`.
pub(crate) fn struct_attr(attr: &Attribute) -> syn::Result<Vec<StructAttr>> {
    const USAGE: &str = "expected `#[indexed(composite(name = (field, field)))]` or \
                         `#[indexed(computed(name: Type = method))]`";
    let Meta::List(list) = &attr.meta else {
        return Err(syn::Error::new_spanned(attr, USAGE));
    };
    parenthesized_list(list, "#[indexed(...)]")?;
    let items = list.parse_args_with(|input: ParseStream| {
        let mut items = Vec::new();
        while !input.is_empty() {
            items.push(input.parse()?);
            separator(input, "items")?;
        }
        Ok(items)
    })?;
    if items.is_empty() {
        return Err(syn::Error::new_spanned(
            attr,
            format!("`#[indexed()]` declares no index; {USAGE}, or remove it"),
        ));
    }
    Ok(items)
}

impl Parse for StructAttr {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        const ITEMS: &str =
            "expected `composite(name = (field, field))` or `computed(name: Type = method)`";
        let kind = option_word(input, ITEMS)?;
        if kind != "composite" && kind != "computed" {
            return Err(syn::Error::new_spanned(
                &kind,
                format!("unknown item `{kind}` in `#[indexed(...)]`; {ITEMS}"),
            ));
        }
        if !input.peek(syn::token::Paren) {
            let usage = if kind == "composite" {
                "composite(name = (field, field))"
            } else {
                "computed(name: Type = method)"
            };
            return Err(syn::Error::new_spanned(
                &kind,
                format!("expected `{usage}` after `{kind}`"),
            ));
        }
        let content;
        parenthesized!(content in input);
        if kind == "composite" {
            parse_composite(&content)
        } else {
            parse_computed(&content)
        }
    }
}

fn parse_composite(input: ParseStream) -> syn::Result<StructAttr> {
    const USAGE: &str = "expected `composite(name = (field, field, ...))`";
    const OPTIONS: &str = "expected `unique` or `covering`";
    let name: Ident = input
        .parse()
        .map_err(|e| syn::Error::new(e.span(), USAGE))?;
    input
        .parse::<Token![=]>()
        .map_err(|e| syn::Error::new(e.span(), USAGE))?;
    if !input.peek(syn::token::Paren) {
        return Err(input.error(format!(
            "expected the fields in parentheses: `{name} = (field, field)`"
        )));
    }
    let list;
    let paren = parenthesized!(list in input);
    let fields = Punctuated::<Ident, Token![,]>::parse_terminated(&list)
        .map_err(|e| syn::Error::new(e.span(), "expected field names separated by `,`"))?;
    let mut flags = Flags::default();
    trailing_options(input, OPTIONS, |option| {
        if option == "each" {
            return Err(syn::Error::new_spanned(
                option,
                "a composite index cannot be multi-key; \
                 index the collection field on its own with `#[index(each)]`",
            ));
        }
        flags.take(option)
    })?;
    Ok(StructAttr::Composite {
        name,
        fields: fields.into_iter().collect(),
        list: paren.span.join(),
        unique: flags.unique.is_some(),
        covering: flags.covering.is_some(),
    })
}

fn parse_computed(input: ParseStream) -> syn::Result<StructAttr> {
    const USAGE: &str = "expected `computed(name: Type = method)`";
    const OPTIONS: &str = "expected `unique`, `each` or `covering`";
    let name: Ident = input
        .parse()
        .map_err(|e| syn::Error::new(e.span(), USAGE))?;
    input.parse::<Token![:]>().map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("expected `: Type` after `{name}`: a computed key's type must be written out"),
        )
    })?;
    let ty: Box<Type> = input.parse()?;
    input
        .parse::<Token![=]>()
        .map_err(|e| syn::Error::new(e.span(), USAGE))?;
    let method: Ident = input.parse().map_err(|e| {
        syn::Error::new(
            e.span(),
            "expected the name of a method of the struct that takes `&self`",
        )
    })?;
    let mut flags = Flags::default();
    trailing_options(input, OPTIONS, |option| flags.take(option))?;
    Ok(StructAttr::Computed {
        name,
        ty,
        method,
        unique: flags.unique.is_some(),
        each: flags.each.is_some(),
        covering: flags.covering.is_some(),
    })
}

/// The `, option` words after a struct-level index's declaration, each handed
/// to `take`, which says whether it knows the word (if not, the error names
/// what `expected`).
fn trailing_options(
    input: ParseStream,
    expected: &str,
    mut take: impl FnMut(&Ident) -> syn::Result<bool>,
) -> syn::Result<()> {
    while !input.is_empty() {
        separator(input, "options")?;
        if input.is_empty() {
            break;
        }
        let option = option_word(input, expected)?;
        if !take(&option)? {
            return Err(unknown_option(&option, expected));
        }
    }
    Ok(())
}

/// `#[index[...]]` and `#[index{...}]` parse as lists too; only `(...)` is the syntax.
fn parenthesized_list(list: &MetaList, usage: &str) -> syn::Result<()> {
    match list.delimiter {
        MacroDelimiter::Paren(_) => Ok(()),
        MacroDelimiter::Brace(_) | MacroDelimiter::Bracket(_) => Err(syn::Error::new(
            list.delimiter.span().join(),
            format!("expected parentheses: `{usage}`"),
        )),
    }
}

/// The word that starts an option or item, or an error saying what fits there.
fn option_word(input: ParseStream, expected: &str) -> syn::Result<Ident> {
    if input.peek(Ident) {
        input.parse()
    } else {
        Err(input.error(expected))
    }
}

/// `= "name"`, checked to be usable as the handle's identifier.
fn index_name(input: ParseStream) -> syn::Result<Ident> {
    const USAGE: &str = "expected `name = \"...\"`";
    input
        .parse::<Token![=]>()
        .map_err(|e| syn::Error::new(e.span(), USAGE))?;
    let lit: LitStr = input
        .parse()
        .map_err(|e| syn::Error::new(e.span(), "the index name is a string: `name = \"...\"`"))?;
    let mut ident = syn::parse_str::<Ident>(&lit.value()).map_err(|_| {
        syn::Error::new_spanned(
            &lit,
            format!(
                "`{}` is not an identifier; the name becomes the handle `Type::name`, \
                 so use letters, digits and `_`",
                lit.value()
            ),
        )
    })?;
    ident.set_span(lit.span());
    Ok(ident)
}

/// A `,` between two entries, or the end of the list.
fn separator(input: ParseStream, what: &str) -> syn::Result<()> {
    if input.is_empty() || input.parse::<Option<Token![,]>>()?.is_some() {
        Ok(())
    } else {
        Err(input.error(format!("expected `,` between {what}")))
    }
}

fn set_once<T>(slot: &mut Option<T>, option: &Ident, value: T) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new_spanned(
            option,
            format!("`{option}` is given twice; remove one"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

fn unknown_option(option: &Ident, expected: &str) -> syn::Error {
    syn::Error::new_spanned(option, format!("unknown option `{option}`; {expected}"))
}
