"""bench/tune_study.py: every configuration of its grid is valid settings that tune (but the
reference rows), each differs from the study's centre in the fields it names, and an unknown
configuration is refused by name."""

import dataclasses

import pytest

from conftest import load_script

@pytest.fixture(scope="module")
def study():
    """The script as a module."""
    return load_script("bench", "tune_study.py")


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
