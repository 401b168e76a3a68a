"""The metric-name lexer the catalogue checks rely on reads real expressions right."""

import pytest

from tests.observability.promql import metric_names, vector_selectors


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        (
            'sum by (le, route) (rate(a_bucket{route!="/v1/alerts/stream"}[$__rate_interval]))',
            {"a_bucket"},
        ),
        (
            "x:y:ratio_rate1h > (14.4 * 0.005) and b_total offset 1w",
            {"x:y:ratio_rate1h", "b_total"},
        ),
        ('sum(rate(c[5m])) / ignoring(code) group_left sum(d{code!="OK"})', {"c", "d"}),
        ('count(up{job=~"a|b"} == 0) or vector(0)', {"up"}),
        ("topk(10, sum by (intent) (rate(e_total[1h])))", {"e_total"}),
        ('ALERTS{alertstate="firing"}', {"ALERTS"}),
        ("1 - f:g:h / 0.005e1", {"f:g:h"}),
    ],
)
def test_metric_names_finds_every_selected_metric_and_nothing_else(
    expr: str, names: set[str]
) -> None:
    assert metric_names(expr) == names


def test_vector_selectors_keep_matchers_and_drop_ranges_offsets_and_groupings() -> None:
    expr = (
        'sum by (job) (rate(a_total{code=~"5..", path="/x{y}"}[5m] offset 1w))'
        ' / on (job) group_left sum by (job) (b) > 0 unless c{d="e"}'
    )
    assert {str(s) for s in vector_selectors(expr)} == {
        'a_total{code=~"5..", path="/x{y}"}',
        "b",
        'c{d="e"}',
    }
