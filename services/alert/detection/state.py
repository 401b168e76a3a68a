"""Reading detector states back from JSON: a malformed state fails loudly (ValueError), so
the caller relearns the series instead of running on garbage."""


def number(value: object) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    return float(value)


def integer(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"expected an integer, got {value!r}")
    return value


def pair(value: object) -> list[float]:
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError("expected a pair of numbers")
    return [number(value[0]), number(value[1])]


def pairs(value: object, length: int) -> list[list[float]]:
    if not isinstance(value, list) or len(value) != length:
        raise ValueError(f"expected {length} seasonal slots")
    return [pair(item) for item in value]
