"""Load the example project and print what was loaded.

Run from the repository root: python examples/show_project.py
"""

from pathlib import Path

from lllm import load_prompt, load_runtime, resolve_config

runtime = load_runtime(Path(__file__).parent / "acme_assistant", discover_shared_packages=False)
print(f"default package: {runtime.default_namespace}")
for name, info in sorted(runtime.packages.items()):
    print(f"package {name:<16} {info.name} {info.version}")
for node in runtime.iter_nodes():
    print(
        f"  {node.qualified_key:<45} {node.resource_type:<8} {Path(node.metadata['file_path']).name}"
    )
print()
print(load_prompt("chat/answer")(assistant_name="Acme", question="Where is my order?"))
print(load_prompt("common:greeting")(customer_name="Ada"))
print("experiments/fast resolved:", resolve_config("experiments/fast"))
