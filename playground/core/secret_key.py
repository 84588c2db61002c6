"""The app's one persistent secret, and the keyed hashes it makes of tokens.

The secret lives in `<data_dir>/secret.key` (mode 600), created on first start and kept across
restarts, so the identities behind browser cookies survive a restart. Tokens (browser cookies,
annotator log-ins) are never stored: the database holds HMAC-SHA256(secret, purpose:token), so a
copy of the database alone does not let anyone act as a user.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import tempfile
from pathlib import Path

SECRET_FILE = "secret.key"
SECRET_BYTES = 32


def load_or_create_secret(data_dir: Path) -> bytes:
    """Read the data dir's secret, creating it (mode 600, never overwritten) if it is missing.

    Replicas sharing a data dir may all start at once: the secret is written whole to a private
    file first and then linked into place, so no replica ever reads a half-written one, and the
    link fails for all but the first (their own secret is dropped; everyone reads the winner's).
    """
    path = data_dir / SECRET_FILE
    if not path.exists():
        _create_whole(path)
    value = bytes.fromhex(path.read_text(encoding="ascii").strip())
    if len(value) < 16:
        raise ValueError(f"{path} holds no usable secret; delete it to make a new one")
    os.chmod(path, 0o600)
    return value


def _create_whole(path: Path) -> None:
    descriptor, draft = tempfile.mkstemp(dir=path.parent, prefix=".secret-")  # mode 600
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(secrets.token_bytes(SECRET_BYTES).hex())
        # Atomic, and never replaces an existing file: if another process linked its secret
        # first, this one's is dropped.
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
    finally:
        os.unlink(draft)


def token_hash(secret: bytes, purpose: str, token: str) -> str:
    """64 hex characters naming `token` for `purpose` ("browser", "login") without revealing it."""
    return hmac.new(secret, f"{purpose}:{token}".encode(), hashlib.sha256).hexdigest()


def new_token() -> str:
    """A fresh 256-bit token, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)
