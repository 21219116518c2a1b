"""The ``datasets`` section through lllm's real entry point, and the installed ``lllm`` command.

These tests need the distribution installed (``pip install -e plugins/lllm-datasets``): lllm
finds the plugin the way it finds any third-party plugin, through ``lllm.plugins``. They use
the fixtures of lllm's pytest plugin (``lllm_package``, ``lllm_runtime``) and ``lllm.testing``.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lllm import ResourceLoadError, ResourceNotFoundError, ResourceTypeError, Runtime, load_package
from lllm._plugin_manager import list_plugins, reset_plugins
from lllm.testing import assert_keys, isolated_default_runtime, settle
from lllm_datasets import load_dataset
from lllm_datasets.readers import read_csv, read_jsonl

CITIES_CSV = "name,country,population\nParis,FR,2100000\nLyon,FR,520000\n\nOsaka,JP,2700000\n"
EVENTS_JSONL = '{"id": 1, "kind": "view"}\n\n   \n{"id": 2, "kind": "buy", "amount": 9.5}\n{"user": "ada", "id": 3}\n'

#: qualified key → source file (relative to the package) of the ``shop`` package's datasets.
SHOP_DATASETS = {
    "shop.datasets:_drafts/old": "datasets/_drafts/old.csv",
    "shop.datasets:cities": "datasets/cities.csv",
    "shop.datasets:empty": "datasets/empty.csv",
    "shop.datasets:nested/events": "datasets/nested/events.jsonl",
    "shop.datasets:upper": "datasets/upper.CSV",
    "shop.datasets:raw/2024/q1": "exports/2024/q1.csv",
}

PackageFactory = Callable[..., Path]


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def fresh_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Entry-point plugins read afresh, with nothing switched off, before and after each test."""
    for name in ("LLLM_DISABLE_PLUGINS", "LLLM_PLUGINS_AUTOLOAD", "LLLM_STRICT_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    reset_plugins()
    yield
    reset_plugins()


@pytest.fixture
def shop(lllm_package: PackageFactory) -> Path:
    """A package with datasets at several depths, a prefixed folder and files to skip."""
    return lllm_package(
        {
            "datasets/cities.csv": CITIES_CSV,
            "datasets/empty.csv": "name,country\n",
            "datasets/nested/events.jsonl": EVENTS_JSONL,
            "datasets/upper.CSV": "a,b\n1,2\n",
            "datasets/notes.txt": "not a dataset\n",
            "datasets/data.json": '[{"not": "a dataset"}]\n',
            "datasets/_private.csv": "a\n1\n",
            "datasets/.hidden.jsonl": '{"a": 1}\n',
            "datasets/_drafts/old.csv": "a\n1\n",
            "datasets/.cache/stale.jsonl": '{"a": 1}\n',
            "exports/2024/q1.csv": "sku,qty\nA1,3\n",
            "prompts/hello.md": "Hello {name}.\n",
        },
        name="shop",
        manifest='[datasets]\npaths = ["datasets", "exports under raw"]\n',
    )


@pytest.fixture
def rt(shop: Path, lllm_runtime: Runtime) -> Runtime:
    """A fresh runtime with ``shop`` loaded strictly (any load problem fails the test)."""
    load_package(shop, runtime=lllm_runtime, strict=True)
    return lllm_runtime


# ------------------------------------------------------------------------ entry point


def test_plugin_is_found_through_its_entry_point() -> None:
    records = {r.name: r for r in list_plugins()}
    record = records.get("datasets")
    assert record is not None, sorted(records)
    assert record.distribution == "lllm-datasets"
    assert record.source == "lllm_datasets.plugin"
    assert record.status == "loaded", record.error
    assert not record.builtin
    [spec] = record.sections
    assert (spec.name, spec.resource_type, spec.folder_name) == ("datasets", "dataset", "datasets")


def test_importing_the_package_does_not_import_the_plugin_or_pluggy() -> None:
    code = "import sys, lllm_datasets, lllm_datasets.readers; print(sorted(m for m in ('pluggy', 'lllm_datasets.plugin') if m in sys.modules))"
    env = {**os.environ, "LLLM_AUTO_INIT": "0"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# ------------------------------------------------------------------------- discovery


def test_keys_are_file_paths_without_suffix_with_prefixes(rt: Runtime, shop: Path) -> None:
    assert_keys(rt, SHOP_DATASETS, "dataset")
    for key, relative in SHOP_DATASETS.items():
        node = rt.get_node(key)
        assert node.resource_type == "dataset"
        assert node.metadata["file_path"] == str(shop / relative)
        assert node.metadata["package"] == "shop"
        assert node.metadata["section"] == "datasets"
        assert node.metadata["plugin"] == "datasets"
    assert rt.get_node("shop.datasets:nested/events").metadata["format"] == "jsonl"
    assert rt.get_node("shop.datasets:upper").metadata["format"] == "csv"


def test_hidden_private_and_other_files_are_skipped(rt: Runtime) -> None:
    assert "shop.datasets:_drafts/old" in rt.keys("dataset")
    keys = rt.keys("dataset")
    # Hidden names and _ file names are skipped; a _ folder is walked (lllm's skip rules).
    for skipped in ("_private", ".hidden", ".cache/stale", "notes", "data"):
        assert f"shop.datasets:{skipped}" not in keys
    every_key = rt.keys()
    assert [k for k in every_key if k.startswith("shop.datasets:")] == sorted(SHOP_DATASETS)


def test_default_folder_without_a_datasets_table(
    lllm_package: PackageFactory, lllm_runtime: Runtime
) -> None:
    package = lllm_package(
        {"datasets/cities.csv": CITIES_CSV, "exports/ignored.csv": "a\n1\n"}, name="plain"
    )
    load_package(package, runtime=lllm_runtime, strict=True)
    assert_keys(lllm_runtime, ["plain.datasets:cities"], "dataset")


def test_discovery_is_lazy_and_reads_no_dataset_file(
    shop: Path, lllm_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    real_open = builtins.open

    def watching_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, (str, os.PathLike)):
            path = os.fspath(file)
            if isinstance(path, str) and (
                f"{os.sep}datasets{os.sep}" in path or f"{os.sep}exports{os.sep}" in path
            ):
                opened.append(path)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", watching_open)
    monkeypatch.setattr(io, "open", watching_open)
    runtime = lllm_runtime
    load_package(shop, runtime=runtime, strict=True)
    nodes = [runtime.get_node(key) for key in SHOP_DATASETS]
    assert opened == []
    assert not any(node.is_loaded for node in nodes)
    assert not any("rows" in node.metadata or "columns" in node.metadata for node in nodes)

    runtime.get("shop.datasets:cities")
    assert opened == [str(shop / "datasets" / "cities.csv")]
    assert [node.is_loaded for node in nodes] == [False, True, False, False, False, False]


@pytest.mark.skipif(os.name == "nt", reason="':' is not allowed in Windows file names")
def test_a_file_name_that_is_not_a_valid_key_is_reported_and_skipped(
    lllm_package: PackageFactory, lllm_runtime: Runtime
) -> None:
    package = lllm_package({"datasets/a:b.csv": "x\n1\n", "datasets/ok.csv": "x\n2\n"}, name="odd")
    with pytest.warns(RuntimeWarning, match=re.escape(str(package / "datasets" / "a:b.csv"))):
        load_package(package, runtime=lllm_runtime)
    assert_keys(lllm_runtime, ["odd.datasets:ok"], "dataset")
    assert {r.name: r.status for r in list_plugins()}["datasets"] == "loaded"


# ---------------------------------------------------------------------------- values


def test_csv_values_are_header_keyed_records(rt: Runtime) -> None:
    assert rt.get("shop.datasets:cities") == [
        {"name": "Paris", "country": "FR", "population": "2100000"},
        {"name": "Lyon", "country": "FR", "population": "520000"},
        {"name": "Osaka", "country": "JP", "population": "2700000"},
    ]
    assert rt.get("shop.datasets:upper") == [{"a": "1", "b": "2"}]
    assert rt.get("shop.datasets:raw/2024/q1") == [{"sku": "A1", "qty": "3"}]


def test_jsonl_values_are_objects_and_blank_lines_are_skipped(rt: Runtime) -> None:
    assert rt.get("shop.datasets:nested/events") == [
        {"id": 1, "kind": "view"},
        {"id": 2, "kind": "buy", "amount": 9.5},
        {"user": "ada", "id": 3},
    ]


def test_header_only_csv_is_empty(rt: Runtime, tmp_path: Path) -> None:
    assert rt.get("shop.datasets:empty") == []
    node = rt.get_node("shop.datasets:empty")
    assert (node.metadata["rows"], node.metadata["columns"]) == (0, ["name", "country"])
    blank = tmp_path / "blank.csv"
    blank.write_text("")
    assert read_csv(blank) == ([], [])


def test_value_is_loaded_once(rt: Runtime) -> None:
    first = rt.get("shop.datasets:cities")
    assert rt.get("shop.datasets:cities") is first


# -------------------------------------------------------------------------- metadata


def test_rows_and_columns_are_filled_in_on_first_load(rt: Runtime) -> None:
    cities = rt.get_node("shop.datasets:cities")
    events = rt.get_node("shop.datasets:nested/events")
    assert "rows" not in cities.metadata and "columns" not in cities.metadata
    assert cities.value and events.value
    assert cities.metadata["rows"] == 3
    assert cities.metadata["columns"] == ["name", "country", "population"]
    assert events.metadata["rows"] == 3
    assert events.metadata["columns"] == ["id", "kind", "amount", "user"]


def test_an_alias_shares_the_metadata(
    shop: Path, lllm_package: PackageFactory, lllm_runtime: Runtime
) -> None:
    app = lllm_package(
        name="app", manifest=f'[dependencies]\npackages = ["{shop.as_posix()} as store"]\n'
    )
    runtime = lllm_runtime
    load_package(app, runtime=runtime, strict=True)
    assert load_dataset("store:cities", runtime) == load_dataset("shop:cities", runtime)
    assert runtime.get_node("store.datasets:cities").metadata["rows"] == 3


# ------------------------------------------------------------------------ load_dataset


def test_load_dataset_resolves_bare_package_and_qualified_keys(rt: Runtime) -> None:
    expected = rt.get("shop.datasets:nested/events")
    assert load_dataset("nested/events", rt) == expected
    assert load_dataset("shop:nested/events", runtime=rt) == expected
    assert load_dataset("shop.datasets:nested/events", rt) == expected


def test_load_dataset_uses_the_default_runtime(shop: Path) -> None:
    with isolated_default_runtime():
        load_package(shop, strict=True)
        assert load_dataset("cities")[0]["name"] == "Paris"
        assert load_dataset("shop:raw/2024/q1") == [{"sku": "A1", "qty": "3"}]


def test_load_dataset_is_typed(rt: Runtime) -> None:
    with pytest.raises(ResourceNotFoundError, match="dataset"):
        load_dataset("hello", rt)  # a prompt, not a dataset
    with pytest.raises(ResourceTypeError):
        load_dataset("shop.prompts:hello", rt)
    with pytest.raises(ResourceNotFoundError, match="shop.datasets:cities"):
        load_dataset("citys", rt)


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"id": 3,', "invalid JSON"),
        ("[1, 2, 3]", "expected a JSON object, got an array"),
        ('"text"', "expected a JSON object, got a string"),
    ],
)
def test_a_malformed_jsonl_line_names_the_file_and_line(
    lllm_package: PackageFactory, lllm_runtime: Runtime, line: str, expected: str
) -> None:
    package = lllm_package(
        {"datasets/log.jsonl": f'{{"id": 1}}\n\n{line}\n{{"id": 4}}\n'}, name="bad"
    )
    runtime = lllm_runtime
    load_package(package, runtime=runtime, strict=True)  # discovery reads nothing: no problem yet
    file = package / "datasets" / "log.jsonl"
    with pytest.raises(ResourceLoadError) as caught:
        load_dataset("log", runtime)
    message = str(caught.value)
    assert "bad.datasets:log" in message
    assert f"{file}, line 3:" in message
    assert expected in message
    assert isinstance(caught.value.__cause__, ValueError)
    node = runtime.get_node("bad.datasets:log")
    assert not node.is_loaded and "rows" not in node.metadata
    # A fixed file loads on the next read: a failed load is not remembered.
    file.write_text('{"id": 1}\n')
    assert load_dataset("log", runtime) == [{"id": 1}]


def test_a_csv_row_longer_than_the_header_names_the_file_and_line(tmp_path: Path) -> None:
    file = tmp_path / "wide.csv"
    file.write_text("a,b\n1,2\n\n1,2,3\n")
    with pytest.raises(
        ValueError, match=re.escape(f"{file}, line 4: the row has 3 fields but the header has 2.")
    ):
        read_csv(file)


def test_a_short_csv_row_gets_none(tmp_path: Path) -> None:
    file = tmp_path / "short.csv"
    file.write_text("\ufeffa,b,c\n1,2\n")
    assert read_csv(file) == ([{"a": "1", "b": "2", "c": None}], ["a", "b", "c"])


def test_jsonl_columns_in_first_seen_order(tmp_path: Path) -> None:
    file = tmp_path / "mixed.jsonl"
    file.write_text('{"b": 1}\n{"a": 2, "b": 3}\n{"c": null}\n')
    assert read_jsonl(file)[1] == ["b", "a", "c"]


def test_same_key_from_two_formats_warns_and_keeps_the_first(
    lllm_package: PackageFactory, lllm_runtime: Runtime
) -> None:
    package = lllm_package(
        {"datasets/a.csv": "x\n1\n", "datasets/a.jsonl": '{"x": 2}\n'}, name="twice"
    )
    runtime = lllm_runtime
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_package(package, runtime=runtime)
    assert any("twice.datasets:a" in str(w.message) for w in caught), [
        str(w.message) for w in caught
    ]
    assert load_dataset("a", runtime) == [{"x": "1"}]


# -------------------------------------------------------------------------------- CLI

_SCRIPT = shutil.which("lllm", path=os.path.dirname(sys.executable))


def run_lllm(args: list[str], cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    """Run the installed ``lllm`` command with a private home and index cache."""
    assert _SCRIPT is not None, f"no lllm script next to {sys.executable}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLLM_")}
    env.pop("PYTHONPATH", None)
    env["LLLM_HOME"] = str(home / "lllm-home")
    env["LLLM_CACHE_DIR"] = str(home / "lllm-cache")
    return subprocess.run(
        [_SCRIPT, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def describe(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


def test_cli_plugins_lists_the_datasets_plugin(tmp_path: Path) -> None:
    result = run_lllm(["plugins", "--json"], tmp_path, tmp_path)
    assert result.returncode == 0, describe(result)
    listing = json.loads(result.stdout)
    assert listing["conflict"] is None
    [plugin] = [p for p in listing["plugins"] if p["name"] == "datasets"]
    assert plugin["distribution"] == "lllm-datasets"
    assert plugin["status"] == "loaded", plugin["error"]
    assert plugin["builtin"] is False
    assert plugin["sections"] == [
        {
            "name": "datasets",
            "resource_type": "dataset",
            "default_folder": "datasets",
            "description": "records of .csv and .jsonl files",
        }
    ]


def test_cli_ls_and_show_list_the_datasets(shop: Path, tmp_path: Path) -> None:
    listed = run_lllm(["ls", "--type", "dataset", "--json"], shop, tmp_path)
    assert listed.returncode == 0, describe(listed)
    rows = json.loads(listed.stdout)
    assert {r["key"]: r["source"] for r in rows} == {
        k: str(shop / v) for k, v in SHOP_DATASETS.items()
    }
    assert {(r["type"], r["package"], r["section"]) for r in rows} == {
        ("dataset", "shop", "datasets")
    }
    # The plugin describes its resources (lllm_describe); a listing loads none of them.
    assert {r["key"]: r["description"] for r in rows}["shop.datasets:cities"] == {"format": "csv"}

    table = run_lllm(["ls", "--type", "dataset", "--project", str(shop)], tmp_path, tmp_path)
    assert table.returncode == 0, describe(table)
    assert "shop.datasets:nested/events" in table.stdout

    shown = run_lllm(["show", "datasets:cities"], shop, tmp_path)
    assert shown.returncode == 0, describe(shown)
    assert "key:     shop.datasets:cities" in shown.stdout
    assert "type:    dataset" in shown.stdout
    metadata_line = next(line for line in shown.stdout.splitlines() if line.startswith("metadata:"))
    metadata = json.loads(metadata_line.partition(":")[2])
    assert (metadata["rows"], metadata["columns"], metadata["format"]) == (
        3,
        ["name", "country", "population"],
        "csv",
    )
    assert '"name": "Osaka"' in shown.stdout
    assert "format: csv" in shown.stdout and "rows: 3" in shown.stdout
    assert "first records:" in shown.stdout and "value:" not in shown.stdout

    bare = run_lllm(["show", "cities"], shop, tmp_path)  # as runtime.get("cities"): not found
    assert bare.returncode == 1 and "shop.datasets:cities" in bare.stderr, describe(bare)

    qualified = run_lllm(
        ["show", "shop.datasets:nested/events", "--project", str(shop)], tmp_path, tmp_path
    )
    assert qualified.returncode == 0, describe(qualified)
    assert "key:     shop.datasets:nested/events" in qualified.stdout


def test_cli_check_reports_a_malformed_dataset(
    lllm_package: PackageFactory, tmp_path: Path
) -> None:
    package = lllm_package({"datasets/log.jsonl": '{"id": 1}\nnot json\n'}, name="bad")
    result = run_lllm(["check"], package, tmp_path)
    assert result.returncode == 1, describe(result)
    assert "bad.datasets:log" in result.stdout
    assert "line 2" in result.stdout


# ---------------------------------------------------------------- the index cache


def test_warm_starts_rebuild_datasets_without_importing_the_plugin(
    lllm_package: PackageFactory, tmp_path: Path
) -> None:
    """The section is cacheable: a second process rebuilds its nodes from lllm's index cache,
    imports neither the plugin nor the readers until a value is read, and the values and the
    metadata filled in on load are those of a fresh discovery."""
    project = lllm_package(
        {"datasets/cities.csv": CITIES_CSV, "datasets/nested/events.jsonl": EVENTS_JSONL},
        name="shop",
    )
    settle(project)  # old enough for the cache to trust its times
    probe = (
        "import json, sys, lllm\n"
        "rt = lllm.get_default_runtime()\n"
        "before = sorted(m for m in ('lllm_datasets.plugin', 'lllm_datasets.readers') if m in sys.modules)\n"
        "node = rt.get_node('shop:cities', 'dataset')\n"
        "print(json.dumps({'before': before, 'keys': rt.keys('dataset'), 'value': node.value,\n"
        "                  'rows': node.metadata['rows'], 'columns': node.metadata['columns'],\n"
        "                  'format': node.metadata['format']}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLLM_")}
    env.update({"LLLM_CACHE_DIR": str(tmp_path / "cache"), "LLLM_HOME": str(tmp_path / "home")})

    def start(**extra: str) -> dict[str, Any]:
        result = subprocess.run(
            [sys.executable, "-c", probe],
            cwd=project,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    cold, warm, truth = start(), start(), start(LLLM_NO_CACHE="1")
    assert "lllm_datasets.plugin" in cold["before"]  # discovery imported the plugin
    assert warm["before"] == []
    assert {k: v for k, v in warm.items() if k != "before"} == {
        k: v for k, v in truth.items() if k != "before"
    }
    assert (
        warm["rows"] == 3
        and warm["columns"] == ["name", "country", "population"]
        and warm["format"] == "csv"
    )
