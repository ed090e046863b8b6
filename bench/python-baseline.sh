#!/usr/bin/env bash
# Python baseline for LiveCue: jieba segmentation + SnowNLP sentiment over
# benches/data/comments.txt, in a throwaway venv. Prints a JSON summary.
#
#   bash bench/python-baseline.sh                 # 5 repeats
#   bash bench/python-baseline.sh --repeats 3     # extra args go to python_baseline.py
#
# Env: LIVECUE_PYBENCH_VENV  venv dir   (default /tmp/livecue-pybench-venv)
#      PYTHON                interpreter used to create it (default python3)
#      CORPUS                comments file (default benches/data/comments.txt)
set -euo pipefail

cd "$(dirname "$0")/.."

VENV="${LIVECUE_PYBENCH_VENV:-/tmp/livecue-pybench-venv}"
PYTHON="${PYTHON:-python3}"
CORPUS="${CORPUS:-benches/data/comments.txt}"
JIEBA_VERSION="0.42.1"
SNOWNLP_VERSION="0.12.3"

if [ ! -x "$VENV/bin/python" ]; then
    echo "creating venv $VENV" >&2
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "jieba==$JIEBA_VERSION" "snownlp==$SNOWNLP_VERSION" >&2

exec "$VENV/bin/python" bench/python_baseline.py "$CORPUS" "$@"
