"""Building tigeropen's client configuration from qlab settings, and nothing else.

``TigerOpenClientConfig`` reads ``TIGEROPEN_*`` environment variables, a
``tiger_openapi_config.properties`` and a ``tiger_openapi_token.properties`` from the current
directory before anything the caller sets. A stray file or variable could silently point a
"paper" process at a live account, so :func:`build_client_config` switches those loaders off
and then sets every field explicitly from :class:`research.config.TigerSettings`.

The private key is held only inside the SDK's config object; :class:`SecretRedactor` scrubs it
(and the account id) from every text this package writes to logs or puts into exceptions.
"""

from __future__ import annotations

import base64
import logging
import re
from pathlib import Path
from typing import Any

from research.config import TigerSettings

#: Sentinel: keep tigeropen's built-in production public key for response verification.
TIGER_PRODUCTION_PUBLIC_KEY = "tiger-production"

_PEM_LINE = re.compile(r"-----(BEGIN|END)[A-Z ]*-----")


class TigerConfigError(ValueError):
    """Tiger settings are incomplete or unusable (the message never contains a secret)."""


def is_paper_account(account: str) -> bool:
    """Whether Tiger treats ``account`` as a paper (simulated) account.

    The rule is tigeropen's own, not ours: ``tigeropen.common.util.account_util.AccountUtil.
    is_paper_account`` (an all-digit id at least 17 digits long; the SDK's config uses it to
    pick the paper domains). Delegating keeps qlab's idea of "paper" the SDK's, whatever
    version is installed.
    """
    from tigeropen.common.util.account_util import AccountUtil

    return bool(AccountUtil.is_paper_account(account))


def private_key_body(settings: TigerSettings) -> str:
    """The private key as one base64 string (DER, PKCS#1 or PKCS#8), as tigeropen signs with.

    Read from ``settings.private_key`` (PEM text or bare base64) or else from the file at
    ``settings.private_key_path``. The key is parsed once here so that a truncated or mangled
    key fails at start-up with a message that names the setting, not the key.
    """
    text = settings.private_key.get_secret_value().strip()
    where = "tiger.private_key"
    if not text and settings.private_key_path is not None:
        path = Path(settings.private_key_path)
        where = f"tiger.private_key_path ({path})"
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise TigerConfigError(f"{where}: cannot read the key file: {exc.strerror}") from None
    if not text:
        raise TigerConfigError(
            "Tiger private key missing: set tiger.private_key (QLAB_TIGER__PRIVATE_KEY) or "
            "tiger.private_key_path (QLAB_TIGER__PRIVATE_KEY_PATH)"
        )
    body = "".join(line.strip() for line in _PEM_LINE.sub("\n", text).splitlines())
    try:
        from cryptography.hazmat.primitives import serialization

        serialization.load_der_private_key(base64.b64decode(body, validate=True), password=None)
    except Exception:  # noqa: BLE001 - any parse failure means the same thing to the user
        raise TigerConfigError(
            f"{where}: not a usable RSA private key (expected PEM or base64 DER, PKCS#1 or "
            "PKCS#8, without a passphrase)"
        ) from None
    return body


def _isolated_config_class() -> type:
    from tigeropen.tiger_open_config import TigerOpenClientConfig

    class IsolatedTigerConfig(TigerOpenClientConfig):
        """tigeropen's config with its environment, properties-file and token-file loaders off."""

        def _load_env_vars(self) -> None:
            return None

        def _load_props(self) -> None:
            return None

        def load_token(self) -> None:
            return None

        def store_token(self, token: Any) -> None:
            return None

        def __repr__(self) -> str:
            return f"IsolatedTigerConfig(tiger_id={self.tiger_id!r}, server_url={self.server_url!r})"

    return IsolatedTigerConfig


def build_client_config(
    settings: TigerSettings,
    *,
    tiger_public_key: str | None = TIGER_PRODUCTION_PUBLIC_KEY,
    retry_max_tries: int = 0,
) -> Any:
    """A ``TigerOpenClientConfig`` built only from ``settings``.

    ``enable_dynamic_domain=False`` so the SDK neither calls Tiger's domain service nor rewrites
    the URLs; both ``server_url`` and ``quote_server_url`` are set (assigning one does not
    update the other in the SDK). ``tiger_public_key`` verifies response signatures: the
    default keeps Tiger's production key, a test gateway passes its own, ``None`` disables the
    check. ``retry_max_tries=0`` turns the SDK's own read retries off: the execution engine
    retries idempotent calls itself, with backoff, through the adapter's rate limiter.
    """
    if not settings.tiger_id:
        raise TigerConfigError("tiger.tiger_id is empty (QLAB_TIGER__TIGER_ID)")
    account = settings.account.get_secret_value()
    if not account:
        raise TigerConfigError("tiger.account is empty (QLAB_TIGER__ACCOUNT)")
    key = private_key_body(settings)

    from tigeropen.common.consts import Language

    config = _isolated_config_class()(enable_dynamic_domain=False, props_path=None)
    config.props_path = None  # no token file is read or written anywhere
    config.tiger_id = settings.tiger_id
    config.account = account
    config.license = settings.license
    config.private_key = key
    config.secret_key = ""
    config.token = None
    config.token_refresh_duration = 0
    config.server_url = settings.server_url
    config.quote_server_url = settings.quote_server_url
    config.timeout = settings.timeout_s
    config.language = Language.en_US
    config.retry_max_tries = int(retry_max_tries)
    config.retry_max_time = max(settings.timeout_s * 2, 1.0)
    config.log_level = None
    config.log_path = None
    if tiger_public_key != TIGER_PRODUCTION_PUBLIC_KEY:
        config.tiger_public_key = tiger_public_key
    return config


class SecretRedactor:
    """Replaces every secret (private key, its PEM lines, the account id) in a text."""

    def __init__(self, secrets: list[str]):
        parts: set[str] = set()
        for s in secrets:
            if not s:
                continue
            parts.add(s)
            # PEM files wrap the base64 body at 64 characters; any line would identify the key
            parts.update(s[i : i + 64] for i in range(0, len(s), 64) if len(s[i : i + 64]) >= 16)
        self._parts = sorted(parts, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for p in self._parts:
            if p in text:
                text = text.replace(p, "<redacted>")
        return text


class RedactingFilter(logging.Filter):
    """A logging filter that scrubs secrets from the message and any formatted traceback."""

    def __init__(self, redactor: SecretRedactor):
        super().__init__()
        self.redactor = redactor
        self._fmt = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redactor(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = self.redactor(self._fmt.formatException(record.exc_info))
            record.exc_info = None
        return True


def sdk_logger(name: str, redactor: SecretRedactor) -> logging.Logger:
    """A logger for tigeropen's own messages (it logs request bodies at DEBUG), redacted."""
    log = logging.getLogger(name)
    if not any(isinstance(f, RedactingFilter) for f in log.filters):
        log.addFilter(RedactingFilter(redactor))
    else:
        for f in log.filters:
            if isinstance(f, RedactingFilter):
                f.redactor = redactor
    return log
