"""Where ptree's data lives: templates/, static/, scenarios/ and the seeds.

In an installed wheel they are package data inside `ptree/`; in the repository (an
editable install) they are the top-level folders beside ptree/.  Either way they are
found from the package itself (importlib.resources), never from the working directory.
"""

from importlib.resources import files
from pathlib import Path

DATA = ("templates", "static", "scenarios", "seeds")


def data_dir(name):
    """The folder of package data `name` (one of DATA), as a filesystem path."""
    if name not in DATA:
        raise ValueError(f"no package data named {name!r}")
    package = Path(str(files("ptree")))
    inside = package / name
    return inside if inside.is_dir() else package.parent / name
