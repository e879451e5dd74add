"""ptree: a visual explorer of DragonFly BSD's process lifecycle.

The installed package is `ptree`: the kernel model is `ptree.engine` (the repository's
engine/ folder), the web explorer and command line `ptree.webui` (webui/); templates,
static files, the bundled scenarios and the seed sources are package data found through
`ptree.resources`, never through the working directory.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ptree")
except PackageNotFoundError:          # pragma: no cover - run from a bare checkout
    __version__ = "0+unknown"
