"""Mounting a big YAML document, and the first page of a mounted folder of 100,000 files.

(1) YAML: generates (fixed seed) a ~50 MB YAML document of a realistic shape — a mapping
of a few thousand top-level keys, each a service entry with nested mappings, lists of
mappings and scalars of several kinds (plain and quoted strings, ints, floats, bools,
nulls, dates, timestamps, block text) — and measures, interleaved round by round:

- baseline: ``yaml.load(data, Loader=yaml.CSafeLoader)`` (SafeLoader without libyaml),
  reading the file included;
- Realnet: ``context.create(PATH, "YamlDocument", {"path": FILE})`` at a fresh path
  followed by ``context.list(PATH)`` (the first page of its top level), with the
  provider's process-level document cache (``realnet.providers.documents._CACHE``)
  emptied before each round.

Prints both medians, the ratio Realnet ÷ baseline and the target (≤ 1.5×).

(2) FileTree: creates a folder of 100,000 empty files, mounts it read-only at a fresh
path each round and measures ``context.list(mount, limit=100)`` — the first page of
``ls`` — cold (the first listing after mounting, the provider's listing cache
``realnet.providers.filetree._LISTINGS`` emptied) and warm (repeated; median of many).
Baseline: ``sorted(os.listdir(folder))`` of the same folder. Target: first page
under 100 ms. The kernel's directory cache is warm for both after the first read.

    python bench/mount_bench.py [--mb N] [--files N] [--repeat N] [--reps N] [--seed N]
                                [--only yaml|filetree] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml

from realnet.app import open_context
from realnet.config import load_settings
from realnet.core.context import Context
from realnet.providers import documents, filetree

YAML_TARGET = 1.5
LS_TARGET_MS = 100.0
PAGE = 100
MB = 1_000_000

WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
         "juliet", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
         "sierra", "tango", "uniform", "victor", "whiskey", "xray", "yankee", "zulu")
REGIONS = ("eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-south-1")
LEVELS = ("debug", "info", "warning", "error")


# -- the YAML document ---------------------------------------------------------------------


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _entry(rng: random.Random, n: int) -> str:
    """One top-level entry (a service) as YAML text, about 12 KB."""
    name = f"svc-{n:05d}-{rng.choice(WORDS)}"
    lines = [
        f"# {name}: {_words(rng, 6)}",
        f"{name}:",
        f"  id: {n}",
        f'  title: "{_words(rng, 4).title()}: {rng.choice(WORDS)}/{rng.randint(1, 99)}"',
        f"  enabled: {rng.choice(('true', 'false'))}",
        f"  weight: {rng.uniform(0, 100):.4f}",
        f"  owner: {rng.choice((_words(rng, 1), 'null', '~'))}",
        f"  created: 20{rng.randint(10, 25)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        f"  updated: 2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T"
        f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z",
        f"  tags: [{', '.join(rng.sample(WORDS, 4))}]",
        "  description: |",
        *(f"    {_words(rng, 12)}" for _ in range(3)),
        "  database:",
        f"    host: db-{rng.randint(1, 400)}.{rng.choice(REGIONS)}.internal",
        f"    port: {rng.choice((5432, 5433, 3306, 6379))}",
        f"    name: '{rng.choice(WORDS)}_{n}'",
        "    pool:",
        f"      min: {rng.randint(1, 4)}",
        f"      max: {rng.randint(8, 64)}",
        f"      timeout: {rng.uniform(0.5, 30):.1f}",
        "  logging:",
        f"    level: {rng.choice(LEVELS)}",
        f"    format: \"%(asctime)s {rng.choice(WORDS)} %(message)s\"",
        "  endpoints:",
    ]
    for e in range(rng.randint(25, 45)):
        lines += [
            f"    - path: /api/v{rng.randint(1, 3)}/{rng.choice(WORDS)}/{e}",
            f"      method: {rng.choice(('GET', 'POST', 'PUT', 'DELETE'))}",
            f"      timeout_ms: {rng.randint(50, 30_000)}",
            f"      public: {rng.choice(('true', 'false'))}",
            f"      rate: {rng.uniform(0, 1000):.2f}",
            f'      summary: "{_words(rng, 5)}"',
            f"      roles: [{', '.join(rng.sample(WORDS, 2))}]",
        ]
    lines.append("  replicas:")
    for r in range(rng.randint(2, 5)):
        lines += [
            f"    - region: {rng.choice(REGIONS)}",
            f"      zone: {chr(97 + r)}",
            f"      resources: {{cpu: {rng.randint(1, 16)}, memory: {rng.randint(1, 64) * 128}Mi}}",
        ]
    return "\n".join(lines) + "\n"


def write_yaml(target: Path, megabytes: float, seed: int) -> tuple[int, int]:
    """Write the document (≥ ``megabytes`` MB); (its size in bytes, its top-level keys)."""
    rng = random.Random(seed)
    wanted = int(megabytes * MB)
    size = keys = 0
    with open(target, "w", encoding="utf-8") as f:
        header = f"# generated by bench/mount_bench.py (seed {seed})\n---\n"
        f.write(header)
        size += len(header)
        while size < wanted:
            keys += 1
            text = _entry(rng, keys)
            f.write(text)
            size += len(text.encode("utf-8"))
    return size, keys


# -- measuring ---------------------------------------------------------------------------


def _clock(call: Callable[[], object]) -> tuple[float, object]:
    gc.collect()
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def bench_yaml(context: Context, source: Path, repeat: int) -> dict[str, list[float]]:
    """Seconds per round of the baseline and of mount + first page, interleaved."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    def baseline() -> object:
        with open(source, "rb") as f:
            return yaml.load(f.read(), Loader=loader)  # noqa: S506 - a safe loader

    expected: list[str] | None = None
    samples: dict[str, list[float]] = {"baseline": [], "realnet": []}
    for n in range(repeat):
        mount = f"/yaml{n + 1}"

        def realnet(mount: str = mount) -> object:
            context.create(mount, "YamlDocument", {"path": str(source)})
            return context.list(mount, limit=PAGE)

        order = [("baseline", baseline), ("realnet", realnet)]
        for label, call in order if n % 2 == 0 else order[::-1]:
            documents._CACHE.clear()
            seconds, result = _clock(call)
            samples[label].append(seconds)
            if label == "baseline":
                names = sorted(k for k, v in result.items() if isinstance(v, dict))[:PAGE]  # type: ignore[union-attr]
                expected = expected or names
            else:
                shown = [i.name for i in result.items]  # type: ignore[attr-defined]
                if expected is not None and shown != expected:
                    raise SystemExit(f"{mount}: the first page differs from the parsed document's "
                                     f"first keys: {shown[:3]} … vs {expected[:3]} …")
            del result
        documents._CACHE.clear()
    return samples


def make_files(folder: Path, count: int) -> None:
    folder.mkdir()
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for n in range(count):
            os.close(os.open(f"report-{n:07d}.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
    finally:
        os.close(fd)


def bench_filetree(context: Context, folder: Path, repeat: int, reps: int) -> dict[str, list[float]]:
    """Seconds per call: cold first page (fresh mount and cache), warm first page, baseline."""
    expected = sorted(os.listdir(folder))[:PAGE]
    samples: dict[str, list[float]] = {"cold": [], "warm": [], "baseline": []}
    for n in range(repeat):
        mount = f"/files{n + 1}"
        context.create(mount, "FileTree", {"path": str(folder), "read_only": True})
        filetree._LISTINGS.clear()
        seconds, page = _clock(lambda mount=mount: context.list(mount, limit=PAGE))
        samples["cold"].append(seconds)
        if [i.name for i in page.items] != expected:  # type: ignore[attr-defined]
            raise SystemExit(f"{mount}: the first page is not the first {PAGE} names of the folder")
    mount = f"/files{repeat}"
    clock = time.perf_counter
    for n in range(reps):  # interleaved, so drift hits both alike
        calls = [("warm", lambda: context.list(mount, limit=PAGE)),
                 ("baseline", lambda: sorted(os.listdir(folder)))]
        for label, call in calls if n % 2 == 0 else calls[::-1]:
            start = clock()
            call()
            samples[label].append(clock() - start)
    return samples


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:9.1f} ms"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, help="size of the YAML document in MB (default 50, quick 2)")
    parser.add_argument("--files", type=int,
                        help="files in the mounted folder (default 100,000, quick 5,000)")
    parser.add_argument("--repeat", type=int, help="rounds of the YAML mount and of the cold listing "
                        "(default 3, quick 1)")
    parser.add_argument("--reps", type=int, help="warm listings and baselines (default 200, quick 20)")
    parser.add_argument("--seed", type=int, default=20241126, help="seed of the generated document")
    parser.add_argument("--only", choices=("yaml", "filetree"), help="run one part only")
    parser.add_argument("--quick", action="store_true", help="2 MB, 5,000 files, 1 round, 20 calls")
    args = parser.parse_args(argv)
    megabytes = args.mb if args.mb is not None else (2 if args.quick else 50)
    files = args.files if args.files is not None else (5_000 if args.quick else 100_000)
    repeat = max(1, args.repeat or (1 if args.quick else 3))
    reps = max(1, args.reps or (20 if args.quick else 200))
    if megabytes <= 0 or files < 1:
        parser.error("--mb and --files must be positive")

    work = Path(tempfile.mkdtemp(prefix="realnet-bench-mounts-", dir="/tmp"))
    try:
        home = work / "home"
        context = open_context(load_settings({"REALNET_HOME": str(home)}, cwd=work))
        try:
            if args.only != "filetree":
                source = work / "big.yaml"
                start = time.perf_counter()
                size, keys = write_yaml(source, megabytes, args.seed)
                built = time.perf_counter() - start
                samples = bench_yaml(context, source, repeat)
                loader = "CSafeLoader" if hasattr(yaml, "CSafeLoader") else "SafeLoader (no libyaml)"
                base, ours = statistics.median(samples["baseline"]), statistics.median(samples["realnet"])
                ratio = ours / base
                print(f"yaml mount: {size / MB:.1f} MB document, {keys:,} top-level keys "
                      f"(written in {built:.1f} s), median of {repeat} round(s)")
                print(f"  {'realnet create + ls (first page)':<38} {_ms(ours)}   "
                      f"rounds: {', '.join(f'{s:.2f}' for s in samples['realnet'])} s")
                print(f"  {'baseline read + yaml.load ' + loader.split()[0]:<38} {_ms(base)}   "
                      f"rounds: {', '.join(f'{s:.2f}' for s in samples['baseline'])} s")
                verdict = "met" if ratio <= YAML_TARGET else "NOT met"
                print(f"ratio realnet ÷ baseline: {ratio:.2f}× — target ≤ {YAML_TARGET}× {verdict}")
            if args.only != "yaml":
                folder = work / "files"
                start = time.perf_counter()
                make_files(folder, files)
                built = time.perf_counter() - start
                samples = bench_filetree(context, folder, repeat, reps)
                cold = statistics.median(samples["cold"])
                warm = statistics.median(samples["warm"])
                base = statistics.median(samples["baseline"])
                print(f"filetree ls: first page of {PAGE} in a mounted folder of {files:,} files "
                      f"(made in {built:.1f} s)")
                print(f"  {'realnet cold (fresh mount, cache)':<38} {_ms(cold)}   "
                      f"median of {repeat}; max {max(samples['cold']) * 1000:.1f} ms")
                print(f"  {'realnet warm':<38} {_ms(warm)}   median of {reps}")
                print(f"  {'baseline sorted(os.listdir)':<38} {_ms(base)}   median of {reps}")
                print(f"ratio realnet ÷ baseline: cold {cold / base:.2f}×, warm {warm / base:.2f}×")
                for label, figure in (("cold", cold), ("warm", warm)):
                    verdict = "met" if figure * 1000 < LS_TARGET_MS else "NOT met"
                    print(f"target: first page of ls ({label}) < {LS_TARGET_MS:.0f} ms — {verdict} "
                          f"({figure * 1000:.1f} ms)")
        finally:
            context.provider.close()
    finally:
        documents._CACHE.clear()
        filetree._LISTINGS.clear()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
