"""components/yaml_text.py: the one YAML loader every params, dvc.yaml and dvc.lock read goes through."""

from __future__ import annotations

import pytest
import yaml

from components.yaml_text import SAFE_LOADER, parse_yaml
from tests.conftest import REPO


@pytest.mark.parametrize("name", ["params.yaml", "dvc.yaml", "dvc.lock", "components/models/catalog.yaml"])
def test_parse_yaml_reads_the_projects_files_as_the_pure_python_safe_loader_does(name):
    text = (REPO / name).read_text()
    assert parse_yaml(text) == yaml.safe_load(text)


def test_parse_yaml_uses_libyaml_when_pyyaml_was_built_with_it():
    assert SAFE_LOADER is (yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader)


def test_parse_yaml_builds_no_python_objects_from_tags():
    with pytest.raises(yaml.constructor.ConstructorError):
        parse_yaml("x: !!python/object/apply:os.getcwd []")


def test_parse_yaml_raises_yamlerror_on_malformed_text_and_none_on_empty_text():
    with pytest.raises(yaml.YAMLError):
        parse_yaml("a: [1, 2\nb: 3")
    assert parse_yaml("") is None
