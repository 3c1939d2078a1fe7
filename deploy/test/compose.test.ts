// Static checks of deploy/compose.yaml and deploy/compose.aic.yaml (no Docker engine needed).
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { grpcTarget } from "./manifests.js";
import { REPO_ROOT } from "./render.js";

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  user?: string;
  read_only?: boolean;
  tmpfs?: string[];
  cap_drop?: string[];
  security_opt?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  stop_grace_period?: string;
  profiles?: string[];
  volumes?: string[];
}

const DEPLOY = join(REPO_ROOT, "deploy");
const load = (file: string) => parse(readFileSync(join(DEPLOY, file), "utf8"), { merge: true }) as { services: Record<string, ComposeService> };
const { services } = load("compose.yaml");
const SERVICE_NAMES = { predictor: "servesim.v1.PredictorService", scheduler: "servesim.v1.SchedulerService" } as const;

/** "30s" / "1m30s" / "1500ms" → milliseconds. */
function durationMs(d: string): number {
  let total = 0;
  for (const [, n, unit] of d.matchAll(/(\d+)(ms|s|m|h)/g)) total += Number(n) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit as "ms" | "s" | "m" | "h"];
  return total;
}

/** Container port of a "host_ip:host_port[-range]:container_port" mapping, checking it stays on loopback. */
function containerPort(mapping: string): number {
  const m = /^127\.0\.0\.1:\d+(?:-\d+)?:(\d+)$/.exec(mapping);
  if (!m) throw new Error(`not a loopback port mapping: ${mapping}`);
  return Number(m[1]);
}

function argAfter(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

describe("deploy/compose.yaml", () => {
  it("builds one image from the repository root with deploy/Dockerfile", () => {
    const images = new Set(Object.values(services).map((s) => s.image));
    expect(images.size).toBe(1);
    for (const s of Object.values(services)) {
      expect(resolve(DEPLOY, s.build!.context)).toBe(REPO_ROOT);
      expect(existsSync(join(REPO_ROOT, s.build!.dockerfile))).toBe(true);
      expect(s.build!.dockerfile).toBe("deploy/Dockerfile");
    }
  });

  it("hardens every container like the Kubernetes pods", () => {
    for (const [name, s] of Object.entries(services)) {
      expect(s.user, name).toBe("10001:10001");
      expect(s.read_only, name).toBe(true);
      expect(s.tmpfs, name).toContain("/tmp");
      expect(s.cap_drop, name).toEqual(["ALL"]);
      expect(s.security_opt, name).toContain("no-new-privileges:true");
    }
  });

  describe.each(["predictor", "scheduler"] as const)("%s", (role) => {
    const s = services[role]!;
    const port = Number(s.environment!["SERVESIM_PORT"]);

    it("serves on SERVESIM_PORT, published on loopback only", () => {
      expect(s.command).toEqual(["serve", role]);
      expect(port).toBe(role === "predictor" ? 50051 : 50052);
      expect(s.ports!.map(containerPort)).toEqual([port]);
    });

    it("is health-checked with deploy/healthcheck.mjs on its own port and service", () => {
      const test = s.healthcheck!.test;
      expect(test.slice(0, 3)).toEqual(["CMD", "node", "/app/deploy/healthcheck.mjs"]);
      expect(argAfter(test, "--address")).toBe(`127.0.0.1:${port}`);
      expect(argAfter(test, "--service")).toBe(SERVICE_NAMES[role]);
    });

    it("stops after the drain has had its time", () => {
      expect(durationMs(s.stop_grace_period!)).toBeGreaterThan(Number(s.environment!["SERVESIM_GRACE_MS"]));
    });
  });

  it("points the scheduler at every predictor replica with dns:/// and starts it once a predictor is healthy", () => {
    const scheduler = services["scheduler"]!;
    const t = grpcTarget(scheduler.environment!["SERVESIM_PREDICTOR_ADDRESS"]!);
    expect(t).toEqual({ scheme: "dns", host: "predictor", port: Number(services["predictor"]!.environment!["SERVESIM_PORT"]) });
    expect(scheduler.depends_on).toEqual({ predictor: { condition: "service_healthy" } });
  });

  it("runs the sweep Job's sweep file in one container, only on request, results in a volume", () => {
    const sweep = services["sweep"]!;
    expect(sweep.profiles).toEqual(["sweep"]);
    const command = (sweep as { command?: string[] }).command!;
    expect(command.slice(0, 3)).toEqual(["sweep", "--space", "/etc/servesim/sweep/sweep.yaml"]);
    const [source, target, mode] = sweep.volumes![0]!.split(":");
    expect(resolve(DEPLOY, source!)).toBe(join(DEPLOY, "k8s", "components", "sweep-job"));
    expect([target, mode]).toEqual(["/etc/servesim/sweep", "ro"]);
    const out = command[command.indexOf("--output-dir") + 1]!;
    expect(sweep.volumes!.some((v) => v.startsWith("sweep-results:") && out.startsWith(`${v.split(":")[1]}/`))).toBe(true);
  });
});

describe("deploy/compose.aic.yaml", () => {
  const aic = load("compose.aic.yaml").services;

  it.each(["predictor", "scheduler"])("mounts the systems directory read-only into the %s at SERVESIM_AIC_DATABASE_PATH", (role) => {
    const s = aic[role]!;
    const volume = s.volumes![0]!;
    expect(volume.startsWith("${SERVESIM_AIC_SYSTEMS:?")).toBe(true);
    const [target, mode] = volume.slice(volume.indexOf("}:") + 2).split(":");
    expect(target).toBe(s.environment!["SERVESIM_AIC_DATABASE_PATH"]);
    expect(mode).toBe("ro");
  });
});
