"""Model serving, and nothing else, lands on the GPU node pool."""

import pytest

from tests.deploy.manifests import (
    MODEL_SERVING,
    PodTemplate,
    Renders,
    config_map_data,
    overlay_names,
    pod_templates,
)

GPU_OVERLAYS = ("gpu", "production")
CPU_OVERLAYS = tuple(o for o in overlay_names() if o not in GPU_OVERLAYS)
POOL_LABEL = "carepulse.dev/node-pool"
GPU_RESOURCE = "nvidia.com/gpu"
GPU_TAINT_KEY = "nvidia.com/gpu"


def tolerates_gpu_taint(template: PodTemplate) -> bool:
    """True if any toleration matches the pool's `nvidia.com/gpu:NoSchedule` taint."""
    for toleration in template.spec.get("tolerations", []):
        key_matches = toleration.get("key", "") in ("", GPU_TAINT_KEY)
        effect_matches = toleration.get("effect", "") in ("", "NoSchedule")
        # An empty key with Exists tolerates every taint.
        if key_matches and effect_matches:
            return True
    return False


def selects_gpu_pool(template: PodTemplate) -> bool:
    if POOL_LABEL in template.spec.get("nodeSelector", {}):
        return True
    affinity = template.spec.get("affinity", {}).get("nodeAffinity", {})
    return POOL_LABEL in str(affinity)


def gpus(template: PodTemplate) -> list[tuple[str, str | None, str | None]]:
    """(container, GPU request, GPU limit) for every container that names a GPU."""
    found = []
    for container in template.all_containers():
        resources = container.get("resources", {})
        request = resources.get("requests", {}).get(GPU_RESOURCE)
        limit = resources.get("limits", {}).get(GPU_RESOURCE)
        if request is not None or limit is not None:
            found.append((container["name"], request, limit))
    return found


@pytest.mark.parametrize("overlay", GPU_OVERLAYS)
def test_model_services_request_one_gpu_on_the_gpu_pool(renders: Renders, overlay: str) -> None:
    templates = {t.name: t for t in pod_templates(renders.overlay(overlay))}
    for service in MODEL_SERVING:
        template = templates[service]
        assert template.spec["nodeSelector"][POOL_LABEL] == "gpu", service
        assert {
            "key": GPU_TAINT_KEY,
            "operator": "Exists",
            "effect": "NoSchedule",
        } in template.spec["tolerations"], service
        assert gpus(template) == [(service, "1", "1")], service


@pytest.mark.parametrize("overlay", GPU_OVERLAYS)
def test_nothing_else_tolerates_the_gpu_taint_or_selects_the_pool(
    renders: Renders, overlay: str
) -> None:
    for template in pod_templates(renders.overlay(overlay)):
        if template.name in MODEL_SERVING:
            continue
        assert not tolerates_gpu_taint(template), template.name
        assert not selects_gpu_pool(template), template.name
        assert not gpus(template), template.name


@pytest.mark.parametrize("overlay", GPU_OVERLAYS)
def test_classify_serves_the_float_path_on_gpus(renders: Renders, overlay: str) -> None:
    assert config_map_data(renders.overlay(overlay), "classify-config")["CLASSIFY_FORWARD"] == (
        "float"
    )


@pytest.mark.parametrize("overlay", CPU_OVERLAYS)
def test_cpu_overlays_need_no_gpu_node(renders: Renders, overlay: str) -> None:
    for template in pod_templates(renders.overlay(overlay)):
        assert not tolerates_gpu_taint(template), template.name
        assert not selects_gpu_pool(template), template.name
        assert not gpus(template), template.name
    assert "CLASSIFY_FORWARD" not in config_map_data(renders.overlay(overlay), "classify-config")
