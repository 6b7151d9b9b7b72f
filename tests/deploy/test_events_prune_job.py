"""deploy/kubernetes: the daily retention job exists, may reach PostgreSQL, and prunes."""

from __future__ import annotations

import asyncio

import asyncpg

from tests.conftest import temporary_database
from tests.deploy.test_kubernetes import deployed, env_names, pod_spec
from tests.events.rows import event
from waitless.cli import main
from waitless.domain.event_fields import EVENT_ID
from waitless.events.log import EventLog
from waitless.events.spool import Spool


def test_events_are_pruned_daily_by_a_cron_job_that_prunes(tmp_path, monkeypatch,
                                                           capsys) -> None:
    """Retention (docs/privacy.md) needs `waitless events prune` every day: without the
    CronJob, nothing in this deployment deleted an event, ever."""
    prune = deployed()[("CronJob", "waitless-events-prune")]
    minute, hour, day, month, weekday = prune["spec"]["schedule"].split()
    assert (day, month, weekday) == ("*", "*", "*") and minute.isdigit() and hour.isdigit()
    assert prune["spec"].get("suspend") is not True
    assert prune["spec"]["concurrencyPolicy"] == "Forbid"
    assert 60 <= prune["spec"]["jobTemplate"]["spec"]["ttlSecondsAfterFinished"] <= 600
    (container,) = pod_spec(prune)["containers"]
    assert container["args"] == ["waitless", "events", "prune"]
    assert "WAITLESS_DATABASE_URL" in env_names(container)
    # The retention period is the deployment's: WAITLESS_EVENT_RETENTION_DAYS set in waitless-env
    # (where the API, which prunes its quarantine by it, reads it) must reach the job too.
    # Before, the job read no settings and deleted at the default 400 days whatever was set.
    assert {"configMapRef": {"name": "waitless-env"}} in container.get("envFrom", [])
    jobs_policy = deployed()[("NetworkPolicy", "waitless-jobs")]
    (selected,) = jobs_policy["spec"]["podSelector"]["matchExpressions"]
    assert "events-prune" in selected["values"]
    assert {5432} <= {p["port"] for rule in jobs_policy["spec"]["egress"]
                      for p in rule["ports"]}

    old, new = event(1, occurred_at="2024-01-01T10:00:00+00:00"), event(2)
    for dsn in temporary_database("k8sprune"):
        async def record(dsn: str = dsn) -> None:
            log = EventLog(dsn, Spool(tmp_path / "spool", max_bytes=10**6))
            await log.start()
            log.record(old)
            log.record(new)
            await log.stop()

        async def remaining(dsn: str = dsn) -> list[str]:
            conn = await asyncpg.connect(dsn)
            try:
                return [r["id"] for r in await conn.fetch(
                    "SELECT event_id::text AS id FROM ranking_events")]
            finally:
                await conn.close()

        monkeypatch.setenv("WAITLESS_DATABASE_URL", dsn)
        monkeypatch.setenv("WAITLESS_SPOOL_DIR", str(tmp_path / "spool"))
        assert main(["events", "migrate"]) == 0
        asyncio.run(record())
        assert main(container["args"][1:]) == 0
        assert asyncio.run(remaining()) == [new[EVENT_ID]]
    assert "deleted 1 ranking events" in capsys.readouterr().out
