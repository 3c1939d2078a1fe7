"""Builders for the request messages: a JobSpec from simple keyword arguments, predictor configurations
and SimBatches. Every builder returns the generated protobuf message, so anything it does not cover can
still be set on the message directly."""

from __future__ import annotations

import os
from typing import Any, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from ._stubs import predictor_pb2 as ppb
from ._stubs import scheduler_pb2 as spb

EnumValue = Union[int, str]

_ALIASES = {
    "PREDICTOR_KIND_": {"aiconfigurator": "aic"},
    "D_TYPE_": {"bfloat16": "bf16", "float16": "fp16", "auto": "unspecified"},
}


def _enum(wrapper: Any, prefix: str, value: EnumValue, field: str) -> int:
    """An enum value from its number, its full name (PREDICTOR_KIND_ROOFLINE) or its short name
    (roofline, token-norm-dist, max_utilization, bf16), case-insensitive."""
    if isinstance(value, bool):
        raise TypeError(f"{field}: expected an enum name or number, got {value!r}")
    if isinstance(value, int):
        if value not in wrapper.values():
            raise ValueError(f"{field}: unknown value {value}")
        return value
    name = value.strip().lower().replace("-", "_")
    name = _ALIASES.get(prefix, {}).get(name, name)
    full = name.upper() if name.upper().startswith(prefix) else prefix + name.upper()
    if full not in wrapper.keys():
        choices = ", ".join(k[len(prefix) :].lower() for k in wrapper.keys() if not k.endswith("UNSPECIFIED"))
        raise ValueError(f"{field}: unknown value {value!r} (one of {choices})")
    return wrapper.Value(full)


# --- predictor ---------------------------------------------------------------------------------------

def predictor_config(
    kind: EnumValue = "unspecified",
    *,
    model: Union[str, Mapping[str, Any], "ppb.ModelArchitecture", None] = None,
    gpu: Union[str, Mapping[str, Any], "ppb.GpuHardware", None] = None,
    tp: int = 1,
    pp: int = 1,
    ep: int = 1,
    moe_tp: Optional[int] = None,
    attention_dp: Optional[bool] = None,
    moe_distribution: str = "",
    eplb: bool = False,
    moe_communication: str = "",
    nearest_table_version: Optional[bool] = None,
    weight_dtype: EnumValue = "unspecified",
    kv_cache_dtype: EnumValue = "unspecified",
    constant_prefill_time_ms: Optional[float] = None,
    constant_decode_time_ms: Optional[float] = None,
    prefill_scale_factor: Optional[float] = None,
    decode_scale_factor: Optional[float] = None,
    device_name: str = "",
    database_path: str = "",
    backend_version: str = "",
    step_overhead_us: Optional[float] = None,
    per_request_overhead_us: Optional[float] = None,
    per_layer_overhead_us: Optional[float] = None,
    ctx_attention: str = "",
    calibrated: Optional[Mapping[str, float]] = None,
) -> "ppb.PredictorConfig":
    """A PredictorConfig.

    ``kind`` is constant, roofline, aic (aiconfigurator) or calibrated; left unspecified the scheduler
    picks roofline when a model and a GPU are given, else constant. ``model`` is a catalog name or
    Hugging Face id (``"llama-3.1-8b"``), or an architecture (a dict of ModelArchitecture fields, i.e. a
    config.json's). ``gpu`` is an AIConfigurator system name (``"h100_sxm"``) or a dict of GpuHardware
    fields. Dtypes: bf16, fp16, fp8, fp8_block, nvfp4, mxfp4, int4 (default: the checkpoint's). MoE models:
    ``ep`` / ``moe_tp`` (moe_tp × ep = tp), ``attention_dp``, and the MoeOptions ``moe_distribution``
    ("balanced", "power_law_1.2", ...), ``eplb`` and ``moe_communication`` ("auto", "allgather", ...).
    ``nearest_table_version`` lets an aic configuration use the table version nearest to ``backend_version``.
    """
    config = ppb.PredictorConfig(
        kind=_enum(ppb.PredictorKind, "PREDICTOR_KIND_", kind, "kind"),
        device_name=device_name,
        database_path=database_path,
        backend_version=backend_version,
        weight_dtype=_enum(ppb.DType, "D_TYPE_", weight_dtype, "weight_dtype"),
        kv_cache_dtype=_enum(ppb.DType, "D_TYPE_", kv_cache_dtype, "kv_cache_dtype"),
        ctx_attention=ctx_attention,
        parallelism=ppb.Parallelism(tp=tp, pp=pp, ep=ep),
    )
    if moe_tp is not None:
        config.parallelism.moe_tp = moe_tp
    if attention_dp is not None:
        config.parallelism.attention_dp = attention_dp
    if moe_distribution or eplb or moe_communication:
        config.moe.CopyFrom(ppb.MoeOptions(distribution=moe_distribution, eplb=eplb, communication=moe_communication))
    if nearest_table_version is not None:
        config.nearest_table_version = nearest_table_version
    optionals = {
        "constant_prefill_time_ms": constant_prefill_time_ms,
        "constant_decode_time_ms": constant_decode_time_ms,
        "prefill_scale_factor": prefill_scale_factor,
        "decode_scale_factor": decode_scale_factor,
        "step_overhead_us": step_overhead_us,
        "per_request_overhead_us": per_request_overhead_us,
        "per_layer_overhead_us": per_layer_overhead_us,
    }
    for name, value in optionals.items():
        if value is not None:
            setattr(config, name, value)
    _set_source(config.model, model, ppb.ModelArchitecture)
    _set_source(config.gpu, gpu, ppb.GpuHardware)
    if calibrated is not None:
        config.calibrated.CopyFrom(ppb.CalibratedModel(**calibrated))
    return config


def _set_source(ref: Any, value: Any, inline_type: Any) -> None:
    """Fills a ModelRef or GpuRef: a str is the catalog name, a message or a dict of its fields the
    inline description; None leaves the reference unset."""
    if isinstance(value, str):
        ref.name = value
    elif isinstance(value, inline_type):
        ref.inline.CopyFrom(value)
    elif value is not None:
        ref.inline.CopyFrom(inline_type(**value))


# --- batches -----------------------------------------------------------------------------------------

def context_entry(input_length: int, past_kv_length: int = 0) -> "ppb.BatchEntry":
    """A request processing ``input_length`` prompt tokens (a chunk or the whole prompt)."""
    return ppb.BatchEntry(phase=ppb.PHASE_CONTEXT, input_length=input_length, past_kv_length=past_kv_length)


def generation_entry(past_kv_length: int) -> "ppb.BatchEntry":
    """A request decoding one token with ``past_kv_length`` tokens in its KV cache."""
    return ppb.BatchEntry(phase=ppb.PHASE_GENERATION, input_length=1, past_kv_length=past_kv_length)


def sim_batch(entries: Iterable["ppb.BatchEntry"], *, packed: bool = False) -> "ppb.SimBatch":
    """A SimBatch with its totals computed: context entries first, then generation entries (as the
    scheduler sends them). ``packed=True`` uses the compact parallel-array form."""
    items = list(entries)
    ctx = [e for e in items if e.phase == ppb.PHASE_CONTEXT]
    gen = [e for e in items if e.phase != ppb.PHASE_CONTEXT]
    ordered = ctx + gen
    batch = ppb.SimBatch(
        num_context_requests=len(ctx),
        num_context_tokens=sum(e.input_length for e in ctx),
        num_generation_requests=len(gen),
        num_generation_tokens=sum(e.input_length for e in gen),
    )
    if packed:
        batch.packed.is_context.extend(e.phase == ppb.PHASE_CONTEXT for e in ordered)
        batch.packed.input_length.extend(e.input_length for e in ordered)
        batch.packed.past_kv_length.extend(e.past_kv_length for e in ordered)
    else:
        batch.entries.extend(ordered)
    return batch


# --- workloads ---------------------------------------------------------------------------------------

def synthetic_workload(
    num_requests: int,
    *,
    input_mean: Optional[float] = None,
    output_mean: Optional[float] = None,
    input_stdev: float = 0.0,
    output_stdev: float = 0.0,
    input_min: Optional[int] = None,
    input_max: Optional[int] = None,
    output_min: Optional[int] = None,
    output_max: Optional[int] = None,
    seed: int = 0,
    vocab_size: int = 0,
    distribution: Optional[EnumValue] = None,
    random_prefix_len: int = 0,
    num_prefix_groups: int = 0,
) -> "spb.Workload":
    """A synthetic workload as ``trtllm-bench prepare-dataset`` makes it.

    token-norm-dist takes the means (and stdevs); token-unif-dist takes the min/max bounds. The
    distribution follows from which of them are given unless ``distribution`` names it. ``seed`` 0
    means the generator's default (420); ``vocab_size`` 0 the model's. ``random_prefix_len`` puts one of
    ``num_prefix_groups`` shared random prefixes of that many tokens before each prompt (request i gets
    prefix i mod groups).
    """
    norm_given = input_mean is not None or output_mean is not None
    unif_given = any(v is not None for v in (input_min, input_max, output_min, output_max))
    if distribution is None:
        if norm_given == unif_given:
            raise ValueError("synthetic workload: give input_mean/output_mean (token-norm-dist) or the min/max bounds (token-unif-dist)")
        distribution = "token_norm_dist" if norm_given else "token_unif_dist"
    dist = _enum(spb.Distribution, "DISTRIBUTION_", distribution, "distribution")
    synthetic = spb.SyntheticWorkload(
        distribution=dist, num_requests=num_requests, seed=seed, vocab_size=vocab_size,
        random_prefix_len=random_prefix_len, num_prefix_groups=num_prefix_groups,
    )
    if dist == spb.DISTRIBUTION_TOKEN_NORM_DIST:
        if unif_given:
            raise ValueError("synthetic workload: token-norm-dist takes means and stdevs, not min/max bounds")
        if input_mean is None or output_mean is None:
            raise ValueError("synthetic workload: token-norm-dist needs input_mean and output_mean")
        synthetic.input_mean, synthetic.output_mean = input_mean, output_mean
        synthetic.input_stdev, synthetic.output_stdev = input_stdev, output_stdev
    else:
        if norm_given or input_stdev or output_stdev:
            raise ValueError("synthetic workload: token-unif-dist takes min/max bounds, not means and stdevs")
        bounds = (input_min, input_max, output_min, output_max)
        if any(v is None for v in bounds):
            raise ValueError("synthetic workload: token-unif-dist needs input_min, input_max, output_min and output_max")
        synthetic.input_min, synthetic.input_max, synthetic.output_min, synthetic.output_max = bounds  # type: ignore[assignment]
    return spb.Workload(synthetic=synthetic)


#: Largest dataset file dataset_workload reads into the spec by default (larger ones are streamed).
INLINE_DATASET_BYTES = 16 * 1024 * 1024

DATASET_FORMATS = {
    "trtllm": spb.DATASET_FORMAT_TRTLLM_JSONL,
    "trace": spb.DATASET_FORMAT_TRACE_JSONL,
    "azure": spb.DATASET_FORMAT_AZURE_CSV,
    "burstgpt": spb.DATASET_FORMAT_BURSTGPT_CSV,
    "csv": spb.DATASET_FORMAT_CSV,
}
_TIMESTAMP_UNITS = {
    None: spb.TIMESTAMP_UNIT_UNSPECIFIED,
    "seconds": spb.TIMESTAMP_UNIT_SECONDS,
    "ms": spb.TIMESTAMP_UNIT_MILLISECONDS,
    "milliseconds": spb.TIMESTAMP_UNIT_MILLISECONDS,
    "datetime": spb.TIMESTAMP_UNIT_DATETIME,
}


def csv_columns(
    input_length: str, output_length: str, *, timestamp: str = "", session_id: str = "", timestamp_unit: Optional[str] = None
) -> "spb.CsvColumns":
    """The column mapping of a CSV trace (header names); ``timestamp_unit`` is seconds, ms or datetime
    (default: seconds for numbers, a date-time otherwise)."""
    if timestamp_unit not in _TIMESTAMP_UNITS:
        raise ValueError(f"csv_columns: timestamp_unit must be seconds, ms or datetime (got {timestamp_unit!r})")
    return spb.CsvColumns(
        input_length=input_length, output_length=output_length, timestamp=timestamp, session_id=session_id,
        timestamp_unit=_TIMESTAMP_UNITS[timestamp_unit],
    )


def dataset_workload(
    path: Union[str, "os.PathLike[str]"],
    *,
    name: Optional[str] = None,
    approx_prompt_tokens: bool = False,
    format: str = "trtllm",
    trace_block_size: int = 0,
    csv: Optional["spb.CsvColumns"] = None,
    streamed: Optional[bool] = None,
) -> "spb.Workload":
    """A dataset file: trtllm-bench JSONL (``format="trtllm"``), an AIPerf / Mooncake trace
    (``"trace"``), an Azure or BurstGPT CSV trace (``"azure"``, ``"burstgpt"``) or any CSV trace read
    through ``csv`` (``"csv"``, see csv_columns). The report names it ``name`` (default: the path).

    ``streamed=True`` leaves the bytes out of the spec: SchedulerClient.submit_job then streams the file
    named by the dataset's name in chunks (SubmitJobStream), for files of any size. ``False`` reads the
    file into the spec (JSONL text for trtllm, bytes for the other formats). The default streams files
    larger than 16 MiB and reads smaller ones.

    With ``approx_prompt_tokens`` lines that have only a text ``prompt`` (``text_input`` in a trace) are
    accepted with ISL = ceil(characters / 4), and the report says so. ``trace_block_size`` is the tokens
    per hash_ids block of a trace (0: 512)."""
    if format not in DATASET_FORMATS:
        raise ValueError(f"dataset_workload: format must be one of {', '.join(DATASET_FORMATS)} (got {format!r})")
    if (format == "csv") != (csv is not None):
        raise ValueError("dataset_workload: a csv column mapping goes with format='csv' (and only there)")
    dataset = spb.DatasetWorkload(
        name=os.fspath(path) if name is None else name,
        approx_prompt_tokens=approx_prompt_tokens,
        format=DATASET_FORMATS[format],
        trace=spb.TraceOptions(block_size=trace_block_size, csv_columns=csv),
    )
    if streamed is None:
        streamed = os.stat(path).st_size > INLINE_DATASET_BYTES
    if streamed:
        if name is not None and name != os.fspath(path):
            raise ValueError("dataset_workload: a streamed dataset is named by its path (the file submit_job reads)")
        dataset.streamed = True
    elif format == "trtllm":
        with open(path, encoding="utf-8") as f:
            dataset.jsonl = f.read()
    else:
        with open(path, "rb") as f:
            dataset.content = f.read()
    return spb.Workload(dataset=dataset)


RequestLike = Union[Tuple[int, int], Mapping[str, Any], "spb.InlineRequest"]


def inline_workload(requests: Iterable[RequestLike]) -> "spb.Workload":
    """Requests given inline: ``(input_length, output_tokens)`` pairs (task ids 0, 1, ...), dicts of
    InlineRequest fields (task_id, input_length, output_tokens, input_ids) or InlineRequest messages."""
    out = spb.InlineWorkload()
    for i, r in enumerate(requests):
        if isinstance(r, spb.InlineRequest):
            out.requests.append(r)
        elif isinstance(r, Mapping):
            out.requests.append(spb.InlineRequest(**{"task_id": i, **r}))
        else:
            isl, osl = r
            out.requests.append(spb.InlineRequest(task_id=i, input_length=isl, output_tokens=osl))
    return spb.Workload(inline=out)


# --- engine ------------------------------------------------------------------------------------------

_ENGINE_FIELDS = frozenset(f.name for f in spb.EngineConfig.DESCRIPTOR.fields) | {"max_concurrency"}


def _ramp_up(value: Any) -> "spb.RampUp":
    """vLLM's ramp-up from (strategy, start_rps, end_rps), a dict of the RampUp fields, or a RampUp."""
    if isinstance(value, spb.RampUp):
        return value
    if isinstance(value, Mapping):
        strategy, start, end = value.get("strategy"), value.get("start_rps"), value.get("end_rps")
    else:
        try:
            strategy, start, end = value
        except (TypeError, ValueError):
            raise TypeError("ramp_up: give (strategy, start_rps, end_rps), a dict of them, or a RampUp") from None
    return spb.RampUp(
        strategy=_enum(spb.RampUpStrategy, "RAMP_UP_STRATEGY_", strategy, "ramp_up.strategy"),
        start_rps=float(start),
        end_rps=float(end),
    )


def engine_config(**settings: Any) -> "spb.EngineConfig":
    """An EngineConfig from its field names (trtllm-bench / LLM API names): max_batch_size,
    max_num_tokens, max_seq_len, scheduler_policy (guaranteed_no_evict, max_utilization, static_batch),
    enable_chunked_context, chunking_policy (first_come_first_served, equal_progress), tokens_per_block,
    kv_cache_max_tokens, kv_num_blocks, kv_cache_free_gpu_mem_fraction, enable_block_reuse, concurrency,
    request_rate, seed, num_requests, warmup, disable_overlap_scheduler (unset: TensorRT-LLM's overlap
    scheduler for roofline and aic, the non-overlap loop for constant and calibrated; docs/timing.md).
    Arrivals: burstiness (vLLM's; float("inf") for constant gaps), ramp_up (("linear" | "exponential",
    start_rps, end_rps), a dict of those fields or a RampUp), concurrency with request_rate (a ceiling,
    vLLM's max_concurrency), replay_timestamps, trace_speedup, session_mode (closed_loop, independent).
    Context batch waiting: batch_wait_timeout_iters (int >= 0) and batch_wait_max_tokens_ratio (float in
    [0, 1]), TensorRT-LLM's LLM API names; contexts are held only with both > 0.
    None leaves a setting at its default."""
    unknown = sorted(set(settings) - _ENGINE_FIELDS)
    if unknown:
        raise TypeError(f"engine_config: unknown setting(s) {', '.join(unknown)}")
    engine = spb.EngineConfig()
    for name, value in settings.items():
        if value is None:
            continue
        if name == "scheduler_policy":
            value = _enum(spb.SchedulerPolicy, "SCHEDULER_POLICY_", value, name)
        elif name == "chunking_policy":
            value = _enum(spb.ChunkingPolicy, "CHUNKING_POLICY_", value, name)
        elif name == "session_mode":
            value = _enum(spb.SessionMode, "SESSION_MODE_", value, name)
        elif name == "ramp_up":
            engine.ramp_up.CopyFrom(_ramp_up(value))
            continue
        elif name == "max_concurrency":
            name = "concurrency"
        elif name in _ENGINE_MESSAGES:
            # speculative, attention_dp, cuda_graph: a message, or a dict of its fields.
            if isinstance(value, Mapping):
                value = speculative_config(**value) if name == "speculative" else _ENGINE_MESSAGES[name](**value)
            getattr(engine, name).CopyFrom(value)
            continue
        setattr(engine, name, value)
    return engine


_ENGINE_MESSAGES = {"speculative": spb.SpeculativeConfig, "attention_dp": spb.AttentionDpConfig, "cuda_graph": spb.CudaGraphConfig}


def speculative_config(
    decoding_type: str = "mtp",
    max_draft_len: int = 1,
    mean_accepted_draft_tokens: Optional[float] = None,
    acceptance_rates: Optional[Sequence[float]] = None,
    draft_model: str = "",
    seed: Optional[int] = None,
) -> "spb.SpeculativeConfig":
    """speculative_config as a job runs it: decoding_type ``mtp`` or ``eagle3``, max_draft_len drafts per step
    (MTP's num_nextn_predict_layers), and the acceptance model: the mean accepted drafts per step, or one
    conditional acceptance rate per draft position. Pass it as ``engine_config(speculative=...)``."""
    out = spb.SpeculativeConfig(
        decoding_type=_enum(spb.SpeculativeDecoding, "SPECULATIVE_DECODING_", decoding_type, "decoding_type"),
        max_draft_len=max_draft_len,
        draft_model=draft_model,
    )
    if mean_accepted_draft_tokens is not None:
        out.mean_accepted_draft_tokens = mean_accepted_draft_tokens
    if acceptance_rates:
        out.acceptance_rates.extend(acceptance_rates)
    if seed is not None:
        out.seed = seed
    return out


# --- report ------------------------------------------------------------------------------------------

_SLO_METRICS = {
    "ttft": "SLO_METRIC_TTFT", "time_to_first_token": "SLO_METRIC_TTFT",
    "tpot": "SLO_METRIC_TPOT", "time_per_output_token": "SLO_METRIC_TPOT",
    "itl": "SLO_METRIC_ITL", "inter_token_latency": "SLO_METRIC_ITL",
    "e2el": "SLO_METRIC_E2EL", "e2e": "SLO_METRIC_E2EL", "request_latency": "SLO_METRIC_E2EL", "latency": "SLO_METRIC_E2EL",
}

SloLike = Union[str, Tuple[str, float], "spb.Slo"]


def slo(term: str) -> "spb.Slo":
    """One goodput objective from vLLM's ``KEY:VALUE`` (milliseconds): ``ttft:300``, ``tpot:25``,
    ``itl:50``, ``e2el:8000``; ``KEY@p90:VALUE`` (or ``@mean``) also bounds that statistic of the run."""
    text = term.strip()
    key, sep, value = text.rpartition(":")
    if not sep or not key:
        raise ValueError(f"goodput: {text!r} is not METRIC:MILLISECONDS (e.g. ttft:300, tpot@p90:25)")
    name, _, stat = key.partition("@")
    metric = _SLO_METRICS.get(name.strip().lower())
    if metric is None:
        raise ValueError(f"goodput: {text!r}: unknown metric {name!r} (one of ttft, tpot, itl, e2el)")
    try:
        threshold = float(value.strip().removesuffix("ms"))
    except ValueError:
        raise ValueError(f"goodput: {text!r}: the threshold must be a number of milliseconds > 0") from None
    if not threshold > 0 or threshold == float("inf"):
        raise ValueError(f"goodput: {text!r}: the threshold must be a number of milliseconds > 0")
    out = spb.Slo(metric=spb.SloMetric.Value(metric), threshold_ms=threshold)
    stat = stat.strip().lower()
    if stat in ("mean", "avg", "average"):
        out.mean = True
    elif stat:
        if not stat.startswith("p"):
            raise ValueError(f"goodput: {text!r}: the statistic must be pNN (e.g. p90, p99.9) or mean")
        try:
            p = float(stat[1:])
        except ValueError:
            raise ValueError(f"goodput: {text!r}: the statistic must be pNN (e.g. p90, p99.9) or mean") from None
        if not 0 < p <= 100:
            raise ValueError(f"goodput: {text!r}: a percentile must be in (0, 100]")
        out.percentile = p
    return out


def report_options(
    *, goodput: Union[str, Mapping[str, float], Iterable[SloLike], None] = None, percentiles: Union[str, Iterable[float], None] = None
) -> "spb.ReportOptions":
    """JobSpec.report: goodput objectives and the latency percentiles to report.

    ``goodput`` is vLLM's ``"ttft:300 tpot:25"`` (milliseconds), a dict ``{"ttft": 300, "tpot": 25}``
    (keys may carry a statistic: ``"tpot@p90"``) or a list of terms / Slo messages. ``percentiles`` is
    ``"50,90,99,99.9"`` or a list of numbers in (0, 100] (default trtllm-bench's 50, 90, 95, 99).
    The scheduler validates them again and answers INVALID_ARGUMENT naming ``spec.report``."""
    out = spb.ReportOptions()
    if goodput is not None:
        if isinstance(goodput, str):
            terms: List[Any] = [t for t in goodput.replace(",", " ").split() if t]
        elif isinstance(goodput, Mapping):
            terms = [f"{k}:{v}" for k, v in goodput.items()]
        else:
            terms = list(goodput)
        for t in terms:
            if isinstance(t, spb.Slo):
                out.goodput.append(t)
            elif isinstance(t, tuple):
                out.goodput.append(slo(f"{t[0]}:{t[1]}"))
            else:
                out.goodput.append(slo(str(t)))
    if percentiles is not None:
        values = [v for v in percentiles.replace(",", " ").split() if v] if isinstance(percentiles, str) else list(percentiles)
        for v in values:
            p = float(str(v).lstrip("pP"))
            if not 0 < p <= 100:
                raise ValueError(f"percentiles: {v!r} is not in (0, 100]")
            out.percentiles.append(p)
    return out


# --- sweep -----------------------------------------------------------------------------------------------

def sweep_points(points: Iterable[Mapping[str, Any]]) -> "spb.SweepSpec":
    """JobSpec.sweep: one point per dict of settings (tp, max_batch_size, concurrency, gpu, ...; the names of
    a sweep file), ids "p0", "p1", ... unless a dict holds an ``id``. Set it on a job spec to run the points
    as one job group: ``spec.sweep.CopyFrom(sweep_points([{"tp": 1}, {"tp": 2}]))``; the result's
    ``sweep_rows`` then hold each point's metrics."""
    out = spb.SweepSpec()
    for i, p in enumerate(points):
        settings = {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in p.items() if k not in ("id", "label")}
        out.points.append(spb.SweepPoint(id=str(p.get("id", f"p{i}")), label=str(p.get("label", "")), settings=settings))
    return out


# --- job -----------------------------------------------------------------------------------------------

_PREDICTOR_KWARGS = frozenset(
    {
        "model", "gpu", "tp", "pp", "ep", "weight_dtype", "kv_cache_dtype", "constant_prefill_time_ms",
        "constant_decode_time_ms", "prefill_scale_factor", "decode_scale_factor", "device_name", "database_path",
        "backend_version", "step_overhead_us", "per_request_overhead_us", "per_layer_overhead_us", "ctx_attention",
        "calibrated",
    }
)
_SYNTHETIC_KWARGS = frozenset(
    {"input_mean", "output_mean", "input_stdev", "output_stdev", "input_min", "input_max", "output_min", "output_max",
     "vocab_size", "distribution", "random_prefix_len", "num_prefix_groups"}
)


def job_spec(
    name: str = "",
    *,
    predictor: Union[EnumValue, "ppb.PredictorConfig"] = "unspecified",
    workload: Optional["spb.Workload"] = None,
    dataset: Union[str, "os.PathLike[str]", None] = None,
    requests: Optional[Iterable[RequestLike]] = None,
    num_requests: Optional[int] = None,
    random_seed: int = 0,
    engine: Optional["spb.EngineConfig"] = None,
    model_path: Optional[str] = None,
    approx_prompt_tokens: bool = False,
    dataset_format: str = "trtllm",
    goodput: Union[str, Mapping[str, float], Iterable[SloLike], None] = None,
    percentiles: Union[str, Iterable[float], None] = None,
    cluster: Optional["spb.ClusterSpec"] = None,
    **kwargs: Any,
) -> "spb.JobSpec":
    """A JobSpec from simple keyword arguments.

    The workload is one of: ``workload`` (a Workload message), ``dataset`` (a trtllm-bench JSONL file),
    ``requests`` (inline ``(input_length, output_tokens)`` pairs) or a synthetic workload given by
    ``num_requests`` plus ``input_mean``/``output_mean`` (and ``input_stdev``/``output_stdev``,
    token-norm-dist) or ``input_min``/``input_max``/``output_min``/``output_max`` (token-unif-dist),
    ``random_seed`` and ``vocab_size``. With a dataset or inline requests, ``num_requests`` keeps the
    first N.

    ``predictor`` is a kind name (constant, roofline, aic (aiconfigurator) or calibrated) completed by the
    predictor_config keywords (model, gpu, tp, weight_dtype, constant_prefill_time_ms, database_path, ...),
    or a PredictorConfig. Every other keyword is an engine_config setting (max_batch_size, concurrency,
    request_rate, seed, warmup, ...), unless ``engine`` is given.

    ``model_path`` is trtllm-bench's --model_path (the report's Model Path); without a ``model`` it is
    also the model, a config.json (or a directory holding one) read by the scheduler.
    ``approx_prompt_tokens`` (with ``dataset`` only) accepts prompt-only lines, ISL = ceil(characters / 4).
    A ``dataset`` larger than 16 MiB is streamed: SchedulerClient.submit_job / run_job send the file in
    chunks (any size; see dataset_workload). ``dataset_format`` is trtllm (default), trace, azure or burstgpt.
    ``goodput`` (``"ttft:300 tpot:25"`` or ``{"ttft": 300}``) and ``percentiles`` (``"50,90,99,99.9"``)
    go to JobSpec.report (see report_options): the report then has ``sim.goodput`` and
    ``sim.latency_percentiles_ms`` at those percentiles.

    ``cluster`` (a ClusterSpec: cluster_spec(), or read_cluster_yaml() of a --sim-config file) makes the
    job a cluster: aggregated instances behind a router, or disaggregated prefill/decode pools.

    Example: ``job_spec("demo", predictor="roofline", model="llama-3.1-8b", gpu="h100_sxm",
    num_requests=100, input_mean=512, output_mean=128, concurrency=16)``.
    """
    predictor_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in _PREDICTOR_KWARGS}
    synthetic_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in _SYNTHETIC_KWARGS}
    if isinstance(predictor, ppb.PredictorConfig):
        if predictor_kwargs:
            raise TypeError(f"job_spec: {', '.join(sorted(predictor_kwargs))} given with a PredictorConfig")
        config = predictor
    else:
        config = predictor_config(predictor, **predictor_kwargs)

    sources = [s for s in (workload, dataset, requests) if s is not None]
    if approx_prompt_tokens and dataset is None:
        raise TypeError("job_spec: approx_prompt_tokens applies to a dataset only")
    if synthetic_kwargs and not sources:
        if num_requests is None:
            raise TypeError("job_spec: a synthetic workload needs num_requests")
        work = synthetic_workload(num_requests, seed=random_seed, **synthetic_kwargs)
        keep_first = 0
    else:
        if len(sources) != 1 or synthetic_kwargs:
            raise TypeError("job_spec: give exactly one workload: workload, dataset, requests or synthetic settings (num_requests, input_mean, ...)")
        if workload is not None:
            work = workload
        elif dataset is not None:
            work = dataset_workload(dataset, approx_prompt_tokens=approx_prompt_tokens, format=dataset_format)
        else:
            work = inline_workload(requests)  # type: ignore[arg-type]
        keep_first = num_requests or 0

    unknown = sorted(set(kwargs) - _ENGINE_FIELDS)
    if unknown:
        raise TypeError(f"job_spec: unknown keyword(s) {', '.join(unknown)}")
    if engine is not None:
        if kwargs:
            raise TypeError(f"job_spec: {', '.join(sorted(kwargs))} given with an EngineConfig")
        engine_msg = engine
    else:
        engine_msg = engine_config(**kwargs)
    if keep_first:
        engine_msg.num_requests = keep_first
    spec = spb.JobSpec(name=name, engine=engine_msg, predictor=config, workload=work, model_path=model_path or "")
    if goodput is not None or percentiles is not None:
        spec.report.CopyFrom(report_options(goodput=goodput, percentiles=percentiles))
    if cluster is not None:
        spec.cluster.CopyFrom(cluster)
    return spec
