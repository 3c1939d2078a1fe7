import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvalidArgumentError } from "@servesim/core";
import { describe, expect, it } from "vitest";
import { DEFAULT_PORTS, loadServerConfig } from "../src/config.js";
import { serverChannelOptions } from "../src/server.js";

function configError(fn: () => unknown): InvalidArgumentError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    return err as InvalidArgumentError;
  }
  throw new Error("expected an InvalidArgumentError");
}

describe("server configuration", () => {
  it("has production defaults", () => {
    const c = loadServerConfig(DEFAULT_PORTS.predictor, { env: {} });
    expect(c).toMatchObject({
      host: "127.0.0.1",
      port: 50051,
      logLevel: "info",
      logFormat: "json",
      maxMessageBytes: 64 * 1024 * 1024,
      graceMs: 10_000,
      shutdownDelayMs: 0,
      maxConnectionAgeMs: 300_000,
      keepaliveTimeMs: 30_000,
      keepaliveTimeoutMs: 20_000,
    });
    expect(c.tls).toBeUndefined();
    expect(c.maxConnectionAgeGraceMs).toBeUndefined();
    expect(loadServerConfig(DEFAULT_PORTS.scheduler, {}).port).toBe(50052);
  });

  it("reads the environment and lets flags override it", () => {
    const env = {
      SERVESIM_PORT: "6000",
      SERVESIM_HOST: "127.0.0.1",
      SERVESIM_LOG_LEVEL: "debug",
      SERVESIM_MAX_MESSAGE_BYTES: "8MiB",
      SERVESIM_GRACE_MS: "250",
    };
    expect(loadServerConfig(1, { env })).toMatchObject({ port: 6000, host: "127.0.0.1", logLevel: "debug", maxMessageBytes: 8 * 1024 * 1024, graceMs: 250 });
    expect(loadServerConfig(1, { env, flags: { port: "0", logLevel: "warn" } })).toMatchObject({ port: 0, host: "127.0.0.1", logLevel: "warn" });
  });

  it("treats an empty variable as unset", () => {
    expect(loadServerConfig(50051, { env: { SERVESIM_PORT: " " } }).port).toBe(50051);
  });

  it.each([
    [{ env: { SERVESIM_PORT: "http" } }, "SERVESIM_PORT", /integer in \[0, 65535\].*"http"/],
    [{ env: { SERVESIM_PORT: "70000" } }, "SERVESIM_PORT", /\[0, 65535\]/],
    [{ env: { SERVESIM_PORT: "1" }, flags: { port: "-5" } }, "--port", /integer/],
    [{ env: { SERVESIM_LOG_LEVEL: "loud" } }, "SERVESIM_LOG_LEVEL", /one of fatal, error, warn, info, debug, trace, silent/],
    [{ flags: { logFormat: "xml" } }, "--log-format", /json, pretty/],
    [{ env: { SERVESIM_MAX_MESSAGE_BYTES: "lots" } }, "SERVESIM_MAX_MESSAGE_BYTES", /byte count/],
    [{ env: { SERVESIM_MAX_MESSAGE_BYTES: "4GiB" } }, "SERVESIM_MAX_MESSAGE_BYTES", /byte count/],
    [{ env: { SERVESIM_GRACE_MS: "1.5" } }, "SERVESIM_GRACE_MS", /integer/],
    [{ env: { SERVESIM_MAX_CONNECTION_AGE_MS: "0" } }, "SERVESIM_MAX_CONNECTION_AGE_MS", /\[1, /],
    [{ env: { SERVESIM_TLS_CERT: "/x.pem" } }, "SERVESIM_TLS_KEY (--tls-key)", /required/],
    [{ env: { SERVESIM_TLS_KEY: "/x.pem" } }, "SERVESIM_TLS_CERT (--tls-cert)", /required/],
    [{ env: { SERVESIM_TLS_CA: "/x.pem" } }, "SERVESIM_TLS_CA (--tls-ca)", /requires/],
    [
      { env: { SERVESIM_TLS_CERT: "/nonexistent/c.pem", SERVESIM_TLS_KEY: "/nonexistent/k.pem" } },
      "SERVESIM_TLS_CERT (--tls-cert)",
      /cannot read \/nonexistent\/c.pem: ENOENT/,
    ],
  ])("rejects %j naming the variable or flag", (sources, field, reason) => {
    const e = configError(() => loadServerConfig(50051, sources));
    expect(e.field).toBe(field);
    expect(e.reason).toMatch(reason);
  });

  it("reads TLS material and rejects files that are not PEM", () => {
    const dir = mkdtempSync(join(tmpdir(), "servesim-tls-"));
    const pem = join(dir, "c.pem");
    const junk = join(dir, "junk");
    writeFileSync(pem, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    writeFileSync(junk, "not a certificate");
    const c = loadServerConfig(1, { env: { SERVESIM_TLS_CERT: pem, SERVESIM_TLS_KEY: pem, SERVESIM_TLS_CA: pem } });
    expect(c.tls?.cert.toString()).toContain("BEGIN CERTIFICATE");
    expect(c.tls?.ca).toBeDefined();
    const e = configError(() => loadServerConfig(1, { env: { SERVESIM_TLS_CERT: pem, SERVESIM_TLS_KEY: junk } }));
    expect(e.field).toBe("SERVESIM_TLS_KEY (--tls-key)");
    expect(e.reason).toMatch(/not a PEM file/);
  });

  it("maps to grpc-js channel options", () => {
    const c = loadServerConfig(1, { env: { SERVESIM_MAX_CONNECTION_AGE_GRACE_MS: "5000" } });
    expect(serverChannelOptions(c)).toEqual({
      "grpc.max_receive_message_length": 67108864,
      "grpc.max_send_message_length": 67108864,
      "grpc.max_connection_age_ms": 300000,
      "grpc.max_connection_age_grace_ms": 5000,
      "grpc.keepalive_time_ms": 30000,
      "grpc.keepalive_timeout_ms": 20000,
    });
  });
});
