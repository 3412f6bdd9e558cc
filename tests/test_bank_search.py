"""The anomaly graph's nearest-patch search in 8 bits (studio.inference.bank_search), in ONNX Runtime."""
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from studio.inference import bank_search
from studio.training.anomaly import build_graph
from studio.training.anomaly_levers import TileGrid
from studio.training.export import to_onnx

D, STRIDE = 16, 4


def features():
    """A stand-in feature extractor with the real one's shape: [N, 3, S, S] -> [N, D, S/4, S/4]."""
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, D, STRIDE, stride=STRIDE)
    return torch.nn.Sequential(conv, torch.nn.ReLU()).eval()


def graph_bytes(bank_size=300, chunk=4096, tiles=None, size=32):
    feats = features()
    rng = np.random.default_rng(1)
    # the bank: patches of "good" images, so queries have close neighbours as in a real fit
    good = torch.from_numpy(rng.random((8, 3, size, size), np.float32))
    with torch.no_grad():
        f = feats(good if tiles is None else tiles.cut(good))
    patches = f.permute(0, 2, 3, 1).reshape(-1, D)
    bank = patches[torch.from_numpy(rng.choice(len(patches), bank_size, replace=False))]
    graph = build_graph(feats, bank, chunk=chunk, tiles=tiles)
    x = torch.from_numpy(rng.random((2, 3, size, size), np.float32))
    return to_onnx(graph, x, ["score", "anomaly_map"]), feats, bank


def run(data, x):
    so = ort.SessionOptions()
    so.log_severity_level = 3
    return ort.InferenceSession(data, so, providers=["CPUExecutionProvider"]).run(None, {"image": x})


def brute_force(feats, bank, x):
    """Every patch's exact nearest-bank distance, in float64 (before the map's blur)."""
    with torch.no_grad():
        f = feats(torch.from_numpy(x)).double()
    q = f.permute(0, 2, 3, 1).reshape(-1, D)
    return torch.cdist(q, bank.double()).min(1).values.numpy()


def inputs(n=6, size=32, seed=7):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 3, size, size), np.float32)
    x[0, :, 8:16, 8:16] = 4.0          # a bright "defect", unlike any good patch, on the first part
    return x


def ops(data):
    return [n.op_type for n in onnx.load_from_string(data).graph.node]


def test_the_search_becomes_an_integer_product_and_the_float_bank_goes():
    data, _, _ = graph_bytes()
    fast, n = bank_search.int8_search(data)
    assert n == 1
    kinds = ops(fast)
    assert "Gemm" not in kinds and kinds.count("MatMulIntegerToFloat") == 1 and "DynamicQuantizeLinear" in kinds
    assert "ArgMin" not in kinds and kinds.count("TopK") == 1
    # the neighbour is gathered from the bank's rows: no column gather + transpose left
    model = onnx.load_from_string(fast)
    names = {i.name for i in model.graph.initializer}
    assert not any(name.startswith("bank_t") for name in names)      # the float [D, M] bank is no longer used
    assert {"int8_search0_bank", "int8_search0_rows"} <= names
    assert any(n.op_type == "Gather" and n.input[0] == "int8_search0_rows" for n in model.graph.node)
    onnx.checker.check_model(model)


def test_distances_are_exact_or_a_rounding_step_farther_never_nearer():
    data, feats, bank = graph_bytes()
    x = inputs()
    exact_scores, exact_maps = run(data, x)
    scores, maps = run(bank_search.int8_search(data)[0], x)
    assert maps.shape == exact_maps.shape
    # never below the exact graph's map (it is the distance to *a* bank patch), and close to it
    assert (maps >= exact_maps - 1e-5).all()
    assert np.allclose(scores, exact_scores, rtol=0.02)
    assert np.argmax(scores) == 0 == np.argmax(exact_scores)        # the defect is still the worst part
    # most patches find their exact neighbour: compare the unblurred distances with brute force
    fast_graph = bank_search.int8_search(data)[0]
    model = onnx.load_from_string(fast_graph)
    sqrt = next(n for n in model.graph.node if n.op_type == "Sqrt")
    model.graph.output.append(onnx.helper.make_tensor_value_info(sqrt.output[0], onnx.TensorProto.FLOAT, None))
    so = ort.SessionOptions()
    so.log_severity_level = 3
    dist = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"]) \
        .run([sqrt.output[0]], {"image": x})[0].reshape(-1)
    truth = brute_force(feats, bank, x)
    assert (dist >= truth - 1e-4).all()
    assert np.mean(np.isclose(dist, truth, rtol=1e-4, atol=1e-5)) > 0.9


def test_a_bank_in_several_chunks_and_a_tiled_graph():
    data, _, _ = graph_bytes(bank_size=300, chunk=128)
    fast, n = bank_search.int8_search(data)
    assert n == 3 and "Gemm" not in ops(fast)
    x = inputs()
    (s0, m0), (s1, m1) = run(data, x), run(fast, x)
    assert (m1 >= m0 - 1e-5).all() and np.allclose(s1, s0, rtol=0.02)

    tiles = TileGrid(2, 32, STRIDE)
    data, _, _ = graph_bytes(tiles=tiles, size=tiles.input_size)
    fast, n = bank_search.int8_search(data)
    assert n == 1
    x = inputs(size=tiles.input_size)
    (s0, m0), (s1, m1) = run(data, x), run(fast, x)
    assert m1.shape == m0.shape == (6, 1, tiles.map_size, tiles.map_size)
    assert (m1 >= m0 - 1e-5).all() and np.allclose(s1, s0, rtol=0.02)


def test_a_graph_without_a_bank_search_is_left_as_it_is():
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten(), torch.nn.LazyLinear(2)).eval()
    x = torch.rand(1, 3, 16, 16)
    net(x)
    data = to_onnx(net, x, ["logits"])
    assert bank_search.int8_search(data) == (data, 0)
    assert bank_search.for_cpu(data) == (data, "exact")
    session, search = bank_search.session(data, ort.SessionOptions(), ["CPUExecutionProvider"])
    assert search == "exact" and session.get_outputs()[0].name == "logits"


def test_damaged_bytes_run_as_they_are_and_fail_as_onnx_runtime_would():
    assert bank_search.for_cpu(b"not a model") == (b"not a model", "exact")
    with pytest.raises(Exception, match="(?i)protobuf|parsing|load"):  # noqa: B017 - ONNX Runtime's own error
        bank_search.session(b"not a model", ort.SessionOptions(), ["CPUExecutionProvider"])


def test_a_gpu_session_keeps_the_exact_graph(monkeypatch):
    data, _, _ = graph_bytes()
    seen = []
    monkeypatch.setattr(ort, "InferenceSession", lambda d, o, providers: seen.append(d) or "session")
    assert bank_search.session(data, None, ["CUDAExecutionProvider", "CPUExecutionProvider"]) == ("session", "exact")
    assert seen == [data]
    assert bank_search.session(data, None, ["CPUExecutionProvider"])[1] == "int8" and seen[1] != data


def test_the_selfcheck_runs_a_small_search_both_ways():
    assert "8-bit" in bank_search.check()
