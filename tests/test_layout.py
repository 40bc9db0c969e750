"""The package's layout: the layers of ``dcgan_tf/__init__.py``'s docstring hold every package,
no module imports from a layer above its own, no imports go round in a circle, each package
imports cleanly in a fresh process, and the modules the scripts read their flags from import
without TensorFlow (so ``--help`` answers at once)."""

import ast
import os
import subprocess
import sys

import pytest

from conftest import REPO_ROOT

PACKAGE_DIR = os.path.join(REPO_ROOT, "dcgan_tf")
BASE = "base"  # the top-level modules and pretrained/


def _layers() -> list[str]:
    """The layer names of ``dcgan_tf/__init__.py``'s docstring, lowest first."""
    with open(os.path.join(PACKAGE_DIR, "__init__.py")) as handle:
        docstring = ast.get_docstring(ast.parse(handle.read()))
    lines = docstring.split("Layers, lowest first")[1].splitlines()[2:]
    return [line.split()[0] for line in lines if line.startswith("    ") and line[4] != " "]


def _modules() -> dict[str, str]:
    """{dotted module name: file} of every module of the package."""
    modules = {}
    for folder, subfolders, names in os.walk(PACKAGE_DIR):
        subfolders[:] = [name for name in subfolders if name != "__pycache__"]
        for name in names:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                parts = os.path.relpath(path, REPO_ROOT)[:-3].split(os.sep)
                modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


MODULES = _modules()
LAYERS = _layers()
SUBPACKAGES = {module.split(".")[1] for module, path in MODULES.items()
               if module.count(".") == 1 and path.endswith("__init__.py")}


def _layer(module: str) -> str:
    """The layer of a module: its subpackage, or ``BASE``."""
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in SUBPACKAGES and parts[1] != "pretrained":
        return parts[1]
    return BASE


def _imports(module: str) -> set[str]:
    """The dcgan_tf modules ``module`` imports, anywhere in it (function-level imports too)."""
    with open(MODULES[module]) as handle:
        tree = ast.parse(handle.read())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in MODULES)
        elif isinstance(node, ast.ImportFrom) and node.module in MODULES:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in MODULES else node.module)
    found.discard(module)
    return {name for name in found if name != "dcgan_tf"}


GRAPH = {module: _imports(module) for module in MODULES}


def test_every_package_has_a_layer():
    packages = {_layer(module) for module in MODULES}
    assert LAYERS[0] == BASE and len(set(LAYERS)) == len(LAYERS)
    assert packages == set(LAYERS), packages ^ set(LAYERS)


def test_no_module_imports_from_a_layer_above_its_own():
    upward = [f"{module} ({_layer(module)}) imports {imported} ({_layer(imported)})"
              for module, imported_modules in sorted(GRAPH.items())
              for imported in sorted(imported_modules)
              if LAYERS.index(_layer(imported)) > LAYERS.index(_layer(module))]
    assert not upward, "\n".join(upward)


def test_no_import_circle():
    """Depth-first search for a module that reaches itself through its imports."""
    state, path, circles = {}, [], []

    def visit(module):
        state[module] = "open"
        path.append(module)
        for imported in sorted(GRAPH[module]):
            if state.get(imported) == "open":
                circles.append(" -> ".join(path[path.index(imported):] + [imported]))
            elif imported not in state:
                visit(imported)
        path.pop()
        state[module] = "done"

    for module in sorted(GRAPH):
        if module not in state:
            visit(module)
    assert not circles, "\n".join(circles)


@pytest.mark.parametrize("package", [layer for layer in LAYERS if layer != BASE])
def test_each_package_imports_cleanly_in_a_fresh_process(package):
    run = subprocess.run([sys.executable, "-W", "error", "-c", f"import dcgan_tf.{package}"],
                         capture_output=True, text=True, timeout=120, cwd=REPO_ROOT,
                         env=dict(os.environ, PYTHONPATH=REPO_ROOT))
    assert run.returncode == 0 and not run.stderr, run.stderr[-2000:]


def test_the_scripts_flag_modules_import_without_tensorflow():
    """What train.py, complete.py, export.py, evaluate.py and app.py import before parsing
    their flags."""
    flag_modules = ["dcgan_tf.checks", "dcgan_tf.pretrained", "dcgan_tf.data.crops",
                    "dcgan_tf.data.decode", "dcgan_tf.models.config", "dcgan_tf.models.runs",
                    "dcgan_tf.inpainting.settings", "dcgan_tf.inpainting.masks",
                    "dcgan_tf.completion.config", "dcgan_tf.serving.specs",
                    "dcgan_tf.app.limits"]
    code = (f"import sys; import {', '.join(flag_modules)}; "
            f"print('tensorflow' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=REPO_ROOT, env=dict(os.environ, PYTHONPATH=REPO_ROOT))
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "False"
