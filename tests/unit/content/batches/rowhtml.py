"""Reads the progress rows the server renders back into facts, for the tests and the
benchmark: what a test asserts is what the page shows."""
from html.parser import HTMLParser


class _RowParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows = []
        self.row = None
        self.stack = []  # classes of open elements inside the row

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "tr":
            self.row = {
                "id": int(attrs["data-item-id"]), "state": attrs["data-state"],
                "label": attrs["data-label"], "attempt": int(attrs["data-attempt"]),
                "position": int(attrs["data-position"]) - 1,
                "stages": (attrs.get("data-stages") or "").split(),
                "can_retry": False, "can_cancel": False, "fault_message": None,
                "since": None, "text": "", "cells": []}
            self.rows.append(self.row)
            return
        if self.row is None:
            return
        if tag == "td":
            self.row["cells"].append("")
        if tag in ("br", "div", "li"):  # a line or block of its own: words apart
            self.handle_data(" ")
        if tag == "button":
            self.row["can_" + attrs.get("data-action", "")] = True
        if "evac-duration" in classes:
            self.row["since"] = attrs.get("data-since") or None
        if tag == "q" and "evac-fault" in self.stack:
            self.row["fault_message"] = ""
            classes = classes + ["evac-q"]
        if tag not in ("br", "input"):
            self.stack.append(" ".join(classes) or tag)

    def handle_endtag(self, tag):
        if tag == "tr":
            self.row = None
            self.stack = []
        elif self.row is not None and self.stack and tag not in ("br", "input"):
            self.stack.pop()

    def handle_data(self, data):
        if self.row is None:
            return
        self.row["text"] += data
        if self.row["cells"]:
            self.row["cells"][-1] += data
        if self.stack and self.stack[-1].endswith("evac-q"):
            self.row["fault_message"] += data


def parse_rows(html):
    """One dict per ``<tr class="evac-row">``: id, state, label, attempt, position,
    stages (codes), can_retry, can_cancel, fault_message, since, text, cells."""
    parser = _RowParser()
    parser.feed(html)
    for row in parser.rows:
        row["text"] = " ".join(row["text"].split())
        row["cells"] = [" ".join(c.split()) for c in row["cells"]]
    return parser.rows


def rows_of(answer):
    """The rows of a poll answer (``rows``: ``[id, html]`` pairs)."""
    return parse_rows("".join(html for _id, html in answer["rows"]))
