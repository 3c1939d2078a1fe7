#!/usr/bin/env bash
# `make run`: start a predictor and a scheduler service on loopback, generate a small dataset, run
# `servesim throughput` as a job on the scheduler (which calls the predictor every iteration), print
# the report, then stop both services.
set -euo pipefail
cd "$(dirname "$0")/.."
cli=(node dist/clients/cli/src/main.js)
dir=.servesim-run
mkdir -p "$dir"
free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
pport=$(free_port); sport=$(free_port)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

"${cli[@]}" serve predictor --host 127.0.0.1 --port "$pport" >"$dir/predictor.log" 2>&1 & pids+=($!)
"${cli[@]}" serve scheduler --host 127.0.0.1 --port "$sport" --predictor-address "127.0.0.1:$pport" >"$dir/scheduler.log" 2>&1 & pids+=($!)
"${cli[@]}" health --address "127.0.0.1:$pport" --wait 30s >/dev/null
"${cli[@]}" health --address "127.0.0.1:$sport" --wait 30s >/dev/null
echo "predictor on 127.0.0.1:$pport, scheduler on 127.0.0.1:$sport (logs in $dir/)" >&2

"${cli[@]}" prepare-dataset token-norm-dist --num-requests 200 --input-mean 1024 --input-stdev 128 \
  --output-mean 256 --output-stdev 32 --seed 42 --output "$dir/dataset.jsonl"
"${cli[@]}" throughput --scheduler-address "127.0.0.1:$sport" --dataset "$dir/dataset.jsonl" \
  --model meta-llama/Llama-3.1-8B-Instruct --gpu h100_sxm --tp 1 --predictor roofline \
  --report-json "$dir/report.json" --request-json "$dir/requests.jsonl"
