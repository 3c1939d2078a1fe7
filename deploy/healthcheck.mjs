#!/usr/bin/env node
// grpc.health.v1 probe for containers (compose healthchecks, the sweep Job's wait-for-scheduler init
// container): exits 0 when the server reports SERVING for the service, 1 otherwise. Kubernetes uses its
// native `grpc:` probes instead; this script also speaks TLS, which those cannot.
//
//   node deploy/healthcheck.mjs [--address HOST:PORT] [--service NAME] [--timeout-ms N] [--wait-ms N]
//                               [--tls] [--tls-server-name NAME]
//
// --address      default 127.0.0.1:$SERVESIM_PORT (50051 when unset)
// --service      "" (the whole server, the default) or e.g. servesim.v1.PredictorService
// --timeout-ms   deadline of one check (default 3000)
// --wait-ms      keep retrying once a second until SERVING or this much time has passed (default 0: one try)
// --tls          use TLS; implied by SERVESIM_TLS_CERT. Trusts SERVESIM_TLS_CA (else the system roots) and
//                presents SERVESIM_TLS_CERT/SERVESIM_TLS_KEY as client certificate when SERVESIM_TLS_CA is set
//                (the server then requires one). The host name is not verified unless --tls-server-name
//                is given, since the probe usually dials loopback.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import grpc from "@grpc/grpc-js";
import healthCheck from "grpc-health-check";

const USAGE = "usage: healthcheck.mjs [--address HOST:PORT] [--service NAME] [--timeout-ms N] [--wait-ms N] [--tls] [--tls-server-name NAME]";

function fail(message, code = 1) {
  process.stderr.write(`healthcheck: ${message}\n`);
  process.exit(code);
}

function nonNegativeInt(name, raw) {
  if (!/^\d+$/.test(raw)) fail(`--${name} must be a non-negative integer, got '${raw}'\n${USAGE}`, 2);
  return Number(raw);
}

function parseOptions(argv, env) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        address: { type: "string" },
        service: { type: "string", default: "" },
        "timeout-ms": { type: "string", default: "3000" },
        "wait-ms": { type: "string", default: "0" },
        tls: { type: "boolean", default: false },
        "tls-server-name": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (err) {
    fail(`${err.message}\n${USAGE}`, 2);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  return {
    address: values.address ?? `127.0.0.1:${env.SERVESIM_PORT || "50051"}`,
    service: values.service,
    timeoutMs: nonNegativeInt("timeout-ms", values["timeout-ms"]),
    waitMs: nonNegativeInt("wait-ms", values["wait-ms"]),
    tls: values.tls || Boolean(env.SERVESIM_TLS_CERT),
    tlsServerName: values["tls-server-name"],
  };
}

function channelCredentials(opts, env) {
  if (!opts.tls) return { credentials: grpc.credentials.createInsecure(), options: {} };
  const ca = env.SERVESIM_TLS_CA ? readFileSync(env.SERVESIM_TLS_CA) : null;
  const mtls = ca !== null && env.SERVESIM_TLS_CERT && env.SERVESIM_TLS_KEY;
  const verify = opts.tlsServerName ? {} : { checkServerIdentity: () => undefined };
  const credentials = grpc.credentials.createSsl(
    ca,
    mtls ? readFileSync(env.SERVESIM_TLS_KEY) : null,
    mtls ? readFileSync(env.SERVESIM_TLS_CERT) : null,
    verify,
  );
  const options = opts.tlsServerName ? { "grpc.ssl_target_name_override": opts.tlsServerName } : {};
  return { credentials, options };
}

const HealthClient = grpc.makeGenericClientConstructor(healthCheck.service, "Health");

/** One Check call on a fresh channel (a reused channel would sit out its reconnect backoff). */
function checkOnce(opts, creds) {
  const client = new HealthClient(opts.address, creds.credentials, creds.options);
  return new Promise((resolve) => {
    client.check({ service: opts.service }, { deadline: Date.now() + opts.timeoutMs }, (err, response) => {
      client.close();
      if (err) resolve({ serving: false, detail: `${grpc.status[err.code] ?? err.code}: ${err.details || err.message}` });
      else resolve({ serving: response.status === "SERVING", detail: response.status });
    });
  });
}

async function main() {
  const opts = parseOptions(process.argv.slice(2), process.env);
  const creds = channelCredentials(opts, process.env);
  const label = `${opts.address} service '${opts.service}'`;
  const deadline = Date.now() + opts.waitMs;
  for (;;) {
    const result = await checkOnce(opts, creds);
    if (result.serving) {
      process.stdout.write(`healthcheck: ${label}: SERVING\n`);
      process.exit(0);
    }
    if (Date.now() + 1000 > deadline) fail(`${label}: ${result.detail}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

await main();
