//! The wire protocol's hot paths, on the datagrams the client library sends.
//!
//! Every value list is what the client writes for one stat: host `web1`, plugin `any`, no
//! plugin instance, type `gauge`, a type instance such as `coin_stats-heads-flips` that
//! differs from stat to stat, one GAUGE value, and the same time and interval for all
//! (a snapshot). The writer puts them into 1452-byte packets, finishing each when full.
//!
//! Groups:
//! - `encode`: value lists into packets (plain, signed, encrypted); throughput in value lists.
//! - `parse`: the resulting datagrams, parsed at the matching receiver level, by the
//!   streaming parser `parse_each` (`stream_*`: each record handed to a closure, names as
//!   raw bytes) and by `parse` (`collect_*`: records with UTF-8 names collected into a
//!   `Datagram`); throughput in bytes (`*_bytes`) and in value lists (`*_value_lists`).
//!
//! Run with `cargo bench -p collectd --bench protocol` (add `-- --warm-up-time 1
//! --measurement-time 3` for a shorter run, or a group name such as `parse/` to filter).

use std::hint::black_box;

use collectd::protocol::{
    AuthFile, CdTime, Credentials, EncodeError, Event, PacketWriter, ReceiveSecurity, Security, SecurityLevel, Value,
    ValueList, WriterOptions, parse, parse_each,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// How many stats a snapshot holds.
const STATS: usize = 2000;

/// The value lists of one snapshot: `coin_stats-<specific>-<stat>` for a few specifics
/// and stats, cycling through them.
fn snapshot() -> Vec<ValueList<'static>> {
    let specifics = ["heads", "tails", "edge", "total", "api", "web", "cron", "batch", "eu", "us"];
    let stats = ["flips", "wins", "losses", "streak", "latency_ms"];
    let time = CdTime::from_secs(1_700_000_000);
    let interval = CdTime::from_secs(10);
    (0..STATS)
        .map(|i| {
            let category = format!("coin_stats{}", i / (specifics.len() * stats.len()));
            let specific = specifics[(i / stats.len()) % specifics.len()];
            let stat = stats[i % stats.len()];
            ValueList::new("web1", "any", "gauge", vec![Value::Gauge(i as f64 * 0.5)])
                .with_type_instance(format!("{category}-{specific}-{stat}"))
                .with_time(time)
                .with_interval(interval)
        })
        .collect()
}

/// Writes every value list, as the client does: on `PacketFull`, finish and retry.
fn encode(writer: &mut PacketWriter, vls: &[ValueList<'_>], datagrams: &mut Vec<Vec<u8>>) {
    for vl in vls {
        match writer.write(vl) {
            Ok(()) => {}
            Err(EncodeError::PacketFull) => {
                datagrams.push(writer.finish().unwrap().unwrap());
                writer.write(vl).unwrap();
            }
            Err(e) => panic!("{e}"),
        }
    }
    datagrams.extend(writer.finish().unwrap());
}

fn credentials() -> Credentials {
    Credentials::new("admin", "admin").unwrap()
}

struct Variant {
    name: &'static str,
    security: Security,
    level: SecurityLevel,
}

fn variants() -> [Variant; 3] {
    [
        Variant { name: "plain", security: Security::None, level: SecurityLevel::None },
        Variant { name: "signed", security: Security::Sign(credentials()), level: SecurityLevel::Sign },
        Variant { name: "encrypted", security: Security::Encrypt(credentials()), level: SecurityLevel::Encrypt },
    ]
}

fn writer(security: &Security) -> PacketWriter {
    PacketWriter::new(WriterOptions::default().security(security.clone())).unwrap()
}

fn bench_encode(c: &mut Criterion) {
    let vls = snapshot();
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(vls.len() as u64));
    for variant in variants() {
        if variant.name != "plain" {
            // Signing and encryption cost far more than the parts: fewer samples suffice.
            group.sample_size(20);
        }
        let mut writer = writer(&variant.security);
        let mut datagrams = Vec::with_capacity(vls.len());
        group.bench_function(variant.name, |b| {
            b.iter(|| {
                datagrams.clear();
                encode(&mut writer, black_box(&vls), &mut datagrams);
                black_box(&datagrams);
            })
        });
    }
    group.finish();
}

fn bench_parse(c: &mut Criterion) {
    let vls = snapshot();
    let users = AuthFile::parse(b"admin: admin\n");
    for variant in variants() {
        let mut datagrams = Vec::new();
        encode(&mut writer(&variant.security), &vls, &mut datagrams);
        let bytes: usize = datagrams.iter().map(Vec::len).sum();
        let security = match variant.level {
            SecurityLevel::None => ReceiveSecurity::none(),
            level => ReceiveSecurity::new(level, Some(&users)).unwrap(),
        };
        // Every datagram parses to its value lists, and nothing else.
        let parsed: usize = datagrams
            .iter()
            .map(|d| {
                let datagram = parse(d, &security);
                assert!(datagram.errors.is_empty() && datagram.notices.is_empty());
                datagram.records.len()
            })
            .sum();
        assert_eq!(parsed, vls.len());

        let collect_all = |datagrams: &[Vec<u8>]| {
            let mut records = 0;
            for d in datagrams {
                records += black_box(parse(black_box(d), &security)).records.len();
            }
            records
        };
        let stream_all = |datagrams: &[Vec<u8>]| {
            let mut records = 0;
            for d in datagrams {
                parse_each(black_box(d), &security, |event| {
                    if let Event::Values(raw) = event {
                        black_box(&raw);
                        records += 1;
                    }
                });
            }
            records
        };
        assert_eq!(stream_all(&datagrams), vls.len());
        let mut group = c.benchmark_group(format!("parse/{}", variant.name));
        if variant.name != "plain" {
            group.sample_size(20);
        }
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_function("stream_bytes", |b| b.iter(|| stream_all(&datagrams)));
        group.bench_function("collect_bytes", |b| b.iter(|| collect_all(&datagrams)));
        group.throughput(Throughput::Elements(vls.len() as u64));
        group.bench_function("stream_value_lists", |b| b.iter(|| stream_all(&datagrams)));
        group.bench_function("collect_value_lists", |b| b.iter(|| collect_all(&datagrams)));
        group.finish();
    }
}

criterion_group!(benches, bench_encode, bench_parse);
criterion_main!(benches);
