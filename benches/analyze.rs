//! Analysis throughput: the full analysis next to bare jieba-rs `cut` on the same comments
//! (`benches/data/comments.txt`, 2,000 realistic 弹幕), in the same run.
//!
//! `cargo bench --bench analyze`; the ratio of the two is what BENCHMARKS.md reports.
//!
//! The group `stages` runs bare `cut` again beside the analysis stopped after each stage
//! (`Analyzer::analyze_until`): normalization; normalization and jieba alone (the least any
//! analysis that segments with jieba costs); everything up to and including segmentation; all
//! of it. `cargo bench --bench analyze -- stages` runs that group alone.

use std::hint::black_box;
use std::sync::LazyLock;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jieba_rs::Jieba;
use livecue::analyze::{Analyzer, RoomCatalog, Stage};
use livecue::config::Config;

static COMMENTS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    include_str!("data/comments.txt")
        .lines()
        .filter(|l| !l.is_empty())
        .collect()
});

static ANALYZER: LazyLock<Analyzer> = LazyLock::new(Analyzer::embedded);
static JIEBA: LazyLock<Jieba> = LazyLock::new(Jieba::new);
static CATALOG: LazyLock<RoomCatalog> = LazyLock::new(|| {
    let config = Config::from_toml(include_str!("../demo/demo.toml")).expect("demo.toml");
    let room = &config.rooms[0];
    RoomCatalog::new(&room.products, &room.words).expect("catalog")
});

/// Bare jieba-rs `cut` (HMM on) over the corpus: the row each group is compared with.
fn bare_cut(b: &mut criterion::Bencher<'_>) {
    b.iter(|| {
        let mut n = 0;
        for text in &*COMMENTS {
            n += JIEBA.cut(black_box(text), true).len();
        }
        n
    })
}

fn comments(c: &mut Criterion) {
    let comments = &*COMMENTS;
    let mut group = c.benchmark_group("comments");
    // One iteration = the whole corpus; comments/s = corpus size / time per iteration.
    group.throughput(Throughput::Elements(comments.len() as u64));
    group.bench_function("jieba_cut_hmm", bare_cut);
    group.bench_function("analyze_full", |b| {
        let catalog = &*CATALOG;
        b.iter(|| {
            let mut n = 0;
            for text in comments {
                n += ANALYZER.analyze(black_box(text), catalog).intents.len();
            }
            n
        })
    });
    group.finish();
}

fn stages(c: &mut Criterion) {
    let comments = &*COMMENTS;
    let catalog = &*CATALOG;
    let mut group = c.benchmark_group("stages");
    group.throughput(Throughput::Elements(comments.len() as u64));
    group.bench_function("jieba_cut_hmm", bare_cut);
    for (name, stage) in [
        ("1_normalize", Stage::Normalize),
        ("2_normalize_jieba", Stage::Segment),
        ("3_through_segment", Stage::Prepare),
        ("4_full", Stage::Full),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut n = 0;
                for text in comments {
                    n += ANALYZER
                        .analyze_until(black_box(text), catalog, stage)
                        .tokens()
                        .len();
                }
                n
            })
        });
    }
    group.finish();
}

criterion_group!(benches, comments, stages);
criterion_main!(benches);
