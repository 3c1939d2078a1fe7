// Renders the base, every overlay and the optional component, validates every object against the
// Kubernetes schemas (kubernetes-models) and checks the invariants the services depend on.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { IContainer } from "kubernetes-models/v1";
import { describe, expect, it } from "vitest";
import {
  allContainers,
  configMap,
  effectiveEnv,
  effectiveSecurity,
  grpcTarget,
  id,
  named,
  namesService,
  ofKind,
  probePort,
  quantity,
  selects,
  validateObject,
  type Workload,
  workloads,
} from "./manifests.js";
import { miniKustomize, splitImage } from "./miniKustomize.js";
import { HAS_KUBECTL, K8S_DIR, type K8sObject, REPO_ROOT, render, renderBaseWith, renderWithKubectl } from "./render.js";

console.info(`deploy tests render with ${HAS_KUBECTL ? "kubectl kustomize" : "the fallback renderer (kubectl not found)"}`);

const SERVICE_NAMES = { predictor: "servesim.v1.PredictorService", scheduler: "servesim.v1.SchedulerService" } as const;
const SERVICE_USER = 10001;
// Defaults of services/server-common/src/config.ts, used when a manifest leaves the variable unset.
const DEFAULT_GRACE_MS = 10_000;
const DEFAULT_SHUTDOWN_DELAY_MS = 0;
const PSA_RESTRICTED_VOLUMES = new Set(["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"]);

interface Target {
  name: string;
  namespace: string | undefined;
  objects: K8sObject[];
}

const overlayNames = readdirSync(join(K8S_DIR, "overlays"));
const OVERLAY_NAMESPACES: Record<string, string> = { dev: "servesim-dev", prod: "servesim" };

const targets: Target[] = [
  { name: "base", namespace: undefined, objects: render(join(K8S_DIR, "base")).objects },
  ...overlayNames.map((o) => ({ name: `overlays/${o}`, namespace: OVERLAY_NAMESPACES[o], objects: render(join(K8S_DIR, "overlays", o)).objects })),
  {
    name: "base + aic-database",
    namespace: "servesim-test",
    objects: renderBaseWith(["aic-database"], HAS_KUBECTL ? renderWithKubectl : miniKustomize),
  },
];

/** The Deployment running `servesim serve <role>`. */
function serving(objects: K8sObject[], role: "predictor" | "scheduler"): Workload & { container: IContainer } {
  const found = workloads(objects).flatMap((w) =>
    w.owner.kind === "Deployment"
      ? w.pod.containers.filter((c) => c.args?.[0] === "serve" && c.args[1] === role).map((container) => ({ ...w, container }))
      : [],
  );
  if (found.length !== 1) throw new Error(`expected one container serving ${role}, found ${found.length}`);
  return found[0]!;
}

function grpcPort(c: IContainer): number {
  const port = (c.ports ?? []).find((p) => p.name === "grpc");
  if (!port) throw new Error(`${c.name} has no port named grpc`);
  return port.containerPort;
}

/** The Service whose selector picks the pods of `w`. */
function serviceFor(
  objects: K8sObject[],
  w: Workload,
): K8sObject & { spec: { clusterIP?: string; ports: Array<{ name?: string; port: number; targetPort?: string | number }> } } {
  const found = ofKind(objects, "Service").filter((s) => selects((s["spec"] as { selector?: Record<string, string> }).selector, w.labels));
  if (found.length !== 1) throw new Error(`expected one Service selecting ${id(w.owner)}, found ${found.length}`);
  return found[0] as never;
}

describe.each(targets)("$name", ({ objects, namespace }) => {
  it("renders valid Kubernetes objects with unique names", () => {
    expect(objects.length).toBeGreaterThan(0);
    for (const o of objects) expect(() => validateObject(o), id(o)).not.toThrow();
    const ids = objects.map(id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("puts every namespaced object in the overlay's namespace (none in the base)", () => {
    for (const o of objects) {
      if (o.kind === "Namespace") expect(o.metadata.name).toBe(namespace);
      else expect(o.metadata.namespace, id(o)).toBe(namespace);
    }
    if (namespace !== undefined && objects.some((o) => o.kind === "Namespace")) {
      const ns = named(objects, "Namespace", namespace);
      expect(ns.metadata.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    }
  });

  it("runs the predictor and the scheduler from the same image with the CLI's serve command", () => {
    const p = serving(objects, "predictor");
    const s = serving(objects, "scheduler");
    expect(p.container.image).toBe(s.container.image);
    expect(p.container.command).toBeUndefined();
    expect(s.container.command).toBeUndefined();
    for (const w of workloads(objects))
      for (const c of allContainers(w.pod)) expect(splitImage(c.image!).name, c.name).toBe(splitImage(p.container.image!).name);
  });

  it("selects each Deployment's own pods and keeps the scheduler at one replica", () => {
    for (const w of workloads(objects).filter((x) => x.owner.kind === "Deployment")) {
      const selector = (w.owner["spec"] as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
      expect(selects(selector, w.labels), id(w.owner)).toBe(true);
    }
    expect((serving(objects, "scheduler").owner["spec"] as { replicas?: number }).replicas).toBe(1);
  });

  it("gives every container resource requests and limits, requests within limits", () => {
    for (const w of workloads(objects)) {
      for (const c of allContainers(w.pod)) {
        for (const r of ["cpu", "memory"]) {
          const req = c.resources?.requests?.[r];
          const lim = c.resources?.limits?.[r];
          expect(req, `${id(w.owner)} ${c.name} requests.${r}`).toBeDefined();
          expect(lim, `${id(w.owner)} ${c.name} limits.${r}`).toBeDefined();
          expect(quantity(req!), `${id(w.owner)} ${c.name} ${r}`).toBeLessThanOrEqual(quantity(lim!));
        }
      }
    }
  });

  it("hardens every pod and container (non-root, read-only root, no privilege escalation, no capabilities, RuntimeDefault seccomp)", () => {
    for (const w of workloads(objects)) {
      const where = id(w.owner);
      expect(w.pod.automountServiceAccountToken, where).toBe(false);
      expect(w.pod.enableServiceLinks, where).toBe(false);
      expect(w.pod.hostNetwork ?? false, where).toBe(false);
      expect(w.pod.hostPID ?? false, where).toBe(false);
      expect(w.pod.hostIPC ?? false, where).toBe(false);
      expect(w.pod.securityContext?.runAsNonRoot, where).toBe(true);
      expect(w.pod.securityContext?.seccompProfile?.type, where).toBe("RuntimeDefault");
      for (const c of allContainers(w.pod)) {
        const s = effectiveSecurity(w.pod, c);
        const at = `${where} ${c.name}`;
        expect(s.runAsNonRoot, at).toBe(true);
        expect(s.runAsUser, at).toBe(SERVICE_USER);
        expect(s.runAsGroup, at).toBe(SERVICE_USER);
        expect(s.readOnlyRootFilesystem, at).toBe(true);
        expect(s.allowPrivilegeEscalation, at).toBe(false);
        expect(s.privileged ?? false, at).toBe(false);
        expect(s.capabilities?.drop, at).toEqual(["ALL"]);
        expect(s.capabilities?.add, at).toBeUndefined();
        expect(s.seccompProfile?.type, at).toBe("RuntimeDefault");
        const tmp = (c.volumeMounts ?? []).find((m) => m.mountPath === "/tmp");
        expect(tmp, `${at} mounts /tmp`).toBeDefined();
        expect(w.pod.volumes?.find((v) => v.name === tmp!.name)?.emptyDir, `${at} /tmp is an emptyDir`).toBeDefined();
      }
      for (const v of w.pod.volumes ?? []) {
        const types = Object.keys(v).filter((k) => k !== "name");
        expect(
          types.every((t) => PSA_RESTRICTED_VOLUMES.has(t)),
          `${where} volume ${v.name}: ${types.join()}`,
        ).toBe(true);
      }
    }
  });

  it("uses dedicated service accounts that mount no token", () => {
    for (const w of workloads(objects)) {
      const sa = named(objects, "ServiceAccount", w.pod.serviceAccountName!);
      expect(sa["automountServiceAccountToken"], id(sa)).toBe(false);
    }
  });

  it("references only ConfigMaps that exist", () => {
    for (const w of workloads(objects)) {
      for (const c of allContainers(w.pod)) for (const f of c.envFrom ?? []) expect(() => configMap(objects, f.configMapRef!.name!)).not.toThrow();
      for (const v of w.pod.volumes ?? []) if (v.configMap) expect(() => configMap(objects, v.configMap!.name!)).not.toThrow();
    }
  });

  describe.each(["predictor", "scheduler"] as const)("%s", (role) => {
    it("listens on its grpc port (SERVESIM_PORT = containerPort) and is probed on its health port (SERVESIM_HEALTH_PORT = containerPort = every probe's port)", () => {
      const { container: c } = serving(objects, role);
      const port = grpcPort(c);
      expect(port).toBe(role === "predictor" ? 50051 : 50052);
      const env = effectiveEnv(objects, c);
      expect(env["SERVESIM_PORT"]).toBe(String(port));
      const health = (c.ports ?? []).find((p) => p.name === "health")?.containerPort;
      expect(health).toBe(role === "predictor" ? 50061 : 50062);
      expect(env["SERVESIM_HEALTH_PORT"]).toBe(String(health));
      for (const probe of [c.startupProbe, c.readinessProbe, c.livenessProbe]) {
        expect(probe?.grpc, "native grpc probe").toBeDefined();
        expect(probePort(c, probe!)).toBe(health);
      }
      expect(["", SERVICE_NAMES[role]]).toContain(c.readinessProbe!.grpc!.service ?? "");
    });

    it("drains within the termination grace period and leaves readiness before the drain starts", () => {
      const w = serving(objects, role);
      const env = effectiveEnv(objects, w.container);
      const graceMs = Number(env["SERVESIM_GRACE_MS"] ?? DEFAULT_GRACE_MS);
      const delayMs = Number(env["SERVESIM_SHUTDOWN_DELAY_MS"] ?? DEFAULT_SHUTDOWN_DELAY_MS);
      expect(w.pod.terminationGracePeriodSeconds! * 1000).toBeGreaterThan(graceMs + delayMs);
      const r = w.container.readinessProbe!;
      expect((r.periodSeconds ?? 10) * (r.failureThreshold ?? 3) * 1000).toBeLessThanOrEqual(delayMs);
    });

    it("is reachable through a Service port named grpc that targets the container's grpc port", () => {
      const w = serving(objects, role);
      const svc = serviceFor(objects, w);
      const port = svc.spec.ports.find((p) => p.name === "grpc");
      expect(port?.port).toBe(grpcPort(w.container));
      const target = port!.targetPort ?? port!.port;
      expect(typeof target === "number" ? target : (w.container.ports ?? []).find((p) => p.name === target)?.containerPort).toBe(grpcPort(w.container));
    });
  });

  it("makes the predictor Service headless", () => {
    const svc = serviceFor(objects, serving(objects, "predictor"));
    expect(svc.spec.clusterIP).toBe("None");
    expect((svc.spec as { publishNotReadyAddresses?: boolean }).publishNotReadyAddresses ?? false).toBe(false);
  });

  it("points the scheduler at the headless predictor Service with dns:///", () => {
    const predictor = serving(objects, "predictor");
    const svc = serviceFor(objects, predictor);
    const address = effectiveEnv(objects, serving(objects, "scheduler").container)["SERVESIM_PREDICTOR_ADDRESS"];
    expect(address).toBeDefined();
    const t = grpcTarget(address!);
    expect(t.scheme).toBe("dns");
    expect(namesService(t.host, svc.metadata.name, namespace), t.host).toBe(true);
    // Headless: clients dial the pods directly, so the address port must be the container port.
    expect(t.port).toBe(grpcPort(predictor.container));
  });

  it("matches every Service selector to exactly one Deployment's pods", () => {
    for (const svc of ofKind(objects, "Service")) {
      const selector = (svc["spec"] as { selector?: Record<string, string> }).selector;
      const matching = workloads(objects).filter((w) => w.owner.kind === "Deployment" && selects(selector, w.labels));
      expect(
        matching.map((w) => id(w.owner)),
        id(svc),
      ).toHaveLength(1);
    }
  });

  it("autoscales (if it does) the predictor Deployment, which then leaves its replica count to the HPA", () => {
    const predictor = serving(objects, "predictor");
    for (const hpa of ofKind(objects, "HorizontalPodAutoscaler")) {
      const spec = hpa["spec"] as {
        scaleTargetRef: { apiVersion: string; kind: string; name: string };
        minReplicas: number;
        maxReplicas: number;
        metrics: Array<{ type: string; resource?: { name: string } }>;
      };
      expect(spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: predictor.owner.metadata.name });
      expect(spec.maxReplicas).toBeGreaterThan(spec.minReplicas);
      expect(spec.metrics.some((m) => m.type === "Resource" && m.resource?.name === "cpu")).toBe(true);
      expect(predictor.container.resources?.requests?.["cpu"]).toBeDefined();
      expect((predictor.owner["spec"] as { replicas?: number }).replicas).toBeUndefined();
    }
  });

  it("guards (if it does) exactly the predictor pods with a PodDisruptionBudget", () => {
    for (const pdb of ofKind(objects, "PodDisruptionBudget")) {
      const selector = (pdb["spec"] as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
      const guarded = workloads(objects).filter((w) => w.owner.kind === "Deployment" && selects(selector, w.labels));
      expect(guarded.map((w) => w.owner.metadata.name)).toEqual([serving(objects, "predictor").owner.metadata.name]);
      const hpa = ofKind(objects, "HorizontalPodAutoscaler")[0];
      const maxUnavailable = (pdb["spec"] as { maxUnavailable?: number }).maxUnavailable;
      if (hpa && typeof maxUnavailable === "number") expect(maxUnavailable).toBeLessThan((hpa["spec"] as { minReplicas: number }).minReplicas);
    }
  });

  describe.each(ofKind(objects, "Job").map((job) => ({ job: job.metadata.name })))("sweep Job $job", ({ job }) => {
    const w = workloads(objects).find((x) => x.owner.kind === "Job" && x.owner.metadata.name === job)!;
    const spec = w.owner["spec"] as { completionMode?: string; completions?: number; parallelism?: number; suspend?: boolean };
    const main = w.pod.containers[0]!;
    const sweepVolume = w.pod.volumes!.find((v) => v.configMap)!;
    const data = configMap(objects, sweepVolume.configMap!.name!).data ?? {};

    it("is an Indexed Job: one shard of the sweep file per completion", () => {
      expect(spec.completionMode).toBe("Indexed");
      expect(w.pod.restartPolicy).toBe("Never");
      expect(Object.keys(data)).toEqual(["sweep.yaml"]);
      expect(main.args).toContain(`$(SHARD)/${spec.completions}`);
      expect(spec.parallelism).toBeGreaterThanOrEqual(1);
      expect(spec.parallelism).toBeLessThanOrEqual(spec.completions!);
      expect(spec.suspend).toBe(true);
    });

    it("runs servesim sweep on the mounted sweep file, its shard from the completion index", () => {
      const mount = main.volumeMounts!.find((m) => m.name === sweepVolume.name)!;
      expect(main.command).toBeUndefined();
      expect(main.args!.slice(0, 3)).toEqual(["sweep", "--space", `${mount.mountPath}/sweep.yaml`]);
      const shard = main.env!.find((e) => e.name === "SHARD");
      expect(shard?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.annotations['batch.kubernetes.io/job-completion-index']");
      expect(main.args![main.args!.indexOf("--workers") + 1]).toBe(String(main.resources!.limits!["cpu"]));
    });

    it("appends the results to a ReadWriteMany claim of the same overlay", () => {
      const out = main.args![main.args!.indexOf("--output-dir") + 1]!;
      const mount = main.volumeMounts!.find((m) => out.startsWith(`${m.mountPath}/`))!;
      const claim = w.pod.volumes!.find((v) => v.name === mount.name)!.persistentVolumeClaim!.claimName;
      const pvc = ofKind(objects, "PersistentVolumeClaim").find((o) => o.metadata.name === claim)!;
      expect((pvc["spec"] as { accessModes: string[] }).accessModes).toEqual(["ReadWriteMany"]);
    });
  });
});

function target(name: string): Target {
  return targets.find((t) => t.name === name)!;
}

describe("overlays/dev", () => {
  const { objects } = target("overlays/dev");

  it("runs one small predictor with debug logs and the locally built image", () => {
    const p = serving(objects, "predictor");
    expect((p.owner["spec"] as { replicas?: number }).replicas).toBe(1);
    expect(p.container.image).toBe("servesim:dev");
    for (const role of ["predictor", "scheduler"] as const) {
      const c = serving(objects, role).container;
      expect(effectiveEnv(objects, c)["SERVESIM_LOG_LEVEL"]).toBe("debug");
      const base = serving(target("base").objects, role).container;
      expect(quantity(c.resources!.limits!["memory"]!)).toBeLessThan(quantity(base.resources!.limits!["memory"]!));
    }
    expect(ofKind(objects, "HorizontalPodAutoscaler")).toHaveLength(0);
  });
});

describe("overlays/prod", () => {
  const { objects } = target("overlays/prod");

  it("autoscales the predictor from at least 3 replicas, with a PDB and the sweep Job", () => {
    const hpa = named(objects, "HorizontalPodAutoscaler", "predictor");
    expect((hpa["spec"] as { minReplicas: number }).minReplicas).toBeGreaterThanOrEqual(3);
    expect(ofKind(objects, "PodDisruptionBudget")).toHaveLength(1);
    expect(ofKind(objects, "Job")).toHaveLength(1);
    expect(effectiveEnv(objects, serving(objects, "predictor").container)["SERVESIM_LOG_LEVEL"]).toBe("info");
  });

  it("pins the image: by digest, or by the package version as tag", () => {
    const version = (JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string }).version;
    for (const w of workloads(objects)) {
      for (const c of allContainers(w.pod)) {
        const ref = splitImage(c.image!);
        if (ref.digest !== undefined) expect(ref.digest, c.image).toMatch(/^sha256:[0-9a-f]{64}$/);
        else expect(ref.tag, `${id(w.owner)} ${c.name}`).toBe(version);
        expect(c.imagePullPolicy ?? "IfNotPresent").toBe("IfNotPresent");
      }
    }
  });
});

describe("component aic-database", () => {
  const { objects } = target("base + aic-database");

  it.each(["predictor", "scheduler"] as const)("mounts the systems directory read-only into the %s at SERVESIM_AIC_DATABASE_PATH", (role) => {
    const w = serving(objects, role);
    const path = effectiveEnv(objects, w.container)["SERVESIM_AIC_DATABASE_PATH"];
    const mount = w.container.volumeMounts!.find((m) => m.mountPath === path);
    expect(mount?.readOnly).toBe(true);
    const volume = w.pod.volumes!.find((v) => v.name === mount!.name);
    expect(volume?.persistentVolumeClaim).toEqual({ claimName: "aic-systems", readOnly: true });
  });
});

describe("component postgres-job-store", () => {
  const objects = renderBaseWith(["postgres-job-store"], HAS_KUBECTL ? renderWithKubectl : miniKustomize);

  it("validates against the Kubernetes schemas", () => {
    for (const o of objects) validateObject(o);
  });

  it("runs several scheduler replicas on the shared PostgreSQL queue, the URL from a Secret", () => {
    const w = serving(objects, "scheduler");
    expect((w.owner as { spec?: { replicas?: number } }).spec?.replicas).toBe(3);
    const store = w.container.env!.find((e) => e.name === "SERVESIM_JOB_STORE");
    expect(store?.valueFrom?.secretKeyRef).toEqual({ name: "servesim-postgres", key: "url" });
    expect(w.container.env!.find((e) => e.name === "SERVESIM_JOB_LEASE_MS")?.value).toBe("15000");
  });

  it("keeps at least two scheduler replicas through voluntary disruptions", () => {
    const pdb = objects.find((o) => o.kind === "PodDisruptionBudget" && o.metadata.name === "scheduler") as K8sObject & {
      spec: { maxUnavailable: number; selector: { matchLabels: Record<string, string> } };
    };
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(pdb.spec.selector.matchLabels).toEqual({ "app.kubernetes.io/name": "servesim", "app.kubernetes.io/component": "scheduler" });
  });
});
