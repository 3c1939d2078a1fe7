import { InvalidArgumentError, ResourceExhaustedError } from "@servesim/core";

/** What one accepted job costs its tenant: the bytes it uploaded (spec and dataset) and the tokens it simulates. */
export interface TenantUsage {
  submittedBytes: number;
  simulatedTokens: number;
}

/** A tenant's allowance over the rolling window (undefined: no limit). */
export interface TenantQuota {
  submittedBytes?: number;
  simulatedTokens?: number;
}

/**
 * Per-tenant usage quotas: every accepted job is charged when it is accepted and its charge counts
 * for `windowMs` from then, whatever becomes of the job (it may be dropped, fail or be cancelled: the
 * work of accepting and resolving it was done). Rejected submissions and deduplicated retries are not
 * charged. `quotaOf` gives a tenant's allowance (the quota file's line for it, else the defaults).
 */
export interface QuotaPolicy {
  windowMs: number;
  quotaOf(tenant: string): TenantQuota;
}

const QUOTA_KEYS = { submitted_bytes: "submittedBytes", simulated_tokens: "simulatedTokens" } as const;

/**
 * A quota file: one "<tenant> submitted_bytes=<n> simulated_tokens=<n>" per line ("*" for every tenant
 * not listed; a key left out keeps the default; "unlimited" lifts it); blank lines and '#' comments ignored.
 */
export function parseQuotaFile(text: string, field: string): Map<string, TenantQuota> {
  const out = new Map<string, TenantQuota>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") return;
    const [tenant, ...pairs] = line.split(/\s+/) as [string, ...string[]];
    if (!/^(\*|[A-Za-z0-9][A-Za-z0-9._@-]{0,127})$/.test(tenant))
      throw new InvalidArgumentError(field, `line ${i + 1}: "${tenant.slice(0, 40)}" is not a tenant name or *`);
    const quota: TenantQuota = {};
    for (const pair of pairs) {
      const m = /^(submitted_bytes|simulated_tokens)=(\d{1,16}|unlimited)$/.exec(pair);
      if (!m)
        throw new InvalidArgumentError(
          field,
          `line ${i + 1}: expected submitted_bytes=<n> or simulated_tokens=<n> (or =unlimited), got "${pair.slice(0, 40)}"`,
        );
      const key = QUOTA_KEYS[m[1] as keyof typeof QUOTA_KEYS];
      quota[key] = m[2] === "unlimited" ? Number.POSITIVE_INFINITY : Number(m[2]);
    }
    out.set(tenant, quota);
  });
  return out;
}

/** The policy of the scheduler's settings: the defaults, overridden per tenant (and for "*") by the quota file. */
export function quotaPolicy(windowMs: number, defaults: TenantQuota, perTenant: ReadonlyMap<string, TenantQuota> = new Map()): QuotaPolicy {
  const base = { ...defaults, ...perTenant.get("*") };
  return { windowMs, quotaOf: (tenant) => ({ ...base, ...perTenant.get(tenant) }) };
}

/** RESOURCE_EXHAUSTED naming the quota when `add` on top of `used` goes over the tenant's allowance. */
export function checkQuota(tenant: string, used: TenantUsage, add: TenantUsage, policy: QuotaPolicy): void {
  const quota = policy.quotaOf(tenant);
  const hours = Math.round((policy.windowMs / 3_600_000) * 100) / 100;
  const over = (what: string, setting: string, max: number | undefined, u: number, a: number) => {
    if (max === undefined || u + a <= max) return;
    throw new ResourceExhaustedError(
      `tenant ${tenant} quota ${what} exceeded: this job needs ${a}, ${u} of ${max} already used in the last ${hours} h (${setting}); retry once older jobs leave the window, or submit a smaller job`,
    );
  };
  over("simulated_tokens", "SERVESIM_TENANT_MAX_SIMULATED_TOKENS", quota.simulatedTokens, used.simulatedTokens, add.simulatedTokens);
  over("submitted_bytes", "SERVESIM_TENANT_MAX_SUBMITTED_BYTES", quota.submittedBytes, used.submittedBytes, add.submittedBytes);
}

/** In-process usage (the memory store): charges kept in arrival order, dropped once out of the window. */
export class MemoryUsageLedger {
  private readonly charges: Array<{ tenant: string; atMs: number } & TenantUsage> = [];

  used(tenant: string, sinceMs: number): TenantUsage {
    const out = { submittedBytes: 0, simulatedTokens: 0 };
    for (const c of this.charges) {
      if (c.tenant !== tenant || c.atMs < sinceMs) continue;
      out.submittedBytes += c.submittedBytes;
      out.simulatedTokens += c.simulatedTokens;
    }
    return out;
  }

  add(tenant: string, atMs: number, usage: TenantUsage): void {
    this.charges.push({ tenant, atMs, ...usage });
  }

  prune(beforeMs: number): void {
    let n = 0;
    while (n < this.charges.length && this.charges[n]!.atMs < beforeMs) n++;
    this.charges.splice(0, n);
  }
}
