#!/usr/bin/env python3
"""Filters a text corpus by language with retarget on a Ray cluster.

Reads text files (one segment per line), labels every line with
retarget's language identifier (lingua or a fastText model) on a pool of Ray
actors, writes the lines in the expected language to Parquet (column
``text``), optionally every line with its label, and prints the off-target
report and throughput as JSON.

    # on this machine (Ray starts a local cluster):
    python scripts/ray/filter_corpus.py --input corpus.txt --lang sw --out kept/ --workers 2

    # on a multi-node cluster: start Ray on each node (`ray start --head` on
    # one, `ray start --address=HEAD:6379` on the others), install the
    # retarget wheel on every node, put the corpus where every node can read
    # it (NFS, s3://…, gs://…), then run this script on the head node with
    # --address auto (or submit it with `ray job submit -- python …`).
    # --workers sets how many actors label lines (one per node or more) and
    # --cpus-per-worker how many cores each gets.
"""

import argparse
import json
import sys
import time

import ray

import retarget.ray as rr


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", nargs="+", required=True, help="text files or folders (local paths or URIs Ray reads)")
    ap.add_argument("--lang", required=True, help="the language to keep (ISO 639-1/3 or BCP-47)")
    ap.add_argument("--out", required=True, help="Parquet folder for the kept lines")
    ap.add_argument("--labels", help="Parquet folder for every line with its label (input order)")
    ap.add_argument("--backend", default="lingua", help="lingua, or fasttext:PATH (the model must exist on every node)")
    ap.add_argument("--workers", type=int, default=1, help="Ray actors labelling lines")
    ap.add_argument("--cpus-per-worker", type=float, default=None,
                    help="cores Ray reserves for each actor, and the threads it uses "
                         "(default: the cluster's cores, less a quarter core for reading, shared by the workers)")
    ap.add_argument("--batch-size", type=int, default=4096, help="lines per batch")
    ap.add_argument("--address", default=None, help="Ray cluster address (default: start a local one)")
    args = ap.parse_args()

    ray.init(address=args.address, include_dashboard=False, log_to_driver=False)
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True  # output lines in input order
    ctx.enable_progress_bars = sys.stderr.isatty()

    # Actors that reserve every core would leave none for the read tasks (a
    # deadlock Ray does not report): reads take a quarter core.
    read_cpus = 0.25
    cpus = args.cpus_per_worker
    if cpus is None:
        cpus = max(0.1, (ray.cluster_resources()["CPU"] - read_cpus) / args.workers)
    threads = str(max(1, round(cpus)))

    start = time.perf_counter()
    ds = ray.data.read_text(args.input, drop_empty_lines=False, num_cpus=read_cpus)
    labelled = ds.map_batches(
        rr.LanguageLabeler,
        fn_constructor_kwargs={"expected": args.lang, "backend": args.backend},
        batch_size=args.batch_size,
        concurrency=args.workers,
        num_cpus=cpus,
        runtime_env={"env_vars": {"RAYON_NUM_THREADS": threads}},
    ).materialize()
    labelled.filter(expr="on_target").select_columns(["text"]).write_parquet(args.out)
    if args.labels:
        labelled.write_parquet(args.labels)
    report = rr.off_target_report(labelled, args.lang)
    seconds = time.perf_counter() - start
    report.update(seconds=round(seconds, 3), lines_per_second=round(report["lines"] / seconds, 1),
                  workers=args.workers, backend=args.backend, out=args.out)
    print(json.dumps(report, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
