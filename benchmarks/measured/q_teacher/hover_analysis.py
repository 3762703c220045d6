# Why students of the DQN teacher fail: per-episode regret under the teacher's Q, and whether the
# teacher lands from the states where a student hovers. Usage: python hover_analysis.py SEED
# (the defaults before this change, 10 rounds and 2 048 updates, are set explicitly).
import sys
import numpy as np, torch, gymnasium as gym
torch.set_num_threads(1)
from rldistill.core.config import DistillConfig
from rldistill.distill import train
from rldistill.sources import load_teachers
teacher = load_teachers(("zoo:LunarLander-v3-dqn",), "mean")
seed = int(sys.argv[1])
cfg = DistillConfig(teacher="zoo:LunarLander-v3-dqn", env="LunarLander-v3", param_ratio=0.1, driver="student",
                    budget=10000, rounds=10, min_updates=2048, seed=seed, out=f"/tmp/rldistill-q-sweep/an-{seed}")
out = train(cfg, teacher=teacher)
st = out.student.for_task(0)
# buffer Q-gap stats
q = out.tasks[0].buf.targets[: out.tasks[0].buf.size]
qs = q.sort(-1, descending=True).values
gap = (qs[:, 0] - qs[:, 1]).numpy()
print("buffer gap quantiles", np.quantile(gap, [.1,.25,.5,.75,.9,.99]).round(3))
env = gym.make("LunarLander-v3")
rows = []
for e in range(100):
    o, _ = env.reset(seed=seed + 1_000_000 + e)
    ret, regs, steps = 0.0, [], 0
    done = False
    while not done:
        x = torch.as_tensor(o, dtype=torch.float32)[None]
        with torch.no_grad():
            a = int(st.outputs(x).argmax(-1)); qv = teacher.outputs(x)[0]
        regs.append(float(qv.max() - qv[a]))
        o, r, term, trunc, _ = env.step(a); ret += r; steps += 1; done = term or trunc
    regs = np.array(regs)
    rows.append((ret, steps, regs.sum(), (regs > 1).sum(), (regs > 5).sum(), regs.max()))
rows = np.array(rows)
good, bad = rows[rows[:, 0] >= 100], rows[rows[:, 0] < 100]
for name, r in (("good", good), ("bad", bad)):
    if len(r):
        print(name, len(r), "ret", r[:,0].mean().round(1), "steps", r[:,1].mean().round(0), "sum regret", r[:,2].mean().round(1),
              "#reg>1", r[:,3].mean().round(1), "#reg>5", r[:,4].mean().round(2), "max reg", r[:,5].mean().round(2))
# takeover test: on bad episodes, student drives K steps, then teacher drives
bad_eps = [e for e in range(100) if rows[e, 0] < 100]
print("bad eps", bad_eps[:15])
for K in (200, 400):
    rets, lands = [], 0
    for e in bad_eps:
        o, _ = env.reset(seed=seed + 1_000_000 + e)
        ret, t, done, agree, n = 0.0, 0, False, 0, 0
        while not done:
            x = torch.as_tensor(o, dtype=torch.float32)[None]
            with torch.no_grad():
                sa = int(st.outputs(x).argmax(-1)); ta = int(teacher.outputs(x).argmax(-1))
            a = sa if t < K else ta
            if t < K: agree += sa == ta; n += 1
            o, r, term, trunc, _ = env.step(a); ret += r; t += 1; done = term or trunc
        rets.append(ret); lands += bool(term)
    print(f"takeover at {K}: mean ret {np.mean(rets):.1f}, terminated {lands}/{len(bad_eps)}, student agreement before {agree/n:.2f}")
