import { createHash } from "node:crypto";
import { checkPercentiles, InvalidArgumentError, parsePercentiles, parseSlos, type Slo } from "@servesim/core";
import { sloToWire } from "@servesim/wire";
import { DatasetWorkload, Distribution, JobSpec, SyntheticWorkload, type Workload } from "@servesim/wire/scheduler";
import { isMap, isNode, isSeq, LineCounter, parseDocument } from "yaml";
import { DIMENSIONS, dimension, pointLabel, type SettingValue } from "./dimensions.js";

/** One configuration of a sweep: its settings over the base spec. */
export interface SweepPoint {
  /** Stable over runs of the same sweep (a hash of the base spec and the settings): finished points are skipped on a re-run. */
  id: string;
  /** Position in the sweep (0-based). */
  index: number;
  /** "h100_sxm tp2 mbs256 c64". */
  label: string;
  /** Dimension name → value (the varied ones and the sweep file's fixed ones). */
  settings: Record<string, SettingValue>;
}

export interface SweepPlan {
  name: string;
  /** What every point shares: workload, report options and the fixed settings. */
  base: JobSpec;
  points: SweepPoint[];
  /** Names of the dimensions that vary between points (the CSV's config columns, in table order). */
  varied: string[];
  slos: Slo[];
  percentiles: number[];
}

/** More points than this is an error (a typo in a grid multiplies quickly). */
export const MAX_POINTS = 100_000;

export interface SweepFileOptions {
  /** Names the file in errors. */
  file: string;
  /** Reads a dataset named in the file (paths relative to the sweep file). */
  readText(path: string): string;
  /** Replaces the file's workload (which may then be left out). */
  workload?: Workload;
}

const TOP_KEYS = new Set(["name", "workload", "goodput", "percentiles", "grid", "points"]);

/** The settings of a point: the given dimension values in registry order, with canonical names. */
function canonical(settings: Record<string, SettingValue>): Record<string, SettingValue> {
  const out: Record<string, SettingValue> = {};
  for (const d of DIMENSIONS) if (settings[d.name] !== undefined) out[d.name] = settings[d.name]!;
  return out;
}

/** A point's JobSpec: the base (without its workload, which the points share) with the point's settings. */
export function pointSpec(base: JobSpec, point: Pick<SweepPoint, "settings" | "label">): JobSpec {
  const spec = JobSpec.fromPartial({ ...base, workload: undefined });
  for (const [k, v] of Object.entries(point.settings)) dimension(k)!.apply(spec, v);
  spec.name = `${base.name ? `${base.name}: ` : ""}${point.label}`;
  return spec;
}

/** A hash of the base spec: point ids change when anything every point shares changes. */
export function baseFingerprint(base: JobSpec): string {
  return createHash("sha256").update(JobSpec.encode(base).finish()).digest("hex");
}

/**
 * Expands settings lists into points: `grid` is the Cartesian product of its lists; each entry of
 * `points` is one point, or the product of the lists it holds. Fixed settings apply to every point and
 * are overridden by the point's own.
 */
export function expandPoints(base: JobSpec, fixed: Record<string, SettingValue>, groups: Record<string, SettingValue[]>[]): SweepPoint[] {
  const fp = baseFingerprint(base);
  const seen = new Set<string>();
  const points: SweepPoint[] = [];
  for (const g of groups) {
    const keys = Object.keys(g);
    const total = keys.reduce((n, k) => n * g[k]!.length, 1);
    if (points.length + total > MAX_POINTS) throw new InvalidArgumentError("sweep", `more than ${MAX_POINTS} points`);
    for (let i = 0; i < total; i++) {
      const settings: Record<string, SettingValue> = { ...fixed };
      let rest = i;
      for (let k = keys.length - 1; k >= 0; k--) {
        const values = g[keys[k]!]!;
        settings[keys[k]!] = values[rest % values.length]!;
        rest = Math.floor(rest / values.length);
      }
      const c = canonical(settings);
      const id = createHash("sha256").update(fp).update(JSON.stringify(c)).digest("hex").slice(0, 16);
      if (seen.has(id)) continue;
      seen.add(id);
      points.push({ id, index: points.length, label: pointLabel(c), settings: c });
    }
  }
  return points;
}

/** A YAML document with the line of every value, for errors "<file> line <n>: <key.path>: <reason>". */
class Source {
  private readonly doc;
  private readonly lines = new LineCounter();
  readonly data: Record<string, unknown>;
  constructor(
    text: string,
    readonly file: string,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lines, uniqueKeys: true });
    const first = this.doc.errors[0];
    if (first) throw new InvalidArgumentError(`${file} line ${first.linePos?.[0]?.line ?? 1}`, `invalid YAML (${first.message.split("\n")[0]})`);
    const data: unknown = this.doc.toJS();
    if (data === null || data === undefined || !isMap(this.doc.contents)) throw new InvalidArgumentError(file, "expected a YAML mapping at the top level");
    this.data = data as Record<string, unknown>;
  }
  fail(path: (string | number)[], reason: string): never {
    const node: unknown = this.doc.getIn(path, true);
    const line = isNode(node) && node.range ? this.lines.linePos(node.range[0]).line : 1;
    throw new InvalidArgumentError(`${this.file} line ${line}`, `${path.join(".")}: ${reason}`);
  }
  isList(path: (string | number)[]): boolean {
    return isSeq(this.doc.getIn(path, true));
  }
}

function settingValue(src: Source, path: (string | number)[], key: string, v: unknown): SettingValue {
  const d = dimension(key);
  if (!d) src.fail(path, `unknown setting ${JSON.stringify(key)} (one of ${DIMENSIONS.map((x) => x.name).join(", ")})`);
  const parsed = d.parse(v);
  if (typeof parsed === "object") src.fail(path, parsed.invalid);
  return parsed;
}

function settingGroup(src: Source, path: (string | number)[], raw: unknown): Record<string, SettingValue[]> {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) src.fail(path, "expected a mapping of settings to values or lists of values");
  const out: Record<string, SettingValue[]> = {};
  for (const [key, v] of Object.entries(raw as Record<string, unknown>)) {
    if (!dimension(key)) settingValue(src, [...path, key], key, v);
    const name = dimension(key)!.name;
    const list = Array.isArray(v) ? v : [v];
    if (list.length === 0) src.fail([...path, key], "an empty list gives no point");
    const values = list.map((x, i) => settingValue(src, Array.isArray(v) ? [...path, key, i] : [...path, key], key, x));
    if (out[name]) src.fail([...path, key], `${name} is given twice`);
    out[name] = values;
  }
  return out;
}

function workloadOf(src: Source, raw: unknown, opts: SweepFileOptions): { workload: Workload; numRequests: number } {
  const path = ["workload"];
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) src.fail(path, "expected a mapping with dataset: FILE or synthetic: {...}");
  const w = raw as Record<string, unknown>;
  for (const k of Object.keys(w))
    if (!["dataset", "synthetic", "num_requests", "approx_prompt_tokens"].includes(k))
      src.fail([...path, k], "unknown key (dataset, synthetic, num_requests, approx_prompt_tokens)");
  const numRequests = w["num_requests"] ?? 0;
  if (!Number.isInteger(numRequests) || (numRequests as number) < 0) src.fail([...path, "num_requests"], "must be an integer >= 0");
  if ((w["dataset"] === undefined) === (w["synthetic"] === undefined)) src.fail(path, "give exactly one of dataset and synthetic");
  if (w["dataset"] !== undefined) {
    if (typeof w["dataset"] !== "string") src.fail([...path, "dataset"], "must be a file path");
    let jsonl: string;
    try {
      jsonl = opts.readText(w["dataset"] as string);
    } catch (e) {
      src.fail([...path, "dataset"], `cannot read ${w["dataset"]} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    return {
      workload: { dataset: DatasetWorkload.fromPartial({ jsonl, name: w["dataset"] as string, approxPromptTokens: w["approx_prompt_tokens"] === true }) },
      numRequests: numRequests as number,
    };
  }
  const sy = w["synthetic"];
  if (sy === null || typeof sy !== "object" || Array.isArray(sy)) src.fail([...path, "synthetic"], "expected a mapping (num_requests, isl, osl, ...)");
  const s = sy as Record<string, unknown>;
  const KEYS: Record<string, string> = {
    num_requests: "numRequests",
    isl: "inputMean",
    osl: "outputMean",
    input_mean: "inputMean",
    output_mean: "outputMean",
    input_stdev: "inputStdev",
    output_stdev: "outputStdev",
    input_min: "inputMin",
    input_max: "inputMax",
    output_min: "outputMin",
    output_max: "outputMax",
    seed: "seed",
    vocab_size: "vocabSize",
  };
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === "distribution") continue;
    const field = KEYS[k];
    if (!field) src.fail([...path, "synthetic", k], `unknown key (${[...Object.keys(KEYS), "distribution"].join(", ")})`);
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) src.fail([...path, "synthetic", k], "must be a number >= 0");
    out[field] = v;
  }
  const unif = ["inputMin", "inputMax", "outputMin", "outputMax"].some((k) => out[k] !== undefined);
  const dist = s["distribution"] ?? (unif ? "token-unif-dist" : "token-norm-dist");
  if (dist !== "token-norm-dist" && dist !== "token-unif-dist") src.fail([...path, "synthetic", "distribution"], "must be token-norm-dist or token-unif-dist");
  return {
    workload: {
      synthetic: SyntheticWorkload.fromPartial({
        distribution: dist === "token-norm-dist" ? Distribution.DISTRIBUTION_TOKEN_NORM_DIST : Distribution.DISTRIBUTION_TOKEN_UNIF_DIST,
        numRequests: 0,
        inputMean: 0,
        inputStdev: 0,
        outputMean: 0,
        outputStdev: 0,
        inputMin: 0,
        inputMax: 0,
        outputMin: 0,
        outputMax: 0,
        seed: 0,
        vocabSize: 0,
        ...out,
      }),
    },
    numRequests: numRequests as number,
  };
}

/**
 * A sweep file (YAML): the workload, report options, fixed settings (any dimension at the top level),
 * `grid` (a product of lists) and `points` (a list of points, each may hold lists). Errors name the file,
 * the line and the key.
 */
export function parseSweepFile(text: string, opts: SweepFileOptions): SweepPlan {
  const src = new Source(text, opts.file);
  const d = src.data;
  const fixed: Record<string, SettingValue> = {};
  for (const [key, v] of Object.entries(d)) {
    if (TOP_KEYS.has(key)) continue;
    if (Array.isArray(v)) src.fail([key], "a list at the top level: put the values to sweep under grid");
    const name = dimension(key)?.name;
    const value = settingValue(src, [key], key, v);
    fixed[name!] = value;
  }
  if (d["workload"] === undefined && !opts.workload) src.fail(["workload"], "required: dataset: FILE or synthetic: {...}");
  const fromFile = d["workload"] !== undefined && !opts.workload ? workloadOf(src, d["workload"], opts) : undefined;
  const workload = opts.workload ?? fromFile!.workload;
  const numRequests = fromFile?.numRequests ?? 0;

  let slos: Slo[] = [];
  let percentiles: number[] = [];
  try {
    if (d["goodput"] !== undefined) slos = parseSlos(Array.isArray(d["goodput"]) ? d["goodput"].map(String) : [String(d["goodput"])], "goodput");
    if (d["percentiles"] !== undefined)
      percentiles = Array.isArray(d["percentiles"])
        ? checkPercentiles(d["percentiles"].map(Number), "percentiles")
        : parsePercentiles(String(d["percentiles"]), "percentiles");
  } catch (e) {
    if (e instanceof InvalidArgumentError) src.fail([e.field.split("[")[0]!], e.reason);
    throw e;
  }

  const groups: Record<string, SettingValue[]>[] = [];
  if (d["grid"] !== undefined) groups.push(settingGroup(src, ["grid"], d["grid"]));
  if (d["points"] !== undefined) {
    if (!Array.isArray(d["points"])) src.fail(["points"], "expected a list of points");
    (d["points"] as unknown[]).forEach((p, i) => void groups.push(settingGroup(src, ["points", i], p)));
  }
  if (groups.length === 0) groups.push({});

  const name = typeof d["name"] === "string" ? d["name"] : "";
  const base = JobSpec.fromPartial({
    name,
    workload,
    engine: { numRequests },
    ...(slos.length > 0 || percentiles.length > 0 ? { report: { percentiles, goodput: slos.map(sloToWire) } } : {}),
  });
  const points = expandPoints(base, fixed, groups);
  const varied = DIMENSIONS.map((x) => x.name).filter((n) => new Set(points.map((p) => JSON.stringify(p.settings[n]))).size > 1);
  // Labels name what varies; settings every point shares are the sweep's, not the point's.
  if (varied.length > 0)
    for (const p of points) p.label = pointLabel(Object.fromEntries(varied.flatMap((k) => (p.settings[k] !== undefined ? [[k, p.settings[k]!]] : []))));
  return { name, base, points, varied, slos, percentiles };
}
