"""Registration and reads from many threads at once."""

from __future__ import annotations

import threading

from lllm.core.resource import ResourceNode
from lllm.core.runtime import Runtime

THREADS = 8
KEYS = 10_000


def test_eight_threads_register_and_read_ten_thousand_keys() -> None:
    rt = Runtime()
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def worker(index: int) -> None:
        try:
            start.wait()
            for i in range(index, KEYS, THREADS):
                rt.register(
                    ResourceNode.eager(
                        f"k{i}", i, namespace=f"p{i % 3}.configs", resource_type="config"
                    )
                )
                assert rt.get(f"p{i % 3}.configs:k{i}") == i
                assert rt.has(f"p{i % 3}:k{i}", "config")
                # reads of keys other threads are writing must never raise anything but a miss
                other = (i * 7919) % KEYS
                rt.has(f"p{other % 3}.configs:k{other}")
                if i % 500 == 0:
                    rt.keys("config")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(rt.keys()) == KEYS
    assert len(rt.keys("config")) == KEYS
    assert all(rt.get(f"p{i % 3}.configs:k{i}") == i for i in range(KEYS))


def test_concurrent_overwrites_keep_type_index_consistent() -> None:
    rt = Runtime()
    start = threading.Barrier(THREADS)

    def worker(index: int) -> None:
        start.wait()
        for i in range(2_000):
            rtype = "config" if (i + index) % 2 else "asset"
            rt.register(
                ResourceNode.eager(f"k{i % 50}", i, namespace="p.things", resource_type=rtype)
            )

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    configs, assets = set(rt.keys("config")), set(rt.keys("asset"))
    assert configs.isdisjoint(assets)
    assert configs | assets == set(rt.keys())
    for key in rt.keys():
        expected = "config" if key in configs else "asset"
        assert rt.get_node(key).resource_type == expected


def test_lazy_loader_read_by_eight_threads_runs_once() -> None:
    calls = []
    start = threading.Barrier(THREADS)

    def loader():
        calls.append(1)
        threading.Event().wait(0.05)
        return {"loaded": True}

    rt = Runtime()
    rt.register_config("heavy", loader=loader, namespace="p.configs")
    results = []

    def reader():
        start.wait()
        results.append(rt.get_config("p:heavy"))

    threads = [threading.Thread(target=reader) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [1]
    assert len(results) == THREADS and all(r is results[0] for r in results)


def test_threads_loading_one_package_into_one_runtime_all_get_its_info(tmp_path) -> None:
    from lllm._loader import load_package
    from lllm.testing import write_package

    package = write_package(
        tmp_path / "pkg", {f"prompts/p{i}.md": f"P{i}" for i in range(50)}, name="pkg"
    )
    for _ in range(40):
        rt = Runtime()
        start = threading.Barrier(THREADS)
        infos = []

        def load(start=start, infos=infos, rt=rt) -> None:
            start.wait()
            infos.append(load_package(package, runtime=rt))

        threads = [threading.Thread(target=load) for _ in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(infos) == THREADS and all(
            info is not None and info.name == "pkg" for info in infos
        )
        assert len(rt.keys("prompt")) == 50
