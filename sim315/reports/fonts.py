"""Fonts for the static charts: Chinese names render.

Matplotlib's default DejaVu Sans has no CJK glyphs. sim315 depends on ``mplfonts``, which
ships Noto Sans CJK SC; it is registered as a fallback behind DejaVu Sans, so Latin text
looks as before and Chinese text uses Noto. Where the font is missing (an install without
``mplfonts``), a CJK font the system has (``fc-list :lang=zh``) is used; failing both,
matplotlib warns about missing glyphs.
"""

from __future__ import annotations

from pathlib import Path

CJK_FAMILY = "Noto Sans CJK SC"


def cjk_font_file() -> Path | None:
    """The Noto Sans CJK SC file shipped by mplfonts, if installed."""
    try:
        import mplfonts
    except ImportError:
        return None
    path = Path(mplfonts.__file__).parent / "fonts" / "NotoSansCJKsc-Regular.otf"
    return path if path.is_file() else None


def use_cjk_fonts() -> str | None:
    """Register the CJK fallback for matplotlib; returns its family name, or None."""
    import matplotlib
    from matplotlib import font_manager

    path = cjk_font_file()
    if path is not None:
        font_manager.fontManager.addfont(str(path))
        family = font_manager.FontProperties(fname=str(path)).get_name()
    else:
        zh = [f for f in font_manager.fontManager.ttflist if "CJK" in f.name or "Hei" in f.name]
        if not zh:
            return None
        family = zh[0].name
    matplotlib.rcParams["font.family"] = ["DejaVu Sans", family]  # a fallback list
    return family
