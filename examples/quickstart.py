"""Quick start: register resources into the default runtime and look them up.

Run: python examples/quickstart.py
"""

from lllm import PackageInfo, Prompt, load_config, load_prompt, load_resource
from lllm.core.resource import ResourceNode
from lllm.core.runtime import get_default_runtime

runtime = get_default_runtime()
runtime.register_package(PackageInfo("my_pkg", version="1.0.0"))

runtime.register_prompt(Prompt(path="greet/hello", prompt="Hello {name}!"), namespace="my_pkg.prompts")
runtime.register_config("default", {"model_name": "gpt-4o"}, namespace="my_pkg.configs")
runtime.register_config("heavy", loader=lambda: {"layers": 48}, namespace="my_pkg.configs")
runtime.register(ResourceNode.eager("logo.png", b"\x89PNG", namespace="my_pkg.assets", resource_type="asset"))

print(load_prompt("greet/hello")(name="world"))
print("config:", load_config("default"), load_config("my_pkg:heavy"))
print("asset:", load_resource("assets:logo.png"))
for key in runtime.keys():
    node = runtime.get_node(key)
    print(f"  {key:<28} {node.resource_type:<8} {'loaded' if node.is_loaded else 'lazy'}")
