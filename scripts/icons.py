"""Build static/vendor/icons.svg, one SVG sprite of the Lucide icons Relance uses (lucide-static from
the npm registry, pinned by package-lock.json): `{{ icon("scale", _("In collection")) }}` in a
template (templates/_icons.html) draws one. Run by `make static`; add an icon's name to ICONS."""
import re
import sys
from pathlib import Path

ICONS = ["scale", "pause", "triangle-alert", "zap", "calendar", "mail", "paperclip", "bell", "file-text",
         "pencil", "check", "x", "info", "chevron-up", "chevron-down", "chevron-right", "menu", "circle-alert",
         "handshake", "circle-check", "circle-x", "hourglass", "send", "eye", "user"]

STROKE = 'fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"'


def main(source: Path, target: Path) -> None:
    symbols = []
    for name in ICONS:
        svg = (source / f"{name}.svg").read_text(encoding="utf-8")
        body = re.search(r"<svg[^>]*>(.*)</svg>", svg, re.S).group(1)
        shapes = " ".join(line.strip() for line in body.splitlines() if line.strip())
        # The drawing attributes go on each symbol: <use> clones the symbol, not the sprite's root.
        symbols.append(f'<symbol id="{name}" viewBox="0 0 24 24" {STROKE}>{shapes}</symbol>')
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        "<!-- Lucide icons (ISC licence), https://lucide.dev: built by scripts/icons.py -->\n"
        '<svg xmlns="http://www.w3.org/2000/svg">\n' + "\n".join(symbols) + "\n</svg>\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
