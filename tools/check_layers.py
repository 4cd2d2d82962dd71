#!/usr/bin/python3
"""tools/check_layers.py - includes point down, and only fam/ names a family.

The layers of src/ (DESIGN.md, "Layers"), each with the layers it may
include (its own included):

    core    -
    net     core
    bus     core
    json    core
    http    core net bus
    store   core json
    out     core net json
    engine  core net bus json store out
    fam     core net bus http json store out engine
    app     every layer

port.h, config.h, profiles/ and vendor headers (sqlite3.h, jsmn.h, curl/...)
are below everything: any file may include them. Inside fam/, a family's
folder fam/<f>/ may include its own folder, fam/shared/ and the list headers
fam/*.h; fam/shared/ and fam/*.[ch] may include only fam/shared/ and fam/*.h.
The one list that gathers files of the family folders is fam/plan.def: a
list fam/*.def may include a family's plan.def (its static plan lines).

Rule 1 (includes): a file fails when it includes a header of a layer that
is not its own nor listed as below it (a higher or an unrelated layer), or,
in fam/, another family's folder.

Rule 2 (family names): a file outside fam/ fails when its code (comments
are skipped; the spec and the history may be cited there) names a family:
  - an identifier with a `_`-separated part fleet, rpg, obs or docs, in any
    case (fleet_setup, STREAM_TOPIC_FLEET, CFG_FAM_OBS, FAM_DOCS); for the
    agents family, FAM_AGENTS, CFG_FAM_AGENTS, AGENTS_*, a function
    agents_*( or agents_routes ("agents" alone is the engine's word for its
    sub-agents, so chat_agents_reset, CFG_CHAT_AGENTS or a member
    agents_high is no hit);
  - a string literal that is a family's name or config prefix, alone or
    followed by '.', '/', ':' or a space ("fleet", "observability.port",
    "documents /ws");
  - an #include of fam/<family>/.
No file is exempt: the last exemptions (tools/layers_debt.txt, the app's
key table and static plan) ended when the families' config keys and plan
lines moved into their folders, and the list went with them.

Usage: tools/check_layers.py [ROOT]     check ROOT/src (default: the repo)
       tools/check_layers.py --self-test  prove each rule can fail
Exit 0 clean, 1 violations (listed as file:line: reason), 2 usage.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

BELOW = {
    "core": set(),
    "net": {"core"},
    "bus": {"core"},
    "json": {"core"},
    "http": {"core", "net", "bus"},
    "store": {"core", "json"},
    "out": {"core", "net", "json"},
    "engine": {"core", "net", "bus", "json", "store", "out"},
    "fam": {"core", "net", "bus", "http", "json", "store", "out", "engine"},
    "app": {"core", "net", "bus", "http", "json", "store", "out", "engine", "fam"},
}
FAMILIES = ("fleet", "rpg", "obs", "docs", "agents")
FAMILY_STRINGS = ("fleet", "rpg", "obs", "docs", "agents", "observability", "documents")
PART_WORDS = {"fleet", "rpg", "obs", "docs"}

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
STRING_NAME = re.compile(r"^(%s)([./: ]|$)" % "|".join(FAMILY_STRINGS))
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


def split_code(text):
    """Per line: (code without comments and strings, [string literals],
    the line with comments stripped but strings kept)."""
    out = []
    in_block = False
    for line in text.split("\n"):
        code, keep, strings = [], [], []
        i, n = 0, len(line)
        while i < n:
            c, c2 = line[i], line[i:i + 2]
            if in_block:
                if c2 == "*/":
                    in_block = False
                    i += 2
                else:
                    i += 1
                continue
            if c2 == "/*":
                in_block = True
                code.append(" ")
                keep.append(" ")
                i += 2
                continue
            if c2 == "//":
                break
            if c in "\"'":
                q, j, lit = c, i + 1, []
                while j < n and line[j] != q:
                    if line[j] == "\\":
                        lit.append(line[j:j + 2])
                        j += 2
                        continue
                    lit.append(line[j])
                    j += 1
                if q == '"':
                    strings.append("".join(lit))
                keep.append(line[i:j + 1])
                code.append(" ")
                i = j + 1
                continue
            code.append(c)
            keep.append(c)
            i += 1
        out.append(("".join(code), strings, "".join(keep)))
    return out


def layer_of(rel):
    """rel: path under src/ ('fam/fleet/chat.c') -> (layer, family or None)."""
    parts = rel.split("/")
    layer = parts[0]
    fam = None
    if layer == "fam":
        fam = parts[1] if len(parts) > 2 else ""     # "" : fam/*.h, fam/*.c
    return layer, fam


def ident_names_family(name, after):
    """after: the code that follows the identifier on its line."""
    low = name.lower()
    if any(p in PART_WORDS for p in low.split("_")):
        return True
    if name in ("FAM_AGENTS", "CFG_FAM_AGENTS") or name.startswith("AGENTS_"):
        return True
    return name.startswith("agents_") and (after.lstrip().startswith("(") or
                                           name == "agents_routes")


def check_file(src, rel):
    layer, fam = layer_of(rel)
    findings = []
    if layer not in BELOW:
        return findings
    with open(os.path.join(src, rel), encoding="utf-8", errors="replace") as f:
        lines = split_code(f.read())
    for no, (code, strings, keep) in enumerate(lines, 1):
        m = INCLUDE.match(keep)
        if m:
            hdr = m.group(1)
            top = hdr.split("/")[0]
            if "/" in hdr and top in BELOW and top != layer and top not in BELOW[layer]:
                findings.append("%s:%d: includes %s (%s/ is not below %s/)" %
                                (rel, no, hdr, top, layer))
            if layer == "fam" and top == "fam":
                hp = hdr.split("/")
                hfam = hp[1] if len(hp) > 2 else ""
                plan_list = (fam == "" and rel.endswith(".def") and len(hp) == 3 and
                             hp[2] == "plan.def")
                if hfam not in ("", "shared", fam) and not plan_list:
                    findings.append("%s:%d: includes %s (another family's folder)" %
                                    (rel, no, hdr))
            if layer != "fam" and re.match(r"fam/(%s)/" % "|".join(FAMILIES), hdr):
                findings.append("%s:%d: names family %s (#include %s)" %
                                (rel, no, hdr.split("/")[1], hdr))
            continue
        if layer == "fam":
            continue
        for m in IDENT.finditer(code):
            ident = m.group(0)
            if ident_names_family(ident, code[m.end():]):
                findings.append("%s:%d: names a family: identifier %s" % (rel, no, ident))
        for s in strings:
            if STRING_NAME.match(s):
                findings.append('%s:%d: names a family: string "%s"' % (rel, no, s))
    return findings


def check(root):
    src = os.path.join(root, "src")
    bad, nfiles = [], 0
    for dirpath, _, files in os.walk(src):
        for fn in sorted(files):
            if not fn.endswith((".c", ".h", ".def")):
                continue
            rel = os.path.relpath(os.path.join(dirpath, fn), src).replace(os.sep, "/")
            nfiles += 1
            bad.extend(check_file(src, rel))
    for f in sorted(bad):
        print("src/" + f)
    if bad:
        print("check_layers: FAIL (%d findings in %d files)" % (len(bad), nfiles), file=sys.stderr)
        return 1
    print("check_layers: ok (%d files)" % nfiles)
    return 0


def self_test():
    """Plant one violation of each kind in a copy of src/ and expect a fail."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cases = {
        "upward include": ("src/core/zz_up.h", '#include "http/server.h"\n'),
        "unrelated include": ("src/store/zz_side.c", '#include "out/llm.h"\n'),
        "cross-family include": ("src/fam/docs/zz_x.c", '#include "fam/fleet/fleet.h"\n'),
        "list includes a header": ("src/fam/zz_l.def", '#include "fam/fleet/fleet.h"\n'),
        "identifier": ("src/http/zz_id.c", "void zz(void) { fleet_setup(0); }\n"),
        "agents function": ("src/bus/zz_a.c", "void zz(void) { agents_setup(0); }\n"),
        "topic constant": ("src/net/zz_t.h", "#define ZZ STREAM_TOPIC_OBS\n"),
        "string": ("src/store/zz_s.c", 'static const char *zz = "observability.port";\n'),
        "family path": ("src/app/zz_p.c", '#include "fam/agents/agents.h"\n'),
    }
    clean_ok = ("src/core/zz_ok.c",
                "/* fleet_setup and \"fleet\" in a comment are fine */\n"
                "static int chat_agents_reset_count; /* the engine's agents */\n"
                "struct zz { unsigned agents_high; };\n"
                'static const char *zz = "fleets of ships";\n')
    ok = True
    for name, (path, text) in list(cases.items()) + [("clean", clean_ok)]:
        tmp = tempfile.mkdtemp()
        try:
            shutil.copytree(os.path.join(root, "src"), os.path.join(tmp, "src"))
            with open(os.path.join(tmp, path), "w", encoding="utf-8") as f:
                f.write(text)
            r = subprocess.run([sys.executable, os.path.abspath(__file__), tmp],
                               capture_output=True, text=True, check=False)
            want = 0 if name == "clean" else 1
            if r.returncode != want or (want == 1 and path not in r.stdout):
                print("check_layers self-test: %s: exit %d, wanted %d:\n%s%s" %
                      (name, r.returncode, want, r.stdout, r.stderr), file=sys.stderr)
                ok = False
        finally:
            shutil.rmtree(tmp)
    if ok:
        print("check_layers: self-test ok (%d planted violations caught, clean file passed)" %
              len(cases))
    return 0 if ok else 1


def main(argv):
    if len(argv) > 1 and argv[1] == "--self-test":
        return self_test()
    if len(argv) > 2 or (len(argv) == 2 and argv[1].startswith("-")):
        print(__doc__.split("\n\n")[-2], file=sys.stderr)
        return 2
    root = argv[1] if len(argv) == 2 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return check(root)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
