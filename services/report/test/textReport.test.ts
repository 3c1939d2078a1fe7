import { describe, expect, it } from "vitest";
import { computeMetrics } from "../src/metrics.js";
import {
  backendSection,
  datasetCell,
  datasetSection,
  performanceSection,
  renderTextReport,
  requestSection,
  simulationSection,
  worldSection,
} from "../src/textReport.js";
import { example112, failedRecord, input112 } from "./fixtures.js";

const R = "===========================================================";
const m = computeMetrics(example112, { worldSize: 1 });

// Golden text written by hand from `ReportUtility` (tensorrt_llm/bench/dataclasses/reporting.py) for worked
// example E2 (docs/engine.md; the same text is shown in docs/datasets-and-reports.md).
const BACKEND = `${R}
= PYTORCH BACKEND
${R}
Model:\t\t\tmeta-llama/Llama-3.1-8B
Model Path:\t\tNone
TensorRT LLM Version:\t1.2.0rc5 (sim)
Dtype:\t\t\tbfloat16
KV Cache Dtype:\t\tNone
Quantization:\t\tNone

`;

const REQUEST = `${R}
= REQUEST DETAILS 
${R}
Number of requests:             3
Number of concurrent requests:  2.3333
Average Input Length (tokens):  116.6667
Average Output Length (tokens): 2.3333
`;

const WORLD = `${R}
= WORLD + RUNTIME INFORMATION 
${R}
TP Size:                1
PP Size:                1
EP Size:                None
Max Runtime Batch Size: 2
Max Runtime Tokens:     8192
Scheduling Policy:      GUARANTEED_NO_EVICT
KV Memory Percentage:   90.00%
Issue Rate (req/sec):   0.0000E+00

`;

const PERFORMANCE = `${R}
= PERFORMANCE OVERVIEW 
${R}
Request Throughput (req/sec):                     100.0000
Total Output Throughput (tokens/sec):             233.3333
Total Token Throughput (tokens/sec):              11900.0000
Total Latency (ms):                               30.0000
Average request latency (ms):                     23.3333
Per User Output Throughput [w/ ctx] (tps/user):   106.6667
Per GPU Output Throughput (tps/gpu):              233.3333
Average time-to-first-token [TTFT] (ms):          15.0000
Average time-per-output-token [TPOT] (ms):        5.8333
Per User Output Speed (tps/user):                 177.7778

-- Per-Request Time-per-Output-Token [TPOT] Breakdown (ms)

[TPOT] MINIMUM: 5.0000
[TPOT] MAXIMUM: 7.5000
[TPOT] AVERAGE: 5.8333
[TPOT] P50    : 5.0000
[TPOT] P90    : 7.5000
[TPOT] P95    : 7.5000
[TPOT] P99    : 7.5000

-- Per-Request Time-to-First-Token [TTFT] Breakdown (ms) 

[TTFT] MINIMUM: 10.0000
[TTFT] MAXIMUM: 25.0000
[TTFT] AVERAGE: 15.0000
[TTFT] P50    : 10.0000
[TTFT] P90    : 25.0000
[TTFT] P95    : 25.0000
[TTFT] P99    : 25.0000

-- Per-Request Generation Throughput [GTPS] Breakdown (tps/user)

[GTPS] MINIMUM: 133.3333
[GTPS] MAXIMUM: 200.0000
[GTPS] AVERAGE: 177.7778
[GTPS] P50    : 200.0000
[GTPS] P90    : 200.0000
[GTPS] P95    : 200.0000
[GTPS] P99    : 200.0000

-- Request Latency Breakdown (ms) -----------------------

[Latency] P50    : 25.0000
[Latency] P90    : 30.0000
[Latency] P95    : 30.0000
[Latency] P99    : 30.0000
[Latency] MINIMUM: 15.0000
[Latency] MAXIMUM: 30.0000
[Latency] AVERAGE: 23.3333
`;

const DATASET = `
${R}
= DATASET DETAILS
${R}
Dataset Path:         /data/example.jsonl
Number of Sequences:  3

-- Percentiles statistics ---------------------------------

        Input              Output           Seq. Length
-----------------------------------------------------------
MIN:    50.0000             2.0000            52.0000
MAX:   200.0000             3.0000           202.0000
AVG:   116.6667             2.3333           119.0000
P50:   100.0000             2.0000           103.0000
P90:   200.0000             3.0000           202.0000
P95:   200.0000             3.0000           202.0000
P99:   200.0000             3.0000           202.0000
${R}
`;

const SIMULATION = `
${R}
= SIMULATION DETAILS
${R}
Predictor:                constant (prefill 10 ms, decode 5 ms)
System:                   h100_sxm
Backend:                  trtllm 1.0.0
Database Path:            None
KV Cache Blocks:          1000
Tokens per Block:         32
Iterations:               4
Prefill Iterations:       1
Decode Iterations:        2
Mixed Iterations:         1
Paused Requests:          0
Failed Requests:          0
Simulated Duration (ms):  30.0000
Wall Time (ms):           1.2500
${R}
`;

describe("text report sections (golden)", () => {
  it("PYTORCH BACKEND (tabs)", () => expect(backendSection(input112)).toBe(BACKEND));
  it("REQUEST DETAILS (column 32, trailing space in header)", () => expect(requestSection(m)).toBe(REQUEST));
  it("WORLD + RUNTIME INFORMATION (column 24, .2f%, .4E)", () => expect(worldSection(m, input112)).toBe(WORLD));
  it("PERFORMANCE OVERVIEW (column 50) with the streaming block and breakdowns", () => expect(performanceSection(m)).toBe(PERFORMANCE));
  it("DATASET DETAILS (9.4f cells)", () => expect(datasetSection(input112.dataset)).toBe(DATASET));
  it("SIMULATION DETAILS", () => expect(simulationSection(m, input112)).toBe(SIMULATION));

  it("whole report: [SIM] banner, blank line, then the sections in order", () => {
    const text = renderTextReport(m, input112);
    expect(text).toBe(
      "[SIM] servesim simulated run — no GPU used. Predictor: constant (prefill 10 ms, decode 5 ms). Results are predictions.\n\n" +
        BACKEND +
        REQUEST +
        WORLD +
        PERFORMANCE +
        DATASET +
        SIMULATION,
    );
    expect(
      text
        .split("\n")
        .filter((l) => l.startsWith("="))
        .every((l) => l === R || l.startsWith("= ")),
    ).toBe(true);
  });
});

describe("text report details", () => {
  it("dataset cells switch to 9.2e from 100000", () => {
    expect(datasetCell(99999.5)).toBe("99999.5000");
    expect(datasetCell(123456)).toBe(" 1.23e+05");
    expect(datasetCell(7)).toBe("   7.0000");
  });

  it("world section prints EP, FP8 and a non-zero issue rate like Python", () => {
    const staggered = computeMetrics([example112[0]!, { ...example112[1]!, startMs: 4 }]);
    const text = worldSection(staggered, { ...input112, world: { ...input112.world, ep: 2, kvCacheFraction: null, schedulingPolicy: "max_utilization" } });
    expect(text).toContain("EP Size:                2\n");
    expect(text).toContain("KV Memory Percentage:   None\n");
    expect(text).toContain("Scheduling Policy:      MAX_UTILIZATION\n");
    // The true rate (2 requests over 4 ms), with trtllm-bench's unit-slipped figure beside it, labelled.
    expect(text).toContain("Issue Rate (req/sec):   500.0000 (trtllm-bench's unit quirk prints 2.0000E+15)\n");
    const engine = backendSection({
      ...input112,
      engine: { ...input112.engine, modelPath: "/models/llama", kvCacheDtype: "FP8", quantization: "FP8", version: "1.1.0 (sim)" },
    });
    expect(engine).toContain("Model Path:\t\t/models/llama\nTensorRT LLM Version:\t1.1.0 (sim)\n");
    expect(engine).toContain("KV Cache Dtype:\t\tFP8\nQuantization:\t\tFP8\n");
  });

  it("SIMULATION DETAILS lists failures by reason and flags approximated prompts", () => {
    const withFailures = computeMetrics([...example112, failedRecord, { ...failedRecord, taskId: 9 }, { ...failedRecord, taskId: 10, error: "other" }]);
    const text = simulationSection(withFailures, { ...input112, sim: { ...input112.sim, approxPromptTokens: true } });
    expect(text).toContain(
      "Failed Requests:          3\n" +
        "  [2x] prompt of 9000 tokens exceeds max_num_tokens 8192\n" +
        "  [1x] other\n" +
        "Prompt Lengths:           approximated as ceil(characters / 4)\n",
    );
  });
});
