#!/usr/bin/env bash
# Reproduce the figures in docs/benchmarks.md. Run from the repository root after
# the README's set-up command; needs Fashion-MNIST (Debian: dataset-fashion-mnist).
# Each step writes into runs/targets-DATE/. The whole script took 4.4 minutes on a
# 2-core AVX-512 machine, most of it in the sweep; a slower or busier machine takes
# longer. With --targets-only, only steps 1-3 run: the figures of the targets table.
set -euo pipefail
targets_only=false
case "${1:-}" in
    "") ;;
    --targets-only) targets_only=true ;;
    *) echo "usage: $0 [--targets-only]" >&2; exit 2 ;;
esac
out="runs/targets-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
mlpbench=".venv/bin/mlpbench"

# 1. Speed ratios at batch 64: every engine, medians of 3 timed runs, interleaved.
"$mlpbench" compare --dataset fashion-mnist --hidden 128 --batch-size 64 --epochs 2 \
    --repeats 3 --warmup 1 --out "$out/batch64"

# 2. Efficiency at batch 256: the two parameter-sharing engines against the matmul peak.
"$mlpbench" compare --dataset fashion-mnist --hidden 128 --batch-size 256 --epochs 2 \
    --engines numpy,torch --repeats 3 --warmup 1 --out "$out/batch256"

# 3. The accuracy recipe, once per engine.
for engine in numpy torch; do
    "$mlpbench" train --config examples/fashion_mnist.toml --engine "$engine" \
        --history "$out/recipe-$engine.csv" | tee "$out/recipe-$engine.txt"
done

if "$targets_only"; then
    echo "results in $out"
    exit 0
fi

# 4. Where the time goes: one profiled epoch per engine.
"$mlpbench" profile --dataset fashion-mnist --hidden 128 --batch-size 64 \
    --json "$out/profile.json" | tee "$out/profile.txt"

# 5. The sweep over batch size, width, dtype and threads.
"$mlpbench" sweep --out "$out/sweep" --samples 6000 --repeats 2
echo "results in $out"
