import pytest
from lumiere.api.image_links import sign_path, signed_transform_url, transform_path, verify_path
from lumiere.errors import InvalidRequestError
from lumiere.media.transform_spec import TransformSpec, parse_transform

SECRET = "s3cret"


def test_options_parse_in_any_order_to_one_canonical_form() -> None:
    a = parse_transform("w_640,h_360,fit_cover,f_webp,q_70")
    b = parse_transform("q_70,f_webp,fit_cover,h_360,w_640")
    assert a == b == TransformSpec(640, 360, "cover", "webp", 70, True)
    assert a.canonical() == "f_webp,fit_cover,h_360,q_70,sc_1,w_640"
    assert parse_transform(a.canonical()) == a


def test_defaults_depend_on_what_is_given() -> None:
    assert parse_transform("w_300") == TransformSpec(width=300, fit="inside")
    assert parse_transform("w_300,h_300").fit == "cover"
    assert parse_transform("h_100,sc_0").smart is False


@pytest.mark.parametrize(
    "text",
    ["", "w_0", "w_5000", "w_640,w_320", "fit_stretch,w_1", "f_gif,w_1", "q_101,w_1",
     "x_1,w_1", "w_-1", "w_1;rm", "fit_cover", "w_1.5", "q_8.0,w_1", "w_1,t_-1",
     "w_1,t_1.2345", "w_1,t_86400.001", "w_1,t_1e3", "w_1,t_.5", "w_1,t_1.", "w_1,t_1,t_2",
     "w_1,dpr_5", "w_1,dpr_0.5", "w_1,dpr_1.234", "w_1,h_1,g_up", "w_1,g_north",
     "w_1,h_1,fit_contain,g_north", "w_1,h_1,g_north,sc_0", "w_1,h_1,g_1.5x0",
     "w_1,h_1,g_0.5", "w_1,bg_fff", "w_1,bg_12345g", "w_320,fps_10", "w_320,d_11",
     "w_320,d_0.05", "w_700,d_1", "w_400,dpr_2,d_1", "w_320,h_200,d_1,fit_cover",
     "w_10,h_10,d_1,g_north", "w_320,f_gif", "w_320,d_1,f_avif", "w_320,d_1,fps_31",
     "w_1,rot_45", "w_1,rot_360", "w_1,rot_-90", "w_1,crop_0x0x0x1", "w_1,crop_0.5x0x0.6x1",
     "w_1,crop_0x0.8x1x0.3", "w_1,crop_0x0x1", "w_1,crop_0.1234x0x0.5x0.5", "w_1,bl_0",
     "w_1,bl_101", "w_1,bl_2.25", "w_320,d_1,bl_5", "w_320,d_1,rot_90", "w_1,crop_1x0x0.5x1"],
)  # fmt: skip
def test_bad_options_are_refused(text: str) -> None:
    with pytest.raises(InvalidRequestError):
        parse_transform(text)


def test_a_time_is_seconds_to_the_millisecond_with_one_canonical_spelling() -> None:
    spec = parse_transform("w_320,t_12.5")
    assert spec.time == 12.5
    assert spec.canonical() == "f_auto,fit_inside,q_80,sc_1,t_12.5,w_320"
    assert parse_transform(spec.canonical()) == spec
    # the same moment spelled three ways: one cache key
    keys = {parse_transform(f"w_320,t_{t}").canonical() for t in ("12", "12.0", "12.000")}
    assert keys == {"f_auto,fit_inside,q_80,sc_1,t_12,w_320"}
    assert parse_transform("w_1,t_0").time == 0.0
    assert parse_transform("w_1,t_0.04").canonical().endswith("t_0.04,w_1")
    assert parse_transform("w_1,t_86400").time == 86400.0
    assert parse_transform("w_1").time is None


def test_dpr_multiplies_the_box_and_never_past_the_largest_side() -> None:
    spec = parse_transform("w_320,h_180,dpr_2")
    assert spec.pixel_box() == (640, 360)
    assert spec.canonical() == "dpr_2,f_auto,fit_cover,h_180,q_80,sc_1,w_320"
    assert parse_transform("w_320,dpr_1.5").pixel_box() == (480, None)
    assert (
        parse_transform("w_320,dpr_1.50").canonical()
        == parse_transform("w_320,dpr_1.5").canonical()
    )
    assert "dpr" not in parse_transform("w_320,dpr_1").canonical()  # the default: old keys
    # 3000x1000 at 2x would be 6000x2000: the whole box shrinks to fit, shape kept
    assert parse_transform("w_3000,h_1000,dpr_2").pixel_box() == (4096, 1365)


def test_gravity_places_a_cover_crop_by_hand() -> None:
    assert parse_transform("w_10,h_10").focus_point() is None  # smart crop decides
    assert parse_transform("w_10,h_10,sc_0").focus_point() == (0.5, 0.5)
    assert parse_transform("w_10,h_10,g_north").focus_point() == (0.5, 0.0)
    assert parse_transform("w_10,h_10,g_southwest").focus_point() == (0.0, 1.0)
    point = parse_transform("w_10,h_10,g_0.300x0.25")
    assert point.focus_point() == (0.3, 0.25)
    assert point.canonical() == "f_auto,fit_cover,g_0.3x0.25,h_10,q_80,sc_1,w_10"
    assert parse_transform("w_10,h_10,g_1x0").focus_point() == (1.0, 0.0)


def test_an_animation_is_a_stretch_in_a_small_box_as_webp_or_gif() -> None:
    spec = parse_transform("w_320,h_200,d_2")
    # from the start without t_, whole picture, 12 fps unless told
    assert (spec.time, spec.duration, spec.fps, spec.fit) == (0.0, 2.0, 12, "inside")
    assert spec.canonical() == "d_2,f_auto,fit_inside,fps_12,h_200,q_80,sc_1,t_0,w_320"
    assert spec.resolved("image/webp,*/*").format == "webp"
    assert spec.resolved("image/avif,image/*").format == "gif"  # no animated AVIF here
    gif = parse_transform("h_90,t_1.5,d_0.5,fps_30,f_gif")
    assert (gif.format, gif.extension, gif.fps) == ("gif", "gif", 30)
    assert parse_transform(gif.canonical()) == gif


def test_background_is_a_hex_colour_white_by_default() -> None:
    assert parse_transform("w_10,bg_1a2b3c").background_rgb == (26, 43, 60)
    assert parse_transform("w_10").background_rgb == (255, 255, 255)
    assert parse_transform("w_10,bg_000000").canonical().startswith("bg_000000,")


@pytest.mark.parametrize(
    ("accept", "alpha", "expected"),
    [
        ("image/avif,image/webp,*/*", False, "avif"),
        ("image/webp,image/*", False, "webp"),
        ("image/*", False, "jpeg"),
        (None, True, "png"),
    ],
)
def test_auto_format_follows_accept(accept: str | None, alpha: bool, expected: str) -> None:
    assert parse_transform("w_10").resolved(accept, alpha).format == expected
    assert parse_transform("w_10,f_jpeg").resolved("image/avif").format == "jpeg"


def test_auto_format_skips_what_this_build_cannot_write() -> None:
    spec = parse_transform("w_10").resolved("image/avif,image/webp", available=("jpeg", "webp"))
    assert spec.format == "webp"


def test_links_are_signed_and_tampering_is_detected() -> None:
    spec = parse_transform("w_640,h_360")
    url = signed_transform_url("https://api.example/", SECRET, "a" * 32, spec)
    path, _, query = url.removeprefix("https://api.example").partition("?s=")
    assert path == transform_path("a" * 32, spec)
    assert verify_path(SECRET, path, query)
    assert not verify_path(SECRET, path.replace("w_640", "w_641"), query)
    assert not verify_path("other", path, query)
    assert not verify_path(SECRET, path, None)
    assert not verify_path("", path, sign_path("", path))  # no secret: endpoint off


def test_turn_crop_and_blur_have_one_canonical_form_and_scale_with_dpr() -> None:
    spec = parse_transform("w_400,h_300,crop_0.1x0.200x0.5x0.5,rot_90,bl_2.5,dpr_2")
    assert (spec.rotation, spec.blur) == (90, 2.5)
    assert spec.region is not None
    assert (spec.region.left, spec.region.top, spec.region.width) == (0.1, 0.2, 0.5)
    assert spec.canonical() == (
        "bl_2.5,crop_0.1x0.2x0.5x0.5,dpr_2,f_auto,fit_cover,h_300,q_80,rot_90,sc_1,w_400"
    )
    assert parse_transform(spec.canonical()) == spec
    assert spec.pixel_blur == 5.0  # a 2x picture blurs twice as many pixels
    # the whole source a 800x600 part of a quarter-turned picture needs: turned back
    assert spec.source_box() == (1200.0, 1600.0)
    # absent, they leave the canonical form (and every earlier link's key) as it was
    assert parse_transform("w_320").canonical() == "f_auto,fit_inside,q_80,sc_1,w_320"
    # a region that reaches the edge is kept as given
    edge = parse_transform("w_1,crop_0.5x0.5x0.5x0.5").region
    assert edge is not None
    assert (edge.left + edge.width, edge.top + edge.height) == (1.0, 1.0)
