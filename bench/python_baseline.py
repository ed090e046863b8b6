#!/usr/bin/env python3
"""Python baseline for LiveCue: the pipeline people would otherwise write,
`jieba.lcut(line)` for segmentation + `SnowNLP(line).sentiments` for sentiment,
timed over every line of a comment corpus.

    python bench/python_baseline.py benches/data/comments.txt [--repeats 5]

Prints one JSON object. Each repeat runs one full-pipeline pass and one
jieba-only pass over all lines (interleaved, so slow drift on a noisy machine
hits both alike); medians are over the repeats. Warm-up (jieba dictionary
load, first SnowNLP call) happens before any timing.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from importlib import metadata


def load_lines(path):
    with open(path, encoding="utf-8") as f:
        return [ln.rstrip("\r\n") for ln in f if ln.strip() and not ln.startswith("#")]


def pkg_version(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", help="UTF-8 file, one comment per line")
    ap.add_argument("--repeats", type=int, default=5, help="timed passes per variant (default %(default)s)")
    args = ap.parse_args()
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")

    lines = load_lines(args.corpus)
    if not lines:
        ap.error(f"no comments in {args.corpus}")

    import jieba
    from snownlp import SnowNLP

    jieba.setLogLevel(60)  # silence "Building prefix dict ..." on stderr
    t0 = time.perf_counter()
    jieba.initialize()
    jieba.lcut(lines[0])
    SnowNLP(lines[0]).sentiments
    warmup_s = time.perf_counter() - t0

    lcut = jieba.lcut
    full_times, jieba_times = [], []
    tokens = 0
    sentiment_sum = 0.0
    for _ in range(args.repeats):  # bounded: exactly `repeats` passes of each
        t = time.perf_counter()
        tok = 0
        sent = 0.0
        for line in lines:
            tok += len(lcut(line))
            sent += SnowNLP(line).sentiments
        full_times.append(time.perf_counter() - t)
        tokens, sentiment_sum = tok, sent

        t = time.perf_counter()
        for line in lines:
            lcut(line)
        jieba_times.append(time.perf_counter() - t)

    n = len(lines)
    full_med = statistics.median(full_times)
    jieba_med = statistics.median(jieba_times)
    summary = {
        "corpus": args.corpus,
        "lines": n,
        "repeats": args.repeats,
        "pipeline": "jieba.lcut(line) + SnowNLP(line).sentiments",
        "full_pipeline": {
            "median_s_per_pass": round(full_med, 6),
            "min_s_per_pass": round(min(full_times), 6),
            "median_comments_per_s": round(n / full_med, 1),
            "median_us_per_comment": round(full_med / n * 1e6, 2),
        },
        "jieba_only": {
            "median_s_per_pass": round(jieba_med, 6),
            "min_s_per_pass": round(min(jieba_times), 6),
            "median_comments_per_s": round(n / jieba_med, 1),
            "median_us_per_comment": round(jieba_med / n * 1e6, 2),
        },
        "pass_times_s": {
            "full_pipeline": [round(x, 6) for x in full_times],
            "jieba_only": [round(x, 6) for x in jieba_times],
        },
        # cross-check values (not timings): jieba token count, mean SnowNLP score
        "check": {"jieba_tokens": tokens, "mean_sentiment": round(sentiment_sum / n, 6)},
        "warmup_s": round(warmup_s, 3),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "packages": {"jieba": pkg_version("jieba"), "snownlp": pkg_version("snownlp")},
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
    }
    json.dump(summary, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
