"""ptree: a visual explorer of DragonFly BSD's process lifecycle.

The installed package is `ptree`: the kernel model is `ptree.engine` (the repository's
engine/ folder), the web explorer and command line `ptree.webui` (webui/); templates,
static files, the bundled scenarios and the seed sources are package data found through
`ptree.resources`, never through the working directory.
"""


def __getattr__(name):
    """`ptree.__version__`, read from the installed metadata only when asked for
    (importlib.metadata brings email, socket, datetime ... into every start-up)."""
    if name != "__version__":
        raise AttributeError(f"module 'ptree' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("ptree")
    except PackageNotFoundError:          # pragma: no cover - run from a bare checkout
        return "0+unknown"
