#!/usr/bin/env python3
"""Prints the time of every test and its slowest functions from the JUnit XML that each CTest
run leaves in build/tests/results/ (slowest first; --json for machine-readable output)."""
import glob
import json
import os
import sys
import xml.etree.ElementTree as ET

results = os.path.join(os.path.dirname(__file__), "..", "build", "tests", "results")
tests = []
for path in glob.glob(os.path.join(results, "*.xml")):
    try:
        suite = ET.parse(path).getroot()
    except ET.ParseError as error:  # a run killed mid-write
        print(f"{path}: unreadable ({error})", file=sys.stderr)
        continue
    cases = [(case.get("name"), float(case.get("time", 0))) for case in suite.iter("testcase")]
    cases.sort(key=lambda case: -case[1])
    tests.append({"test": os.path.basename(path)[:-4], "seconds": float(suite.get("time", 0)),
                  "slowest": [{"function": n, "seconds": t} for n, t in cases[:3]]})
tests.sort(key=lambda test: -test["seconds"])
if "--json" in sys.argv:
    print(json.dumps({"total_seconds": sum(t["seconds"] for t in tests), "tests": tests}, indent=1))
else:
    for t in tests:
        slow = ", ".join(f'{c["function"]} {c["seconds"]:.1f}' for c in t["slowest"])
        print(f'{t["seconds"]:8.1f} s  {t["test"]:34} {slow}')
    print(f'{sum(t["seconds"] for t in tests):8.1f} s  in all')
