"""A Ray for this process: the local one (loopback only, no dashboard) or the cluster at
``--address``, and Ray's one-line import error naming the extra. Used by sweeps, compress
(:mod:`rldistill.scale.trials`) and collectors (:mod:`rldistill.envs.remote`)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rldistill.core.errors import UserError

RAY_HINT = "pip install 'rldistill[ray]'"


def import_ray(address: str | None = None) -> Any:
    """The ``ray`` module, or a one-line error that names the extra. Before Ray's first import:
    a local Ray (or a cluster on this machine) keeps to the loopback address (Ray otherwise
    swaps 127.0.0.1 for the machine's own address), and a driver joining a cluster sends
    Ray's auth token where there is one (``ray start`` turns token authentication on)."""
    host = address.rpartition(":")[0] if address else "127.0.0.1"
    if address is None or _loopback(host):
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # node IP: loopback
    if address and "RAY_AUTH_MODE" not in os.environ and (
            os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH")
            or (Path.home() / ".ray" / "auth_token").exists()):
        os.environ["RAY_AUTH_MODE"] = "token"
    try:
        import ray
        import ray.tune  # noqa: F401
    except ImportError:
        raise UserError("sweep, compress and --collectors run on Ray, which is not installed: "
                        + RAY_HINT) from None
    return ray


def _check_listening(host: str, port: str) -> None:
    """A one-line error at once where nothing listens at HOST:PORT (Ray itself retries for
    minutes before it gives up)."""
    import socket

    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as e:
        raise UserError(f"could not join the Ray cluster at {host}:{port} (nothing answers "
                        f"there: {e.strerror or e}): start one with {start_command(host, port)}, "
                        "or drop --address for a local Ray") from None


def start_command(host: str, port: str) -> str:
    """The ``ray start`` that makes a head node ``--address HOST:PORT`` reaches: on a loopback
    address with the variable that keeps Ray there (else Ray binds the machine's own address
    and 127.0.0.1:PORT finds nothing)."""
    if _loopback(host):
        return (f"`RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 ray start --head --node-ip-address={host} "
                f"--port={port}`")
    return f"`ray start --head --node-ip-address={host} --port={port}` on {host}"


def _loopback(host: str) -> bool:
    return host in ("localhost", "::1", "[::1]") or host.startswith("127.")


@contextlib.contextmanager
def ray_session(address: str | None = None, cpus: int | None = None) -> Iterator[Any]:
    """Ray for the block: the cluster at ``address`` (HOST:PORT), else a local Ray with
    ``cpus`` CPUs (default: all), no dashboard, on the loopback address. A Ray this process
    has already started is used as it is."""
    if address:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise UserError(f"--address {address!r}: give the head node as HOST:PORT, e.g. "
                            "127.0.0.1:6379")
    ray = import_ray(address)
    if ray.is_initialized():
        yield ray
        return
    quiet = {"log_to_driver": False, "configure_logging": False}
    if address:
        _check_listening(host, port)
        try:
            ray.init(address=address, **quiet,
                     **({"_node_ip_address": "127.0.0.1"} if _loopback(host) else {}))
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise UserError(f"could not join the Ray cluster at {address} "
                            f"({str(e).splitlines()[0] if str(e) else type(e).__name__}): start "
                            f"one with {start_command(host, port)}, or drop --address for a "
                            "local Ray") from None
    else:
        import logging

        # a local Ray notes on stderr that it enabled token authentication (it stays enabled):
        # a line in every run's output, as if something were wrong
        note = logging.getLogger("ray._private.authentication.authentication_token_setup")
        level = note.level
        note.setLevel(logging.ERROR)
        try:
            ray.init(address="local", num_cpus=cpus or os.cpu_count() or 1,
                     include_dashboard=False, _node_ip_address="127.0.0.1",
                     object_store_memory=200 * 2**20, **quiet)
        finally:
            note.setLevel(level)
    try:
        yield ray
    finally:
        ray.shutdown()


def cluster_cpus(ray: Any) -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def trial_gpus(device: str) -> int:
    """GPUs a Ray trial of ``--device`` asks for: one for ``cuda`` (Ray shows the trial that one
    GPU, as ``cuda``), none for the CPU; ``cuda:N`` is a one-line error (which GPU a trial gets
    is Ray's to choose)."""
    if device == "cpu":
        return 0
    if device != "cuda":
        raise UserError(f"--device {device} in a Ray trial: write --device cuda (Ray gives "
                        "each trial one GPU of its own)")
    return 1


def check_gpus(ray: Any, need: bool) -> None:
    """One line, before any trial waits forever, where trials need a GPU the cluster lacks."""
    if need and ray.cluster_resources().get("GPU", 0) < 1:
        raise UserError("--device cuda: this Ray cluster has no GPU: drop --device (trials run "
                        "on the CPU), or join a cluster with GPUs (--address)")
