//! The sources' health in `/metrics` (the OpenMetrics text format).

use std::fmt::Write as _;

use super::SourceSnapshot;

/// Writes the sources' health in the OpenMetrics text format, to be placed before the
/// `# EOF` line of `/metrics`. Families: `livecue_source_connected` (gauge),
/// `livecue_source_messages`, `livecue_source_events`, `livecue_source_reconnects`,
/// `livecue_source_gaps`, `livecue_source_decode_errors` (counters, with `error`),
/// `livecue_source_last_message_timestamp_seconds` (gauge), labelled `room`, `source`, `kind`.
pub fn encode_metrics(snapshots: &[SourceSnapshot], out: &mut String) {
    if snapshots.is_empty() {
        return;
    }
    let labels = |s: &SourceSnapshot| {
        format!(
            "room=\"{}\",source=\"{}\",kind=\"{}\"",
            escape(&s.room),
            escape(&s.name),
            s.kind
        )
    };
    let family = |out: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(out, "# HELP livecue_source_{name} {help}.");
        let _ = writeln!(out, "# TYPE livecue_source_{name} {kind}");
    };
    family(out, "connected", "gauge", "1 while the source is connected");
    for s in snapshots {
        let _ = writeln!(
            out,
            "livecue_source_connected{{{}}} {}",
            labels(s),
            u8::from(s.connected)
        );
    }
    let counters: [Counter; 4] = [
        (
            "messages",
            "Frames or requests received from the platform",
            |s| s.messages,
        ),
        ("events", "Events handed to the room", |s| s.events),
        ("reconnects", "Connections opened after the first", |s| {
            s.reconnects
        }),
        ("gaps", "Stretches where messages may be missing", |s| {
            s.gaps_total
        }),
    ];
    for (name, help, value) in counters {
        family(out, name, "counter", help);
        for s in snapshots {
            let _ = writeln!(
                out,
                "livecue_source_{name}_total{{{}}} {}",
                labels(s),
                value(s)
            );
        }
    }
    family(
        out,
        "decode_errors",
        "counter",
        "Undecodable input from the platform, by error kind",
    );
    for s in snapshots {
        for (error, n) in &s.decode_errors {
            let _ = writeln!(
                out,
                "livecue_source_decode_errors_total{{{},error=\"{error}\"}} {n}",
                labels(s)
            );
        }
    }
    family(
        out,
        "last_message_timestamp_seconds",
        "gauge",
        "When the platform last sent anything",
    );
    for s in snapshots {
        if let Some(at) = s.last_message_at {
            let _ = writeln!(
                out,
                "livecue_source_last_message_timestamp_seconds{{{}}} {}",
                labels(s),
                at as f64 / 1000.0
            );
        }
    }
}

/// A counter family: name, help, and how to read it from a snapshot.
type Counter = (&'static str, &'static str, fn(&SourceSnapshot) -> u64);

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
