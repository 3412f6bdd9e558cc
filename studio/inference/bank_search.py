"""The anomaly model's nearest-patch search in 8 bits, for a CPU session.

An anomaly model finds, for every patch of a part, its nearest patch in the
memory bank: one Gemm ``||m||^2 - 2 q.m`` over the whole bank (``alpha`` -2, the
bank ``[D, M]`` and its squared norms ``[1, M]`` as constants), an ArgMin, then the
chosen neighbour's distance taken exactly. On the CPU that Gemm, its ArgMin and
the column gather that follows are two thirds of a 256 px part's graph
(benchmarks/README.md, "The bank search in 8 bits").

``int8_search`` rewrites such a graph for ONNX Runtime's CPU provider:

- the Gemm becomes ``DynamicQuantizeLinear`` on the patches (one scale a part)
  and ``MatMulIntegerToFloat`` against the bank in int8 with one scale per bank
  patch (ONNX Runtime's VNNI/AVX2 integer kernels), with ``-2`` and ``||m||^2``
  folded into its scale and bias. It only *chooses* the neighbour;
- the neighbour's index is taken by TopK(1) instead of ArgMin (it uses both
  threads), and its distance is still taken exactly, in float32, from the
  bank's rows (a row gather instead of the column gather plus transpose).

So a patch's distance is exact whenever the 8-bit search picks the same
neighbour, and otherwise the exact distance to a neighbour at most a rounding
step farther: never smaller than the true nearest distance. On the magnetic-tile test
set 1.7 % of the patches picked another neighbour, image scores moved by at
most 0.08 % and the image AUROC was unchanged (0.8745).

The model file stays the exact float graph (its digest, a GPU station, anomalib's
graph: all unchanged); the rewrite is made in memory when a CPU session loads it.
"""
from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)

MS_DOMAIN = "com.microsoft"


def _attrs(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _bank_gemm(node, inits) -> bool:
    """Is ``node`` a bank search: Gemm(q, bank [D, M], ||m||^2 [1, M]) with alpha -2?"""
    if node.op_type != "Gemm" or len(node.input) != 3 or node.input[1] not in inits or node.input[2] not in inits:
        return False
    a = _attrs(node)
    if a.get("alpha") != -2.0 or a.get("beta", 1.0) != 1.0 or a.get("transA", 0) or a.get("transB", 0):
        return False
    bank, sq = inits[node.input[1]], inits[node.input[2]]
    return len(bank.dims) == 2 and list(sq.dims) in ([1, bank.dims[1]], [bank.dims[1]])


def _copy(message, kind):
    out = kind()
    out.CopyFrom(message)
    return out


def int8_search(model_bytes: bytes) -> tuple[bytes, int]:
    """``model_bytes`` with every bank search in 8 bits -> (new bytes, number of searches rewritten).

    A graph without a bank search (a classifier, anomalib's graph) comes back as it was, with 0."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load_from_string(model_bytes)
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    original = list(graph.node)     # held, so that id() names each node for the whole rewrite
    gemms = [n for n in original if _bank_gemm(n, inits)]
    if not gemms:
        return model_bytes, 0
    consumers: dict[str, list] = {}
    for n in original:
        for name in n.input:
            consumers.setdefault(name, []).append(n)
    outputs = {o.name for o in graph.output}
    new_inits, drop, replace = [], set(), {}      # replace: id(old node) -> [new nodes] (or [] to delete)
    for k, gemm in enumerate(gemms):
        q, bank_name, sq_name = gemm.input
        bank = numpy_helper.to_array(inits[bank_name]).astype(np.float32)            # [D, M]
        sq = numpy_helper.to_array(inits[sq_name]).astype(np.float32).reshape(-1)    # [M]
        scale = np.abs(bank).max(axis=0) / 127.0
        scale[scale == 0] = 1.0
        p = f"int8_search{k}_"
        new_inits += [numpy_helper.from_array(np.clip(np.rint(bank / scale), -127, 127).astype(np.int8), p + "bank"),
                      numpy_helper.from_array((-2.0 * scale).astype(np.float32), p + "scale"),
                      numpy_helper.from_array(sq, p + "sq")]
        replace[id(gemm)] = [
            helper.make_node("DynamicQuantizeLinear", [q], [p + "q", p + "q_scale", p + "q_zero"], name=p + "quantize"),
            helper.make_node("MatMulIntegerToFloat", [p + "q", p + "bank", p + "q_scale", p + "scale", p + "q_zero",
                                                      "", p + "sq"], list(gemm.output), name=p + "search",
                             domain=MS_DOMAIN)]
        for j, user in enumerate(consumers.get(gemm.output[0], [])):
            # the neighbour's index: TopK(1) splits its rows over the threads, ArgMin runs on one
            # (1.2 vs 1.8 ms for 1,024 patches x 4,096)
            a = _attrs(user)
            if user.op_type == "ArgMin" and a.get("axis") == 1 and a.get("keepdims") == 0 \
                    and not a.get("select_last_index", 0):
                p = f"int8_search{k}_{j}_"
                new_inits += [numpy_helper.from_array(np.array([1], np.int64), p + "k"),
                              numpy_helper.from_array(np.array([1], np.int64), p + "axis")]
                replace[id(user)] = [
                    helper.make_node("TopK", [user.input[0], p + "k"], [p + "d2_min", p + "nearest"], axis=1,
                                     largest=0, sorted=1, name=p + "nearest"),
                    helper.make_node("Squeeze", [p + "nearest", p + "axis"], list(user.output), name=p + "index")]
        p = f"int8_search{k}_"
        rows = None
        for user in consumers.get(bank_name, []):
            if user is gemm:
                continue
            after = consumers.get(user.output[0], []) if user.output else []
            if user.op_type == "Gather" and user.input[0] == bank_name and _attrs(user).get("axis") == 1 \
                    and len(after) == 1 and after[0].op_type == "Transpose" \
                    and list(_attrs(after[0]).get("perm", [])) == [1, 0] and user.output[0] not in outputs:
                if rows is None:
                    rows = p + "rows"
                    new_inits.append(numpy_helper.from_array(np.ascontiguousarray(bank.T), rows))
                replace[id(user)] = [helper.make_node("Gather", [rows, user.input[1]], list(after[0].output),
                                                      name=p + "neighbour", axis=0)]
                replace[id(after[0])] = []
        if all(id(u) in replace for u in consumers.get(bank_name, [])) and bank_name not in outputs:
            drop.add(bank_name)
    nodes = [m for n in original for m in replace.get(id(n), [n])]
    used = {name for n in nodes for name in n.input}
    drop |= {name for name in (g.input[2] for g in gemms) if name not in used}
    kept = [i for i in graph.initializer if i.name not in drop]
    # copies first: a message taken from a repeated field may not outlive its removal from it
    nodes, kept = [_copy(n, onnx.NodeProto) for n in nodes], [_copy(i, onnx.TensorProto) for i in kept]
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(kept + new_inits)
    if not any(o.domain == MS_DOMAIN for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(MS_DOMAIN, 1))
    return model.SerializeToString(), len(gemms)


def for_cpu(model_bytes: bytes, what: str = "model") -> tuple[bytes, str]:
    """The bytes a CPU session should load, and the search they do: "int8" or "exact".

    A graph the rewrite cannot handle is run as it is (logged): the exact search is
    slower, never wrong."""
    try:
        data, n = int8_search(model_bytes)
    except Exception as e:  # noqa: BLE001 - an unexpected graph: run it exactly as exported
        log.warning("the %s's bank search stays in float32 (%s)", what, str(e).splitlines()[0][:200] if str(e) else e)
        return model_bytes, "exact"
    return (data, "int8") if n else (model_bytes, "exact")


def session(model_bytes: bytes, options, providers, what: str = "model"):
    """An ONNX Runtime session for ``model_bytes`` -> (session, "int8" or "exact").

    Without the CUDA provider the 8-bit search is used where the graph has a bank
    search and this ONNX Runtime loads it; otherwise the graph as exported. A file
    ONNX Runtime cannot load at all raises its error, as loading it plainly would."""
    import onnxruntime as ort

    providers = list(providers)
    if "CUDAExecutionProvider" not in providers:
        fast, search = for_cpu(model_bytes, what)
        if search == "int8":
            try:
                return ort.InferenceSession(fast, options, providers=providers), search
            except Exception as e:  # noqa: BLE001 - e.g. an ONNX Runtime without the integer kernels
                log.warning("the %s's 8-bit bank search cannot load (%s); it runs in float32", what,
                            str(e).splitlines()[0][:200] if str(e) else e)
    return ort.InferenceSession(model_bytes, options, providers=providers), "exact"


def check() -> str:
    """``studio selfcheck``: a small bank search as the anomaly export writes it, rewritten and run
    here in 8 bits against the float graph. Raises RuntimeError when the two disagree."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    bank = rng.standard_normal((16, 64)).astype(np.float32)                  # [D, M]
    queries = (bank[:, rng.integers(0, 64, 32)].T + 0.05 * rng.standard_normal((32, 16))).astype(np.float32)
    nodes = [helper.make_node("Gemm", ["q", "bank_t", "bank_sq"], ["d2"], alpha=-2.0),
             helper.make_node("ArgMin", ["d2"], ["i"], axis=1, keepdims=0),
             helper.make_node("Gather", ["bank_t", "i"], ["cols"], axis=1),
             helper.make_node("Transpose", ["cols"], ["best"], perm=[1, 0]),
             helper.make_node("Sub", ["q", "best"], ["diff"]), helper.make_node("Mul", ["diff", "diff"], ["sq"]),
             helper.make_node("ReduceSum", ["sq", "axis"], ["d"], keepdims=0)]
    graph = helper.make_graph(nodes, "bank-search-check", [helper.make_tensor_value_info("q", TensorProto.FLOAT,
                                                                                          [32, 16])],
                              [helper.make_tensor_value_info("d", TensorProto.FLOAT, [32])],
                              [numpy_helper.from_array(bank, "bank_t"),
                               numpy_helper.from_array((bank * bank).sum(0)[None, :], "bank_sq"),
                               numpy_helper.from_array(np.array([1], np.int64), "axis")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = min(model.ir_version, 9)
    exact = model.SerializeToString()
    fast, n = int8_search(exact)
    if n != 1:
        raise RuntimeError("the bank search was not recognised")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    run = {k: ort.InferenceSession(b, options, providers=["CPUExecutionProvider"]).run(None, {"q": queries})[0]
           for k, b in (("exact", exact), ("int8", fast))}
    truth = ((queries[:, None, :] - bank.T[None]) ** 2).sum(-1).min(1)
    if not np.allclose(run["exact"], truth, rtol=1e-4, atol=1e-5) or (run["int8"] < truth - 1e-4).any() \
            or not np.allclose(run["int8"], truth, rtol=0.05, atol=1e-3):
        raise RuntimeError("the 8-bit search's distances differ from the exact ones")
    return "8-bit on the CPU (MatMulIntegerToFloat), distances checked against the exact search"
