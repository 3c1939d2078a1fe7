/**
 * The predictor registry is the one list of predictor kinds: the proto enum, the op-source labels and the
 * docs are checked against it here (the CLI derives its choices from it; the Python client checks itself
 * against ListCatalog in clients/python/tests).
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { config, expectInvalid } from "@servesim/testkit";
import { PredictorKind } from "@servesim/wire/predictor";
import { describe, expect, it } from "vitest";
import { createPredictor, describePredictor, listCatalog } from "../src/factory.js";
import { OP_SOURCES, SourceTracker, sourceRank, worseSource } from "../src/opSource.js";
import { PREDICTORS, predictorByName, predictorChoiceList, predictorEntryOf, predictorNameList, requirePredictorEntry } from "../src/predictors/registry.js";

const repoRoot = resolve(import.meta.dirname, "../../..");
const read = (path: string): string => readFileSync(resolve(repoRoot, path), "utf8");

/** The predictor table of docs/performance-models.md, rendered from the registry (columns padded to width). */
function predictorTableMarkdown(): string {
  const rows = PREDICTORS.map((e) => [
    `\`${e.name}\``,
    e.aliases.map((a) => `\`${a}\``).join(", ") || "—",
    `\`${PredictorKind[e.kind]}\``,
    e.summary,
    e.requires,
  ]);
  const header = ["kind", "aliases", "proto enum", "what it prices with", "needs"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(header), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...rows.map(line)].join("\n");
}

/** The members of a proto enum block, by name. */
function protoEnum(proto: string, name: string): Map<string, number> {
  const block = new RegExp(`enum ${name} \\{([^}]*)\\}`).exec(proto);
  if (!block) throw new Error(`enum ${name} not found`);
  return new Map([...block[1]!.matchAll(/^\s*([A-Z0-9_]+)\s*=\s*(\d+);/gm)].map((m) => [m[1]!, Number(m[2])]));
}

describe("predictor registry", () => {
  it("has one entry per PredictorKind value of the proto, named after it", () => {
    const enumValues = protoEnum(read("proto/servesim/v1/predictor.proto"), "PredictorKind");
    const expected = [...enumValues].filter(([n]) => n !== "PREDICTOR_KIND_UNSPECIFIED");
    expect(PREDICTORS.map((e) => [`PREDICTOR_KIND_${e.name.toUpperCase()}`, e.kind])).toEqual(expected);
    for (const e of PREDICTORS) expect(PredictorKind[e.kind]).toBe(`PREDICTOR_KIND_${e.name.toUpperCase()}`);
  });

  it("names and aliases are unique, lower case and resolve to their entry", () => {
    const spellings = PREDICTORS.flatMap((e) => [e.name, ...e.aliases]);
    expect(new Set(spellings).size).toBe(spellings.length);
    for (const e of PREDICTORS) {
      expect(e.name).toMatch(/^[a-z][a-z0-9_]*$/);
      for (const s of [e.name, ...e.aliases, e.name.toUpperCase()]) expect(predictorByName(` ${s} `)).toBe(e);
      expect(predictorEntryOf(e.kind)).toBe(e);
      expect(e.summary.length).toBeGreaterThan(0);
      expect(e.requires.length).toBeGreaterThan(0);
    }
    expect(predictorByName("sol")).toBeUndefined();
    expect(predictorNameList()).toBe("constant, roofline, aic or calibrated");
    expect(predictorChoiceList()).toBe("constant, roofline, aic (aiconfigurator) or calibrated");
  });

  it("an unset or unknown kind is INVALID_ARGUMENT on config.kind, listing the kinds", () => {
    expectInvalid(() => requirePredictorEntry(PredictorKind.PREDICTOR_KIND_UNSPECIFIED), "config.kind", /required \(constant, roofline, aic or calibrated\)/);
    expectInvalid(() => requirePredictorEntry(99 as PredictorKind), "config.kind", /unknown predictor kind 99/);
    expectInvalid(() => describePredictor(config({ kind: 99 as PredictorKind })), "config.kind");
  });

  it("ListCatalog lists every kind with the registry's facts", () => {
    const c = listCatalog();
    expect(c.predictors).toEqual(PREDICTORS.map((e) => e.kind));
    expect(c.predictorInfo.map((i) => [i.name, i.aliases, i.needsModelAndGpu])).toEqual([
      ["constant", [], false],
      ["roofline", [], true],
      ["aic", ["aiconfigurator"], true],
      ["calibrated", [], false],
    ]);
    expect(listCatalog([PredictorKind.PREDICTOR_KIND_ROOFLINE]).predictorInfo.map((i) => i.name)).toEqual(["roofline"]);
  });

  it("describe and build agree on the description where nothing is loaded", async () => {
    const roofline = config({ model: { name: "llama-3.1-8b" }, deviceName: "h100_sxm" });
    expect(describePredictor(roofline).description).toBe((await createPredictor(roofline)).description);
    const built = await createPredictor(config({ kind: PredictorKind.PREDICTOR_KIND_CONSTANT, constantPrefillTimeMs: 12 }));
    expect(describePredictor(config({ kind: PredictorKind.PREDICTOR_KIND_CONSTANT, constantPrefillTimeMs: 12 }), built).description).toBe(
      "constant (prefill 12 ms, decode 5 ms)",
    );
    // Describing validates like building does.
    expectInvalid(() => describePredictor(config({ kind: PredictorKind.PREDICTOR_KIND_CONSTANT, constantDecodeTimeMs: -1 })), "config.constant_decode_time_ms");
  });

  it("the docs' predictor table is the registry's", () => {
    const doc = read("docs/performance-models.md");
    const table = predictorTableMarkdown();
    expect(doc.includes(table), `docs/performance-models.md must contain this table (from the registry):\n${table}`).toBe(true);
    const cli = read("docs/cli.md");
    const row = cli.split("\n").find((l) => l.startsWith("| `--predictor KIND`"))!;
    for (const e of PREDICTORS) for (const s of [e.name, ...e.aliases]) expect(row, `docs/cli.md --predictor row lacks ${s}`).toContain(`\`${s}\``);
    const py = read("docs/client-python.md");
    const pyRow = py.split("\n").find((l) => l.startsWith("| Predictor "))!;
    for (const e of PREDICTORS) for (const s of [e.name, ...e.aliases]) expect(pyRow, `docs/client-python.md Predictor row lacks ${s}`).toContain(`"${s}"`);
  });
});

describe("op sources", () => {
  it("rank best first, and the proto's OpTime.source comment lists them in that order", () => {
    const proto = read("proto/servesim/v1/predictor.proto");
    const comment = /message OpTime \{[^}]*?\/\/ Where the time came from, best first: ([^.]*)\./s.exec(proto);
    expect(comment).not.toBeNull();
    expect(
      comment![1]!
        .replace(/\s*\/\/\s*/g, " ")
        .split("|")
        .map((s) => s.trim()),
    ).toEqual([...OP_SOURCES]);
    for (let i = 1; i < OP_SOURCES.length; i++) expect(sourceRank(OP_SOURCES[i]!)).toBeGreaterThan(sourceRank(OP_SOURCES[i - 1]!));
    expect(worseSource("interp", "roofline-fallback")).toBe("roofline-fallback");
    expect(worseSource("sol", "table")).toBe("sol");
    const t = new SourceTracker();
    t.mark("util-extrapolated");
    t.mark("interp");
    expect(t.source).toBe("util-extrapolated");
  });
});
