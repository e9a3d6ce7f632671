//! The key types people index: times, durations, UUIDs, and their own enums and
//! newtypes with `#[derive(IndexKey)]`, each ordered as its values are, and
//! passed to queries by value like the built-in keys.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use docstore::{Collection, IndexKey, Indexed, uuid::Uuid};

#[derive(IndexKey, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Status {
    // Explicit discriminants do not matter: declaration order does.
    Open = 7,
    Paid = 1,
    Shipped = 3,
}

#[derive(IndexKey, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Ts(i64);

#[derive(IndexKey, Clone, Debug, PartialEq)]
struct Sku {
    code: String,
}

/// A generic newtype: a key whenever its field is.
#[derive(IndexKey, Clone, Copy, Debug, PartialEq)]
struct Tagged<T>(T);

#[derive(Indexed, Clone, Debug)]
#[indexed(composite(by_status_at = (status, created_at)))]
struct Order {
    #[index]
    status: Status,
    #[index]
    created_at: Ts,
    #[index(unique)]
    sku: Sku,
    #[index]
    placed: SystemTime,
    #[index]
    took: Duration,
    #[index(unique)]
    trace: Uuid,
    #[index]
    tag: Tagged<u8>,
}

fn order(status: Status, at: i64, n: u8) -> Order {
    let placed = if at < 0 {
        UNIX_EPOCH - Duration::from_nanos(at.unsigned_abs())
    } else {
        UNIX_EPOCH + Duration::from_nanos(at.unsigned_abs())
    };
    Order {
        status,
        created_at: Ts(at),
        sku: Sku {
            code: format!("sku-{n}"),
        },
        placed,
        took: Duration::from_millis(u64::from(n) * 250),
        trace: Uuid::from_bytes([n; 16]),
        tag: Tagged(n % 2),
    }
}

fn orders() -> Collection<Order> {
    let orders = Collection::new();
    for (status, at, n) in [
        (Status::Paid, 50, 1),
        (Status::Open, -20, 2),
        (Status::Shipped, 10, 3),
        (Status::Paid, -5, 4),
        (Status::Paid, 120, 5),
        (Status::Open, 0, 6),
    ] {
        orders.insert(order(status, at, n)).unwrap();
    }
    orders
}

fn ats(found: impl Iterator<Item = docstore::Versioned<Order>>) -> Vec<i64> {
    found.map(|doc| doc.created_at.0).collect()
}

#[test]
fn own_key_types_pass_by_value() {
    let orders = orders();
    assert_eq!(
        ats(orders.range(Order::created_at, Ts(0)..Ts(100)).unwrap()),
        [0, 10, 50]
    );
    assert_eq!(ats(orders.lookup(Order::created_at, Ts(-5)).unwrap()), [-5]);
    assert_eq!(
        ats(orders.prefix(Order::by_status_at, (Status::Paid,)).unwrap()),
        [-5, 50, 120]
    );
    assert_eq!(
        ats(orders
            .lookup(Order::by_status_at, (Status::Open, Ts(0)))
            .unwrap()),
        [0]
    );
    let sku = Sku {
        code: "sku-3".into(),
    };
    let found = orders.get_unique(Order::sku, sku.clone()).unwrap();
    assert_eq!(found.map(|doc| doc.created_at), Some(Ts(10)));
    // By reference still works.
    assert!(orders.get_unique(Order::sku, &sku).unwrap().is_some());
}

#[test]
fn an_enum_is_keyed_in_declaration_order() {
    let orders = orders();
    let statuses: Vec<Status> = orders
        .by_index(Order::status)
        .unwrap()
        .map(|doc| doc.status)
        .collect();
    assert_eq!(
        statuses,
        [
            Status::Open,
            Status::Open,
            Status::Paid,
            Status::Paid,
            Status::Paid,
            Status::Shipped
        ]
    );
    assert_eq!(
        orders
            .range(Order::status, Status::Paid..=Status::Shipped)
            .unwrap()
            .count(),
        4
    );
}

#[test]
fn a_newtype_is_keyed_as_its_field() {
    let orders = orders();
    let all = ats(orders.by_index(Order::created_at).unwrap());
    assert_eq!(all, [-20, -5, 0, 10, 50, 120]);
    assert_eq!(orders.lookup(Order::tag, Tagged(1)).unwrap().count(), 3);
    assert_eq!(orders.range(Order::tag, Tagged(0)..).unwrap().count(), 6);
}

#[test]
fn system_times_order_across_the_epoch() {
    let orders = orders();
    let placed: Vec<SystemTime> = orders
        .by_index(Order::placed)
        .unwrap()
        .map(|doc| doc.placed)
        .collect();
    let mut sorted = placed.clone();
    sorted.sort();
    assert_eq!(placed, sorted);
    assert!(placed[0] < UNIX_EPOCH);
    // Before the epoch, by value.
    let before = orders.range(Order::placed, ..UNIX_EPOCH).unwrap();
    assert_eq!(ats(before), [-20, -5]);
    let at = UNIX_EPOCH + Duration::from_nanos(10);
    assert_eq!(ats(orders.lookup(Order::placed, at).unwrap()), [10]);
}

#[test]
fn far_apart_times_keep_their_order() {
    #[derive(Indexed, Clone)]
    struct Event {
        #[index]
        at: SystemTime,
    }
    let events = Collection::<Event>::new();
    let year = Duration::from_secs(365 * 24 * 3600);
    let times = [
        UNIX_EPOCH - year * 200,
        UNIX_EPOCH - Duration::from_nanos(1),
        UNIX_EPOCH,
        UNIX_EPOCH + Duration::from_nanos(1),
        UNIX_EPOCH + year * 56,
        UNIX_EPOCH + year * 250,
    ];
    for at in times.iter().rev() {
        events.insert(Event { at: *at }).unwrap();
    }
    let found: Vec<SystemTime> = events
        .by_index(Event::at)
        .unwrap()
        .map(|doc| doc.at)
        .collect();
    assert_eq!(found, times);
    for at in times {
        assert_eq!(events.lookup(Event::at, at).unwrap().count(), 1);
    }
}

#[test]
fn durations_and_uuids_order_as_their_values() {
    let orders = orders();
    let took: Vec<Duration> = orders
        .range(
            Order::took,
            Duration::from_millis(500)..Duration::from_secs(2),
        )
        .unwrap()
        .map(|doc| doc.took)
        .collect();
    assert_eq!(
        took,
        [
            Duration::from_millis(500),
            Duration::from_millis(750),
            Duration::from_millis(1000),
            Duration::from_millis(1250),
            Duration::from_millis(1500)
        ]
    );
    let traces: Vec<Uuid> = orders
        .by_index(Order::trace)
        .unwrap()
        .map(|doc| doc.trace)
        .collect();
    let mut sorted = traces.clone();
    sorted.sort();
    assert_eq!(traces, sorted);
    let third = Uuid::from_bytes([3; 16]);
    let found = orders.get_unique(Order::trace, third).unwrap().unwrap();
    assert_eq!(found.created_at, Ts(10));
}

#[test]
fn a_uuid_key_matches_the_same_uuid_as_text_in_a_schemaless_store() {
    let store = docstore::Store::new();
    store.create_index("by_trace", ["trace"]).unwrap();
    let trace = Uuid::from_bytes([0xAB; 16]);
    store
        .insert(serde_json::json!({"trace": trace.to_string()}))
        .unwrap();
    assert_eq!(store.lookup("by_trace", trace).unwrap().count(), 1);
}

#[cfg(feature = "chrono")]
#[test]
fn chrono_dates_and_times_order_across_the_epoch() {
    use docstore::chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

    #[derive(Indexed, Clone)]
    struct Entry {
        #[index]
        day: NaiveDate,
        #[index]
        local: NaiveDateTime,
        #[index]
        at: DateTime<Utc>,
    }
    let entries = Collection::<Entry>::new();
    let days = [
        NaiveDate::from_ymd_opt(1900, 1, 1).unwrap(),
        NaiveDate::from_ymd_opt(1969, 12, 31).unwrap(),
        NaiveDate::from_ymd_opt(1970, 1, 1).unwrap(),
        NaiveDate::from_ymd_opt(2024, 2, 29).unwrap(),
    ];
    for day in days.iter().rev() {
        let local = day.and_hms_nano_opt(23, 59, 59, 999_999_999).unwrap();
        entries
            .insert(Entry {
                day: *day,
                local,
                at: local.and_utc(),
            })
            .unwrap();
    }
    let by_day: Vec<NaiveDate> = entries
        .by_index(Entry::day)
        .unwrap()
        .map(|doc| doc.day)
        .collect();
    assert_eq!(by_day, days);
    let by_local: Vec<NaiveDate> = entries
        .by_index(Entry::local)
        .unwrap()
        .map(|doc| doc.day)
        .collect();
    assert_eq!(by_local, days);
    let by_at: Vec<NaiveDate> = entries
        .by_index(Entry::at)
        .unwrap()
        .map(|doc| doc.day)
        .collect();
    assert_eq!(by_at, days);
    let epoch = DateTime::<Utc>::UNIX_EPOCH;
    assert_eq!(entries.range(Entry::at, ..epoch).unwrap().count(), 2);
    assert_eq!(entries.range(Entry::day, days[1]..).unwrap().count(), 3);
}

#[cfg(feature = "time")]
#[test]
fn time_dates_and_instants_order_across_the_epoch() {
    use docstore::time::{Date, Month, OffsetDateTime, UtcOffset};

    #[derive(Indexed, Clone)]
    struct Entry {
        #[index]
        day: Date,
        #[index]
        at: OffsetDateTime,
    }
    let entries = Collection::<Entry>::new();
    let days = [
        Date::from_calendar_date(1800, Month::March, 1).unwrap(),
        Date::from_calendar_date(1969, Month::December, 31).unwrap(),
        Date::from_calendar_date(1970, Month::January, 1).unwrap(),
        Date::from_calendar_date(2030, Month::July, 4).unwrap(),
    ];
    for day in days.iter().rev() {
        let at = day.midnight().assume_utc();
        entries.insert(Entry { day: *day, at }).unwrap();
    }
    let by_day: Vec<Date> = entries
        .by_index(Entry::day)
        .unwrap()
        .map(|doc| doc.day)
        .collect();
    assert_eq!(by_day, days);
    let by_at: Vec<Date> = entries
        .by_index(Entry::at)
        .unwrap()
        .map(|doc| doc.day)
        .collect();
    assert_eq!(by_at, days);
    // The same instant at another offset is the same key.
    let epoch = OffsetDateTime::UNIX_EPOCH.to_offset(UtcOffset::from_hms(2, 0, 0).unwrap());
    assert_eq!(entries.lookup(Entry::at, epoch).unwrap().count(), 1);
    assert_eq!(entries.range(Entry::at, ..epoch).unwrap().count(), 2);
}
