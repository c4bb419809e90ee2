"""The manual (README.md and docs/*.md) against the repository: links, anchors, commands, data.

- Every relative link resolves to a file or folder of the repository, and every `#anchor` to a
  heading of its target page, spelled as GitHub renders heading ids.
- Every command of our CLIs shown in a code block or an inline code span (`.venv/bin/device ...`,
  `python -m train ...`, `convert --fp16 ...`) names a real sub-command and real options of the
  argparse parser that will parse it; repository scripts named in code blocks exist. Nothing is
  run.
- Every docs page is reachable from the index, docs/README.md; the README points to LICENSE and
  ATTRIBUTIONS.md, and ATTRIBUTIONS.md lists every data file and image of the repository and
  every bundled photo.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INDEX = ROOT / "docs" / "README.md"
PROGRAMS = ("device", "train", "convert")

_FENCE = re.compile(r"^\s*(```|~~~)\s*([\w+-]*)")
SHELL_BLOCKS = {"sh", "bash", "shell", "console"}   # commands; other blocks are pictures, listings
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
# Where one of our programs starts in a line of a code block: the venv's entry point anywhere,
# `-m PROGRAM` (python, torchrun), or the bare name at the start of a line.
_INVOCATION = re.compile(
    r"(?:\.venv/bin/|(?<=\s)-m\s+|^\s*)(?P<prog>device|train|convert)(?=\s|$)")
_REPO_SCRIPT = re.compile(r"^(?:bench|train|convert|device|systemd|tests)/[\w./-]+\.(?:py|sh|toml)$")


@dataclass
class Page:
    path: Path
    text_lines: list[tuple[int, str]] = field(default_factory=list)    # outside code blocks
    code_lines: list[tuple[int, str]] = field(default_factory=list)    # in shell blocks
    headings: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.path.relative_to(ROOT))


def read_page(path: Path) -> Page:
    """Split a Markdown page into prose lines, the lines of its shell code blocks (backslash
    continuations joined) and headings (only those outside code blocks: a `# comment` in a shell
    block is not one)."""
    page = Page(path)
    fence = None
    shell = False
    pending = ""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        opened = _FENCE.match(line)
        if fence is None:
            if opened:
                fence, shell = opened.group(1), opened.group(2) in SHELL_BLOCKS
                continue
            page.text_lines.append((number, line))
            heading = _HEADING.match(line)
            if heading:
                page.headings.append(heading.group(2))
        elif line.strip().startswith(fence):
            fence = None
        elif not shell:
            continue
        elif line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
        else:
            page.code_lines.append((number, pending + line))
            pending = ""
    return page


def github_slug(heading: str) -> str:
    """The id GitHub gives a heading (github-slugger): the rendered text lower-cased, every
    character dropped except letters, marks, decimal and letter numbers, connector punctuation
    (`_`), hyphens and spaces, then each space turned into a hyphen."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading).lower()
    kept = (ch for ch in text if ch in " -" or unicodedata.category(ch) in {
        "Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "Pc"})
    return "".join(kept).replace(" ", "-")


def anchors(page: Page) -> set[str]:
    """Every heading id of a page, with GitHub's -1, -2... suffixes on repeated ones."""
    seen: dict[str, int] = {}
    ids = set()
    for heading in page.headings:
        slug = github_slug(heading)
        count = seen.get(slug, 0)
        ids.add(slug if count == 0 else f"{slug}-{count}")
        seen[slug] = count + 1
    return ids


def links(page: Page) -> list[tuple[int, str]]:
    """(line, target) of every inline link and image outside code, a link's text may wrap."""
    found = []
    lines = page.text_lines
    for index, (number, line) in enumerate(lines):
        joined = line + (" " + lines[index + 1][1] if index + 1 < len(lines) else "")
        joined = _CODE_SPAN.sub("code", joined)
        for match in _LINK.finditer(joined):
            if match.start() < len(line):   # starts on this line; the next one is context only
                found.append((number, match.group(1)))
    return found


def link_errors(page: Page, pages: dict[Path, Page]) -> list[str]:
    errors = []
    for number, target in links(page):
        if _SCHEME.match(target):
            continue        # http(s), mailto: not checked here
        where = f"{page.name}:{number}: link {target!r}"
        file_part, _, anchor = target.partition("#")
        resolved = (page.path.parent / file_part).resolve() if file_part else page.path
        if ROOT not in resolved.parents and resolved != ROOT:
            errors.append(f"{where} leaves the repository")
            continue
        if not resolved.exists():
            errors.append(f"{where}: no such file {resolved.relative_to(ROOT)}")
            continue
        if anchor:
            if resolved.suffix != ".md":
                errors.append(f"{where}: an anchor into a file that is not Markdown")
                continue
            target_page = pages.get(resolved) or read_page(resolved)
            if anchor not in anchors(target_page):
                errors.append(f"{where}: no heading #{anchor} in {target_page.name}")
    return errors


def _options_and_subcommands(parser: argparse.ArgumentParser):
    options = {s for action in parser._actions for s in action.option_strings}
    subcommands = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            subcommands.update(action.choices)
    return options, subcommands


def command_errors(program: str, rest: str, parser: argparse.ArgumentParser) -> list[str]:
    """What is wrong with `program rest` for `parser`: unknown sub-commands and options (exact
    spellings: argparse would also take a prefix, the manual must not rely on it). `rest` ends at
    a comment or at a shell operator; [ ] | and ... of a synopsis are ignored."""
    rest = re.split(r"\s#|&&|\|\||;", rest, maxsplit=1)[0]
    tokens = [t for t in rest.replace("[", " ").replace("]", " ").split() if t not in ("|", "...")]
    errors = []
    path = program
    options, subcommands = _options_and_subcommands(parser)
    for token in tokens:
        if token.startswith("--"):
            name = token.split("=", 1)[0]
            if name not in options:
                errors.append(f"`{path}` has no option {name}")
        elif subcommands and not token.startswith("-"):
            if token not in subcommands:
                errors.append(f"`{path}` has no sub-command {token!r}")
                break
            path += " " + token
            options, subcommands = _options_and_subcommands(subcommands[token])
    return errors


def invocations(page: Page) -> list[tuple[int, str, str]]:
    """(line, program, the rest of the line) for each of our programs in code blocks, and for
    inline code spans that start with one of them followed by an argument."""
    found = []
    for number, line in page.code_lines:
        for match in _INVOCATION.finditer(line):
            found.append((number, match.group("prog"), line[match.end():]))
    for number, line in page.text_lines:
        for span in _CODE_SPAN.finditer(line):
            words = span.group(2).strip()
            words = words[len(".venv/bin/"):] if words.startswith(".venv/bin/") else words
            program, _, rest = words.partition(" ")
            if program in PROGRAMS and rest:
                found.append((number, program, rest))
    return found


@pytest.fixture(scope="module")
def pages() -> dict[Path, Page]:
    paths = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return {path: read_page(path) for path in paths}


@pytest.fixture(scope="module")
def parsers() -> dict[str, argparse.ArgumentParser]:
    import convert.cli
    import device.cli
    import train.cli

    return {"device": device.cli.build_parser(), "train": train.cli.build_parser(),
            "convert": convert.cli.build_parser()}


def test_every_link_and_anchor_resolves(pages):
    checked = sum(len(links(page)) for page in pages.values())
    errors = [e for page in pages.values() for e in link_errors(page, pages)]
    assert not errors, "\n".join(errors)
    assert checked >= len(pages)    # the pages do link to each other


def test_every_command_names_real_subcommands_and_options(pages, parsers):
    errors = []
    count = 0
    for page in pages.values():
        for number, program, rest in invocations(page):
            count += 1
            errors += [f"{page.name}:{number}: {e}"
                       for e in command_errors(program, rest, parsers[program])]
    assert not errors, "\n".join(errors)
    assert count >= 50, f"only {count} commands found: the parser of the pages is broken"


def test_scripts_named_in_code_blocks_exist(pages):
    missing = [f"{page.name}:{number}: {token}"
               for page in pages.values() for number, line in page.code_lines
               for token in line.split()
               if _REPO_SCRIPT.match(token) and not (ROOT / token).is_file()]
    assert not missing, "\n".join(missing)


def test_every_docs_page_is_linked_from_the_index(pages):
    index = pages[INDEX]
    linked = {(INDEX.parent / target.partition("#")[0]).resolve()
              for _, target in links(index) if not _SCHEME.match(target)}
    orphans = [page.name for path, page in pages.items()
               if path.parent.is_relative_to(ROOT / "docs") and path != INDEX
               and path not in linked]
    assert not orphans, f"docs pages missing from docs/README.md: {orphans}"


def test_readme_points_to_the_licence_and_the_attributions(pages):
    targets = {target for _, target in links(pages[ROOT / "README.md"])}
    assert {"LICENSE", "ATTRIBUTIONS.md", "docs/README.md"} <= targets
    assert "Permission is hereby granted" in (ROOT / "LICENSE").read_text()


# Source, configuration and text; every other file of the repository is data and needs its
# source and licence in ATTRIBUTIONS.md.
TEXT_SUFFIXES = {"", ".py", ".pyi", ".md", ".txt", ".toml", ".cfg", ".ini", ".yml", ".yaml",
                 ".sh", ".service", ".rules", ".sysusers", ".html", ".css", ".js"}


def test_attributions_list_every_data_file_and_bundled_photo():
    from device.content.photos import BUNDLED_PHOTOS

    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
            check=True, capture_output=True, text=True).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"not a git checkout, so the repository's files are unknown: {exc}")
    data = [name for name in listed if name and Path(name).suffix not in TEXT_SUFFIXES
            and (ROOT / name).is_file()]
    attributions = (ROOT / "ATTRIBUTIONS.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([^`]+)`", attributions))
    unlisted = [name for name in data if name not in named and Path(name).name not in named]
    assert data and not unlisted, f"data files without source and licence: {unlisted}"
    photos = [f"{n} ({f})" for n, f in BUNDLED_PHOTOS.items() if not {n, f} <= named]
    assert not photos, f"bundled photos not in ATTRIBUTIONS.md: {photos}"


# The checkers themselves: each finds what it exists to find.

def test_github_slugs_match_githubs_rendering():
    # Ids as github.com renders these headings (github-slugger's rules; checked on the pages'
    # own links, e.g. the README's former #facts-from-the-paper).
    assert github_slug("Facts from the paper") == "facts-from-the-paper"
    assert github_slug("nightcolor — color vision in the dark") == "nightcolor--color-vision-in-the-dark"
    assert (github_slug("Jetson frame rates: a projection (`bench/bench_jetson.py`)")
            == "jetson-frame-rates-a-projection-benchbench_jetsonpy")
    assert github_slug("CPU recipe: the paper's findings, 256² crops") == \
        "cpu-recipe-the-papers-findings-256-crops"


def test_the_checkers_report_broken_links_and_commands(tmp_path, parsers):
    page_path = ROOT / "docs" / "broken-example.md"     # never written: read from text below
    page = Page(page_path)
    page.text_lines = [(1, "# A page"), (2, "[gone](nowhere.md) and [bad](paper.md#no-such)"),
                       (3, "[good](paper.md#facts-from-the-paper) and `device capture --nope`")]
    page.headings = ["A page"]
    errors = link_errors(page, {})
    assert len(errors) == 2 and "nowhere.md" in errors[0] and "#no-such" in errors[1]

    assert command_errors("device", "capture --rig sim --out x  # --not-checked",
                          parsers["device"]) == []
    assert command_errors("device", "sim floor --choose 3 --bogus", parsers["device"]) == \
        ["`device sim floor` has no option --bogus"]
    assert command_errors("device", "selfie --x", parsers["device"]) == \
        ["`device` has no sub-command 'selfie'"]
    assert command_errors("convert", "--fp1 ckpt.pt", parsers["convert"]) == \
        ["`convert` has no option --fp1"]
    found = invocations(page)
    assert [(program, rest) for _, program, rest in found] == [("device", "capture --nope")]
