"""Server settings: defaults, then a TOML file, then ASSIST_* environment variables, then flags.

Nothing here is read at import time; `load_settings` is called by the CLI and the
result is passed into the server, so tests build settings explicitly.
"""

from __future__ import annotations

import json
import os
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import AssistError


class ConfigError(AssistError):
    """A settings file or variable that cannot be used."""


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 1_048_576        # one REST body or Socket.IO batch
    max_batch: int = 500                   # events in one batch
    events_per_second: float = 500.0       # per source, sustained
    burst: int = 1000                      # per source, bucket size
    max_open_conversations: int = 50_000   # per process
    panel_queue: int = 2000                # packets waiting for one panel before it is dropped
    signature_age: int = 300               # seconds a REST signature stays valid


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    db: str = "var/assist.sqlite3"
    store: str = ""                        # postgresql://... for several processes; empty: SQLite at `db`
    store_schema: str = "public"
    redis: str = ""                        # redis://... : several processes share the work (needs `store`)
    lease_seconds: float = 10.0            # how long a dead process keeps its conversations
    phrasebooks: tuple[str, ...] = ()
    secret: str = ""                       # token signing key; generated beside the db when empty
    sources: Mapping[str, str] = field(default_factory=dict)  # ingest source name -> secret
    retain_days: float = 30.0
    ended_grace: float = 900.0             # seconds an ended chat stays in memory (late feedback)
    widget_dir: str = ""                   # built panel bundles (default: widget/dist beside the package)
    frame_ancestors: str = "'self'"        # CSP: which console origins may put /panel in an iframe
    watch_phrasebooks: bool = True         # hot reload: apply phrasebook edits without a restart
    webhooks: Mapping[str, str] = field(default_factory=dict)  # outgoing: URL -> signing secret
    webhook_events: str = "escalation"      # which prompts go out: escalation (supervisor), critical, prompts (all)
    webhook_backoff: float = 2.0           # seconds before the first retry; doubles, at most an hour
    webhook_attempts: int = 12             # then the delivery is marked failed (kept in the outbox table)
    redact: bool = False                   # replace e-mails, card and phone numbers in chat text before use
    mappings_dir: str = "mappings"         # mapping files for /integrations/webhook/<name>
    chatwoot_app_key: str = ""            # the Chatwoot Dashboard App's key (empty: the app is off)
    chatwoot_require_signature: bool = True  # refuse unsigned Chatwoot webhooks (Chatwoot < 4.12 cannot sign)
    limits: Limits = field(default_factory=Limits)

    @property
    def var_dir(self) -> Path:
        return Path(self.db).resolve().parent


ENV_PREFIX = "ASSIST_"


def _coerce(name: str, value: Any, kind: type) -> Any:
    try:
        if kind is bool:
            return str(value).lower() in ("1", "true", "yes", "on")
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name!r}: {value!r} is not a valid {kind.__name__}") from exc


def _apply(base: Any, values: Mapping[str, Any], where: str) -> Any:
    known = {f.name: f for f in fields(base)}
    changes: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"{where}: unknown setting {key!r}; known: {', '.join(sorted(known))}")
        current = getattr(base, key)
        if isinstance(current, Limits):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{where}: 'limits' must be a table")
            changes[key] = _apply(current, value, f"{where} [limits]")
        elif key in ("sources", "webhooks"):
            if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
                what = "source names" if key == "sources" else "webhook URLs"
                raise ConfigError(f"{where}: '{key}' must map {what} to secret strings")
            changes[key] = dict(value)
        elif key == "phrasebooks":
            items = value.split(os.pathsep) if isinstance(value, str) else value
            changes[key] = tuple(str(v) for v in items)
        else:
            changes[key] = _coerce(f"{where}: {key}", value, type(current))
    return replace(base, **changes)


def load_settings(config: str | Path | None = None, env: Mapping[str, str] | None = None,
                  **flags: Any) -> Settings:
    """Defaults < TOML file < environment < command-line flags (None flags are skipped)."""
    settings = Settings()
    if config is not None:
        path = Path(config)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        settings = _apply(settings, data.get("server", data), str(path))
    env = os.environ if env is None else env
    from_env: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    limit_names = {f.name for f in fields(Limits)}
    for key, value in env.items():
        if not key.startswith(ENV_PREFIX):
            continue
        name = key[len(ENV_PREFIX):].lower()
        if name == "sources":  # ASSIST_SOURCES="console:s3cret,chatwoot:other"
            pairs = [p.split(":", 1) for p in value.split(",") if p.strip()]
            if any(len(p) != 2 for p in pairs):
                raise ConfigError("ASSIST_SOURCES must look like 'name:secret,other:secret2'")
            from_env["sources"] = {k.strip(): v.strip() for k, v in pairs}
        elif name == "webhooks":  # ASSIST_WEBHOOKS="https://a.example/hook|secret;https://b.example/x|other"
            hooks = [p.rsplit("|", 1) for p in value.split(";") if p.strip()]
            if any(len(h) != 2 or not h[0].strip().startswith(("http://", "https://")) for h in hooks):
                raise ConfigError("ASSIST_WEBHOOKS must look like 'https://host/path|secret;https://other|secret2'")
            from_env["webhooks"] = {u.strip(): k.strip() for u, k in hooks}
        elif name in limit_names:
            limits[name] = value
        elif name in {f.name for f in fields(Settings)}:
            from_env[name] = value
    if limits:
        from_env["limits"] = limits
    settings = _apply(settings, from_env, "environment")
    settings = _apply(settings, {k: v for k, v in flags.items() if v is not None}, "command line")
    assert isinstance(settings, Settings)
    return settings


def ensure_secrets(settings: Settings) -> Settings:
    """Fill an empty token secret and empty source list from `<var>/secrets.json`, creating it once.

    So that `assist serve` alone works, and `assist token` made in the same directory
    signs with the same key.
    """
    if settings.secret and len(settings.secret.encode()) < 32:
        raise ConfigError("the token secret must be at least 32 bytes (HS256); "
                          "set a longer ASSIST_SECRET or 'secret' in the config file")
    if settings.secret and settings.sources:
        return settings
    path = settings.var_dir / "secrets.json"
    stored: dict[str, Any] = {}
    if path.exists():
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path} is not readable JSON; delete it to make new secrets") from exc
    changed = False
    if "secret" not in stored:
        stored["secret"], changed = secrets.token_urlsafe(32), True
    if "sources" not in stored:
        stored["sources"], changed = {"default": secrets.token_urlsafe(24)}, True
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(stored, indent=2), encoding="utf-8")
        path.chmod(0o600)
    return replace(settings, secret=settings.secret or stored["secret"],
                   sources=settings.sources or stored["sources"])
