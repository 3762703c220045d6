"""Where a teacher comes from: a ``--teacher`` SPEC -> its SB3 zip, its VecNormalize statistics
and the env it names (an :class:`~rldistill.envs.recipe.EnvRecipe`), with the file each came from.

- ``zoo:NAME``: a zip shipped with rldistill (``rldistill zoo list``).
- ``PATH.zip``: an SB3 zip, ``PATH.vecnormalize.pkl`` (what ``export --format sb3`` writes) or
  ``vecnormalize.pkl`` beside it, or in RL Zoo's layout; where the zip
  lies in an RL Zoo experiment folder, that folder's files are read as below.
- an RL Zoo experiment folder (``logs/ppo/Acrobot-v1_1``): ``ENV.zip`` (else ``best_model.zip``),
  ``ENV/vecnormalize.pkl``, ``ENV/config.yml`` (``env_wrapper``, ``frame_stack``,
  ``normalize``), ``ENV/args.yml`` (``env``, ``env_kwargs``) and ``ENV/env_kwargs.yml``.
- ``hf:ORG/REPO``: a Hugging Face Hub model repo as RL Zoo pushes them (``REPO.zip``,
  ``config.yml``, ``vec_normalize.pkl``, ``env_kwargs.yml``, ``args.yml``), read from the local
  cache first (``huggingface_hub``, the ``hub`` extra).

The YAML files hold Python tags (``!!python/object/apply:collections.OrderedDict``): they are
read with a loader that knows plain types, that tag and ``!!python/tuple`` only; any other tag
is a one-line error and nothing is constructed (:mod:`rldistill.sources.plain_yaml`). Env
modules named in ``args.yml`` (``gym_packages``) are not imported: the user names them with
``--env-module``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


from rldistill.envs.recipe import EnvRecipe, wrapper_entries
from rldistill.core.errors import UserError
from rldistill.sources.plain_yaml import read_zoo_yaml
from rldistill.sources.torch_file import SUFFIXES


@dataclass
class Source:
    zip: Path
    name: str  # how results name the teacher
    vecnormalize: Path | None = None
    env: EnvRecipe | None = None  # the env the source names, with its wrappers
    origin: dict[str, str] = field(default_factory=dict)  # what was read from which file
    notes: list[str] = field(default_factory=list)  # e.g. normalize: true without statistics


def resolve(spec: str) -> Source:
    """The :class:`Source` of a ``--teacher`` SPEC (see the module docstring)."""
    if spec.startswith("zoo:"):
        import json

        from rldistill.zoo import zoo_path

        src = _with_pkl(Source(zoo_path(spec[4:]), spec))
        record = src.zip.with_suffix(".json")
        if record.is_file():  # the zoo's record of how the teacher was trained
            src.env = EnvRecipe(json.loads(record.read_text())["env"])
            src.origin["env"] = str(record)
        return src
    if spec.startswith("hf:"):
        return _hub(spec)
    path = Path(spec)
    if not path.exists() and path.suffix != ".zip" and path.with_name(path.name + ".zip").exists():
        path = path.with_name(path.name + ".zip")
    if not path.exists():
        raise UserError(f"teacher {spec} does not exist: pass an SB3 .zip, an RL Zoo experiment "
                        "folder, hf:ORG/REPO or zoo:NAME (see `rldistill zoo list`)")
    if path.is_dir():
        return _zoo_folder(path, spec)
    if path.suffix in SUFFIXES:
        raise UserError(f"teacher {spec} is a torch file, not an SB3 model: load it with --env "
                        "(and --teacher-kind unless it is a CleanRL or rsl-rl checkpoint)")
    config_dir = path.parent / path.stem
    if (config_dir / "config.yml").is_file() or (config_dir / "args.yml").is_file():
        return _zoo_folder(path.parent, spec, zip_file=path)
    return _with_pkl(Source(path, path.name))


def _with_pkl(src: Source) -> Source:
    from rldistill.sources.normalize import find_vecnormalize

    src.vecnormalize = find_vecnormalize(src.zip)
    if src.vecnormalize:
        src.origin["normalize"] = str(src.vecnormalize)
    return src


def _zoo_folder(folder: Path, spec: str, zip_file: Path | None = None) -> Source:
    """An RL Zoo experiment folder: ``ENV.zip`` beside the ``ENV/`` folder of its files."""
    configs = [d for d in sorted(folder.iterdir()) if d.is_dir()
               and ((d / "config.yml").is_file() or (d / "args.yml").is_file())]
    if zip_file is None:
        zips = [folder / f"{d.name}.zip" for d in configs if (folder / f"{d.name}.zip").is_file()]
        zips = zips or [p for p in (folder / "best_model.zip",) if p.is_file()]
        if not zips:
            raise UserError(f"teacher folder {folder} holds no RL Zoo model (ENV.zip beside "
                            "ENV/config.yml, or best_model.zip): pass the SB3 .zip itself")
        zip_file = zips[0]
    env_dir = folder / zip_file.stem if (folder / zip_file.stem).is_dir() else (
        configs[0] if configs else folder)
    files = {name: env_dir / name for name in ("config.yml", "args.yml", "env_kwargs.yml",
                                                "vecnormalize.pkl")}
    src = Source(zip_file, spec if Path(spec).is_dir() else zip_file.name)
    return _read_zoo_files(src, files, default_env=folder.name.rsplit("_", 1)[0])


def _read_zoo_files(src: Source, files: dict[str, Path], default_env: str | None) -> Source:
    """Fill ``src`` from RL Zoo's files (those of ``files`` that exist)."""
    got = {k: p for k, p in files.items() if p.is_file()}
    config = read_zoo_yaml(got["config.yml"]) if "config.yml" in got else {}
    args = read_zoo_yaml(got["args.yml"]) if "args.yml" in got else {}
    env_kwargs = read_zoo_yaml(got["env_kwargs.yml"]) if "env_kwargs.yml" in got else None
    origin: dict[str, str] = {"zip": str(src.zip)}
    env_id = args.get("env")
    origin["env"] = str(got["args.yml"]) if env_id else "the folder's name"
    env_id = env_id or default_env
    if env_kwargs is None and isinstance(args.get("env_kwargs"), dict):
        env_kwargs, origin["env_kwargs"] = args["env_kwargs"], str(got["args.yml"])
    elif env_kwargs:
        origin["env_kwargs"] = str(got["env_kwargs.yml"])
    where = str(got.get("config.yml", src.zip))
    wrappers = wrapper_entries(config.get("env_wrapper"), where)
    frame_stack = config.get("frame_stack") or 0
    if not isinstance(frame_stack, int) or frame_stack < 0:
        raise UserError(f"{where}: frame_stack {frame_stack!r} is not a whole number")
    for key, value in (("env_wrapper", wrappers), ("frame_stack", frame_stack)):
        if value:
            origin[key] = where
    if "vecnormalize.pkl" in got:
        src.vecnormalize = got["vecnormalize.pkl"]
        origin["normalize"] = str(src.vecnormalize)
    elif config.get("normalize") not in (None, False, "false", "False"):
        src.notes.append(f"{where} says normalize: {config['normalize']} but the folder holds "
                         "no vecnormalize.pkl: the teacher is fed raw observations")
    packages = args.get("gym_packages") or []
    if packages:
        origin["gym_packages"] = f"{', '.join(packages)} (not imported: --env-module PKG)"
    if env_id:
        src.env = EnvRecipe(str(env_id), env_kwargs or {}, wrappers, frame_stack,
                            origin=origin)
    src.origin.update(origin)
    return src


def _hub(spec: str) -> Source:
    """``hf:ORG/REPO`` from the local Hugging Face cache (else the Hub, where it can be
    reached): the snapshot's files as RL Zoo pushes them."""
    repo = spec[3:].strip("/")
    if repo.count("/") != 1:
        raise UserError(f"teacher {spec}: write a Hub model as hf:ORG/REPO, e.g. "
                        "hf:sb3/ppo-LunarLander-v2")
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise UserError("hf: teachers need huggingface_hub: pip install 'rldistill[hub]' "
                        "(scripts/setup.sh installs it)") from None
    cache = os.environ.get("HF_HUB_CACHE")
    patterns = ["*.zip", "*.yml", "*.pkl"]
    try:
        folder = Path(snapshot_download(repo, cache_dir=cache, local_files_only=True,
                                        allow_patterns=patterns))
    except Exception:  # noqa: BLE001 - not cached: try the Hub unless offline
        folder = None
        if os.environ.get("HF_HUB_OFFLINE", "0").lower() not in ("1", "true", "yes"):
            try:
                folder = Path(snapshot_download(repo, cache_dir=cache, allow_patterns=patterns))
            except Exception:  # noqa: BLE001 - no network, no such repo, no access
                folder = None
    if folder is None:
        raise UserError(f"teacher {spec} is not in the local Hugging Face cache and the Hub "
                        f"cannot be reached from here: on a machine with network run `hf "
                        f"download {repo}` and copy its cache (HF_HOME) here")
    name = repo.split("/")[1]
    zips = [folder / f"{name}.zip"] if (folder / f"{name}.zip").is_file() else sorted(
        folder.glob("*.zip"))
    zips = [z for z in zips if z.name != "train_eval_metrics.zip"]
    if not zips:
        raise UserError(f"teacher {spec}: the repo holds no SB3 .zip model: pick an SB3 / RL "
                        "Zoo model repo")
    files = {"config.yml": folder / "config.yml", "args.yml": folder / "args.yml",
             "env_kwargs.yml": folder / "env_kwargs.yml",
             "vecnormalize.pkl": folder / "vec_normalize.pkl"}
    env_guess = name.split("-", 1)[1] if "-" in name else None  # ALGO-ENV, as RL Zoo names
    return _read_zoo_files(Source(zips[0], spec), files, env_guess)
