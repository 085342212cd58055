"""Visualizers turn a saved object into views (HTML, markdown, images, CSV, JSON) kept beside it in its artifact.

A visualizer names the types it handles by dotted name (``"pandas.DataFrame"``). A type whose module was
never imported can have no instances, so matching an object imports nothing: pandas is loaded only by
whoever made the DataFrame. A third-party visualizer is a plugin whose hook returns its classes::

    # mypkg/visualizers.py, named by [project.entry-points.cargohold] mypkg = "mypkg.visualizers"
    from cargohold.plugin import Visualization, Visualizer, hookimpl

    class PointCloudVisualizer(Visualizer):
        types = ("mypkg.PointCloud",)

        def visualize(self, obj):
            return [Visualization("points", "json", obj.to_json())]

    @hookimpl
    def cargohold_visualizers():
        return [PointCloudVisualizer]
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

__all__ = ["KINDS", "Visualization", "Visualizer", "file_name", "image_format", "kind_of"]

Kind = Literal["html", "markdown", "image", "csv", "json"]
#: Each kind and the file extension it is saved with; an image's extension follows its format.
KINDS: dict[str, str] = {"html": ".html", "markdown": ".md", "csv": ".csv", "json": ".json"}
_IMAGES = {"png": ".png", "jpeg": ".jpg", "svg": ".svg"}
#: Extension -> (kind, media type), for reading a saved visualization back.
_BY_EXTENSION = {
    ".html": ("html", "text/html"),
    ".md": ("markdown", "text/markdown"),
    ".csv": ("csv", "text/csv"),
    ".json": ("json", "application/json"),
    ".png": ("image", "image/png"),
    ".jpg": ("image", "image/jpeg"),
    ".svg": ("image", "image/svg+xml"),
}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")


@dataclass(frozen=True)
class Visualization:
    """One view of an object as a visualizer makes it; saved as ``visualizations/<name><extension>``."""

    name: str
    kind: Kind
    content: bytes | str

    @property
    def data(self) -> bytes:
        """The bytes saved: text is UTF-8."""
        return self.content.encode() if isinstance(self.content, str) else self.content


class Visualizer:
    """Base of every visualizer: ``types`` names what it handles, ``visualize`` makes the views of one object."""

    #: Dotted names of the classes handled (``"builtins.dict"``, ``"numpy.ndarray"``); subclasses match too.
    types: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Refuse a visualizer whose types cannot be matched, when its module is imported (a plugin failure)."""
        super().__init_subclass__(**kwargs)
        if not isinstance(cls.types, tuple) or not cls.types or not all(_is_dotted(t) for t in cls.types):
            raise TypeError(
                f"{cls.__qualname__}.types must be a non-empty tuple of dotted class names such as "
                f"('pandas.DataFrame',), not {cls.types!r}."
            )

    @classmethod
    def handles(cls, obj: object) -> bool:
        """Whether ``obj`` is an instance of a type named in ``types``; only modules already imported are looked in."""
        for dotted in cls.types:
            module, _, name = dotted.rpartition(".")
            target = getattr(sys.modules.get(module), name, None)
            if isinstance(target, type) and isinstance(obj, target):
                return True
        return False

    def visualize(self, obj: Any) -> list[Visualization]:
        """The views of ``obj`` (none is fine: the object is saved anyway)."""
        raise NotImplementedError(f"{type(self).__qualname__} must implement visualize()")


def _is_dotted(value: object) -> bool:
    return isinstance(value, str) and _DOTTED.fullmatch(value) is not None


def image_format(data: bytes) -> str | None:
    """``png``, ``jpeg`` or ``svg`` when ``data`` holds an image of that format, else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith((b"<svg", b"<?xml")) and b"<svg" in head:
        return "svg"
    return None


def file_name(visualization: Visualization) -> str:
    """The file a visualization is saved as; a bad name, kind or image gets one sentence saying what to give."""
    name, kind = visualization.name, visualization.kind
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            f"The visualization name {name!r} is not usable; give up to 100 letters, digits, '.', '-' or '_', "
            "starting with a letter or digit."
        )
    if kind == "image":
        found = image_format(visualization.data)
        if found is None:
            raise ValueError(f"The image {name!r} is not a PNG, JPEG or SVG; give the bytes of one of those.")
        return name + _IMAGES[found]
    if kind not in KINDS:
        raise ValueError(
            f"{kind!r} is not a visualization kind; use one of {', '.join([*KINDS, 'image'])} (png, jpeg or svg)."
        )
    return name + KINDS[kind]


def kind_of(file: str) -> tuple[str, str] | None:
    """The kind and media type of a saved visualization's file name, or None for a file that is not one."""
    dot = file.rfind(".")
    return _BY_EXTENSION.get(file[dot:].lower()) if dot > 0 else None
