"""Every kernel task in the catalog is complete and its inputs can catch a wrong kernel.

No Triton here (and no GPU): these read the task modules and the seed files' text, so
they run wherever PyTorch does. Running the seeds is the kernel evaluator's business.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from types import ModuleType

import pytest

torch = pytest.importorskip("torch")

import evoforge.kernels  # noqa: E402
from evoforge.kernels.catalog import ENTRIES  # noqa: E402
from evoforge.kernels.spec import DEFAULT_TOLERANCES, KernelSpec  # noqa: E402

KERNELS_DIR = Path(evoforge.kernels.__file__).parent
SEEDS_DIR = KERNELS_DIR / "seeds"
TASKS_DIR = KERNELS_DIR / "tasks"
NAMES = [entry.name for entry in ENTRIES]
START, END = "EVOLVE-BLOCK-START", "EVOLVE-BLOCK-END"
CPU = torch.device("cpu")


def task_module(name: str) -> ModuleType:
    return importlib.import_module(f"evoforge.kernels.tasks.{name}")


def spec_of(name: str) -> KernelSpec:
    return task_module(name).SPEC


def draw(spec: KernelSpec, seed: int, dtype: str | None = None) -> tuple:
    dtype = dtype or spec.cpu_dtype
    generator = torch.Generator().manual_seed(seed)
    return spec.make_inputs(spec.cpu_shape, getattr(torch, dtype), CPU, generator)


def tensors(inputs: tuple) -> list:
    return [value for value in inputs if isinstance(value, torch.Tensor)]


def test_catalog_names_are_unique_and_vector_add_comes_first() -> None:
    assert len(set(NAMES)) == len(NAMES)
    assert NAMES[0] == "vector_add"


def test_every_task_module_is_in_the_catalog() -> None:
    modules = {p.stem for p in TASKS_DIR.glob("*.py") if p.stem != "__init__"}
    assert modules == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_task_module_defines_the_spec_for_its_entry(name: str) -> None:
    module = task_module(name)
    for attribute in ("reference", "make_inputs", "roofline", "SPEC"):
        assert hasattr(module, attribute), f"{name}: no {attribute}"
    spec = module.SPEC
    assert isinstance(spec, KernelSpec)
    assert spec.name == name
    for dtype in (spec.gpu_dtype, spec.cpu_dtype):
        assert dtype in DEFAULT_TOLERANCES
        assert spec.tolerance(dtype).atol > 0 and spec.tolerance(dtype).rtol > 0
    assert set(spec.gpu_shape) == set(spec.cpu_shape)


@pytest.mark.parametrize("name", NAMES)
def test_seed_has_an_evolve_block_with_forward_and_a_jit_kernel(name: str) -> None:
    path = SEEDS_DIR / f"{name}.py"
    assert path.is_file(), f"no seed file {path}"
    source = path.read_text()
    assert source.count(START) == 1 and source.count(END) == 1
    start, end = source.index(START), source.index(END)
    assert start < end
    tree = ast.parse(source)
    block_lines = range(source[:start].count("\n") + 1, source[:end].count("\n") + 1)
    functions = {
        node.name: node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.lineno in block_lines
    }
    assert "forward" in functions, f"{name}: no forward() inside the evolve block"
    jitted = [
        fn
        for fn in functions.values()
        for decorator in fn.decorator_list
        if ast.unparse(decorator) == "triton.jit"
    ]
    assert jitted, f"{name}: no @triton.jit kernel inside the evolve block"


@pytest.mark.parametrize("name", NAMES)
def test_make_inputs_is_deterministic_per_seed_and_differs_across_seeds(name: str) -> None:
    spec = spec_of(name)
    first, again, other = draw(spec, 1), draw(spec, 1), draw(spec, 2)
    assert len(first) == len(again) == len(other)
    for a, b in zip(tensors(first), tensors(again), strict=True):
        assert torch.equal(a, b)
    assert any(not torch.equal(a, c) for a, c in zip(tensors(first), tensors(other), strict=True))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("which", ["cpu", "gpu"])
def test_inputs_are_not_constant_and_have_the_requested_dtype(name: str, which: str) -> None:
    spec = spec_of(name)
    dtype = spec.cpu_dtype if which == "cpu" else spec.gpu_dtype
    inputs = tensors(draw(spec, 3, dtype))
    assert inputs
    for value in inputs:
        assert value.device == CPU
        assert value.numel() > 1
        assert value.min() != value.max(), f"{name}: a constant input hides wrong kernels"
        if value.is_floating_point():
            assert value.dtype == getattr(torch, dtype)
            assert torch.isfinite(value).all()


@pytest.mark.parametrize("name", NAMES)
def test_reference_runs_on_the_cpu_inputs_without_changing_them(name: str) -> None:
    spec = spec_of(name)
    inputs = draw(spec, 4)
    before = [value.clone() for value in tensors(inputs)]
    out = spec.reference(*inputs)
    assert isinstance(out, torch.Tensor)
    assert torch.isfinite(out).all()
    for now, then in zip(tensors(inputs), before, strict=True):
        assert torch.equal(now, then)


@pytest.mark.parametrize("name", NAMES)
def test_roofline_is_positive_for_both_shapes(name: str) -> None:
    spec = spec_of(name)
    for shape, dtype in ((spec.gpu_shape, spec.gpu_dtype), (spec.cpu_shape, spec.cpu_dtype)):
        element_bytes = torch.finfo(getattr(torch, dtype)).bits // 8
        moved, flops = spec.roofline(shape, element_bytes)
        assert moved > 0, f"{name}: the roofline moves no bytes for {shape}"
        assert flops >= 0
    gpu_bytes, _ = spec.roofline(spec.gpu_shape, 2)
    cpu_bytes, _ = spec.roofline(spec.cpu_shape, 2)
    assert gpu_bytes > cpu_bytes


@pytest.mark.parametrize("name", NAMES)
def test_cpu_shape_is_not_a_multiple_of_block_sizes(name: str) -> None:
    spec = spec_of(name)
    assert any(size % 16 for size in spec.cpu_shape.values()), (
        f"{name}: a CPU shape of multiples of 16 leaves the masks untested"
    )
