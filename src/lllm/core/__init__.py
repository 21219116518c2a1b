"""The registry core: resource nodes, runtimes, resolution and the resource classes."""
