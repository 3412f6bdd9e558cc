"""The audit trail's hash chain: edits, deletions and reorderings are found at the entry."""
import json

import pytest

from studio.audit import AuditTrail


def _trail(tmp_path, n=5):
    t = AuditTrail(tmp_path)
    for i in range(n):
        t.append("threshold.set", actor="eng", what=f"m{i}", before=0.5, after=0.5 + i / 10, reason="test")
    return t


def test_chain_verifies_and_reads(tmp_path):
    t = _trail(tmp_path)
    v = t.verify()
    assert v.ok and v.entries == 5
    es = list(t.entries())
    assert [e["seq"] for e in es] == [1, 2, 3, 4, 5]
    assert es[1]["prev"] == es[0]["hash"]
    assert t.last("threshold.set")["what"] == "m4"
    assert es[0]["time_utc"].endswith("+00:00")


@pytest.mark.parametrize("how", ["edit", "delete", "reorder"])
def test_tampering_is_found_at_the_entry(tmp_path, how):
    t = _trail(tmp_path)
    lines = t.path.read_text().splitlines(keepends=True)
    if how == "edit":
        e = json.loads(lines[2])
        e["after"] = 0.99
        lines[2] = json.dumps(e) + "\n"
    elif how == "delete":
        del lines[2]
    else:
        lines[2], lines[3] = lines[3], lines[2]
    t.path.write_text("".join(lines))
    v = t.verify()
    assert not v.ok
    assert v.broken_at == 3


def test_torn_last_line_is_cut_by_the_next_append(tmp_path):
    t = _trail(tmp_path, 2)
    with t.path.open("ab") as f:
        f.write(b'{"v": 1, "seq": 3, "act')
    assert not t.verify().ok
    t.append("signin", actor="op")
    v = t.verify()
    assert v.ok and v.entries == 3


def test_unknown_action_is_refused(tmp_path):
    with pytest.raises(ValueError):
        AuditTrail(tmp_path).append("made.up")
