"""`suggest`: the "did you mean" of every refused name."""

import difflib


def suggest(name, choices):
    """`" (did you mean 'se'?)"` for the choice closest to `name` (ignoring case, `-` and
    `_`), or "" when none is close."""
    if not isinstance(name, str):
        return ""

    def key(text):
        return str(text).lower().replace("-", "").replace("_", "")

    by_key = {key(c): c for c in choices}
    if key(name) in by_key and by_key[key(name)] != name:
        return f" (did you mean {by_key[key(name)]!r}?)"
    close = difflib.get_close_matches(key(name), list(by_key), n=1, cutoff=0.6)
    return f" (did you mean {by_key[close[0]]!r}?)" if close else ""
