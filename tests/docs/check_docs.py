"""
check_docs.py - the documentation agrees with the code (make check):
  - the SYNOPSIS of tokencat(1) and tokencat.fcgi(8), rendered by mandoc,
    is the usage that --help / -h prints (case and spacing aside);
  - every key of src/lib/config.c is in tokencat.conf(5) with its default and
    in etc/tokencat.conf, and the defaults set by config_init() are the
    ones both state;
  - every route of src/routes/router.c is in the route table of tokencat.fcgi(8);
  - mandoc -T lint finds no warning or error in the three pages.
Environment: top_srcdir, top_builddir (as exported by make check), MANDOC.
Prints one line per check and, last, "N passed, N failed".
"""

import os
import re
import shutil
import subprocess
import sys

SRC = os.path.abspath(os.environ.get("top_srcdir") or
                      os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.abspath(os.environ.get("top_builddir") or SRC)
MANDOC = os.environ.get("MANDOC") or shutil.which("mandoc")
PAGES = ("man/tokencat.1", "man/tokencat.fcgi.8", "man/tokencat.conf.5")

results = []


def check(name, ok, why=""):
    results.append(ok)
    print("%s %s%s" % ("ok  " if ok else "FAIL", name,
                       "" if ok else ": " + why))


def read(rel):
    with open(os.path.join(SRC, rel), encoding="utf-8") as f:
        return f.read()


def render(page):
    out = subprocess.run([MANDOC, "-T", "ascii", os.path.join(SRC, page)],
                         capture_output=True, text=True, check=True).stdout
    return re.sub(r".\x08", "", out)        # no overstrike (bold, underline)


def section(text, name):
    """The lines of section name in a rendered page."""
    m = re.search(r"^%s\n(.*?)(?=^[A-Z][A-Z ]+\n)" % name, text, re.S | re.M)
    return m.group(1) if m else ""


def norm(line):
    s = line.lower()
    s = re.sub(r"\s+", " ", s).strip()
    s = re.sub(r" ?\| ?", "|", s)
    s = s.replace(" ...", "...")
    return s


def synopsis_lines(text):
    """SYNOPSIS entries, continuation lines joined (an entry starts with
    the program name at the section's indentation)."""
    entries = []
    for line in section(text, "SYNOPSIS").splitlines():
        if not line.strip():
            continue
        if re.match(r"^ {5}\S", line):
            entries.append(line)
        elif entries:
            entries[-1] += " " + line.strip()
    return [norm(e) for e in entries]


def usage_lines(argv):
    p = subprocess.run(argv, capture_output=True, text=True)
    out = (p.stdout or p.stderr).split("\n\n")[0]
    lines = []
    for line in out.splitlines():
        line = re.sub(r"^usage: ", "", line.strip())
        if line:
            lines.append(norm(line))
    return lines


def test_synopsis():
    for page, argv in (("man/tokencat.1",
                        [os.path.join(BUILD, "src", "tokencat"), "--help"]),
                       ("man/tokencat.fcgi.8",
                        [os.path.join(BUILD, "src", "tokencat.fcgi"), "-h"])):
        want = usage_lines(argv)
        got = synopsis_lines(render(page))
        check("%s SYNOPSIS is %s" % (page, " ".join(argv[-1:])), got == want,
              "\n  man:  %s\n  help: %s" % ("\n        ".join(got),
                                          "\n        ".join(want)))


def config_keys():
    src = read("src/lib/config.c")
    table = src[src.index("static const struct key keys[]"):]
    table = table[:table.index("};")]
    return re.findall(r'\{ "([a-z_]+)", K_', table)


def config_defaults():
    """key -> default as the docs write it, from config_init()."""
    src = read("src/lib/config.c")
    body = src[src.index("\nconfig_init("):]
    body = body[:body.index("\n}\n")]
    out = {}
    for k, v in re.findall(r"c->(\w+) = strdup\(\"([^\"]*)\"\);", body):
        out[k] = v
    for k, v in re.findall(r"c->(\w+) = (\d+);", body):
        out[k] = v
    for k in ("require_token_expiration", "allow_team_creation"):
        if k in out:
            out[k] = "true" if out[k] == "1" else "false"
    if "sandbox" in out:                    # written on/off
        out["sandbox"] = "on" if out["sandbox"] == "1" else "off"
    out["trust_remote_user"] = "false"      # memset to 0
    out["log_level"] = "info"               # TCLOG_INFO
    for k, arr in (("user_permissions", "def_user_perms"),
                   ("team_member_permissions", "def_member_perms"),
                   ("team_owner_permissions", "def_owner_perms"),
                   ("server_scope_allow", "def_scope_allow")):
        m = re.search(r"%s\[\] = \{(.*?)NULL \};" % arr, src, re.S)
        out[k] = " ".join(re.findall(r'"([^"]+)"', m.group(1)))
    return out


def man_items(text):
    """key -> the text of its item in the KEYS list of tokencat.conf(5)."""
    keys = read("man/tokencat.conf.5")
    keys = keys[keys.index(".Sh KEYS"):keys.index(".Sh", keys.index(".Sh KEYS") + 3)]
    items = {}
    for m in re.finditer(r"^\.It Cm (\w+)(.*?)(?=^\.It Cm |\Z)", keys,
                         re.S | re.M):
        items[m.group(1)] = m.group(2)
    return items


def test_config_keys():
    keys = config_keys()
    check("config.c has its key table", len(keys) >= 20, repr(keys))
    defaults = config_defaults()
    items = man_items(None)
    sample = read("etc/tokencat.conf")
    for k in keys:
        item = items.get(k)
        if item is None:
            check("tokencat.conf(5) documents %s" % k, False, "no .It Cm %s" % k)
            continue
        flat = re.sub(r"\s+", " ", re.sub(r"^\.\w+ ?", "", item, flags=re.M))
        if k == "database":
            check("tokencat.conf(5): database is required", "Required" in item)
        else:
            d = defaults.get(k)
            has_default = "Default" in item or "default" in item
            check("tokencat.conf(5) gives the default of %s" % k,
                  has_default and (d is None or d == "" or d in flat),
                  "default %r not in: %s" % (d, flat[:300]))
        m = re.search(r"^#?%s = ?(.*)$" % k, sample, re.M)
        check("etc/tokencat.conf has %s" % k, m is not None)
        if m and k in defaults and defaults[k] != "" and \
                re.search(r"^#%s = " % k, sample, re.M) and \
                k not in ("signing_key_file",):
            commented = re.findall(r"^#%s = ?(.*)$" % k, sample, re.M)
            check("etc/tokencat.conf shows the default of %s" % k,
                  defaults[k] in commented,
                  "%r not in %r" % (defaults[k], commented))


def test_shared_sample():
    """etc/postgresql/tokencat.conf: only known keys, each once, a
    PostgreSQL database and the signing key it requires (the two-host
    black-box test runs hosts from it)."""
    keys = set(config_keys())
    sample = read("etc/postgresql/tokencat.conf")
    seen = re.findall(r"^(\w+) = (.*)$", sample, re.M)
    names = [k for k, _ in seen]
    for k in names:
        check("etc/postgresql/tokencat.conf: %s is a key" % k, k in keys)
    check("etc/postgresql/tokencat.conf: no key twice",
          len(names) == len(set(names)), repr(names))
    vals = dict(seen)
    check("etc/postgresql/tokencat.conf: a postgresql:// database",
          vals.get("database", "").startswith("postgresql://"))
    check("etc/postgresql/tokencat.conf: signing_key_file set",
          "signing_key_file" in vals)


def test_routes():
    routes = re.findall(r'\{ "(GET|POST|PUT|PATCH|DELETE)",\s+"(/[^"]*)"',
                        read("src/routes/router.c"))
    check("router.c has its route table", len(routes) >= 25, repr(routes))
    man = render("man/tokencat.fcgi.8")
    flat = re.sub(r"\s+", " ", man)
    for method, path in routes:
        pat = re.escape(method) + r" +" + re.escape(path).replace(
            r"\{", "[{<]").replace(r"\}", "[}>]")
        generic = re.sub(r"\\\{[a-z]+\\\}", r"[{<][a-z_]+[}>]", re.escape(path))
        ok = re.search(r"\b%s +%s(\s|$)" % (method, generic), flat) is not None
        check("tokencat.fcgi(8) lists %s %s" % (method, path), ok)


def test_lint():
    for page in PAGES:
        p = subprocess.run([MANDOC, "-T", "lint", "-W", "warning",
                            os.path.join(SRC, page)],
                           capture_output=True, text=True)
        msgs = [l for l in (p.stdout + p.stderr).splitlines() if l.strip()]
        check("mandoc -T lint %s" % page, not msgs, "\n".join(msgs))


def main():
    if MANDOC is None:
        if os.environ.get("CI") == "true":
            print("mandoc missing (apt-get install mandoc)\n0 passed, 1 failed")
            return 1
        print("SKIP: mandoc missing (apt-get install mandoc)")
        return 77
    for t in (test_synopsis, test_config_keys, test_shared_sample,
              test_routes, test_lint):
        try:
            t()
        except Exception as e:          # a broken check is a failure
            check(t.__name__, False, repr(e))
    failed = results.count(False)
    print("%d passed, %d failed" % (len(results) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
