"""Name -> object lookup shared by the string-configurable namespaces.

Strings resolve only through these tables, never through imports, so a
configuration (or a saved file) cannot make shendu load arbitrary code.
"""
import difflib


def lookup(kind, table, identifier):
    """``table[identifier]`` or a ValueError naming the closest valid name."""
    key = identifier
    if key in table:
        return table[key]
    lowered = {k.lower(): v for k, v in table.items()}
    if isinstance(key, str) and key.lower() in lowered:
        return lowered[key.lower()]
    close = difflib.get_close_matches(str(key), list(table), n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise ValueError(f"Unknown {kind}: '{identifier}'.{hint} "
                     f"Valid names: {', '.join(sorted(table))}")


def snake_case(name):
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and (not name[i - 1].isupper() or
                                   (i + 1 < len(name) and name[i + 1].islower())):
            out.append("_")
        out.append(ch.lower())
    return "".join(out)
