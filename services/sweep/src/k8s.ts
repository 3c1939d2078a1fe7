/**
 * A sweep as a Kubernetes indexed Job: pod i runs `servesim sweep --shard i/N` (the points whose index is
 * i modulo N) with the embedded predictor on its own cores, and appends its rows to the results
 * directory on a shared volume. A re-run, or a pod retried after a failure, skips the points already
 * there; `servesim sweep --space FILE --output-dir DIR` on a copy of the directory then merges the rows
 * into results.csv / results.jsonl (and --html / --plot). deploy/k8s/components/sweep-job is the same
 * Job as a Kustomize component.
 */
import { stringify } from "yaml";

export interface SweepJobOptions {
  /** Object names: the Job, its ConfigMap (`<name>-space`). */
  name: string;
  /** The sweep file's text and, when it fits in the ConfigMap, the dataset it names. */
  files: Record<string, string>;
  /** Pods (= completions); each runs one shard. */
  shards: number;
  /** Pods at once. */
  parallelism: number;
  /** Worker threads and CPU of each pod. */
  cpus: number;
  memory: string;
  image: string;
  /** The ReadWriteMany claim holding the results; created too unless it exists already. */
  resultsClaim: string;
  createClaim: boolean;
  claimSize: string;
  /** Directory on the claim for this sweep's results. */
  resultsDir: string;
  /** servesim sweep arguments added to every pod's (e.g. --dataset /results/data/d.jsonl). */
  extraArgs?: string[];
  namespace?: string;
}

export const SWEEP_FILE_MOUNT = "/etc/servesim/sweep";
export const RESULTS_MOUNT = "/results";
export const CONFIGMAP_LIMIT_BYTES = 900 * 1024;

const SECURITY = {
  runAsNonRoot: true,
  runAsUser: 10001,
  runAsGroup: 10001,
  readOnlyRootFilesystem: true,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

/** The objects (ConfigMap, optionally the PersistentVolumeClaim, the Job) as plain JSON. */
export function sweepJobObjects(o: SweepJobOptions): Record<string, unknown>[] {
  const labels = {
    "app.kubernetes.io/name": "servesim",
    "app.kubernetes.io/component": "sweep",
    "app.kubernetes.io/part-of": "servesim",
    "servesim.io/sweep": o.name,
  };
  const meta = (name: string) => ({ name, labels, ...(o.namespace ? { namespace: o.namespace } : {}) });
  const objects: Record<string, unknown>[] = [{ apiVersion: "v1", kind: "ConfigMap", metadata: meta(`${o.name}-space`), data: o.files }];
  if (o.createClaim) {
    objects.push({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: meta(o.resultsClaim),
      spec: { accessModes: ["ReadWriteMany"], resources: { requests: { storage: o.claimSize } } },
    });
  }
  objects.push({
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: meta(o.name),
    spec: {
      completionMode: "Indexed",
      completions: o.shards,
      parallelism: Math.min(o.parallelism, o.shards),
      // A pod that fails is retried; its finished points are on the volume and are skipped.
      backoffLimit: 3 * o.shards,
      ttlSecondsAfterFinished: 604800,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: "Never",
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001, seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name: "sweep",
              image: o.image,
              imagePullPolicy: "IfNotPresent",
              env: [{ name: "SHARD", valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } }],
              // The image's entrypoint is the servesim CLI.
              args: [
                "sweep",
                "--space",
                `${SWEEP_FILE_MOUNT}/sweep.yaml`,
                "--output-dir",
                `${RESULTS_MOUNT}/${o.resultsDir}`,
                "--shard",
                `$(SHARD)/${o.shards}`,
                "--workers",
                String(o.cpus),
                "--quiet",
                ...(o.extraArgs ?? []),
              ],
              resources: { requests: { cpu: String(o.cpus), memory: o.memory }, limits: { cpu: String(o.cpus), memory: o.memory } },
              securityContext: SECURITY,
              volumeMounts: [
                { name: "space", mountPath: SWEEP_FILE_MOUNT, readOnly: true },
                { name: "results", mountPath: RESULTS_MOUNT },
                { name: "tmp", mountPath: "/tmp" },
              ],
            },
          ],
          volumes: [
            { name: "space", configMap: { name: `${o.name}-space` } },
            { name: "results", persistentVolumeClaim: { claimName: o.resultsClaim } },
            { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
          ],
        },
      },
    },
  });
  return objects;
}

export function sweepJobYaml(o: SweepJobOptions): string {
  const head =
    `# servesim sweep "${o.name}" as an indexed Job: ${o.shards} pods, ${Math.min(o.parallelism, o.shards)} at once, results in ` +
    `${o.resultsClaim}:/${o.resultsDir}.\n# kubectl apply -f this file; when the Job completes, copy the directory and run\n` +
    `#   servesim sweep --space sweep.yaml --output-dir <copy>   (merges the rows; add --html / --plot)\n`;
  return (
    head +
    sweepJobObjects(o)
      .map((d) => stringify(d, { blockQuote: "literal", lineWidth: 0, aliasDuplicateObjects: false }))
      .join("---\n")
  );
}
