//! LiveCue: a real-time assistant for Chinese live-commerce streams (直播带货).
//!
//! Comments flow one way through the modules below, in this order:
//!
//! - [`sources`]: platform adapters (Bilibili, Douyin, open-platform webhooks, generic JSON)
//!   that turn a live room's own stream into ingest events.
//! - [`ingest`]: the events sources send (comments, gifts, likes, orders), parsed and validated.
//! - [`analyze`]: the pure hot path: one comment in, an [`analyze::Analysis`] out (normalized
//!   text, tokens, sentiment, intents, question key, linked product). No I/O, no locks. Its
//!   word lists ([`analyze::lexicon`]) are loaded from `lexicons/` (embedded at build time)
//!   plus whatever a room's configuration adds; [`analyze::Topic`] is the one list of topics.
//! - [`privacy`]: masking of personal data (phones, WeChat/QQ ids, ID cards, addresses), used by
//!   `analyze` and by everything that stores or shows text; viewer pseudonyms.
//! - [`catalog`]: a room's products and script library (话术库).
//! - [`room`]: the live picture of a room: the one value each event becomes
//!   ([`room::RoomEvent`]), sliding windows, question clusters, hot words, the product being
//!   pitched, the cues on screen.
//! - [`audience`]: a pseudonymous profile per viewer from in-room events, segments over the
//!   profiles (data in the room config) and the audience mix of the last minutes.
//! - [`suggest`]: rules over the room's windows that make cues, with evidence and cooldowns.
//! - [`experiment`]: the closed loop: script variants chosen by a bandit from the audience mix,
//!   exposures when the streamer acts on a cue, and the outcome measured after them.
//! - [`live`]: the registry of rooms, the ingest path that interprets each event once, each
//!   room's task (state, rules, commands) and the store records copied from its values.
//! - [`push`]: a room's numbered messages to its overlays and consoles, bounded.
//! - [`wire`]: the JSON messages of the protocol.
//! - [`server`]: the HTTP and WebSocket endpoints (axum), tokens, pages, graceful shutdown.
//! - [`store`]: the durable record of each session (SQLite, one writer thread, group commit).
//! - [`report`]: the post-stream review (复盘) from the store: HTML, JSON, CSV.
//! - [`metrics`]: `/metrics` in the Prometheus text format.
//! - [`clock`]: the server's one clock.
//! - [`html`]: HTML escaping, shared by the server's pages and the report.
//! - [`config`]: the TOML deployment file: rooms, catalogs, script libraries, tokens, limits.
//! - [`demo`]: the built-in demo room's simulated audience (`serve --demo`, `simulate`).
//! - [`train`]: `livecue train`: the learned analysis model from the labelled corpus
//!   (`corpus/`), its thresholds chosen on dev, its metrics on dev and test.
//! - [`cli`]: what the `livecue` binary's subcommands do; `main.rs` only parses and dispatches.
//!
//! Start reading at [`analyze::Analyzer::analyze`].

pub mod analyze;
pub mod audience;
pub mod catalog;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod experiment;
pub mod html;
pub mod ingest;
pub mod live;
pub mod metrics;
pub mod privacy;
pub mod push;
pub mod report;
pub mod room;
pub mod server;
pub mod sources;
pub mod store;
pub mod suggest;
pub mod train;
pub mod wire;
