"""The Modbus holding-register map the station serves to the PLC.

This table is the contract with the PLC programmer; the README copies it
(``markdown_table()`` prints it). Addresses are 0-based protocol addresses
(the PLC's "40001" is address 0). Every value is an unsigned 16-bit word.

| address | meaning |
|---|---|
| 0 | heartbeat: increments at least once a second while the station is healthy (wraps at 65536); stops when the station stops or faults |
| 1 | part counter (low 16 bits) |
| 2 | verdict of the last part: 1 pass, 2 reject, 3 fault (a fault is always a reject), 4 review (only with a review band: send the part to manual inspection; never a pass) |
| 3 | score of the last part x 1000, clamped to 0..65535 |
| 4 | defect class id of the last part (0 none; ids from the criteria document) |
| 5-9 | reserved (0) |
| 10 | station state: 0 stopped, 1 running, 2 faulted, 3 running but not logging (the result log cannot write; `on_log_failure: continue`) |
| 11 | model version short id (1..65535, from the model id; the studio shows it with the model), 0 none |

Registers 1..4 change together in one write, so a PLC that polls 0..4 in one
read never sees the counter of one part with the verdict of another. The PLC
detects a new part by a change of the part counter, and a dead station by a
heartbeat that stops changing. The registers are read-only for the PLC.
"""
from __future__ import annotations

import math
import zlib

HEARTBEAT = 0
PART_COUNTER = 1
VERDICT = 2
SCORE = 3
DEFECT_CLASS = 4
RESERVED = range(5, 10)
STATE = 10
MODEL = 11
REGISTER_COUNT = 12          # addresses 0..11; a read past 11 is an illegal address

VERDICT_PASS = 1
VERDICT_REJECT = 2
VERDICT_FAULT = 3
VERDICT_REVIEW = 4           # only when the model card has a review band
VERDICT_CODES = {"pass": VERDICT_PASS, "reject": VERDICT_REJECT, "fault": VERDICT_FAULT,
                 "review": VERDICT_REVIEW}

STATE_STOPPED = 0
STATE_RUNNING = 1
STATE_FAULTED = 2
STATE_LOG_FAILING = 3         # running, the result log cannot write (on_log_failure: continue)

WORD = 0xFFFF

REGISTERS = [
    ("0", "heartbeat: increments at least once a second while the station is healthy "
          "(wraps at 65536); stops when the station stops or faults"),
    ("1", "part counter (low 16 bits)"),
    ("2", "verdict of the last part: 1 pass, 2 reject, 3 fault (a fault is always a reject), 4 review "
          "(only with a review band: send the part to manual inspection; never a pass)"),
    ("3", "score of the last part × 1000, clamped to 0..65535"),
    ("4", "defect class id of the last part (0 none; ids from the criteria document)"),
    ("5–9", "reserved (0)"),
    ("10", "station state: 0 stopped, 1 running, 2 faulted, 3 running but not logging "
           "(the result log cannot write; on_log_failure: continue)"),
    ("11", "model version short id (1..65535, shown with the model in the studio), 0 none"),
]


def markdown_table() -> str:
    lines = ["| address | meaning |", "|---|---|"]
    lines += [f"| {address} | {meaning} |" for address, meaning in REGISTERS]
    return "\n".join(lines)


def word(value: int) -> int:
    """Clamp to an unsigned 16-bit register value."""
    return max(0, min(WORD, int(value)))


def score_word(score: float) -> int:
    """Score x 1000, rounded and clamped; no score (NaN) reads as 0."""
    if score is None or not math.isfinite(score):
        return WORD if score == math.inf else 0
    return word(round(score * 1000.0))


def result_words(part: int, verdict_code: int, score: float, class_id: int) -> list[int]:
    """Registers 1..4 for one part, in address order."""
    if verdict_code not in (VERDICT_PASS, VERDICT_REJECT, VERDICT_FAULT, VERDICT_REVIEW):
        raise ValueError(f"verdict code {verdict_code!r} is not 1 (pass), 2 (reject), 3 (fault) or 4 (review)")
    return [int(part) & WORD, verdict_code, score_word(score), word(class_id or 0)]


def model_short_id(model_id: str | None) -> int:
    """A 16-bit number a PLC can compare with the one shown for a model; 0 for none.

    The low 16 bits of the id's CRC-32 rather than a counter, so the same model gives the same
    number on every line PC without any shared state.
    """
    if not model_id:
        return 0
    return (zlib.crc32(model_id.encode("utf-8")) & WORD) or 1
