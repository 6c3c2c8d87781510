"""XMP sidecars with the cull's verdict: a star rating, a colour label and keywords.

Which file: digiKam and darktable read `photo.jpg.xmp` (the full name + .xmp); Lightroom and
Capture One read `photo.xmp` (the stem + .xmp) for raw files (for JPEGs Lightroom reads only the
XMP inside the file). So a raw photo gets `photo.xmp` and any other photo `photo.jpg.xmp`, unless a
`photo.CR2.xmp` already exists (darktable's), which is then merged instead.

What: `xmp:Rating` (1-5 stars from the keeper score), `xmp:Label` (Red: camera shake / missed
focus; Yellow: subject motion; Green: sharp / shallow focus: the label names Lightroom, darktable and
digiKam read) with `digiKam:ColorLabel` (digiKam's own number for the same colour), and keywords:
`lr:hierarchicalSubject` "blur|camera shake" (Lightroom, darktable, digiKam), `digiKam:TagsList`
"blur/camera shake", and the flat `dc:subject` "blur", "camera shake". Our own `bs:` fields record
what we wrote.

Merging, never clobbering: an existing sidecar is parsed and only our fields change; every other
field and namespace stays. A rating or label the user set (different from the one we wrote last
time) is kept. Keywords we wrote last time are replaced, other keywords kept. A sidecar that is not
valid XMP is left untouched (an ImageError says so).

Written with xml.etree (standard library): the libraries that write XMP (python-xmp-toolkit,
pyexiv2) need native exempi / exiv2 builds, too heavy for three fields; a sidecar is plain RDF/XML.
"""

from __future__ import annotations

import io
import os
import xml.etree.ElementTree as ET
from pathlib import Path

from .errors import ImageError
from .images import atomic_write, check_name_length
from .raw import is_raw_path

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "lr": "http://ns.adobe.com/lightroom/1.0/",
    "digiKam": "http://www.digikam.org/ns/1.0/",
    "bs": "http://ns.blurstudio.example/cull/1.0/",  # ours: what the last cull wrote
}
LABELS = {"sharp": "Green", "shallow focus": "Green", "subject motion": "Yellow",
          "missed focus": "Red", "camera shake": "Red"}
DIGIKAM_COLOUR = {"Red": 1, "Yellow": 3, "Green": 4}
KEYWORD_ROOT = "blur"
MAX_SIDECAR_BYTES = 8_000_000  # real sidecars are kilobytes; darktable's with long histories ~1 MB


def _q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


RDF_DESC, RDF_ABOUT, RDF_LI = _q("rdf", "Description"), _q("rdf", "about"), _q("rdf", "li")


def sidecar_path(photo: str | os.PathLike) -> Path:
    """Where the sidecar of `photo` goes (see the module docstring)."""
    photo = Path(photo)
    full = photo.with_name(photo.name + ".xmp")
    if full.exists() or not is_raw_path(photo):
        return full
    return photo.with_suffix(".xmp")


def _empty() -> ET.Element:
    root = ET.Element(_q("x", "xmpmeta"), {_q("x", "xmptk"): "Blur Studio"})
    rdf = ET.SubElement(root, _q("rdf", "RDF"))
    ET.SubElement(rdf, RDF_DESC, {RDF_ABOUT: ""})
    return root


def _parse(path: Path) -> ET.Element:
    """The existing sidecar's root element, prefixes registered so they are written back as they were."""
    try:
        size = path.stat().st_size
        if size > MAX_SIDECAR_BYTES:
            raise ImageError(f"{path}: sidecar of {size} bytes is too large to be XMP; left unchanged")
        data = path.read_bytes()
        for _, (prefix, uri) in ET.iterparse(io.BytesIO(data), events=("start-ns",)):
            if prefix and not prefix.startswith("ns") and uri not in NS.values():
                ET.register_namespace(prefix, uri)
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise ImageError(f"{path}: existing sidecar is not valid XML ({e}); left unchanged") from None
    except OSError as e:
        raise ImageError(f"{path}: cannot read the existing sidecar ({e.strerror}); left unchanged") from None
    if root.tag == _q("rdf", "RDF"):  # a bare RDF document: wrap it as XMP
        wrapper = ET.Element(_q("x", "xmpmeta"))
        wrapper.append(root)
        root = wrapper
    if root.tag != _q("x", "xmpmeta") or root.find(_q("rdf", "RDF")) is None:
        raise ImageError(f"{path}: existing sidecar is not XMP (no x:xmpmeta / rdf:RDF); left unchanged")
    rdf = root.find(_q("rdf", "RDF"))
    if rdf.find(RDF_DESC) is None:
        ET.SubElement(rdf, RDF_DESC, {RDF_ABOUT: ""})
    return root


def _get(descs: list[ET.Element], tag: str) -> str | None:
    """A simple property's value, in attribute or element form, from any rdf:Description."""
    for d in descs:
        if tag in d.attrib:
            return d.attrib[tag]
        e = d.find(tag)
        if e is not None:
            return (e.text or "").strip()
    return None


def _remove(descs: list[ET.Element], tag: str) -> None:
    for d in descs:
        d.attrib.pop(tag, None)
        for e in d.findall(tag):
            d.remove(e)


def _set(desc: ET.Element, descs: list[ET.Element], tag: str, value: str) -> None:
    _remove(descs, tag)
    ET.SubElement(desc, tag).text = value


def _list_items(descs: list[ET.Element], tag: str) -> tuple[ET.Element, list[str]] | None:
    """(the rdf:Bag/Seq/Alt container, its items) of a list property, if present."""
    for d in descs:
        e = d.find(tag)
        if e is not None:
            for container in e:
                return container, [(li.text or "").strip() for li in container.findall(RDF_LI)]
    return None


def _edit_list(desc: ET.Element, descs: list[ET.Element], tag: str, kind: str, drop: set[str], add: list[str]) -> None:
    """Remove the items in `drop` from a list property and append `add` (no duplicates); other items stay."""
    found = _list_items(descs, tag)
    if found is None:
        container = ET.SubElement(ET.SubElement(desc, tag), _q("rdf", kind))
    else:
        container, _items = found
    for li in list(container.findall(RDF_LI)):
        if (li.text or "").strip() in drop:
            container.remove(li)
    kept = [(li.text or "").strip() for li in container.findall(RDF_LI)]
    for value in add:
        if value not in kept:
            ET.SubElement(container, RDF_LI).text = value


def write_sidecar(photo: str | os.PathLike, verdict: str, rating: int, score: int) -> tuple[Path, list[str]]:
    """Write or merge the sidecar of `photo` (see the module docstring). Returns (the sidecar's path,
    notes such as "kept your rating 4"). Raises ImageError, leaving an unreadable sidecar untouched."""
    if verdict not in LABELS:
        raise ValueError(f"unknown verdict {verdict!r}")
    path = sidecar_path(photo)
    check_name_length(path)
    for prefix, uri in NS.items():
        ET.register_namespace(prefix, uri)
    root = _parse(path) if path.exists() else _empty()
    rdf = root.find(_q("rdf", "RDF"))
    descs = rdf.findall(RDF_DESC)
    desc = descs[0]
    notes = []

    old_verdict = _get(descs, _q("bs", "Verdict"))
    old_rating, old_label = _get(descs, _q("bs", "Rating")), _get(descs, _q("bs", "Label"))
    label = LABELS[verdict]
    # The user's own rating or label (absent from, or different to, what we wrote) wins.
    user_rating = _get(descs, _q("xmp", "Rating"))
    if user_rating is None or user_rating == old_rating:
        _set(desc, descs, _q("xmp", "Rating"), str(int(rating)))
        _set(desc, descs, _q("bs", "Rating"), str(int(rating)))
    else:
        notes.append(f"kept your rating {user_rating}")
    user_label = _get(descs, _q("xmp", "Label"))
    if user_label is None or user_label == old_label:
        _set(desc, descs, _q("xmp", "Label"), label)
        _set(desc, descs, _q("digiKam", "ColorLabel"), str(DIGIKAM_COLOUR[label]))
        _set(desc, descs, _q("bs", "Label"), label)
    else:
        notes.append(f"kept your label {user_label}")

    drop = {old_verdict} if old_verdict else set()
    _edit_list(desc, descs, _q("dc", "subject"), "Bag", drop | ({KEYWORD_ROOT} if old_verdict else set()),
               [KEYWORD_ROOT, verdict])
    _edit_list(desc, descs, _q("lr", "hierarchicalSubject"), "Bag", {f"{KEYWORD_ROOT}|{v}" for v in drop},
               [f"{KEYWORD_ROOT}|{verdict}"])
    _edit_list(desc, descs, _q("digiKam", "TagsList"), "Seq", {f"{KEYWORD_ROOT}/{v}" for v in drop},
               [f"{KEYWORD_ROOT}/{verdict}"])
    _set(desc, descs, _q("bs", "Verdict"), verdict)
    _set(desc, descs, _q("bs", "Score"), str(int(score)))

    ET.indent(root, space=" ")
    body = ET.tostring(root, encoding="unicode")
    text = f'<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n{body}\n<?xpacket end="w"?>\n'
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))
    return path, notes


def read_sidecar(path: str | os.PathLike) -> dict:
    """The fields we write, read back (for tests and the report): rating, label, keywords."""
    root = _parse(Path(path))
    descs = root.find(_q("rdf", "RDF")).findall(RDF_DESC)
    out = {"rating": _get(descs, _q("xmp", "Rating")), "label": _get(descs, _q("xmp", "Label")),
           "verdict": _get(descs, _q("bs", "Verdict"))}
    for key, tag in (("subject", _q("dc", "subject")), ("hierarchical", _q("lr", "hierarchicalSubject")),
                     ("tags", _q("digiKam", "TagsList"))):
        found = _list_items(descs, tag)
        out[key] = found[1] if found else []
    return out
