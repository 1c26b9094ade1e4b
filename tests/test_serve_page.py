"""The page at ``GET /`` in a real headless browser (Debian's chromium, driven by
playwright): choose an image, and the top-5 bars appear, each as long as its
probability, measured on a screenshot against the server's JSON answer."""
import io
import json

import numpy as np

from _serve import ThreadServer, png_bytes, random_image, request, tiny_export
from gluon_resnet.serve import create_app

BAR_RGB = (0x2B, 0x6C, 0xB0)  # .bar's background in gluon_resnet/serve/page.py


def test_dropping_an_image_shows_the_top_5_as_bars(browser, tmp_path):
    from PIL import Image
    server = ThreadServer(create_app([tiny_export()[0]]))
    try:
        data = png_bytes(random_image(40))
        path = tmp_path / "shirt.png"
        path.write_bytes(data)
        status, _, body = request(server.port, "POST", "/predictions/tiny?topk=5", data)
        assert status == 200
        expected = json.loads(body)["predictions"]
        page = browser.new_page(viewport={"width": 800, "height": 600})
        page.goto("http://127.0.0.1:%d/" % server.port)
        page.wait_for_selector("#model option[value=tiny]", state="attached")
        page.set_input_files("#file", str(path))
        page.wait_for_function("document.querySelectorAll('#results .bar').length == 5")
        assert page.locator("#results .label").all_inner_texts() == [
            p["class"] for p in expected]
        shot = Image.open(io.BytesIO(page.locator("#results").screenshot())).convert("RGB")
        origin = page.locator("#results").bounding_box()
        pixels = np.asarray(shot).astype(int)
        for track, p in zip(page.locator("#results .track").all(), expected):
            box = track.bounding_box()
            row = pixels[int(box["y"] - origin["y"] + box["height"] / 2),
                         int(box["x"] - origin["x"]):int(box["x"] - origin["x"] + box["width"])]
            painted = int((np.abs(row - BAR_RGB).sum(axis=1) < 12).sum())
            assert abs(painted - p["prob"] * box["width"]) <= 2, (p, painted, box["width"])
        page.close()
    finally:
        server.stop()
