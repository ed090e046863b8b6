//! Profiling harness for the analysis hot path: analyzes the benchmark corpus
//! (`benches/data/comments.txt`, demo catalog) N times (default 5), so a profiler sees nothing
//! else. Instructions per comment, repeatable whatever else the machine does:
//!
//! ```sh
//! cargo build --release --example profile_analyze
//! valgrind --tool=callgrind --collect-atstart=no \
//!   --toggle-collect=livecue::analyze::Analyzer::analyze \
//!   target/release/examples/profile_analyze 5
//! # Ir total / (5 x 2,000) = instructions per comment; callgrind_annotate for the breakdown
//! ```
//!
//! With a second argument `cut`, it runs bare jieba-rs `cut` (default dictionary, HMM on) on
//! the same comments instead, the other row of `cargo bench --bench analyze`, to compare in
//! instructions (`--toggle-collect='jieba_rs::Jieba::cut'`).

use livecue::analyze::{Analyzer, RoomCatalog};
use livecue::config::Config;
fn main() {
    let passes: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5);
    let text = include_str!("../benches/data/comments.txt");
    let comments: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    if std::env::args().nth(2).as_deref() == Some("cut") {
        let jieba = jieba_rs::Jieba::new();
        let mut n = 0;
        for _ in 0..passes {
            for c in &comments {
                n += jieba.cut(std::hint::black_box(c), true).len();
            }
        }
        println!("{n} {}", comments.len() * passes);
        return;
    }
    let config = Config::from_toml(include_str!("../demo/demo.toml")).expect("demo.toml");
    let room = &config.rooms[0];
    let catalog = RoomCatalog::new(&room.products, &room.words).expect("catalog");
    let analyzer = Analyzer::embedded();
    let mut n = 0;
    for _ in 0..passes {
        for c in &comments {
            n += analyzer
                .analyze(std::hint::black_box(c), &catalog)
                .intents
                .len();
        }
    }
    println!("{n} {}", comments.len() * passes);
}
