"""The mutation layer: every change to the state document goes through here.

Each mutation is applied in place and recorded as an RFC 6902 operation together with
its inverse, so an event's patch costs what the event changed, never a diff of snapshots.
"""


def copy_json(value):
    """Copy a JSON value: ops must not alias objects that later events mutate."""
    if isinstance(value, dict):
        return {k: copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_json(v) for v in value]
    return value


def _escape(token):
    token = str(token)
    if "~" in token or "/" in token:
        token = token.replace("~", "~0").replace("/", "~1")
    return token


_CONTAINERS = (dict, list)


def _c(value):
    """copy_json with a fast path for scalars (most ops carry one)."""
    return copy_json(value) if value.__class__ in _CONTAINERS else value


class Doc:
    """A JSON document mutated only through recorded operations.

    `ops` accumulates the forward patch of the current event; `inv` its inverse, in the
    order mutations happened (reversed when the event ends).  `touched` collects the pids
    an event changed, for the incremental invariant check.
    """

    __slots__ = ("root", "ops", "inv", "touched", "linked")

    def __init__(self, root):
        self.root = root
        self.ops = []
        self.inv = []
        self.touched = set()
        self.linked = set()     # pids whose place in the tree (ppid, a children list) changed

    def take(self):
        """Return (ops, inverse ops, touched pids) of the event just finished and reset."""
        ops, inv, touched = self.ops, self.inv, self.touched
        inv.reverse()
        self.ops, self.inv, self.touched = [], [], set()
        return ops, inv, touched

    def set(self, obj, path, key, value):
        """obj[key] = value (key present); obj lives at JSON pointer `path`."""
        old = obj[key]
        if old == value and type(old) is type(value):
            return
        obj[key] = value
        p = path + "/" + _escape(key)
        self.ops.append({"op": "replace", "path": p, "value": _c(value)})
        self.inv.append({"op": "replace", "path": p, "value": _c(old)})

    def add(self, obj, path, key, value):
        """Add a new key to a mapping."""
        obj[key] = value
        p = path + "/" + _escape(key)
        self.ops.append({"op": "add", "path": p, "value": _c(value)})
        self.inv.append({"op": "remove", "path": p})

    def remove(self, obj, path, key):
        """Remove a key from a mapping; returns the removed value."""
        old = obj.pop(key)
        p = path + "/" + _escape(key)
        self.ops.append({"op": "remove", "path": p})
        self.inv.append({"op": "add", "path": p, "value": _c(old)})
        return old

    def insert(self, lst, path, index, value):
        """Insert into a list at index (LIST_INSERT_HEAD is index 0)."""
        lst.insert(index, value)
        p = f"{path}/{index}"
        self.ops.append({"op": "add", "path": p, "value": _c(value)})
        self.inv.append({"op": "remove", "path": p})

    def pop(self, lst, path, index):
        """Remove a list element by index; returns it."""
        old = lst.pop(index)
        p = f"{path}/{index}"
        self.ops.append({"op": "remove", "path": p})
        self.inv.append({"op": "add", "path": p, "value": _c(old)})
        return old


class LeanDoc(Doc):
    """The same mutations, unrecorded: for runs whose patches nobody reads (`ptree run`,
    `ptree check`).  `touched` and `linked` are still kept (the invariant checks read
    them); `take()` returns empty patches."""

    __slots__ = ()

    def take(self):
        touched = self.touched
        self.touched = set()
        return None, None, touched

    def set(self, obj, path, key, value):
        obj[key] = value

    def add(self, obj, path, key, value):
        obj[key] = value

    def remove(self, obj, path, key):
        return obj.pop(key)

    def insert(self, lst, path, index, value):
        lst.insert(index, value)

    def pop(self, lst, path, index):
        return lst.pop(index)


class ReplayDoc(LeanDoc):
    """Unrecorded, but noting which processes change (`dirty`: their keys in /procs), as
    the patches would have said: a replay after a jump, so that the next jump knows
    which processes still equal their pickles in the checkpoints."""

    __slots__ = ("dirty",)

    def __init__(self, root, dirty):
        super().__init__(root)
        self.dirty = dirty

    def _mark(self, path, key):
        if path.startswith("/procs"):
            self.dirty.add(str(key) if path == "/procs" else path.split("/", 3)[2])

    def set(self, obj, path, key, value):
        obj[key] = value
        self._mark(path, key)

    def add(self, obj, path, key, value):
        obj[key] = value
        self._mark(path, key)

    def remove(self, obj, path, key):
        self._mark(path, key)
        return obj.pop(key)

    def insert(self, lst, path, index, value):
        lst.insert(index, value)
        self._mark(path, index)

    def pop(self, lst, path, index):
        self._mark(path, index)
        return lst.pop(index)


class UndoDoc(LeanDoc):
    """Unrecorded, but keeping how to undo each mutation (`rollback()`) and which
    processes changed since (`changed`: their keys in /procs): the explorer takes every
    choice from one state by undoing the choice before instead of reloading the whole
    state, and recomputes the digests of the changed processes alone."""

    __slots__ = ("undo", "changed")

    def __init__(self, root):
        super().__init__(root)
        self.undo = []
        self.changed = set()

    def _mark(self, path, key):
        if path.startswith("/procs"):
            self.changed.add(str(key) if path == "/procs" else path.split("/", 3)[2])

    def set(self, obj, path, key, value):
        self.undo.append((_PUT, obj, key, obj[key]))
        obj[key] = value
        self._mark(path, key)

    def add(self, obj, path, key, value):
        obj[key] = value
        self.undo.append((_DROP, obj, key, None))
        self._mark(path, key)

    def remove(self, obj, path, key):
        # The key's place is kept too: a mapping's order is part of a state's key.
        self.undo.append((_REINSERT, obj, key, (list(obj).index(key), obj[key])))
        self._mark(path, key)
        return obj.pop(key)

    def insert(self, lst, path, index, value):
        lst.insert(index, value)
        self.undo.append((_DROP, lst, index, None))
        self._mark(path, index)

    def pop(self, lst, path, index):
        self.undo.append((_INSERT, lst, index, lst[index]))
        self._mark(path, index)
        return lst.pop(index)

    def rollback(self):
        """Undo every mutation since this document was made, newest first."""
        undo = self.undo
        while undo:
            op, obj, key, old = undo.pop()
            if op is _PUT:
                obj[key] = old
            elif op is _DROP:
                obj.pop(key)
            elif op is _INSERT:
                obj.insert(key, old)
            else:
                _reinsert(obj, key, *old)
        self.changed.clear()


# What undoes a mutation: put the old value back, drop what was added, insert a popped
# list element again, reinsert a removed key at its place.
_PUT, _DROP, _INSERT, _REINSERT = "put", "drop", "insert", "reinsert"


def _reinsert(mapping, key, index, value):
    """Put key back at its old place in a mapping (a removal undone)."""
    items = list(mapping.items())
    items.insert(index, (key, value))
    mapping.clear()
    mapping.update(items)


def _resolve(root, path):
    parts = path.split("/")[1:]
    parent = root
    for tok in parts[:-1]:
        tok = tok.replace("~1", "/").replace("~0", "~")
        parent = parent[int(tok)] if isinstance(parent, list) else parent[tok]
    last = parts[-1].replace("~1", "/").replace("~0", "~")
    return parent, last


def apply_ops(root, ops):
    """Apply RFC 6902 add/remove/replace ops in place (the subset the engine emits)."""
    for op in ops:
        parent, key = _resolve(root, op["path"])
        kind = op["op"]
        if isinstance(parent, list):
            idx = len(parent) if key == "-" else int(key)
            if kind == "add":
                parent.insert(idx, copy_json(op["value"]))
            elif kind == "remove":
                parent.pop(idx)
            else:
                parent[idx] = copy_json(op["value"])
        else:
            if kind == "remove":
                del parent[key]
            else:
                parent[key] = copy_json(op["value"])
    return root
