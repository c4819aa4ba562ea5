"""Structured JSON logs (structlog) with run / order context and secret redaction.

Every event passes through :class:`RedactSecrets` last-but-one: any configured secret (the
Tiger private key, its base64 body, the account id) is replaced by ``<redacted>`` in every
string value, and keys that name secrets are masked whatever their value.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterable
from typing import Any

_SECRET_KEYS = ("private_key", "secret", "password", "token", "license_key")


class RedactSecrets:
    """structlog processor: scrub ``secrets`` (and their PEM lines) from every value."""

    def __init__(self, secrets: Iterable[str] = ()):
        parts: set[str] = set()
        for s in secrets:
            s = (s or "").strip()
            if len(s) < 6:
                continue
            parts.add(s)
            # a PEM key also leaks line by line (a traceback may print one line of it)
            parts.update(line.strip() for line in s.splitlines()
                         if len(line.strip()) >= 16 and "-----" not in line)
        self.secrets = sorted(parts, key=len, reverse=True)
        self._masked_keys: dict[str, bool] = {}  # key -> names a secret (keys repeat a lot)

    def scrub(self, text: str) -> str:
        for s in self.secrets:  # a handful of secrets: `in` is a fast C scan
            if s in text:
                text = text.replace(s, "<redacted>")
        return text

    def _value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, dict):  # nested keys are masked by name too
            return self(None, "", value)
        if isinstance(value, list | tuple):
            return [self._value(v) for v in value]
        if isinstance(value, int | float | bool) or value is None:
            return value
        return self.scrub(str(value))

    def __call__(self, logger: Any, method: str, event: dict) -> dict:
        masked = self._masked_keys
        out = {}
        for k, v in event.items():
            m = masked.get(k)
            if m is None:
                m = any(t in k.lower() for t in _SECRET_KEYS)
                if len(masked) < 4096:
                    masked[k] = m
            out[k] = "<redacted>" if m else self._value(v)
        return out


def make_logger(run_id: str, *, secrets: Iterable[str] = (), stream: io.TextIOBase | None = None,
                **context: Any) -> Any:
    """A structlog logger writing one JSON object per line to ``stream`` (default stderr),
    bound to ``run_id`` and ``context``, with secrets redacted. Independent of structlog's
    global configuration (nothing else in the process is affected)."""
    import structlog

    stream = stream if stream is not None else sys.stderr
    redact = RedactSecrets(secrets)
    logger = structlog.wrap_logger(
        structlog.PrintLogger(stream),
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact,
            structlog.processors.JSONRenderer(sort_keys=True, default=str),
        ],
    )
    return logger.bind(run_id=run_id, **context)
