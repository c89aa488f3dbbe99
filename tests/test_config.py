"""Settings: defaults < TOML file < ASSIST_* environment < flags, with clear errors."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from assist.config import ConfigError, ensure_secrets, load_settings
from assist.signing import check, sign
from assist.tokens import TokenError, make_token, read_token


def test_layers_apply_in_order(tmp_path: Path) -> None:
    toml = tmp_path / "assist.toml"
    toml.write_text('[server]\nport = 9000\nhost = "0.0.0.0"\nretain_days = 7\n'
                    '[server.limits]\nevents_per_second = 50\n[server.sources]\nconsole = "abc"\n')
    settings = load_settings(toml, env={"ASSIST_PORT": "9100", "ASSIST_BURST": "20"}, db="x.sqlite3")
    assert (settings.host, settings.port, settings.db, settings.retain_days) == ("0.0.0.0", 9100, "x.sqlite3", 7.0)
    assert settings.limits.events_per_second == 50 and settings.limits.burst == 20
    assert settings.sources == {"console": "abc"}


def test_sources_from_the_environment() -> None:
    settings = load_settings(env={"ASSIST_SOURCES": "console:s3cret, chatwoot:other"})
    assert settings.sources == {"console": "s3cret", "chatwoot": "other"}
    with pytest.raises(ConfigError, match="name:secret"):
        load_settings(env={"ASSIST_SOURCES": "nocolon"})


@pytest.mark.parametrize(("text", "words"), [
    ("[server]\nprot = 1\n", "unknown setting 'prot'"),
    ("[server]\nport = 'eighty'\n", "'eighty' is not a valid int"),
    ("[server\n", "assist.toml"),
])
def test_bad_files_say_what_is_wrong(tmp_path: Path, text: str, words: str) -> None:
    toml = tmp_path / "assist.toml"
    toml.write_text(text)
    with pytest.raises(ConfigError, match=words):
        load_settings(toml, env={})


def test_secrets_are_made_once_and_reused(tmp_path: Path) -> None:
    settings = load_settings(env={}, db=str(tmp_path / "var" / "a.sqlite3"))
    first = ensure_secrets(settings)
    again = ensure_secrets(settings)
    assert first.secret == again.secret and len(first.secret) >= 32 and "default" in first.sources
    stored = json.loads((tmp_path / "var" / "secrets.json").read_text())
    assert stored["secret"] == first.secret
    with pytest.raises(ConfigError, match="at least 32 bytes"):
        ensure_secrets(load_settings(env={"ASSIST_SECRET": "short"}, db=str(tmp_path / "b.sqlite3")))


def test_tokens_carry_agent_role_and_expiry() -> None:
    key = "k" * 40
    now = time.time()
    ident = read_token(key, make_token(key, "a-1", ttl=60, now=now), now=now)
    assert (ident.agent, ident.role) == ("a-1", "agent")
    with pytest.raises(TokenError, match="expired"):
        read_token(key, make_token(key, "a-1", ttl=60, now=now - 120), now=now)
    with pytest.raises(TokenError, match="signature"):
        read_token(key, make_token("x" * 40, "a-1", now=now), now=now)
    with pytest.raises(TokenError, match="supervisor token"):
        read_token(key, make_token(key, "a-1", now=now), now=now, role="supervisor")


def test_request_signatures() -> None:
    body = b'{"a": 1}'
    good = sign("s", "100", body)
    assert check("s", "100", body, good, now=150, max_age=300) is None
    assert "bad signature" in (check("s", "100", body + b" ", good, now=150, max_age=300) or "")
    assert "clock" in (check("s", "100", body, good, now=1000, max_age=300) or "")
    assert "missing" in (check("s", None, body, good, now=150, max_age=300) or "")


def test_outgoing_webhooks_from_the_environment() -> None:
    from assist.config import ConfigError, load_settings

    settings = load_settings(env={"ASSIST_WEBHOOKS": "https://a.example/hook|s1;http://b.example:9/x|s2",
                                  "ASSIST_WEBHOOK_EVENTS": "escalation,critical"})
    assert settings.webhooks == {"https://a.example/hook": "s1", "http://b.example:9/x": "s2"}
    assert settings.webhook_events == "escalation,critical"
    import pytest

    with pytest.raises(ConfigError, match="ASSIST_WEBHOOKS must look like"):
        load_settings(env={"ASSIST_WEBHOOKS": "ftp://nope"})
