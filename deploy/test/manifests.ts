// Queries over rendered manifests, and offline schema validation with kubernetes-models.

import { Deployment } from "kubernetes-models/apps/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { Job } from "kubernetes-models/batch/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import type { IContainer, IPodSpec, IProbe, ISecurityContext } from "kubernetes-models/v1";
import { ConfigMap, Namespace, PersistentVolumeClaim, Service, ServiceAccount } from "kubernetes-models/v1";
import type { K8sObject } from "./miniKustomize.js";

interface Validatable {
  validate(): void;
}

const MODELS: Record<string, new (data: never) => Validatable> = {
  "v1/ConfigMap": ConfigMap,
  "v1/Namespace": Namespace,
  "v1/PersistentVolumeClaim": PersistentVolumeClaim,
  "v1/Service": Service,
  "v1/ServiceAccount": ServiceAccount,
  "apps/v1/Deployment": Deployment,
  "batch/v1/Job": Job,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
};

/** Validates one object against its Kubernetes schema; throws for unknown kinds and invalid objects. */
export function validateObject(o: K8sObject): void {
  const Model = MODELS[`${o.apiVersion}/${o.kind}`];
  if (!Model) throw new Error(`no schema for ${o.apiVersion} ${o.kind} (${o.metadata.name})`);
  new Model(o as never).validate();
}

export const id = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;

export function ofKind(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

export function named(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind}/${name}, found ${found.length}`);
  return found[0]!;
}

/** A pod template owner (Deployment or Job) with its pod spec and pod labels. */
export interface Workload {
  owner: K8sObject;
  pod: IPodSpec;
  labels: Record<string, string>;
}

export function workloads(objects: K8sObject[]): Workload[] {
  return objects
    .filter((o) => o.kind === "Deployment" || o.kind === "Job")
    .map((owner) => {
      const template = (owner["spec"] as { template: { metadata?: { labels?: Record<string, string> }; spec: IPodSpec } }).template;
      return { owner, pod: template.spec, labels: template.metadata?.labels ?? {} };
    });
}

export function allContainers(pod: IPodSpec): IContainer[] {
  return [...(pod.initContainers ?? []), ...pod.containers];
}

export function selects(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** The ConfigMap a (possibly hash-suffixed) reference points to. */
export function configMap(objects: K8sObject[], name: string): { data?: Record<string, string> } & K8sObject {
  return named(objects, "ConfigMap", name) as { data?: Record<string, string> } & K8sObject;
}

/** A container's environment as the kubelet builds it: envFrom ConfigMaps, then env (which wins). */
export function effectiveEnv(objects: K8sObject[], c: IContainer): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    if (!from.configMapRef?.name) throw new Error(`${c.name}: envFrom supports configMapRef only here`);
    Object.assign(env, configMap(objects, from.configMapRef.name).data ?? {});
  }
  for (const e of c.env ?? []) {
    if (e.value === undefined) throw new Error(`${c.name}: env ${e.name} has no literal value`);
    env[e.name] = e.value;
  }
  return env;
}

/** Container-level security settings override pod-level ones (runAsUser, runAsNonRoot, seccomp). */
export function effectiveSecurity(pod: IPodSpec, c: IContainer): ISecurityContext {
  const p = pod.securityContext ?? {};
  const s = c.securityContext ?? {};
  return {
    ...s,
    runAsUser: s.runAsUser ?? p.runAsUser,
    runAsGroup: s.runAsGroup ?? p.runAsGroup,
    runAsNonRoot: s.runAsNonRoot ?? p.runAsNonRoot,
    seccompProfile: s.seccompProfile ?? p.seccompProfile,
  };
}

/** The container port a probe targets: numeric, or resolved from a port name. */
export function probePort(c: IContainer, probe: IProbe): number {
  const raw = probe.grpc?.port ?? probe.tcpSocket?.port ?? probe.httpGet?.port;
  if (raw === undefined) throw new Error(`${c.name}: probe without a port`);
  if (typeof raw === "number") return raw;
  const byName = (c.ports ?? []).find((p) => p.name === raw);
  if (!byName) throw new Error(`${c.name}: probe port '${raw}' is not a named container port`);
  return byName.containerPort;
}

const BINARY_SUFFIX: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
const DECIMAL_SUFFIX: Record<string, number> = { m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** A Kubernetes resource quantity ("500m", "2", "512Mi", "1G") as a number of base units. */
export function quantity(q: string | number): number {
  if (typeof q === "number") return q;
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|m|k|M|G|T|)$/.exec(q);
  if (!m) throw new Error(`unsupported quantity '${q}'`);
  const factor = BINARY_SUFFIX[m[2]!] ?? DECIMAL_SUFFIX[m[2]!]!;
  return Number(m[1]) * factor;
}

/** Parses a gRPC target "dns:///host:port" or "host:port". */
export function grpcTarget(target: string): { scheme?: string; host: string; port: number } {
  const m = /^(?:(dns):\/\/\/)?([A-Za-z0-9.-]+):(\d+)$/.exec(target);
  if (!m) throw new Error(`not a dns:///host:port or host:port target: ${target}`);
  return { scheme: m[1], host: m[2]!, port: Number(m[3]) };
}

/** Whether `host` names Service `service` from a pod of `namespace` (short, svc-qualified or FQDN). */
export function namesService(host: string, service: string, namespace: string | undefined): boolean {
  if (host === service) return true;
  if (namespace === undefined) return false;
  return [`${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`].includes(host);
}
