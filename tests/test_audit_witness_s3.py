"""The witness in S3-compatible object storage with Object Lock, against a real moto_server process
(the `moto[server]` test dependency) on a loopback port: entries are written as locked objects, a
locked entry cannot be deleted, and `agentledger audit verify` reads the witness from S3."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.support.processes import free_port
from tests.test_audit_witness import Audit, audit_env, fails_with, seal_ids, sealed, tamper, work

boto3 = pytest.importorskip("boto3", reason="the s3 extra: ./test installs it")
from botocore.exceptions import ClientError  # noqa: E402

BUCKET = "agentledger-witness"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "witness-test",
    "AWS_SECRET_ACCESS_KEY": "witness-test",
    "AWS_DEFAULT_REGION": "us-east-1",
}
STARTUP_SECONDS = 30.0


@pytest.fixture(scope="module")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`moto_server -p PORT` as a process: the endpoint URL, until the module's tests are done."""
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto_server.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert server.poll() is None, f"moto_server exited: {log.read_text()}"
            try:
                httpx.get(url, timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, f"moto_server did not answer: {log.read_text()}"
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(10)


def s3(endpoint: str):  # type: ignore[no-untyped-def]
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
    )


@pytest.fixture
def s3_audit(fresh_db: str, tmp_path: Path, moto_server: str, request: pytest.FixtureRequest) -> Audit:
    """agentledger audit with its witness in a new Object Lock bucket of moto_server."""
    bucket = f"{BUCKET}-{request.node.name.replace('_', '-')[-30:]}".lower().rstrip("-")
    s3(moto_server).create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    key = tmp_path / "keys" / "witness-key"
    env = audit_env(fresh_db, f"s3://{bucket}/bank/ledger", key)
    env.update(CREDENTIALS, AGENTLEDGER_S3_ENDPOINT=moto_server, AGENTLEDGER_WITNESS_RETENTION_DAYS="30")
    return Audit(fresh_db, tmp_path / "unused", key, env)


def bucket_of(audit: Audit) -> str:
    return audit.env["AGENTLEDGER_WITNESS"].removeprefix("s3://").split("/")[0]


def test_entries_are_locked_objects_that_cannot_be_deleted(s3_audit: Audit, moto_server: str) -> None:
    work(s3_audit.db)
    out = sealed(s3_audit)
    assert f"in s3://{bucket_of(s3_audit)}/bank/ledger" in out, out
    work(s3_audit.db, "de")
    sealed(s3_audit)

    client = s3(moto_server)
    bucket = bucket_of(s3_audit)
    versions = client.list_object_versions(Bucket=bucket, Prefix="bank/ledger/")["Versions"]
    assert sorted(v["Key"] for v in versions) == [
        f"bank/ledger/{seal_id:020d}.json" for seal_id in seal_ids(s3_audit.db)
    ]
    for version in versions:
        head = client.head_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])
        assert head["ObjectLockMode"] == "COMPLIANCE"
        retained = head["ObjectLockRetainUntilDate"]
        assert datetime.now(UTC) + timedelta(days=29) < retained < datetime.now(UTC) + timedelta(days=31)
        with pytest.raises(ClientError) as refused:
            client.delete_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])
        assert refused.value.response["Error"]["Code"] == "AccessDenied"
    body = client.get_object(Bucket=bucket, Key=versions[0]["Key"])["Body"].read()
    assert json.loads(body)["key_id"].startswith("ed25519:")

    done = s3_audit("verify")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 witnessed seals" in done.stdout, done.stdout


def test_verify_from_s3_finds_a_recomputed_history(s3_audit: Audit) -> None:
    ids = work(s3_audit.db)
    sealed(s3_audit)
    tamper(s3_audit.db, f"UPDATE ledger.audit_log SET actor = 'nobody' WHERE event_id = {ids[0]}")
    [seal_id] = seal_ids(s3_audit.db)
    fails_with(s3_audit, f"the audit rows of witnessed seal {seal_id} ", "no longer hash to its witnessed digest")


def test_a_bucket_without_object_lock_is_refused(s3_audit: Audit, moto_server: str) -> None:
    s3(moto_server).create_bucket(Bucket="agentledger-unlocked")
    work(s3_audit.db)
    done = s3_audit("seal", AGENTLEDGER_WITNESS="s3://agentledger-unlocked/x")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "the bucket agentledger-unlocked has no Object Lock" in done.stderr, done.stderr
