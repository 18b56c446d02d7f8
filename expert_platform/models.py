"""Imports every model module, so the metadata (create_all, Alembic) knows every table."""

from .accounts import models as accounts_models  # noqa: F401
from .audit import models as audit_models  # noqa: F401
from .council import models as council_models  # noqa: F401
from .experts import models as experts_models  # noqa: F401
from .notifications import models as notifications_models  # noqa: F401
from .proposals import models as proposals_models  # noqa: F401
from .reference import models as reference_models  # noqa: F401
from .review import models as review_models  # noqa: F401
from .search import models as search_models  # noqa: F401
from .thinktanks import models as thinktanks_models  # noqa: F401
