//! Field paths: how an index names a field inside a schemaless document.

use std::fmt;

use crate::value::{Object, ValueRef};

/// A path to a field, parsed from its dotted form.
///
/// `"city"` names a top-level field and `"address.zip"` the field `zip` of the
/// object in `address`. A field whose own name contains a dot or a backslash is
/// written with that character escaped by a backslash: `"a\\.b"` (the Rust
/// literal for `a\.b`) names the top-level field `a.b`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldPath {
    segments: Vec<String>,
}

impl FieldPath {
    pub(crate) fn parse(text: &str) -> Result<FieldPath, String> {
        let mut segments = Vec::new();
        let mut current = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(escaped @ ('.' | '\\')) => current.push(escaped),
                    _ => {
                        return Err(format!(
                            "in field path {text:?}, a backslash must escape '.' or '\\'"
                        ));
                    }
                },
                '.' => segments.push(std::mem::take(&mut current)),
                other => current.push(other),
            }
        }
        segments.push(current);
        if segments.iter().any(String::is_empty) {
            return Err(format!("field path {text:?} has an empty segment"));
        }
        Ok(FieldPath { segments })
    }

    pub(crate) fn segments(&self) -> &[String] {
        &self.segments
    }

    pub(crate) fn find<'a>(&self, document: &'a Object) -> Option<ValueRef<'a>> {
        document.get_path(&self.segments)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.segments.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            for c in segment.chars() {
                if matches!(c, '.' | '\\') {
                    f.write_str("\\")?;
                }
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dots_separate_and_backslashes_escape() {
        let path = FieldPath::parse("address.zip").map(|p| p.segments);
        assert_eq!(path, Ok(vec!["address".to_owned(), "zip".to_owned()]));
        let path = FieldPath::parse(r"a\.b.c\\d").map(|p| p.segments);
        assert_eq!(path, Ok(vec!["a.b".to_owned(), r"c\d".to_owned()]));
        assert!(FieldPath::parse("").is_err());
        assert!(FieldPath::parse("a..b").is_err());
        assert!(FieldPath::parse(r"a\b").is_err());
        let round = FieldPath::parse(r"a\.b.c").map(|p| p.to_string());
        assert_eq!(round.as_deref(), Ok(r"a\.b.c"));
    }
}
