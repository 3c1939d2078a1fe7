#!/usr/bin/env bash
# `make run`: start a predictor and a scheduler service on loopback, generate a small dataset, run
# `servesim throughput` as a job on the scheduler (which calls the predictor every iteration), print
# the report, then stop both services.
#
# SERVESIM_CLI overrides the CLI command (default: node clients/cli/dist/main.js, built by `make build`).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -n "${SERVESIM_CLI:-}" ]]; then
  read -r -a cli <<<"$SERVESIM_CLI"
else
  cli=(node clients/cli/dist/main.js)
  if [[ ! -f clients/cli/dist/main.js ]]; then
    echo "run-demo: clients/cli/dist/main.js is missing; run 'make build' first (or 'make run')" >&2
    exit 1
  fi
fi

dir=.servesim-run
mkdir -p "$dir"
free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

pids=()
stop_services() {
  ((${#pids[@]})) || return 0
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  # Graceful drain first; anything still running after 15 s is killed.
  local deadline=$((SECONDS + 15))
  for p in "${pids[@]}"; do
    while kill -0 "$p" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  pids=()
}
trap stop_services EXIT
trap 'exit 130' INT TERM

# Waits until a service answers SERVING; on failure shows the end of its log.
wait_healthy() {
  local name=$1 address=$2 log=$3
  if ! "${cli[@]}" health --address "$address" --wait 30s --quiet; then
    echo "run-demo: the $name service on $address did not become healthy; last lines of $log:" >&2
    tail -n 20 "$log" >&2 || true
    exit 1
  fi
}

pport=$(free_port)
sport=$(free_port)
"${cli[@]}" serve predictor --host 127.0.0.1 --port "$pport" >"$dir/predictor.log" 2>&1 &
pids+=($!)
"${cli[@]}" serve scheduler --host 127.0.0.1 --port "$sport" --predictor-address "127.0.0.1:$pport" --job-store "sqlite:$dir/jobs.db" >"$dir/scheduler.log" 2>&1 &
pids+=($!)
wait_healthy predictor "127.0.0.1:$pport" "$dir/predictor.log"
wait_healthy scheduler "127.0.0.1:$sport" "$dir/scheduler.log"
echo "predictor on 127.0.0.1:$pport, scheduler on 127.0.0.1:$sport (logs in $dir/)" >&2

"${cli[@]}" prepare-dataset token-norm-dist --num-requests 200 --input-mean 1024 --input-stdev 128 \
  --output-mean 256 --output-stdev 32 --seed 42 --output "$dir/dataset.jsonl"
"${cli[@]}" throughput --scheduler-address "127.0.0.1:$sport" --dataset "$dir/dataset.jsonl" \
  --model meta-llama/Llama-3.1-8B-Instruct --gpu h100_sxm --tp 1 --predictor roofline \
  --report-json "$dir/report.json" --request-json "$dir/requests.jsonl" --iteration-log "$dir/iterations.log"
echo "report.json, requests.jsonl and iterations.log are in $dir/" >&2
