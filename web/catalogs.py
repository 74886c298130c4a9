"""Translation catalogues: one per page package plus the core one (``web/translations``).

    python -m web.catalogs update   extract the English msgids, merge them into each zh .po
    python -m web.catalogs compile  write the .mo files the app loads
    python -m web.catalogs check    fail if a string lacks a translation, a .mo is stale, or two catalogues
                                    translate one string differently (a unit test runs it)

English msgids live in the code and templates (``_("...")``, ``_l("...")``); the Chinese is in the .po.
"""

from __future__ import annotations

import sys
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

from web.i18n import WEB, translation_directories

LOCALE = "zh"
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
# pgettext: a page whose word differs from another page's for the same English (the catalogues are merged).
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None, "pgettext": ((1, "c"), 2)}


def _sources(translations: Path) -> tuple[Path, callable]:
    """Where a catalogue's strings come from: its page package, or for the core the shared files only."""
    package = translations.parent
    if package == WEB:
        # The core catalogue: shared templates and web/*.py, not the page packages (they have their own).
        return WEB, lambda path: Path(path).parent == WEB or Path(path).is_relative_to(WEB / "templates")
    return package, lambda path: True


def extract(translations: Path) -> Catalog:
    root, wanted = _sources(translations)
    catalog = Catalog(locale=LOCALE)
    for filename, lineno, message, comments, context in extract_from_dir(
        root, METHODS, keywords=KEYWORDS, directory_filter=lambda d: "vendor" not in d
    ):
        if wanted(root / filename):
            catalog.add(message, locations=[(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def _po_path(translations: Path) -> Path:
    return translations / LOCALE / "LC_MESSAGES" / "messages.po"


def _read_po(path: Path) -> Catalog:
    if not path.exists():
        return Catalog(locale=LOCALE)
    with path.open("rb") as f:
        return read_po(f, locale=LOCALE)


def update(translations: Path) -> None:
    po = _po_path(translations)
    catalog = _read_po(po)
    catalog.update(extract(translations), no_fuzzy_matching=True)
    catalog.obsolete.clear()
    po.parent.mkdir(parents=True, exist_ok=True)
    with po.open("wb") as f:
        write_po(f, catalog, width=120, omit_header=False, sort_output=True, include_lineno=False)


def _mo_bytes(catalog: Catalog) -> bytes:
    buf = BytesIO()
    write_mo(buf, catalog)
    return buf.getvalue()


def compile_catalog(translations: Path) -> None:
    po = _po_path(translations)
    po.with_suffix(".mo").write_bytes(_mo_bytes(_read_po(po)))


def problems(translations: Path) -> list[str]:
    """What is wrong with one catalogue: untranslated or missing strings, a stale .mo."""
    po_path = _po_path(translations)
    catalog = _read_po(po_path)
    found = []
    for message in extract(translations):
        if not message.id:
            continue
        entry = catalog.get(message.id, context=message.context)
        if entry is None or not entry.string or entry.fuzzy:
            found.append(f"{po_path}: no translation for {message.id!r}")
    mo = po_path.with_suffix(".mo")
    if not mo.exists():
        found.append(f"{mo}: missing; run python -m web.catalogs compile")
    else:
        with mo.open("rb") as f:
            compiled = {m.id: m.string for m in read_mo(f) if m.id}
        current = {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}
        if compiled != current:
            found.append(f"{mo}: stale; run python -m web.catalogs compile")
    return found


def conflicts(dirs: list[Path]) -> list[str]:
    """Strings two catalogues translate differently without a context: the app merges the catalogues, so
    one page's word would silently replace the other's (give one of them a ``pgettext`` context)."""
    words: dict[str, dict[str, Path]] = {}
    for d in dirs:
        for m in _read_po(_po_path(d)):
            if m.id and m.string and not m.context and isinstance(m.id, str):
                words.setdefault(m.id, {}).setdefault(m.string, d)
    return [
        f"{msgid!r} is translated differently in {', '.join(str(d) for d in where.values())}: "
        f"{' / '.join(where)}; give one a pgettext context"
        for msgid, where in words.items()
        if len(where) > 1
    ]


def main(argv: list[str]) -> int:
    action = argv[0] if argv else "check"
    dirs = translation_directories()
    if action == "update":
        for d in dirs:
            update(d)
    elif action == "compile":
        for d in dirs:
            compile_catalog(d)
    elif action == "check":
        found = [p for d in dirs for p in problems(d)] + conflicts(dirs)
        print("\n".join(found) or f"{len(dirs)} catalogues complete")
        return 1 if found else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
