"""The worker example of the documentation (docs/worker-protocol.md, "Workers in Python") runs as
written: its Python module, started with its command."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess

from tests.support import databases
from tests.support.docs import section
from tests.support.workers import sql, statuses, wait_until

SECTION = section("Workers in Python")
VENV_BIN = databases.REPO_ROOT / ".venv" / "bin"


def test_the_readme_agent_decides_and_acts(fresh_db, login_as, tmp_path):
    module, inline = re.findall(r"```python\n(.*?)```", SECTION, flags=re.DOTALL)
    (tmp_path / "triage.py").write_text(module)
    [command] = re.findall(r"```sh\n(.*?)```", SECTION, flags=re.DOTALL)
    words = shlex.split(command)
    assert words[0].startswith("DATABASE_URL=") and words[1:] == [
        ".venv/bin/agentledger",
        "worker",
        "--app",
        "triage:worker",
    ], command
    worker_dsn = login_as(fresh_db, "agentledger_worker")
    ids = [
        r[0]
        for r in sql(
            fresh_db,
            """SELECT id FROM api.submit_events('[
        {"customer_id": "c1", "event_type": "fraud_alert", "payload": {"country": "FR", "card_country": "FR"}},
        {"customer_id": "c2", "event_type": "fraud_alert", "payload": {"country": "BR", "card_country": "FR"}}]')""",
        )
    ]
    process = subprocess.Popen(
        [str(VENV_BIN / "agentledger"), *words[2:]],
        cwd=tmp_path,
        env={**os.environ, "DATABASE_URL": worker_dsn},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until(lambda: statuses(fresh_db) == {"completed": 2}, 30, "both alerts handled")
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0]
    assert process.returncode == 0, output
    trail = sql(
        fresh_db,
        """SELECT event_id, string_agg(to_status::text, ' ' ORDER BY seq),
                                    (array_agg(details ORDER BY seq DESC))[1]
                               FROM ledger.audit_log GROUP BY event_id ORDER BY event_id""",
    )
    assert trail == [
        (ids[0], "queued processing approved completed", {"card": "left open"}),
        (ids[1], "queued processing rejected completed", {"card": "blocked", "score": 0.9}),
    ]
    assert "fraud-triage-1" in output and "claimed" in output
    assert "await ctx.decide(ctx.approve(" in inline
