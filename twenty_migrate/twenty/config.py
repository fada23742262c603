"""Settings: where Twenty is, the API key, and the tool's knobs.

Precedence, highest first: explicit arguments > environment variables > a ``.env`` file >
defaults. There is no module-level mutable configuration; :class:`Settings` is a frozen
value and its ``repr`` masks the API key.

Environment variables:

================================  ==============================================  ==========
variable                          meaning                                         default
================================  ==============================================  ==========
``TWENTY_API_URL``                workspace URL, e.g. ``https://api.twenty.com``  none
``TWENTY_API_KEY``                API key (Settings → APIs & Webhooks in Twenty)  none
``TWENTY_MIGRATE_RUNS_DIR``       where run journals go                ``twenty_migrate_runs``
``TWENTY_MIGRATE_BATCH_SIZE``     most records per write call                     server cap
``TWENTY_MIGRATE_TIMEOUT``        HTTP timeout in seconds                         30
``TWENTY_MIGRATE_SHORT_LIMIT``    calls per short window (the server's budget)    100
``TWENTY_MIGRATE_SHORT_TTL_MS``   short window length in ms                       1000
``TWENTY_MIGRATE_LONG_LIMIT``     calls per long window                           100
``TWENTY_MIGRATE_LONG_TTL_MS``    long window length in ms                        60000
``TWENTY_MIGRATE_SANDBOX``        ``1`` makes ``connect()`` use the sandbox       off
``TWENTY_MIGRATE_CACHE_DIR``      what the client learned of each server          user cache
================================  ==============================================  ==========
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import httpx

from twenty_migrate.twenty.errors import ConfigError
from twenty_migrate.twenty.ratelimit import RateLimit

__all__ = [
    "DEFAULT_ENV_FILE",
    "DEFAULT_RUNS_DIR",
    "DEFAULT_TIMEOUT",
    "ENV_VARS",
    "Settings",
    "mask_secret",
    "normalize_base_url",
    "read_env_file",
]

DEFAULT_ENV_FILE = ".env"
DEFAULT_RUNS_DIR = "twenty_migrate_runs"
DEFAULT_TIMEOUT = 30.0

ENV_VARS: dict[str, str] = {
    "base_url": "TWENTY_API_URL",
    "api_key": "TWENTY_API_KEY",
    "runs_dir": "TWENTY_MIGRATE_RUNS_DIR",
    "batch_size": "TWENTY_MIGRATE_BATCH_SIZE",
    "timeout": "TWENTY_MIGRATE_TIMEOUT",
    "short_limit": "TWENTY_MIGRATE_SHORT_LIMIT",
    "short_ttl_ms": "TWENTY_MIGRATE_SHORT_TTL_MS",
    "long_limit": "TWENTY_MIGRATE_LONG_LIMIT",
    "long_ttl_ms": "TWENTY_MIGRATE_LONG_TTL_MS",
    "sandbox": "TWENTY_MIGRATE_SANDBOX",
}
"""Settings field -> environment variable."""

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_API_SUFFIXES = ("/graphql", "/metadata", "/rest")


def mask_secret(secret: str | None) -> str | None:
    """``'…abcd'``: the last four characters of a long secret, nothing of a short one."""
    if secret is None:
        return None
    return "…" + secret[-4:] if len(secret) >= 16 else "…"


def normalize_base_url(url: str) -> str:
    """Check a workspace URL and return it without a trailing slash or API path.

    ``https://api.twenty.com/rest/`` -> ``https://api.twenty.com``.

    Raises:
        ConfigError: The URL is not ``http(s)://host[:port][/path]``.
    """
    text = url.strip()
    hint = (
        "Set TWENTY_API_URL (or pass base_url=) to your workspace URL, e.g. https://api.twenty.com"
    )
    try:
        parsed = httpx.URL(text)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ConfigError(f"The Twenty base URL {text!r} is not a valid URL. {hint}") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigError(
            f"The Twenty base URL {text!r} must start with http:// or https:// and name a "
            f"host. {hint}"
        )
    if parsed.query or parsed.fragment or parsed.userinfo:
        raise ConfigError(
            f"The Twenty base URL {text!r} must not carry a query, fragment or credentials. {hint}"
        )
    text = text.rstrip("/")
    for suffix in _API_SUFFIXES:
        if text.endswith(suffix):
            text = text[: -len(suffix)]
    return text.rstrip("/")


def read_env_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """Parse a ``.env`` file: ``KEY=VALUE`` lines, ``export`` prefixes, quotes and comments.

    Single-quoted values are literal; double-quoted values understand ``\\n``, ``\\t``,
    ``\\"`` and ``\\\\``; unquoted values end at `` #``. Blank lines and ``#`` lines are skipped.

    Raises:
        ConfigError: A line is not ``KEY=VALUE`` (the message gives the line number, never
            the line, which may hold a secret).
    """
    result: dict[str, str] = {}
    lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not _KEY_RE.fullmatch(key):
            raise ConfigError(
                f"{path}, line {number}: expected KEY=VALUE. Fix or remove that line "
                "(lines starting with # are comments)."
            )
        try:
            result[key] = _env_value(value.strip())
        except ValueError as exc:
            raise ConfigError(f"{path}, line {number}: {exc}. Close the quote.") from None
    return result


def _env_value(value: str) -> str:
    if value[:1] in ("'", '"'):
        quote = value[0]
        end = _closing_quote(value, quote)
        if end < 0:
            raise ValueError(f"unterminated {quote} quote")
        inner = value[1:end]
        rest = value[end + 1 :].strip()
        if rest and not rest.startswith("#"):
            raise ValueError("unexpected text after the closing quote")
        if quote == "'":
            return inner
        escapes = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
        return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(0)), inner)
    comment = re.search(r"\s#", value)
    return (value[: comment.start()] if comment else value).strip()


def _closing_quote(value: str, quote: str) -> int:
    index = 1
    while index < len(value):
        if value[index] == "\\" and quote == '"':
            index += 2
            continue
        if value[index] == quote:
            return index
        index += 1
    return -1


@dataclass(frozen=True, repr=False)
class Settings:
    """Everything twenty_migrate needs to know about where and how to talk to Twenty.

    Build it with :meth:`from_env`; construct it directly only in tests.

    Attributes:
        base_url: Workspace base URL, without ``/graphql`` or ``/rest``.
        api_key: The API key; never shown by ``repr``/``str`` (``'…abcd'``).
        runs_dir: Directory for run journals.
        batch_size: Most records per write call. None (the default): as many as the
            server takes (its ``QUERY_MAX_RECORDS``, which the importer calibrates on its
            first write call); a number is never exceeded.
        timeout: HTTP timeout in seconds.
        short_limit, short_ttl_ms, long_limit, long_ttl_ms: The server's throttle budget
            when it differs from Twenty's defaults (None = default).
        sandbox: Force :func:`twenty_migrate.twenty.client.connect` to use the local sandbox.
    """

    base_url: str | None = None
    api_key: str | None = None
    runs_dir: str = DEFAULT_RUNS_DIR
    batch_size: int | None = None
    timeout: float = DEFAULT_TIMEOUT
    short_limit: int | None = None
    short_ttl_ms: int | None = None
    long_limit: int | None = None
    long_ttl_ms: int | None = None
    sandbox: bool = False

    def __post_init__(self) -> None:
        if self.base_url is not None:
            object.__setattr__(self, "base_url", normalize_base_url(self.base_url))
        if self.api_key is not None:
            key = self.api_key.strip()
            if key.lower().startswith("bearer "):
                key = key[len("bearer ") :].strip()
            if not key or any(ch.isspace() or ord(ch) < 32 for ch in key):
                raise ConfigError(
                    "The API key is empty or contains spaces or control characters. Copy it "
                    "again from Twenty (Settings → APIs & Webhooks) into TWENTY_API_KEY."
                )
            object.__setattr__(self, "api_key", key)
        _check_positive("timeout", self.timeout)
        for name in ("batch_size", "short_limit", "short_ttl_ms", "long_limit", "long_ttl_ms"):
            value = getattr(self, name)
            if value is not None:
                _check_positive(name, value)

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            parts.append(f"{f.name}={mask_secret(value) if f.name == 'api_key' else value!r}")
        return f"Settings({', '.join(parts)})"

    __str__ = __repr__

    @classmethod
    def from_env(
        cls,
        env_file: str | os.PathLike[str] | None = DEFAULT_ENV_FILE,
        *,
        environ: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> Settings:
        """Gather settings: explicit ``overrides`` > environment > ``env_file`` > defaults.

        Args:
            env_file: A ``.env`` file to read, or None to read none. A missing default
                ``.env`` is ignored; a missing file named explicitly is an error.
            environ: The environment to read (default ``os.environ``).
            **overrides: Field values; None means "not given".

        Raises:
            ConfigError: An unknown setting, a malformed value or file.

        Example:
            >>> Settings.from_env(None, environ={}, base_url="https://api.twenty.com/rest/")
            Settings(base_url='https://api.twenty.com', api_key=None, ...)
        """
        unknown = set(overrides) - set(ENV_VARS)
        if unknown:
            raise ConfigError(f"Unknown setting(s) {sorted(unknown)}; known: {sorted(ENV_VARS)}.")
        environ = os.environ if environ is None else environ
        file_values: dict[str, str] = {}
        if env_file is not None:
            path = Path(env_file)
            if path.is_file():
                file_values = read_env_file(path)
            elif os.fspath(env_file) != DEFAULT_ENV_FILE:
                raise ConfigError(
                    f"The env file {os.fspath(env_file)!r} does not exist. Create it with "
                    "TWENTY_API_URL=... and TWENTY_API_KEY=... lines, or pass env_file=None."
                )
        values: dict[str, Any] = {}
        for name, var in ENV_VARS.items():
            if overrides.get(name) is not None:
                values[name] = overrides[name]
            elif environ.get(var, "").strip():
                values[name] = _convert(name, var, environ[var])
            elif file_values.get(var, "").strip():
                values[name] = _convert(name, var, file_values[var])
        return cls(**values)

    def require_connection(self) -> tuple[str, str]:
        """The base URL and API key, or a ConfigError that says how to provide them."""
        if not self.api_key:
            raise ConfigError(
                "No Twenty API key. Create one in Twenty (Settings → APIs & Webhooks) and set "
                "TWENTY_API_KEY in the environment or in a .env file, or pass api_key=... "
                "(tm.connect() without a key opens the local sandbox instead)."
            )
        if not self.base_url:
            raise ConfigError(
                "No Twenty base URL. Set TWENTY_API_URL in the environment or in a .env file "
                "(https://api.twenty.com for Twenty Cloud, or your own domain), or pass "
                "base_url=..."
            )
        return self.base_url, self.api_key

    def rate_limit(self) -> RateLimit:
        """The throttle budget to respect: Twenty's defaults with any configured overrides."""
        default = RateLimit()
        return RateLimit(
            short_limit=self.short_limit or default.short_limit,
            short_window=self.short_ttl_ms / 1000 if self.short_ttl_ms else default.short_window,
            long_limit=self.long_limit or default.long_limit,
            long_window=self.long_ttl_ms / 1000 if self.long_ttl_ms else default.long_window,
        )


def _check_positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigError(
            f"Setting {name} must be a positive number, got {value!r}. "
            f"Fix {ENV_VARS[name]} or the {name}= argument."
        )


def _convert(name: str, var: str, raw: str) -> Any:
    """Turn an environment string into the field's type."""
    text = raw.strip()
    if name in ("base_url", "api_key", "runs_dir"):
        return text
    if name == "sandbox":
        if text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
        raise ConfigError(f"{var} must be 1/0, true/false, yes/no or on/off, got {text!r}.")
    try:
        return float(text) if name == "timeout" else int(text)
    except ValueError:
        kind = "number" if name == "timeout" else "whole number"
        raise ConfigError(f"{var} must be a positive {kind}, got {text!r}.") from None
