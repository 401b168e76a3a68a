"""What `make images` builds and how it runs each image: Dockerfile targets, tags, env, argv."""

from collections.abc import Mapping
from dataclasses import dataclass

from local.stack import GRPC_SERVICES, StackPorts

IMAGE_USER = "10001:10001"


@dataclass(frozen=True)
class ImageTarget:
    target: str  # the Dockerfile target
    service: str  # gateway, ingest, classify, recommend or alert
    cuda: bool = False

    @property
    def image(self) -> str:
        """The image (and skaffold artifact) name: the same for a service's CPU and CUDA builds."""
        return f"carepulse-{self.service}"

    @property
    def tag(self) -> str:
        return f"localhost/{self.image}:{'dev-cuda' if self.cuda else 'dev'}"


CPU_TARGETS = tuple(ImageTarget(name, name) for name in (*GRPC_SERVICES, "gateway"))
# Recommend holds no model (classify sends its vectors): only classify has a GPU build.
CUDA_TARGETS = (ImageTarget("classify-cuda", "classify", cuda=True),)


def service_env(
    service: str, ports: StackPorts, kafka_bootstrap: str, upstreams: Mapping[str, str]
) -> dict[str, str]:
    """The environment of one container on the host network: its own ports, Kafka, upstreams.

    Host and bind address come from the image (0.0.0.0); only the ports move, so the run
    never collides with a `make run` or the integration tests.
    """
    if service == "gateway":
        env = {"GATEWAY_PORT": str(ports.gateway)}
        env.update({f"GATEWAY_{name.upper()}_ADDR": addr for name, addr in upstreams.items()})
        return env
    prefix = service.upper()
    env = {
        f"{prefix}_GRPC_PORT": str(ports.grpc[service]),
        f"{prefix}_METRICS_PORT": str(ports.metrics(service)),
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
    }
    if service == "recommend":
        env["RECOMMEND_CLASSIFY_ADDR"] = ports.address("classify")  # it embeds the knowledge base
    return env


def run_argv(
    container: str,
    image: str,
    env: Mapping[str, str],
    *,
    pass_through: tuple[str, ...] = (),
    command: tuple[str, ...] = (),
) -> list[str]:
    """`podman run` as Kubernetes will run it: read-only root, no capabilities, image's user.

    Only /tmp and /var/lib/carepulse are writable (tmpfs, like the emptyDirs in k8s/). The
    user is the image's own, so a wrong USER line fails here. `pass_through` names variables
    (secrets) taken from the caller's environment, so their values never appear in argv.
    """
    argv = [
        "run",
        "--detach",
        "--name",
        container,
        "--network",
        "host",
        "--read-only",
        "--mount",
        "type=tmpfs,destination=/tmp,tmpfs-mode=1777",
        "--mount",
        "type=tmpfs,destination=/var/lib/carepulse,chown=true",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
    ]
    for name, value in env.items():
        argv += ["--env", f"{name}={value}"]
    for name in pass_through:
        argv += ["--env", name]
    if command:
        argv += ["--entrypoint", command[0]]
    return [*argv, image, *command[1:]]
