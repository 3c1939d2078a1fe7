#!/bin/sh
# Runs entry $JOB_COMPLETION_INDEX of the sweep file (Kubernetes sets the variable in Indexed Job pods)
# with `servesim throughput` against $SERVESIM_SCHEDULER_ADDRESS, then prints the report as one line
#   SERVESIM_SWEEP_RESULT {"index":N,"args":"<entry>","report":{...report JSON...}}
# after the CLI's own output, so `kubectl logs` alone collects the results.
set -eu

: "${SERVESIM_SCHEDULER_ADDRESS:?set it to the scheduler address, e.g. scheduler:50052}"
index=${JOB_COMPLETION_INDEX:?not set: run as an Indexed Job pod or export it}
case "$index" in
  '' | *[!0-9]*) echo "sweep: JOB_COMPLETION_INDEX must be a non-negative integer, got '$index'" >&2; exit 2 ;;
esac

sweep_dir=${SWEEP_DIR:-/etc/servesim/sweep}
sweep_file=${SWEEP_FILE:-$sweep_dir/sweep.txt}
dataset=${SWEEP_DATASET:-$sweep_dir/dataset.jsonl}
results_dir=${RESULTS_DIR:-/results}
cli=${SERVESIM_CLI:-/app/clients/cli/dist/main.js}

entries=$(grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$sweep_file" || true)
count=$(printf '%s\n' "$entries" | grep -c . || true)
args=$(printf '%s\n' "$entries" | sed -n "$((index + 1))p")
if [ -z "$args" ]; then
  echo "sweep: no entry $index in $sweep_file, which has $count; set the Job's completions to $count" >&2
  exit 2
fi

mkdir -p "$results_dir"
report="$results_dir/report-$index.json"
echo "sweep: entry $index of $count: $args" >&2

# The entry is a list of flags: split it on whitespace, without glob expansion.
set -f
# shellcheck disable=SC2086
node "$cli" throughput --scheduler-address "$SERVESIM_SCHEDULER_ADDRESS" --dataset "$dataset" --report-json "$report" $args
set +f

node -e '
const [index, args, file] = process.argv.slice(1);
const report = JSON.parse(require("node:fs").readFileSync(file, "utf8"));
process.stdout.write("SERVESIM_SWEEP_RESULT " + JSON.stringify({ index: Number(index), args, report }) + "\n");
' "$index" "$args" "$report"
