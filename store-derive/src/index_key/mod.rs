//! `#[derive(IndexKey)]`: a fieldless enum keyed by declaration order, or a
//! newtype keyed as its one field. Same steps as `Indexed`: the input becomes a
//! model (`ast`), whose rules are checked as it is built, and only a valid model
//! is expanded (`expand`).

mod ast;
mod expand;

pub(crate) use expand::derive;
