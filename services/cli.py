"""The `civic` command: one entry point for every process of the platform."""

from __future__ import annotations

import json
import logging
import os
import sys

import click

from config.settings import Settings, markdown_table

WEB_GRACEFUL_TIMEOUT_S = 5


def _settings() -> Settings:
    settings = Settings.from_env()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return settings


def _runtime():
    from services.runtime import Runtime

    return Runtime(_settings())


@click.group()
def main() -> None:
    """CivicPulse 智慧和平: parking, air quality and community services for Heping District."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--rate", default=20.0, show_default=True, help="Simulated readings per second (0: no simulator).")
def run(host: str, port: int, rate: float) -> None:
    """Run the whole platform; embedded Redis, broker and SQLite for every URL that is not set."""
    from workers.supervisor import run_platform

    run_platform(_settings(), host, port, rate or None)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, help="gunicorn worker processes.")
@click.option("--threads", default=8, show_default=True, help="Threads per worker (live streams hold one each).")
def web(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the web app and APIs with gunicorn."""
    _settings()
    os.execvp(
        sys.executable,
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"{host}:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            # On SIGTERM a request in progress gets this long; live event streams (which never end by
            # themselves) are cut then, and their pages reconnect. gunicorn's default 30 s outlasts the 10 s
            # that `civic run` and `docker compose stop` allow before SIGKILL.
            "--graceful-timeout",
            str(WEB_GRACEFUL_TIMEOUT_S),
            "--access-logfile",
            "-",
            "services.app:create_app()",
        ],
    )


@main.command("embedded-broker", hidden=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=1883, show_default=True, type=int)
def embedded_broker(host: str, port: int) -> None:
    """Serve MQTT with the embedded broker (amqtt); `civic run` starts it when MQTT_URL is unset."""
    from workers.embedded import run_embedded_broker

    _settings()
    run_embedded_broker(host, port)


@main.command()
@click.option("--client-id", default=None, help="MQTT client id (stable, so the broker keeps our session).")
def bridge(client_id: str | None) -> None:
    """Move sensor messages from MQTT into Redis queues."""
    from workers.bridge import run_bridge

    run_bridge(_runtime(), client_id)


@main.command()
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
@click.option("--name", default=None, help="Worker name (default: host and pid).")
def worker(burst: bool, name: str | None) -> None:
    """Run an RQ worker that stores batches in the database."""
    from workers.worker import run_worker

    run_worker(_runtime(), burst=burst, name=name)


@main.command()
def scheduler() -> None:
    """Run the periodic jobs (rq's CronScheduler) and rq's scheduler (jobs retried after an interval)."""
    from workers.schedule import run_schedulers

    run_schedulers(_runtime())


def _probability(_ctx, param, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise click.BadParameter(f"{param.name} is a probability between 0 and 1")
    return value


@main.command()
@click.option("--rate", default=50.0, show_default=True, help="Readings per second, all devices together.")
@click.option("--duration", default=60.0, show_default=True, help="Seconds to run (0: until Ctrl-C).")
@click.option("--seed", default=1, show_default=True, help="Random seed: same seed, same readings and faults.")
@click.option("--devices", "max_devices", default=None, type=int, help="Simulate at most this many devices.")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(["parking_berth", "air_station"]))
@click.option("--duplicates", default=0.0, callback=_probability, help="Share of readings sent twice.")
@click.option("--out-of-order", default=0.0, callback=_probability, help="Share held back behind the next.")
@click.option("--malformed", default=0.0, callback=_probability, help="Share replaced by a malformed message.")
@click.option("--silent", default=0.0, callback=_probability, help="Share of devices that never report.")
@click.option("--reboots", default=0.0, callback=_probability, help="Chance per reading of a device reboot.")
@click.option("--quiet", is_flag=True, help="No progress line.")
def simulate(
    rate: float,
    duration: float,
    seed: int,
    max_devices: int | None,
    kinds: tuple[str, ...],
    duplicates: float,
    out_of_order: float,
    malformed: float,
    silent: float,
    reboots: float,
    quiet: bool,
) -> None:
    """Publish simulated berth and air-station readings over MQTT, one connection per device.

    Prints a progress line while running and a JSON report at the end.
    """
    import signal
    import threading

    from config.topics import Topics
    from sensors.faults import SimulationFaults
    from sensors.simulator import run_simulation
    from services.district.loader import load_district

    settings = _settings()
    district = load_district(settings.district_file)
    faults = SimulationFaults(duplicates, out_of_order, malformed, silent, reboots)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())  # finish cleanly: devices say offline, acks drain

    def progress(r) -> None:
        faults_seen = f"  dup {r.duplicates} reord {r.reordered} bad {r.malformed} reboot {r.reboots}"
        click.echo(
            f"\r{r.seconds:7.1f}s  devices {r.devices}  published {r.published:>8}  acked {r.acked:>8}"
            + (faults_seen if faults.enabled else ""),
            nl=False,
            err=True,
        )

    report = run_simulation(
        settings.mqtt,
        district,
        Topics(settings.district),
        rate=rate,
        duration=duration if duration > 0 else float("inf"),
        seed=seed,
        max_devices=max_devices,
        kinds=set(kinds) or None,
        progress=None if quiet else progress,
        stop=stop,
        faults=faults,
    )
    if not quiet:
        click.echo("", err=True)
    click.echo(json.dumps(report.__dict__, ensure_ascii=False))


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.argument("revision", default="heads")
def db_upgrade(revision: str) -> None:
    """Apply Alembic migrations."""
    from services.migrate import upgrade

    upgrade(_settings().database_url, revision)


@main.command()
def seed() -> None:
    """Load the district file (geography, facilities, stations, devices) and publish the device registry."""
    from services.db import transaction
    from services.devices.store import publish_registry, seed_district
    from services.district.loader import load_district
    from services.parking.live import publish_directory

    rt = _runtime()
    district = load_district(rt.settings.district_file)
    with transaction(rt.sessions) as session:
        added = seed_district(session, district)
    with rt.sessions() as session:
        published = publish_registry(session, rt.redis, rt.keys)
    facilities = publish_directory(rt.sessions, rt.redis, rt.keys, rt.settings.events_replay_length)
    click.echo(
        f"added: {json.dumps(added)}; {published} devices in the Redis registry; {facilities} parking facilities"
    )


@main.group()
def parking() -> None:
    """Parking operations (an authenticated HTTP endpoint comes with user accounts)."""


def _set_closed(berth_id: str, closed: bool) -> None:
    from services.parking.actions import set_closed
    from services.parking.store import BerthNotFound

    try:
        change = set_closed(_runtime(), berth_id, closed)
    except BerthNotFound:
        raise click.ClickException(f"no berth {berth_id}") from None
    click.echo(f"{berth_id}: {change['previous']} -> {change['status']}" if change else f"{berth_id}: unchanged")


@parking.command("close")
@click.argument("berth_id")
def parking_close(berth_id: str) -> None:
    """Take a berth out of use: it shows `closed` whatever its sensor says."""
    _set_closed(berth_id, True)


@parking.command("open")
@click.argument("berth_id")
def parking_open(berth_id: str) -> None:
    """Put a closed berth back in use, at its sensor's latest state if that is fresh (else `unknown`)."""
    _set_closed(berth_id, False)


@main.group()
def device() -> None:
    """The device registry."""


def _sync_broker(rt) -> str:
    """Rewrite the broker's credential files from the database, reload it, refresh the Redis registry."""
    from services.devices.provisioning import sync_broker

    return sync_broker(rt)


@device.command("add")
@click.argument("device_id", required=False)
@click.option("--berth", "berth_id", help="The berth this occupancy sensor watches.")
@click.option("--station", "station_id", help="The air station this device is.")
def device_add(device_id: str | None, berth_id: str | None, station_id: str | None) -> None:
    """Register a device (or re-issue a known one's password); prints its broker password on the last line."""
    from services.db import transaction
    from services.devices.provisioning import ProvisioningError, add_device

    rt = _runtime()
    try:
        with transaction(rt.sessions) as session:
            device, password = add_device(session, berth_id=berth_id, station_id=station_id, device_id=device_id)
    except ProvisioningError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(_sync_broker(rt), err=True)
    click.echo(
        f"device {device.id} may publish to {rt.topics.district}/{device.address}; MQTT username {device.id}", err=True
    )
    click.echo(password)


@device.command("revoke")
@click.argument("device_id")
def device_revoke(device_id: str) -> None:
    """Revoke a device: its credentials go from the broker and its messages are refused."""
    from services.db import transaction
    from services.devices.provisioning import ProvisioningError, revoke_device

    rt = _runtime()
    try:
        with transaction(rt.sessions) as session:
            revoke_device(session, device_id)
    except ProvisioningError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(_sync_broker(rt))
    click.echo(f"device {device_id} revoked")


@device.command("list")
@click.option("--kind", type=click.Choice(["parking_berth", "air_station"]))
def device_list(kind: str | None) -> None:
    """List registered devices."""
    from services.devices.store import list_devices

    rt = _runtime()
    with rt.sessions() as session:
        for d in list_devices(session, kind=kind):
            state = "active" if d.active else "revoked"
            click.echo(f"{d.id}\t{d.kind}\t{d.address}\t{state}")


@main.group()
def broker() -> None:
    """Broker credentials and ACL."""


@broker.command("account")
@click.argument("username")
@click.option("--role", type=click.Choice(["bridge", "simulator"]), required=True)
@click.option("--password", default=None, help="Set this password (default: generate one).")
def broker_account(username: str, role: str, password: str | None) -> None:
    """Create or update a service account; prints its password on the last line."""
    from services.db import transaction
    from services.devices.broker_auth import Role
    from services.devices.provisioning import ProvisioningError, set_service_account

    rt = _runtime()
    try:
        with transaction(rt.sessions) as session:
            password = set_service_account(session, username, Role(role), password)
    except ProvisioningError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(_sync_broker(rt), err=True)
    click.echo(password)


@broker.command("files")
def broker_files() -> None:
    """Write the broker's passwd and acl files from the database (and reload the broker if configured)."""
    click.echo(_sync_broker(_runtime()))


@main.group()
def user() -> None:
    """Accounts of community-centre staff, city operators and admins (web login)."""


@user.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(["staff", "operator", "admin"]), required=True)
@click.option("--community", "community_id", default=None, help="Staff only: the community they serve.")
@click.option("--name", "display_name", default="", help="Name shown in the pages (default: the username).")
@click.option("--password", default=None, help="Set this password (default: generate one).")
def user_create(username: str, role: str, community_id: str | None, display_name: str, password: str | None) -> None:
    """Create an account; prints its password on the last line."""
    import secrets

    from services.accounts.roles import Role
    from services.accounts.store import AccountError, create_user
    from services.db import transaction

    password = password or secrets.token_urlsafe(12)
    rt = _runtime()
    try:
        with transaction(rt.sessions) as session:
            create_user(session, username, Role(role), password, community_id, display_name)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{role} {username} created" + (f" for community {community_id}" if community_id else ""), err=True)
    click.echo(password)


@main.group()
def apikey() -> None:
    """API keys of applications that file requests over Open311 (sent as ``api_key``)."""


@apikey.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(["public", "staff", "operator"]), required=True)
@click.option("--community", "community_id", default=None, help="Staff keys only: requests go to this community.")
def apikey_create(name: str, role: str, community_id: str | None) -> None:
    """Create a key; prints it on the last line (it is shown this once: only its hash is kept)."""
    from services.accounts.api_keys import ApiKeyError, create_key
    from services.accounts.roles import Role
    from services.db import transaction

    try:
        with transaction(_runtime().sessions) as session:
            _, key = create_key(session, name, Role(role), community_id)
    except ApiKeyError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"API key {name} ({role}) created", err=True)
    click.echo(key)


@apikey.command("revoke")
@click.argument("name")
def apikey_revoke(name: str) -> None:
    """Revoke a key: the next request that sends it gets 403."""
    from services.accounts.api_keys import ApiKeyError, revoke_key
    from services.db import transaction
    from services.open311.deferred import forget_key

    rt = _runtime()
    try:
        with transaction(rt.sessions) as session:
            key_hash = revoke_key(session, name).key_hash
    except ApiKeyError as exc:
        raise click.ClickException(str(exc)) from exc
    forget_key(rt, key_hash)  # nor while the database is away
    click.echo(f"API key {name} revoked")


@apikey.command("list")
def apikey_list() -> None:
    """Keys with their role, community, creation, last use and revocation."""
    from services.accounts.api_keys import list_keys

    rt = _runtime()
    with rt.sessions() as session:
        for key in list_keys(session):
            state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
            used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
            click.echo(f"{key.name}\t{key.role}\t{key.community_id or '-'}\t{state}\tlast used {used}")


@main.group()
def retention() -> None:
    """Raw readings past AIR_RAW_RETENTION_DAYS and PARKING_EVENT_RETENTION_DAYS (the scheduler runs it hourly)."""


@retention.command("run")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
def retention_run(dry_run: bool) -> None:
    """Delete raw rows past their retention now, hours not rolled up yet excepted; print what went."""
    from datetime import UTC, datetime

    from services.retention.purge import run_retention

    rt = _runtime()
    report = run_retention(rt.sessions, rt.settings, datetime.now(UTC), dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    for table in ("air_readings", "berth_events"):
        part = report[table]
        if part["cutoff"] is None:
            click.echo(f"{table}: kept forever (retention 0)")
        else:
            click.echo(f"{table}: {verb} {part['rows']:,} rows observed before {part['cutoff']}")
    click.echo(f"in {report['seconds']} s")


@main.command("config")
def show_config() -> None:
    """Print the table of environment variables (markdown)."""
    click.echo(markdown_table())


@main.group()
def bench() -> None:
    """Benchmarks of the real processes (results: docs/benchmarks.md)."""


def _run_bench(run, options, json_path: str | None, summary_table) -> dict:
    """Run a bench (SIGTERM unwinds like Ctrl-C), write its JSON if asked, print its table."""
    from pathlib import Path

    from bench.platform import BenchError, interrupt_as_error, write_json

    interrupt_as_error()
    try:
        result = run(options)
    except BenchError as exc:
        raise click.ClickException(str(exc)) from exc
    except KeyboardInterrupt:
        raise click.Abort() from None
    if json_path:
        write_json(result, Path(json_path))
    click.echo(summary_table(result))
    return result


@bench.command("ingest")
@click.option("--rate", type=float, required=True, help="Offered readings per second (paced).")
@click.option("--duration", type=float, required=True, help="Seconds of publishing.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, writable=True), help="Write the results here.")
@click.option("--workers", default=2, show_default=True, help="`civic worker` processes to start.")
@click.option("--bridges", default=1, show_default=True, help="`civic bridge` processes (one shared group).")
@click.option("--connections", default=4, show_default=True, help="MQTT connections of the publisher.")
@click.option("--raw-messages", default=100_000, show_default=True, help="Flood size for the raw subscriber (0: skip).")
@click.option("--poll-ms", default=50, show_default=True, help="Database poll interval (latency resolution).")
@click.option("--drain-timeout", default=60.0, show_default=True, help="Longest wait for the pipeline to drain.")
@click.option("--keep-logs", is_flag=True, help="Keep the processes' logs and the broker's files; print where.")
@click.option("--quiet", is_flag=True, help="No progress line.")
def bench_ingest(
    rate: float,
    duration: float,
    json_path: str | None,
    workers: int,
    bridges: int,
    connections: int,
    raw_messages: int,
    poll_ms: int,
    drain_timeout: float,
    keep_logs: bool,
    quiet: bool,
) -> None:
    """Committed readings/s against an offered rate, loss and duplicates by identity, publish→stored latency.

    Runs the real bridge and workers against DATABASE_URL and REDIS_URL (both required: use a scratch
    database and a spare Redis database number); starts its own Mosquitto when MQTT_URL is unset.
    """

    from bench.ingest import Options, run_ingest, summary_table

    _settings()
    options = Options(
        rate=rate,
        duration=duration,
        workers=workers,
        bridges=bridges,
        connections=connections,
        raw_messages=raw_messages,
        poll_ms=poll_ms,
        drain_timeout=drain_timeout,
        keep_logs=keep_logs,
        progress=not quiet,
    )
    result = _run_bench(run_ingest, options, json_path, summary_table)
    if keep_logs:
        click.echo(f"logs: {result['logs']}", err=True)


@bench.command("api")
@click.option("--path", default=None, help="Endpoint under load ({lat} {lon} {radius} vary per request). [nearby]")
@click.option("--baseline", default="/healthz", show_default=True, help="Trivial endpoint measured in the same run.")
@click.option("--ingest-rate", default=2000.0, show_default=True, help="Readings/s published meanwhile (0: none).")
@click.option("--duration", default=30.0, show_default=True, help="Seconds of load per endpoint.")
@click.option("--connections", default=32, show_default=True, help="wrk connections.")
@click.option("--web-workers", default=2, show_default=True, help="gunicorn workers of `civic web`.")
@click.option("--web-threads", default=8, show_default=True, help="Threads per gunicorn worker.")
@click.option("--visibility-seconds", default=10.0, show_default=True, help="Seconds timing publish → API (0: none).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, writable=True), help="Write the results here.")
@click.option("--quiet", is_flag=True, help="No progress lines.")
def bench_api(
    path: str | None,
    baseline: str,
    ingest_rate: float,
    duration: float,
    connections: int,
    web_workers: int,
    web_threads: int,
    visibility_seconds: float,
    json_path: str | None,
    quiet: bool,
) -> None:
    """Requests/s and latency of an API endpoint (wrk) while ingest runs, beside a trivial endpoint.

    Needs wrk, and DATABASE_URL and REDIS_URL naming a scratch database and a spare Redis database.
    """

    from bench.api import NEARBY, Options, run_api, summary_table

    _settings()
    options = Options(
        path=path or NEARBY,
        baseline=baseline,
        ingest_rate=ingest_rate,
        duration=duration,
        connections=connections,
        web_workers=web_workers,
        web_threads=web_threads,
        visibility_seconds=visibility_seconds,
        progress=not quiet,
    )
    _run_bench(run_api, options, json_path, summary_table)


@bench.command("soak")
@click.option("--rate", default=2000.0, show_default=True, help="Readings/s published for the whole run.")
@click.option("--duration", default=600.0, show_default=True, help="Seconds of the run (warm-up included).")
@click.option("--interval", default=10.0, show_default=True, help="Seconds between two memory samples.")
@click.option("--warmup", default=60.0, show_default=True, help="Seconds before the samples the drift is fitted on.")
@click.option("--http-rate", default=4.0, show_default=True, help="Requests/s to the web (nearby and /healthz).")
@click.option("--workers", default=1, show_default=True, help="`civic worker` processes (compose starts one).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, writable=True), help="Write the results here.")
@click.option("--quiet", is_flag=True, help="No progress line.")
def bench_soak(
    rate: float,
    duration: float,
    interval: float,
    warmup: float,
    http_rate: float,
    workers: int,
    json_path: str | None,
    quiet: bool,
) -> None:
    """RSS of each platform process (bridge, workers, scheduler, web) over a long run under steady load.

    Needs DATABASE_URL and REDIS_URL naming a scratch database and a spare Redis database.
    """

    from bench.soak import Options, run_soak, summary_table

    _settings()
    options = Options(
        rate=rate,
        duration=duration,
        interval=interval,
        warmup=warmup,
        http_rate=http_rate,
        workers=workers,
        progress=not quiet,
    )
    _run_bench(run_soak, options, json_path, summary_table)


if __name__ == "__main__":
    sys.exit(main())
