/**
 * What to deploy, from a chosen candidate: TensorRT-LLM's `extra_llm_api_options` YAML, the trtllm-serve
 * command line and a Kubernetes manifest (ConfigMap, Deployment with one replica per instance the GPU
 * budget allows, Service). The options are the ones the candidate was simulated with: a setting the
 * simulation left at TensorRT-LLM's default is left out.
 */
import { CHUNKING_POLICY_BY_NAME, nameOf, SCHEDULER_POLICY_BY_NAME } from "@servesim/wire";
import { DType, PredictorKind } from "@servesim/wire/predictor";
import type { JobSpec } from "@servesim/wire/scheduler";
import { stringify } from "yaml";
import type { SweepRow } from "./row.js";

export interface DeployOptions {
  /** Hugging Face id or checkpoint path given to trtllm-serve. */
  model: string;
  /** Serving instances (the GPU budget divided by the GPUs of one). */
  replicas: number;
  gpusPerInstance: number;
  /** Container image with trtllm-serve. */
  image: string;
  /** Kubernetes object names. */
  name: string;
  port?: number;
}

export interface DeployArtifacts {
  /** extra_llm_api_options.yaml */
  extraLlmApiOptions: string;
  /** The trtllm-serve command (a shell line). */
  serveCommand: string;
  /** ConfigMap + Deployment + Service, as one multi-document YAML. */
  kubernetes: string;
}

/** The LLM API options a candidate was simulated with (max_batch_size and max_num_tokens as it ran). */
export function llmApiOptions(spec: JobSpec, row: SweepRow): Record<string, unknown> {
  const e = spec.engine;
  const o: Record<string, unknown> = {};
  const used = (k: string, fallback: number | undefined): number | undefined => (typeof row.metrics[k] === "number" ? (row.metrics[k] as number) : fallback);
  const mbs = used("max_batch_size_used", e?.maxBatchSize);
  const mnt = used("max_num_tokens_used", e?.maxNumTokens);
  if (mbs !== undefined) o["max_batch_size"] = mbs;
  if (mnt !== undefined) o["max_num_tokens"] = mnt;
  if (e?.maxSeqLen !== undefined) o["max_seq_len"] = e.maxSeqLen;
  if (e?.enableChunkedContext !== undefined) o["enable_chunked_prefill"] = e.enableChunkedContext;
  if (spec.predictor?.parallelism?.attentionDp) o["enable_attention_dp"] = true;
  if (spec.predictor?.parallelism?.moeTp) o["moe_tensor_parallel_size"] = spec.predictor.parallelism.moeTp;
  // The loop that was simulated: TensorRT-LLM's overlap scheduler for a simulated GPU unless the spec
  // turned it off; the non-overlap loop for the whole-iteration predictors (constant, calibrated).
  const wholeIteration = spec.predictor?.kind === PredictorKind.PREDICTOR_KIND_CONSTANT || spec.predictor?.kind === PredictorKind.PREDICTOR_KIND_CALIBRATED;
  o["disable_overlap_scheduler"] = e?.disableOverlapScheduler ?? wholeIteration;
  if (e?.disableCudaGraphs === true) o["cuda_graph_config"] = null;
  if (e?.batchWaitTimeoutIters !== undefined) o["batch_wait_timeout_iters"] = e.batchWaitTimeoutIters;
  if (e?.batchWaitMaxTokensRatio !== undefined) o["batch_wait_max_tokens_ratio"] = e.batchWaitMaxTokensRatio;
  const adp = e?.attentionDp;
  if (adp && (adp.enableBalance !== undefined || adp.timeoutIters !== undefined || adp.batchingWaitIters !== undefined)) {
    const c: Record<string, unknown> = {};
    if (adp.enableBalance !== undefined) c["enable_balance"] = adp.enableBalance;
    if (adp.timeoutIters !== undefined) c["timeout_iters"] = adp.timeoutIters;
    if (adp.batchingWaitIters !== undefined) c["batching_wait_iters"] = adp.batchingWaitIters;
    o["attention_dp_config"] = c;
  }
  const kv: Record<string, unknown> = {};
  if (e?.kvCacheFreeGpuMemFraction !== undefined) kv["free_gpu_memory_fraction"] = e.kvCacheFreeGpuMemFraction;
  if (e?.kvCacheMaxTokens !== undefined) kv["max_tokens"] = e.kvCacheMaxTokens;
  if (e?.enableBlockReuse !== undefined) kv["enable_block_reuse"] = e.enableBlockReuse;
  if (e?.tokensPerBlock !== undefined) kv["tokens_per_block"] = e.tokensPerBlock;
  if (spec.predictor?.kvCacheDtype === DType.D_TYPE_FP8) kv["dtype"] = "fp8";
  if (Object.keys(kv).length > 0) o["kv_cache_config"] = kv;
  const sched: Record<string, unknown> = {};
  const policy = e?.schedulerPolicy ? nameOf(SCHEDULER_POLICY_BY_NAME, e.schedulerPolicy) : undefined;
  if (policy) sched["capacity_scheduler_policy"] = policy.toUpperCase();
  const chunking = e?.chunkingPolicy ? nameOf(CHUNKING_POLICY_BY_NAME, e.chunkingPolicy) : undefined;
  if (chunking) sched["context_chunking_policy"] = chunking.toUpperCase();
  if (Object.keys(sched).length > 0) o["scheduler_config"] = sched;
  return o;
}

const shellQuote = (s: string): string => (/^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);

/** trtllm-serve's arguments for a candidate (the options file holds the rest). */
export function serveArgs(spec: JobSpec, opts: DeployOptions, optionsFile: string): string[] {
  const p = spec.predictor?.parallelism;
  return [
    opts.model,
    "--backend",
    "pytorch",
    "--host",
    "0.0.0.0",
    "--port",
    String(opts.port ?? 8000),
    "--tp_size",
    String(p?.tp || 1),
    "--pp_size",
    String(p?.pp || 1),
    "--ep_size",
    String(p?.ep || 1),
    ...(spec.engine?.kvCacheFreeGpuMemFraction !== undefined ? ["--kv_cache_free_gpu_memory_fraction", String(spec.engine.kvCacheFreeGpuMemFraction)] : []),
    "--extra_llm_api_options",
    optionsFile,
  ];
}

export function deployArtifacts(spec: JobSpec, row: SweepRow, opts: DeployOptions): DeployArtifacts {
  const m = row.metrics;
  const header =
    `# TensorRT-LLM LLM API options chosen by \`servesim search\` for ${opts.model} (${row.label}).\n` +
    `# Predicted by simulation, not measured: ${Number(m["output_tok_s_per_gpu"]).toFixed(1)} output tok/s/GPU, ` +
    `${Number(m["output_tok_s_per_user"]).toFixed(1)} tok/s/user, TTFT avg ${Number(m["ttft_avg_ms"]).toFixed(1)} ms, TPOT avg ${Number(m["tpot_avg_ms"]).toFixed(2)} ms` +
    `${typeof m["request_goodput_per_gpu"] === "number" ? `, goodput ${(m["request_goodput_per_gpu"] as number).toFixed(3)} req/s/GPU` : ""}.\n` +
    `# Serve ${opts.replicas} instance${opts.replicas === 1 ? "" : "s"} of ${opts.gpusPerInstance} GPU${opts.gpusPerInstance === 1 ? "" : "s"}, each with up to ${m["max_batch_size_used"] ?? "?"} requests in flight.\n`;
  const options = llmApiOptions(spec, row);
  const extraLlmApiOptions = header + stringify(options);
  const serveCommand = ["trtllm-serve", ...serveArgs(spec, opts, "extra_llm_api_options.yaml")].map(shellQuote).join(" ");
  const labels = { "app.kubernetes.io/name": opts.name, "app.kubernetes.io/component": "trtllm-serve", "app.kubernetes.io/managed-by": "servesim-search" };
  const port = opts.port ?? 8000;
  const docs = [
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `${opts.name}-options`, labels }, data: { "extra_llm_api_options.yaml": extraLlmApiOptions } },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: opts.name, labels },
      spec: {
        replicas: opts.replicas,
        selector: { matchLabels: { "app.kubernetes.io/name": opts.name } },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: "trtllm-serve",
                image: opts.image,
                command: ["trtllm-serve"],
                args: serveArgs(spec, opts, "/etc/trtllm/extra_llm_api_options.yaml"),
                ports: [{ name: "http", containerPort: port }],
                resources: { limits: { "nvidia.com/gpu": String(opts.gpusPerInstance) }, requests: { "nvidia.com/gpu": String(opts.gpusPerInstance) } },
                readinessProbe: { httpGet: { path: "/health", port: "http" }, periodSeconds: 10, failureThreshold: 3 },
                startupProbe: { httpGet: { path: "/health", port: "http" }, periodSeconds: 10, failureThreshold: 180 },
                volumeMounts: [
                  { name: "options", mountPath: "/etc/trtllm", readOnly: true },
                  { name: "shm", mountPath: "/dev/shm" },
                ],
              },
            ],
            volumes: [
              { name: "options", configMap: { name: `${opts.name}-options` } },
              { name: "shm", emptyDir: { medium: "Memory", sizeLimit: "16Gi" } },
            ],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: opts.name, labels },
      spec: { selector: { "app.kubernetes.io/name": opts.name }, ports: [{ name: "http", port, targetPort: "http" }] },
    },
  ];
  return {
    extraLlmApiOptions,
    serveCommand,
    kubernetes: docs.map((d) => stringify(d, { blockQuote: "literal", lineWidth: 0, aliasDuplicateObjects: false })).join("---\n"),
  };
}

/** The LLM API options of a disaggregated candidate's context (prefill) or generation (decode) servers, as simulated. */
function disaggSection(spec: JobSpec, role: "prefill" | "decode"): Record<string, unknown> {
  const base = spec.predictor?.parallelism;
  const p = spec.cluster?.[role];
  const par = p?.parallelism;
  const o: Record<string, unknown> = {
    num_instances: p?.numWorkers ?? 1,
    tensor_parallel_size: par?.tp || base?.tp || 1,
  };
  const pp = par?.pp || base?.pp || 1;
  if (pp > 1) o["pipeline_parallel_size"] = pp;
  const ep = par?.ep || base?.ep || 0;
  if (ep > 1) o["moe_expert_parallel_size"] = ep;
  if (par?.attentionDp ?? base?.attentionDp) o["enable_attention_dp"] = true;
  const mbs = p?.maxBatchSize ?? spec.engine?.maxBatchSize;
  if (mbs !== undefined) o["max_batch_size"] = mbs;
  const mnt = p?.maxNumTokens ?? spec.engine?.maxNumTokens;
  if (mnt !== undefined) o["max_num_tokens"] = mnt;
  if (role === "prefill") o["disable_overlap_scheduler"] = true;
  o["cache_transceiver_config"] = { backend: "DEFAULT" };
  return o;
}

/**
 * A disaggregated candidate as TensorRT-LLM's `trtllm-serve disaggregated -c` config: context_servers and
 * generation_servers with the pools' instance counts, parallelism and budgets as simulated (the same
 * file `servesim throughput --sim-config` reads back). Server URLs are left for the deployment to fill
 * (disaggDeployArtifacts fills them with the workers' in-cluster addresses).
 */
export function disaggServeConfig(spec: JobSpec, model: string, urls?: { context: string[]; generation: string[] }): string {
  const ctx = disaggSection(spec, "prefill");
  const gen = disaggSection(spec, "decode");
  if (urls) {
    ctx["urls"] = urls.context;
    gen["urls"] = urls.generation;
  }
  return stringify({ model, backend: "pytorch", ...(urls ? { hostname: "0.0.0.0", port: 8000 } : {}), context_servers: ctx, generation_servers: gen });
}

export interface DisaggDeployOptions {
  /** Hugging Face id or checkpoint path given to trtllm-serve. */
  model: string;
  /** Container image with trtllm-serve. */
  image: string;
  /** Object name prefix: <name>-ctx, <name>-gen (worker sets), <name> (the disaggregated server). */
  name: string;
  /** Namespace of the workers' DNS names (default "default"). */
  namespace?: string;
  port?: number;
}

export interface DisaggDeployArtifacts {
  /** disagg_config.yaml with the workers' URLs. */
  disaggConfig: string;
  /** ConfigMap + context and generation StatefulSets with headless Services + the disaggregated server's Deployment and Service. */
  kubernetes: string;
  /** GPUs of one context / generation worker (one pod each). */
  gpusPerWorker: { context: number; generation: number };
}

/**
 * Kubernetes objects for a disaggregated candidate: one StatefulSet of context (prefill) workers and one
 * of generation (decode) workers, each pod a `trtllm-serve` with its pool's LLM API options and GPUs,
 * behind headless Services that give every worker a stable address; and the disaggregated server
 * (`trtllm-serve disaggregated -c`, `tensorrt_llm/serve/openai_disagg_server.py`) as a Deployment whose
 * config lists those addresses, behind the Service clients call. A worker larger than one node needs a
 * multi-node launcher (e.g. LeaderWorkerSet with MPI), which this manifest does not set up.
 */
export function disaggDeployArtifacts(spec: JobSpec, row: SweepRow, opts: DisaggDeployOptions): DisaggDeployArtifacts {
  const port = opts.port ?? 8000;
  const ns = opts.namespace ?? "default";
  const roles = [
    { role: "prefill" as const, short: "ctx", file: "ctx_extra_llm_api_options.yaml", section: disaggSection(spec, "prefill") },
    { role: "decode" as const, short: "gen", file: "gen_extra_llm_api_options.yaml", section: disaggSection(spec, "decode") },
  ];
  const gpusOf = (o: Record<string, unknown>): number => Number(o["tensor_parallel_size"]) * Number(o["pipeline_parallel_size"] ?? 1);
  const urls = roles.map((r) =>
    Array.from(
      { length: Number(r.section["num_instances"]) },
      (_, k) => `${opts.name}-${r.short}-${k}.${opts.name}-${r.short}.${ns}.svc.cluster.local:${port}`,
    ),
  );
  const disaggConfig = disaggServeConfig(spec, opts.model, { context: urls[0]!, generation: urls[1]! });
  const m = row.metrics;
  const header =
    `# Chosen by \`servesim search\` for ${opts.model} (${row.label}); predicted by simulation, not measured: ` +
    `${Number(m["output_tok_s_per_gpu"]).toFixed(1)} output tok/s/GPU, TTFT avg ${Number(m["ttft_avg_ms"]).toFixed(1)} ms, TPOT avg ${Number(m["tpot_avg_ms"]).toFixed(2)} ms.\n`;
  const data: Record<string, string> = { "disagg_config.yaml": header + disaggConfig };
  for (const r of roles) {
    const { num_instances: _n, ...options } = r.section;
    data[r.file] = header + stringify(options);
  }
  const base = { "app.kubernetes.io/name": opts.name, "app.kubernetes.io/managed-by": "servesim-search" };
  const labelsOf = (component: string) => ({ ...base, "app.kubernetes.io/component": component });
  const mounts = [
    { name: "config", mountPath: "/etc/trtllm", readOnly: true },
    { name: "shm", mountPath: "/dev/shm" },
  ];
  const volumes = [
    { name: "config", configMap: { name: `${opts.name}-config` } },
    { name: "shm", emptyDir: { medium: "Memory", sizeLimit: "16Gi" } },
  ];
  const probes = {
    readinessProbe: { httpGet: { path: "/health", port: "http" }, periodSeconds: 10, failureThreshold: 3 },
    startupProbe: { httpGet: { path: "/health", port: "http" }, periodSeconds: 10, failureThreshold: 180 },
  };
  const docs: Record<string, unknown>[] = [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: `${opts.name}-config`, labels: base }, data }];
  roles.forEach((r) => {
    const name = `${opts.name}-${r.short}`;
    const labels = labelsOf(r.role === "prefill" ? "context-server" : "generation-server");
    const gpus = String(gpusOf(r.section));
    docs.push(
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name, labels },
        spec: { clusterIP: "None", selector: labels, ports: [{ name: "http", port, targetPort: "http" }] },
      },
      {
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        metadata: { name, labels },
        spec: {
          serviceName: name,
          replicas: Number(r.section["num_instances"]),
          podManagementPolicy: "Parallel",
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              containers: [
                {
                  name: "trtllm-serve",
                  image: opts.image,
                  command: ["trtllm-serve"],
                  args: [opts.model, "--backend", "pytorch", "--host", "0.0.0.0", "--port", String(port), "--extra_llm_api_options", `/etc/trtllm/${r.file}`],
                  ports: [{ name: "http", containerPort: port }],
                  resources: { limits: { "nvidia.com/gpu": gpus }, requests: { "nvidia.com/gpu": gpus } },
                  ...probes,
                  volumeMounts: mounts,
                },
              ],
              volumes,
            },
          },
        },
      },
    );
  });
  const serverLabels = labelsOf("disaggregated-server");
  docs.push(
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: opts.name, labels: serverLabels },
      spec: {
        replicas: 1,
        selector: { matchLabels: serverLabels },
        template: {
          metadata: { labels: serverLabels },
          spec: {
            containers: [
              {
                name: "trtllm-serve-disaggregated",
                image: opts.image,
                command: ["trtllm-serve"],
                args: ["disaggregated", "-c", "/etc/trtllm/disagg_config.yaml"],
                ports: [{ name: "http", containerPort: port }],
                ...probes,
                volumeMounts: [mounts[0]],
              },
            ],
            volumes: [volumes[0]],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: opts.name, labels: serverLabels },
      spec: { selector: serverLabels, ports: [{ name: "http", port, targetPort: "http" }] },
    },
  );
  return {
    disaggConfig,
    kubernetes: docs.map((d) => stringify(d, { blockQuote: "literal", lineWidth: 0, aliasDuplicateObjects: false })).join("---\n"),
    gpusPerWorker: { context: gpusOf(roles[0]!.section), generation: gpusOf(roles[1]!.section) },
  };
}
