import json

from servicekit.grpc.client import _service_config


def test_retry_policy_names_only_the_idempotent_methods() -> None:
    config = json.loads(_service_config(["carepulse.v1.ClassifyService/Classify"]))

    (method_config,) = config["methodConfig"]
    assert method_config["name"] == [
        {"service": "carepulse.v1.ClassifyService", "method": "Classify"}
    ]
    policy = method_config["retryPolicy"]
    assert policy["retryableStatusCodes"] == ["UNAVAILABLE"]
    assert 1 < policy["maxAttempts"] <= 5


def test_no_retry_methods_means_no_retry_policy() -> None:
    assert json.loads(_service_config([])) == {}
