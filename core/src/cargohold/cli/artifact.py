"""``cargohold artifact``: the artifacts in a folder of any store, and one artifact's metadata and visualizations."""

from __future__ import annotations

from typing import Any

import click

from cargohold.cli._output import FileErrorGroup, json_option, print_json, print_table

__all__ = ["artifact"]


@click.group("artifact", cls=FileErrorGroup)
def artifact() -> None:
    """Artifacts saved with cargohold.artifacts.save: NAME:path, a URL (s3://bucket/x) or a local path."""


@artifact.command("ls")
@json_option()
@click.argument("target", required=False, default=":")
def ls(target: str, as_json: bool) -> None:
    """The artifacts directly in a folder (default: the root of the active stack's store), or TARGET itself."""
    from cargohold.artifacts import METADATA, load_metadata
    from cargohold.targets import resolve

    location = resolve(target)
    names = [""] if location.store.exists(location.child(METADATA).path) else location.store.listdir(location.path)
    found = []
    for name in names:
        inner = location.child(name)
        try:
            metadata = load_metadata(inner)
        except (FileNotFoundError, NotADirectoryError, ValueError):
            continue  # a file, a plain folder or an unfinished save: not an artifact
        found.append({"path": inner.path, **metadata})
    if as_json:
        print_json(found)
        return
    print_table(
        ["PATH", "TYPE", "SIZE", "CREATED", "TAGS"],
        [(m["path"], m.get("type"), m.get("size"), m.get("created"), _tags(m.get("tags"))) for m in found],
    )


@artifact.command("show")
@json_option()
@click.argument("target")
def show(target: str, as_json: bool) -> None:
    """One artifact's metadata, files and visualizations."""
    from cargohold.artifacts import list_visualizations, load_metadata
    from cargohold.targets import resolve

    location = resolve(target)
    metadata = load_metadata(location)
    views = list_visualizations(location)
    if as_json:
        print_json({"metadata": metadata, "visualizations": [vars(v) for v in views]})
        return
    for key in ("type", "created", "size", "sha256"):
        click.echo(f"{key}: {metadata.get(key, '-')}")
    made_by = metadata.get("made_by")
    if isinstance(made_by, dict):
        click.echo("made_by: " + ", ".join(f"{k} {v}" for k, v in made_by.items()))
    click.echo(f"tags: {_tags(metadata.get('tags')) or '-'}")
    files = metadata.get("files")
    print_table(["FILE", "SIZE", "SHA256"], [(f.get("path"), f.get("size"), f.get("sha256")) for f in files or ()])
    print_table(["VISUALIZATION", "KIND", "MEDIA TYPE"], [(v.name, v.kind, v.media_type) for v in views])


def _tags(tags: Any) -> str:
    return ", ".join(f"{k}={v}" for k, v in tags.items()) if isinstance(tags, dict) else ""
