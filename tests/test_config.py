"""Configuration comes from the environment; production refuses unsafe settings with a clear message."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import config as configuration
import expert_platform
from config import PROJECT_ROOT, ConfigurationError, DevelopmentConfig, get_config
from expert_platform import create_app

GOOD_SECRET = "k" * 20 + "R3aLlY-r4nd0m-and-long-enough"


@pytest.fixture
def production_env(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", GOOD_SECRET)
    monkeypatch.setenv("BASE_URL", "https://experts.example.org")
    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    return monkeypatch


def test_the_environment_name_picks_the_class(monkeypatch):
    assert isinstance(get_config(), DevelopmentConfig)
    monkeypatch.setenv("EXPERT_PLATFORM_ENV", "testing")
    assert isinstance(get_config(), configuration.TestingConfig)
    monkeypatch.setenv("EXPERT_PLATFORM_ENV", "staging")
    with pytest.raises(ConfigurationError, match="'staging' is not one of: development, production, testing"):
        get_config()


def test_settings_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://someone@db.internal/platform")
    monkeypatch.setenv("MAX_CONTENT_LENGTH", "12345")
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "yes")
    settings = get_config("development")
    assert settings.SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://someone@db.internal/platform"
    assert settings.MAX_CONTENT_LENGTH == 12345
    assert settings.SESSION_COOKIE_SECURE is True
    monkeypatch.setenv("MAX_CONTENT_LENGTH", "lots")
    with pytest.raises(ConfigurationError, match="MAX_CONTENT_LENGTH must be a whole number, not 'lots'"):
        get_config("development")


def test_the_default_database_is_a_sqlite_file_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    assert f"sqlite:///{tmp_path / 'expert_platform.sqlite'}" == get_config("development").SQLALCHEMY_DATABASE_URI


def test_remember_me_can_be_shortened_but_never_longer_than_fourteen_days(monkeypatch):
    monkeypatch.setenv("REMEMBER_DAYS", "30")
    assert get_config("development").REMEMBER_COOKIE_DURATION.days == 14
    monkeypatch.setenv("REMEMBER_DAYS", "3")
    assert get_config("development").REMEMBER_COOKIE_DURATION.days == 3


def test_development_keeps_a_random_secret_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    first, second = get_config("development"), get_config("development")
    assert first.SECRET_KEY == second.SECRET_KEY
    assert len(first.SECRET_KEY) >= 48
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        (None, "SECRET_KEY is not set"),
        ("changeme", "SECRET_KEY is a known default"),
        ("dev", "SECRET_KEY is a known default"),
        ("short-but-random-8f2", "shorter than 32 characters"),
    ],
)
def test_production_refuses_a_missing_or_default_secret(production_env, secret, message):
    if secret is None:
        production_env.delenv("SECRET_KEY")
    else:
        production_env.setenv("SECRET_KEY", secret)
    with pytest.raises(ConfigurationError, match=message):
        create_app("production")


def test_production_refuses_per_process_login_counters_with_several_workers(production_env):
    production_env.setenv("WEB_CONCURRENCY", "4")
    with pytest.raises(ConfigurationError, match="each worker would count login failures alone"):
        create_app("production")
    production_env.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")
    assert create_app("production").config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"


def test_production_needs_an_explicit_base_url(production_env):
    production_env.delenv("BASE_URL")
    with pytest.raises(ConfigurationError, match="BASE_URL is not set"):
        create_app("production")


def test_production_hardens_cookies_and_sends_mail_by_smtp(production_env):
    app = create_app("production")
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["HSTS_ENABLED"] is True
    assert app.config["MAIL_BACKEND"] == "smtp"
    assert app.config["DEBUG"] is False


def test_a_dotenv_file_is_read_and_the_environment_wins(production_env, tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("PLATFORM_NAME=From Dotenv\nORGANISATION_NAME=Dotenv Org\n")
    monkeypatch.setattr(expert_platform, "PROJECT_ROOT", tmp_path)
    monkeypatch.setenv("ORGANISATION_NAME", "From Environment")
    monkeypatch.delenv("PLATFORM_NAME", raising=False)
    app = create_app("production")
    assert app.config["PLATFORM_NAME"] == "From Dotenv"
    assert app.config["ORGANISATION_NAME"] == "From Environment"
    os.environ.pop("PLATFORM_NAME", None)  # load_dotenv wrote it into this process


def test_starting_production_without_a_secret_exits_non_zero_with_a_message(tmp_path):
    environment = {
        key: value for key, value in os.environ.items() if key not in {"SECRET_KEY", "DATABASE_URL"}
    }
    environment.update(EXPERT_PLATFORM_ENV="production", BASE_URL="https://experts.example.org",
                       INSTANCE_PATH=str(tmp_path))
    flask = Path(sys.executable).with_name("flask")
    result = subprocess.run(
        [str(flask), "--app", "wsgi", "routes"],
        cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "Expert Platform refuses to start: SECRET_KEY is not set." in result.stderr


def test_the_search_backend_is_whoosh_unless_postgres_is_asked_for(monkeypatch):
    monkeypatch.delenv("SEARCH_BACKEND", raising=False)
    assert DevelopmentConfig().SEARCH_BACKEND == "whoosh"
    monkeypatch.setenv("SEARCH_BACKEND", "elastic")
    with pytest.raises(ConfigurationError, match="SEARCH_BACKEND must be whoosh or postgres, not 'elastic'"):
        get_config("development").validate()


def test_the_postgres_search_backend_needs_a_postgresql_database(monkeypatch, tmp_path):
    monkeypatch.setenv("SEARCH_BACKEND", "postgres")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'one.sqlite'}")
    with pytest.raises(ConfigurationError, match="DATABASE_URL must be a PostgreSQL database"):
        get_config("development").validate()
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    settings = get_config("development")
    settings.validate()
    assert settings.SEARCH_BACKEND == "postgres"
