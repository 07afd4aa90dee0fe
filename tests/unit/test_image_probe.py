import io

from lumiere.media.image_probe import image_info
from PIL import Image, ImageCms


def jpeg_with_exif() -> bytes:
    img = Image.new("RGB", (64, 48), "red")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees to display
    exif[0x010F] = "Canon"
    exif[0x0110] = "EOS R6"
    exif.get_ifd(0x8825)[2] = (48.0, 51.0, 30.0)  # a GPS latitude
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif, icc_profile=icc)
    return buf.getvalue()


def test_exif_camera_gps_and_icc_are_reported() -> None:
    info = image_info(jpeg_with_exif())
    assert info is not None
    assert (info.format, info.width, info.height) == ("JPEG", 64, 48)
    assert info.orientation == 6
    assert info.camera == "Canon EOS R6"
    assert info.has_gps
    assert info.has_icc_profile
    assert not info.is_animated


def test_plain_png_and_animated_gif() -> None:
    buf = io.BytesIO()
    Image.new("RGBA", (10, 10)).save(buf, "PNG")
    png = image_info(buf.getvalue())
    assert png is not None
    assert (png.mode, png.orientation, png.has_gps, png.camera) == ("RGBA", None, False, None)
    frames = [Image.new("RGB", (8, 8), c) for c in ("red", "green", "blue")]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:])
    anim = image_info(gif.getvalue())
    assert anim is not None
    assert anim.frame_count == 3
    assert anim.is_animated


def test_not_an_image() -> None:
    assert image_info(b"\x00\x00\x00\x18ftypmp42") is None
