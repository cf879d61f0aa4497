"""Import a 5,000-centre workbook (with its regions sheet) into an empty database: wall seconds
and the process's peak memory (max RSS), the figures issue 20 and issue 14 quote.

    .venv/bin/python benchmarks/import_workbook.py [--centres 5000] [--db PATH]

The workbook is built first (not timed) in a temporary folder: 1 city, 1 county, 50 townships,
and `--centres` rows with valid credit codes, dates as date cells, phones as text.
"""

import argparse
import datetime
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import benchmark_database, uscc  # noqa: E402


def build_workbook(path, centres):
    import openpyxl

    rng = random.Random(1)
    workbook = openpyxl.Workbook(write_only=True)
    regions = workbook.create_sheet("regions")
    regions.append(["code", "name", "level", "parent_code"])
    regions.append(["330600", "绍兴市", "city", ""])
    regions.append(["330602", "越城区", "county", "330600"])
    townships = [f"330602{n:03d}" for n in range(1, 51)]
    for n, code in enumerate(townships, start=1):
        regions.append([code, f"第{n}街道", "township", "330602"])
    sheet = workbook.create_sheet("centres")
    sheet.append(["统一社会信用代码", "名称", "所在区划编码", "等级", "举办性质", "托位数", "联系电话",
                  "备案日期", "注销日期", "地址"])
    grades = ["", "三级", "二级", "一级", "市级示范"]
    for n in range(centres):
        sheet.append([uscc(n, "330602", rng), f"托育园{n}", rng.choice(townships), rng.choice(grades),
                      rng.choice(["公办", "民办"]), rng.randint(10, 200), f"0575-8{n:07d}",
                      datetime.date(2020, 1, 1) + datetime.timedelta(days=n % 1500), None, f"某路{n}号"])
    workbook.save(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--centres", type=int, default=5000)
    parser.add_argument("--db", help="SQLite file to use (kept); default a temporary one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, benchmark_database(args.db, "bench-import-"):
        path = Path(tmp) / "registry.xlsx"
        build_workbook(path, args.centres)
        from mch_link.importer import read_path, registry_import

        start = time.perf_counter()
        result = registry_import(sources=read_path(path))
        seconds = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"workbook: {path.stat().st_size / 1024:.0f} KB, {args.centres} centres")
        print(f"errors: {len(result.errors)}; counts: {result.counts}")
        print(f"import: {seconds:.2f} s; peak RSS of the process: {peak:.0f} MB")


if __name__ == "__main__":
    main()
