"""Image benchmark: the default still-image variants (every preset width in every preset
format; then JPEG + WebP and AVIF apart, to show where the time goes) made three ways
from the same generated inputs, in one process, one after another, printed as one table
and written as Markdown to ``bench/results/images-<label>.md``.

- lumiere: ``make_variants`` (one decode, JPEGs at the smallest DCT scale that covers
  the widest width, resize cascade, banded first resize and encoding on a few threads);
- naive: Pillow, full decode, every width resized from the original with LANCZOS,
  saved one after another;
- libvips: ``pyvips.Image.thumbnail_buffer`` per width (shrink-on-load, libvips' own
  threads), saved with the same quality and effort settings.

All three use the preset's qualities and efforts (JPEG progressive with optimised
Huffman tables, WebP method, AVIF speed mapped to libvips' effort) and strip metadata.

Run from the repository root::

    .venv/bin/python bench/images.py                  # 8 x 12 MP JPEG + 4 PNG
    .venv/bin/python bench/images.py --count 2 --png-count 1 --skip-avif   # quick
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import io
import itertools
import math
import os
import platform
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lumiere.media.images import (
    LANCZOS,
    REDUCING_GAP,
    ImagePreset,
    can_encode,
    decode_for,
    encode,
    load_image_preset,
    make_variants,
    normalise,
    open_image,
    plan_widths,
)
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageStat, features

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent


CACHE_DIR = BENCH_DIR / ".cache" / "images"
RESULTS_DIR = BENCH_DIR / "results"
TARGET_RATIO = 3.0  # lumiere against naive, images per second

Outputs = list[tuple[int, str, int]]  # (width, format, bytes)
Runner = Callable[[Path, ImagePreset, tuple[str, ...]], Outputs]


# --------------------------------------------------------------------------- inputs


def photo(width: int, height: int, seed: int) -> Image.Image:
    """Photographic-ish content: smooth gradients, soft shapes, sharp edges and sensor
    grain, so encoders and resamplers have real work (not flat colour)."""
    rng = random.Random(seed)  # noqa: S311 - reproducible pictures, not secrets
    gx = Image.linear_gradient("L").rotate(rng.randrange(360)).resize((width, height))
    gy = Image.radial_gradient("L").resize((width, height))
    gz = Image.linear_gradient("L").transpose(Image.Transpose.ROTATE_90).resize((width, height))
    img = Image.merge("RGB", (gx, gy, gz))
    draw = ImageDraw.Draw(img)
    for _ in range(80):
        x, y = rng.randrange(width), rng.randrange(height)
        w, h = rng.randrange(40, width // 5), rng.randrange(40, height // 5)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        shape = draw.ellipse if rng.random() < 0.6 else draw.rectangle
        shape((x, y, x + w, y + h), fill=colour)
    img = img.filter(ImageFilter.GaussianBlur(1.5))
    for _ in range(40):  # sharp detail after the blur: text-like strokes
        x, y = rng.randrange(width), rng.randrange(height)
        draw = ImageDraw.Draw(img)
        draw.line((x, y, x + rng.randrange(-300, 300), y + rng.randrange(-300, 300)), width=3)
    grain = Image.effect_noise((width, height), 18).convert("RGB")
    return Image.blend(img, grain, 0.12)


def inputs(count: int, png_count: int, size: tuple[int, int]) -> dict[str, list[Path]]:
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    sets: dict[str, list[Path]] = {"jpeg": [], "png": []}
    w, h = size
    for i in range(count):
        path = CACHE_DIR / f"photo-{w}x{h}-{i}.jpg"
        if not path.exists():
            photo(w, h, seed=i).save(path, "JPEG", quality=90)
        sets["jpeg"].append(path)
    png_size = (w * 3 // 4, h * 3 // 4)  # 6.75 MP: screenshots and graphics are smaller
    for i in range(png_count):
        path = CACHE_DIR / f"photo-{png_size[0]}x{png_size[1]}-{i}.png"
        if not path.exists():
            photo(*png_size, seed=100 + i).save(path, "PNG", compress_level=6)
        sets["png"].append(path)
    return sets


# --------------------------------------------------------------------------- runners


def run_lumiere(path: Path, preset: ImagePreset, formats: tuple[str, ...]) -> Outputs:
    _, variants = make_variants(path, dataclasses.replace(preset, formats=formats))
    return [(v.width, v.format, len(v.data)) for v in variants]


def pillow_save(img: Image.Image, fmt: str, preset: ImagePreset) -> bytes:
    out = io.BytesIO()
    q = preset.quality[fmt]
    if fmt == "jpeg":
        img.save(out, "JPEG", quality=q, optimize=True, progressive=True)
    elif fmt == "webp":
        img.save(out, "WEBP", quality=q, method=preset.webp_method)
    else:
        img.save(out, "AVIF", quality=q, speed=preset.avif_speed)
    return out.getvalue()


def run_naive(path: Path, preset: ImagePreset, formats: tuple[str, ...]) -> Outputs:
    with Image.open(path) as src:
        img = src.convert("RGB")  # the full decode
    outputs = []
    for width in plan_widths(img.width, preset):
        height = round(img.height * width / img.width)
        small = img.resize((width, height), Image.Resampling.LANCZOS)
        for fmt in formats:
            outputs.append((width, fmt, len(pillow_save(small, fmt, preset))))
    return outputs


def run_vips(path: Path, preset: ImagePreset, formats: tuple[str, ...]) -> Outputs:
    import pyvips

    data = path.read_bytes()
    header = pyvips.Image.new_from_buffer(data, "")
    outputs = []
    for width in plan_widths(header.width, preset):
        thumb = pyvips.Image.thumbnail_buffer(data, width, height=10_000_000, size="down")
        # Rendered once into memory: the pipeline is sequential, two saves would each
        # ask the decoder to start over.
        thumb = thumb.copy_memory()
        for fmt in formats:
            q = preset.quality[fmt]
            if fmt == "jpeg":
                out = thumb.jpegsave_buffer(Q=q, optimize_coding=True, interlace=True, keep="none")
            elif fmt == "webp":
                out = thumb.webpsave_buffer(Q=q, effort=preset.webp_method, keep="none")
            else:  # libvips' effort is 9 - libaom's cpu-used; Pillow's speed maps to it
                effort = max(0, min(9, 9 - preset.avif_speed))
                out = thumb.heifsave_buffer(Q=q, compression="av1", effort=effort, keep="none")
            outputs.append((thumb.width, fmt, len(out)))
    return outputs


def format_sets(preset: ImagePreset, *, skip_avif: bool) -> list[tuple[str, ...]]:
    """The rows' formats: first the preset's own (every default variant, what an upload
    gets), then JPEG + WebP and AVIF apart, to show where the time goes."""
    made = tuple(f for f in preset.formats if can_encode(f) and not (skip_avif and f == "avif"))
    sets = [made, ("jpeg", "webp")]
    if can_encode("avif") and not skip_avif:
        sets.append(("avif",))
    return list(dict.fromkeys(s for s in sets if s))


# --------------------------------------------------------------------------- timing


@dataclass
class Result:
    method: str
    inputs: str
    formats: str
    images: int
    wall: float
    cpu: float
    out_bytes: int
    variants: int

    @property
    def per_second(self) -> float:
        return self.images / self.wall if self.wall else 0.0


def measure(
    method: str, run: Runner, paths: list[Path], preset: ImagePreset, formats: tuple[str, ...]
) -> Result:
    run(paths[0], preset, formats)  # warm up: imports, codec tables, ICC and thread pools
    wall0, cpu0 = time.perf_counter(), time.process_time()
    out_bytes = variants = 0
    for path in paths:
        outputs = run(path, preset, formats)
        out_bytes += sum(size for _, _, size in outputs)
        variants += len(outputs)
    return Result(
        method=method,
        inputs=f"{len(paths)} x {paths[0].suffix[1:].upper()}",
        formats="+".join(formats),
        images=len(paths),
        wall=time.perf_counter() - wall0,
        cpu=time.process_time() - cpu0,
        out_bytes=out_bytes,
        variants=variants,
    )


def cascade_quality(path: Path, preset: ImagePreset) -> list[tuple[int, float]]:
    """PSNR of Lumiere's (JPEG-decoded) variants against a direct LANCZOS resize of the
    original: the cost of the cascade and the DCT-scaled decode, not of JPEG, is what it is
    meant to show, so both sides are compared before lossy encoding would matter most
    (JPEG quality 95)."""
    with Image.open(path) as src:
        original = src.convert("RGB")
    lossless = dataclasses.replace(preset, formats=("jpeg",), quality={"jpeg": 95})
    _, variants = make_variants(path, lossless)
    scores = []
    for v in variants:
        ours = Image.open(io.BytesIO(v.data)).convert("RGB")
        direct = original.resize(ours.size, Image.Resampling.LANCZOS)
        ref = Image.open(io.BytesIO(pillow_save(direct, "jpeg", lossless))).convert("RGB")
        rms = ImageStat.Stat(ImageChops.difference(ours, ref)).rms
        mse = sum(r * r for r in rms) / len(rms) or 1e-9
        scores.append((v.width, 10 * math.log10(255**2 / mse)))
    return scores


# --------------------------------------------------------------------------- bound


@dataclass
class Bound:
    """Per-image CPU milliseconds of Lumiere's stages, each run alone on one thread, and
    the best wall time any schedule of them could reach on ``cores`` cores."""

    naive: float  # the naive baseline's wall time (libavif encodes on threads of its own)
    decode: float  # decode and normalise: one thread, nothing else can start before it
    first_resize: float  # source to the widest width (Lumiere bands it across cores)
    widest_encode: float  # the slowest encode of the widest width
    encodes: float  # every encode: the same work, at the same settings, as the naive one's
    total: float  # everything make_variants does

    def critical_path(self, cores: int) -> float:
        return self.decode + self.first_resize / cores + self.widest_encode

    def best_wall(self, cores: int) -> float:
        # every core busy from the end of the decode on, and never less than the chain
        idle_while_decoding = self.decode * (cores - 1)
        return max(self.critical_path(cores), (self.total + idle_while_decoding) / cores)


def fastest_ms(
    fn: Callable[[], object], repeat: int = 3, clock: Callable[[], float] = time.process_time
) -> float:
    """Fastest of ``repeat`` runs, by default in process CPU time, which other processes
    on a shared machine inflate far less than wall time."""
    best = math.inf
    for _ in range(repeat):
        start = clock()
        fn()
        best = min(best, clock() - start)
    return best * 1000


def bound(path: Path, preset: ImagePreset, formats: tuple[str, ...]) -> Bound:
    data = path.read_bytes()
    options = {"webp_method": preset.webp_method, "avif_speed": preset.avif_speed}

    header = open_image(data, max_pixels=preset.max_pixels)
    widths = plan_widths(header.width, preset)

    def decode() -> Image.Image:
        # as make_variants does: at the smallest DCT scale that covers the widest width
        img = open_image(data, max_pixels=preset.max_pixels)
        return normalise(decode_for(img, data, img.width, widths[0]))

    source = decode()
    sizes = [(w, max(1, round(source.height * w / source.width))) for w in widths]
    steps = [source.resize(sizes[0], LANCZOS, reducing_gap=REDUCING_GAP)]
    for size in sizes[1:]:
        steps.append(steps[-1].resize(size, LANCZOS, reducing_gap=REDUCING_GAP))
    cascade = sum(
        fastest_ms(lambda a=a, b=b: a.resize(b.size, LANCZOS, reducing_gap=REDUCING_GAP))
        for a, b in itertools.pairwise(steps)
    )
    encodes = {
        (step.width, f): fastest_ms(
            lambda s=step, f=f: encode(s, f, quality=preset.quality[f], **options)
        )
        for step in steps
        for f in formats
    }
    decode_ms = fastest_ms(decode)
    first = fastest_ms(lambda: source.resize(sizes[0], LANCZOS, reducing_gap=REDUCING_GAP))
    return Bound(
        naive=fastest_ms(lambda: run_naive(path, preset, formats), 2, time.perf_counter),
        decode=decode_ms,
        first_resize=first,
        widest_encode=max(encodes[(widths[0], f)] for f in formats),
        encodes=sum(encodes.values()),
        total=decode_ms + first + cascade + sum(encodes.values()),
    )


def bound_report(sets: dict[str, list[Path]], preset: ImagePreset, cores: int) -> list[str]:
    rows = [
        f"| inputs | formats | naive ms | Lumiere CPU ms | decode | first resize | widest "
        f"encode | all encodes | critical path ({cores} cores) | best wall | best ratio "
        f"| 3x needs wall | 3x needs CPU ({cores} cores) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: |",
    ]
    for formats in format_sets(preset, skip_avif=False):
        for paths in sets.values():
            if not paths:
                continue
            each = [bound(p, preset, formats) for p in paths]
            mean = Bound(
                *(
                    sum(getattr(b, f.name) for b in each) / len(each)
                    for f in dataclasses.fields(Bound)
                )
            )
            wall_3x = mean.naive / TARGET_RATIO
            rows.append(
                f"| {len(paths)} x {paths[0].suffix[1:].upper()} | {'+'.join(formats)} | "
                f"{mean.naive:.0f} | {mean.total:.0f} | {mean.decode:.0f} | "
                f"{mean.first_resize:.0f} | {mean.widest_encode:.0f} | {mean.encodes:.0f} | "
                f"{mean.critical_path(cores):.0f} | {mean.best_wall(cores):.0f} | "
                f"{mean.naive / mean.best_wall(cores):.2f}x | <= {wall_3x:.0f} | "
                f"<= {wall_3x * cores - mean.decode * (cores - 1):.0f} |"
            )
            print(rows[-1], flush=True)
    return rows


# --------------------------------------------------------------------------- report


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


def machine() -> dict[str, str]:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
        ram = f"{mem_kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        ram = "?"
    info = {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "ram": ram,
        "python": platform.python_version(),
        "pillow": Image.__version__,
        "libjpeg-turbo": str(features.version("libjpeg_turbo")),
        "libwebp": str(features.version("webp")),
        "libavif": str(features.version("avif")),
        "simplejpeg": _version("simplejpeg"),
        "numpy": _version("numpy"),
    }
    try:
        import pyvips

        info["pyvips"] = (
            f"{pyvips.__version__} (libvips {'.'.join(str(pyvips.version(i)) for i in range(3))})"
        )
    except (ImportError, OSError):
        info["pyvips"] = "not installed"
    return info


def table(results: list[Result], baseline: dict[tuple[str, str], Result]) -> list[str]:
    rows = [
        "| inputs | formats | method | images/s | wall s | CPU s | variants | output MB "
        "| vs naive |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        base = baseline.get((r.inputs, r.formats))
        ratio = f"{r.per_second / base.per_second:.2f}x" if base else "-"
        rows.append(
            f"| {r.inputs} | {r.formats} | {r.method} | {r.per_second:.2f} | {r.wall:.2f} | "
            f"{r.cpu:.2f} | {r.variants} | {r.out_bytes / 1e6:.2f} | {ratio} |"
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=8, help="12 MP JPEG inputs")
    parser.add_argument("--png-count", type=int, default=4, help="PNG inputs (6.75 MP)")
    parser.add_argument("--size", default="4000x3000", help="JPEG input size")
    parser.add_argument("--label", default=f"{os.cpu_count()}core")
    parser.add_argument("--skip-avif", action="store_true")
    parser.add_argument("--skip-vips", action="store_true")
    parser.add_argument(
        "--bound",
        action="store_true",
        help="instead of timing, the best ratio any schedule could reach, from CPU times",
    )
    args = parser.parse_args(argv)

    preset = load_image_preset()
    w, h = (int(v) for v in args.size.split("x"))
    sets = inputs(args.count, args.png_count, (w, h))
    if args.bound:
        return write_bound(args, sets, preset, argv)
    runners: list[tuple[str, Runner]] = [("lumiere", run_lumiere), ("naive", run_naive)]
    if not args.skip_vips:
        try:
            import pyvips  # noqa: F401

            runners.append(("libvips", run_vips))
        except (ImportError, OSError) as e:
            print(f"pyvips unavailable ({e}); install pyvips and pyvips-binary", file=sys.stderr)
    if not can_encode("avif") and not args.skip_avif:
        print("This Pillow does not encode AVIF: AVIF rows skipped.", file=sys.stderr)

    results: list[Result] = []
    for formats in format_sets(preset, skip_avif=args.skip_avif):
        for paths in sets.values():
            if not paths:
                continue
            for method, run in runners:
                result = measure(method, run, paths, preset, formats)
                results.append(result)
                print(
                    f"{result.inputs:<9} {result.formats:<9} {method:<8} "
                    f"{result.per_second:6.2f} img/s  wall {result.wall:6.2f}s  "
                    f"cpu {result.cpu:6.2f}s  {result.out_bytes / 1e6:7.2f} MB",
                    flush=True,
                )
    baseline = {(r.inputs, r.formats): r for r in results if r.method == "naive"}
    lines = table(results, baseline)
    ratios = []
    for r in results:
        base = baseline[(r.inputs, r.formats)]
        vips = next(
            (
                x
                for x in results
                if x.method == "libvips" and (x.inputs, x.formats) == (r.inputs, r.formats)
            ),
            None,
        )
        if r.method == "lumiere":
            verdict = "PASS" if r.per_second / base.per_second >= TARGET_RATIO else "FAIL"
            vs_vips = f", {r.per_second / vips.per_second:.2f}x libvips" if vips else ""
            ratios.append(
                f"- {r.inputs} {r.formats}: lumiere {r.per_second / base.per_second:.2f}x naive "
                f"(target {TARGET_RATIO:.0f}x: {verdict}){vs_vips}"
            )
    quality = cascade_quality(sets["jpeg"][0], preset) if sets["jpeg"] else []
    info = machine()
    print()
    print("\n".join(lines))
    print("\n".join(ratios))
    if quality:
        print(
            "PSNR of lumiere's variants vs a direct LANCZOS resize (dB): "
            + ", ".join(f"{w}w {p:.1f}" for w, p in quality)
        )

    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    report = RESULTS_DIR / f"images-{args.label}.md"
    widths = ", ".join(str(x) for x in preset.widths)
    report.write_text(
        "\n".join(
            [
                f"# Image variants benchmark ({args.label})",
                "",
                f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC. `bench/images.py "
                + " ".join(argv if argv is not None else sys.argv[1:])
                + "`",
                "",
                f"Default preset: widths {widths}; JPEG q{preset.quality['jpeg']} progressive "
                f"optimised, WebP q{preset.quality['webp']} method {preset.webp_method}, AVIF "
                f"q{preset.quality['avif']} speed {preset.avif_speed} (libvips effort "
                f"{9 - preset.avif_speed}). Same settings for all three methods; one run, "
                "one process, methods one after another on the same files, each warmed up on "
                "the first file.",
                "",
                f"Inputs (generated, cached in bench/.cache/images): {args.count} JPEG "
                f"{w}x{h} q90 and {args.png_count} PNG {w * 3 // 4}x{h * 3 // 4}, gradients, "
                "shapes, strokes and grain.",
                "",
                *lines,
                "",
                *ratios,
                "",
                "PSNR of Lumiere's variants (cascade + DCT-scaled decode, JPEG q95) against "
                "a direct LANCZOS resize of the original (JPEG q95), first JPEG input: "
                + ", ".join(f"{w}w {p:.1f} dB" for w, p in quality),
                "",
                "## Machine",
                "",
                *(f"- {k}: {v}" for k, v in info.items()),
                "",
            ]
        ),
        encoding="utf-8",
    )
    print(f"\nwrote {report.relative_to(REPO)}")
    return 0


def write_bound(
    args: argparse.Namespace,
    sets: dict[str, list[Path]],
    preset: ImagePreset,
    argv: list[str] | None,
) -> int:
    cores = os.cpu_count() or 1
    load = os.getloadavg()[0]
    rows = bound_report(sets, preset, cores)
    report = RESULTS_DIR / f"images-{args.label}-bound.md"
    report.write_text(
        "\n".join(
            [
                f"# Image variants: the best ratio {cores} cores allow ({args.label})",
                "",
                f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, load average {load:.2f} at "
                "the start. `bench/images.py "
                + " ".join(argv if argv is not None else sys.argv[1:])
                + "`",
                "",
                "Each stage of make_variants run alone on one thread, per image, in process "
                "CPU milliseconds (fastest of 3; CPU time is far less inflated than wall time "
                "by other processes). The naive baseline is timed in wall milliseconds "
                "(fastest of 2): its code is single-threaded, but libavif encodes on threads "
                "of its own, so its CPU time would overstate it. Lumiere's best wall on N "
                "cores is bounded below by its critical path (decode, then the first resize "
                "split over the cores, then the slowest encode of the widest width, one "
                "thread each) and by its CPU time spread over the cores once the "
                "single-threaded decode is done. The last column turns the 3x wall time "
                "into the most CPU time Lumiere could spend, with every core busy from the "
                "end of the decode on: when the encodes alone (the same encoders at the same "
                "settings as the baseline's) take more, no schedule reaches 3x here.",
                "",
                *rows,
                "",
                "## Machine",
                "",
                *(f"- {k}: {v}" for k, v in machine().items()),
                "",
            ]
        ),
        encoding="utf-8",
    )
    print(f"\nwrote {report.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
