"""`make serve` and gunicorn.conf.py: production settings are checked before anything runs, by loading the app
as gunicorn's workers will (so a missing SECRET_KEY or BASE_URL, or memory:// rate limits with several workers,
stop the start with the setting's name), then the database is migrated, the index synced and gunicorn started."""

from __future__ import annotations

import os
import runpy
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
GUNICORN_SETTINGS = ("BIND", "WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_TIMEOUT", "GUNICORN_GRACEFUL_TIMEOUT",
                     "GUNICORN_KEEPALIVE", "GUNICORN_ACCESS_LOG", "GUNICORN_LOG_LEVEL", "FORWARDED_ALLOW_IPS")


@pytest.fixture
def gunicorn_settings(monkeypatch):
    """gunicorn.conf.py's values, read with only the given variables set (the file also sets WEB_CONCURRENCY)."""
    for name in GUNICORN_SETTINGS:
        monkeypatch.delenv(name, raising=False)

    def read(**variables):
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(PROJECT / "gunicorn.conf.py"))

    return read


def test_gunicorn_serves_on_loopback_with_two_single_threaded_workers_per_core_by_default(gunicorn_settings):
    settings = gunicorn_settings()

    assert settings["bind"] == "127.0.0.1:8000"
    assert settings["workers"] == max(2, 2 * (os.cpu_count() or 1))
    assert os.environ["WEB_CONCURRENCY"] == str(settings["workers"])
    assert (settings["threads"], settings["timeout"], settings["graceful_timeout"], settings["keepalive"]) == (
        1, 30, 30, 5)
    assert (settings["max_requests"], settings["max_requests_jitter"]) == (2000, 200)
    assert settings["accesslog"] is None  # the app writes one JSON line per request
    assert settings["errorlog"] == "-"
    assert settings["forwarded_allow_ips"] == "127.0.0.1"
    assert settings["control_socket_disable"] is True


def test_every_gunicorn_setting_comes_from_the_environment(gunicorn_settings):
    settings = gunicorn_settings(BIND="10.0.1.11:8080", WEB_CONCURRENCY="5", GUNICORN_THREADS="8",
                                 GUNICORN_TIMEOUT="60", GUNICORN_GRACEFUL_TIMEOUT="20", GUNICORN_KEEPALIVE="75",
                                 GUNICORN_ACCESS_LOG="-", FORWARDED_ALLOW_IPS="10.0.0.10")

    assert (settings["bind"], settings["workers"], settings["threads"], settings["timeout"],
            settings["graceful_timeout"], settings["keepalive"], settings["accesslog"],
            settings["forwarded_allow_ips"]) == ("10.0.1.11:8080", 5, 8, 60, 20, 75, "-", "10.0.0.10")
    assert os.environ["WEB_CONCURRENCY"] == "5"


def test_a_worker_count_that_is_not_a_number_stops_gunicorn_with_its_name(gunicorn_settings):
    with pytest.raises(SystemExit) as stopped:
        gunicorn_settings(WEB_CONCURRENCY="four")

    assert str(stopped.value) == "WEB_CONCURRENCY must be a whole number, not 'four'."


def test_make_serve_checks_the_settings_then_migrates_syncs_and_starts_gunicorn():
    done = subprocess.run(["make", "-n", "serve"], cwd=PROJECT, capture_output=True, text=True, check=True)
    # Without the install steps, which make prints too when requirements.txt changed since the last install.
    commands = [line for line in done.stdout.splitlines() if "gunicorn" in line or "--app wsgi" in line]

    assert commands == [
        ".venv/bin/gunicorn -c gunicorn.conf.py --check-config wsgi:app || { \\",
        ".venv/bin/flask --app wsgi db upgrade",
        ".venv/bin/flask --app wsgi search sync",
        "exec .venv/bin/gunicorn -c gunicorn.conf.py wsgi:app",
    ]


def check_config(tmp_path, **variables) -> subprocess.CompletedProcess:
    """`make serve`'s first step: gunicorn loads the app with production settings and stops."""
    env = {name: value for name, value in os.environ.items()
           if name not in ("SECRET_KEY", "BASE_URL", "RATELIMIT_STORAGE_URI", "DATABASE_URL", "SEARCH_BACKEND",
                           *GUNICORN_SETTINGS)}
    env.update(EXPERT_PLATFORM_ENV="production", INSTANCE_PATH=str(tmp_path / "instance"), **variables)
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    return subprocess.run([gunicorn, "-c", "gunicorn.conf.py", "--check-config", "wsgi:app"], cwd=PROJECT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_serving_without_a_secret_key_is_refused_with_what_to_set(tmp_path):
    done = check_config(tmp_path, BASE_URL="https://experts.example.org")

    assert done.returncode == 1
    assert "Expert Platform refuses to start: SECRET_KEY is not set." in done.stderr


def test_serving_with_several_workers_and_memory_rate_limits_is_refused(tmp_path):
    done = check_config(tmp_path, SECRET_KEY=secrets.token_urlsafe(48), BASE_URL="https://experts.example.org",
                        WEB_CONCURRENCY="2")

    assert done.returncode == 1
    assert "RATELIMIT_STORAGE_URI is memory:// but WEB_CONCURRENCY is 2" in done.stderr


def test_serving_without_a_base_url_is_refused(tmp_path):
    done = check_config(tmp_path, SECRET_KEY=secrets.token_urlsafe(48), WEB_CONCURRENCY="1")

    assert done.returncode == 1
    assert "BASE_URL is not set." in done.stderr


def test_complete_production_settings_pass_the_check(tmp_path):
    done = check_config(tmp_path, SECRET_KEY=secrets.token_urlsafe(48), BASE_URL="https://experts.example.org",
                        WEB_CONCURRENCY="1")

    assert done.returncode == 0, done.stderr
