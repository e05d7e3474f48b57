"""One replication's map, day by day, as a GIF (and an MP4 where ffmpeg is available)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from PIL import Image  # noqa: E402

from sim.core.io import write_atomic  # noqa: E402

from sim.plots.map import draw_day  # noqa: E402


def _frame(model, zoom_km: float) -> Image.Image:
    fig, ax = plt.subplots(figsize=(6.4, 6.4), dpi=80)
    draw_day(ax, model, zoom_km)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    buf.seek(0)
    return Image.open(buf).convert("P", palette=Image.Palette.ADAPTIVE)


def animate(model, out: Path, zoom_km: float = 25.0, ms_per_day: int = 150) -> list[Path]:
    """Step ``model`` to its end, drawing each day; writes ``out`` (GIF) and an MP4 beside it if ffmpeg exists."""
    frames = [_frame(model, zoom_km)]
    while model.running:
        model.step()
        frames.append(_frame(model, zoom_km))
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, lambda tmp: frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:],
                                                 duration=ms_per_day, loop=0))
    written = [out]
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg:
        import subprocess
        import tempfile

        mp4 = out.with_suffix(".mp4")
        with tempfile.TemporaryDirectory() as d:
            for k, f in enumerate(frames):
                f.convert("RGB").save(Path(d) / f"f{k:04d}.png")
            res = subprocess.run([ffmpeg, "-y", "-loglevel", "error", "-framerate", str(1000 // ms_per_day), "-i",
                                  str(Path(d) / "f%04d.png"), "-pix_fmt", "yuv420p", "-vf",
                                  "scale=trunc(iw/2)*2:trunc(ih/2)*2", str(mp4)], capture_output=True)
            if res.returncode == 0:
                written.append(mp4)
    return written
