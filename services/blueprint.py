"""The APIs' Blueprint: flask-smorest's, with each arguments schema instantiated once.

Given a Schema class, webargs builds an instance of it for every request: about 0.2 ms of the ~1 ms of CPU
the parking ``nearby`` query took (profiled, docs/benchmarks.md). Our argument schemas keep no per-request
state, so one instance serves every request and thread.
"""

from __future__ import annotations

import flask_smorest


class Blueprint(flask_smorest.Blueprint):
    def arguments(self, schema, **kwargs):
        return super().arguments(schema() if isinstance(schema, type) else schema, **kwargs)
