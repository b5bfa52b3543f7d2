"""engine.images.decode: every odd file a user may drop is decoded to 8-bit L/RGB, or refused with a reason."""

from __future__ import annotations

import io
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.core.errors import ImageError
from engine.images.decode import IMAGE_EXTENSIONS, open_image, probe_image, to_array


def save(image: Image.Image, path: Path, **kwargs) -> Path:
    image.save(path, **kwargs)
    return path


def test_extensions_are_lowercase_suffixes() -> None:
    assert ".jpg" in IMAGE_EXTENSIONS and ".png" in IMAGE_EXTENSIONS and ".tiff" in IMAGE_EXTENSIONS
    assert all(e.startswith(".") and e == e.lower() for e in IMAGE_EXTENSIONS)


def test_rgb_jpeg_from_path_str_bytes_and_pil(tmp_path: Path) -> None:
    path = save(Image.new("RGB", (40, 30), (200, 10, 10)), tmp_path / "red.jpg", quality=95)
    for source in (path, str(path), path.read_bytes(), Image.open(path)):
        image = open_image(source)
        assert image.mode == "RGB" and image.size == (40, 30)
        r, g, b = np.asarray(image)[15, 20]
        assert r > 180 and g < 40 and b < 40


def test_pil_input_is_not_modified(tmp_path: Path) -> None:
    original = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    out = open_image(original)
    assert original.mode == "RGBA" and out.mode == "RGB"


def test_sixteen_bit_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    values = np.array([[0, 257 * 128, 65535, 1000]], dtype=np.uint16)
    image = Image.fromarray(values)
    assert image.mode.startswith("I;16")
    path = save(image, tmp_path / "deep.png")
    out = np.asarray(open_image(path))
    assert open_image(path).mode == "L"
    assert out.tolist() == [[0, 128, 255, 4]]  # 1000/65535 is dim, not clipped to white


def test_float_image_is_scaled() -> None:
    image = Image.fromarray(np.array([[0.0, 0.5, 1.0]], dtype=np.float32), "F")
    assert np.asarray(open_image(image)).tolist() == [[0, 128, 255]]
    image = Image.fromarray(np.array([[-1.0, 0.0, 3.0]], dtype=np.float32), "F")
    assert np.asarray(open_image(image)).tolist() == [[0, 64, 255]]


def test_cmyk_jpeg_becomes_rgb(tmp_path: Path) -> None:
    path = save(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), tmp_path / "cmyk.jpg")
    image = open_image(path, draft_size=(8, 8))
    assert image.mode == "RGB"
    r, g, b = np.asarray(image)[4, 4]
    assert r > 200 and g < 60 and b < 60


def test_transparency_is_composited_on_white(tmp_path: Path) -> None:
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    rgba.putpixel((0, 0), (255, 0, 0, 255))
    out = np.asarray(open_image(save(rgba, tmp_path / "alpha.png")))
    assert out[0, 0].tolist() == [255, 0, 0] and out[3, 3].tolist() == [255, 255, 255]
    la = Image.new("LA", (2, 2), (0, 0))
    assert open_image(la).mode == "L" and np.asarray(open_image(la)).min() == 255
    palette = Image.new("P", (2, 2), 0)
    palette.info["transparency"] = 0
    assert open_image(save(palette, tmp_path / "p.png")).mode == "RGB"
    assert open_image(Image.new("1", (3, 3), 1)).mode == "L"


def test_animated_gif_gives_its_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (10, 10), (255, 255, 255)), Image.new("RGB", (10, 10), (0, 0, 0))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert Image.open(path).n_frames == 2
    image = open_image(path)
    assert image.mode in ("RGB", "L") and np.asarray(image).min() > 200


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    image = Image.new("RGB", (30, 10), (10, 200, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    path = save(image, tmp_path / "rotated.jpg", exif=exif.tobytes())
    assert open_image(path).size == (10, 30)


def test_big_jpeg_decodes_scaled_with_draft(tmp_path: Path) -> None:
    path = save(Image.new("RGB", (1600, 1200), (30, 60, 90)), tmp_path / "big.jpg")
    assert open_image(path).size == (1600, 1200)
    small = open_image(path, draft_size=(200, 200))
    assert small.size[0] < 1600 and min(small.size) >= 200


@pytest.mark.parametrize(
    "content, words",
    [
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "PDF"),
        (b"hello, this is a text file\n", "not an image"),
        (
            b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 3,
            "looks like a PNG file but is damaged",
        ),  # a PNG signature, then garbage
    ],
)
def test_not_an_image(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "fake.jpg"
    path.write_bytes(content)
    with pytest.raises(ImageError, match=words) as err:
        open_image(path)
    assert "fake.jpg" in str(err.value) and "\n" not in str(err.value)


def test_truncated_image(tmp_path: Path) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = io.BytesIO()
    Image.fromarray(noise).save(data, "PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(data.getvalue()[: len(data.getvalue()) // 2])
    with pytest.raises(ImageError, match="damaged or truncated"):
        open_image(path)


def test_missing_folder_and_empty(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="file not found"):
        open_image(tmp_path / "nope.png")
    with pytest.raises(ImageError, match="folder"):
        open_image(tmp_path)
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageError, match="empty"):
        open_image(tmp_path / "empty.png")
    with pytest.raises(ImageError, match="empty"):
        open_image(b"")


def test_too_many_pixels_is_refused_before_decoding(tmp_path: Path) -> None:
    path = save(Image.new("L", (100, 100)), tmp_path / "large.png")
    with pytest.raises(ImageError, match="too large"):
        open_image(path, max_pixels=5000)
    assert open_image(path, max_pixels=10_000).size == (100, 100)


def test_decompression_bomb_warning_is_an_error_but_global_filters_are_untouched(tmp_path: Path, monkeypatch) -> None:
    import warnings

    path = save(Image.new("L", (100, 100)), tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 6000)  # 10 000 px: warning zone (< 2 × limit)
    before = list(warnings.filters)
    with pytest.raises(ImageError, match="too large"):
        open_image(path)
    assert warnings.filters == before


def test_threads_decode_in_parallel(tmp_path: Path) -> None:
    paths = [save(Image.new("RGB", (50 + i, 40), (i, 0, 0)), tmp_path / f"{i}.png") for i in range(24)]
    with ThreadPoolExecutor(8) as pool:
        sizes = list(pool.map(lambda p: open_image(p).size, paths))
    assert sizes == [(50 + i, 40) for i in range(24)]


def test_to_array_pads_with_the_border_colour_and_keeps_aspect() -> None:
    wide = Image.new("RGB", (80, 40), (250, 250, 250))
    wide.paste((0, 0, 0), (20, 10, 60, 30))  # a black 40×20 box in the middle
    out = to_array(wide, (32, 32), 3)
    assert out.shape == (32, 32, 3) and out.dtype == np.uint8
    assert out[1, 16].min() > 240  # padded with the white border, not black
    dark_rows = np.flatnonzero(out[..., 0].min(axis=1) < 50)
    dark_cols = np.flatnonzero(out[..., 0].min(axis=0) < 50)
    width, height = np.ptp(dark_cols) + 1, np.ptp(dark_rows) + 1
    assert abs(width / height - 2.0) < 0.35  # still twice as wide as high
    squashed = to_array(wide, (32, 32), 3, pad_to_square=False)
    rows = np.flatnonzero(squashed[..., 0].min(axis=1) < 50)
    assert np.ptp(rows) + 1 > height


def test_to_array_channels_sizes_and_determinism() -> None:
    rng = np.random.default_rng(1)
    image = Image.fromarray(rng.integers(0, 256, (37, 53, 3), dtype=np.uint8))
    grey = to_array(image, (16, 16), 1)
    assert grey.shape == (16, 16, 1)
    assert to_array(image, (20, 10), 3).shape == (20, 10, 3)
    assert to_array(image, (64, 64), 3).shape == (64, 64, 3)  # upscaling works too
    assert np.array_equal(to_array(image, (28, 28), 3), to_array(image, (28, 28), 3))
    with pytest.raises(ValueError):
        to_array(image, (8, 8), 4)


def test_a_png_with_a_bad_checksum_is_called_damaged_not_unsupported(tmp_path: Path) -> None:
    data = io.BytesIO()
    Image.new("L", (12, 12), 40).save(data, "PNG")
    broken = bytearray(data.getvalue())
    broken[29] ^= 0xFF  # the last byte of the IHDR chunk's CRC
    path = tmp_path / "scan.png"
    path.write_bytes(bytes(broken))
    for read in (open_image, probe_image):
        with pytest.raises(ImageError, match="looks like a PNG file but is damaged") as caught:
            read(path)
        assert "checksum" in str(caught.value) and "LayerLab can read" not in str(caught.value)
    path.write_bytes(b"plain text, not a picture at all")
    with pytest.raises(ImageError, match="not an image LayerLab can read"):
        open_image(path)


def test_a_name_that_is_not_utf8_is_named_as_the_cause(tmp_path: Path) -> None:
    real = Path(os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9.png"))
    Image.new("L", (8, 8), 0).save(real, "PNG")
    assert open_image(real).size == (8, 8)  # by its real name it opens
    as_decoded = tmp_path / "caf\ufffd.png"  # what a UTF-8 decoder that replaces bytes hands on
    with pytest.raises(ImageError, match="not valid UTF-8") as caught:
        open_image(as_decoded)
    assert "not found" not in str(caught.value)
    with pytest.raises(ImageError, match="file not found"):
        open_image(tmp_path / "other\ufffd.png")
