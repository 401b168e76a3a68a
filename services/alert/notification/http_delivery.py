"""One HTTP POST of a notification, and what its answer means for retrying."""

import httpx

from services.alert.notification.notifier import DeliveryOutcome, DeliveryResult

# Worth another try later: timeouts, throttling, the receiver's own faults.
_RETRYABLE_STATUS = {408, 425, 429}


def post_notification(
    client: httpx.Client, url: str, body: bytes, headers: dict[str, str]
) -> DeliveryResult:
    try:
        response = client.post(url, content=body, headers=headers)
    except httpx.TransportError as error:
        # The exception's class says enough (ConnectError, ReadTimeout ...); its text may
        # carry the URL, which can hold a token.
        return DeliveryResult(DeliveryOutcome.RETRYABLE, type(error).__name__)
    return result_of(response)


def result_of(response: httpx.Response) -> DeliveryResult:
    status = response.status_code
    if 200 <= status < 300:
        return DeliveryResult(DeliveryOutcome.DELIVERED)
    detail = f"HTTP {status}"
    if status in _RETRYABLE_STATUS or status >= 500:
        return DeliveryResult(DeliveryOutcome.RETRYABLE, detail, _retry_after_s(response))
    return DeliveryResult(DeliveryOutcome.REJECTED, detail)


def _retry_after_s(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else None  # the HTTP-date form is not worth parsing
