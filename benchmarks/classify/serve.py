"""The classify gRPC server without Kafka, for the throughput benchmark.

``python -m benchmarks.classify.serve [--threads N]``: the same encoder, committed bundle,
engine, servicer and `GrpcServer` (tracing + metrics interceptors) as
``services.classify.main``, configured from the same ``CLASSIFY_*`` settings, with TensorFlow
bounded to N intra-op threads, listening on a free loopback port. Prints one JSON line
``{"port": ...}`` once the engine is warm and the server is SERVING; when its standard input
closes it stops and prints the engine's stats as a second JSON line.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.classify.serve")
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow intra-op threads")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from carepulse.v1 import classify_pb2, classify_pb2_grpc
    from threadpoolctl import threadpool_info

    from servicekit.grpc.server import GrpcServer
    from services.classify.main import build_engine, build_servicer
    from services.classify.serving_encoder import runs_tensorflow
    from services.classify.settings import ClassifySettings

    settings = ClassifySettings()
    if runs_tensorflow(settings):  # the int8 path serves without TensorFlow: nothing to bound
        from textencoder import configure_tf_threads

        configure_tf_threads(args.threads, 1)
    engine = build_engine(settings)
    servicer = build_servicer(engine, settings)
    server = GrpcServer(
        address="127.0.0.1:0",
        max_workers=settings.grpc_max_workers,
        service_names=[classify_pb2.DESCRIPTOR.services_by_name["ClassifyService"].full_name],
        registrations=[
            lambda s: classify_pb2_grpc.add_ClassifyServiceServicer_to_server(servicer, s)
        ],
    )
    engine.start()
    traced_after_warm_up = engine.tracing_count()
    # Recorded: a multi-threaded BLAS beside the int8 workers cost the engine 9% and more.
    blas_threads = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    server.start()
    server.set_serving(True)
    print(json.dumps({"port": server.port, "model_version": engine.model_version}), flush=True)
    sys.stdin.read()  # the benchmark closes our stdin when it is done
    server.stop(grace_s=5.0)
    engine.close()
    stats = dataclasses.asdict(engine.stats())
    stats["retraced_after_warm_up"] = engine.tracing_count() - traced_after_warm_up
    stats["blas_threads_while_serving"] = blas_threads
    print(json.dumps(stats), flush=True)


if __name__ == "__main__":
    main()
