import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials, loadPackageDefinition, type ServiceError } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { describe, expect, it } from "vitest";
import { loadServerConfig } from "../src/config.js";
import { healthProtoPath } from "../src/health.js";
import { createLogger } from "../src/logger.js";
import { startGrpcServer } from "../src/server.js";

const openssl = "/usr/bin/openssl";
if (!existsSync(openssl)) console.warn(`skipping TLS tests: ${openssl} not found`);

describe.skipIf(!existsSync(openssl))("TLS", () => {
  it("serves health over TLS with the configured certificate", async () => {
    const dir = mkdtempSync(join(tmpdir(), "servesim-tls-"));
    const cert = join(dir, "cert.pem");
    const key = join(dir, "key.pem");
    execFileSync(
      openssl,
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost",
        "-keyout",
        key,
        "-out",
        cert,
      ],
      { stdio: "ignore" },
    );
    const config = loadServerConfig(0, { env: { SERVESIM_HOST: "127.0.0.1", SERVESIM_TLS_CERT: cert, SERVESIM_TLS_KEY: key } });
    const handle = await startGrpcServer({ config, logger: createLogger({ name: "t", level: "silent" }), services: [] });
    const pkg = loadPackageDefinition(loadSync(healthProtoPath, { enums: String })) as any;
    const tls = new pkg.grpc.health.v1.Health(`localhost:${handle.port}`, credentials.createSsl(readFileSync(cert)));
    const plain = new pkg.grpc.health.v1.Health(`localhost:${handle.port}`, credentials.createInsecure());
    const check = (client: any) =>
      new Promise<string>((res, rej) =>
        client.check({ service: "" }, { deadline: Date.now() + 5000 }, (e: ServiceError | null, r: { status: string }) => (e ? rej(e) : res(r.status))),
      );
    try {
      expect(await check(tls)).toBe("SERVING");
      await expect(check(plain)).rejects.toBeDefined();
    } finally {
      tls.close();
      plain.close();
      await handle.shutdown();
    }
  });
});
