// The CPU time the scheduler's bookkeeping takes on its event loop (bench/RESULTS.md, "Case L: indexed bookkeeping"):
// submissions with many jobs stored, and listing them all in pages. Run it against any build to compare:
// node bench/bookkeeping.mjs <repository root, built> [jobs]
import { pathToFileURL } from "node:url";

const [root, nArg] = process.argv.slice(2);
const N = Number(nArg ?? 20000);
const imp = (p) => import(pathToFileURL(`${root}/${p}`).href);
const { JobManager } = await imp("services/scheduler/dist/jobManager.js");
const { quotaPolicy } = await imp("services/scheduler/dist/quotas.js");
const { listJobs } = await imp("services/scheduler/dist/handlers/listJobs.js");
const { JobSpec } = await imp("services/wire/dist/gen/ts/servesim/v1/scheduler.js");
const { silentLogger } = await imp("services/server-common/dist/index.js");
const executor = {
  prepare: async (spec) => ({ name: spec.name, requestsTotal: 1, simulatedTokens: 10 }),
  run: (_j, c) => new Promise((_, rej) => c.signal.addEventListener("abort", () => rej(c.signal.reason))),
};
const m = new JobManager(executor, {
  maxConcurrentJobs: 4,
  maxQueuedJobs: 1e6,
  maxTenantJobs: 1e6,
  maxStoredJobs: 100,
  resultTtlMs: 3.6e6,
  logger: silentLogger(),
  quota: quotaPolicy(3.6e6, { simulatedTokens: 1e15, submittedBytes: 1e15 }),
});
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const spec = (i) =>
  JobSpec.fromPartial({ name: `load-${i}`, engine: { maxBatchSize: 8 }, workload: { inline: { requests: [{ inputLength: 64, outputTokens: 8 }] } } });
for (let i = 0; i < N - 1000; i++) await m.submit(spec(i), undefined, undefined, "default");
const t = cpu();
for (let i = N - 1000; i < N; i++) await m.submit(spec(i), undefined, undefined, "default");
const submitMs = (cpu() - t) / 1000;
const deps = { manager: m, maxListJobs: 1000, maxDatasetBytes: 1 << 20 };
const ctx = { principal: { tenant: "default", subject: "x" } };
const pages = [];
for (let rep = 0; rep < 3; rep++) {
  let token = "";
  let n = 0;
  const times = [];
  do {
    const s = cpu();
    const r = await listJobs(deps, { states: [], pageSize: 0, pageToken: token }, ctx);
    times.push(cpu() - s);
    token = r.nextPageToken;
    n += r.jobs.length;
  } while (token !== "");
  pages.push({ n, total: times.reduce((a, b) => a + b, 0), max: Math.max(...times) });
}
console.log(
  JSON.stringify({
    root,
    jobs: N,
    submitCpuMsPerJob: +submitMs.toFixed(3),
    listAll: pages.map((p) => ({ jobs: p.n, totalMs: +p.total.toFixed(1), largestPageMs: +p.max.toFixed(1) })),
  }),
);
await m.shutdown();
