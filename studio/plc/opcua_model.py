"""The station's OPC UA address space: the contract any OPC UA client can rely on.

Namespace ``urn:inspection-studio:station`` (look its index up by URI; it is
2 on this server today). Every node has a string NodeId equal to its browse
path, e.g. ``ns=<i>;s=InspectionStation.Verdict``.

    Objects/
      InspectionStation                   (emits ResultReadyEventType, one event per part)
        Heartbeat      UInt32   advances at least once a second while the station is healthy
        PartCounter    UInt32   station part number of the last part (changes last of a part's variables)
        PartId         String   the PLC's id of the last part ("" when it gave none)
        Verdict        Int32    1 pass, 2 reject, 3 fault, 4 review (as on Modbus)
        Score          Double   the model's score of the last part (NaN: none)
        DefectClassId  Int32    0 none; ids from the criteria document
        DefectClass    String   the class name ("" none)
        State          String   starting, running, shadow, faulted, stopped
        ModelId        String   the model that decides
        PlcHeartbeat   UInt32   WRITABLE by the PLC: its own heartbeat (the station's PLC watchdog)
        IncumbentPartCounter UInt32  WRITABLE: the station part number the PLC's own verdict is for
        IncumbentPartId      String  WRITABLE: ... or the PLC's part id ("" : by the counter)
        IncumbentVerdict     Int32   WRITABLE: the PLC's own inspection said 1 pass / 2 reject (shadow mode);
                                     taken when written: write the key first
        Trigger(PartId: String) -> ResultPartCounter: UInt32
      VisionSystem                        (OPC 40100-1 subset, namespace urn:inspection-studio:machine-vision)
        VisionStateMachine
          CurrentState  LocalizedText  Preoperational | Halted | Error | Operational
          Halt() Reset() SelectModeAutomatic()
          AutomaticModeStateMachine
            CurrentState  LocalizedText  Initialized | Ready | SingleExecution | ContinuousExecution
            StartSingleJob(PartId: String) -> JobId: String
            StartContinuous() Stop() Abort()
        ResultManagement                  (emits the Machine Vision ResultReadyEventType)

``ROWS`` below is that table for the README (``markdown_table()``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

NAMESPACE = "urn:inspection-studio:station"
MV_NAMESPACE = "urn:inspection-studio:machine-vision"
STATION = "InspectionStation"
VISION = "VisionSystem"
TRIGGER_ACCEPT_S = 2.0      # the station takes a PLC trigger within this, or the PLC gets Bad_Timeout

# name, OPC UA type, initial value, meaning; the result variables are written together
VARIABLES: list[tuple[str, str, Any, str]] = [
    ("Heartbeat", "UInt32", 0, "advances at least once a second while the station is healthy; "
                               "stops when it stops or faults"),
    ("PartCounter", "UInt32", 0, "station part number of the last part (the last of a part's variables "
                                 "to change: read the others on its change)"),
    ("PartId", "String", "", "the PLC's id of the last part (from Trigger); empty when none was given"),
    ("Verdict", "Int32", 0, "1 pass, 2 reject, 3 fault (always a reject), 4 review (never a pass); "
                            "0 before the first part"),
    ("Score", "Double", float("nan"), "the model's score of the last part; NaN when it gave none"),
    ("DefectClassId", "Int32", 0, "defect class id of the last part (0 none; ids from the criteria document)"),
    ("DefectClass", "String", "", "defect class name of the last part (empty: none)"),
    ("State", "String", "starting", "starting, running, shadow, faulted or stopped"),
    ("ModelId", "String", "", "id of the model that decides (empty: none loaded)"),
    ("PlcHeartbeat", "UInt32", 0, "written by the PLC: change it at least every "
                                  "plc_timeout_s and the station knows the PLC listens"),
    ("IncumbentPartCounter", "UInt32", 0, "written by the PLC (shadow mode): the station part number its own "
                                          "inspection's verdict is for"),
    ("IncumbentPartId", "String", "", "written by the PLC (shadow mode): its part id the verdict is for, "
                                      "instead of the counter (empty: by IncumbentPartCounter)"),
    ("IncumbentVerdict", "Int32", 0, "written by the PLC (shadow mode): its own inspection's verdict, 1 pass "
                                     "or 2 reject; taken when written, so write the key first"),
]
# one part's variables, in the order they change (PartCounter last)
RESULT_VARIABLES = ("PartId", "Verdict", "Score", "DefectClassId", "DefectClass", "PartCounter")
WRITABLE = ("PlcHeartbeat", "IncumbentPartCounter", "IncumbentPartId", "IncumbentVerdict")

RESULT_EVENT_FIELDS = [("PartCounter", "UInt32"), ("PartId", "String"), ("Verdict", "Int32"),
                       ("Score", "Double"), ("DefectClassId", "Int32"), ("DefectClass", "String")]
MV_EVENT_FIELDS = [("ResultId", "String"), ("JobId", "String"), ("PartId", "String"), ("IsPartial", "Boolean"),
                   ("ResultState", "Int32"), ("ResultContent", "String")]      # ResultContent: String array

VISION_STATES = ("Preoperational", "Halted", "Error", "Operational")
AUTOMATIC_STATES = ("Initialized", "Ready", "SingleExecution", "ContinuousExecution")

ROWS = [(name, kind, meaning) for name, kind, _, meaning in VARIABLES] + [
    ("Trigger(PartId: String) → ResultPartCounter: UInt32", "Method",
     "inspect one part now: returns the part number the station gave it (Bad_Timeout when the station does "
     f"not take the trigger within {TRIGGER_ACCEPT_S:g} s, Bad_InvalidState when halted, not running or running free without PLC triggers)"),
    ("ResultReadyEventType", "Event", "one per part, from InspectionStation: PartCounter, PartId, Verdict, Score, "
                                      "DefectClassId, DefectClass (all of one part, in one notification)"),
]


def markdown_table() -> str:
    lines = ["| node (under Objects/InspectionStation) | type | meaning |", "|---|---|---|"]
    lines += [f"| {name} | {kind} | {meaning} |" for name, kind, meaning in ROWS]
    return "\n".join(lines)


def node_id_text(path: str) -> str:
    """The string NodeId of a node, e.g. ``InspectionStation.Verdict``."""
    return path


@dataclass
class Built:
    ns: int
    mv_ns: int
    variables: dict[str, Any] = field(default_factory=dict)      # name -> NodeId
    types: dict[str, Any] = field(default_factory=dict)          # name -> VariantType
    result_event: Any = None            # EventGenerator (InspectionStation)
    mv_event: Any = None                # EventGenerator (VisionSystem/ResultManagement)
    vision_state: Any = None            # NodeId of VisionStateMachine.CurrentState
    automatic_state: Any = None         # NodeId of AutomaticModeStateMachine.CurrentState


def _argument(name: str, kind: str, description: str) -> Any:
    from asyncua import ua

    arg = ua.Argument()
    arg.Name = name
    arg.DataType = ua.NodeId(getattr(ua.ObjectIds, kind))
    arg.ValueRank = -1
    arg.ArrayDimensions = []
    arg.Description = ua.LocalizedText(description)
    return arg


async def _event_type(server: Any, ns: int, fields: list[tuple[str, str]]) -> Any:
    """``ResultReadyEventType`` (NodeId ``ns=<ns>;s=ResultReadyEventType``) under BaseEventType."""
    from asyncua import ua

    base = server.get_node(ua.NodeId(ua.ObjectIds.BaseEventType))
    etype = await base.add_object_type(ua.NodeId("ResultReadyEventType", ns),
                                       ua.QualifiedName("ResultReadyEventType", ns))
    for name, kind in fields:
        vtype = getattr(ua.VariantType, kind)
        await etype.add_property(ua.NodeId(f"ResultReadyEventType.{name}", ns), ua.QualifiedName(name, ns),
                                 ua.get_default_value(vtype), varianttype=vtype)
    return etype


async def build(server: Any, methods: dict[str, Callable[..., Awaitable[Any]]]) -> Built:
    """Add the station's nodes to ``server`` (before it starts). ``methods`` maps
    Trigger, Halt, Reset, SelectModeAutomatic, StartSingleJob, StartContinuous,
    Stop and Abort to their coroutines."""
    from asyncua import ua

    ns = await server.register_namespace(NAMESPACE)
    mv = await server.register_namespace(MV_NAMESPACE)
    out = Built(ns, mv)
    objects = server.nodes.objects

    station = await objects.add_object(ua.NodeId(STATION, ns), ua.QualifiedName(STATION, ns))
    for name, kind, initial, meaning in VARIABLES:
        vtype = getattr(ua.VariantType, kind)
        node = await station.add_variable(ua.NodeId(f"{STATION}.{name}", ns), ua.QualifiedName(name, ns),
                                          ua.Variant(initial, vtype), varianttype=vtype)
        await node.write_attribute(ua.AttributeIds.Description, ua.DataValue(ua.Variant(
            ua.LocalizedText(meaning), ua.VariantType.LocalizedText)))
        if name in WRITABLE:
            await node.set_writable(True)
        out.variables[name], out.types[name] = node.nodeid, vtype
    await station.add_method(ua.NodeId(f"{STATION}.Trigger", ns), ua.QualifiedName("Trigger", ns),
                             methods["Trigger"],
                             [_argument("PartId", "String", "the PLC's id of the part (may be empty)")],
                             [_argument("ResultPartCounter", "UInt32",
                                        "the part number the station gave this part; its result carries it")])

    etype = await _event_type(server, ns, RESULT_EVENT_FIELDS)
    out.result_event = await server.get_event_generator(etype, station)

    # ---- OPC 40100-1 (Machine Vision) subset ---------------------------------
    vision = await objects.add_object(ua.NodeId(VISION, mv), ua.QualifiedName(VISION, mv))
    machine = await vision.add_object(ua.NodeId(f"{VISION}.VisionStateMachine", mv),
                                      ua.QualifiedName("VisionStateMachine", mv))
    state = await machine.add_variable(ua.NodeId(f"{VISION}.VisionStateMachine.CurrentState", mv),
                                       ua.QualifiedName("CurrentState", 0),
                                       ua.LocalizedText("Preoperational"), varianttype=ua.VariantType.LocalizedText)
    out.vision_state = state.nodeid
    for name in ("Halt", "Reset", "SelectModeAutomatic"):
        await machine.add_method(ua.NodeId(f"{VISION}.VisionStateMachine.{name}", mv), ua.QualifiedName(name, mv),
                                 methods[name], [], [])
    auto = await machine.add_object(ua.NodeId(f"{VISION}.VisionStateMachine.AutomaticModeStateMachine", mv),
                                    ua.QualifiedName("AutomaticModeStateMachine", mv))
    auto_state = await auto.add_variable(
        ua.NodeId(f"{VISION}.VisionStateMachine.AutomaticModeStateMachine.CurrentState", mv),
        ua.QualifiedName("CurrentState", 0), ua.LocalizedText("Initialized"),
        varianttype=ua.VariantType.LocalizedText)
    out.automatic_state = auto_state.nodeid
    base = f"{VISION}.VisionStateMachine.AutomaticModeStateMachine"
    await auto.add_method(ua.NodeId(f"{base}.StartSingleJob", mv), ua.QualifiedName("StartSingleJob", mv),
                          methods["StartSingleJob"],
                          [_argument("PartId", "String", "the PLC's id of the part (may be empty)")],
                          [_argument("JobId", "String", "the job of this part; its ResultReady event carries it")])
    for name in ("StartContinuous", "Stop", "Abort"):
        await auto.add_method(ua.NodeId(f"{base}.{name}", mv), ua.QualifiedName(name, mv), methods[name], [], [])
    results = await vision.add_object(ua.NodeId(f"{VISION}.ResultManagement", mv),
                                      ua.QualifiedName("ResultManagement", mv))
    mv_type = await _event_type(server, mv, MV_EVENT_FIELDS)
    out.mv_event = await server.get_event_generator(mv_type, results)
    return out
