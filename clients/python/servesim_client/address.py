"""Client addresses: host:port, a comma list of replicas, or a gRPC target with a scheme."""

from __future__ import annotations

import ipaddress
import re
from typing import List

import grpc

from .errors import InvalidArgumentError

#: Schemes gRPC resolves itself; such a target is used as given.
SCHEMES = ("dns:", "ipv4:", "ipv6:", "unix:", "unix-abstract:")

_HOST_PORT = re.compile(r"^(\[[^\]]+\]|[^:\[\]]+):(\d+)$")


def _invalid(reason: str) -> InvalidArgumentError:
    return InvalidArgumentError(grpc.StatusCode.INVALID_ARGUMENT, f"address: {reason}")


def _ip_version(host: str) -> int:
    try:
        return ipaddress.ip_address(host).version
    except ValueError:
        return 0


def _parse_host_port(part: str, address: str) -> str:
    m = _HOST_PORT.match(part)
    if not m:
        raise _invalid(f'"{part}" in "{address}" is not host:port (IPv6 hosts in brackets: [::1]:50051)')
    port = int(m.group(2))
    if not 1 <= port <= 65535:
        raise _invalid(f'port {m.group(2)} in "{address}" is not in [1, 65535]')
    host = m.group(1)
    if host.startswith("["):
        host = host[1:-1]
        if _ip_version(host) != 6:
            raise _invalid(f'"{m.group(1)}" in "{address}" is not an IPv6 address')
    return host


def resolve_targets(address: str) -> List[str]:
    """The gRPC targets (one channel each) of a servesim address.

    ``host:port`` is one target. A comma list of IP literals becomes one ``ipv4:``/``ipv6:`` target whose
    addresses gRPC balances round-robin per call; a comma list naming hosts becomes one target per
    host, rotated by the client per call. ``dns:///name:port`` (every A/AAAA record a replica) and
    other schemes are used as given.
    """
    a = address.strip()
    if not a:
        raise _invalid("is empty; expected host:port, a comma list of host:port or dns:///name:port")
    if a.startswith(SCHEMES):
        return [a]
    parts = [p.strip() for p in a.split(",")]
    if any(not p for p in parts):
        raise _invalid(f'"{a}" has an empty entry')
    hosts = [_parse_host_port(p, a) for p in parts]
    if len(parts) == 1:
        return parts
    versions = {_ip_version(h) for h in hosts}
    if versions == {4}:
        return ["ipv4:" + ",".join(parts)]
    if versions == {6}:
        return ["ipv6:" + ",".join(parts)]
    return parts
