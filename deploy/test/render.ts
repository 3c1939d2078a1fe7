// Renders a kustomization: with `kubectl kustomize` when kubectl is installed, else with the fallback
// renderer in miniKustomize.ts. SERVESIM_DEPLOY_RENDERER=fallback forces the fallback.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type K8sObject, miniKustomize, parseManifests } from "./miniKustomize.js";

export type { K8sObject };

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const K8S_DIR = join(REPO_ROOT, "deploy", "k8s");

function findKubectl(): boolean {
  const r = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" });
  return r.status === 0;
}

export const HAS_KUBECTL = process.env["SERVESIM_DEPLOY_RENDERER"] !== "fallback" && findKubectl();

export function renderWithKubectl(dir: string): K8sObject[] {
  const r = spawnSync("kubectl", ["kustomize", dir], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${r.stderr}`);
  return parseManifests(r.stdout, `kubectl kustomize ${dir}`);
}

export interface Rendered {
  objects: K8sObject[];
  renderer: "kubectl" | "fallback";
}

export function render(dir: string): Rendered {
  return HAS_KUBECTL ? { objects: renderWithKubectl(dir), renderer: "kubectl" } : { objects: miniKustomize(dir), renderer: "fallback" };
}

/**
 * Writes a throwaway overlay (kustomize only accepts relative paths to other kustomizations) that adds
 * `components` to the base, renders it with `renderFn`, and removes it.
 */
export function renderBaseWith(components: string[], renderFn: (dir: string) => K8sObject[], namespace = "servesim-test"): K8sObject[] {
  const dir = mkdtempSync(join(tmpdir(), "servesim-overlay-"));
  try {
    const rel = (p: string) => relative(dir, join(K8S_DIR, p));
    const lines = [
      "apiVersion: kustomize.config.k8s.io/v1beta1",
      "kind: Kustomization",
      `namespace: ${namespace}`,
      "resources:",
      `  - ${rel("base")}`,
      "components:",
      ...components.map((c) => `  - ${rel(join("components", c))}`),
    ];
    writeFileSync(join(dir, "kustomization.yaml"), `${lines.join("\n")}\n`);
    return renderFn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
