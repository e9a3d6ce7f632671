//! Typed queries: exact lookups, ranges, prefixes, unique gets, and how each
//! index kind (plain, optional, multi-key, composite, computed, float) keys
//! its documents.

use std::ops::Bound;
use std::panic::{AssertUnwindSafe, catch_unwind};

use docstore::{Collection, Error, Id, Indexed, Versioned};

#[derive(Indexed, Clone, Debug, PartialEq)]
#[indexed(composite(by_city_age = (city, age)))]
#[indexed(composite(by_city_nickname = (city, nickname), unique))]
#[indexed(computed(by_domain: String = email_domain), computed(by_initial: Option<char> = initial))]
#[indexed(computed(by_word: Vec<String> = bio_words, each))]
struct User {
    #[index(unique)]
    email: String,
    #[index]
    city: String,
    #[index]
    age: u32,
    #[index]
    nickname: Option<String>,
    #[index(each)]
    tags: Vec<String>,
    #[index(name = "by_score")]
    score: f64,
    bio: String,
}

impl User {
    fn email_domain(&self) -> String {
        self.email.rsplit('@').next().unwrap_or_default().to_owned()
    }

    fn initial(&self) -> Option<char> {
        self.bio.chars().next()
    }

    fn bio_words(&self) -> Vec<String> {
        self.bio.split_whitespace().map(str::to_lowercase).collect()
    }

    /// Shares its name with the field `score`: why that index is renamed.
    fn score(&self) -> f64 {
        self.score
    }
}

fn user(email: &str, city: &str, age: u32) -> User {
    User {
        email: email.to_owned(),
        city: city.to_owned(),
        age,
        nickname: None,
        tags: Vec::new(),
        score: 0.0,
        bio: String::new(),
    }
}

fn emails(found: impl Iterator<Item = Versioned<User>>) -> Vec<String> {
    found.map(|doc| doc.email.clone()).collect()
}

fn ages(found: impl Iterator<Item = Versioned<User>>) -> Vec<u32> {
    found.map(|doc| doc.age).collect()
}

/// Five users aged 10 to 50 in two cities, inserted out of age order.
fn people() -> Result<Collection<User>, Error> {
    let users = Collection::new();
    for (email, city, age) in [
        ("c@x.org", "Paris", 30),
        ("a@x.org", "Paris", 10),
        ("e@y.org", "Lyon", 50),
        ("b@y.org", "Lyon", 20),
        ("d@x.org", "Paris", 40),
    ] {
        users.insert(user(email, city, age))?;
    }
    Ok(users)
}

#[test]
fn lookup_takes_a_str_a_string_or_a_reference() -> Result<(), Error> {
    let users = people()?;
    let owned = String::from("Lyon");
    assert_eq!(users.lookup(User::city, "Lyon")?.count(), 2);
    assert_eq!(users.lookup(User::city, owned.clone())?.count(), 2);
    assert_eq!(users.lookup(User::city, &owned)?.count(), 2);
    assert_eq!(users.lookup(User::age, 30)?.count(), 1);
    let oldest = users.range(User::age, ..)?.next_back().expect("five users");
    let age: &u32 = &oldest.age;
    assert_eq!(users.lookup(User::age, age)?.count(), 1);
    assert_eq!(users.lookup(User::city, "Nice")?.count(), 0);
    Ok(())
}

#[test]
fn range_takes_every_rust_range_form() -> Result<(), Error> {
    let users = people()?;
    assert_eq!(ages(users.range(User::age, 20..40)?), [20, 30]);
    assert_eq!(ages(users.range(User::age, 20..=40)?), [20, 30, 40]);
    assert_eq!(ages(users.range(User::age, 30..)?), [30, 40, 50]);
    assert_eq!(ages(users.range(User::age, ..30)?), [10, 20]);
    assert_eq!(ages(users.range(User::age, ..=30)?), [10, 20, 30]);
    assert_eq!(ages(users.range(User::age, ..)?), [10, 20, 30, 40, 50]);
    let exclusive = (Bound::Excluded(20), Bound::Excluded(50));
    assert_eq!(ages(users.range(User::age, exclusive)?), [30, 40]);
    Ok(())
}

#[test]
fn an_inverted_range_is_empty() -> Result<(), Error> {
    let users = people()?;
    let (high, low) = (40, 20);
    assert_eq!(users.range(User::age, high..low)?.count(), 0);
    assert_eq!(users.range(User::age, high..=low)?.count(), 0);
    assert_eq!(users.range(User::city, "Paris".."Lyon")?.count(), 0);
    Ok(())
}

#[test]
fn string_ranges_compare_by_bytes() -> Result<(), Error> {
    let users = people()?;
    assert_eq!(
        emails(users.range(User::email, "b".."d")?),
        ["b@y.org", "c@x.org"]
    );
    Ok(())
}

#[test]
fn first_k_and_last_k_come_from_either_end() -> Result<(), Error> {
    let users = people()?;
    assert_eq!(ages(users.range(User::age, ..)?.take(2)), [10, 20]);
    assert_eq!(ages(users.range(User::age, ..)?.rev().take(2)), [50, 40]);
    assert_eq!(users.range(User::age, 15..)?.len(), 4);
    Ok(())
}

#[test]
fn ties_come_in_id_order() -> Result<(), Error> {
    let users = Collection::<User>::new();
    let ids: Vec<Id> = (0..20)
        .map(|n| Ok(users.insert(user(&format!("{n}@x.org"), "Paris", 33))?))
        .collect::<Result<_, Error>>()?;
    let found: Vec<Id> = users.lookup(User::age, 33)?.map(|doc| doc.id()).collect();
    assert_eq!(found, ids);
    let backwards: Vec<Id> = users
        .range(User::age, ..)?
        .rev()
        .map(|doc| doc.id())
        .collect();
    assert_eq!(backwards, ids.iter().rev().copied().collect::<Vec<_>>());
    Ok(())
}

#[test]
fn composite_lookup_range_and_prefix() -> Result<(), Error> {
    let users = people()?;
    assert_eq!(
        emails(users.lookup(User::by_city_age, ("Paris", 30))?),
        ["c@x.org"]
    );
    assert_eq!(users.lookup(User::by_city_age, ("Paris", 20))?.count(), 0);
    // Key order: city first, then age.
    assert_eq!(
        ages(users.by_index(User::by_city_age)?),
        [20, 50, 10, 30, 40]
    );
    assert_eq!(
        ages(users.prefix(User::by_city_age, ("Paris",))?),
        [10, 30, 40]
    );
    assert_eq!(ages(users.prefix(User::by_city_age, ("Lyon", 50))?), [50]);
    assert_eq!(users.prefix(User::by_city_age, ("Pari",))?.count(), 0);
    assert_eq!(
        ages(users.range(User::by_city_age, ("Paris", 20)..=("Paris", 40))?),
        [30, 40]
    );
    Ok(())
}

#[test]
fn get_unique_returns_at_most_one() -> Result<(), Error> {
    let users = people()?;
    let found = users.get_unique(User::email, "d@x.org")?.expect("present");
    assert_eq!(found.age, 40);
    assert!(users.get_unique(User::email, "nobody@x.org")?.is_none());
    Ok(())
}

#[test]
fn queries_run_on_a_snapshot_too() -> Result<(), Error> {
    let users = people()?;
    let snapshot = users.snapshot()?;
    users.insert(user("f@x.org", "Paris", 60))?;
    assert_eq!(snapshot.lookup(User::city, "Paris")?.count(), 3);
    assert_eq!(snapshot.range(User::age, 45..)?.count(), 1);
    assert!(snapshot.get_unique(User::email, "f@x.org")?.is_none());
    assert_eq!(users.range(User::age, 45..)?.count(), 2);
    Ok(())
}

#[test]
fn a_none_field_is_left_out_until_it_becomes_some() -> Result<(), Error> {
    let users = Collection::<User>::new();
    let id = users.insert(user("a@x.org", "Paris", 30))?;
    assert_eq!(users.by_index(User::nickname)?.count(), 0);

    users.update_with(id, |current| User {
        nickname: Some("ace".to_owned()),
        ..current.clone()
    })?;
    assert_eq!(emails(users.lookup(User::nickname, "ace")?), ["a@x.org"]);

    users.update_with(id, |current| User {
        nickname: None,
        ..current.clone()
    })?;
    assert_eq!(users.by_index(User::nickname)?.count(), 0);
    assert!(users.verify()?.is_empty());
    Ok(())
}

#[test]
fn a_composite_leaves_out_a_document_with_a_none_field() -> Result<(), Error> {
    let users = Collection::<User>::new();
    let id = users.insert(user("a@x.org", "Paris", 30))?;
    // Many `None`s never clash in the unique composite: they are not in it.
    users.insert(user("b@x.org", "Paris", 31))?;
    assert_eq!(users.by_index(User::by_city_nickname)?.count(), 0);

    users.update_with(id, |current| User {
        nickname: Some("ace".to_owned()),
        ..current.clone()
    })?;
    assert_eq!(
        emails(users.lookup(User::by_city_nickname, ("Paris", "ace"))?),
        ["a@x.org"]
    );
    let mut twin = user("c@x.org", "Paris", 32);
    twin.nickname = Some("ace".to_owned());
    let rejected = users.insert(twin).expect_err("(Paris, ace) is taken");
    assert!(matches!(
        rejected.error(),
        Error::UniqueViolation { index, .. } if index == "by_city_nickname"
    ));
    Ok(())
}

#[test]
fn a_multi_key_field_is_found_under_each_element() -> Result<(), Error> {
    let users = Collection::<User>::new();
    let mut ada = user("ada@x.org", "London", 36);
    ada.tags = vec!["math".into(), "engines".into(), "math".into()];
    let id = users.insert(ada)?;
    let mut grace = user("grace@x.org", "Arlington", 45);
    grace.tags = vec!["navy".into(), "math".into()];
    users.insert(grace)?;

    assert_eq!(emails(users.lookup(User::tags, "engines")?), ["ada@x.org"]);
    // Ada's repeated "math" finds her once.
    assert_eq!(
        emails(users.lookup(User::tags, "math")?),
        ["ada@x.org", "grace@x.org"]
    );
    // A document with several keys in a range comes once, at its first.
    assert_eq!(
        emails(users.by_index(User::tags)?),
        ["ada@x.org", "grace@x.org"]
    );
    assert_eq!(
        emails(users.range(User::tags, "m"..)?),
        ["ada@x.org", "grace@x.org"]
    );

    users.update_with(id, |current| User {
        tags: vec!["poetry".into()],
        ..current.clone()
    })?;
    assert_eq!(users.lookup(User::tags, "engines")?.count(), 0);
    assert_eq!(emails(users.lookup(User::tags, "math")?), ["grace@x.org"]);
    assert_eq!(emails(users.lookup(User::tags, "poetry")?), ["ada@x.org"]);
    assert!(users.verify()?.is_empty());
    Ok(())
}

#[test]
fn computed_keys_follow_the_method() -> Result<(), Error> {
    let users = people()?;
    assert_eq!(
        emails(users.lookup(User::by_domain, "x.org")?),
        ["c@x.org", "a@x.org", "d@x.org"]
    );
    let id = users
        .get_unique(User::email, "a@x.org")?
        .expect("present")
        .id();
    users.update_with(id, |current| User {
        email: "a@z.org".to_owned(),
        ..current.clone()
    })?;
    assert_eq!(emails(users.lookup(User::by_domain, "z.org")?), ["a@z.org"]);
    assert_eq!(users.lookup(User::by_domain, "x.org")?.count(), 2);
    Ok(())
}

#[test]
fn an_optional_computed_key_leaves_none_out() -> Result<(), Error> {
    let users = Collection::<User>::new();
    users.insert(user("a@x.org", "Paris", 30))?;
    let mut poet = user("b@x.org", "Paris", 31);
    poet.bio = "Wrote Verses".to_owned();
    users.insert(poet)?;
    assert_eq!(emails(users.by_index(User::by_initial)?), ["b@x.org"]);
    assert_eq!(users.lookup(User::by_initial, 'W')?.count(), 1);
    assert_eq!(emails(users.lookup(User::by_word, "verses")?), ["b@x.org"]);
    // Two words, one document: a multi-key index returns it once.
    assert_eq!(emails(users.by_index(User::by_word)?), ["b@x.org"]);
    Ok(())
}

#[test]
fn a_panicking_computed_key_changes_nothing() -> Result<(), Error> {
    #[derive(Indexed, Clone, Debug)]
    #[indexed(computed(by_half: u32 = half))]
    struct Even {
        n: u32,
    }

    impl Even {
        fn half(&self) -> u32 {
            assert!(self.n.is_multiple_of(2), "odd");
            self.n / 2
        }
    }

    let evens = Collection::<Even>::new();
    let id = evens.insert(Even { n: 4 })?;
    let odd = catch_unwind(AssertUnwindSafe(|| evens.update(id, Even { n: 5 })));
    assert!(odd.is_err());
    assert_eq!(evens.get(id)?.n, 4);
    assert_eq!(evens.lookup(Even::by_half, 2)?.count(), 1);
    assert!(evens.verify()?.is_empty());
    Ok(())
}

#[test]
fn float_keys_order_like_numbers() -> Result<(), Error> {
    let users = Collection::<User>::new();
    for (n, score) in [5.5, -2.0, 5.0, 0.0, -10.25, 6.0, 1e10]
        .into_iter()
        .enumerate()
    {
        let mut scored = user(&format!("{n}@x.org"), "Paris", 30);
        scored.score = score;
        users.insert(scored)?;
    }
    let ordered: Vec<f64> = users
        .by_index(User::by_score)?
        .map(|doc| doc.score())
        .collect();
    assert_eq!(ordered, [-10.25, -2.0, 0.0, 5.0, 5.5, 6.0, 1e10]);
    let between: Vec<f64> = users
        .range(User::by_score, 5.0..6.0)?
        .map(|doc| doc.score)
        .collect();
    assert_eq!(between, [5.0, 5.5]);
    assert_eq!(users.lookup(User::by_score, -2.0)?.count(), 1);
    Ok(())
}

#[test]
fn a_nan_key_is_refused() -> Result<(), Error> {
    let users = Collection::<User>::new();
    let mut broken = user("nan@x.org", "Paris", 30);
    broken.score = f64::NAN;
    let rejected = users.insert(broken).expect_err("NaN cannot be a key");
    assert!(matches!(
        rejected.error(),
        Error::InvalidKey { index, .. } if index == "by_score"
    ));
    assert!(rejected.into_document().score.is_nan());
    assert_eq!(users.len()?, 0);

    let id = users.insert(user("ok@x.org", "Paris", 30))?;
    let mut broken = user("ok@x.org", "Paris", 30);
    broken.score = f64::NAN;
    let rejected = users.update(id, broken).expect_err("NaN cannot be a key");
    assert!(matches!(rejected.error(), Error::InvalidKey { .. }));
    assert!(users.get(id)?.score.abs() < f64::EPSILON);

    assert!(matches!(
        users.lookup(User::by_score, f64::NAN).map(|_| ()),
        Err(Error::InvalidKey { .. })
    ));
    Ok(())
}

#[test]
fn ids_can_be_keys() -> Result<(), Error> {
    #[derive(Indexed, Clone, Debug)]
    struct Order {
        #[index]
        user: Id,
        amount: u64,
    }

    let users = people()?;
    let orders = Collection::<Order>::new();
    let ada = users
        .get_unique(User::email, "a@x.org")?
        .expect("present")
        .id();
    let other = users
        .get_unique(User::email, "b@y.org")?
        .expect("present")
        .id();
    orders.insert(Order {
        user: ada,
        amount: 5,
    })?;
    orders.insert(Order {
        user: other,
        amount: 7,
    })?;
    orders.insert(Order {
        user: ada,
        amount: 9,
    })?;
    let amounts: Vec<u64> = orders.lookup(Order::user, ada)?.map(|o| o.amount).collect();
    assert_eq!(amounts, [5, 9]);
    Ok(())
}

#[test]
fn a_unique_multi_key_index_lets_no_two_documents_share_an_element() -> Result<(), Error> {
    #[derive(Indexed, Clone, Debug)]
    struct Host {
        #[index(unique, each)]
        aliases: Vec<String>,
    }

    let hosts = Collection::<Host>::new();
    let aliases = |names: &[&str]| Host {
        aliases: names.iter().map(|name| (*name).to_owned()).collect(),
    };
    hosts.insert(aliases(&["a.example", "www.a.example", "a.example"]))?;
    hosts.insert(aliases(&["b.example"]))?;
    let rejected = hosts
        .insert(aliases(&["c.example", "www.a.example"]))
        .expect_err("www.a.example is taken");
    assert!(matches!(rejected.error(), Error::UniqueViolation { .. }));
    assert!(hosts.get_unique(Host::aliases, "c.example")?.is_none());
    assert!(hosts.get_unique(Host::aliases, "www.a.example")?.is_some());
    Ok(())
}

#[test]
fn the_indexes_are_described() -> Result<(), Error> {
    let users = Collection::<User>::new();
    let described: Vec<(String, Vec<String>, bool, bool)> = users
        .indexes()?
        .iter()
        .map(|info| {
            (
                info.name().to_owned(),
                info.fields().to_vec(),
                info.is_unique(),
                info.is_multi_key(),
            )
        })
        .collect();
    let expected = [
        ("email", vec!["email"], true, false),
        ("city", vec!["city"], false, false),
        ("age", vec!["age"], false, false),
        ("nickname", vec!["nickname"], false, false),
        ("tags", vec!["tags"], false, true),
        ("by_score", vec!["score"], false, false),
        ("by_city_age", vec!["city", "age"], false, false),
        ("by_city_nickname", vec!["city", "nickname"], true, false),
        ("by_domain", vec!["email_domain()"], false, false),
        ("by_initial", vec!["initial()"], false, false),
        ("by_word", vec!["bio_words()"], false, true),
    ];
    let expected: Vec<(String, Vec<String>, bool, bool)> = expected
        .into_iter()
        .map(|(name, fields, unique, multi)| {
            let fields = fields.into_iter().map(str::to_owned).collect();
            (name.to_owned(), fields, unique, multi)
        })
        .collect();
    assert_eq!(described, expected);
    Ok(())
}

#[test]
fn a_composite_range_bound_may_give_only_the_leading_fields() -> Result<(), Error> {
    let users = Collection::<User>::new();
    let paris = users.insert(user("p@x", "Paris", 30))?;
    let rome_young = users.insert(user("r1@x", "Rome", 20))?;
    let rome_old = users.insert(user("r2@x", "Rome", 60))?;
    let vienna = users.insert(user("v@x", "Vienna", 40))?;
    let ids = |found: docstore::Iter<User>| found.map(|u| u.id()).collect::<Vec<_>>();

    // A leading-fields bound stands for every key that starts with it.
    assert_eq!(
        ids(users.range(User::by_city_age, ("Paris",)..=("Rome",))?),
        [paris, rome_young, rome_old]
    );
    assert_eq!(
        ids(users.range(User::by_city_age, ("Paris",)..("Rome",))?),
        [paris]
    );
    assert_eq!(
        ids(users.range(
            User::by_city_age,
            (Bound::Excluded(("Rome",)), Bound::Unbounded)
        )?),
        [vienna]
    );
    // Literals still infer the key type.
    assert_eq!(ids(users.range(User::age, 25..45)?), [paris, vienna]);
    Ok(())
}

/// The same documents as [`User`] would hold, with covering indexes in every
/// form the derive takes.
#[derive(Indexed, Clone, Debug, PartialEq)]
#[indexed(composite(by_city_age = (city, age), covering))]
#[indexed(computed(by_decade: u32 = decade, covering))]
struct Member {
    #[index(unique, covering)]
    email: String,
    #[index(covering)]
    city: String,
    #[index]
    age: u32,
}

impl Member {
    fn decade(&self) -> u32 {
        self.age / 10
    }
}

#[test]
fn covering_indexes_read_the_current_version() -> Result<(), Error> {
    let members = Collection::<Member>::new();
    let covering: Vec<(String, bool)> = members
        .indexes()?
        .iter()
        .map(|info| (info.name().to_owned(), info.is_covering()))
        .collect();
    let expected = [
        ("email", true),
        ("city", true),
        ("age", false),
        ("by_city_age", true),
        ("by_decade", true),
    ]
    .map(|(name, covering)| (name.to_owned(), covering));
    assert_eq!(covering, expected);
    let member = |email: &str, city: &str, age| Member {
        email: email.to_owned(),
        city: city.to_owned(),
        age,
    };
    let ada = members.insert(member("ada@x", "Paris", 36))?;
    members.insert(member("bob@x", "Paris", 41))?;
    let before = members.snapshot()?;
    // Keys unchanged in `email` and `city`, changed in `age` and `by_decade`.
    members.update(ada, member("ada@x", "Paris", 37))?;
    let ages = |found: docstore::Iter<Member>| found.map(|m| m.age).collect::<Vec<_>>();
    assert_eq!(ages(members.lookup(Member::city, "Paris")?), [37, 41]);
    assert_eq!(ages(members.lookup(Member::email, "ada@x")?), [37]);
    assert_eq!(ages(members.range(Member::by_decade, 3..5)?), [37, 41]);
    assert_eq!(
        ages(members.prefix(Member::by_city_age, ("Paris",))?),
        [37, 41]
    );
    // A snapshot from before the update still reads the version it saw.
    assert_eq!(ages(before.lookup(Member::city, "Paris")?), [36, 41]);
    assert_eq!(members.verify()?, Vec::<String>::new());
    members.delete(ada)?;
    assert_eq!(ages(members.lookup(Member::city, "Paris")?), [41]);
    assert_eq!(ages(before.lookup(Member::email, "ada@x")?), [36]);
    assert_eq!(members.verify()?, Vec::<String>::new());
    Ok(())
}
