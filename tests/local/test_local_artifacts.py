"""Artifacts in local stores: what ``save`` writes, what readers see, the built-in visualizers, and the CLI."""

from __future__ import annotations

import hashlib
import json
import pickle
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from cargohold import artifacts
from cargohold.client import Client

CLI = [str(Path(sys.executable).with_name("cargohold"))]
#: The smallest PNG there is: one transparent pixel.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002"
    "00000105ae2ad5a40000000049454e44ae426082"
)


def artifact(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([*CLI, "artifact", *args], capture_output=True, text=True, timeout=120, check=False)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def files(top: Path) -> dict[str, bytes]:
    return {p.relative_to(top).as_posix(): p.read_bytes() for p in sorted(top.rglob("*")) if p.is_file()}


@pytest.fixture
def root(cargohold_home: Path) -> Path:
    """The default store's folder: ``:x`` is ``root / "x"``."""
    return cargohold_home / "artifacts"


def test_a_dict_is_saved_with_its_json_view_and_metadata_written_last(root: Path) -> None:
    metadata = artifacts.save({"lr": 0.1, "layers": [3, 4]}, ":runs/1", tags={"stage": "dev"})
    saved = files(root / "runs/1")
    data = json.dumps({"lr": 0.1, "layers": [3, 4]}).encode()
    assert set(saved) == {"data/object.json", "visualizations/data.json", "metadata.json"}
    assert saved["data/object.json"] == data
    assert json.loads(saved["visualizations/data.json"]) == {"lr": 0.1, "layers": [3, 4]}
    assert json.loads(saved["metadata.json"]) == metadata == artifacts.load_metadata(":runs/1")
    digest = hashlib.sha256(data).hexdigest()
    assert metadata["files"] == [{"path": "object.json", "size": len(data), "sha256": digest}]
    assert metadata["sha256"] == hashlib.sha256(f"{digest}  object.json\n".encode()).hexdigest()
    assert (metadata["type"], metadata["size"], metadata["tags"]) == ("builtins.dict", len(data), {"stage": "dev"})
    assert metadata["created"].endswith("Z")
    assert metadata["made_by"]["cargohold"] == "0.1.0"


def test_text_image_bytes_and_other_bytes(root: Path) -> None:
    artifacts.save("# Title\n\nbody", ":text")
    artifacts.save(PNG, ":image")
    artifacts.save(b"\x00\x01", ":blob")
    assert files(root / "text")["visualizations/text.md"] == b"# Title\n\nbody"
    assert [(v.name, v.kind, v.media_type) for v in artifacts.list_visualizations(":image")] == [
        ("image", "image", "image/png")
    ]
    assert files(root / "image")["data/object.png"] == PNG
    assert artifacts.list_visualizations(":blob") == []
    assert files(root / "blob")["data/object.bin"] == b"\x00\x01"


def test_a_dataframe_gets_an_html_preview_and_its_csv() -> None:
    import pandas as pd

    frame = pd.DataFrame({"height": [1.5, 2.5, 3.5], "name": ["ash", "<b>elm</b>", "oak"]})
    artifacts.save(frame, ":frame")
    views = {v.name: v for v in artifacts.list_visualizations(":frame")}
    assert {(n, v.kind) for n, v in views.items()} == {("preview", "html"), ("table", "csv")}
    preview = Path(views["preview"].path).read_text()
    assert "3 rows &times; 2 columns" in preview
    assert "describe()" in preview
    assert "<td>2.5</td>" in preview
    assert "&lt;b&gt;elm&lt;/b&gt;" in preview  # cells are escaped
    assert Path(views["table"].path).read_text() == frame.to_csv()
    assert artifacts.load_metadata(":frame")["type"] == "pandas.DataFrame"


def test_an_array_gets_its_statistics_and_a_histogram() -> None:
    import numpy as np

    artifacts.save(np.array([[1.0, 2.0], [3.0, np.nan]]), ":array")
    views = {v.name: v for v in artifacts.list_visualizations(":array")}
    summary = Path(views["summary"].path).read_text()
    assert "- shape: (2, 2)" in summary
    assert "- dtype: float64" in summary
    assert "- max: 3" in summary
    assert "- mean: 2" in summary
    assert views["histogram"].media_type == "image/png"
    assert Path(views["histogram"].path).read_bytes().startswith(b"\x89PNG")


def test_a_figure_is_saved_as_png_and_svg() -> None:
    from matplotlib.figure import Figure

    figure = Figure()
    figure.add_subplot().plot([1, 3, 2])
    artifacts.save(figure, ":figure")
    assert sorted(Path(v.path).name for v in artifacts.list_visualizations(":figure")) == ["figure.png", "figure.svg"]


def test_saving_a_dict_imports_no_library_of_the_other_visualizers(tmp_path: Path) -> None:
    code = (
        "import sys\nfrom cargohold import artifacts\n"
        f"artifacts.save({{'a': [1, 2]}}, {str(tmp_path / 'a')!r})\n"
        "print(sorted(m for m in ('pandas', 'numpy', 'matplotlib') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    assert artifacts.load_metadata(str(tmp_path / "a"))["type"] == "builtins.dict"


def test_a_local_file_or_folder_is_saved_by_its_path(tmp_path: Path, root: Path) -> None:
    (tmp_path / "model" / "sub").mkdir(parents=True)
    (tmp_path / "model" / "weights.bin").write_bytes(b"w" * 100)
    (tmp_path / "model" / "sub" / "config.json").write_bytes(b"{}")
    folder = artifacts.save(tmp_path / "model", ":model")
    assert folder["type"] == "folder"
    assert [(f["path"], f["size"]) for f in folder["files"]] == [("sub/config.json", 2), ("weights.bin", 100)]
    assert files(root / "model")["data/weights.bin"] == b"w" * 100
    single = artifacts.save(tmp_path / "model" / "weights.bin", ":weights")
    assert (single["type"], [f["path"] for f in single["files"]]) == ("file", ["weights.bin"])
    with pytest.raises(FileNotFoundError, match="no such file or folder to save"):
        artifacts.save(tmp_path / "absent", ":absent")
    assert not (root / "absent").exists()


def test_other_objects_are_pickled(root: Path) -> None:
    metadata = artifacts.save({1, 2, 3}, ":set")
    assert metadata["files"][0]["path"] == "object.pickle"
    assert pickle.loads((root / "set/data/object.pickle").read_bytes()) == {1, 2, 3}


@pytest.mark.parametrize(
    ("obj", "target", "tags", "error", "message"),
    [
        ("x", ":taken", None, FileExistsError, "something is already there"),
        ("x", ":new", {"stage": 1}, ValueError, "tags must map names to strings"),
        (lambda: 1, ":new", None, TypeError, "cannot be pickled"),
    ],
)
def test_bad_input_is_one_sentence_and_writes_nothing(
    root: Path, obj: object, target: str, tags: Any, error: type[Exception], message: str
) -> None:
    artifacts.save("first", ":taken")
    before = files(root)
    with pytest.raises(error, match=message):
        artifacts.save(obj, target, tags=tags)
    assert files(root) == before


def test_a_save_that_fails_before_its_marker_leaves_nothing(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cargohold_local.store import LocalArtifactStore

    real_open = LocalArtifactStore.open

    def failing_marker(self: LocalArtifactStore, path: str, mode: str = "r") -> Any:
        if path.endswith("metadata.json") and "x" in mode:
            raise OSError(28, "No space left on device", path)
        return real_open(self, path, mode)

    monkeypatch.setattr(LocalArtifactStore, "open", failing_marker)
    with pytest.raises(OSError, match="No space left"):
        artifacts.save({"a": 1}, ":half")
    assert files(root) == {}


def test_a_reader_never_sees_half_an_artifact(tmp_path: Path, root: Path) -> None:
    """Whenever metadata.json is there, every file it lists is there whole."""
    (tmp_path / "many").mkdir()
    for n in range(60):
        (tmp_path / "many" / f"{n:02}.bin").write_bytes(bytes([n]) * (n + 1) * 1000)
    saver = threading.Thread(target=artifacts.save, args=(tmp_path / "many", ":many"))
    saver.start()
    checked = 0
    while saver.is_alive() or checked == 0:
        try:
            metadata = artifacts.load_metadata(":many")
        except FileNotFoundError:
            continue
        for f in metadata["files"]:
            assert (root / "many" / "data" / f["path"]).stat().st_size == f["size"]
        checked += 1
    saver.join()
    assert len(artifacts.load_metadata(":many")["files"]) == 60


def test_a_folder_without_its_marker_is_not_an_artifact(root: Path) -> None:
    (root / "unfinished" / "data").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"not an artifact \(it holds no metadata.json\)"):
        artifacts.load_metadata(":unfinished")
    with pytest.raises(FileNotFoundError, match="not an artifact"):
        artifacts.list_visualizations(":unfinished")


def test_a_visualization_added_by_hand(root: Path) -> None:
    artifacts.save({"a": 1}, ":run")
    added = artifacts.save_visualization(":run", "<p>notes</p>", "html", name="notes")
    assert (added.name, added.kind, Path(added.path).read_text()) == ("notes", "html", "<p>notes</p>")
    assert [v.name for v in artifacts.list_visualizations(":run")] == ["data", "notes"]
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"/>'
    assert artifacts.save_visualization(":run", svg, "image").media_type == "image/svg+xml"
    before = files(root)
    for content, kind, name, message in [
        ("<p>again</p>", "html", "notes", "a visualization of this name is saved already"),
        (b"not an image", "image", None, "is not a PNG, JPEG or SVG"),
        ("x", "video", None, "'video' is not a visualization kind; use one of html, markdown, csv, json, image"),
        ("x", "html", "../escape", "is not usable"),
    ]:
        with pytest.raises((ValueError, FileExistsError), match=message):
            artifacts.save_visualization(":run", content, kind, name=name)
    assert files(root) == before
    with pytest.raises(FileNotFoundError, match="not an artifact"):
        artifacts.save_visualization(":nothing", "x", "markdown")


def test_artifact_ls_and_show(root: Path, tmp_path: Path) -> None:
    Client().register_component("artifact_store", "shelf", "local", {"path": str(tmp_path / "shelf")})
    artifacts.save({"a": 1}, "shelf:runs/one", tags={"stage": "dev"})
    artifacts.save("notes", "shelf:runs/two")
    (tmp_path / "shelf" / "runs" / "plain").mkdir()
    table = artifact("ls", "shelf:runs").stdout.splitlines()
    assert table[0].split() == ["PATH", "TYPE", "SIZE", "CREATED", "TAGS"]
    assert [line.split()[:2] for line in table[1:]] == [
        [str(tmp_path / "shelf/runs/one"), "builtins.dict"],
        [str(tmp_path / "shelf/runs/two"), "builtins.str"],
    ]
    assert table[1].split()[-1] == "stage=dev"
    listed = json.loads(artifact("ls", "--json", "shelf:runs").stdout)
    assert [(a["path"].rpartition("/")[2], a["size"]) for a in listed] == [("one", 8), ("two", 5)]
    assert [a["type"] for a in json.loads(artifact("ls", "--json", "shelf:runs/one").stdout)] == ["builtins.dict"]
    shown = json.loads(artifact("show", "--json", "shelf:runs/one").stdout)
    assert shown["metadata"]["tags"] == {"stage": "dev"}
    assert [(v["name"], v["kind"]) for v in shown["visualizations"]] == [("data", "json")]
    text = artifact("show", "shelf:runs/two").stdout.splitlines()
    assert "type: builtins.str" in text
    assert ["text", "markdown", "text/markdown"] in [line.split() for line in text]


def test_artifact_show_of_a_plain_folder_is_one_sentence(root: Path) -> None:
    (root / "plain").mkdir(parents=True)
    done = artifact("show", ":plain", check=False)
    assert done.returncode == 1
    assert done.stderr == f"Error: {root / 'plain'}: not an artifact (it holds no metadata.json); save one with " + (
        "cargohold.artifacts.save.\n"
    )
