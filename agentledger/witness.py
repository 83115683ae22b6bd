"""The witness: copies of the audit seals, signed, kept where the database cannot reach.

Each seal of `ledger.audit_seals` becomes one witness entry: its range of audit rows (first and
last seq, row count), its digest and the digest of the seal before it, the sha256 of the previous
entry (so the witness is a chain of its own), when it was witnessed, the id of the public key and
an Ed25519 signature over all of that. The private key is a file the database never sees
(`AGENTLEDGER_WITNESS_KEY`); it is made on first use, mode 0600, and never printed.

Where the entries go (`AGENTLEDGER_WITNESS`):
- a directory (the default, `.agentledger/witness`): one file per entry, created once with
  O_EXCL and never rewritten, mode 0600, in a directory of mode 0700;
- `s3://bucket/prefix`: one object per entry in S3-compatible object storage, written with
  Object Lock in COMPLIANCE mode until a retain-until date, so nobody, the bucket's owner
  included, can delete or overwrite it before then. The endpoint and credentials come from the
  usual AWS variables, or `AGENTLEDGER_S3_ENDPOINT`.

See docs/operations.md, "The witness", for what it proves and what it cannot.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import stat
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from agentledger.errors import AgentledgerError, UsageError

WITNESS_ENV = "AGENTLEDGER_WITNESS"
KEY_ENV = "AGENTLEDGER_WITNESS_KEY"
PUBLIC_KEY_ENV = "AGENTLEDGER_WITNESS_PUBLIC_KEY"
S3_ENDPOINT_ENV = "AGENTLEDGER_S3_ENDPOINT"
RETENTION_ENV = "AGENTLEDGER_WITNESS_RETENTION_DAYS"
DEFAULT_WITNESS = ".agentledger/witness"
DEFAULT_KEY = ".agentledger/witness-key"
DEFAULT_RETENTION_DAYS = 2557  # seven years
FORMAT = "agentledger-witness-1"
ENTRY_NAME = re.compile(r"^([0-9]{20})\.json$")
FIELDS = frozenset(
    {
        "format",
        "seal_id",
        "first_seq",
        "last_seq",
        "row_count",
        "digest",
        "prev_digest",
        "prev_entry",
        "witnessed_at",
        "key_id",
        "signature",
    }
)


class EntryExists(AgentledgerError):
    """Another sealer wrote this entry first."""


class WitnessProblem(AgentledgerError):
    """The witness itself is not what the sealer wrote: an entry altered, removed or foreign."""


# Keys ---------------------------------------------------------------------------------------------


def key_path() -> Path:
    return Path(os.environ.get(KEY_ENV) or DEFAULT_KEY)


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


def load_or_create_key(path: Path) -> tuple[Ed25519PrivateKey, bool]:
    """The private key kept in path, made there (mode 0600, its directory 0700 when missing) when
    the file does not exist yet; whether it was made now."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_private_key(path), False
    except FileNotFoundError:
        raise UsageError(f"cannot create the witness key {path}: its directory does not exist") from None
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with os.fdopen(fd, "wb") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(pem)
        f.flush()
        os.fsync(f.fileno())
    return key, True


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"no witness key at {path}: set {KEY_ENV} to the key file the sealer uses") from None
    except OSError as exc:
        raise UsageError(f"cannot read the witness key {path}: {exc.strerror or exc}") from None
    if mode & 0o077:
        raise UsageError(f"the witness key {path} may be read by other users (mode {mode:04o}): chmod 600 {path}")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise UsageError(f"{path} does not hold an Ed25519 private key in PEM")
    return key


def trusted_public_key() -> Ed25519PublicKey:
    """The key entries must be signed with: AGENTLEDGER_WITNESS_PUBLIC_KEY (a PEM public key, for
    an auditor who does not hold the private key), else the public half of the private key."""
    public_file = os.environ.get(PUBLIC_KEY_ENV)
    if not public_file:
        return load_private_key(key_path()).public_key()
    try:
        key = serialization.load_pem_public_key(Path(public_file).read_bytes())
    except OSError as exc:
        raise UsageError(f"cannot read {PUBLIC_KEY_ENV}={public_file}: {exc.strerror or exc}") from None
    except ValueError:
        key = None
    if not isinstance(key, Ed25519PublicKey):
        raise UsageError(f"{PUBLIC_KEY_ENV}={public_file} does not hold an Ed25519 public key in PEM")
    return key


def public_pem(public: Ed25519PublicKey) -> str:
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


# Entries ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seal:
    """A seal as api.list_seals answers it (digests in hex)."""

    id: int
    first_seq: int
    last_seq: int
    row_count: int
    prev_digest: str | None
    digest: str


@dataclass(frozen=True)
class Entry:
    format: str
    seal_id: int
    first_seq: int
    last_seq: int
    row_count: int
    digest: str
    prev_digest: str | None
    prev_entry: str | None
    witnessed_at: str
    key_id: str
    signature: str

    @property
    def name(self) -> str:
        return entry_name(self.seal_id)

    def signed_part(self) -> bytes:
        fields = asdict(self)
        del fields["signature"]
        return canonical(fields)

    def encoded(self) -> bytes:
        return canonical(asdict(self)) + b"\n"

    def sha256(self) -> str:
        """What the next entry names as its prev_entry."""
        return hashlib.sha256(canonical(asdict(self))).hexdigest()

    def describe(self) -> str:
        rows = "1 row" if self.row_count == 1 else f"{self.row_count} rows"
        return f"seal {self.seal_id} (audit rows {self.first_seq} to {self.last_seq}, {rows})"


def entry_name(seal_id: int) -> str:
    return f"{seal_id:020d}.json"


def canonical(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def make_entry(seal: Seal, previous: Entry | None, key: Ed25519PrivateKey) -> Entry:
    unsigned = Entry(
        FORMAT,
        seal.id,
        seal.first_seq,
        seal.last_seq,
        seal.row_count,
        seal.digest,
        seal.prev_digest,
        previous.sha256() if previous else None,
        datetime.now(UTC).isoformat(timespec="microseconds"),
        key_id(key.public_key()),
        "",
    )
    signature = base64.b64encode(key.sign(unsigned.signed_part())).decode()
    return Entry(**{**asdict(unsigned), "signature": signature})


def parse_entry(name: str, data: bytes, public: Ed25519PublicKey) -> Entry:
    """An entry read back, its signature checked with the trusted key."""
    try:
        fields = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise WitnessProblem(f"witness entry {name} is not JSON: it was altered") from None
    if not isinstance(fields, dict) or set(fields) != FIELDS or fields.get("format") != FORMAT:
        raise WitnessProblem(f"witness entry {name} is not an entry of {FORMAT}: it was altered")
    ints = ("seal_id", "first_seq", "last_seq", "row_count")
    texts = ("digest", "witnessed_at", "key_id", "signature")
    if (
        not all(type(fields[f]) is int for f in ints)
        or not all(isinstance(fields[f], str) for f in texts)
        or not all(fields[f] is None or isinstance(fields[f], str) for f in ("prev_digest", "prev_entry"))
    ):
        raise WitnessProblem(f"witness entry {name} has a field of the wrong type: it was altered")
    entry = Entry(**fields)
    if entry.name != name:
        raise WitnessProblem(f"witness entry {name} holds seal {entry.seal_id}: it was renamed or altered")
    if entry.key_id != key_id(public):
        raise WitnessProblem(
            f"witness entry {name} is signed by key {entry.key_id}, not by the trusted key {key_id(public)}"
        )
    try:
        public.verify(base64.b64decode(entry.signature, validate=True), entry.signed_part())
    except (InvalidSignature, ValueError):
        raise WitnessProblem(f"the signature of witness entry {name} does not verify: the entry was altered") from None
    return entry


# Where entries are kept ---------------------------------------------------------------------------


class Witness(Protocol):
    description: str

    def names(self, after: str | None = None) -> list[str]:
        """The names of the entries, in order (after `after`, when given)."""

    def read(self, name: str) -> bytes: ...

    def append(self, name: str, data: bytes) -> None:
        """Write a new entry; EntryExists when one of that name is there already."""

    def exists(self) -> bool: ...

    def prepare(self) -> None:
        """Make it ready for appending (create the directory; check the bucket's Object Lock)."""

    def lock(self) -> contextlib.AbstractContextManager[None]:
        """Held while a sealer appends, so two sealers on one host take turns."""


def open_witness(location: str | None = None) -> Witness:
    location = location or os.environ.get(WITNESS_ENV) or DEFAULT_WITNESS
    if location.startswith("s3://"):
        return S3Witness(location)
    if "://" in location:
        raise UsageError(f"{WITNESS_ENV}={location}: a witness is a directory or s3://bucket/prefix")
    return LocalWitness(Path(location))


class LocalWitness:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = str(path)

    def exists(self) -> bool:
        return self.path.is_dir()

    def prepare(self) -> None:
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        mode = stat.S_IMODE(self.path.stat().st_mode)
        if mode & 0o022:
            raise UsageError(
                f"the witness directory {self.path} may be written by other users (mode {mode:04o}): chmod 700 {self.path}"
            )

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        fd = os.open(self.path / ".lock", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def names(self, after: str | None = None) -> list[str]:
        try:
            found = sorted(n for n in os.listdir(self.path) if ENTRY_NAME.match(n))
        except FileNotFoundError:
            raise UsageError(f"the witness directory {self.path} does not exist") from None
        return [n for n in found if after is None or n > after]

    def read(self, name: str) -> bytes:
        return (self.path / name).read_bytes()

    def append(self, name: str, data: bytes) -> None:
        # Written to a temporary file, then linked under its name: the name appears whole or not at
        # all, and never replaces an entry (link fails when the name exists).
        temporary = self.path / f".{name}.{secrets.token_hex(4)}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(temporary, self.path / name)
            except FileExistsError:
                raise EntryExists(f"witness entry {name} exists already") from None
        finally:
            temporary.unlink(missing_ok=True)
        directory = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


class S3Witness:
    """Entries as objects under s3://bucket/prefix, each locked in COMPLIANCE mode."""

    def __init__(self, location: str) -> None:
        bucket, _, prefix = location[len("s3://") :].partition("/")
        if not bucket:
            raise UsageError(f"{WITNESS_ENV}={location}: name a bucket, s3://bucket/prefix")
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.description = location
        try:
            import boto3
        except ImportError:
            raise UsageError("an s3:// witness needs boto3: pip install 'agentledger[s3]'") from None
        self.client = boto3.client("s3", endpoint_url=os.environ.get(S3_ENDPOINT_ENV) or None)
        days = os.environ.get(RETENTION_ENV) or str(DEFAULT_RETENTION_DAYS)
        if not days.isdigit() or int(days) < 1:
            raise UsageError(f"{RETENTION_ENV}={days}: a whole number of days, at least 1")
        self.retention = timedelta(days=int(days))

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def _errors(self) -> contextlib.AbstractContextManager[None]:
        return _s3_errors(self.description)

    def exists(self) -> bool:
        with self._errors():
            self.client.head_bucket(Bucket=self.bucket)
        return True

    def prepare(self) -> None:
        from botocore.exceptions import ClientError

        with self._errors():
            try:
                config = self.client.get_object_lock_configuration(Bucket=self.bucket)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ObjectLockConfigurationNotFoundError":
                    raise
                config = {}
        if config.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") != "Enabled":
            raise UsageError(
                f"the bucket {self.bucket} has no Object Lock: its witness entries could be deleted; "
                "use a bucket created with Object Lock enabled"
            )

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        yield  # two sealers cannot both write one entry: each put asks If-None-Match: *

    def names(self, after: str | None = None) -> list[str]:
        prefix = self._key("")
        options: dict[str, str] = {"Bucket": self.bucket, "Prefix": prefix}
        if after is not None:
            options["StartAfter"] = self._key(after)
        names = []
        with self._errors():
            for page in self.client.get_paginator("list_objects_v2").paginate(**options):
                for item in page.get("Contents", []):
                    name = item["Key"][len(prefix) :]
                    if ENTRY_NAME.match(name):
                        names.append(name)
        return sorted(names)

    def read(self, name: str) -> bytes:
        with self._errors():
            return bytes(self.client.get_object(Bucket=self.bucket, Key=self._key(name))["Body"].read())

    def append(self, name: str, data: bytes) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self._key(name),
                Body=data,
                ContentType="application/json",
                ObjectLockMode="COMPLIANCE",
                ObjectLockRetainUntilDate=datetime.now(UTC) + self.retention,
                IfNoneMatch="*",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise EntryExists(f"witness entry {name} exists already") from None
            raise AgentledgerError(f"{self.description}: writing {name} failed: {exc}") from None


@contextlib.contextmanager
def _s3_errors(description: str) -> Iterator[None]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        raise AgentledgerError(f"{description}: {exc}") from None
    except BotoCoreError as exc:
        raise AgentledgerError(f"{description}: {exc}") from None


def read_entries(witness: Witness, public: Ed25519PublicKey) -> list[Entry]:
    """Every entry, its signature checked, and the chain of entries checked from the first."""
    entries: list[Entry] = []
    for name in witness.names():
        entry = parse_entry(name, witness.read(name), public)
        check_follows(entry, entries[-1] if entries else None)
        entries.append(entry)
    return entries


def check_follows(entry: Entry, previous: Entry | None) -> None:
    """entry must come right after previous in the witness (previous None: the first entry)."""
    if previous is None:
        if entry.prev_entry is not None or entry.prev_digest is not None:
            raise WitnessProblem(
                f"the first witness entry, {entry.name}, follows another one: earlier entries were removed"
            )
        return
    if entry.prev_entry != previous.sha256():
        raise WitnessProblem(
            f"witness entry {entry.name} does not follow entry {previous.name}: an entry between them was removed or altered"
        )
    if entry.prev_digest != previous.digest or entry.first_seq <= previous.last_seq:
        raise WitnessProblem(
            f"witness entry {entry.name} does not continue the seal of entry {previous.name}: the entry was altered"
        )
