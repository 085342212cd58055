"""Core's visualizers for common types; each imports its library in ``visualize``, once it holds its object."""

from __future__ import annotations

import io
import json
from typing import Any

from cargohold.visualizers import Visualization, Visualizer, image_format

__all__ = ["BUILTIN_VISUALIZERS"]

#: Rows of a DataFrame shown in its HTML preview.
_HEAD_ROWS = 20


class TextVisualizer(Visualizer):
    """A string is shown as markdown (plain text reads the same)."""

    types = ("builtins.str",)

    def visualize(self, obj: str) -> list[Visualization]:
        return [Visualization("text", "markdown", obj)]


class JsonVisualizer(Visualizer):
    """Dicts and lists are shown as indented JSON; what JSON cannot hold is shown as its ``str``."""

    types = ("builtins.dict", "builtins.list")

    def visualize(self, obj: dict[Any, Any] | list[Any]) -> list[Visualization]:
        return [Visualization("data", "json", json.dumps(obj, indent=2, default=str))]


class ImageBytesVisualizer(Visualizer):
    """Bytes that hold a PNG, JPEG or SVG are shown as that image; other bytes have no view."""

    types = ("builtins.bytes", "builtins.bytearray")

    def visualize(self, obj: bytes) -> list[Visualization]:
        return [Visualization("image", "image", bytes(obj))] if image_format(obj) else []


class DataFrameVisualizer(Visualizer):
    """The head and ``describe()`` of a pandas DataFrame as HTML, and the whole table as CSV."""

    types = ("pandas.DataFrame",)

    def visualize(self, obj: Any) -> list[Visualization]:
        rows, columns = obj.shape
        parts = [f"<p>{rows} rows &times; {columns} columns</p>", obj.head(_HEAD_ROWS).to_html(border=0)]
        if columns:  # describe() refuses a frame without columns
            parts += ["<h3>describe()</h3>", obj.describe(include="all").to_html(border=0)]
        return [Visualization("preview", "html", "\n".join(parts)), Visualization("table", "csv", obj.to_csv())]


class NumpyVisualizer(Visualizer):
    """A numpy array's shape, dtype and statistics, with a histogram of its values when matplotlib is installed."""

    types = ("numpy.ndarray",)

    def visualize(self, obj: Any) -> list[Visualization]:
        import numpy as np

        lines = [f"- shape: {obj.shape}", f"- dtype: {obj.dtype}", f"- size: {obj.size}"]
        numeric = obj.size > 0 and np.issubdtype(obj.dtype, np.number) and not np.iscomplexobj(obj)
        values = obj[np.isfinite(obj)] if numeric else None
        if values is not None and values.size:
            lines += [f"- {name}: {float(getattr(values, name)()):.6g}" for name in ("min", "max", "mean", "std")]
        found = [Visualization("summary", "markdown", "\n".join(lines) + "\n")]
        histogram = _histogram(values) if values is not None and values.size else None
        return found + ([Visualization("histogram", "image", histogram)] if histogram else [])


def _histogram(values: Any) -> bytes | None:
    """A PNG histogram of ``values``, or None without matplotlib; drawn on a Figure, never through pyplot's state."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    figure = Figure(figsize=(5, 3))
    figure.add_subplot().hist(values.ravel(), bins=50)
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


class FigureVisualizer(Visualizer):
    """A matplotlib figure as PNG and as SVG."""

    types = ("matplotlib.figure.Figure",)

    def visualize(self, obj: Any) -> list[Visualization]:
        found = []
        for fmt in ("png", "svg"):
            out = io.BytesIO()
            obj.savefig(out, format=fmt)
            found.append(Visualization("figure", "image", out.getvalue()))
        return found


BUILTIN_VISUALIZERS: list[type[Visualizer]] = [
    TextVisualizer,
    JsonVisualizer,
    ImageBytesVisualizer,
    DataFrameVisualizer,
    NumpyVisualizer,
    FigureVisualizer,
]
