"""``rldistill teacher info SPEC``: what rldistill reads from a teacher source and where each
part came from (algorithm, policy kind, spaces, acting parameters, normalisation, env recipe)."""

from __future__ import annotations

from typing import Any


def teacher_info(spec: str, trust: bool = False, kind: str | None = None,
                 env: str | None = None, normalize: str | None = None) -> dict[str, Any]:
    from rldistill.sources import load_teacher

    t = load_teacher(spec, trust=trust, normalize=normalize, kind=kind, env=env)
    src = t.source
    recipe = src.get("env_recipe")
    if recipe is not None:
        from rldistill.envs.make import map_env_id

        mapped = map_env_id(recipe, t.spec)  # an id this Gymnasium renamed: noted on stderr
        if str(mapped) != str(recipe):
            src.setdefault("notes", []).append(f"env {recipe} is used as {mapped} (renamed, "
                                               "same spaces)")
    norm: Any = t.obs_norm
    return {
        "spec": spec, "name": t.name, "format": src.get("format"),
        "file": src.get("file"), "algorithm": src.get("algorithm"),
        "policy": src.get("policy"), "kind": t.kind, "head": t.head.name,
        "activation": None if "activation" not in src else {
            "name": src["activation"], "from": src["activation_from"]},
        "observation": {"shape": list(t.spec.obs_shape), "dtype": t.spec.obs_dtype},
        "action": t.spec.action.to_json(), "acting_params": t.params,
        "normalize": None if norm is None else {
            "file": src.get("normalize"), "clip": float(norm.clip),
            "mean_abs_max": round(float(norm.mean.abs().max()), 4)},
        "env": None if recipe is None else recipe.to_json(), "env_given": env,
        "origin": src.get("origin", {}), "notes": src.get("notes", []),
    }
