"""``lava``: every subcommand, with exit codes 0 ok, 1 job/run failure, 2 usage or validation error."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from lava_core.cli import conn, jobs, runs, sched, state, store, triggers
from lava_core.cli.output import EXIT_FAILED, EXIT_OK, EXIT_USAGE, error
from lava_core.backend.aws_schema import DEFAULT_MAX_RECEIVES
from lava_core.errors import LavaError, SpecError

EPILOG = """\
The realm is chosen by --realm, else $LAVA_REALM, else ./.lava (a local folder realm,
created on first use); aws://NAME selects a realm on AWS (see `lava realm init --aws`). Exit codes: 0 ok, 1 a job or run failed, 2 usage or validation error.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lava", description="lava: a distributed job scheduler and runner.",
                                     epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--realm", "-r", default=None, help="realm: a folder, or aws://NAME (default: $LAVA_REALM or ./.lava)")
    parser.add_argument("--log-level", default=os.environ.get("LAVA_LOGLEVEL", "info"),
                        choices=["debug", "info", "warning", "error"], help="log detail on stderr (default: info)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    realm = sub.add_parser("realm", help="create and inspect realms").add_subparsers(dest="sub", required=True)
    init = realm.add_parser(
        "init", help="create a local realm, or with --aws the AWS resources of a realm (idempotent)",
        description="Without --aws: create the local realm folder given by --realm. With --aws NAME: create the "
                    "DynamoDB tables, the S3 bucket, one SQS queue (plus dead-letter queue) per --fleet and the "
                    "realm record of realm NAME, leaving anything that exists as it is. boto3 takes credentials, "
                    "region and AWS_ENDPOINT_URL from the usual places.")
    init.add_argument("--name", default="local", help="local realm: name recorded in the realm (default: local)")
    init.add_argument("--aws", metavar="NAME", help="create the AWS realm NAME (use it as --realm aws://NAME)")
    init.add_argument("--bucket", help="with --aws: S3 bucket for payloads and outputs (created if missing)")
    init.add_argument("--prefix", help="with --aws: key prefix in the bucket (default: lava/NAME)")
    init.add_argument("--fleet", action="append", default=[], metavar="FLEET",
                      help="with --aws: create the queues of this worker fleet (repeatable)")
    init.add_argument("--max-receives", type=int, default=DEFAULT_MAX_RECEIVES, metavar="N",
                      help="with --aws: receives after which SQS moves a message to the dead-letter queue "
                           f"(default: {DEFAULT_MAX_RECEIVES}; the worker's --retries normally acts first)")
    init.add_argument("--json", action="store_true", help="print what was done as JSON")
    init.set_defaults(func=jobs.cmd_realm_init)
    show = realm.add_parser("show", help="print the realm record (JSON)")
    show.set_defaults(func=jobs.cmd_realm_show)

    job = sub.add_parser("job", help="manage job specs").add_subparsers(dest="sub", required=True)
    put = job.add_parser("put", help="validate job spec files (JSON/YAML) and store them; none is stored on error")
    put.add_argument("files", nargs="+", metavar="FILE")
    put.set_defaults(func=jobs.cmd_job_put)
    validate = job.add_parser("validate", help="check job spec files without storing them")
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.set_defaults(func=jobs.cmd_job_validate)
    get = job.add_parser("get", help="print a stored job spec (JSON, or YAML with --yaml)")
    get.add_argument("job_id", metavar="JOB")
    get.add_argument("--yaml", action="store_true")
    get.set_defaults(func=jobs.cmd_job_get)
    ls = job.add_parser("ls", help="list stored jobs")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=jobs.cmd_job_ls)
    rm = job.add_parser("rm", help="remove a stored job")
    rm.add_argument("job_id", metavar="JOB")
    rm.set_defaults(func=jobs.cmd_job_rm)

    dispatch = sub.add_parser("dispatch", help="queue a run of a job on its fleet; prints the run id")
    runs.add_request_arguments(dispatch)
    dispatch.add_argument("-w", "--worker", help="send to this fleet without looking the job up")
    dispatch.add_argument("--wait", action="store_true", help="wait for the run; exit 0 if it completes, 1 if not")
    dispatch.add_argument("--timeout", default="1h", metavar="DUR", type=runs.duration_arg, help="how long --wait waits (default: 1h)")
    dispatch.set_defaults(func=runs.cmd_dispatch)

    run = sub.add_parser("run", help="run a job once in this process, bypassing the queue (development)")
    runs.add_request_arguments(run, delay=False)
    run.add_argument("--tmpdir", help="folder for the run's scratch space (default: inside the realm)")
    run.set_defaults(func=runs.cmd_run)

    worker = sub.add_parser("worker", help="run workers").add_subparsers(dest="sub", required=True)
    wrun = worker.add_parser("run", help="serve a fleet's queue until stopped (SIGTERM/SIGINT: drain, twice: kill)")
    wrun.add_argument("--worker", "-w", required=True, metavar="FLEET", help="the fleet (worker name) to serve")
    wrun.add_argument("--threads", "-t", type=int, default=4, help="jobs run at once (default: 4)")
    wrun.add_argument("--drain", action="store_true", help="exit once the queue is empty (nothing visible, delayed or in flight) and no job is running")
    wrun.add_argument("--jump-start", "-j", action="store_true",
                      help="at start, dispatch every enabled lavasched job of this fleet")
    wrun.add_argument("--visibility-timeout", default="60s", metavar="DUR", type=runs.duration_arg,
                      help="how long a taken message stays hidden; renewed every third of it while the job runs "
                           "(default: 60s)")
    wrun.add_argument("--poll-wait", default="5s", metavar="DUR", type=runs.duration_arg, help="long-poll wait per receive (default: 5s)")
    wrun.add_argument("--grace", default="30s", metavar="DUR", type=runs.duration_arg,
                      help="after SIGTERM, how long running jobs may take before they are killed (default: 30s)")
    wrun.add_argument("--retries", type=int, default=2,
                      help="dead-letter a message delivered more than retries+1 times; negative: no limit (default: 2)")
    wrun.add_argument("--keep-failed", action="store_true", help="keep the scratch folder of each failed run as <tmpdir>/<realm>/failed-runs/<run_id>")
    wrun.add_argument("--tmpdir", help="scratch root (default: $LAVA_TMPDIR or <tmp>/lava)")
    wrun.set_defaults(func=runs.cmd_worker_run)

    events = sub.add_parser("events", help="show run records, newest last")
    events.add_argument("--job", help="only this job")
    events.add_argument("--run", help="only this run id")
    events.add_argument("--status", help="only runs whose status is this")
    events.add_argument("--limit", type=int, default=50, help="at most this many runs (default: 50)")
    events.add_argument("--json", action="store_true", help="full records as JSON, newest first")
    events.set_defaults(func=jobs.cmd_events)

    dlq = sub.add_parser("dlq", help="show dispatch messages set aside as unrunnable, with the reason")
    dlq.add_argument("--fleet", help="only this fleet's dead letters")
    dlq.add_argument("--json", action="store_true")
    dlq.set_defaults(func=jobs.cmd_dlq)

    store.add_parsers(sub)
    state.add_parsers(sub)
    conn.add_parsers(sub)
    sched.add_parsers(sub, runs.duration_arg)
    triggers.add_parsers(sub, runs.duration_arg)

    plugins = sub.add_parser("plugins", help="list installed plugins and what each provides")
    plugins.add_argument("--json", action="store_true")
    plugins.set_defaults(func=jobs.cmd_plugins)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    if args.log_level != "debug":
        # boto's INFO lines ("Found credentials in environment variables") are noise here.
        for name in ("botocore", "boto3", "urllib3"):
            logging.getLogger(name).setLevel(logging.WARNING)
    try:
        return args.func(args)
    except SpecError as exc:
        print(str(exc))
        return EXIT_USAGE
    except LavaError as exc:
        error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `lava events --json | head`: the reader left; not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:
        # botocore's errors (no credentials, endpoint unreachable, access denied) are
        # not bugs of lava: say what AWS said, without a traceback.
        if type(exc).__module__.startswith(("botocore", "boto3")):
            error(f"AWS: {exc}")
            return EXIT_FAILED
        raise


if __name__ == "__main__":
    sys.exit(main())
