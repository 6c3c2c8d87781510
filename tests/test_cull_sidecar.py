"""XMP sidecars: names by convention, merged into existing ones without losing any field."""

import xml.etree.ElementTree as ET

import cv2
import numpy as np
import pytest

from blurstudio.cli import main
from blurstudio.errors import ImageError
from blurstudio.sidecar import read_sidecar, sidecar_path, write_sidecar

EXISTING = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:darktable="http://darktable.sf.net/"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/"
    xmp:Rating="4"
    darktable:xmp_version="5">
   <darktable:history>
    <rdf:Seq><rdf:li darktable:operation="exposure" darktable:enabled="1"/></rdf:Seq>
   </darktable:history>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">Harbour at dawn</rdf:li></rdf:Alt></dc:title>
   <dc:subject><rdf:Bag><rdf:li>harbour</rdf:li><rdf:li>boats</rdf:li></rdf:Bag></dc:subject>
   <lr:hierarchicalSubject><rdf:Bag><rdf:li>places|harbour</rdf:li></rdf:Bag></lr:hierarchicalSubject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>
"""


def test_names_follow_the_tools_conventions(tmp_path):
    assert sidecar_path(tmp_path / "a.jpg") == tmp_path / "a.jpg.xmp"  # digiKam, darktable
    assert sidecar_path(tmp_path / "a.NEF") == tmp_path / "a.xmp"  # Lightroom, Capture One
    (tmp_path / "b.CR2.xmp").write_text(EXISTING)
    assert sidecar_path(tmp_path / "b.CR2") == tmp_path / "b.CR2.xmp"  # darktable's own is merged


def test_new_sidecar_has_rating_label_keywords(tmp_path):
    path, notes = write_sidecar(tmp_path / "a.jpg", "camera shake", 1, 12)
    assert path == tmp_path / "a.jpg.xmp" and notes == []
    got = read_sidecar(path)
    assert got["rating"] == "1" and got["label"] == "Red" and got["verdict"] == "camera shake"
    assert got["subject"] == ["blur", "camera shake"]
    assert got["hierarchical"] == ["blur|camera shake"] and got["tags"] == ["blur/camera shake"]
    assert path.read_text(encoding="utf-8").startswith("<?xpacket")


def test_merge_keeps_every_other_field_and_the_users_rating(tmp_path):
    side = tmp_path / "IMG_1.CR2.xmp"
    side.write_text(EXISTING, encoding="utf-8")
    _, notes = write_sidecar(tmp_path / "IMG_1.CR2", "missed focus", 1, 10)
    assert notes == ["kept your rating 4"]
    text = side.read_text(encoding="utf-8")
    root = ET.fromstring(text.split("?>", 1)[1].rsplit("<?xpacket", 1)[0])
    ns = {"rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "dc": "http://purl.org/dc/elements/1.1/",
          "darktable": "http://darktable.sf.net/"}
    desc = root.find("rdf:RDF/rdf:Description", ns)
    assert desc.get("{http://darktable.sf.net/}xmp_version") == "5"
    assert root.find(".//darktable:history/rdf:Seq/rdf:li", ns).get("{http://darktable.sf.net/}operation") == "exposure"
    assert root.find(".//dc:title/rdf:Alt/rdf:li", ns).text == "Harbour at dawn"
    assert "xmlns:darktable=" in text  # prefixes written back as they were
    got = read_sidecar(side)
    assert got["rating"] == "4" and got["label"] == "Red"
    assert got["subject"] == ["harbour", "boats", "blur", "missed focus"]
    assert got["hierarchical"] == ["places|harbour", "blur|missed focus"]

    # A second cull with another verdict replaces our keywords, nothing else.
    write_sidecar(tmp_path / "IMG_1.CR2", "shallow focus", 4, 80)
    got = read_sidecar(side)
    assert got["subject"] == ["harbour", "boats", "blur", "shallow focus"]
    assert got["hierarchical"] == ["places|harbour", "blur|shallow focus"]
    assert got["rating"] == "4" and got["label"] == "Green"


def test_our_own_rating_is_updated_but_a_users_change_is_kept(tmp_path):
    photo = tmp_path / "a.jpg"
    write_sidecar(photo, "camera shake", 1, 5)
    write_sidecar(photo, "sharp", 5, 95)  # ours last time: updated
    assert read_sidecar(sidecar_path(photo))["rating"] == "5"
    side = sidecar_path(photo)
    side.write_text(side.read_text(encoding="utf-8").replace("<xmp:Rating>5<", "<xmp:Rating>2<"), encoding="utf-8")
    _, notes = write_sidecar(photo, "sharp", 5, 95)
    assert notes == ["kept your rating 2"] and read_sidecar(side)["rating"] == "2"


@pytest.mark.parametrize("content", ["<x:xmpmeta", "<html><body/></html>", "\x00\x01"])
def test_an_unreadable_sidecar_is_left_untouched(tmp_path, content):
    side = tmp_path / "a.jpg.xmp"
    side.write_text(content)
    with pytest.raises(ImageError, match="left unchanged"):
        write_sidecar(tmp_path / "a.jpg", "sharp", 5, 90)
    assert side.read_text() == content


def test_cull_writes_sidecars_only_with_xmp(tmp_path, tiny_model_path):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a.jpg", "b.png"):
        cv2.imwrite(str(shoot / name), rng.integers(0, 255, (64, 80, 3), dtype=np.uint8))
    (shoot / "b.png.xmp").write_text(EXISTING, encoding="utf-8")
    args = ["cull", str(shoot), "-o", str(tmp_path / "r"), "--model", str(tiny_model_path), "--device", "cpu", "--workers", "0"]
    assert main(args) == 0
    assert not (shoot / "a.jpg.xmp").exists() and (shoot / "b.png.xmp").read_text(encoding="utf-8") == EXISTING
    assert main(args + ["--xmp"]) == 0
    assert read_sidecar(shoot / "a.jpg.xmp")["verdict"] is not None
    merged = read_sidecar(shoot / "b.png.xmp")
    assert "harbour" in merged["subject"] and merged["rating"] == "4"
