"""Where lecture rooms live: a store every server process shares.

A room is a small JSON record (webui/rooms.py says what is in it) plus *blobs*: the texts
it refers to by SHA-256 (edited scenario text, a choice-mode path), written once, so a step
rewrites only the few hundred bytes of the record.  Two backends, one interface:

- `SQLiteStore`: the embedded default, a file under Flask's instance folder (stdlib
  sqlite3, WAL journal).  A transaction committed before `kill -9` is there after a
  restart.  It serves one server process (the viewer counts are that process's own).
- `RedisStore`: used when `ptree serve --message-queue redis://...` is given, in the same
  Redis, so every process behind a load balancer sees the same rooms and counts.

The same store keeps *drafts*: edited scenario text too long for an address, under a short
id (`/?draft=ID`), for DRAFT_SECONDS after it was last saved.

Every record carries `rev`; `save` is a compare-and-set on it, so two processes (or two
presenter tabs) that act at once cannot lose each other's change: the loser reloads and
tries again (rooms.Hall.act).  `seen` is the last time a presenter was connected; a room
whose presenter has been gone for `idle_seconds` is deleted (SQLite: by `sweep` and on
load; Redis: the key's TTL, renewed by `touch`).
"""

import json
import sqlite3
import threading
import time
from pathlib import Path

KEY_PREFIX = "ptree:"
HOST_TTL = 30          # seconds a process's viewer counts outlive its last heartbeat
DRAFT_SECONDS = 30 * 24 * 60 * 60   # an edited scenario kept for its address is kept 30 days


class SQLiteStore:
    """Rooms in one SQLite file; opened on first use, so an explorer-only server never
    creates it.  Viewer counts are kept in memory: the embedded store serves one process."""

    def __init__(self, path, idle_seconds, clock=time.time):
        self.path = Path(path)
        self.idle_seconds = idle_seconds
        self.clock = clock
        self._db = None
        self._lock = threading.Lock()
        self._viewers = {}                # code -> {host: count}

    def _conn(self):
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                                 timeout=10)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")    # WAL: durable across a process crash
            db.executescript("""
                CREATE TABLE IF NOT EXISTS rooms (
                    code TEXT PRIMARY KEY, rev INTEGER NOT NULL, data TEXT NOT NULL,
                    seen REAL NOT NULL);
                CREATE TABLE IF NOT EXISTS blobs (
                    code TEXT NOT NULL, sha TEXT NOT NULL, data TEXT NOT NULL,
                    PRIMARY KEY (code, sha));
                CREATE TABLE IF NOT EXISTS drafts (
                    id TEXT PRIMARY KEY, data TEXT NOT NULL, saved REAL NOT NULL);
            """)
            self._db = db
        return self._db

    def _tx(self, fn):
        with self._lock:
            db = self._conn()
            db.execute("BEGIN IMMEDIATE")
            try:
                out = fn(db)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return out

    def create(self, code, record, blobs):
        """Insert a new room; False if the code is taken."""
        def tx(db):
            if db.execute("SELECT 1 FROM rooms WHERE code = ?", (code,)).fetchone():
                return False
            db.execute("INSERT INTO rooms VALUES (?, ?, ?, ?)",
                       (code, record["rev"], json.dumps(record), self.clock()))
            _put_blobs(db, code, blobs)
            return True
        return self._tx(tx)

    def load(self, code):
        """The room's record (with `seen`), or None if there is none or it expired."""
        with self._lock:
            row = self._conn().execute(
                "SELECT data, seen FROM rooms WHERE code = ?", (code,)).fetchone()
        if row is None or row[1] < self.clock() - self.idle_seconds:
            return None
        return {**json.loads(row[0]), "seen": row[1]}

    def save(self, code, record, expect_rev, blobs=None):
        """Compare-and-set: write `record` if the stored rev is still `expect_rev`, add
        `blobs`, drop the blobs the record no longer refers to.  False on a conflict (or
        if the room is gone)."""
        data = {k: v for k, v in record.items() if k != "seen"}

        def tx(db):
            cur = db.execute("UPDATE rooms SET rev = ?, data = ? WHERE code = ? AND rev = ?",
                             (data["rev"], json.dumps(data), code, expect_rev))
            if cur.rowcount != 1:
                return False
            _put_blobs(db, code, blobs or {})
            keep = referenced(data)
            marks = ",".join("?" * len(keep)) or "''"
            db.execute(f"DELETE FROM blobs WHERE code = ? AND sha NOT IN ({marks})",
                       (code, *keep))
            return True
        return self._tx(tx)

    def blob(self, code, sha):
        with self._lock:
            row = self._conn().execute("SELECT data FROM blobs WHERE code = ? AND sha = ?",
                                       (code, sha)).fetchone()
        return row[0] if row else None

    def touch(self, code):
        """A presenter is (or was just) connected: restart the room's idle clock."""
        self._tx(lambda db: db.execute("UPDATE rooms SET seen = ? WHERE code = ?",
                                       (self.clock(), code)))

    def delete(self, code):
        def tx(db):
            db.execute("DELETE FROM rooms WHERE code = ?", (code,))
            db.execute("DELETE FROM blobs WHERE code = ?", (code,))
        self._tx(tx)
        self._viewers.pop(code, None)

    def sweep(self):
        """Delete the rooms whose presenter has been gone too long; returns their codes."""
        cutoff = self.clock() - self.idle_seconds

        def tx(db):
            gone = [r[0] for r in db.execute("SELECT code FROM rooms WHERE seen < ?", (cutoff,))]
            for code in gone:
                db.execute("DELETE FROM rooms WHERE code = ?", (code,))
                db.execute("DELETE FROM blobs WHERE code = ?", (code,))
            return gone
        return self._tx(tx)

    def count(self):
        """Rooms open (after a sweep)."""
        self.sweep()
        with self._lock:
            return self._conn().execute("SELECT COUNT(*) FROM rooms").fetchone()[0]

    # -- drafts: edited scenarios kept for their short address -------------------------------

    def put_draft(self, draft_id, text):
        """Keep `text` under `draft_id` (again: its 30 days start over); drop expired ones."""
        now = self.clock()

        def tx(db):
            db.execute("INSERT OR REPLACE INTO drafts VALUES (?, ?, ?)", (draft_id, text, now))
            db.execute("DELETE FROM drafts WHERE saved < ?", (now - DRAFT_SECONDS,))
        self._tx(tx)

    def draft(self, draft_id):
        """The text kept under `draft_id`, or None."""
        with self._lock:
            row = self._conn().execute("SELECT data, saved FROM drafts WHERE id = ?",
                                       (draft_id,)).fetchone()
        if row is None or row[1] < self.clock() - DRAFT_SECONDS:
            return None
        return row[0]

    # -- viewer counts (this process only) --------------------------------------------------

    def viewers_add(self, code, host, delta):
        with self._lock:
            hosts = self._viewers.setdefault(code, {})
            hosts[host] = max(0, hosts.get(host, 0) + delta)
            return sum(hosts.values())

    def viewers(self, code):
        with self._lock:
            return sum(self._viewers.get(code, {}).values())

    def heartbeat(self, host):
        """Nothing to renew: the counts live and die with this process."""

    def close(self):
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def _put_blobs(db, code, blobs):
    for sha, data in blobs.items():
        db.execute("INSERT OR IGNORE INTO blobs VALUES (?, ?, ?)", (code, sha, data))


def referenced(record):
    """The blob hashes a record refers to: its scenario text and its choice-mode path."""
    out = []
    src = record.get("source") or {}
    if src.get("text"):
        out.append(src["text"])
    if record.get("choices"):
        out.append(record["choices"])
    return out


# Compare-and-set of a room hash: KEYS[1] the room, ARGV: expected rev, new rev, data,
# TTL, then blob (sha, text) pairs.  Returns 1 when written, 0 on a rev conflict, -1 when
# the room is gone.  Blob fields that the new data no longer names are removed.
_SAVE = """
local cur = redis.call('HGET', KEYS[1], 'rev')
if not cur then return -1 end
if tonumber(cur) ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'rev', ARGV[2], 'data', ARGV[3])
for i = 5, #ARGV, 2 do redis.call('HSETNX', KEYS[1], 'blob:' .. ARGV[i], ARGV[i + 1]) end
local keep = cjson.decode(ARGV[4])
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(field, 1, 5) == 'blob:' and not keep[string.sub(field, 6)] then
    redis.call('HDEL', KEYS[1], field)
  end
end
return 1
"""


class RedisStore:
    """Rooms in Redis (the message queue's own server), shared by every process.

    ptree:room:CODE   hash {rev, data, seen, blob:SHA...}, TTL idle_seconds (touch renews)
    ptree:rooms       set of codes (members whose hash expired are dropped when counted)
    ptree:viewers:CODE hash {HOST: viewers on that process}
    ptree:host:HOST   a process's heartbeat (TTL HOST_TTL); counts of a dead process lapse
    """

    def __init__(self, url, idle_seconds, clock=time.time):
        import redis
        self.redis = redis.Redis.from_url(url, decode_responses=True)
        self.idle_seconds = idle_seconds
        self.clock = clock
        self._save = self.redis.register_script(_SAVE)

    @staticmethod
    def _key(code):
        return f"{KEY_PREFIX}room:{code}"

    def create(self, code, record, blobs):
        key = self._key(code)
        if not self.redis.hsetnx(key, "rev", record["rev"]):
            return False
        pipe = self.redis.pipeline()
        pipe.hset(key, mapping={"data": json.dumps(record), "seen": self.clock(),
                                **{f"blob:{sha}": text for sha, text in blobs.items()}})
        pipe.expire(key, int(self.idle_seconds))
        pipe.sadd(f"{KEY_PREFIX}rooms", code)
        pipe.execute()
        return True

    def load(self, code):
        data, seen = self.redis.hmget(self._key(code), "data", "seen")
        if data is None:
            return None
        return {**json.loads(data), "seen": float(seen or 0)}

    def save(self, code, record, expect_rev, blobs=None):
        data = {k: v for k, v in record.items() if k != "seen"}
        keep = json.dumps({sha: True for sha in referenced(data)})
        args = [expect_rev, data["rev"], json.dumps(data), keep]
        for sha, text in (blobs or {}).items():
            args += [sha, text]
        return self._save(keys=[self._key(code)], args=args) == 1

    def blob(self, code, sha):
        return self.redis.hget(self._key(code), f"blob:{sha}")

    def touch(self, code):
        key = self._key(code)
        pipe = self.redis.pipeline()
        pipe.exists(key)
        pipe.expire(key, int(self.idle_seconds))
        if pipe.execute()[0]:
            self.redis.hset(key, "seen", self.clock())

    def delete(self, code):
        self.redis.delete(self._key(code), f"{KEY_PREFIX}viewers:{code}")
        self.redis.srem(f"{KEY_PREFIX}rooms", code)

    def sweep(self):
        """Redis expires rooms by itself; forget the codes whose hash is gone."""
        gone = [c for c in self.redis.smembers(f"{KEY_PREFIX}rooms")
                if not self.redis.exists(self._key(c))]
        if gone:
            self.redis.srem(f"{KEY_PREFIX}rooms", *gone)
            self.redis.delete(*[f"{KEY_PREFIX}viewers:{c}" for c in gone])
        return gone

    def count(self):
        self.sweep()
        return self.redis.scard(f"{KEY_PREFIX}rooms")

    # -- drafts ----------------------------------------------------------------------------

    def put_draft(self, draft_id, text):
        self.redis.set(f"{KEY_PREFIX}draft:{draft_id}", text, ex=DRAFT_SECONDS)

    def draft(self, draft_id):
        return self.redis.get(f"{KEY_PREFIX}draft:{draft_id}")

    # -- viewer counts, summed over the live processes ------------------------------------

    def viewers_add(self, code, host, delta):
        self.heartbeat(host)
        n = self.redis.hincrby(f"{KEY_PREFIX}viewers:{code}", host, delta)
        if n < 0:
            self.redis.hset(f"{KEY_PREFIX}viewers:{code}", host, 0)
        return self.viewers(code)

    def viewers(self, code):
        counts = self.redis.hgetall(f"{KEY_PREFIX}viewers:{code}")
        if not counts:
            return 0
        hosts = list(counts)
        alive = self.redis.mget([f"{KEY_PREFIX}host:{h}" for h in hosts])
        dead = [h for h, a in zip(hosts, alive, strict=True) if a is None]
        if dead:
            self.redis.hdel(f"{KEY_PREFIX}viewers:{code}", *dead)
        return sum(max(0, int(counts[h])) for h, a in zip(hosts, alive, strict=True) if a)

    def heartbeat(self, host):
        self.redis.set(f"{KEY_PREFIX}host:{host}", "1", ex=HOST_TTL)

    def close(self):
        self.redis.close()


def open_store(url_or_path, idle_seconds):
    """A RedisStore for a redis:// URL, else a SQLiteStore at that path."""
    text = str(url_or_path)
    if text.startswith(("redis://", "rediss://", "unix://")):
        return RedisStore(text, idle_seconds)
    return SQLiteStore(text, idle_seconds)
