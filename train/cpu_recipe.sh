#!/usr/bin/env bash
# The paper's findings on the simulated rig, sized for a 2-core CPU (docs/training.md: "CPU recipe").
# Smaller than the paper: 128x128 prints instead of 2048x2048, 64x64 crops instead of 256,
# 2000 iterations at lr 1e-3 instead of 100 000 at 1e-4 (1000 left linear and the networks
# tied on PSNR/ΔE00), unet and unet-gan at base width 16 instead of 64.
# Content: the default mix of `device capture` (dead leaves, faces, charts, smooth fields,
# foliage, skies; no photos), split by source, so the test split holds only sources no model
# trained on; the held-out photos are a second test set.
# Usage: bash train/cpu_recipe.sh [OUT]   (OUT must not hold an earlier run)
set -euo pipefail
OUT=${1:-runs/cpu-recipe}
PY=${PY:-.venv/bin/python}
FIT=(--crop 64 --batch 8)
mkdir -p "$OUT"

"$PY" -m device capture --rig sim --out "$OUT/sim" --count 100 --size 128 --seed 0
"$PY" -m device capture --rig sim --held-out --out "$OUT/held-out" --count 12 --size 128 --seed 0
"$PY" -m train fit --data "$OUT/sim" --model linear --patch 12 --out "$OUT/linear"
"$PY" -m train fit --data "$OUT/sim" --model unet --base 16 "${FIT[@]}" --lr 1e-3 --iters 2000 \
    --val-every 500 --out "$OUT/unet"
"$PY" -m train fit --data "$OUT/sim" --model unet-gan --base 16 "${FIT[@]}" --lr 1e-3 \
    --iters 2000 --val-every 500 --out "$OUT/unet-gan"
"$PY" -m train fit --data "$OUT/sim" --model edge "${FIT[@]}" --lr 1e-3 --iters 2000 \
    --val-every 500 --out "$OUT/edge"
MODELS=("$OUT/linear/best.pt" "$OUT/unet/best.pt" "$OUT/unet-gan/best.pt" "$OUT/edge/best.pt")
"$PY" -m train eval --data "$OUT/sim" --out "$OUT/eval" --ckpt "${MODELS[@]}"
"$PY" -m train eval --data "$OUT/held-out" --out "$OUT/eval-held-out" --ckpt "${MODELS[@]}"
"$PY" -m train ablate --data "$OUT/sim" --model edge "${FIT[@]}" --lr 1e-3 --iters 300 \
    --val-every 300 --out "$OUT/ablate"
# Speed: the trained models, then the deployed widths (paper's unet, base 64, vs edge).
"$PY" bench/bench_models.py "${MODELS[@]}"
"$PY" bench/bench_models.py --models unet edge
