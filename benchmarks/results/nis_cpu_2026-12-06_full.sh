#!/bin/bash
# the whole issue-4 table in one run: every case, every method, seeds 0,1,2, nothing else on the cores
set -e
cd "$(dirname "$0")/../.."   # the repository root
date -u
.venv-bench/bin/python benchmarks/nis.py --cases dy_zprime,ee_qqg,ttbar6 --seeds 0,1,2 \
    --train-calls 500000 --eval 1000000 --json runs/nis_full_physics.json
date -u
.venv-bench/bin/python benchmarks/nis.py --cases camel4,camel8,camelN8,gauss16,ridge8,camel16 --seeds 0,1,2 \
    --train-calls 1000000 --eval 1000000 --json runs/nis_full_toys.json
date -u
