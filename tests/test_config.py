"""Settings precedence, the .env parser, validation and secret masking."""

from __future__ import annotations

import pytest

from twenty_migrate.twenty.config import (
    ENV_VARS,
    Settings,
    mask_secret,
    normalize_base_url,
    read_env_file,
)
from twenty_migrate.twenty.errors import ConfigError
from twenty_migrate.twenty.ratelimit import RateLimit

KEY = "eyJhbGciOiJIUzI1NiJ9.payload.signature-wxyz"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for var in ENV_VARS.values():
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults():
    settings = Settings.from_env()
    assert settings.base_url is None and settings.api_key is None
    assert settings.runs_dir == "twenty_migrate_runs"
    assert settings.batch_size is None  # as many as the server takes, calibrated
    assert settings.rate_limit() == RateLimit()
    assert settings.sandbox is False


def test_precedence_explicit_over_env_over_file_over_default(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text(
        "TWENTY_API_URL=https://file.example.com\n"
        "TWENTY_API_KEY=file-key-000000000000\n"
        "TWENTY_MIGRATE_RUNS_DIR=file-runs\n"
        "TWENTY_MIGRATE_BATCH_SIZE=30\n"
    )
    monkeypatch.setenv("TWENTY_API_KEY", "env-key-0000000000000")
    monkeypatch.setenv("TWENTY_MIGRATE_RUNS_DIR", "env-runs")
    settings = Settings.from_env(runs_dir="explicit-runs")
    assert settings.runs_dir == "explicit-runs"  # explicit
    assert settings.api_key == "env-key-0000000000000"  # environment
    assert settings.base_url == "https://file.example.com"  # .env file
    assert settings.batch_size == 30
    assert settings.timeout == 30.0  # default
    assert Settings.from_env(env_file=None).base_url is None


def test_none_and_empty_values_do_not_count(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("TWENTY_API_KEY=file-key-000000000000\n")
    monkeypatch.setenv("TWENTY_API_KEY", "  ")
    assert Settings.from_env(api_key=None).api_key == "file-key-000000000000"


def test_explicit_environ_mapping():
    settings = Settings.from_env(
        None, environ={"TWENTY_MIGRATE_LONG_LIMIT": "50", "TWENTY_MIGRATE_SANDBOX": "yes"}
    )
    assert settings.rate_limit() == RateLimit(long_limit=50)
    assert settings.sandbox is True


def test_rate_limit_settings():
    settings = Settings.from_env(
        None,
        environ={
            "TWENTY_MIGRATE_SHORT_LIMIT": "10",
            "TWENTY_MIGRATE_SHORT_TTL_MS": "2000",
            "TWENTY_MIGRATE_LONG_LIMIT": "50",
            "TWENTY_MIGRATE_LONG_TTL_MS": "30000",
        },
    )
    assert settings.rate_limit() == RateLimit(10, 2.0, 50, 30.0)


def test_env_file_syntax(tmp_path):
    path = tmp_path / "x.env"
    path.write_text(
        r"""# a comment

PLAIN=value
export EXPORTED=yes
SPACED = spaced value  
INLINE=abc # trailing comment
HASH=abc#not-a-comment
SINGLE='lit $HOME \n'
DOUBLE="line\nnext \"q\" # kept"  # comment
EMPTY=
EQUALS=a=b=c
"""
    )
    assert read_env_file(path) == {
        "PLAIN": "value",
        "EXPORTED": "yes",
        "SPACED": "spaced value",
        "INLINE": "abc",
        "HASH": "abc#not-a-comment",
        "SINGLE": "lit $HOME \\n",
        "DOUBLE": 'line\nnext "q" # kept',
        "EMPTY": "",
        "EQUALS": "a=b=c",
    }


@pytest.mark.parametrize(
    "line",
    ["just some words", "BAD KEY=1", 'OPEN="never closed', "X='a' trailing", "=value"],
)
def test_malformed_env_file_lines(tmp_path, line):
    path = tmp_path / ".env"
    path.write_text(f"OK=1\n{line}\n")
    with pytest.raises(ConfigError, match="line 2") as info:
        Settings.from_env()
    assert line not in str(info.value)  # the line may hold a secret


def test_missing_env_file():
    assert Settings.from_env(".env").api_key is None  # the default name may be absent
    with pytest.raises(ConfigError, match="does not exist"):
        Settings.from_env("prod.env")


def test_key_is_masked_everywhere():
    settings = Settings.from_env(None, base_url="https://api.twenty.com", api_key=KEY)
    for text in (repr(settings), str(settings), f"{settings}"):
        assert KEY not in text
        assert "api_key='…wxyz'" in text
    assert mask_secret("short-key") == "…"
    assert mask_secret(None) is None


def test_key_is_cleaned_and_checked():
    assert Settings(api_key=f"  Bearer {KEY} ").api_key == KEY
    for bad in ("", "   ", "two words", "line\nbreak"):
        with pytest.raises(ConfigError, match="API key") as info:
            Settings(api_key=bad)
        assert bad.strip() == "" or bad not in str(info.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.twenty.com", "https://api.twenty.com"),
        ("https://api.twenty.com/", "https://api.twenty.com"),
        ("https://api.twenty.com/rest/", "https://api.twenty.com"),
        ("https://crm.example.com/graphql", "https://crm.example.com"),
        ("http://localhost:3000", "http://localhost:3000"),
        ("https://example.com/twenty/", "https://example.com/twenty"),
    ],
)
def test_base_url_normalised(url, expected):
    assert normalize_base_url(url) == expected
    assert Settings(base_url=url).base_url == expected


@pytest.mark.parametrize(
    "url",
    [
        "api.twenty.com",
        "ftp://api.twenty.com",
        "https://",
        "https://x.com/?a=1",
        "https://u:p@x.com",
    ],
)
def test_malformed_base_url(url):
    with pytest.raises(ConfigError, match="TWENTY_API_URL"):
        Settings(base_url=url)


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("TWENTY_MIGRATE_BATCH_SIZE", "lots"),
        ("TWENTY_MIGRATE_BATCH_SIZE", "0"),
        ("TWENTY_MIGRATE_TIMEOUT", "-1"),
        ("TWENTY_MIGRATE_LONG_LIMIT", "1.5"),
        ("TWENTY_MIGRATE_SANDBOX", "maybe"),
    ],
)
def test_malformed_numbers(monkeypatch, var, value):
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError, match=var):
        Settings.from_env()


def test_unknown_override():
    with pytest.raises(ConfigError, match="Unknown setting"):
        Settings.from_env(api_url="https://x.com")


def test_require_connection_says_what_to_do():
    with pytest.raises(ConfigError, match="TWENTY_API_KEY"):
        Settings().require_connection()
    with pytest.raises(ConfigError, match="TWENTY_API_URL"):
        Settings(api_key=KEY).require_connection()
    assert Settings(base_url="https://a.com", api_key=KEY).require_connection() == (
        "https://a.com",
        KEY,
    )
