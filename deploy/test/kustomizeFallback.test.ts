// The fallback renderer (used where kubectl is missing) must render what `kubectl kustomize` renders,
// except for the content hash kustomize appends to generated ConfigMap names.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type K8sObject, miniKustomize, strategicMerge } from "./miniKustomize.js";
import { HAS_KUBECTL, K8S_DIR, renderBaseWith, renderWithKubectl } from "./render.js";

if (!HAS_KUBECTL) console.warn("kubectl not found: skipping the comparison of the fallback renderer with kubectl kustomize");

/** Maps kustomize's hashed ConfigMap names back to the generator names, everywhere they occur. */
function unhash(objects: K8sObject[], generated: Set<string>): K8sObject[] {
  const renames = new Map<string, string>();
  for (const o of objects) {
    const m = /^(.*)-[a-z0-9]{10}$/.exec(o.metadata.name);
    if (o.kind === "ConfigMap" && m && generated.has(m[1]!)) renames.set(o.metadata.name, m[1]!);
  }
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return renames.get(v) ?? v;
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return objects.map((o) => walk(o) as K8sObject);
}

function byId(objects: K8sObject[]): Record<string, K8sObject> {
  return Object.fromEntries(objects.map((o) => [`${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`, o]));
}

function compare(fallback: K8sObject[], kubectl: K8sObject[]): void {
  const generated = new Set(fallback.filter((o) => o.kind === "ConfigMap").map((o) => o.metadata.name));
  expect(byId(fallback)).toEqual(byId(unhash(kubectl, generated)));
}

describe.skipIf(!HAS_KUBECTL)("fallback renderer = kubectl kustomize", () => {
  it("base", () => compare(miniKustomize(join(K8S_DIR, "base")), renderWithKubectl(join(K8S_DIR, "base"))));

  it.each(readdirSync(join(K8S_DIR, "overlays")))("overlays/%s", (overlay) => {
    const dir = join(K8S_DIR, "overlays", overlay);
    compare(miniKustomize(dir), renderWithKubectl(dir));
  });

  it.each(readdirSync(join(K8S_DIR, "components")))("base + component %s", (component) => {
    compare(renderBaseWith([component], miniKustomize), renderBaseWith([component], renderWithKubectl));
  });
});

describe("strategic merge", () => {
  it("merges maps, deletes on null, merges keyed lists by key (new items first, as kustomize) and replaces other lists", () => {
    const target = {
      spec: {
        replicas: 2,
        template: {
          spec: {
            containers: [
              { name: "a", image: "x", env: [{ name: "K", value: "1" }], args: ["serve", "predictor"], volumeMounts: [{ name: "tmp", mountPath: "/tmp" }] },
              { name: "b", image: "y" },
            ],
          },
        },
      },
    };
    const patch = {
      spec: {
        replicas: null,
        template: {
          spec: {
            containers: [
              {
                name: "a",
                env: [
                  { name: "K", value: "2" },
                  { name: "L", value: "3" },
                ],
                args: ["x"],
                volumeMounts: [{ name: "data", mountPath: "/data" }],
              },
            ],
          },
        },
      },
    };
    expect(strategicMerge(structuredClone(target), patch)).toEqual({
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: "a",
                image: "x",
                env: [
                  { name: "L", value: "3" },
                  { name: "K", value: "2" },
                ],
                args: ["x"],
                volumeMounts: [
                  { name: "data", mountPath: "/data" },
                  { name: "tmp", mountPath: "/tmp" },
                ],
              },
              { name: "b", image: "y" },
            ],
          },
        },
      },
    });
  });

  it("rejects directives it does not implement", () => {
    expect(() => strategicMerge({ a: [] }, { a: [{ $patch: "replace" }], $patch: "delete" })).toThrow(/not supported/);
  });
});
