"""Reading a QR label sheet (``bridge.qrlabels``) back as a person would: pdfinfo and pdffonts
(poppler-utils) for the page size and the fonts, pdftoppm to print the pages to PNG, zbarimg
(zbar-tools) to scan each label. scripts/test installs both; missing, they fail in CI."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from bridge.qrlabels import A4_MM, MARGIN_MM
from tests.conftest import require, require_module


def _tool(name: str, package: str) -> str:
    found = shutil.which(name)
    require(found is not None, f"{name} missing: scripts/test installs {package}")
    return found


def decode_label_pages(pdf: bytes, tmp_path: Path, columns: int = 3, rows: int = 8) -> list[list[str | None]]:
    """Each page of a label sheet as the payloads its labels scan to, in grid order (None for a
    cell that holds no readable code): the pages rendered by pdftoppm, each label's cell cut out
    and read by zbarimg, as a phone would read one label."""
    image = require_module("PIL.Image")
    pdftoppm = _tool("pdftoppm", "poppler-utils")
    zbarimg = _tool("zbarimg", "zbar-tools")
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    (folder / "sheet.pdf").write_bytes(pdf)
    subprocess.run([pdftoppm, "-r", "150", "-png", folder / "sheet.pdf", folder / "page"], check=True)
    width = (A4_MM[0] - 2 * MARGIN_MM[0]) / columns
    height = (A4_MM[1] - 2 * MARGIN_MM[1]) / rows
    pages = []
    for png in sorted(folder.glob("page-*.png")):
        page = image.open(png)
        px = page.width / A4_MM[0]
        found: list[str | None] = []
        for n in range(columns * rows):
            x, y = MARGIN_MM[0] + (n % columns) * width, MARGIN_MM[1] + (n // columns) * height
            cell = folder / "cell.png"
            page.crop((round(x * px), round(y * px), round((x + width) * px), round((y + height) * px))).save(cell)
            read = subprocess.run([zbarimg, "-q", "--raw", cell], capture_output=True, text=True)
            found.append(read.stdout.strip() or None)
        pages.append(found)
    return pages


def pdf_facts(pdf: bytes, tmp_path: Path) -> tuple[str, list[str]]:
    """pdfinfo's page size line and pdffonts' font lines of ``pdf``."""
    path = tmp_path / "facts.pdf"
    path.write_bytes(pdf)
    info = subprocess.run([_tool("pdfinfo", "poppler-utils"), path], capture_output=True, text=True, check=True)
    fonts = subprocess.run([_tool("pdffonts", "poppler-utils"), path], capture_output=True, text=True, check=True)
    size = next(line for line in info.stdout.splitlines() if line.startswith("Page size:"))
    return size, fonts.stdout.splitlines()[2:]


def first_page_png(pdf: bytes, png: Path, dpi: int = 110) -> None:
    """The first page of ``pdf`` as the PNG ``png`` (what it looks like printed)."""
    png.parent.mkdir(parents=True, exist_ok=True)
    source = png.with_suffix(".pdf.part")
    source.write_bytes(pdf)
    try:
        pdftoppm = _tool("pdftoppm", "poppler-utils")
        subprocess.run([pdftoppm, "-r", str(dpi), "-png", "-singlefile", source, png.with_suffix("")], check=True)
    finally:
        source.unlink(missing_ok=True)
