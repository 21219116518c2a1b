"""llm_function: typed, body-less functions assembled from tools into cached workflows."""

__version__ = "0.1.0"
