"""The head's HTTP server: Ray's Jobs REST API, the state API, logs, timeline and
Prometheus metrics, all behind the cluster token (docs/dashboard.md describes the API).

Nothing heavy is imported here: the server loads starlette and uvicorn on its first
connection.
"""

from ember.dashboard.launch import start_for_head, start_for_node, start_for_session
from ember.dashboard.server import DEFAULT_PORT, DashboardServer, dependencies_installed

__all__ = ["DEFAULT_PORT", "DashboardServer", "dependencies_installed", "start_for_head",
           "start_for_node", "start_for_session"]
