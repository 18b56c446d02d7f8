"""A small HTML tree for tests: find elements by tag and attributes, read their text."""

from __future__ import annotations

import re
from html.parser import HTMLParser

VOID_TAGS = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"})


class Element:
    """A parsed HTML element: tag, attributes, and children (elements and text, in document order)."""

    def __init__(self, tag: str, attributes: dict, parent: Element | None = None) -> None:
        self.tag = tag
        self.attributes = attributes
        self.parent = parent
        self.children: list[Element | str] = []

    def elements(self):
        for child in self.children:
            if isinstance(child, Element):
                yield child
                yield from child.elements()

    def find_all(self, tag: str | None = None, **attributes: str) -> list[Element]:
        """Descendants with ``tag`` and these attributes (``class_`` for class, ``_`` for ``-``)."""
        wanted = {name.rstrip("_").replace("_", "-"): value for name, value in attributes.items()}
        return [
            element
            for element in self.elements()
            if (tag is None or element.tag == tag)
            and all(element.has_attribute(name, value) for name, value in wanted.items())
        ]

    def find(self, tag: str | None = None, **attributes: str) -> Element | None:
        found = self.find_all(tag, **attributes)
        return found[0] if found else None

    def has_attribute(self, name: str, value: str) -> bool:
        actual = self.attributes.get(name)
        if name == "class":
            return actual is not None and value in actual.split()
        return actual == value

    @property
    def text(self) -> str:
        parts = [child if isinstance(child, str) else child.text for child in self.children]
        return " ".join(" ".join(parts).split())


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self._current = self.root

    def handle_starttag(self, tag, attrs):
        element = Element(tag, {name: value or "" for name, value in attrs}, self._current)
        self._current.children.append(element)
        if tag not in VOID_TAGS:
            self._current = element

    def handle_startendtag(self, tag, attrs):
        self._current.children.append(Element(tag, {name: value or "" for name, value in attrs}, self._current))

    def handle_endtag(self, tag):
        element = self._current
        while element is not self.root and element.tag != tag:
            element = element.parent
        if element is not self.root:
            self._current = element.parent

    def handle_data(self, data):
        self._current.children.append(data)


def parse_html(response) -> Element:
    builder = _TreeBuilder()
    builder.feed(response.get_data(as_text=True))
    builder.close()
    return builder.root


def textarea_text(element: Element) -> str:
    """A textarea's text as a browser shows it (browsers drop the line break right after <textarea>)."""
    text = "".join(child for child in element.children if isinstance(child, str))
    return re.sub(r"\A\r?\n", "", text)


def form_values(form: Element, *, single_select_as_list: bool = False) -> dict:
    """What a form holds: inputs, textareas, checked boxes and radios, selected options (no CSRF token).

    A multiple select gives a list; a single select gives its value, or a one-item list when asked.
    """
    values: dict = {}
    for element in form.find_all("input"):
        name, kind = element.attributes.get("name"), element.attributes.get("type")
        if name == "csrf_token":
            continue
        if kind in {"checkbox", "radio"}:
            values.setdefault(name, [])
            if "checked" in element.attributes:
                values[name].append(element.attributes["value"])
        else:
            values[name] = element.attributes.get("value", "")
    for element in form.find_all("textarea"):
        values[element.attributes["name"]] = textarea_text(element)
    for element in form.find_all("select"):
        options = element.find_all("option")
        selected = [option.attributes["value"] for option in options if "selected" in option.attributes]
        as_list = single_select_as_list or "multiple" in element.attributes
        values[element.attributes["name"]] = selected if as_list else "".join(selected)
    return values
