"""The link from the station to the PLC (see ``register_map`` for the contract)."""
from studio.plc.base import PLC_LINKS, PlcLink, PlcTrigger, open_plc, spec_help  # noqa: F401
from studio.plc.register_map import (  # noqa: F401
    STATE_FAULTED, STATE_RUNNING, STATE_STOPPED, VERDICT_CODES, VERDICT_FAULT, VERDICT_PASS, VERDICT_REJECT,
)
