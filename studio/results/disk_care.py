"""The result log's care of its disk, run by the writer thread (``ResultLog`` mixes it in): a data
directory that failed, was unplugged or replaced (rows held in memory, retried, carried into a new
file when it comes back), WAL checkpoints off the actuation thread, the image quota (the oldest pass
images go first; rows stay) and the free-space warning. It shares the log's connection, lock and
counters; nothing here runs on the station's actuation thread."""
from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import time
from collections import deque
from pathlib import Path

from studio.core.errors import StudioError
from studio.results import schema

log = logging.getLogger("studio.results.log")     # one logger for the log and its disk care

FREE_SPACE_REPEAT_S = 60.0
RESERVE = schema.PART_RESERVE


def _identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of ``path``: a data directory replaced under the log shows as another."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


class DiskCare:
    def _housekeeping(self, closing: bool) -> None:
        self._watch_directory()
        if self._failing is not None:
            self._tell_health()
            if closing or time.monotonic() >= self._next_retry:
                self._next_retry = time.monotonic() + self.watch_s
                self._retry()
        self._tell_health()
        if self._failing is None:
            if self._commits - self._last_ckpt >= self.checkpoint_every:
                self._checkpoint()
            self._fill_sizes()
            self._enforce_quota()
        self._watch_free_space()
        if self._lost_parts:
            with self._db:
                first, last = self._lost_parts
                self._lost_parts = []
            self._report(f"the memory queue of the result log is full ({self.max_held} rows): parts "
                         f"{first}..{last} are not logged ({self.rows_lost} rows lost so far)")

    def _watch_directory(self) -> None:
        if self._failing is None and _identity(self.path) != self._identity:
            with self._db:
                self._failing = (f"the data directory {self.data_dir} is gone or replaced "
                                 "(unplugged, unmounted or deleted)")

    def _tell_health(self) -> None:
        state = self._failing
        if (state is None) == (self._health_told is None):
            return                  # told already (a new reason while failing is not news)
        self._health_told = state
        if state is not None:
            self._report(f"{state}; " + ("rows are held in memory until it writes again"
                                         if self.policy.on_failure == "continue"
                                         else "on_log_failure: stop halts the line"))
        if self.on_health is not None:
            try:
                self.on_health(state is None, state or "the result log writes again")
            except Exception:
                log.exception("result log health receiver failed")

    def _retry(self) -> None:
        """Try the disk again: reopen a replaced data directory, then write what is held."""
        if _identity(self.path) != self._identity:
            if not self._reopen():
                return
        with self._db:
            held, updates, alerts = list(self._held), list(self._held_updates), list(self._held_alerts)
            try:
                self._conn.execute("BEGIN")
                ids = []
                for row in held:
                    ids.append(self._conn.execute(schema.INSERT, tuple(row[c] for c in schema.COLUMNS)).lastrowid)
                top = max([row["part"] or 0 for row in held] + [0])
                if top > self._reserved:
                    self._conn.execute("UPDATE meta SET value = ? WHERE key = 'part_reserved'",
                                       (str(top + RESERVE),))
                self._apply(updates, alerts)
                self._conn.execute("COMMIT")
            except sqlite3.Error as e:
                self._rollback()
                self._failing = f"the result log cannot write: {e}"
                return
            if top > self._reserved:
                self._reserved = top + RESERVE
            for row, row_id in zip(held, ids):       # unfinished rows now finish against the file
                key = (row["part"] or 0, row["shadow"])
                if self._open_rows.get(key) is row:
                    self._open_rows[key] = (row_id, row["image_state"], self._gen)
            self._held.clear()
            self._held_updates.clear()
            self._held_alerts.clear()
            self._failing = None
            lost = self.rows_lost
        self._report(f"the result log writes again: {len(held)} held rows written"
                     + (f"; {lost} rows could not be kept" if lost else ""))

    def _reopen(self) -> bool:
        """The data directory came back (or a new one is there): move the log into it."""
        if not self.data_dir.is_dir() or not os.access(self.data_dir, os.W_OK):
            return False
        try:
            new, _mode = self._connect()
            schema.create(new, str(self.path))
            moved = self._copy_rows(self._conn, new)
        except (OSError, sqlite3.Error, StudioError) as e:
            self._failing = f"the result log cannot be reopened in {self.data_dir}: {e}"
            return False
        with self._db:
            old, self._conn = self._conn, new
            self._identity = _identity(self.path)
            # rows have new ids in the new file: what still refers to the old ones follows them
            self._maps = {g: {k: moved[v] for k, v in m.items() if v in moved} for g, m in self._maps.items()}
            self._maps[self._gen] = moved
            self._gen += 1
            self._held_updates = deque((*u[:-1], moved.get(u[-1])) for u in self._held_updates)
        for conn in (old, self._ckpt):
            try:
                conn.close()
            except sqlite3.Error:
                pass
        self._ckpt = sqlite3.connect(str(self.path), timeout=0.0, check_same_thread=False, isolation_level=None)
        return True

    def _copy_rows(self, old: sqlite3.Connection, new: sqlite3.Connection) -> dict[int, int]:
        """Every row and alert the old file had (it stays readable while open) into the new one.

        Returns {id in the old file: id in the new one}."""
        try:
            rows = old.execute(f"SELECT id, {', '.join(schema.COLUMNS)} FROM results ORDER BY id").fetchall()
            alerts = old.execute(f"SELECT {', '.join(schema.ALERT_COLUMNS)} FROM alerts ORDER BY id").fetchall()
        except sqlite3.Error:
            rows, alerts = [], []           # the old file is unreadable too: what is held is all there is
        have = {(p, s): i for i, p, s in new.execute("SELECT id, part, shadow FROM results")}
        moved: dict[int, int] = {}
        state_at = schema.COLUMNS.index("image_state") + 1
        path_at = schema.COLUMNS.index("image_path") + 1
        new.execute("BEGIN IMMEDIATE")
        for row in rows:
            values = list(row[1:])
            key = (values[0], values[schema.COLUMNS.index("shadow")])
            if key in have:
                moved[row[0]] = have[key]
                continue
            if row[state_at] == "saved" and row[path_at] and not (self.data_dir / row[path_at]).is_file():
                values[state_at - 1], values[path_at - 1] = "lost", None
            moved[row[0]] = new.execute(schema.INSERT, values).lastrowid
        if not new.execute("SELECT 1 FROM alerts LIMIT 1").fetchone():
            new.executemany(schema.INSERT_ALERT, alerts)
        new.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('part_reserved', ?)", (str(self._reserved),))
        new.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('open', '1')")
        try:    # the same log in a new file: the central store must see the same identity (no rows twice)
            uid = old.execute("SELECT value FROM meta WHERE key = 'log_uid'").fetchone()
        except sqlite3.Error:
            uid = None
        if uid:
            new.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('log_uid', ?)", (uid[0],))
        new.execute("COMMIT")
        self._report(f"the result log is reopened in {self.data_dir}: {len(rows)} rows carried over "
                     "from the file that went away")
        return moved

    def _checkpoint(self) -> None:
        self._last_ckpt = self._commits
        try:
            self._ckpt.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            self.checkpoints += 1
        except sqlite3.Error as e:
            log.info("WAL checkpoint skipped: %s", e)

    def _fill_sizes(self) -> None:
        """Images saved before schema 2 have no size: measure them, a few hundred per cycle."""
        if self.policy.quota_bytes is None or self._sizes_known:
            return
        with self._db:
            rows = self._conn.execute("SELECT id, image_path FROM results WHERE image_state = 'saved' "
                                      "AND image_bytes IS NULL LIMIT 500").fetchall()
        if not rows:
            self._sizes_known = True
            return
        sizes = []
        for row_id, path in rows:
            try:
                sizes.append((os.path.getsize(self.data_dir / path), row_id))
            except (OSError, TypeError):
                sizes.append((0, row_id))
        with self._db:
            try:
                self._conn.execute("BEGIN")
                self._conn.executemany("UPDATE results SET image_bytes = ? WHERE id = ?", sizes)
                self._conn.execute("COMMIT")
            except sqlite3.Error:
                self._rollback()
                return
        self._usage += sum(size for size, _ in sizes)

    def _enforce_quota(self) -> None:
        quota = self.policy.quota_bytes
        if quota is None:
            return
        used = self._usage + self._db_bytes()
        if used <= quota:
            self._over_quota = False
            return
        goal = int(quota * 0.95)
        pruned = 0
        while used > goal:
            with self._db:
                rows = self._conn.execute("SELECT id, image_path, image_bytes FROM results "
                                          "WHERE image_state = 'saved' AND verdict = 'pass' "
                                          "ORDER BY id LIMIT 200").fetchall()
            if not rows:
                break
            done = []
            for row_id, path, size in rows:
                if used <= goal:
                    break
                done.append((row_id,))
                try:
                    (self.data_dir / path).unlink()
                except FileNotFoundError:
                    pass
                except OSError as e:
                    self._report(f"could not delete {path} to keep under the quota: {e}")
                used -= size or 0
                self._usage -= size or 0
            with self._db:
                try:
                    self._conn.execute("BEGIN")
                    self._conn.executemany("UPDATE results SET image_state = 'pruned', image_path = NULL "
                                           "WHERE id = ?", done)
                    self._conn.execute("COMMIT")
                except sqlite3.Error as e:
                    self._rollback()
                    self._failing = f"the result log cannot write: {e}"
                    return
            pruned += len(done)
        if pruned:
            self._count("images_pruned", pruned)
        over = used > quota
        if over and not self._over_quota:
            self._report(f"the data directory is at its quota ({self.policy.quota_gb:g} GB) with no pass "
                         "images left to delete: new pass images are not kept; reject, fault and review "
                         "images still are")
        self._over_quota = over

    def _db_bytes(self) -> int:
        """The log file itself; its WAL is transient (checkpointed, and truncated to 4 MB)."""
        try:
            return os.path.getsize(self.path)
        except OSError:
            return 0

    def _watch_free_space(self) -> None:
        limit = self.policy.warn_free_gb * 1e9
        if limit <= 0 or time.monotonic() - self._last_free_warning < FREE_SPACE_REPEAT_S:
            return
        try:
            free = shutil.disk_usage(self.data_dir).free
        except OSError:
            return
        if free < limit:
            self._last_free_warning = time.monotonic()
            self._report(f"the data directory's disk has {free / 1e9:.2f} GB free, under the "
                         f"{self.policy.warn_free_gb:g} GB warning: set retention.quota_gb or free space")
