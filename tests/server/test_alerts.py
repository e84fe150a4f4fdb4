"""deploy/prometheus/alerts.yml: valid rules, only metrics /metrics really serves, and
(with promtool) each alert fires on the traffic it is for."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from post001.server import metrics

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
RULES = DEPLOY / "alerts.yml"
#: Series Prometheus makes itself (not served by post001).
PROMETHEUS_OWN = {"up"}
_PROMQL_WORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "offset", "bool", "sum", "min", "max", "avg", "count", "rate", "irate", "increase",
    "histogram_quantile", "time", "abs", "le", "inf", "nan",
}


def served_names() -> set[str]:
    """Every series name /metrics can carry, from the families it describes."""
    names = set()
    body, _ = metrics.exposition()
    for family in text_string_to_metric_families(body.decode()):
        names.add(family.name)
        suffixes = {"counter": ("_total", "_created"),
                    "histogram": ("_bucket", "_sum", "_count", "_created"),
                    "summary": ("_sum", "_count", "_created")}.get(family.type, ())
        names.update(family.name + s for s in suffixes)
    return names


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers outside label matchers,
    durations, strings and grouping clauses that are not functions or keywords."""
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)       # strings
    text = re.sub(r"\{[^}]*\}", " ", text)                 # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)                # ranges
    text = re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\boffset\s+\w+", " ", text)
    found = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        word = match.group(0)
        after = text[match.end():].lstrip()
        if word.lower() in _PROMQL_WORDS or after.startswith("("):
            continue
        found.add(word)
    return found


def rules() -> list[dict[str, object]]:
    data = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in data["groups"] for rule in group["rules"]]


def test_the_rules_cover_the_seeds_alerts() -> None:
    by_name = {str(r["alert"]): r for r in rules()}
    assert {"Post001ErrorRateCritical", "Post001ErrorRateWarning",
            "Post001DatabaseConnectionFailures", "Post001LatencyRegression",
            "Post001AutoSaveFailures"} <= set(by_name)
    critical, warning = by_name["Post001ErrorRateCritical"], by_name["Post001ErrorRateWarning"]
    assert (critical["for"], critical["labels"]) == ("5m", {"severity": "critical"})
    assert (warning["for"], warning["labels"]) == ("15m", {"severity": "warning"})
    assert "> 0.05" in str(critical["expr"]) and "> 0.02" in str(warning["expr"])
    for rule in rules():
        assert rule["labels"]["severity"] in ("critical", "warning")  # type: ignore[index]
        assert rule["annotations"]["summary"]  # type: ignore[index]


def test_every_metric_the_rules_use_is_served() -> None:
    served = served_names()
    used: dict[str, set[str]] = {str(r["alert"]): metric_names(str(r["expr"])) for r in rules()}
    assert all(used.values())
    missing = {alert: sorted(names - served - PROMETHEUS_OWN)
               for alert, names in used.items() if names - served - PROMETHEUS_OWN}
    assert missing == {}


def test_the_name_finder_finds_names() -> None:
    """The check above is only as good as this parser."""
    assert metric_names('sum(rate(a_total{x="y{z}"}[5m])) / sum by (le) (b_bucket '
                        "offset 1d) > 0.05 and on(job) up == 0") == {"a_total", "b_bucket", "up"}


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("POST001_REQUIRE_PROMTOOL") == "1":
            pytest.fail("promtool is not installed (.ci/run installs Debian's prometheus)")
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    return found


def test_promtool_checks_and_unit_tests_the_rules() -> None:
    tool = promtool()
    check = subprocess.run([tool, "check", "rules", str(RULES)], capture_output=True,
                           text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    test = subprocess.run([tool, "test", "rules", "alerts.test.yml"], cwd=DEPLOY,
                          capture_output=True, text=True, check=False)
    assert test.returncode == 0, test.stdout + test.stderr
