import { isIPv4, isIPv6 } from "node:net";
import { status as Status } from "@grpc/grpc-js";
import { ServesimError } from "./errors.js";

/** Schemes grpc-js resolves itself; such a target is used as given. */
const SCHEMES = ["dns:", "ipv4:", "ipv6:", "unix:", "unix-abstract:"];

/**
 * How a servesim address maps onto gRPC channels. One target means one channel whose resolver may
 * yield several backends (dns:///name:port, ipv4:a:p,b:p); several targets (a comma list naming hosts
 * by name) mean one channel per address, rotated per call or stream.
 */
export interface ResolvedAddress {
  targets: string[];
}

function invalid(reason: string): ServesimError {
  return new ServesimError(Status.INVALID_ARGUMENT, `address: ${reason}`);
}

interface HostPort {
  host: string;
  port: number;
}

function parseHostPort(part: string, address: string): HostPort {
  const m = /^(\[[^\]]+\]|[^:[\]]+):(\d+)$/.exec(part);
  if (!m) throw invalid(`"${part}" in "${address}" is not host:port (IPv6 hosts in brackets: [::1]:50051)`);
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid(`port ${m[2]} in "${address}" is not in [1, 65535]`);
  const host = m[1]!.startsWith("[") ? m[1]!.slice(1, -1) : m[1]!;
  if (m[1]!.startsWith("[") && !isIPv6(host)) throw invalid(`"${m[1]}" in "${address}" is not an IPv6 address`);
  return { host, port };
}

/**
 * Parses a client address: host:port, a comma list of host:port (replicas, load-balanced round-robin
 * by the client), or a grpc-js target with a scheme such as dns:///name:port. A comma list of IP
 * literals becomes one ipv4:/ipv6: channel; a list naming hosts becomes one channel per address.
 */
export function resolveAddress(address: string): ResolvedAddress {
  const a = address.trim();
  if (a === "") throw invalid("is empty; expected host:port, a comma list of host:port or dns:///name:port");
  if (SCHEMES.some((s) => a.startsWith(s))) return { targets: [a] };
  const parts = a.split(",").map((p) => p.trim());
  if (parts.some((p) => p === "")) throw invalid(`"${a}" has an empty entry`);
  const hostPorts = parts.map((p) => parseHostPort(p, a));
  if (hostPorts.length === 1) return { targets: [parts[0]!] };
  if (hostPorts.every((h) => isIPv4(h.host))) return { targets: [`ipv4:${parts.join(",")}`] };
  if (hostPorts.every((h) => isIPv6(h.host))) return { targets: [`ipv6:${parts.join(",")}`] };
  return { targets: parts };
}
