"""Photos by what they show: the text–image ONNX slot (a tiny pair of towers the test builds), the captioning
endpoint slot (a loopback OpenAI-compatible server that looks at the pixels it is sent), and EXIF filters."""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import pytest

from fixtures import solid_photo, write_tiny_clip

pytest.importorskip("onnx")


def _config(tmp: Path, **media):
    from conftest import keyword_config

    cfg = keyword_config()
    cfg.media.ocr = False  # solid colours have no text; keeps the test about the image slots
    for k, v in {**write_tiny_clip(tmp / "clip"), **media}.items():
        setattr(cfg.media, k, v)
    return cfg


@pytest.fixture()
def photos(tmp_path):
    from spyglass.app.spyglass import Spyglass
    from spyglass.core.config import UserSettings

    root = tmp_path / "photos"
    root.mkdir()
    for name, colour in (("IMG_0001.jpg", "red"), ("IMG_0002.png", "green"), ("IMG_0003.png", "blue"),
                         ("IMG_0004.png", (200, 30, 30))):
        solid_photo(root / name, colour)
    (root / "notes.txt").write_text("red wine list for the party")
    private = root / "IMG_9999.png"  # bob's, the reddest of all
    solid_photo(private, (255, 0, 0))
    os.chown(private, 50001, 50001)
    private.chmod(0o600)
    cfg = _config(tmp_path)
    cfg.users = {"bob": UserSettings(principals=["user:50001"]), "alice": UserSettings()}
    sg = Spyglass(tmp_path / "home", config=cfg)
    stats = sg.index([str(root)])
    yield sg, root, stats
    sg.close()


def names(res) -> list[str]:
    return [Path(h.path).name for h in res.hits]


def test_search_photos_by_description_with_the_onnx_slot(photos):
    sg, root, stats = photos
    assert stats.images["images"] == 5 and stats.images["failed"] == 0
    assert names(sg.search("red", filters=_image_filter(), as_user="alice"))[:2] == ["IMG_0001.jpg", "IMG_0004.png"]
    assert names(sg.search("blue", filters=_image_filter(), as_user="alice"))[0] == "IMG_0003.png"
    res = sg.search("type:image green", as_user="alice")
    assert names(res)[0] == "IMG_0002.png" and res.hits[0].ranks["image"] == 1
    # without --type image the text signals alone rank (the note about red wine, no photo by colour)
    assert names(sg.search("red", as_user="alice", mode="keyword")) == ["notes.txt"]
    st = sg.status()["media"]
    assert st["images_embedded"] == 5 and st["images"] == 5 and st["image_model"].startswith("clip:")


def _image_filter():
    from spyglass.retrieval.query import Filters

    return Filters(types=["image"])


def test_photo_search_never_returns_a_photo_the_caller_may_not_read(photos):
    sg, root, _ = photos
    for user in ("alice", None):
        principals = sg.principals_for("alice") if user else ["everyone"]
        got = names(sg.search("red", filters=_image_filter(), principals=principals, limit=50))
        assert "IMG_9999.png" not in got
    assert "IMG_9999.png" in names(sg.search("red", filters=_image_filter(), as_user="bob"))[:3]


def test_changed_and_deleted_photos_update_their_vectors_and_a_new_model_reembeds(photos, tmp_path):
    sg, root, _ = photos
    solid_photo(root / "IMG_0003.png", "red")  # the blue photo is now red
    (root / "IMG_0002.png").unlink()
    stats = sg.index()
    assert stats.images["images"] == 1 and stats.images["removed"] == 1
    sg.close()
    blue = names(sg.search("blue", filters=_image_filter(), as_user="alice"))
    assert "IMG_0002.png" not in blue and blue.index("IMG_0003.png") > 0
    db = sg.reader().catalog.db
    assert db.execute("SELECT count(*) FROM image_vectors WHERE done = 1").fetchone()[0] == 4
    # another model file: every image is embedded again, never a mix of two models
    sg.close()
    sg.config.media.clip_image_size = 48
    sg = type(sg)(sg.home, config=sg.config)  # a new handle loads the new model
    stats = sg.index()
    assert stats.images["images"] == 4


def test_a_model_file_gone_after_indexing_leaves_text_search_working(photos, tmp_path):
    sg, root, _ = photos
    sg.close()
    sg.config.media.clip_text_model = str(tmp_path / "moved-away.onnx")
    sg = type(sg)(sg.home, config=sg.config)
    assert names(sg.search("IMG_0003", filters=_image_filter(), mode="keyword")) == ["IMG_0003.png"]
    assert names(sg.search("IMG_0003", filters=_image_filter()))[0] == "IMG_0003.png"


def test_a_wrong_model_path_is_reported_and_indexing_goes_on(tmp_path):
    from spyglass.app.spyglass import Spyglass

    root = tmp_path / "p"
    root.mkdir()
    solid_photo(root / "a.png", "red")
    cfg = _config(tmp_path, clip_image_model=str(tmp_path / "missing.onnx"))
    sg = Spyglass(tmp_path / "home", config=cfg)
    stats = sg.index([str(root)])
    assert "missing.onnx" in stats.images["unavailable"] and stats.added == 1
    assert names(sg.search("a", mode="keyword")) == ["a.png"]
    sg.close()


def _dominant(messages) -> str:
    from PIL import Image

    url = next(p["image_url"]["url"] for p in messages[0]["content"] if p["type"] == "image_url")
    img = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB")
    r, g, b = img.resize((1, 1)).getpixel((0, 0))
    colour = "crimson" if r > max(g, b) else "emerald" if g > max(r, b) else "sapphire"
    return f"A plain {colour} coloured square photograph."


def test_captions_from_a_vision_endpoint_are_indexed_and_a_failed_one_is_retried(tmp_path):
    from fakellm import FakeLLM
    from spyglass.app.spyglass import Spyglass
    from conftest import keyword_config

    root = tmp_path / "p"
    root.mkdir()
    solid_photo(root / "a.png", "red")
    solid_photo(root / "b.jpg", "green")
    cfg = keyword_config()
    cfg.media.ocr = False
    cfg.media.caption_model = "llava"
    with FakeLLM(_dominant) as llm:
        cfg.media.caption_endpoint = llm.url
        sg = Spyglass(tmp_path / "home", config=cfg)
        sg.index([str(root)])
        assert names(sg.search("crimson", mode="keyword")) == ["a.png"]
        assert names(sg.search("emerald photograph", mode="keyword"))[0] == "b.jpg"
        body = llm.requests[0]["body"]
        assert body["model"] == "llava" and body["messages"][0]["content"][1]["image_url"]["url"].startswith(
            "data:image/jpeg;base64,")
        n = len(llm.requests)
        sg.close()
        sg.index()  # unchanged images are not captioned again
        assert len(llm.requests) == n
        sg.close()
    # the endpoint is down: the new photo is indexed without a caption, status says so, a retry captions it
    solid_photo(root / "c.png", "blue")
    sg.index()
    sg.close()
    st = sg.status()["media"]
    assert st["captions_pending"] == 1 and "retry-failed" in st["caption_hint"]
    assert names(sg.search("c", mode="keyword")) == ["c.png"]
    with FakeLLM(_dominant) as llm:
        cfg.media.caption_endpoint = llm.url
        sg.index(retry_failed=True)
        sg.close()
        assert names(sg.search("sapphire", mode="keyword")) == ["c.png"]
        assert len(llm.requests) == 1  # only the one that was missing
    assert sg.status()["media"]["captions_pending"] == 0
    sg.close()


def test_camera_and_near_filters(tmp_path):
    from PIL import Image

    from spyglass.app.spyglass import Spyglass
    from conftest import keyword_config

    root = tmp_path / "p"
    root.mkdir()

    def shot(name, make, model, lat, lon, taken="2019:05:01 12:00:00"):
        exif = Image.Exif()
        exif[0x010F], exif[0x0110] = make, model
        exif.get_ifd(0x8769)[0x9003] = taken
        gps = exif.get_ifd(0x8825)
        gps[1], gps[3] = ("N" if lat >= 0 else "S"), ("E" if lon >= 0 else "W")
        gps[2] = (float(int(abs(lat))), float(int(abs(lat) % 1 * 60)), round(abs(lat) * 3600 % 60, 2))
        gps[4] = (float(int(abs(lon))), float(int(abs(lon) % 1 * 60)), round(abs(lon) * 3600 % 60, 2))
        Image.new("RGB", (32, 32), "white").save(root / name, exif=exif)

    shot("stockholm.jpg", "Canon", "EOS 80D", 59.3293, 18.0686)
    shot("uppsala.jpg", "FUJIFILM", "X-T3", 59.8586, 17.6389, "2021:07:14 23:30:00")  # ~64 km north of Stockholm
    shot("lima.jpg", "Canon", "PowerShot G7", -12.0464, -77.0428)
    cfg = keyword_config()
    cfg.media.ocr = False
    sg = Spyglass(tmp_path / "home", config=cfg)
    sg.index([str(root)])
    q = lambda s: sorted(names(sg.search(s, mode="keyword")))  # noqa: E731
    assert q("type:image camera:canon") == ["lima.jpg", "stockholm.jpg"]
    assert q('camera:"canon eos"') == ["stockholm.jpg"]
    assert q("near:59.33,18.07") == ["stockholm.jpg"]
    assert q("near:59.33,18.07,100km") == ["stockholm.jpg", "uppsala.jpg"]
    assert q("near:-12.05,-77.04,5 camera:canon") == ["lima.jpg"]
    assert q("taken:2021-07-14") == q("taken:2021") == ["uppsala.jpg"]
    assert q("taken:2019-05 camera:canon") == ["lima.jpg", "stockholm.jpg"] and q("taken:2020") == []
    from spyglass.core.errors import QuerySyntaxError

    with pytest.raises(QuerySyntaxError):
        sg.search("near:north")
    sg.close()


def test_eval_images_measures_recall_on_a_flickr8k_shaped_folder(tmp_path):
    from spyglass.core.config import MediaSettings
    from spyglass.evaluation.images import eval_images

    ds = tmp_path / "flickr"
    (ds / "images_224").mkdir(parents=True)
    (ds / "text").mkdir()
    lines = []
    for i, colour in enumerate(("red", "green", "blue")):
        solid_photo(ds / "images_224" / f"{i}.jpg", colour)
        lines += [f"{i}.jpg#0\tA {colour} wall .", f"{i}.jpg#1\tSomething {colour} and {colour} ."]
    lines.append("9.jpg#0\tA caption of an image that is not in the folder .")
    (ds / "text" / "Flickr8k.token.txt").write_text("\n".join(lines) + "\n")
    media = MediaSettings(**write_tiny_clip(tmp_path / "clip"))
    res = eval_images(ds, media, tmp_path / "cache")
    assert res["images"] == 3 and res["queries"] == 6
    assert res["recall@1"] == 1.0 and res["mrr@10"] == 1.0 and res["chance_recall@10"] == 1.0
    with pytest.raises(Exception, match="clip_image_model"):
        eval_images(ds, MediaSettings(), tmp_path / "cache")


def test_heic_photos_are_read_with_their_exif_and_embedded(tmp_path):
    pytest.importorskip("pillow_heif")
    import json

    from PIL import Image

    from spyglass.app.spyglass import Spyglass
    from spyglass.extraction.image import register_heif

    register_heif()
    root = tmp_path / "p"
    root.mkdir()
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Apple", "iPhone 15"
    Image.new("RGB", (64, 48), "blue").save(root / "IMG_1234.HEIC", exif=exif)
    sg = Spyglass(tmp_path / "home", config=_config(tmp_path))
    stats = sg.index([str(root)])
    row = sg.reader().catalog.db.execute("SELECT type, status, meta FROM items").fetchone()
    assert row[:2] == ("image", "ok") and json.loads(row[2])["camera"] == "Apple iPhone 15"
    assert stats.images["images"] == 1
    assert names(sg.search("blue", filters=_image_filter())) == ["IMG_1234.HEIC"]
    assert names(sg.search("camera:iphone")) == ["IMG_1234.HEIC"]
    sg.close()


def test_similar_by_content_uses_the_image_vectors_and_the_callers_permissions(photos, tmp_path):
    from spyglass.app.organize import Organizer
    from spyglass.core.errors import SpyglassError

    sg, root, _ = photos
    sg.close()
    org = Organizer(sg)
    alice = sg.principals_for("alice")
    res = org.similar(str(root / "IMG_0001.jpg"), alice, by="content")
    got = [Path(r["path"]).name for r in res["similar"]]
    assert got[0] == "IMG_0004.png" and "IMG_0001.jpg" not in got and "IMG_9999.png" not in got
    solid_photo(tmp_path / "outside.png", (0, 0, 250))  # not indexed: embedded on the fly
    assert Path(org.similar(str(tmp_path / "outside.png"), alice, by="content")["similar"][0]["path"]).name \
        == "IMG_0003.png"
    org.close()
    sg.config.media.clip_image_model = ""
    sg = type(sg)(sg.home, config=sg.config)
    with pytest.raises(SpyglassError, match="text-image model"):
        Organizer(sg).similar(str(root / "IMG_0001.jpg"), alice, by="content")
