//! Matching on errors: a refused typed write reads as its `Error`, converts into a
//! caller's own error type with `?`, and names its index comparably to a handle.

use docstore::{Collection, Error, Id, Indexed, Rejected, Store};

#[derive(Indexed, Clone, Debug, PartialEq)]
struct Customer {
    #[index(unique)]
    email: String,
    #[index(unique, name = "by_phone")]
    phone: String,
    #[index]
    city: String,
}

fn customer(email: &str, phone: &str) -> Customer {
    Customer {
        email: email.into(),
        phone: phone.into(),
        city: "Oslo".into(),
    }
}

/// A service's own error type, as users write them.
#[derive(Debug)]
enum ServiceError {
    EmailTaken,
    Store(Error),
}

impl From<Error> for ServiceError {
    fn from(error: Error) -> Self {
        match error {
            Error::UniqueViolation { ref index, .. } if index == "email" => {
                ServiceError::EmailTaken
            }
            other => ServiceError::Store(other),
        }
    }
}

impl<T> From<Rejected<T>> for ServiceError {
    fn from(rejected: Rejected<T>) -> Self {
        rejected.into_error().into()
    }
}

fn register(customers: &Collection<Customer>, email: &str) -> Result<Id, ServiceError> {
    let id = customers.insert(customer(email, email))?;
    customers.get(id)?;
    Ok(id)
}

#[test]
fn question_mark_converts_a_refused_write_into_the_callers_error() {
    let customers = Collection::<Customer>::new();
    assert!(register(&customers, "ada@example.com").is_ok());
    assert!(matches!(
        register(&customers, "ada@example.com"),
        Err(ServiceError::EmailTaken)
    ));
    customers.close();
    assert!(matches!(
        register(&customers, "bob@example.com"),
        Err(ServiceError::Store(Error::Closed))
    ));
}

#[test]
fn question_mark_also_converts_into_a_boxed_error() -> Result<(), Box<dyn std::error::Error>> {
    let customers = Collection::<Customer>::new();
    customers.insert(customer("a@x", "1"))?;
    let refused: Result<Id, Box<dyn std::error::Error + Send + Sync>> = customers
        .insert(customer("a@x", "2"))
        .map_err(|rejected| rejected.into());
    let text = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(text.contains("\"email\""), "{text}");
    Ok(())
}

#[test]
fn a_refused_write_matches_as_its_error_and_keeps_the_document() {
    let customers = Collection::<Customer>::new();
    let first = customers.insert(customer("a@x", "1")).ok();
    let refused = customers.insert(customer("b@x", "1")).unwrap_err();

    assert!(matches!(*refused, Error::UniqueViolation { .. }));
    match &*refused {
        Error::UniqueViolation {
            index, existing, ..
        } => {
            assert_eq!(index, "by_phone");
            assert_eq!(Some(*existing), first);
        }
        other => panic!("unexpected {other}"),
    }
    assert_eq!(refused.document().email, "b@x");
    let (error, document) = refused.clone().into_parts();
    assert_eq!(error, refused.into_error());
    assert_eq!(document, customer("b@x", "1"));
}

#[test]
fn a_unique_violation_compares_with_the_handle_that_caused_it() {
    let customers = Collection::<Customer>::new();
    customers.insert(customer("a@x", "1")).ok();

    let email_taken = customers.insert(customer("a@x", "2")).unwrap_err();
    assert!(email_taken.index() == Customer::email);
    assert!(Customer::email == email_taken.index());
    assert!(email_taken.index() != Customer::by_phone);

    let phone_taken = customers.insert(customer("b@x", "1")).unwrap_err();
    assert!(phone_taken.index() == Customer::by_phone);
    assert!(phone_taken.index() != Customer::city);

    let plain: Error = phone_taken.into();
    assert!(plain.index() == Customer::by_phone);
}

#[test]
fn errors_that_concern_no_index_say_so() {
    let store = Store::new();
    let missing = store.get(Id::nil()).unwrap_err();
    assert_eq!(missing.index().as_str(), None);
    assert!(missing.index() == None);
    assert!(missing.index() != Customer::email);
    let unknown = store.lookup("by_city", "Oslo").err();
    assert_eq!(
        unknown.as_ref().and_then(|e| e.index().as_str()),
        Some("by_city"),
        "{unknown:?}"
    );
}
