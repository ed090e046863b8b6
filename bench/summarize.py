"""Summarizes a `bench/run-all` output directory as Markdown: medians over repeated runs.

    python3 bench/summarize.py target/bench-results
"""
import json
import re
import statistics
import sys
from pathlib import Path


def median(values):
    values = [v for v in values if isinstance(v, (int, float))]
    return statistics.median(values) if values else None


def main(out: Path) -> None:
    runs: dict[str, list[dict]] = {}
    for line in (out / "e2e.jsonl").read_text().splitlines():
        row = json.loads(line)
        runs.setdefault(row["scenario"], []).append(row)

    print((out / "machine.txt").read_text().strip().replace("\n", "  \n"))
    print()
    analyze = (out / "analyze.txt").read_text() if (out / "analyze.txt").exists() else ""
    thrpt = dict(
        re.findall(r"comments/(\w+)\s*\n?\s*time:.*?\n\s*thrpt:\s*\[[^ ]+ [^ ]+ ([^ ]+ \S+)", analyze)
    )
    if thrpt:
        print("| analysis (criterion, same run) | median throughput |")
        print("|---|---|")
        for name, value in thrpt.items():
            print(f"| `{name}` | {value} |")
        print()
    python = out / "python.json"
    if python.exists():
        print(f"Python pipeline: `{python.read_text().strip()[:300]}`")
        print()

    def row(scenario, fields):
        rs = runs.get(scenario, [])
        cells = [str(median([r.get(f) for r in rs])) for f in fields]
        return f"| {scenario} ({len(rs)} runs) | " + " | ".join(
            f"{f} = {c}" for f, c in zip(fields, cells)
        ) + " |"

    print("| scenario | medians |")
    print("|---|---|")
    print(row("startup", ["bound_ms_median", "ready_ms_median", "rss_mib_at_ready"]))
    print(row("rooms", ["rate", "ack_p50_ms", "ack_p99_ms", "server_cores", "sim_cores"]))
    print(row("max-rate", ["best_rate"]))
    print(row("cue-latency", ["cue_p50_ms", "cue_p99_ms", "missed", "background_rate"]))
    print(row("fanout", [
        "idle_rss_per_client_kib", "clients_lagged", "clients_closed",
        "cue_delivery_p50_ms", "cue_delivery_p99_ms",
    ]))
    for r in runs.get("memory", []):
        print(
            f"| memory | {r['comments']} comments ({r['simulated_hours']} simulated h), "
            f"RSS samples (MiB) {r['rss_mib_samples']}, growth after warm-up "
            f"{r['rss_growth_after_warmup_pct']}%, store {r['store_mib_per_million']} MiB per million |"
        )
    for r in runs.get("max-rate", []):
        steps = ", ".join(
            f"{s['target']}→{s['rate']} p99 {s['ack_p99_ms']} ms{'' if s['held'] else ' ✗'}"
            for s in r["steps"]
        )
        print(f"\nmax-rate ladder: {steps}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "target/bench-results"))
