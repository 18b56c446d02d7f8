"""gunicorn settings: `gunicorn -c gunicorn.conf.py wsgi:app` (what `make serve` runs; docs/deployment.md).

Every value can be changed from the environment or from the project's `.env` file, which is read here
first so that gunicorn and the app (which reads it again in ``create_app``) see the same settings.
"""

import os
from pathlib import Path

from dotenv import load_dotenv

load_dotenv(Path(__file__).resolve().parent / ".env", override=False)


def _whole_number(name: str, default: int) -> int:
    raw = os.environ.get(name) or str(default)
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {raw!r}.") from None


bind = os.environ.get("BIND", "127.0.0.1:8000")
# Processes: two per core (at least 2, so a slow request never holds the whole server). Each worker has
# its own database pool; with PostgreSQL keep workers x threads x app servers under max_connections.
workers = _whole_number("WEB_CONCURRENCY", max(2, 2 * (os.cpu_count() or 1)))
# The app reads WEB_CONCURRENCY to refuse per-process rate-limit counters (memory://) with several workers.
os.environ["WEB_CONCURRENCY"] = str(workers)
# Threads per worker (gthread). One: a request is mostly Python (templates, search, highlighting), and the
# threads of one process share one interpreter lock: each database call or index read let go of it and then
# waited for it behind the other threads (py-spy on the load test: a quarter of the workers' time was spent
# there). Processes run side by side instead: with 2 x 4 threads the load test's mix ran 80 requests a second
# at p95 228 ms, with 4 x 1 113 at 103 ms (docs/performance.md, issue 16). More threads suit a server whose
# requests wait on a slow database.
threads = _whole_number("GUNICORN_THREADS", 1)
# A request running longer than this many seconds is killed with its worker (which is then replaced).
timeout = _whole_number("GUNICORN_TIMEOUT", 30)
graceful_timeout = _whole_number("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Seconds an idle keep-alive connection stays open. Behind a balancer that reuses connections, set it above
# the balancer's idle timeout: the balancer must close first, or it may send a request on a closed one.
keepalive = _whole_number("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then, at different moments, so a slow leak never grows for weeks.
max_requests = 2000
max_requests_jitter = 200
# The heartbeat file on a memory file system: a slow disk must not make the master kill healthy workers.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
proc_name = "expert-platform"

# Logs go to stdout/stderr for the service manager. The app itself writes one JSON line per request
# (request id, user id, method, path, status, duration: LOG_FORMAT=json, production's default), so
# gunicorn's plain-text access log is off unless GUNICORN_ACCESS_LOG names a file or "-" (stdout).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms "%(a)s" request_id=%({x-request-id}o)s'
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# Addresses whose X-Forwarded-Proto (https) gunicorn believes: the load balancer's. The app trusts
# X-Forwarded-For and -Proto through TRUSTED_PROXY_COUNT (see docs/deployment.md).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# gunicorn's control socket defaults to one path per user ($HOME/.gunicorn/gunicorn.ctl): a second server
# on the machine (a load test, a staging copy) would take it over. Signals (HUP, TERM) manage the server.
control_socket_disable = True
