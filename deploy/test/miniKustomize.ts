// A small kustomize for machines without kubectl: just the features deploy/k8s uses (resources,
// components, configMapGenerator, strategic-merge patches, images, replicas, namespace), applied in
// kustomize's order. Generated ConfigMaps keep their plain name (no content hash). Anything else in a
// kustomization is an error, so the fallback never silently renders something kubectl would not.
// kustomizeFallback.test.ts checks it against `kubectl kustomize` wherever kubectl exists.
import { readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { parse, parseAllDocuments } from "yaml";

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

type Json = Record<string, unknown>;

interface ConfigMapGeneratorArgs {
  name: string;
  behavior?: "create" | "merge" | "replace";
  literals?: string[];
  envs?: string[];
  files?: string[];
}

interface Kustomization {
  apiVersion?: string;
  kind?: "Kustomization" | "Component";
  namespace?: string;
  resources?: string[];
  components?: string[];
  configMapGenerator?: ConfigMapGeneratorArgs[];
  patches?: Array<{ path?: string; patch?: string }>;
  images?: Array<{ name: string; newName?: string; newTag?: string; digest?: string }>;
  replicas?: Array<{ name: string; count: number }>;
}

const SUPPORTED_FIELDS = new Set(["apiVersion", "kind", "namespace", "resources", "components", "configMapGenerator", "patches", "images", "replicas"]);
const CLUSTER_SCOPED = new Set([
  "Namespace",
  "ClusterRole",
  "ClusterRoleBinding",
  "PersistentVolume",
  "StorageClass",
  "CustomResourceDefinition",
  "PriorityClass",
]);
const SCALABLE = new Set(["Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"]);

/** Renders the kustomization in `dir` like `kubectl kustomize dir` (modulo ConfigMap name hashes). */
export function miniKustomize(dir: string): K8sObject[] {
  return accumulate(resolve(dir), [], "Kustomization");
}

function loadKustomization(dir: string, expected: "Kustomization" | "Component"): Kustomization {
  const k = parse(readFileSync(resolve(dir, "kustomization.yaml"), "utf8")) as Kustomization;
  const kind = k.kind ?? "Kustomization";
  if (kind !== expected) throw new Error(`${dir}: expected a ${expected}, found ${kind}`);
  for (const field of Object.keys(k)) {
    if (!SUPPORTED_FIELDS.has(field)) throw new Error(`${dir}/kustomization.yaml: field '${field}' is not supported by the fallback renderer`);
  }
  return k;
}

function accumulate(dir: string, inherited: K8sObject[], kind: "Kustomization" | "Component"): K8sObject[] {
  const k = loadKustomization(dir, kind);
  let objects = [...inherited];
  for (const r of k.resources ?? []) objects.push(...loadResource(resolve(dir, r)));
  for (const c of k.components ?? []) objects = accumulate(resolve(dir, c), objects, "Component");
  for (const g of k.configMapGenerator ?? []) objects = generateConfigMap(dir, g, objects);
  for (const p of k.patches ?? []) objects = applyPatches(dir, p, objects);
  if (k.namespace) objects = objects.map((o) => setNamespace(o, k.namespace!));
  for (const r of k.replicas ?? []) objects = objects.map((o) => setReplicas(o, r.name, r.count));
  for (const img of k.images ?? []) objects = objects.map((o) => setImage(o, img));
  return objects;
}

function loadResource(path: string): K8sObject[] {
  if (statSync(path).isDirectory()) return accumulate(path, [], "Kustomization");
  return parseManifests(readFileSync(path, "utf8"), path);
}

/** Parses a multi-document YAML stream into Kubernetes objects (empty documents skipped). */
export function parseManifests(text: string, origin: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${origin}: ${doc.errors[0]!.message}`);
    const value = doc.toJS() as K8sObject | null;
    if (value === null) continue;
    if (!value.apiVersion || !value.kind || !value.metadata?.name) throw new Error(`${origin}: a document lacks apiVersion, kind or metadata.name`);
    out.push(value);
  }
  return out;
}

function parseEnvFile(text: string, origin: string): Record<string, string> {
  const data: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) throw new Error(`${origin}: not KEY=VALUE: ${line}`);
    data[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return data;
}

function generateConfigMap(dir: string, g: ConfigMapGeneratorArgs, objects: K8sObject[]): K8sObject[] {
  const data: Record<string, string> = {};
  for (const env of g.envs ?? []) Object.assign(data, parseEnvFile(readFileSync(resolve(dir, env), "utf8"), env));
  for (const literal of g.literals ?? []) {
    const eq = literal.indexOf("=");
    if (eq <= 0) throw new Error(`${dir}: literal '${literal}' is not KEY=VALUE`);
    data[literal.slice(0, eq)] = literal.slice(eq + 1);
  }
  for (const file of g.files ?? []) {
    const eq = file.indexOf("=");
    const [key, path] = eq > 0 ? [file.slice(0, eq), file.slice(eq + 1)] : [file.slice(file.lastIndexOf("/") + 1), file];
    data[key] = readFileSync(resolve(dir, path), "utf8");
  }
  const behavior = g.behavior ?? "create";
  const index = objects.findIndex((o) => o.kind === "ConfigMap" && o.metadata.name === g.name);
  if (behavior === "create") {
    if (index >= 0) throw new Error(`${dir}: ConfigMap ${g.name} already exists (use behavior: merge or replace)`);
    return [...objects, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: g.name }, data }];
  }
  if (index < 0) throw new Error(`${dir}: behavior ${behavior} needs an existing ConfigMap ${g.name}`);
  const existing = objects[index]!;
  const merged = behavior === "merge" ? { ...(existing["data"] as Record<string, string>), ...data } : data;
  return objects.map((o, i) => (i === index ? { ...structuredClone(o), data: merged } : o));
}

function applyPatches(dir: string, p: { path?: string; patch?: string }, objects: K8sObject[]): K8sObject[] {
  if ((p.path === undefined) === (p.patch === undefined)) throw new Error(`${dir}: a patch needs exactly one of path or patch`);
  const origin = p.path ? resolve(dir, p.path) : `${dir} (inline patch)`;
  const patches = parseManifests(p.path ? readFileSync(origin, "utf8") : p.patch!, origin);
  let out = objects;
  for (const patch of patches) {
    const group = (v: string) => (v.includes("/") ? v.slice(0, v.indexOf("/")) : "");
    const matches = out.filter((o) => o.kind === patch.kind && o.metadata.name === patch.metadata.name && group(o.apiVersion) === group(patch.apiVersion));
    if (matches.length !== 1) throw new Error(`${origin}: patch for ${patch.kind}/${patch.metadata.name} matches ${matches.length} objects`);
    out = out.map((o) => (o === matches[0] ? (strategicMerge(structuredClone(o), patch) as K8sObject) : o));
  }
  return out;
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The merge key of a list in a strategic-merge patch, undefined for lists that are replaced whole. */
function mergeKey(field: string, items: unknown[]): string | undefined {
  switch (field) {
    case "containers":
    case "initContainers":
    case "env":
    case "volumes":
    case "imagePullSecrets":
      return "name";
    case "volumeMounts":
      return "mountPath";
    case "ports":
      return items.every((i) => isObject(i) && "containerPort" in i) ? "containerPort" : "port";
    default:
      return undefined;
  }
}

/** Strategic merge of `patch` into `target` (mutated): maps merge, null deletes, keyed lists merge by key. */
export function strategicMerge(target: Json, patch: Json): Json {
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith("$")) throw new Error(`strategic-merge directive ${key} is not supported by the fallback renderer`);
    const current = target[key];
    if (value === null) {
      delete target[key];
    } else if (isObject(value) && isObject(current)) {
      strategicMerge(current, value);
    } else if (Array.isArray(value) && Array.isArray(current) && mergeKey(key, [...current, ...value]) !== undefined) {
      const k = mergeKey(key, [...current, ...value])!;
      // Like kustomize: items new to the list come first (in patch order), then the existing ones.
      const merged = [...current];
      const added: unknown[] = [];
      for (const item of value) {
        if (!isObject(item)) throw new Error(`list ${key}: item without ${k}`);
        const at = merged.findIndex((m) => isObject(m) && m[k] === item[k]);
        if (at >= 0) merged[at] = strategicMerge(structuredClone(merged[at] as Json), item);
        else added.push(structuredClone(item));
      }
      target[key] = [...added, ...merged];
    } else {
      target[key] = structuredClone(value);
    }
  }
  return target;
}

function setNamespace(o: K8sObject, namespace: string): K8sObject {
  const copy = structuredClone(o);
  if (o.kind === "Namespace") copy.metadata.name = namespace;
  else if (!CLUSTER_SCOPED.has(o.kind)) copy.metadata.namespace = namespace;
  return copy;
}

function setReplicas(o: K8sObject, name: string, count: number): K8sObject {
  if (!SCALABLE.has(o.kind) || o.metadata.name !== name) return o;
  const copy = structuredClone(o);
  (copy["spec"] as Json)["replicas"] = count;
  return copy;
}

/** Splits an image reference into name and the ":tag" / "@digest" suffix. */
export function splitImage(image: string): { name: string; tag?: string; digest?: string } {
  const at = image.indexOf("@");
  const [ref, digest] = at >= 0 ? [image.slice(0, at), image.slice(at + 1)] : [image, undefined];
  const colon = ref.lastIndexOf(":");
  const tagged = colon > ref.lastIndexOf("/");
  return { name: tagged ? ref.slice(0, colon) : ref, tag: tagged ? ref.slice(colon + 1) : undefined, digest };
}

function setImage(o: K8sObject, img: { name: string; newName?: string; newTag?: string; digest?: string }): K8sObject {
  const copy = structuredClone(o);
  const template = ((copy["spec"] as Json | undefined)?.["template"] as Json | undefined)?.["spec"] as Json | undefined;
  if (!template) return o;
  for (const field of ["containers", "initContainers"]) {
    for (const c of (template[field] as Json[] | undefined) ?? []) {
      const ref = splitImage(c["image"] as string);
      if (ref.name !== img.name) continue;
      const name = img.newName ?? ref.name;
      if (img.digest) c["image"] = `${name}@${img.digest}`;
      else if (img.newTag) c["image"] = `${name}:${img.newTag}`;
      else c["image"] = `${name}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
    }
  }
  return copy;
}
