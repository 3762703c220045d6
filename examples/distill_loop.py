"""Distil a teacher step by step with rldistill's public loop, the way a CleanRL file reads.

`rldistill distill` runs exactly these steps (plus checkpoints, SIGINT, logs and result.json):
the teacher is loaded without running code from its file, the loop collects a round of states
(someone acts, the teacher labels every state), the student trains on everything labelled so
far, and the student is scored against the teacher and a random policy on the same episodes.

    .venv/bin/python examples/distill_loop.py [--teacher zoo:CartPole-v1-ppo] [--budget 2000]

Prints one line per round and the final score. tests/test_examples.py runs it.
"""

from __future__ import annotations

import argparse

import torch

from rldistill import DistillConfig, Loop, load_teacher
from rldistill.evaluation import seeds
from rldistill.evaluation.rollouts import RandomActor, evaluate_policy, normalized_score


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--teacher", default="zoo:CartPole-v1-ppo")
    ap.add_argument("--env", default="CartPole-v1")
    ap.add_argument("--budget", type=int, default=2000, help="teacher-labelled env steps")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--episodes", type=int, default=20, help="episodes of the final score")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)  # small networks: threads cost more than they give

    # 1. The teacher: an SB3 zip read without unpickling (weights, spaces, normalisation).
    teacher = load_teacher(args.teacher)
    print(f"teacher {teacher.name}: {teacher.kind} outputs, {teacher.params} acting params")

    # 2. The run's options, as the CLI would take them. Everything not given takes the
    #    defaults `rldistill distill` uses: a student of 1/4 of the teacher's size, KL loss,
    #    DAgger's driver (beta decaying per round) for discrete actions.
    cfg = DistillConfig(teacher=args.teacher, env=args.env, budget=args.budget,
                        rounds=args.rounds, param_ratio=0.25, seed=args.seed,
                        out="runs/example").validate()

    # 3. The loop: vector envs, the student (seeded), its optimizer, one buffer per task, the
    #    driver (who acts) and the loss, all from the config.
    loop = Loop(cfg, [teacher])
    print(f"student {loop.student.arch.hidden}: {loop.student.params} params, driver "
          f"{loop.driver.name}, {loop.n_rounds} rounds of {args.budget // loop.n_rounds} steps")

    # 4. The rounds. collect_round: the driver acts in the envs; the teacher labels each
    #    state with its outputs (logits here); the rows go to the buffer. update_round: the
    #    student trains on the whole buffer (every round's states: DAgger's aggregation).
    while not loop.done:
        loop.collect_round()
        m = loop.update_round()
        print(f"round {m.round}: {m.labelled} labelled steps, {m.updates} updates, "
              f"loss {m.loss:.4f}, agreement on the new states {m.fresh_agreement:.3f}")
    loop.close()

    # 5. The score: student, teacher and a random policy on the same episode seeds (not those
    #    the student trained on); normalized = (student - random) / (teacher - random).
    seed = seeds.final(args.seed)
    student = loop.student.for_task(0)
    s = evaluate_policy(student, args.env, args.episodes, seed, reference=teacher)
    t = evaluate_policy(teacher, args.env, args.episodes, seed)
    r = evaluate_policy(RandomActor(teacher.head, seed), args.env, args.episodes, seed)
    score = normalized_score(s.mean, t.mean, r.mean)
    print(f"student {s.mean:.1f}, teacher {t.mean:.1f}, random {r.mean:.1f}: normalized "
          f"{score:.3f}, agreement {s.agreement:.3f} on the student's own states")
    return {"student": s.mean, "teacher": t.mean, "random": r.mean,
            "normalized_score": float(score if score is not None else float("nan")),
            "agreement": float(s.agreement or 0.0), "labelled": float(loop.labelled)}


if __name__ == "__main__":
    main()
