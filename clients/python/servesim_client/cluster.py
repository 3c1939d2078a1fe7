"""Cluster topologies (JobSpec.cluster): builders, and the same YAML the CLI's --sim-config reads (a
``cluster:`` section, or TensorRT-LLM's ``trtllm-serve disaggregated`` config as is). Errors name the file,
the line and the key."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Tuple

from ._stubs import scheduler_pb2 as spb

_POOL_KEYS = (
    "num_workers", "tp", "pp", "ep", "moe_tp", "attention_dp", "max_batch_size", "max_num_tokens",
    "disable_overlap_scheduler", "free_gpu_memory_fraction", "enable_chunked_context", "router",
)
_TRTLLM_SECTION_KEYS = (
    "num_instances", "tensor_parallel_size", "pipeline_parallel_size", "moe_expert_parallel_size",
    "moe_tensor_parallel_size", "enable_attention_dp", "max_batch_size", "max_num_tokens", "disable_overlap_scheduler",
    "enable_chunked_prefill", "kv_cache_config", "router", "free_gpu_memory_fraction", "context_parallel_size",
)
_TRTLLM_IGNORED = (
    "urls", "hostname", "port", "backend", "cache_transceiver_config", "print_iter_log", "enable_iter_perf_stats",
    "return_perf_metrics", "perf_metrics_max_requests", "trust_remote_code", "cuda_graph_config", "max_seq_len",
    "kv_cache_dtype", "speculative_config", "moe_config", "stream_interval", "num_postprocess_workers",
)
_TRTLLM_TOP_ONLY = ("context_servers", "generation_servers", "model", "conditional_disagg_config", "disagg_cluster",
                    "otlp_config", "max_retries", "node_id", "schedule_style")


def router_config(type: str = "", **weights: float) -> "spb.RouterConfig":
    """A RouterConfig: round_robin (default), least_loaded (load_balancing), least_kv_usage or kv_aware
    (kv_cache_aware, prefix), with weights by name (kv_aware: prefix, kv_load, active; least_loaded:
    active, kv_usage). The scheduler checks names and values."""
    return spb.RouterConfig(type=type, weights={k: float(v) for k, v in weights.items()})


def worker_pool(
    num_workers: int = 1,
    *,
    tp: int = 0,
    pp: int = 0,
    ep: int = 0,
    moe_tp: Optional[int] = None,
    attention_dp: Optional[bool] = None,
    max_batch_size: Optional[int] = None,
    max_num_tokens: Optional[int] = None,
    disable_overlap_scheduler: Optional[bool] = None,
    free_gpu_memory_fraction: Optional[float] = None,
    enable_chunked_context: Optional[bool] = None,
    router: Optional["spb.RouterConfig"] = None,
) -> "spb.WorkerPool":
    """A WorkerPool: ``num_workers`` instances, each with the job's engine and predictor except what is
    given here (parallelism 0 = the job's)."""
    p = spb.WorkerPool(num_workers=num_workers)
    if any(v for v in (tp, pp, ep)) or moe_tp is not None or attention_dp is not None:
        p.parallelism.tp, p.parallelism.pp, p.parallelism.ep = tp, pp, ep
        if moe_tp is not None:
            p.parallelism.moe_tp = moe_tp
        if attention_dp is not None:
            p.parallelism.attention_dp = attention_dp
    for name, value in (("max_batch_size", max_batch_size), ("max_num_tokens", max_num_tokens),
                        ("disable_overlap_scheduler", disable_overlap_scheduler),
                        ("kv_cache_free_gpu_mem_fraction", free_gpu_memory_fraction),
                        ("enable_chunked_context", enable_chunked_context)):
        if value is not None:
            setattr(p, name, value)
    if router is not None:
        p.router.CopyFrom(router)
    return p


def cluster_spec(
    *,
    instances: Optional[int] = None,
    aggregated: Optional[List["spb.WorkerPool"]] = None,
    prefill: Optional["spb.WorkerPool"] = None,
    decode: Optional["spb.WorkerPool"] = None,
    router: Optional["spb.RouterConfig"] = None,
    kv_bandwidth_bytes_per_s: Optional[float] = None,
    kv_latency_ms: Optional[float] = None,
) -> "spb.ClusterSpec":
    """A ClusterSpec: ``instances`` (N aggregated instances of the job's engine) or ``aggregated`` groups,
    or ``prefill`` and ``decode`` pools (disaggregated serving), a router for aggregated instances and
    KV-transfer overrides."""
    c = spb.ClusterSpec()
    if instances is not None:
        c.aggregated.append(spb.WorkerPool(num_workers=instances))
    for g in aggregated or []:
        c.aggregated.append(g)
    if (prefill is None) != (decode is None):
        raise TypeError("cluster_spec: disaggregated serving needs both prefill and decode pools")
    if prefill is not None and len(c.aggregated) > 0:
        raise TypeError("cluster_spec: a cluster is aggregated or disaggregated, not both")
    if prefill is not None:
        c.prefill.CopyFrom(prefill)
        c.decode.CopyFrom(decode)
    if router is not None:
        c.router.CopyFrom(router)
    if kv_bandwidth_bytes_per_s is not None:
        c.kv_transfer.bandwidth_bytes_per_s = kv_bandwidth_bytes_per_s
    if kv_latency_ms is not None:
        c.kv_transfer.latency_ms = kv_latency_ms
    return c


class _Doc:
    """A YAML mapping with the line of every key (errors: ``<path> line <n>: <key.path> <reason>``)."""

    def __init__(self, text: str, path: str) -> None:
        try:
            import yaml  # Debian python3-yaml
        except ImportError as e:  # pragma: no cover - depends on the system
            raise ImportError("reading a topology YAML needs PyYAML (apt-get install python3-yaml)") from e
        self.path = path
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            self.data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            raise ValueError(f"{path} line {mark.line + 1 if mark else 1}: invalid YAML ({getattr(e, 'problem', e)})") from None
        self.lines: Dict[Tuple[Any, ...], int] = {}
        if node is not None:
            self._index(node, ())
        if self.data is None:
            self.data = {}
        if not isinstance(self.data, dict):
            raise ValueError(f"{path} line 1: expected a YAML mapping (key: value lines) at the top level")

    def _index(self, node: Any, at: Tuple[Any, ...]) -> None:
        self.lines[at] = node.start_mark.line + 1
        if node.id == "mapping":
            for k, v in node.value:
                self.lines[at + (k.value,)] = k.start_mark.line + 1
                self._index(v, at + (k.value,))
        elif node.id == "sequence":
            for i, v in enumerate(node.value):
                self._index(v, at + (i,))

    def line(self, keys: Tuple[Any, ...]) -> int:
        while keys not in self.lines and keys:
            keys = keys[:-1]
        return self.lines.get(keys, 1)

    def error(self, keys: Tuple[Any, ...], reason: str) -> ValueError:
        return ValueError(f"{self.path} line {self.line(keys)}: {'.'.join(str(k) for k in keys)} {reason}")

    def warning(self, keys: Tuple[Any, ...], what: str) -> str:
        return f"{self.path} line {self.line(keys)}: {'.'.join(str(k) for k in keys)} {what}"


def _int(doc: _Doc, m: Mapping[str, Any], at: Tuple[Any, ...], key: str, lo: int = 1, hi: int = 4096) -> Optional[int]:
    v = m.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise doc.error(at + (key,), f"must be an integer in [{lo}, {hi}] (got {v!r})")
    return v


def _bool(doc: _Doc, m: Mapping[str, Any], at: Tuple[Any, ...], key: str) -> Optional[bool]:
    v = m.get(key)
    if v is None:
        return None
    if not isinstance(v, bool):
        raise doc.error(at + (key,), f"must be true or false (got {v!r})")
    return v


def _fraction(doc: _Doc, m: Mapping[str, Any], at: Tuple[Any, ...], key: str) -> Optional[float]:
    v = m.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 1:
        raise doc.error(at + (key,), f"must be a number in (0, 1] (got {v!r})")
    return float(v)


def _map(doc: _Doc, m: Mapping[str, Any], at: Tuple[Any, ...], key: str) -> Optional[Dict[str, Any]]:
    v = m.get(key)
    if v is None:
        return None
    if not isinstance(v, dict):
        raise doc.error(at + (key,), "must be a mapping")
    return v


def _router(doc: _Doc, m: Optional[Mapping[str, Any]], at: Tuple[Any, ...], warnings: List[str], extra: Tuple[str, ...] = ()) -> Optional["spb.RouterConfig"]:
    if m is None:
        return None
    t = m.get("type", "")
    if not isinstance(t, str):
        raise doc.error(at + ("type",), f"must be a string (got {t!r})")
    weights = _map(doc, m, at, "weights") or {}
    for k, v in weights.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
            raise doc.error(at + ("weights", k), f"must be a number >= 0 (got {v!r})")
    for k in m:
        if k not in ("type", "weights") + extra:
            warnings.append(doc.warning(at + (k,), "is not a known key; ignored"))
    return router_config(t, **weights)


def _pool(doc: _Doc, m: Mapping[str, Any], at: Tuple[Any, ...], warnings: List[str], with_router: bool) -> "spb.WorkerPool":
    p = worker_pool(
        _int(doc, m, at, "num_workers") or 1,
        tp=_int(doc, m, at, "tp") or 0,
        pp=_int(doc, m, at, "pp") or 0,
        ep=_int(doc, m, at, "ep") or 0,
        moe_tp=_int(doc, m, at, "moe_tp"),
        attention_dp=_bool(doc, m, at, "attention_dp"),
        max_batch_size=_int(doc, m, at, "max_batch_size", 1, 1 << 20),
        max_num_tokens=_int(doc, m, at, "max_num_tokens", 1, 2147483647),
        disable_overlap_scheduler=_bool(doc, m, at, "disable_overlap_scheduler"),
        free_gpu_memory_fraction=_fraction(doc, m, at, "free_gpu_memory_fraction"),
        enable_chunked_context=_bool(doc, m, at, "enable_chunked_context"),
        router=_router(doc, _map(doc, m, at, "router"), at + ("router",), warnings) if with_router else None,
    )
    for k in m:
        if k not in _POOL_KEYS or (k == "router" and not with_router):
            warnings.append(doc.warning(at + (k,), "is not a known key; ignored"))
    return p


def _trtllm_section(doc: _Doc, name: str, warnings: List[str]) -> "spb.WorkerPool":
    at = (name,)
    m = dict(_map(doc, doc.data, (), name) or {})
    for k, v in doc.data.items():
        if k in _TRTLLM_TOP_ONLY:
            continue
        if k not in m:
            m[k] = v
        elif m[k] != v:
            raise doc.error(at + (k,), "differs from the top-level value (TensorRT-LLM rejects that)")
    cp = _int(doc, m, at, "context_parallel_size")
    if cp is not None and cp > 1:
        raise doc.error(at + ("context_parallel_size",), "> 1 is not simulated (context parallelism)")
    adp = _bool(doc, m, at, "enable_attention_dp")
    kv = _map(doc, m, at, "kv_cache_config") or {}
    fraction = _fraction(doc, kv, at + ("kv_cache_config",), "free_gpu_memory_fraction")
    if fraction is None:
        fraction = _fraction(doc, m, at, "free_gpu_memory_fraction")
    p = worker_pool(
        _int(doc, m, at, "num_instances") or 1,
        tp=_int(doc, m, at, "tensor_parallel_size") or 1,
        pp=_int(doc, m, at, "pipeline_parallel_size") or 1,
        ep=_int(doc, m, at, "moe_expert_parallel_size") or 0,
        moe_tp=_int(doc, m, at, "moe_tensor_parallel_size"),
        attention_dp=adp,
        max_batch_size=_int(doc, m, at, "max_batch_size", 1, 1 << 20),
        max_num_tokens=_int(doc, m, at, "max_num_tokens", 1, 2147483647),
        disable_overlap_scheduler=_bool(doc, m, at, "disable_overlap_scheduler"),
        free_gpu_memory_fraction=fraction,
        enable_chunked_context=_bool(doc, m, at, "enable_chunked_prefill"),
        router=_router(doc, _map(doc, m, at, "router"), at + ("router",), warnings,
                       ("args", "use_tokens", "max_batch_size", "max_num_tokens", "tokens_per_block", "server_role")),
    )
    for k in (_map(doc, doc.data, (), name) or {}):
        if k not in _TRTLLM_SECTION_KEYS and k not in _TRTLLM_IGNORED:
            warnings.append(doc.warning(at + (k,), "is not simulated; ignored"))
    return p


def read_cluster_yaml(path: str) -> Tuple[Optional["spb.ClusterSpec"], Optional[str], List[str]]:
    """The cluster of a --sim-config YAML file: ``(cluster, model, warnings)``. ``cluster`` is None when the
    file has no ``cluster:`` section and is not a TensorRT-LLM disaggregated config; ``model`` is the
    disaggregated config's top-level ``model`` (or None). Raises ValueError naming the file, line and key."""
    with open(path, encoding="utf-8") as f:
        doc = _Doc(f.read(), path)
    warnings: List[str] = []
    data = doc.data
    if "context_servers" in data or "generation_servers" in data:
        for name in ("context_servers", "generation_servers"):
            if name not in data:
                raise doc.error((name,), "is missing (a disaggregated config has context_servers and generation_servers)")
        prefill = _trtllm_section(doc, "context_servers", warnings)
        decode = _trtllm_section(doc, "generation_servers", warnings)
        for k in data:
            if k not in _TRTLLM_TOP_ONLY and k not in _TRTLLM_SECTION_KEYS and k not in _TRTLLM_IGNORED:
                warnings.append(doc.warning((k,), "is not simulated; ignored"))
        model = data.get("model")
        return cluster_spec(prefill=prefill, decode=decode), (str(model).strip() or None) if model else None, warnings
    section = _map(doc, data, (), "cluster")
    if section is None:
        return None, None, warnings
    at = ("cluster",)
    n = _int(doc, section, at, "instances")
    groups = section.get("aggregated")
    if groups is not None and not isinstance(groups, list):
        raise doc.error(at + ("aggregated",), "must be a list")
    pre, dec = _map(doc, section, at, "prefill"), _map(doc, section, at, "decode")
    if n is not None and groups is not None:
        raise doc.error(at + ("instances",), "and aggregated are alternatives: give one")
    if (pre is None) != (dec is None):
        raise doc.error(at + ("prefill" if pre is not None else "decode",), "needs the other pool too (disaggregated serving has both pools)")
    if pre is not None and (n is not None or groups is not None):
        raise doc.error(at + ("prefill",), "and instances/aggregated are alternatives: a cluster is aggregated or disaggregated")
    agg = []
    for i, g in enumerate(groups or []):
        if not isinstance(g, dict):
            raise doc.error(at + ("aggregated", i), "must be a mapping")
        agg.append(_pool(doc, g, at + ("aggregated", i), warnings, False))
    kt = _map(doc, section, at, "kv_transfer") or {}
    bw, lat = kt.get("bandwidth_gb_per_s"), kt.get("latency_us")
    for k in kt:
        if k not in ("bandwidth_gb_per_s", "latency_us"):
            warnings.append(doc.warning(at + ("kv_transfer", k), "is not a known key; ignored"))
    for k in section:
        if k not in ("instances", "aggregated", "prefill", "decode", "router", "kv_transfer"):
            warnings.append(doc.warning(at + (k,), "is not a known key; ignored"))
    c = cluster_spec(
        instances=n,
        aggregated=agg,
        prefill=_pool(doc, pre, at + ("prefill",), warnings, True) if pre is not None else None,
        decode=_pool(doc, dec, at + ("decode",), warnings, True) if dec is not None else None,
        router=_router(doc, _map(doc, section, at, "router"), at + ("router",), warnings),
        kv_bandwidth_bytes_per_s=float(bw) * 1e9 if bw is not None else None,
        kv_latency_ms=float(lat) / 1000 if lat is not None else None,
    )
    return c, None, warnings
