"""The Japanese catalogue is complete and current: every sentence in the code and templates is
translated (none empty, none fuzzy, the same placeholders), the compiled catalogue the app
loads is the one the .po makes, and the scripts' own catalogue (static/messages.js) has every
sentence in both languages and says what the server says where both say the same thing."""

from __future__ import annotations

import io
import json
import re
import shlex
import subprocess

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from raceapp.i18n import LANGUAGES, format_countdown, format_pace
from tests.helpers import ROOT

TRANSLATIONS = ROOT / "raceapp" / "translations"
TRANSLATED = [language for language in LANGUAGES if language != "en"]


def catalogue(language: str):
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po, locale=language)


def keywords() -> dict:
    """The extraction keywords `make messages` uses (from the Makefile: one list)."""
    line = next(
        line for line in (ROOT / "Makefile").read_text().splitlines() if line.startswith("KEYWORDS")
    )
    found = dict(DEFAULT_KEYWORDS)
    args = shlex.split(line.split(":=", 1)[1])
    for flag, spec in zip(args[::2], args[1::2], strict=True):
        assert flag == "-k"
        name, _, positions = spec.partition(":")
        if not positions:
            found[name] = None
            continue
        parts = []
        for part in positions.split(","):
            parts.append((int(part[:-1]), "c") if part.endswith("c") else int(part))
        found[name] = tuple(parts)
    return found


def extracted() -> set[tuple[str | None, str]]:
    """Every (context, message) in the code and templates, as `make messages` finds them."""
    with open(ROOT / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = set()
    for _file, _line, message, _comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=keywords()
    ):
        found.add((context, message[0] if isinstance(message, tuple) else message))
    return found


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated(language):
    po = catalogue(language)
    in_po = {(m.context, m.id[0] if isinstance(m.id, tuple) else m.id): m for m in po if m.id}
    missing = sorted(key[1] for key in extracted() if key not in in_po)
    assert missing == [], "new sentences: run `make messages` and translate them"
    untranslated = [
        key[1]
        for key, m in in_po.items()
        if not all(m.string if isinstance(m.string, tuple) else (m.string,))
    ]
    assert untranslated == []
    assert [key[1] for key, m in in_po.items() if m.fuzzy] == []
    # Babel's own checks: the placeholders of a translation are those of its message.
    assert [(m.id, [str(e) for e in errors]) for m, errors in po.check()] == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_tags_and_braces_are_kept(language):
    """HTML in a message and the {name} fields of the race-file checker's sentences."""

    def marks(text: str) -> list[str]:
        return sorted(re.findall(r"<[^>]+>|\{\w*\}|\{\{|\}\}", text))

    wrong = []
    for m in catalogue(language):
        if not m.id:
            continue
        source = m.id[-1] if isinstance(m.id, tuple) else m.id
        for text in m.string if isinstance(m.string, tuple) else (m.string,):
            if marks(text) != marks(source):
                wrong.append(source)
    assert wrong == []


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_compiled_catalogue_is_the_one_the_po_makes(language):
    compiled = io.BytesIO()
    write_mo(compiled, catalogue(language))
    mo = TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo"
    assert mo.exists() and mo.read_bytes() == compiled.getvalue(), "run `make install`"


@pytest.fixture(scope="module")
def script_messages() -> dict:
    """static/messages.js, as the browser and the service worker load it."""
    source = ROOT / "static" / "messages.js"
    out = subprocess.run(
        ["node", "-e", f"process.stdout.write(JSON.stringify(require({str(source)!r}).MESSAGES))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def test_the_scripts_speak_every_language_of_the_app(script_messages):
    assert sorted(script_messages) == sorted(LANGUAGES)
    english = script_messages["en"]
    for language, table in script_messages.items():
        assert table.keys() == english.keys(), language
        for key, text in table.items():
            for form in forms(text):
                assert form.strip(), (language, key)
                fields = sorted(re.findall(r"\{\w+\}", form))
                assert fields == sorted(re.findall(r"\{\w+\}", forms(english[key])[0])), (
                    language,
                    key,
                )


def forms(text: str | dict) -> list[str]:
    """A sentence's forms: one, or one per plural category ({"one": ..., "other": ...})."""
    return [text] if isinstance(text, str) else list(text.values())


def fill(template: str | dict, **values) -> str:
    """The script's sentence with its fields filled; a count `n` picks the plural form as
    CLDR's rules do for the app's languages (English: one for 1, Japanese: a single form)."""
    if isinstance(template, dict):
        template = (
            template["one"] if values.get("n") == 1 and "one" in template else template["other"]
        )
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), template)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_scripts_say_what_the_server_says(app, script_messages, language):
    """Where a script writes a sentence the server also writes (the countdown, the pace, the
    packed count after an offline tick), both write the same."""
    from flask_babel import ngettext

    from raceapp.i18n import speaking

    table = script_messages[language]
    assert fill(table["countdown"], h=5, m="30", s="00") == format_countdown(19800, language)
    assert fill(table["countdown_days"], n=3, h=5, m="05") == format_countdown(277509, language)
    assert fill(table["pace"], m=12, s="30") == format_pace(12.5, language)
    assert fill(table["pace_hours"], h=1, m="16") == format_pace(75.5, language)
    for done, total in ((3, 9), (1, 1)):  # the plural form, and the singular
        with speaking(language):
            server = ngettext(
                "%(done)d of %(num)d mandatory item packed",
                "%(done)d of %(num)d mandatory items packed",
                total,
                done=done,
            )
        assert fill(table["packed_count"], done=done, n=total) == server
