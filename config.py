"""Configuration classes, chosen by ``EXPERT_PLATFORM_ENV`` (development, testing, production).

Each class reads ``os.environ`` when it is instantiated, never at import time, so tests and the
CLI can set variables before building an app. ``create_app()`` loads a ``.env`` file first when one
exists (variables already set in the environment win).
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent

#: Secrets that appear in tutorials, examples and our own docs: production refuses all of them.
KNOWN_DEFAULT_SECRETS = frozenset(
    {
        "",
        "dev",
        "development",
        "secret",
        "secret-key",
        "secret_key",
        "changeme",
        "change-me",
        "change_me",
        "please-change-me",
        "your-secret-key",
        "not-a-secret",
        "testing",
        "test",
        "default",
    }
)
MINIMUM_SECRET_LENGTH = 32


class ConfigurationError(RuntimeError):
    """The environment describes a configuration the platform refuses to run with."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_int(name: str, default: int) -> int:
    raw = _env(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as error:
        raise ConfigurationError(f"{name} must be a whole number, not {raw!r}.") from error


def _env_bool(name: str, default: bool) -> bool:
    raw = _env(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigurationError(f"{name} must be true or false, not {raw!r}.")


def instance_path() -> Path:
    """The instance folder: ``INSTANCE_PATH`` or ``<project>/instance``."""
    return Path(_env("INSTANCE_PATH", str(PROJECT_ROOT / "instance"))).resolve()


def _development_secret(folder: Path) -> str:
    """A random secret kept in the instance folder, so sessions survive restarts of `make run`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


class Config:
    """Settings shared by every environment; values come from the environment when set."""

    ENV_NAME = "base"
    DEBUG = False
    TESTING = False

    def __init__(self) -> None:
        folder = instance_path()
        self.INSTANCE_PATH = str(folder)
        self.SECRET_KEY = _env("SECRET_KEY")
        self.BASE_URL = _env("BASE_URL", "http://127.0.0.1:5000").rstrip("/")

        # Database
        self.SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL", f"sqlite:///{folder / 'expert_platform.sqlite'}")
        self.SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
        if self.SQLALCHEMY_DATABASE_URI.startswith("postgresql"):
            # One connection per gunicorn thread of a worker, so no request waits for one; as many again for
            # bursts (the command line, a thread between two connections). Each app server then holds at most
            # WEB_CONCURRENCY x 2 x GUNICORN_THREADS connections: keep that under the server's max_connections.
            threads = _env_int("GUNICORN_THREADS", 1)
            self.SQLALCHEMY_ENGINE_OPTIONS.update(pool_size=threads, max_overflow=threads, pool_timeout=10)
        self.SQLITE_BUSY_TIMEOUT_MS = _env_int("SQLITE_BUSY_TIMEOUT_MS", 15_000)

        # Sessions and cookies
        self.SESSION_COOKIE_NAME = "ep_session"
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
        self.REMEMBER_COOKIE_NAME = "ep_remember"
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        # The issue caps remember-me at 14 days; a shorter value from the environment is allowed.
        self.REMEMBER_COOKIE_DURATION = timedelta(days=min(_env_int("REMEMBER_DAYS", 14), 14))
        self.PERMANENT_SESSION_LIFETIME = timedelta(hours=_env_int("SESSION_HOURS", 12))

        # CSRF: tokens live as long as the session, so a long writing session never loses a form.
        self.WTF_CSRF_TIME_LIMIT = None
        self.WTF_CSRF_SSL_STRICT = True

        # Request size limits (bytes): whole body, and the non-file part of a form.
        self.MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 2 * 1024 * 1024)
        self.MAX_FORM_MEMORY_SIZE = _env_int("MAX_FORM_MEMORY_SIZE", 1024 * 1024)
        self.MAX_FORM_PARTS = 1000

        # Annexes: PDFs kept outside the web root under random names. Only the upload route accepts
        # a body of ANNEX_MAX_BYTES (plus the form around the file); every other keeps MAX_CONTENT_LENGTH.
        self.UPLOAD_DIR = str(Path(_env("UPLOAD_DIR", str(folder / "uploads"))).resolve())
        self.ANNEX_MAX_BYTES = _env_int("ANNEX_MAX_BYTES", 10 * 1024 * 1024)

        # The archive's search index (Whoosh): one folder per generation and a CURRENT file.
        self.SEARCH_INDEX_DIR = str(Path(_env("SEARCH_INDEX_DIR", str(folder / "search-index"))).resolve())
        # "whoosh" (the default: an index folder on this server) or "postgres" (PostgreSQL's full-text
        # search in the database itself, for several application servers; needs a PostgreSQL DATABASE_URL).
        self.SEARCH_BACKEND = _env("SEARCH_BACKEND", "whoosh").strip().lower()

        # Consensus rounds: the share of the delegations asked that must answer for a standard round to
        # be endorsed at its deadline ("2/3", "3/4", "0.5"); a round keeps the quorum it opened with.
        self.CONSENSUS_QUORUM = _quorum(_env("CONSENSUS_QUORUM", "2/3"))

        # Accounts
        self.PASSWORD_MIN_LENGTH = 12
        self.PASSWORD_RESET_MINUTES = _env_int("PASSWORD_RESET_MINUTES", 60)
        self.EMAIL_CONFIRMATION_HOURS = _env_int("EMAIL_CONFIRMATION_HOURS", 48)
        # argon2id, above the OWASP floor (m=19 MiB, t=2, p=1): 64 MiB, 3 passes, 4 lanes.
        self.ARGON2_TIME_COST = _env_int("ARGON2_TIME_COST", 3)
        self.ARGON2_MEMORY_COST_KIB = _env_int("ARGON2_MEMORY_COST_KIB", 65_536)
        self.ARGON2_PARALLELISM = _env_int("ARGON2_PARALLELISM", 4)

        # Rate limits: memory:// counts per process; use redis://... when several workers serve.
        self.RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI", "memory://")
        self.RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", True)
        self.RATELIMIT_HEADERS_ENABLED = True
        self.LOGIN_FAILURES_PER_ACCOUNT_PER_MINUTE = _env_int("LOGIN_FAILURES_PER_ACCOUNT_PER_MINUTE", 5)
        self.LOGIN_FAILURES_PER_IP_PER_MINUTE = _env_int("LOGIN_FAILURES_PER_IP_PER_MINUTE", 20)
        self.WEB_CONCURRENCY = _env_int("WEB_CONCURRENCY", 1)
        # Number of reverse proxies in front of the app whose X-Forwarded-For is trusted.
        self.TRUSTED_PROXY_COUNT = _env_int("TRUSTED_PROXY_COUNT", 0)

        # Mail: "file" writes each message to the log and to MAIL_OUTBOX_DIR; "smtp" sends it.
        self.MAIL_BACKEND = _env("MAIL_BACKEND", "file")
        self.MAIL_OUTBOX_DIR = _env("MAIL_OUTBOX_DIR", str(folder / "outbox"))
        self.MAIL_DEFAULT_SENDER = _env("MAIL_DEFAULT_SENDER", "Expert Platform <no-reply@expert-platform.invalid>")
        self.MAIL_SERVER = _env("MAIL_SERVER", "localhost")
        self.MAIL_PORT = _env_int("MAIL_PORT", 25)
        self.MAIL_USERNAME = _env("MAIL_USERNAME")
        self.MAIL_PASSWORD = _env("MAIL_PASSWORD")
        self.MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", False)
        self.MAIL_USE_SSL = _env_bool("MAIL_USE_SSL", False)
        self.MAIL_TIMEOUT_SECONDS = _env_int("MAIL_TIMEOUT_SECONDS", 10)
        # Print message bodies (with their links) to the log: development only.
        self.MAIL_LOG_BODY = False

        # Internationalisation: the working languages, English (the default) and Russian
        # (expert_platform/translations; `make translations` extracts and updates the catalogue).
        self.BABEL_DEFAULT_LOCALE = "en"
        self.BABEL_DEFAULT_TIMEZONE = "UTC"
        self.LANGUAGES = ("en", "ru")

        self.HSTS_ENABLED = False
        self.PLATFORM_NAME = _env("PLATFORM_NAME", "Expert Platform")
        self.ORGANISATION_NAME = _env(
            "ORGANISATION_NAME", "Conference on Interaction and Confidence-Building Measures in Asia"
        )
        # The names as Russian pages and emails give them.
        self.PLATFORM_NAME_RU = _env("PLATFORM_NAME_RU", "Экспертная платформа")
        self.ORGANISATION_NAME_RU = _env(
            "ORGANISATION_NAME_RU", "Совещание по взаимодействию и мерам доверия в Азии"
        )
        self.LOG_LEVEL = _env("LOG_LEVEL", "INFO")
        # "json": one JSON object a line with request id, user id, path, status, duration (production's
        # default); "text": plain lines for a developer's terminal.
        self.LOG_FORMAT = _env("LOG_FORMAT", "json" if self.ENV_NAME == "production" else "text")
        if self.LOG_FORMAT not in ("json", "text"):
            raise ConfigurationError(f"LOG_FORMAT must be json or text, not {self.LOG_FORMAT!r}.")
        self.ALLOW_DEMO_DATA = True

    def validate(self) -> None:
        """Raise ConfigurationError when the settings are unsafe for this environment."""
        if not self.SECRET_KEY:
            raise ConfigurationError("SECRET_KEY is not set.")
        self.validate_search_backend()

    def validate_search_backend(self) -> None:
        if self.SEARCH_BACKEND not in ("whoosh", "postgres"):
            raise ConfigurationError(f"SEARCH_BACKEND must be whoosh or postgres, not {self.SEARCH_BACKEND!r}.")
        if self.SEARCH_BACKEND == "postgres" and not str(self.SQLALCHEMY_DATABASE_URI).startswith("postgresql"):
            raise ConfigurationError(
                "SEARCH_BACKEND=postgres searches with PostgreSQL's full-text search: DATABASE_URL must be a "
                "PostgreSQL database (postgresql+psycopg://...). Use SEARCH_BACKEND=whoosh with SQLite."
            )


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    DEBUG = False  # the interactive debugger stays off: `make run` may be reachable by others

    def __init__(self) -> None:
        super().__init__()
        if not self.SECRET_KEY:
            self.SECRET_KEY = _development_secret(Path(self.INSTANCE_PATH))
        self.MAIL_LOG_BODY = _env_bool("MAIL_LOG_BODY", True)


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True

    def __init__(self) -> None:
        super().__init__()
        self.SECRET_KEY = self.SECRET_KEY or secrets.token_urlsafe(32)
        self.BASE_URL = "http://platform.test"
        self.SERVER_NAME = None
        # Fast hashing in tests; production parameters are asserted separately.
        self.ARGON2_TIME_COST = 1
        self.ARGON2_MEMORY_COST_KIB = 256
        self.ARGON2_PARALLELISM = 1
        self.RATELIMIT_STORAGE_URI = "memory://"
        self.MAIL_BACKEND = "file"


def _quorum(text: str) -> str:
    """A fraction above 0 and at most 1, as written; ConfigurationError for anything else."""
    from fractions import Fraction

    try:
        value = Fraction(text.strip())
    except (ValueError, ZeroDivisionError) as error:
        raise ConfigurationError(f"CONSENSUS_QUORUM must be a fraction such as 2/3, not {text!r}.") from error
    if not 0 < value <= 1:
        raise ConfigurationError(f"CONSENSUS_QUORUM must be above 0 and at most 1, not {text!r}.")
    return text.strip()


class ProductionConfig(Config):
    ENV_NAME = "production"

    def __init__(self) -> None:
        super().__init__()
        self.SESSION_COOKIE_SECURE = True
        self.REMEMBER_COOKIE_SECURE = True
        self.PREFERRED_URL_SCHEME = "https"
        self.HSTS_ENABLED = True
        self.MAIL_BACKEND = _env("MAIL_BACKEND", "smtp")
        self.ALLOW_DEMO_DATA = False

    def validate(self) -> None:
        self.validate_search_backend()
        secret = (self.SECRET_KEY or "").strip()
        if not secret:
            raise ConfigurationError(
                "SECRET_KEY is not set. Production needs a long random secret, for example the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
            )
        if secret.lower() in KNOWN_DEFAULT_SECRETS or len(secret) < MINIMUM_SECRET_LENGTH:
            raise ConfigurationError(
                f"SECRET_KEY is a known default or shorter than {MINIMUM_SECRET_LENGTH} characters. "
                "Set a long random secret."
            )
        if self.RATELIMIT_STORAGE_URI.startswith("memory://") and self.WEB_CONCURRENCY > 1:
            raise ConfigurationError(
                "RATELIMIT_STORAGE_URI is memory:// but WEB_CONCURRENCY is "
                f"{self.WEB_CONCURRENCY}: each worker would count login failures alone. "
                "Set RATELIMIT_STORAGE_URI=redis://host:6379/0."
            )
        if not _env("BASE_URL"):
            raise ConfigurationError(
                "BASE_URL is not set. Production builds links in emails from it (never from the request's "
                "Host header): set it to the public address, for example https://experts.example.org."
            )


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def get_config(name: str | None = None) -> Config:
    """Instantiate the configuration named by ``name`` or ``EXPERT_PLATFORM_ENV`` (default development)."""
    chosen = (name or _env("EXPERT_PLATFORM_ENV", "development")).strip().lower()
    if chosen not in CONFIGS:
        raise ConfigurationError(
            f"EXPERT_PLATFORM_ENV={chosen!r} is not one of: {', '.join(sorted(CONFIGS))}."
        )
    return CONFIGS[chosen]()
