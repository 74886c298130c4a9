"""What each long-running process imports: every interpreter's memory counts in the platform's total
(docs/benchmarks.md, "Memory"), and a stray import of a big library costs it in every process of that kind."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.services import ROOT

# module a process starts from -> (what it does at start-up, libraries it has no use for)
LOAD_MODELS = "from services.db import import_models; import_models()"  # at a worker's first transaction
NOT_NEEDED = {
    "workers.bridge": ("pass", ("sqlalchemy", "flask")),  # never opens the database, serves no page
    "workers.worker": (LOAD_MODELS, ("flask",)),
    "workers.schedule": (LOAD_MODELS, ("flask",)),
}


@pytest.mark.parametrize("entry", sorted(NOT_NEEDED))
def test_a_process_imports_only_what_it_uses(entry):
    start_up, unwanted = NOT_NEEDED[entry]
    probe = f"import sys, {entry}; {start_up}; print(' '.join({{m.split('.')[0] for m in sys.modules}}))"
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert not set(loaded.stdout.split()) & set(unwanted), (
        f"{entry} imports {sorted(set(loaded.stdout.split()) & set(unwanted))}"
    )
