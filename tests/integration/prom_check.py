#!/usr/bin/env python3
"""Checks Prometheus text exposition (format 0.0.4) read from stdin, strictly enough to catch
what a scraper would reject or misread: every sample belongs to a family declared once with
# HELP and # TYPE before its samples, names and label names are valid, label values are
quoted with only \\\\, \\" and \\n escapes, values are numbers, counters end in _total, and
histogram buckets are cumulative with le="+Inf" equal to _count. Prints each problem and exits
1 if there is any."""
import re
import sys

NAME = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*'
VALUE = r'"(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r'^(' + NAME + r')(\{(?:' + LABEL + r'=' + VALUE + r'(?:,' + LABEL + r'=' +
                    VALUE + r')*)?\})? (\S+)$')
problems = []
helps, types, seen_samples = {}, {}, set()
buckets = {}
counts = {}
current = None


def family_of(name):
    for suffix in ('_bucket', '_sum', '_count'):
        if name.endswith(suffix) and types.get(name[:-len(suffix)]) == 'histogram':
            return name[:-len(suffix)]
    return name


for number, line in enumerate(sys.stdin.read().split('\n'), 1):
    if line == '':
        continue
    if line.startswith('# HELP ') or line.startswith('# TYPE '):
        parts = line.split(' ', 3)
        if len(parts) < 4 or not re.fullmatch(NAME, parts[2]):
            problems.append(f'{number}: bad comment line: {line}')
            continue
        table = helps if parts[1] == 'HELP' else types
        if parts[2] in table:
            problems.append(f'{number}: second # {parts[1]} for {parts[2]}')
        if parts[2] in seen_samples:
            problems.append(f'{number}: # {parts[1]} for {parts[2]} after its samples')
        if parts[1] == 'TYPE' and parts[3] not in ('gauge', 'counter', 'histogram', 'summary',
                                                   'untyped'):
            problems.append(f'{number}: unknown type {parts[3]}')
        if parts[1] == 'TYPE' and parts[3] == 'counter' and not parts[2].endswith('_total'):
            problems.append(f'{number}: counter {parts[2]} does not end in _total')
        if parts[1] == 'HELP' and re.search(r'\\[^\\n]', parts[3].replace('\\\\', '')):
            problems.append(f'{number}: bad escape in help')
        table[parts[2]] = parts[3]
        current = parts[2]
        continue
    if line.startswith('#'):
        continue
    match = SAMPLE.match(line)
    if not match:
        problems.append(f'{number}: not a sample line: {line}')
        continue
    name, labels, value = match.group(1), match.group(2) or '', match.group(3)
    family = family_of(name)
    seen_samples.add(family)
    if family not in types or family not in helps:
        problems.append(f'{number}: {name} has no # HELP and # TYPE')
    elif family != current:
        problems.append(f'{number}: {name} is not next to its family\'s other lines')
    try:
        float(value.replace('+Inf', 'inf').replace('-Inf', '-inf'))
    except ValueError:
        problems.append(f'{number}: {name}: value {value} is not a number')
        continue
    if types.get(family) == 'histogram':
        if name.endswith('_bucket'):
            le = re.search(r'le="([^"]*)"', labels)
            if not le:
                problems.append(f'{number}: {name} without le')
            else:
                buckets.setdefault(family, []).append((le.group(1), float(value)))
        elif name.endswith('_count'):
            counts[family] = float(value)
for family, rows in buckets.items():
    values = [v for _, v in rows]
    if values != sorted(values):
        problems.append(f'{family}: buckets are not cumulative')
    if rows[-1][0] != '+Inf' or counts.get(family) != rows[-1][1]:
        problems.append(f'{family}: le="+Inf" is not the last bucket or differs from _count')
for problem in problems:
    print(problem)
sys.exit(1 if problems else 0)
