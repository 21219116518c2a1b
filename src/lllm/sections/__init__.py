"""Built-in section plugins, registered through the lllm distribution's own entry points."""
