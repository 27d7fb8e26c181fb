#!/usr/bin/python3
"""Python baseline for bench_parse: json.loads on every line of the given ndjson(.gz) files.

    parse_python.py [-n REPS] FILE.ndjson[.gz]...

Decompresses the files into memory first (not timed), then times json.loads per line, REPS times, and prints MB/s
of decompressed ndjson and drawings/s, like bench_parse."""
import gzip
import json
import sys
import time


def main(argv):
    reps = 0
    if len(argv) > 2 and argv[1] == "-n":
        reps = int(argv[2])
        argv = argv[2:]
    paths = argv[1:]
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    lines = []
    size = 0
    for path in paths:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rb") as f:
            data = f.read()
        size += len(data)
        lines.extend(line for line in data.split(b"\n") if line.strip())
    if reps <= 0:
        reps = max(1, int(100e6 / max(size, 1)))  # about 100 MB of text in total
    loads = json.loads
    drawings = 0
    t0 = time.perf_counter()
    for _ in range(reps):
        for line in lines:
            loads(line)
            drawings += 1
    seconds = time.perf_counter() - t0
    print("python json.loads: %d files, %.1f MB decompressed x %d reps: %.0f MB/s, %.0f drawings/s"
          % (len(paths), size / 1e6, reps, size * reps / 1e6 / seconds, drawings / seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
