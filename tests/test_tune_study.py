"""bench/tune_study.py: every configuration of its grid is valid settings that tune (but the
reference rows), each differs from the study's centre in the fields it names, and an unknown
configuration is refused by name."""

import dataclasses
import importlib.util
import os
import sys

import pytest

from conftest import REPO_ROOT

SCRIPT = os.path.join(REPO_ROOT, "bench", "tune_study.py")


@pytest.fixture(scope="module")
def study():
    """The script as a module (it imports its sibling complete_quality.py from bench/)."""
    sys.path.insert(0, os.path.dirname(SCRIPT))
    spec = importlib.util.spec_from_file_location("tune_study", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    sys.path.remove(os.path.dirname(SCRIPT))


def test_every_configuration_is_valid_and_changes_what_it_names(study):
    centre = study.settings_of("base")
    assert centre.tune_steps == 100 and centre.start == "encoder"
    for name, fields in study.GRID.items():
        settings = study.settings_of(name)
        assert (settings.tune_steps > 0) == (name not in ("fast", "default")), name
        if name in ("fast", "default", "from_default"):
            continue
        changed = {field.name for field in dataclasses.fields(settings)
                   if getattr(settings, field.name) != getattr(centre, field.name)}
        assert changed == {key for key in fields if fields[key] != study.BASE.get(key)}, name


def test_an_unknown_configuration_is_refused(study):
    with pytest.raises(ValueError, match="--configs: unknown nope"):
        study.run(study.parse_args(["--configs=base,nope"]))
