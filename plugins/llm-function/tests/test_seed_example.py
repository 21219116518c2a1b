"""The seed's example (``shared/seeds/llm-function-runtime.txt``), run as written.

Only three things differ from the seed's text: ``connection_string`` points at a real
Ollama-protocol server on 127.0.0.1 (``LoopbackServer``) instead of localhost:11434,
``storage_path`` at a temporary folder instead of ``/tmp``, and ``WfInputs``, ``WfOutputs``,
``get_weather`` and ``send_report_email`` (which the seed leaves undefined) come from
``seed_tools`` with real bodies over local data.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from loopback import LoopbackServer, Reply, ollama_reply
from seed_tools import (
    CORRECT_PLAN,
    OUTBOX,
    WfInputs,
    WfOutputs,
    expected_output,
    get_weather,
    send_report_email,
)

TESTS_DIR = Path(__file__).resolve().parent

# The second process: the seed's example again, same storage_path, then one call.
SECOND_PROCESS = '''
import json
import sys

sys.path.insert(0, {tests_dir!r})

from seed_tools import OUTBOX, WfInputs, WfOutputs, get_weather, send_report_email

from llm_function import (
    InMemoryToolSource,
    LlmFunctionConfig,
    LlmFunctionRuntime,
    LlmRuntimeConfig,
    llm_function,
)

tool_sources = [
    InMemoryToolSource([get_weather, send_report_email]),
]

runtime_config = LlmRuntimeConfig(
    llm_handler_params={{
        "llm_h_type": "ollama",
        "llm_h_params": {{
            "connection_string": {url!r},
            "model_name": "gpt-oss:20b",
        }},
    }},
    storage_path={storage!r},
)

llm_config = LlmFunctionConfig(
    runtime=runtime_config,
    tool_sources=tool_sources,
)

llm_runtime = LlmFunctionRuntime(config=llm_config)


@llm_function(runtime=llm_runtime)
def get_city_weather(input: WfInputs) -> WfOutputs:
    """
    Get weather for the provided city and prepare a short summary.
    """


result = get_city_weather(WfInputs(city="Oslo"))
assert isinstance(result, WfOutputs), type(result)
print(json.dumps({{"result": result.model_dump(), "counters": get_city_weather.counters, "outbox": len(OUTBOX)}}))
'''


def _mentions(messages: list[dict], *names: str) -> bool:
    text = "\n".join(m["content"] for m in messages if m["role"] in ("system", "user"))
    return all(name in text for name in names)


def test_seed_example_with_an_ollama_model(tmp_path: Path) -> None:
    storage = tmp_path / "workflows"
    with LoopbackServer() as server:
        server.script("/api/chat", ollama_reply(CORRECT_PLAN, model="gpt-oss:20b"))
        # Anything beyond the one scripted answer would fail loudly.
        server.set_default("*", Reply(500, {"error": "loopback: only one answer is scripted"}))

        # ------------------------------------------------------------- the seed's example
        from llm_function import (
            InMemoryToolSource,
            LlmFunctionConfig,
            LlmFunctionRuntime,
            LlmRuntimeConfig,
            llm_function,
        )

        tool_sources = [
            InMemoryToolSource([get_weather, send_report_email]),
        ]

        runtime_config = LlmRuntimeConfig(
            llm_handler_params={
                "llm_h_type": "ollama",
                "llm_h_params": {
                    "connection_string": server.url,
                    "model_name": "gpt-oss:20b",
                },
            },
            storage_path=str(storage),
        )

        llm_config = LlmFunctionConfig(
            runtime=runtime_config,
            tool_sources=tool_sources,
        )

        llm_runtime = LlmFunctionRuntime(config=llm_config)

        @llm_function(runtime=llm_runtime)
        def get_city_weather(input: WfInputs) -> WfOutputs:
            """
            Get weather for the provided city and prepare a short summary.
            """

        # ------------------------------------------------------------------ first call
        try:
            sent_before = len(OUTBOX)
            result = get_city_weather(WfInputs(city="Paris"))
            assert isinstance(result, WfOutputs)
            assert result == expected_output("Paris")
            assert len(OUTBOX) == sent_before + 1 and OUTBOX[-1]["to"] == "ops@example.com"

            requests = server.requests_to("/api/chat")
            assert len(requests) == 1, f"{len(requests)} model requests for a correct first answer"
            assert len(server.requests) == 1
            body = requests[0].json
            assert body["model"] == "gpt-oss:20b"
            assert body["format"]["properties"]["steps"]["type"] == "array"  # the plan's schema
            assert body["stream"] is False
            roles = [m["role"] for m in body["messages"]]
            assert roles[0] == "system" and "user" in roles
            assert _mentions(body["messages"], "get_weather", "send_report_email")
            assert (
                "Get weather for the provided city and prepare a short summary."
                in body["messages"][-1]["content"]
            )
            assert get_city_weather.counters["model_calls"] == 1
            assert get_city_weather.counters["plannings"] == 1

            stored = list(storage.glob("*.json"))
            assert len(stored) == 1
            record = json.loads(stored[0].read_text())
            assert record["workflow"] == json.loads(json.dumps(CORRECT_PLAN))
            assert set(record["tools"]) == {"get_weather", "send_report_email"}
            # The record holds the workflow and its provenance, not prompts or transcripts.
            assert "Get weather for the provided city" not in stored[0].read_text()

            # ----------------------------------------------------------- second call
            again = get_city_weather({"city": "Cairo", "recipient": "team@example.com"})
            assert again == expected_output("Cairo", "team@example.com")
            assert len(server.requests) == 1
            assert get_city_weather.counters["model_calls"] == 1
            assert get_city_weather.counters["cache_hits"] == 1
            assert get_city_weather.counters["plannings"] == 1
            assert get_city_weather.counters["runs"] == 2
            assert get_city_weather.counters["tool_calls"] == 4
        finally:
            llm_runtime.close()

        # ------------------------------------------------ a second process, same storage
        server.reset()
        server.set_default("*", Reply(500, {"error": "loopback: no model call is expected"}))
        script = tmp_path / "second_process.py"
        script.write_text(
            textwrap.dedent(SECOND_PROCESS).format(
                tests_dir=str(TESTS_DIR), url=server.url, storage=str(storage)
            ),
            encoding="utf-8",
        )
        done = subprocess.run(
            [sys.executable, str(script)],
            check=False,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout.strip().splitlines()[-1])
        assert WfOutputs.model_validate(report["result"]) == expected_output("Oslo")
        assert report["counters"]["model_calls"] == 0
        assert report["counters"]["plannings"] == 0
        assert report["counters"]["cache_hits"] == 1
        assert report["outbox"] == 1  # the tools really ran in the second process
        assert server.requests == []


def test_seed_example_with_the_schema_planner(tmp_path: Path) -> None:
    from llm_function import (
        InMemoryToolSource,
        LlmFunctionConfig,
        LlmFunctionRuntime,
        LlmRuntimeConfig,
        llm_function,
    )

    tool_sources = [
        InMemoryToolSource([get_weather, send_report_email]),
    ]

    runtime_config = LlmRuntimeConfig(
        storage_path=str(tmp_path),
    )

    llm_config = LlmFunctionConfig(
        runtime=runtime_config,
        tool_sources=tool_sources,
    )

    llm_runtime = LlmFunctionRuntime(config=llm_config)

    @llm_function(runtime=llm_runtime)
    def get_city_weather(input: WfInputs) -> WfOutputs:
        """
        Get weather for the provided city and prepare a short summary.
        """

    try:
        assert get_city_weather(WfInputs(city="Paris")) == expected_output("Paris")
        assert get_city_weather(WfInputs(city="Oslo", recipient="a@b.c")) == expected_output(
            "Oslo", "a@b.c"
        )
        counters = get_city_weather.counters
        assert counters["model_calls"] == 0
        assert counters["plannings"] == 1
        assert counters["cache_hits"] == 1
        assert get_city_weather.workflow is not None
        assert get_city_weather.workflow.tool_names() == ["get_weather", "send_report_email"]
        (stored,) = tmp_path.glob("*.json")
        assert json.loads(stored.read_text())["provenance"]["planner"] == "schema"
    finally:
        llm_runtime.close()
