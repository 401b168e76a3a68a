"""`python -m local.images`: build the images, run them, print one JSON summary as the last line."""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from local.images.base_image import ensure_base_image
from local.images.engine_config import write_containers_conf
from local.images.podman import EngineError, Podman
from local.images.smoke import SmokeResult, smoke_test
from local.images.targets import CPU_TARGETS, CUDA_TARGETS, IMAGE_USER, ImageTarget
from local.stack import REPO_ROOT, StackPorts
from servicekit.cache import user_cache_dir

# Far from `make run` (offset 0) and the integration tests (1000): all three can run at once.
PORT_OFFSET = 4200
CA_BUNDLE = Path(os.environ.get("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt"))


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    started = time.monotonic()
    cache_dir = user_cache_dir() / "images"
    podman = Podman(write_containers_conf(cache_dir), cache_dir / "logs")
    targets = CUDA_TARGETS if args.cuda else CPU_TARGETS
    if args.targets:
        targets = tuple(t for t in (*CPU_TARGETS, *CUDA_TARGETS) if t.target in args.targets)

    base_tag = ensure_base_image(podman, cache_dir)
    base_s = time.monotonic() - started
    images: dict[str, dict[str, Any]] = {}
    for target in targets:
        images[target.target] = _build(podman, target, base_tag)

    report: dict[str, Any] = {"base_image": base_tag, "base_s": round(base_s, 1)}
    report["base_size_mb"] = _megabytes(podman.image_config(base_tag)["Size"])
    built = [t for t in targets if images[t.target]["built"]]
    if args.run and built:
        run_started = time.monotonic()
        work_dir = cache_dir / "run"
        shutil.rmtree(work_dir, ignore_errors=True)
        try:
            smoke = smoke_test(
                podman, built, StackPorts.shifted(args.port_offset), work_dir, args.timeout
            )
        except (RuntimeError, OSError) as error:  # broker, topics or podman: still one report
            traceback.print_exc()
            report["run_error"] = str(error).splitlines()[0]
            smoke = SmokeResult()
        for name, healthy in smoke.healthy.items():
            images[name]["healthy"] = healthy
        report["gateway_readyz"] = smoke.gateway_readyz
        report["topics_created_by"] = smoke.topics_created_by
        report["run_s"] = round(time.monotonic() - run_started, 1)
    report["images"] = images
    report["total_s"] = round(time.monotonic() - started, 1)
    report["ok"] = all(
        image["built"] and image["non_root"] and (image.get("healthy") or not args.run)
        for image in images.values()
    ) and (not args.run or targets != CPU_TARGETS or report.get("gateway_readyz") == 200)
    print(json.dumps(report), flush=True)
    return 0 if report["ok"] else 1


def _build(podman: Podman, target: ImageTarget, base_tag: str) -> dict[str, Any]:
    started = time.monotonic()
    build_args = {"BASE_IMAGE": base_tag, "REVISION": _revision()}
    secrets = {"pip_ca": CA_BUNDLE} if CA_BUNDLE.is_file() else {}
    print(f"images: building {target.target} -> {target.tag}", flush=True)
    try:
        podman.build(
            context=REPO_ROOT,
            target=target.target,
            tag=target.tag,
            build_args=build_args,
            secrets=secrets,
        )
    except EngineError as error:
        print(error, file=sys.stderr, flush=True)
        return {"image": target.image, "tag": target.tag, "built": False, "non_root": False}
    inspected = podman.image_config(target.tag)
    config = inspected.get("Config") or {}
    user = str(config.get("User", "")) if isinstance(config, dict) else ""
    return {
        "image": target.image,
        "tag": target.tag,
        "built": True,
        "build_s": round(time.monotonic() - started, 1),
        "size_mb": _megabytes(inspected["Size"]),
        "user": user,
        "non_root": user == IMAGE_USER,
    }


def _megabytes(size: object) -> float:
    return round(int(str(size)) / 1e6, 1)


def _revision() -> str:
    done = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
    )
    return done.stdout.strip() if done.returncode == 0 else "unknown"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local.images", description=__doc__)
    parser.add_argument(
        "--cuda", action="store_true", help="the CUDA targets instead of the CPU ones"
    )
    parser.add_argument("--targets", nargs="+", help="only these Dockerfile targets")
    parser.add_argument("--no-run", dest="run", action="store_false", help="build only")
    parser.add_argument("--port-offset", type=int, default=PORT_OFFSET)
    parser.add_argument(
        "--timeout", type=float, default=300, help="seconds for all to turn healthy"
    )
    return parser.parse_args(argv)
