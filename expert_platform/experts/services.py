"""Expert profile services: plain functions that flush and never commit."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from .models import ExpertProfile


def ensure_profile(user) -> ExpertProfile:
    """The user's profile, created empty (visible to signed-in users only) when missing."""
    profile = db.session.scalar(select(ExpertProfile).where(ExpertProfile.user_id == user.id))
    if profile is None:
        profile = ExpertProfile(user_id=user.id)
        db.session.add(profile)
        db.session.flush()
    return profile
