//! Code generation, from an input that has passed validation.
//!
//! For `struct User` it emits a hidden module of marker types (one per index),
//! `User::name` associated consts holding them, an `IndexRef` impl per marker
//! carrying the key type, and `Indexed for User` listing the indexes with a
//! function that writes each document's keys. Runtime items are reached only
//! through `::docstore::__private`, so nothing the user names can shadow them.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{DeriveInput, GenericParam, Ident, Type};

use crate::ast::{Index, Input, KeyShape, Kind, type_name};
use crate::valid::Errors;

pub(crate) fn derive(node: &DeriveInput) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let input = Input::from_syn(node, &mut errors);
    if let Some(input) = &input {
        input.validate(&mut errors);
    }
    errors.finish()?;
    Ok(input.map(|input| expand(&input)).unwrap_or_default())
}

fn expand(input: &Input<'_>) -> TokenStream {
    let ident = input.ident;
    let vis = input.vis;
    let module = module_name(input);
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let markers = input.indexes.iter().map(|index| marker(input, index));
    let handles = input.indexes.iter().map(|index| handle(input, index));
    let index_refs = input.indexes.iter().map(|index| index_ref(input, index));
    let name_eqs = input.indexes.iter().map(|index| name_eq(input, index));
    let specs = input.indexes.iter().map(|index| spec(input, index));
    let indexed_where = indexed_where_clause(input);
    let keyed = keyed(input, &indexed_where);
    let module_doc = format!("Index handle types of [`{ident}`], made by `#[derive(Indexed)]`.");

    quote! {
        #[doc = #module_doc]
        #[doc(hidden)]
        #[allow(non_snake_case, non_camel_case_types, unreachable_pub)]
        #vis mod #module {
            #(#markers)*
        }

        #[automatically_derived]
        impl #impl_generics #ident #ty_generics #where_clause {
            #(#handles)*
        }

        #(#index_refs)*

        #(#name_eqs)*

        #keyed

        #[automatically_derived]
        impl #impl_generics ::docstore::__private::Indexed for #ident #ty_generics #indexed_where {
            fn indexes() -> ::docstore::__private::Vec<::docstore::__private::IndexSpec<Self>> {
                ::docstore::__private::Vec::from([#(#specs),*])
            }
        }
    }
}

/// The hidden module holding the marker types, named after the struct so that
/// two derived structs in one module never collide.
fn module_name(input: &Input<'_>) -> Ident {
    format_ident!("__docstore_indexes_of_{}", input.ident.unraw())
}

/// A generic struct's handles are generic over the document type, so that
/// `Page::title` infers `Page<T>` from the collection it is used with; a plain
/// marker would leave `T` unconstrained and need `Page::<u32>::title`.
fn has_type_parameters(input: &Input<'_>) -> bool {
    input
        .generics
        .params
        .iter()
        .any(|param| !matches!(param, GenericParam::Lifetime(_)))
}

/// The marker type's path, as the impls and consts outside its module name it.
fn marker_path(input: &Input<'_>, index: &Index<'_>) -> TokenStream {
    let module = module_name(input);
    let name = &index.name;
    if has_type_parameters(input) {
        let ident = input.ident;
        let (_, ty_generics, _) = input.generics.split_for_impl();
        quote!(#module::#name<#ident #ty_generics>)
    } else {
        quote!(#module::#name)
    }
}

/// The marker type of one handle. Its name is spanned at the user's
/// declaration, so "`city` is not a unique index" points there.
fn marker(input: &Input<'_>, index: &Index<'_>) -> TokenStream {
    let name = &index.name;
    let doc = handle_doc(input, index);
    let span = at(name.span());
    if !has_type_parameters(input) {
        let item = quote_spanned!(span=> pub struct #name;);
        return quote! {
            #[doc = #doc]
            #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug)]
            #item
        };
    }
    let item = quote_spanned!(span=> pub struct #name<D>);
    let debug = index.runtime_name();
    // Written out rather than derived: a derive would demand `D: Clone`.
    quote! {
        #[doc = #doc]
        #item(pub ::core::marker::PhantomData<fn() -> D>);

        #[automatically_derived]
        impl<D> ::core::clone::Clone for #name<D> {
            fn clone(&self) -> Self {
                *self
            }
        }

        #[automatically_derived]
        impl<D> ::core::marker::Copy for #name<D> {}

        #[automatically_derived]
        impl<D> ::core::fmt::Debug for #name<D> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(#debug)
            }
        }
    }
}

/// `pub const name: Marker = Marker;` in the struct's inherent impl, with the
/// struct's visibility.
fn handle(input: &Input<'_>, index: &Index<'_>) -> TokenStream {
    let name = &index.name;
    let doc = handle_doc(input, index);
    let ty = marker_path(input, index);
    let module = module_name(input);
    let value = if has_type_parameters(input) {
        quote!(#module::#name(::core::marker::PhantomData))
    } else {
        quote!(#module::#name)
    };
    // A method of the same name clashes with the handle ("duplicate
    // definitions"): the error then points at the `#[index]` attribute, where
    // `name = "..."` gives the handle another name.
    let span = at(index.declared_at.unwrap_or_else(|| name.span()));
    let vis = respan(input.vis.to_token_stream(), span);
    let mut name = name.clone();
    name.set_span(span);
    let item = quote_spanned!(span=> #vis const #name: #ty = #value;);
    quote! {
        #[doc = #doc]
        #[allow(non_upper_case_globals)]
        #item
    }
}

/// `IndexRef` for the marker, carrying the key type, and `UniqueIndexRef` if
/// the index is unique. The impls are spanned at the declaration, where the
/// compiler points when a handle is used on the wrong collection.
fn index_ref(input: &Input<'_>, index: &Index<'_>) -> TokenStream {
    let ident = input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let marker = marker_path(input, index);
    let name = index.runtime_name();
    let key = key_type(input, index);
    let span = at(index.name.span());
    let unique = index.unique.then(|| {
        respan(
            quote! {
                #[automatically_derived]
                impl #impl_generics ::docstore::__private::UniqueIndexRef<#ident #ty_generics>
                    for #marker #where_clause {}
            },
            span,
        )
    });
    let index_ref = respan(
        quote! {
            #[automatically_derived]
            impl #impl_generics ::docstore::__private::IndexRef<#ident #ty_generics>
                for #marker #where_clause
            {
                type Key = #key;

                fn index_name(&self) -> &::core::primitive::str {
                    #name
                }
            }
        },
        span,
    );
    quote! {
        #index_ref
        #unique
    }
}

/// `Keyed`, for a struct with a `#[key]` field: its handle is the key.
fn keyed(input: &Input<'_>, indexed_where: &TokenStream) -> TokenStream {
    let Some(index) = input.indexes.iter().find(|index| index.key.is_some()) else {
        return TokenStream::new();
    };
    let ident = input.ident;
    let (impl_generics, ty_generics, _) = input.generics.split_for_impl();
    let marker = marker_path(input, index);
    let name = &index.name;
    quote! {
        #[automatically_derived]
        impl #impl_generics ::docstore::__private::Keyed for #ident #ty_generics #indexed_where {
            type KeyIndex = #marker;
            const KEY: #marker = Self::#name;
        }
    }
}

/// `Error::index() == Struct::handle` (and the other way round): an error's
/// index name compares equal to the handle of the index it names, so callers
/// match errors without spelling names.
fn name_eq(input: &Input<'_>, index: &Index<'_>) -> TokenStream {
    let (impl_generics, _, where_clause) = input.generics.split_for_impl();
    let marker = marker_path(input, index);
    let name = index.runtime_name();
    quote! {
        #[automatically_derived]
        impl #impl_generics ::docstore::__private::NamedIndex for #marker #where_clause {
            fn name(&self) -> &'static ::core::primitive::str {
                #name
            }
        }

        #[automatically_derived]
        impl #impl_generics ::core::cmp::PartialEq<::docstore::__private::IndexName<'_>>
            for #marker #where_clause
        {
            fn eq(&self, name: &::docstore::__private::IndexName<'_>) -> bool {
                *name == #name
            }
        }
    }
}

/// The types a key is made of: one, or one per field of a composite. Each is
/// the declared type without its `Option`, or the element type for `each`.
fn key_parts<'a>(input: &'a Input<'_>, index: &'a Index<'_>) -> Vec<&'a Type> {
    // Validation guarantees every shape exists; skipping keeps this total.
    match &index.kind {
        Kind::Field { field, each } => KeyShape::of(field.ty, *each)
            .map(|shape| shape.ty)
            .into_iter()
            .collect(),
        Kind::Computed { ty, each, .. } => KeyShape::of(ty, *each)
            .map(|shape| shape.ty)
            .into_iter()
            .collect(),
        Kind::Composite { fields, .. } => fields
            .iter()
            .filter_map(|name| input.field(name))
            .filter_map(|field| KeyShape::of(field.ty, false).map(|shape| shape.ty))
            .collect(),
    }
}

/// The key type queries take: a single type, or a tuple for a composite.
fn key_type(input: &Input<'_>, index: &Index<'_>) -> TokenStream {
    let parts = key_parts(input, index);
    if let Kind::Composite { .. } = index.kind {
        quote!((#(#parts),*))
    } else {
        quote!(#(#parts)*)
    }
}

/// `IndexSpec::new(name, fields, keys)` with its options.
fn spec(input: &Input<'_>, index: &Index<'_>) -> TokenStream {
    let name = index.runtime_name();
    let (fields, keys, multi_key) = match &index.kind {
        Kind::Field { field, each } => {
            let member = field.ident;
            let value = quote!(let value = &doc.#member;);
            (
                vec![member.unraw().to_string()],
                single_key(value, field.ty, *each),
                *each,
            )
        }
        Kind::Computed { ty, method, each } => {
            // Through a fn pointer, so that a method of another type or shape
            // is reported as such at the method's name.
            let path = quote_spanned!(at(method.span())=> Self::#method);
            let signature = quote_spanned!(at(ty.span())=> fn(&Self) -> #ty);
            let value = quote! {
                let compute: #signature = #path;
                let value = compute(doc);
                let value = &value;
            };
            (
                vec![format!("{}()", method.unraw())],
                single_key(value, ty, *each),
                *each,
            )
        }
        Kind::Composite { fields, .. } => (
            fields
                .iter()
                .map(|field| field.unraw().to_string())
                .collect(),
            composite_key(input, index, fields),
            false,
        ),
    };
    let unique = index.unique.then(|| quote!(.unique()));
    let multi_key = multi_key.then(|| quote!(.multi_key()));
    let covering = index.covering.then(|| quote!(.covering()));
    let unique = if index.key.is_some() {
        Some(quote!(.own_key()))
    } else {
        unique
    };
    quote! {
        ::docstore::__private::IndexSpec::new(
            #name,
            &[#(#fields),*],
            |doc: &Self, sink: &mut ::docstore::__private::KeySink| {
                #keys
            },
        )
        #unique
        #multi_key
        #covering
    }
}

/// The keys of a field or computed index, given `value`, a reference to the
/// declared type: none for `None`, one per element for `each`, else one.
fn single_key(value: TokenStream, ty: &Type, each: bool) -> TokenStream {
    let Some(shape) = KeyShape::of(ty, each) else {
        return TokenStream::new();
    };
    let unwrap = shape
        .optional
        .then(|| quote!(let ::core::option::Option::Some(value) = value else { return; };));
    let push = push(shape.ty.to_token_stream(), shape.ty.span());
    let push = if shape.each {
        quote!(for value in value { #push(sink, value); })
    } else {
        quote!(#push(sink, value);)
    };
    quote! {
        #value
        #unwrap
        #push
    }
}

/// The one key of a composite index: a tuple of references to its fields,
/// none if any optional field is `None`.
fn composite_key(input: &Input<'_>, index: &Index<'_>, fields: &[Ident]) -> TokenStream {
    let span = at(index.name.span());
    let mut reads = Vec::new();
    let mut parts = Vec::new();
    let mut types = Vec::new();
    for (position, field) in fields
        .iter()
        .filter_map(|name| input.field(name))
        .enumerate()
    {
        let Some(shape) = KeyShape::of(field.ty, false) else {
            continue;
        };
        let part = format_ident!("part{}", position);
        let member = field.ident;
        reads.push(if shape.optional {
            quote!(let ::core::option::Option::Some(#part) = &doc.#member else { return; };)
        } else {
            quote!(let #part = &doc.#member;)
        });
        let ty = shape.ty;
        types.push(quote_spanned!(span=> &#ty));
        parts.push(part);
    }
    // Spanned at the index's name: a field type with no order is reported there.
    let push = push(quote_spanned!(span=> (#(#types),*)), span);
    quote! {
        #(#reads)*
        #push(sink, &(#(#parts),*));
    }
}

/// `KeySink::push::<K>`, spanned so that a `K` with no order is reported at
/// the user's tokens. Naming `K` also makes the pushed value's type agree with
/// the handle's key type by construction.
fn push(key: TokenStream, span: Span) -> TokenStream {
    quote_spanned!(at(span)=> ::docstore::__private::KeySink::push::<#key>)
}

/// `Indexed` requires `Send + Sync + 'static`; a generic struct gets those as
/// bounds, and its key types that involve a type parameter get `IndexKey`
/// (as serde infers `Serialize` bounds), so the struct itself needs none.
fn indexed_where_clause(input: &Input<'_>) -> TokenStream {
    let (_, _, where_clause) = input.generics.split_for_impl();
    if input.generics.params.is_empty() {
        return where_clause.to_token_stream();
    }
    let params: Vec<&Ident> = input
        .generics
        .params
        .iter()
        .filter_map(|param| match param {
            GenericParam::Type(param) => Some(&param.ident),
            _ => None,
        })
        .collect();
    let keys = input
        .indexes
        .iter()
        .flat_map(|index| key_parts(input, index))
        .filter(|ty| mentions(ty.to_token_stream(), &params));
    let existing = where_clause
        .into_iter()
        .flat_map(|clause| clause.predicates.iter());
    quote! {
        where
            #(#existing,)*
            #(#keys: ::docstore::__private::IndexKey,)*
            Self: ::core::marker::Send + ::core::marker::Sync + 'static,
    }
}

/// Whether tokens name one of the struct's type parameters.
fn mentions(tokens: TokenStream, params: &[&Ident]) -> bool {
    tokens.into_iter().any(|token| match token {
        TokenTree::Ident(ident) => params.iter().any(|param| **param == ident),
        TokenTree::Group(group) => mentions(group.stream(), params),
        TokenTree::Punct(_) | TokenTree::Literal(_) => false,
    })
}

/// The same tokens, all located at `span`, so that the compiler shows the
/// item they make at the user's declaration rather than at the derive.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|token| match token {
            TokenTree::Group(group) => {
                let mut inner = Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                TokenTree::Group(inner)
            }
            mut token => {
                token.set_span(span);
                token
            }
        })
        .collect()
}

/// Where the user wrote something, with the hygiene of the derive's own
/// tokens, so that generated locals (`doc`, `sink`) resolve the same either way.
fn at(span: Span) -> Span {
    Span::call_site().located_at(span)
}

/// The doc comment of a handle and its marker type.
fn handle_doc(input: &Input<'_>, index: &Index<'_>) -> String {
    let ident = input.ident;
    let name = &index.name;
    let unique = match (index.unique, index.covering) {
        _ if index.key.is_some() => "own key, a unique ",
        (true, true) => "unique covering ",
        (true, false) => "unique ",
        (false, true) => "covering ",
        (false, false) => "",
    };
    let what = match &index.kind {
        Kind::Field { field, each } => {
            let elements = if *each { "each element of " } else { "" };
            let none = if KeyShape::of(field.ty, *each).is_some_and(|shape| shape.optional) {
                " (a document whose field is `None` is left out)"
            } else {
                ""
            };
            format!("{elements}field `{}`{none}", field.ident)
        }
        Kind::Composite { fields, .. } => {
            let fields: Vec<String> = fields.iter().map(|field| format!("`{field}`")).collect();
            format!("fields {}", fields.join(", "))
        }
        Kind::Computed { method, each, .. } => {
            let elements = if *each { "each element of " } else { "" };
            format!("{elements}the key `{ident}::{method}` computes")
        }
    };
    let key = syn::parse2::<Type>(key_type(input, index))
        .map_or_else(|_| String::new(), |ty| type_name(&ty));
    format!(
        "Index handle: the {unique}index on {what}, with keys of type `{key}`. \
         Pass it to a query, such as `collection.lookup({ident}::{name}, key)`."
    )
}
