import argparse

from . import allocation, importing, totals


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--sizes",
        default="10000,100000,200000",
        help="Applications per window for ranking and allocation (comma-separated).",
    )
    parser.add_argument("--import-rows", type=int, default=100_000, help="Applications to import into the database.")
    parser.add_argument("--no-db", action="store_true", help="Skip the database import benchmark.")
    parser.add_argument(
        "--no-totals", action="store_true", help="Skip the totals benchmark (1,000,000 unit lines, PostgreSQL only)."
    )
    options = parser.parse_args()
    allocation.run(sizes=[int(size) for size in options.sizes.split(",")])
    if not options.no_db:
        importing.run(rows=options.import_rows)
    if not options.no_db and not options.no_totals:
        totals.run()


main()
