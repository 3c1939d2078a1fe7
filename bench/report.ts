/** The benchmark's Markdown: machine, per-case medians, targets and ratios of this run. */
import { cpus, platform, release, totalmem } from "node:os";
import { type CaseResult, medianOf } from "./measure.js";

export interface RunInfo {
  started: Date;
  loadAtStart: number[];
  loadAtEnd: number[];
  command: string;
  failures: string[];
}

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

const ms = (v: number): string => (Number.isFinite(v) ? (v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`) : "–");
const mib = (v: number): string => (Number.isFinite(v) ? (v >= GiB ? `${(v / GiB).toFixed(2)} GiB` : `${Math.round(v / MiB)} MiB`) : "–");
const rate = (v: number): string => (Number.isFinite(v) ? Math.round(v).toLocaleString("en-US") : "–");
const ratio = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(2)}×` : "–");
const verdict = (ok: boolean | null): string => (ok === null ? "–" : ok ? "met" : "**not met**");

export function renderMarkdown(results: CaseResult[], info: RunInfo): string {
  const by = new Map(results.map((r) => [r.id, r]));
  const m = (id: string, key: string): number => {
    const r = by.get(id);
    return r ? medianOf(r.samples, key) : Number.NaN;
  };
  const cpu = cpus();
  const lines: string[] = [];
  lines.push(`## Run of ${info.started.toISOString()}`, "");
  lines.push(
    `Machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? "unknown CPU"}, ${(totalmem() / GiB).toFixed(0)} GiB RAM, ` +
      `${platform()} ${release()}, Node ${process.version}. Load average (1/5/15 min) at start ${info.loadAtStart.join(" / ")}, ` +
      `at end ${info.loadAtEnd.join(" / ")}.`,
    "",
    `Command: \`${info.command}\` (after \`npx tsc -p tsconfig.build.json\`; \`make bench\` does both).`,
    "",
  );

  lines.push("| case | what | reps | wall (median) | simulation only | iterations | iterations/s (simulation) | peak RSS | services' peak RSS |");
  lines.push("|---|---|---|---|---|---|---|---|---|");
  for (const r of results) {
    const total = medianOf(r.samples, "totalMs");
    const sim = medianOf(r.samples, "simMs");
    const iters = medianOf(r.samples, "iterations");
    const services =
      Object.entries(r.servicePeakRss)
        .map(([k, v]) => `${k} ${mib(v)}`)
        .join(", ") || "–";
    const wall = r.id === "F" ? "see below" : Number.isFinite(total) ? ms(total) : `${ms(sim)} (simulation)`;
    lines.push(
      `| ${r.id} | ${r.title} | ${r.samples.length} | ${wall} | ${r.id === "F" ? "–" : ms(sim)} | ${rate(iters)} | ` +
        `${Number.isFinite(sim) ? rate(iters / (sim / 1000)) : "–"} | ${mib(r.peakRssBytes)} | ${services} |`,
    );
  }
  lines.push("");

  const parts = results.filter((r) => r.samples.some((s) => "resolveMs" in s || "pingPongSimMs" in s));
  if (parts.length > 0) {
    lines.push("Where the time goes (medians): resolve = workload generation and job resolution; simulation = engine + predictor;");
    lines.push("metrics + reports = trtllm-bench statistics and both reports; plain = the same simulation without decode runs or pipelining.", "");
    lines.push("| case | resolve | simulation | metrics + reports | plain simulation | fast-path speed-up |");
    lines.push("|---|---|---|---|---|---|");
    for (const r of parts) {
      const sim = medianOf(r.samples, "simMs");
      const plain = r.id === "B" ? medianOf(r.samples, "pingPongSimMs") : medianOf(r.samples, "plainSimMs");
      lines.push(
        `| ${r.id} | ${ms(medianOf(r.samples, "resolveMs"))} | ${ms(sim)} | ${ms(medianOf(r.samples, "reportMs"))} | ${ms(plain)} | ${ratio(plain / sim)} |`,
      );
    }
    lines.push("");
  }

  const f = by.get("F");
  if (f) {
    lines.push("Case F, predictions per second (64-request decode batch, medians):", "");
    lines.push("| one stream, pipelined (256 in flight) | one stream, ping-pong | unary, one at a time | unary, 32 in flight |");
    lines.push("|---|---|---|---|");
    lines.push(
      `| ${rate(medianOf(f.samples, "streamPipelinedPerS"))} | ${rate(medianOf(f.samples, "streamPingPongPerS"))} | ` +
        `${rate(medianOf(f.samples, "unarySequentialPerS"))} | ${rate(medianOf(f.samples, "unaryConcurrentPerS"))} |`,
      "",
    );
  }

  const aTotal = m("A", "totalMs");
  const aSim = m("A", "simMs");
  const targets: Array<[string, string, string]> = [];
  if (by.has("A")) targets.push(["A ≤ 2 s wall", ms(aTotal), verdict(aTotal <= 2000)]);
  if (by.has("A") && by.has("B")) {
    targets.push([
      "B ≤ 1.5 × A",
      `${ratio(m("B", "totalMs") / aTotal)} (simulation only: ${ratio(m("B", "simMs") / aSim)})`,
      verdict(m("B", "totalMs") / aTotal <= 1.5),
    ]);
  }
  if (by.has("A") && by.has("C")) targets.push(["C ≤ 1.6 × A", ratio(m("C", "totalMs") / aTotal), verdict(m("C", "totalMs") / aTotal <= 1.6)]);
  const d = by.get("D");
  if (d) {
    const dSim = m("D", "simMs");
    const dReport = m("D", "reportMs");
    const dWall = dSim + (Number.isFinite(dReport) ? dReport : 0);
    targets.push([`D ≤ 60 s (simulation${Number.isFinite(dReport) ? " + metrics + reports" : ""})`, ms(dWall), verdict(dWall <= 60_000)]);
    targets.push(["D peak RSS ≤ 2 GiB", mib(d.peakRssBytes), verdict(d.peakRssBytes <= 2 * GiB)]);
  }
  const k = by.get("K");
  if (k) {
    targets.push(["K (72-GPU disaggregated cluster, 200k requests) ≤ 60 s wall", ms(m("K", "totalMs")), verdict(m("K", "totalMs") <= 60_000)]);
    targets.push(["K peak RSS ≤ 4 GiB", mib(k.peakRssBytes), verdict(k.peakRssBytes <= 4 * GiB)]);
  }
  if (by.has("E")) targets.push(["E ≤ 2 s wall", ms(m("E", "totalMs")), verdict(m("E", "totalMs") <= 2000)]);
  if (by.has("H")) targets.push(["H (case A from the CLI) ≤ 0.4 s wall", ms(m("H", "totalMs")), verdict(m("H", "totalMs") <= 400)]);
  if (by.has("G")) targets.push(["G (1,000-point sweep) ≤ 60 s wall", ms(m("G", "totalMs")), verdict(m("G", "totalMs") <= 60_000)]);
  if (by.has("L")) {
    // What an orchestrator probes: the dedicated health port when the scheduler has one (see bench/healthCase.ts).
    const p99 = m("L", "healthP99Ms");
    targets.push([
      "L: scheduler health p99 ≤ 50 ms under 200 clients",
      `${p99.toFixed(1)} ms (p50 ${m("L", "healthP50Ms").toFixed(1)} ms)`,
      verdict(p99 <= 50),
    ]);
  }
  if (by.has("A") && by.has("S")) {
    // 4× the requests: a per-request cost ratio ≤ ~1 means linear (or better).
    const per = (key: string) => m("S", key) / 4 / m("A", key);
    targets.push([
      "40k vs 10k requests: cost per request (1.00 = linear)",
      `total ${per("totalMs").toFixed(2)}, simulation ${per("simMs").toFixed(2)}, resolve ${per("resolveMs").toFixed(2)}, metrics + reports ${per("reportMs").toFixed(2)}`,
      verdict(per("simMs") <= 1.25),
    ]);
  }
  const p = by.get("P");
  if (p) targets.push(["P: dataset read ≥ 200 MB/s", `${m("P", "mbPerS").toFixed(0)} MB/s`, verdict(m("P", "mbPerS") >= 200)]);
  const q = by.get("Q");
  if (p && q) {
    // 4× the file: the process grows by what is kept (lengths and block keys, ~0.25 B per prompt token), not by the file.
    const extra = p.peakRssBytes - q.peakRssBytes;
    const fileExtra = (m("P", "fileMB") - m("Q", "fileMB")) * 1e6;
    targets.push([
      "P vs Q: peak RSS growth per byte of file (memory independent of the file's text)",
      `${mib(extra)} more for ${mib(fileExtra)} more file (${(extra / fileExtra).toFixed(3)} B/B)`,
      verdict(extra / fileExtra <= 0.25),
    ]);
  }
  const mm = by.get("M");
  if (mm) {
    targets.push(["M ≤ 30 s wall", ms(m("M", "totalMs")), verdict(m("M", "totalMs") <= 30_000)]);
    targets.push(["M peak RSS ≤ 4 GiB", mib(mm.peakRssBytes), verdict(mm.peakRssBytes <= 4 * GiB)]);
  }
  const mw = by.get("W");
  if (mw) {
    targets.push(["W (attention DP) ≤ 30 s wall", ms(m("W", "totalMs")), verdict(m("W", "totalMs") <= 30_000)]);
    targets.push(["W peak RSS ≤ 4 GiB", mib(mw.peakRssBytes), verdict(mw.peakRssBytes <= 4 * GiB)]);
  }

  const mv = by.get("V");
  if (mv) {
    targets.push(["V (PP 2 × attention DP) ≤ 30 s wall", ms(m("V", "totalMs")), verdict(m("V", "totalMs") <= 30_000)]);
    targets.push(["V peak RSS ≤ 4 GiB", mib(mv.peakRssBytes), verdict(mv.peakRssBytes <= 4 * GiB)]);
  }

  const mr = by.get("R");
  if (mr) {
    lines.push(
      "Case R, cluster pricing (medians): each shape run with the instances' batches priced one group at a time (sequential) and",
      "concurrently between arrivals (pipelined), same run; calls = predictions sent (batches and decode runs), in flight = mean",
      "calls outstanding when one was sent; the ratio is the median of the repetitions' paired ratios; round trips on the critical",
      "path = the walk's waits for a group's predictions plus, per stretch run ahead, the most one instance waited for.",
      "",
      "| shape | iterations | run ahead | sequential | pipelined | sequential / pipelined | calls (seq / pipe) | in flight (seq / pipe) | round trips on the critical path (seq / pipe) |",
      "|---|---|---|---|---|---|---|---|---|",
    );
    for (const shape of ["aggAll", "aggPoisson", "disagg"]) {
      const seq = m("R", `${shape}SeqMs`);
      const pipe = m("R", `${shape}PipeMs`);
      lines.push(
        `| ${shape} | ${rate(m("R", `${shape}Iterations`))} | ${rate(m("R", `${shape}AheadIterations`))} | ${ms(seq)} | ${ms(pipe)} | ${ratio(m("R", `${shape}Ratio`))} | ` +
          `${rate(m("R", `${shape}SeqCalls`))} / ${rate(m("R", `${shape}PipeCalls`))} | ${m("R", `${shape}SeqInFlight`).toFixed(2)} / ${m("R", `${shape}PipeInFlight`).toFixed(2)} | ` +
          `${rate(m("R", `${shape}SeqRounds`))} / ${rate(m("R", `${shape}PipeRounds`))} |`,
      );
    }
    lines.push("");
  }

  if (targets.length > 0) {
    lines.push("| target | this run | |", "|---|---|---|");
    for (const [t, v, ok] of targets) lines.push(`| ${t} | ${v} | ${ok} |`);
    lines.push("");
  }
  const notes = results.flatMap((r) => r.notes.map((n) => `${r.id}: ${n}`));
  for (const n of [...notes, ...info.failures.map((x) => `FAILED ${x}`)]) lines.push(`- ${n}`);
  if (notes.length + info.failures.length > 0) lines.push("");
  const loads = results.map((r) => `${r.id} ${r.loadBefore[0]}→${r.loadAfter[0]}`).join(", ");
  lines.push(`1-minute load average before → after each case: ${loads}.`, "");
  return lines.join("\n");
}
