"""pytest wiring: db/tests/*.sql run through pg_prove, plus the database fixtures.

The implementation lives in tests/support/ so this file stays a table of contents.
"""

from tests.support.api import api, make_api, module_api, module_make_api  # noqa: F401  (HTTP API fixtures)
from tests.support.fixtures import (  # noqa: F401  (imported to register them)
    bare_db,
    deployed_template,
    empty_db,
    fresh_db,
    pytest_configure,
)
from tests.support.pgtap import pytest_collect_file  # noqa: F401
from tests.support.roles import login_as  # noqa: F401
