"""The float64 NumPy references are right: they match transformers (where a class exists) and
the golden tensors, and they have the properties their papers state.

Every golden directory under ``tests/models/golden/`` is checked here against a reference that
was written independently from the paper, so a golden tensor is trusted because two
independent implementations agree on it to 1e-10 in float64.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from safetensors.numpy import load_file

HERE = Path(__file__).resolve().parent
GOLDEN = HERE.parent / "golden"
TOL = 1e-10


def load_reference(name: str) -> ModuleType:
    """Import ``tests/models/reference/<name>.py`` by path (no package needed)."""
    spec = importlib.util.spec_from_file_location(f"kexue_reference_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_golden(name: str) -> tuple[dict, dict[str, np.ndarray], dict[str, np.ndarray]]:
    folder = GOLDEN / name
    config = json.loads((folder / "config.json").read_text())
    weights = load_file(str(folder / "model.safetensors"))
    return config, weights, load_file(str(folder / "io.safetensors"))


def max_abs(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a - b).max())


# --------------------------------------------------------------------------------------- NEZHA


@pytest.mark.parametrize(
    "name, keys",
    [("nezha", ["last_hidden_state", "pooler_output"]), ("nezha_mlm", ["logits"])],
)
def test_nezha_reference_matches_transformers_457_golden(name, keys):
    nezha = load_reference("nezha")
    config, weights, io = load_golden(name)
    assert config["model_type"] == "nezha"
    out = nezha.nezha_forward(
        weights, config, io["token_ids"], io["segment_ids"], io["attention_mask"]
    )
    assert io["attention_mask"].min() == 0, "the golden inputs must contain padding"
    for key in keys:
        assert io[key].dtype == np.float64
        assert max_abs(out[key], io[key]) <= TOL, key


def test_nezha_golden_depends_on_clipping_and_relative_values():
    """The golden is sensitive to what it should pin down: clipping at K=4 at length 12, and
    the relative encoding added to the values (not only to the keys)."""
    nezha = load_reference("nezha")
    config, weights, io = load_golden("nezha")
    args = (io["token_ids"], io["segment_ids"], io["attention_mask"])
    assert io["token_ids"].shape[1] > 2 * config["max_relative_position"]
    unclipped = nezha.nezha_forward(weights, dict(config, max_relative_position=20), *args)
    assert max_abs(unclipped["last_hidden_state"], io["last_hidden_state"]) > 1e-2

    no_value = nezha.nezha_forward(weights, config, *args, relative_values=False)
    assert max_abs(no_value["last_hidden_state"], io["last_hidden_state"]) > 1e-2


def test_nezha_relative_table_closed_form():
    """Row r of the table is [sin(r w_0), cos(r w_0), sin(r w_1), ...], w_k = 10000^(-2k/d);
    a_ij depends only on clip(j - i, -K, K)."""
    nezha = load_reference("nezha")
    table = nezha.relative_position_table(4, 8)
    assert table.shape == (9, 8)
    np.testing.assert_allclose(table[3, 2], np.sin(3 * 10000 ** (-2 / 8)), rtol=0, atol=1e-15)
    np.testing.assert_allclose(table[3, 3], np.cos(3 * 10000 ** (-2 / 8)), rtol=0, atol=1e-15)
    a = nezha.relative_positions(12, 4, 8)
    np.testing.assert_array_equal(a[0, 11], a[0, 4])  # j - i = 11 and 4 clip to the same row
    np.testing.assert_array_equal(a[2, 5], a[7, 10])  # same offset, same encoding
    assert not np.array_equal(a[0, 3], a[0, 4])
