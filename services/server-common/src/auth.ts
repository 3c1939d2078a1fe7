import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Metadata } from "@grpc/grpc-js";
import { InvalidArgumentError, UnauthenticatedError } from "@servesim/core";
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from "jose";
import type { ServerConfig } from "./config.js";

/** Who a call is from: the tenant owns the jobs it submits; subject names the caller in the log. */
export interface Principal {
  tenant: string;
  subject: string;
  /** The verified JWT's claims the service asked to keep (createAuthenticator's keepClaims) that the token carries. */
  claims?: Readonly<Record<string, unknown>>;
}

/** The principal of every call when authentication is off: one shared tenant. */
export const ANONYMOUS: Principal = Object.freeze({ tenant: "default", subject: "anonymous" });

/** What an authenticator sees of a call. */
export interface CallCredentials {
  metadata: Metadata;
  /** The verified client certificate's subject CN (mTLS), when the connection carried one. */
  peerCommonName?: string;
}

export interface Authenticator {
  readonly enabled: boolean;
  authenticate(call: CallCredentials): Promise<Principal>;
}

/** Tenant names: what a job store and the logs can hold without escaping. */
const TENANT = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;

const digest = (s: string) => createHash("sha256").update(s).digest();

/** A static token file: one "<tenant> <token>" per line; blank lines and '#' comments ignored. */
export function parseTokenFile(text: string, field: string): Map<string, Principal> {
  const out = new Map<string, Principal>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const parts = line.split(/\s+/);
    if (parts.length !== 2) throw new InvalidArgumentError(field, `line ${i + 1}: expected "<tenant> <token>"`);
    const [tenant, token] = parts as [string, string];
    if (!TENANT.test(tenant)) throw new InvalidArgumentError(field, `line ${i + 1}: tenant must be 1-128 of A-Z a-z 0-9 . _ @ -`);
    if (token.length < 16) throw new InvalidArgumentError(field, `line ${i + 1}: a token must have at least 16 characters`);
    out.set(digest(token).toString("hex"), { tenant, subject: `token:${tenant}` });
  });
  if (out.size === 0) throw new InvalidArgumentError(field, "holds no token");
  return out;
}

function bearerOf(metadata: Metadata): string | undefined {
  const values = metadata.get("authorization");
  if (values.length === 0) return undefined;
  if (values.length > 1) throw new UnauthenticatedError("more than one authorization header");
  const v = String(values[0]);
  const m = /^Bearer\s+(\S{1,8192})$/i.exec(v);
  if (!m) throw new UnauthenticatedError('the authorization header must be "Bearer <token>"');
  return m[1];
}

/**
 * The authenticator a configuration asks for: a static token file, JWTs verified against a JWKS file
 * (issuer, audience, expiry; the tenant from a claim, and the claims named in `keepClaims` kept on the
 * principal), client certificates (tenant = CN), or any mix
 * (a bearer token is tried against the token file, then as a JWT; without one, the certificate).
 * With none configured every call is ANONYMOUS.
 */
export function createAuthenticator(config: ServerConfig, keepClaims: readonly string[] = []): Authenticator {
  const tokens =
    config.authTokenFile === undefined
      ? undefined
      : parseTokenFile(readText(config.authTokenFile, "SERVESIM_AUTH_TOKEN_FILE (--auth-token-file)"), "SERVESIM_AUTH_TOKEN_FILE (--auth-token-file)");
  let jwks: ReturnType<typeof createLocalJWKSet> | undefined;
  if (config.authJwksFile !== undefined) {
    const field = "SERVESIM_AUTH_JWKS_FILE (--auth-jwks-file)";
    try {
      jwks = createLocalJWKSet(JSON.parse(readText(config.authJwksFile, field)) as JSONWebKeySet);
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw err;
      throw new InvalidArgumentError(field, "is not a JSON Web Key Set");
    }
  }
  const mtls = config.authMtls;
  const enabled = tokens !== undefined || jwks !== undefined || mtls;
  if (!enabled) return { enabled, authenticate: async () => ANONYMOUS };
  const claim = config.authJwtTenantClaim;

  return {
    enabled,
    async authenticate(call) {
      const bearer = bearerOf(call.metadata);
      if (bearer !== undefined) {
        // Looked up by SHA-256 digest: the lookup's timing says nothing about the secret tokens.
        const hit = tokens?.get(digest(bearer).toString("hex"));
        if (hit) return hit;
        if (jwks && bearer.split(".").length === 3) {
          try {
            const { payload } = await jwtVerify(bearer, jwks, {
              issuer: config.authJwtIssuer!,
              ...(config.authJwtAudience !== undefined ? { audience: config.authJwtAudience } : {}),
              requiredClaims: ["exp"],
            });
            const tenant = payload[claim];
            if (typeof tenant !== "string" || !TENANT.test(tenant)) throw new UnauthenticatedError(`the token's ${claim} claim is not a tenant name`);
            const subject = `jwt:${typeof payload.sub === "string" ? payload.sub.slice(0, 128) : tenant}`;
            const kept = keepClaims.filter((k) => payload[k] !== undefined);
            if (kept.length === 0) return { tenant, subject };
            return { tenant, subject, claims: Object.fromEntries(kept.map((k) => [k, payload[k]])) };
          } catch (err) {
            if (err instanceof UnauthenticatedError) throw err;
            throw new UnauthenticatedError("invalid or expired token");
          }
        }
        throw new UnauthenticatedError("invalid token");
      }
      if (mtls && call.peerCommonName !== undefined) {
        if (!TENANT.test(call.peerCommonName)) throw new UnauthenticatedError("the client certificate's CN is not a tenant name");
        return { tenant: call.peerCommonName, subject: `cert:${call.peerCommonName}` };
      }
      throw new UnauthenticatedError(
        mtls ? "a client certificate or a bearer token is required" : "a bearer token is required (authorization: Bearer <token>)",
      );
    },
  };
}

function readText(path: string, field: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new InvalidArgumentError(field, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
  }
}
