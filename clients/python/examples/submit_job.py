#!/usr/bin/python3
"""Submits a synthetic servesim job (roofline predictor, Llama-3.1-8B on an H100 SXM) to a scheduler,
follows its progress and prints TTFT and TPOT.

    /usr/bin/python3 clients/python/examples/submit_job.py --address localhost:50052

Debian's /usr/bin/python3 with python3-grpcio and python3-protobuf (apt-get install python3-grpcio
python3-protobuf); any other Python needs `pip install grpcio protobuf`.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

try:
    import grpc  # noqa: E402
    from servesim_client import JobFailedError, SchedulerClient, ServesimError, job_spec  # noqa: E402
except ImportError as err:
    sys.exit(f"error: {err}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--address", default=os.environ.get("SERVESIM_SCHEDULER_ADDRESS", "localhost:50052"), help="scheduler host:port")
    parser.add_argument("--model", default="llama-3.1-8b")
    parser.add_argument("--gpu", default="h100_sxm")
    parser.add_argument("--num-requests", type=int, default=100)
    parser.add_argument("--input-mean", type=float, default=512)
    parser.add_argument("--output-mean", type=float, default=128)
    parser.add_argument("--concurrency", type=int, default=0, help="requests in flight (0 = all at once)")
    parser.add_argument("--tls-ca", default=os.environ.get("SERVESIM_CLIENT_TLS_CA"), help="PEM CA of the scheduler's certificate (TLS)")
    parser.add_argument("--tls-cert", default=os.environ.get("SERVESIM_CLIENT_TLS_CERT"), help="PEM client certificate (mTLS)")
    parser.add_argument("--tls-key", default=os.environ.get("SERVESIM_CLIENT_TLS_KEY"), help="PEM key of the client certificate")
    parser.add_argument("--token-file", default=os.environ.get("SERVESIM_TOKEN_FILE"), help="file holding the bearer token (or SERVESIM_TOKEN)")
    args = parser.parse_args()

    credentials = None
    if args.tls_ca or args.tls_cert:
        def read(path):
            with open(path, "rb") as f:
                return f.read()

        credentials = grpc.ssl_channel_credentials(
            root_certificates=read(args.tls_ca) if args.tls_ca else None,
            private_key=read(args.tls_key) if args.tls_key else None,
            certificate_chain=read(args.tls_cert) if args.tls_cert else None,
        )
    token = os.environ.get("SERVESIM_TOKEN")
    if args.token_file:
        with open(args.token_file, encoding="utf-8") as f:
            token = f.read().strip()

    spec = job_spec(
        "python example",
        predictor="roofline",
        model=args.model,
        gpu=args.gpu,
        num_requests=args.num_requests,
        input_mean=args.input_mean,
        output_mean=args.output_mean,
        concurrency=args.concurrency,
    )

    def progress(job) -> None:
        p = job.progress
        print(f"\r{p.requests_finished}/{p.requests_total} requests, {p.iterations} iterations, {p.sim_time_ms / 1000:.2f} s simulated",
              end="", file=sys.stderr, flush=True)

    try:
        with SchedulerClient(args.address, credentials=credentials, token=token) as client:
            out = client.run_job(spec, on_progress=progress)
    except JobFailedError as err:
        print(f"\n{err}", file=sys.stderr)
        return 1
    except ServesimError as err:
        where = f" ({err.field})" if err.field else ""
        print(f"\nservesim error {err.code_name}{where}: {err.details}", file=sys.stderr)
        return 1
    print(file=sys.stderr)

    report = out.report
    streaming = report["streaming_metrics"]
    print(f"{report['sim']['predictor']}: {out.result.num_requests} requests, {out.result.num_iterations} iterations")
    for label, key in (("TTFT", "ttft"), ("TPOT", "tpot")):
        pct = streaming[f"{key}_percentiles"]
        print(f"{label}  avg {streaming[f'avg_{key}_ms']:.3f} ms  p50 {pct['p50']:.3f} ms  p99 {pct['p99']:.3f} ms")
    print(f"output throughput {report['performance']['system_output_throughput_tok_s']:.1f} tok/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
