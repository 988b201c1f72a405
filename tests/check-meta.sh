#!/usr/bin/env bash
# Check META.json (make check-meta): it parses, carries what PGXN requires,
# and its versions agree with the control file, where the version lives.
#
#   control  default_version = '1.0'       (the one place)
#   META     "version": "1.0.0"            (PGXN wants semantic versions:
#            provides.<name>.version        '1.0' is written 1.0.0)
#
# Also: name = the control file's name, provides.<name>.file exists, the
# install script for default_version exists, every PostgreSQL prereq is a
# semantic version.  Prints "check-meta: ok (version X)" or the problems.
set -u
cd "$(dirname "$0")/.." || exit 2

command -v python3 >/dev/null 2>&1 || { echo "check-meta: python3 is needed" >&2; exit 2; }

exec python3 - "$@" <<'EOF'
import json, os, re, sys

problems = []
def bad(msg):
    problems.append(msg)

controls = [f for f in os.listdir('.') if f.endswith('.control')]
if len(controls) != 1:
    print('check-meta: expected one .control file, found %r' % controls, file=sys.stderr)
    sys.exit(2)
ext = controls[0][:-len('.control')]
control = open(controls[0]).read()
m = re.search(r"^\s*default_version\s*=\s*'([^']*)'", control, re.M)
if not m:
    print('check-meta: no default_version in %s' % controls[0], file=sys.stderr)
    sys.exit(2)
cversion = m.group(1)

SEMVER = re.compile(r'^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)'
                    r'(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$')

def semver_of(v):
    """'1.0' -> '1.0.0', '1' -> '1.0.0', '1.2.3' unchanged."""
    parts = v.split('.')
    if all(p.isdigit() for p in parts) and 1 <= len(parts) <= 3:
        return '.'.join(str(int(p)) for p in parts + ['0'] * (3 - len(parts)))
    return v

want = semver_of(cversion)

try:
    with open('META.json') as f:
        meta = json.load(f)
except FileNotFoundError:
    print('check-meta: no META.json', file=sys.stderr)
    sys.exit(1)
except ValueError as e:
    print('check-meta: META.json does not parse: %s' % e, file=sys.stderr)
    sys.exit(1)

for key in ('name', 'abstract', 'version', 'maintainer', 'license',
            'provides', 'meta-spec'):
    if key not in meta:
        bad('required key %r is missing' % key)
for key in ('prereqs', 'resources'):
    if key not in meta:
        bad('key %r is missing' % key)

if meta.get('name') != ext:
    bad('name is %r, the control file is %s.control' % (meta.get('name'), ext))
v = meta.get('version')
if not isinstance(v, str) or not SEMVER.match(v):
    bad('version %r is not a semantic version' % v)
elif v != want:
    bad("version %s does not agree with default_version = '%s' in %s.control (want %s)"
        % (v, cversion, ext, want))
if meta.get('meta-spec', {}).get('version') != '1.0.0':
    bad('meta-spec.version should be 1.0.0')
if not meta.get('abstract'):
    bad('abstract is empty')
if not meta.get('maintainer'):
    bad('maintainer is empty')

prov = meta.get('provides', {})
if ext not in prov:
    bad('provides has no %r' % ext)
for name, p in prov.items():
    if p.get('version') != v:
        bad('provides.%s.version is %r, version is %r' % (name, p.get('version'), v))
    if 'file' not in p:
        bad('provides.%s.file is missing' % name)
    for k in ('file', 'docfile'):
        if k in p and not os.path.exists(p[k]):
            bad('provides.%s.%s: %s does not exist' % (name, k, p[k]))

script = None
for d in ('.', 'extension', 'sql'):
    f = os.path.join(d, '%s--%s.sql' % (ext, cversion))
    if os.path.exists(f):
        script = f
if script is None:
    # or an upgrade script that reaches default_version from an install
    # script (CREATE EXTENSION runs the chain, as pg_stat_statements does)
    import glob
    for d in ('.', 'extension', 'sql'):
        for up in glob.glob(os.path.join(d, '%s--*--%s.sql' % (ext, cversion))):
            base = up[:-len('--%s.sql' % cversion)] + '.sql'
            if os.path.exists(base):
                script = up
if script is None:
    bad('no install script %s--%s.sql (or upgrade path) for default_version' % (ext, cversion))

for phase, rels in meta.get('prereqs', {}).items():
    for rel, reqs in rels.items():
        for pkg, ver in reqs.items():
            if pkg == 'PostgreSQL' and not SEMVER.match(str(ver)):
                bad('prereqs.%s.%s.PostgreSQL %r is not a semantic version'
                    % (phase, rel, ver))

for k, r in meta.get('resources', {}).items():
    url = r if isinstance(r, str) else r.get('url', r.get('web', ''))
    if not re.match(r'^(https?|git|mailto):', str(url)):
        bad('resources.%s has no URL' % k)

if problems:
    for p in problems:
        print('check-meta: ' + p, file=sys.stderr)
    sys.exit(1)
print("check-meta: ok (META.json %s, %s.control default_version '%s')" % (v, ext, cversion))
EOF
