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
| 10 | station state: 0 stopped, 1 running, 2 faulted, 3 running but not logging (the result log cannot write; `on_log_failure: continue`), 4 watching only (shadow mode: the station inspects and logs, the verdict register stays 0; the PLC's own inspection decides) |
| 11 | model version short id (1..65535, from the model id; the studio shows it with the model), 0 none |

Registers 1..4 change together in one write, so a PLC that polls 0..4 in one
read never sees the counter of one part with the verdict of another. The PLC
detects a new part by a change of the part counter, and a dead station by a
heartbeat that stops changing. Registers 0..11 are read-only for the PLC.

The handshake block (addresses 20..47) is how smart cameras talk to a PLC:

| address | written by | meaning |
|---|---|---|
| 20 | PLC | PLC heartbeat: the PLC changes it at least every `plc_timeout_s` (station watchdog) |
| 21 | PLC | Trigger: the PLC toggles it (0 <-> 1) to ask for one inspection |
| 22 | PLC | ResultAck: the PLC copies ResultValid (33) here once it has read a result |
| 23-30 | PLC | part id for the next trigger: 16 ASCII characters, two per word (high byte first), NUL-padded |
| 31 | station | TriggerReady: 1 while the station waits for a trigger |
| 32 | station | TriggerAck: the station copies Trigger (21) here when it fires the camera for it |
| 33 | station | ResultValid: toggles (0 <-> 1) with every result, after 34..45 hold it |
| 34 | station | result: part counter (low 16 bits) |
| 35 | station | result: verdict (as register 2) |
| 36 | station | result: score x 1000 (as register 3) |
| 37 | station | result: defect class id (as register 4) |
| 38-45 | station | result: the part id the PLC gave with the trigger (as 23..30; empty when none) |
| 46 | station | trigger overruns: the PLC toggled Trigger again before TriggerAck (low 16 bits) |
| 47 | station | results not acknowledged: a result replaced before the PLC acknowledged it (low 16 bits) |

Only 20..30 and 50..59 accept writes; every other address refuses one (illegal address).

The incumbent block (addresses 50..59) is how a PLC reports its own inspection's verdict
(the incumbent: people or an existing AOI) while the station runs in shadow mode, for the
comparison before promotion (``studio.station.incumbent``):

| address | written by | meaning |
|---|---|---|
| 50 | PLC | incumbent: the station part counter (low 16 bits, as register 1 / 34) the verdict is for |
| 51 | PLC | incumbent: verdict, 1 pass or 2 reject; the station takes the verdict when this word is written |
| 52-59 | PLC | incumbent: the PLC's part id instead of the counter (as 23..30; all 0: keyed by the counter) |

Write 50..59 (or 50..51) in one write-multiple; the verdict (51) is the event, so write it
with the key, or last.
"""
from __future__ import annotations

import math
import zlib

from studio.core import verdicts as _verdicts

HEARTBEAT = 0
PART_COUNTER = 1
VERDICT = 2
SCORE = 3
DEFECT_CLASS = 4
RESERVED = range(5, 10)
STATE = 10
MODEL = 11
REGISTER_COUNT = 12          # addresses 0..11; a read of 12..19 is an illegal address

# ---- the handshake block (from address 20) ----
PLC_HEARTBEAT = 20
TRIGGER = 21
RESULT_ACK = 22
PART_ID_IN = 23
PART_ID_WORDS = 8            # 16 ASCII characters
PLC_WORDS = range(20, 31)    # the only addresses the PLC may write
TRIGGER_READY = 31
TRIGGER_ACK = 32
RESULT_VALID = 33
RESULT_PART_COUNTER = 34
RESULT_VERDICT = 35
RESULT_SCORE = 36
RESULT_CLASS = 37
RESULT_PART_ID = 38
TRIGGER_OVERRUNS = 46
RESULTS_UNACKED = 47
HANDSHAKE = 20               # first address of the block
HANDSHAKE_END = 48           # one past the last
STATION_WORDS = range(31, 48)
# ---- the incumbent block (from address 50): the PLC's own verdict, for shadow mode ----
INCUMBENT_PART_COUNTER = 50
INCUMBENT_VERDICT = 51
INCUMBENT_PART_ID = 52
INCUMBENT_WORDS = range(50, 60)     # written by the PLC only
IMAGE_SIZE = HANDSHAKE_END   # the station's register image: 0..11, a gap, 20..47 (what a Modbus client writes)
SERVED_SIZE = INCUMBENT_WORDS.stop  # ... and the incumbent block 50..59 (what a server link keeps and serves)

# the verdict codes written to RESULT_VERDICT / VERDICT: the one vocabulary in studio.core.verdicts
VERDICT_CODES = _verdicts.VERDICT_CODES
VERDICT_PASS, VERDICT_REJECT = _verdicts.VERDICT_PASS, _verdicts.VERDICT_REJECT
VERDICT_FAULT, VERDICT_REVIEW = _verdicts.VERDICT_FAULT, _verdicts.VERDICT_REVIEW

STATE_STOPPED = 0
STATE_RUNNING = 1
STATE_FAULTED = 2
STATE_LOG_FAILING = 3         # running, the result log cannot write (on_log_failure: continue)
STATE_WATCHING = 4            # shadow mode: inspecting and logging, no verdict given (verdict register 0)

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
           "(the result log cannot write; on_log_failure: continue), 4 watching only (shadow mode: "
           "inspects and logs, verdict register stays 0, the PLC's own inspection decides)"),
    ("11", "model version short id (1..65535, shown with the model in the studio), 0 none"),
]

HANDSHAKE_REGISTERS = [
    ("20", "PLC", "PLC heartbeat: the PLC changes it at least every `plc_timeout_s` (station watchdog)"),
    ("21", "PLC", "Trigger: the PLC toggles it (0 ↔ 1) to ask for one inspection"),
    ("22", "PLC", "ResultAck: the PLC copies ResultValid (33) here once it has read a result"),
    ("23–30", "PLC", "part id for the next trigger: 16 ASCII characters, two per word (high byte first), "
                     "NUL-padded"),
    ("31", "station", "TriggerReady: 1 while the station waits for a trigger"),
    ("32", "station", "TriggerAck: the station copies Trigger (21) here when it fires the camera for it"),
    ("33", "station", "ResultValid: toggles (0 ↔ 1) with every result, once 34–45 hold it"),
    ("34", "station", "result: part counter (low 16 bits)"),
    ("35", "station", "result: verdict (as register 2)"),
    ("36", "station", "result: score × 1000 (as register 3)"),
    ("37", "station", "result: defect class id (as register 4)"),
    ("38–45", "station", "result: the part id the PLC gave with the trigger (as 23–30; empty when none)"),
    ("46", "station", "trigger overruns: the PLC toggled Trigger again before TriggerAck (low 16 bits)"),
    ("47", "station", "results not acknowledged: a result replaced before the PLC acknowledged it "
                      "(low 16 bits)"),
]


INCUMBENT_REGISTERS = [
    ("50", "PLC", "incumbent: the station part counter (low 16 bits, as 1 / 34) the verdict is for"),
    ("51", "PLC", "incumbent: verdict, 1 pass or 2 reject; taken when this word is written"),
    ("52–59", "PLC", "incumbent: the PLC's part id instead of the counter (as 23–30; all 0: by the counter)"),
]


def incumbent_table() -> str:
    lines = ["| address | written by | meaning |", "|---|---|---|"]
    lines += [f"| {address} | {who} | {meaning} |" for address, who, meaning in INCUMBENT_REGISTERS]
    return "\n".join(lines)


def markdown_table() -> str:
    lines = ["| address | meaning |", "|---|---|"]
    lines += [f"| {address} | {meaning} |" for address, meaning in REGISTERS]
    return "\n".join(lines)


def handshake_table() -> str:
    lines = ["| address | written by | meaning |", "|---|---|---|"]
    lines += [f"| {address} | {who} | {meaning} |" for address, who, meaning in HANDSHAKE_REGISTERS]
    return "\n".join(lines)


def part_id_words(part_id: str | None) -> list[int]:
    """A part id as PART_ID_WORDS words: ASCII, two characters a word, high byte first, NUL-padded.

    Longer ids are cut to 16 characters; a character outside ASCII becomes '?'."""
    data = (part_id or "").encode("ascii", errors="replace")[:PART_ID_WORDS * 2]
    data = data.ljust(PART_ID_WORDS * 2, b"\0")
    return [(data[i] << 8) | data[i + 1] for i in range(0, len(data), 2)]


def part_id_text(words: list[int]) -> str:
    """The part id in PART_ID_WORDS words (see ``part_id_words``); stops at the first NUL."""
    data = bytearray()
    for w in words[:PART_ID_WORDS]:
        data += bytes(((int(w) >> 8) & 0xFF, int(w) & 0xFF))
    data = bytes(data).split(b"\0", 1)[0]
    return "".join(chr(b) if 32 <= b < 127 else "?" for b in data).strip()


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
