"""agentledger's HTTP API: a thin FastAPI layer over the database functions.

It lives in api/agentledger_api/: the folder is named as the package imports, so it does not
shadow other packages called "api". Each endpoint checks the request's shape, calls one
function of the database's `api` schema as the API role, and maps the result or the SQLSTATE to
HTTP. No lifecycle rule is written here: the database decides.
"""

from agentledger_api.app import create_app

__all__ = ["create_app"]
