"""Expert Platform: a permanent expert platform for an intergovernmental body.

``create_app()`` builds the application; nothing in this package touches an app or a database at
import time.
"""

from __future__ import annotations

import logging
from pathlib import Path

from dotenv import load_dotenv
from flask import Flask
from werkzeug.routing import IntegerConverter

from config import PROJECT_ROOT, Config, get_config


def create_app(config: Config | str | None = None, overrides: dict | None = None) -> Flask:
    """Build the app from a Config (or its environment name, or ``EXPERT_PLATFORM_ENV``).

    ``overrides`` replace single settings (tests use it). Raises ``config.ConfigurationError`` when
    the settings are unsafe for their environment (production without a real SECRET_KEY, ...).
    """
    load_dotenv(PROJECT_ROOT / ".env", override=False)
    settings = config if isinstance(config, Config) else get_config(config)
    for key, value in (overrides or {}).items():
        setattr(settings, key, value)
    settings.validate()

    app = Flask(__name__, template_folder="../templates", instance_path=settings.INSTANCE_PATH)
    # Ids in URLs fit a 64-bit integer; a larger one matches no route (404) instead of reaching the
    # database, where SQLite cannot bind it (a 500).
    app.url_map.converters["int"] = DatabaseIdConverter
    app.config.from_object(settings)
    app.config["ENV_NAME"] = settings.ENV_NAME
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    configure_logging(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_globals(app)
    register_commands(app)
    return app


class DatabaseIdConverter(IntegerConverter):
    """``<int:...>`` limited to what a database integer key can hold."""

    def __init__(self, url_map, *args, **kwargs) -> None:
        from .web import MAX_DATABASE_ID

        kwargs.setdefault("max", MAX_DATABASE_ID)
        super().__init__(url_map, *args, **kwargs)


def configure_logging(app: Flask) -> None:
    """The platform's log: plain lines, or one JSON object a line with LOG_FORMAT=json (request_log)."""
    from .request_log import JsonFormatter, RequestContextFilter, init_request_log

    logger = logging.getLogger("expert_platform")
    logger.setLevel(app.config["LOG_LEVEL"])
    if not logging.getLogger().handlers and not logger.handlers:
        handler = logging.StreamHandler()
        handler.addFilter(RequestContextFilter())
        if app.config["LOG_FORMAT"] == "json":
            handler.setFormatter(JsonFormatter())
        else:
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        logger.addHandler(handler)
    init_request_log(app)


def register_extensions(app: Flask) -> None:
    from . import models  # noqa: F401 - every table must be known to the metadata
    from .accounts.models import AnonymousUser, User
    from .accounts.throttle import init_throttle
    from .conditional import init_conditional
    from .database import init_database
    from .extensions import babel, csrf, db, limiter, login_manager, migrate
    from .i18n import init_i18n, select_locale
    from .mail import init_mail
    from .notifications.services import init_notifications
    from .search import init_search
    from .security import init_security
    from .transactions import init_transactions

    db.init_app(app)
    init_database(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    init_i18n(app)
    limiter.init_app(app)
    init_throttle(app)
    init_mail(app)
    init_security(app)
    init_conditional(app)
    init_transactions(app)
    init_notifications(app)
    init_search(app)

    login_manager.init_app(app)
    login_manager.session_protection = "strong"
    login_manager.login_view = "accounts.login"
    login_manager.login_message = None  # the login page explains itself; no extra flash
    login_manager.anonymous_user = AnonymousUser

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        return User.load_for_session(user_id)


def register_blueprints(app: Flask) -> None:
    from .accounts.views import bp as accounts_bp
    from .archive.api import bp as api_bp
    from .archive.exports import bp as exports_bp
    from .archive.views import bp as archive_bp
    from .council.views import bp as council_bp
    from .experts.views import bp as experts_bp
    from .main.health import bp as health_bp
    from .main.views import bp as main_bp
    from .notifications.views import bp as notifications_bp
    from .proposals.revision_views import bp as revisions_bp
    from .proposals.views import bp as proposals_bp
    from .review.dashboard_views import bp as council_dashboard_bp
    from .review.discussion_views import bp as discussion_bp
    from .review.views import bp as review_bp
    from .secretariat.views import bp as secretariat_bp
    from .thinktanks.views import bp as thinktanks_bp

    for blueprint in (main_bp, accounts_bp, thinktanks_bp, experts_bp, council_bp, secretariat_bp, proposals_bp,
                      revisions_bp, review_bp, discussion_bp, council_dashboard_bp, notifications_bp, archive_bp,
                      api_bp, exports_bp, health_bp):
        app.register_blueprint(blueprint)


def register_errorhandlers(app: Flask) -> None:
    from .errors import register_errorhandlers as register

    register(app)


def register_template_globals(app: Flask) -> None:
    from .enums import Role
    from .permissions import register_template_globals as register_predicates
    from .reference.services import localized_state_name

    register_predicates(app)
    app.jinja_env.filters["state_name"] = localized_state_name
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.globals.update(
        Role=Role,
        platform_name=_localized_setting(app, "PLATFORM_NAME"),
        organisation_name=_localized_setting(app, "ORGANISATION_NAME"),
    )


def _localized_setting(app: Flask, name: str):
    """A name configured per language (``NAME`` in English, ``NAME_RU`` in Russian), read when shown."""
    from .i18n import localized

    return localized({"en": app.config[name], "ru": app.config[f"{name}_RU"]})


def register_commands(app: Flask) -> None:
    from .cli import register_commands as register

    register(app)
