from local.images.targets import CPU_TARGETS, CUDA_TARGETS, IMAGE_USER, run_argv, service_env
from local.stack import REPO_ROOT, StackPorts


def _options(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, arg in enumerate(argv) if arg == flag]


def test_every_deployable_has_a_cpu_target_and_the_model_service_a_cuda_one() -> None:
    assert {t.target for t in CPU_TARGETS} == {
        "gateway",
        "ingest",
        "classify",
        "recommend",
        "alert",
    }
    assert {t.target for t in CUDA_TARGETS} == {"classify-cuda"}


def test_a_cuda_build_keeps_the_image_name_but_not_the_tag_of_its_cpu_build() -> None:
    cpu = {t.service: t for t in CPU_TARGETS}
    for cuda in CUDA_TARGETS:
        assert cuda.image == cpu[cuda.service].image == f"carepulse-{cuda.service}"
        assert cuda.tag != cpu[cuda.service].tag


def test_containers_run_read_only_without_capabilities_with_only_tmp_and_state_writable() -> None:
    argv = run_argv("c", "img", {})
    assert "--read-only" in argv
    assert _options(argv, "--cap-drop") == ["ALL"]
    mounts = _options(argv, "--mount")
    assert sorted(m.split(",")[1] for m in mounts) == [
        "destination=/tmp",
        "destination=/var/lib/carepulse",
    ]
    assert all(m.startswith("type=tmpfs,") for m in mounts)


def test_containers_run_as_the_user_the_image_declares() -> None:
    # Overriding the user would hide a Dockerfile that forgot its USER line.
    assert "--user" not in run_argv("c", "img", {"A": "1"})


def test_a_secret_is_passed_by_name_so_its_value_never_appears_in_argv() -> None:
    argv = run_argv("c", "img", {"PORT": "1"}, pass_through=("CAREPULSE_CLIENT_KEY",))
    assert _options(argv, "--env") == ["PORT=1", "CAREPULSE_CLIENT_KEY"]


def test_a_command_replaces_the_entrypoint_and_follows_the_image() -> None:
    argv = run_argv("c", "img", {}, command=("python", "-m", "servicekit.kafka.create_topics"))
    assert _options(argv, "--entrypoint") == ["python"]
    assert argv[-3:] == ["img", "-m", "servicekit.kafka.create_topics"]


def test_each_service_gets_the_shifted_ports_and_the_broker() -> None:
    ports = StackPorts.shifted(4200)
    env = service_env("classify", ports, "127.0.0.1:13292", {})
    assert env == {
        "CLASSIFY_GRPC_PORT": str(50052 + 4200),
        "CLASSIFY_METRICS_PORT": str(9102 + 4200),
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:13292",
    }


def test_recommend_reaches_classify_on_its_shifted_port() -> None:
    env = service_env("recommend", StackPorts.shifted(4200), "127.0.0.1:13292", {})
    assert env["RECOMMEND_CLASSIFY_ADDR"] == f"127.0.0.1:{50052 + 4200}"


def test_the_gateway_listens_on_its_shifted_port_and_calls_each_upstream() -> None:
    ports = StackPorts.shifted(4200)
    upstreams = {"ingest": "127.0.0.1:54251", "alert": "127.0.0.1:54254"}
    env = service_env("gateway", ports, "unused:1", upstreams)
    assert env == {
        "GATEWAY_PORT": str(8080 + 4200),
        "GATEWAY_INGEST_ADDR": "127.0.0.1:54251",
        "GATEWAY_ALERT_ADDR": "127.0.0.1:54254",
    }


def _dockerfile_stages() -> dict[str, str]:
    """Stage name -> the instructions of that stage, from the repository's Dockerfile."""
    stages: dict[str, str] = {}
    name = ""
    for line in (REPO_ROOT / "Dockerfile").read_text().splitlines():
        words = line.split()
        if words[:1] == ["FROM"] and len(words) == 4 and words[2].upper() == "AS":
            name = words[3]
            stages[name] = ""
        elif name:
            stages[name] += line + "\n"
    return stages


def test_every_target_the_harness_builds_is_a_dockerfile_stage_run_as_the_non_root_user() -> None:
    stages = _dockerfile_stages()
    for target in (*CPU_TARGETS, *CUDA_TARGETS):
        assert target.target in stages
        assert f"USER {IMAGE_USER}" in stages[target.target].splitlines()


def test_every_target_tells_telemetry_the_version_it_was_built_as() -> None:
    # servicekit.telemetry reads CAREPULSE_VERSION into service.version; images install the
    # code without package metadata, so without it every span would say "unknown".
    stages = _dockerfile_stages()
    for target in (*CPU_TARGETS, *CUDA_TARGETS):
        assert 'ENV CAREPULSE_VERSION="${VERSION}"' in stages[target.target].splitlines()
