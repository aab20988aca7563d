"""The shipped alerting rules only name metrics the server really exports."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.helpers import Server

RULES = Path(__file__).resolve().parents[2] / "deploy" / "alerts.yml"


async def test_every_metric_an_alert_reads_is_exported(server: Server) -> None:
    exported = (await server.client.get("/metrics")).text
    families = set(re.findall(r"^# TYPE (\w+) ", exported, flags=re.MULTILINE))
    rules = [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    named = {
        re.sub(r"_(bucket|sum|count|total)$", "", name)
        for rule in rules
        for name in re.findall(r"\bexamvault_\w+", rule["expr"])
    }
    assert named, "the rules read examvault metrics"
    missing = {n for n in named if n not in families and f"{n}_total" not in families}
    assert not missing, f"alerts read metrics nobody exports: {sorted(missing)}"
