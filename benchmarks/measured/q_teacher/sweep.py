# Sweep harness: one setting over several seeds, trained in-process, scored on 100 episodes.
# Usage: [SCHED=const|cos|cosround|lastdecay|late] python sweep.py NAME 0,1,2 '{"rounds": 20}'
# With SCHED set, sweep_patch.py swaps in an _update with LR schedules (SCHED=const: the floor
# split evenly over rounds, as the loop does at 10k; the README's sweep rows other than the old
# defaults ran with it); results: README.md in this folder.
import json, sys, time, dataclasses
import numpy as np, torch
torch.set_num_threads(1)
from rldistill.core.config import DistillConfig
import os, sys; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__))); import sweep_patch  # noqa: F401,E402
from rldistill.distill import train
from rldistill.evaluation.rollouts import evaluate_policy, normalized_score, RandomActor
from rldistill.sources import load_teachers

# usage: exp.py NAME seeds JSON-overrides
name, seeds, over = sys.argv[1], [int(s) for s in sys.argv[2].split(",")], json.loads(sys.argv[3])
teacher = load_teachers((over.get("teacher", "zoo:LunarLander-v3-dqn"),), "mean")
base = dict(teacher="zoo:LunarLander-v3-dqn", env="LunarLander-v3", param_ratio=0.1,
            driver="student", budget=10000, loss="kl", eval_episodes=100)
base.update(over)
scores = []
for s in seeds:
    cfg = DistillConfig(**{**base, "seed": s, "out": f"/tmp/rldistill-q-sweep/{name}-{s}"})
    t0 = time.perf_counter()
    out = train(cfg, teacher=teacher)
    tr = time.perf_counter() - t0
    st = out.student.for_task(0)
    buf = out.tasks[0].buf
    with torch.no_grad():
        x = buf.obs[: buf.size]; y = buf.targets[: buf.size].argmax(-1)
        tr_agree = float((st.outputs(x).argmax(-1) == y).float().mean())
    es = cfg.seed + 1_000_000
    sres = evaluate_policy(st, cfg.env, 100, es, reference=teacher)
    tres = evaluate_policy(teacher, cfg.env, 100, es)
    rres = evaluate_policy(RandomActor(4, es), cfg.env, 100, es)
    ns = normalized_score(sres.mean, tres.mean, rres.mean)
    scores.append(ns)
    r = np.array(sres.returns)
    print(f"{name} seed={s} ns={ns:.4f} stud={sres.mean:.1f} teach={tres.mean:.1f} rand={rres.mean:.1f} "
          f"agree_eval={sres.agreement:.3f} agree_train={tr_agree:.3f} crashes(<0)={int((r<0).sum())} "
          f"<100={int((r<100).sum())} updates={out.updates} train_s={tr:.1f}", flush=True)
print(f"## {name} {over} mean={np.mean(scores):.4f} min={np.min(scores):.4f} scores={[round(x,3) for x in scores]}", flush=True)
