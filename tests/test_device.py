"""--device: where the networks compute (rldistill.core.device). The CPU path moves nothing;
the CUDA tests run where torch sees a GPU (a lent machine: benchmarks/pixels/device_run.sh)."""

import pytest
import torch

from rldistill.core.config import DistillConfig
from rldistill.core.device import resolve_device, to_device
from rldistill.core.errors import UserError

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_device_names_and_errors(monkeypatch):
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(UserError, match="unknown --device 'tpu': choose cpu, cuda or cuda:N"):
        resolve_device("tpu")
    with pytest.raises(UserError, match="only cpu and cuda"):
        resolve_device("meta")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(UserError, match="sees no CUDA GPU: drop --device"):
        resolve_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(UserError, match="has 1 CUDA device"):
        resolve_device("cuda:3")


def test_to_device_moves_nothing_on_the_cpu():
    x, r, y = torch.ones(2, 3), torch.zeros(2, dtype=torch.bool), torch.ones(2)
    out = to_device(((x, r), {"y": y}, 7), torch.device("cpu"))
    assert out[0][0] is x and out[0][1] is r and out[1]["y"] is y and out[2] == 7


def test_student_device_follows_its_parameters():
    """Student.device is kept by .to() (outputs() asks it at every step, not the parameters)."""
    from rldistill.students.network import build_student
    from rldistill.core.spaces import ActionSpec, SpaceSpec

    student = build_student(SpaceSpec((4,), ActionSpec("discrete", 2)), (8,))
    assert student.device == torch.device("cpu")
    assert student.to("meta").device == torch.device("meta")


def test_device_refused_beside_collectors_and_a_learning_teacher():
    for extra in ({"collectors": 2, "teacher": "zoo:CartPole-v1-ppo"},
                  {"teacher_train": "ppo", "env": "CartPole-v1"}):
        with pytest.raises(UserError, match="--device cuda runs the networks in this process"):
            DistillConfig(device="cuda", **extra).validate()


def test_cli_device_error_exits_2(capsys, monkeypatch, tmp_path):
    from rldistill.cli import main

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code = main(["distill", "--teacher", "zoo:CartPole-v1-ppo", "--device", "cuda",
                 "--budget", "200", "--out", str(tmp_path / "r")])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "sees no CUDA GPU" in err[0]


@CUDA
def test_cuda_run_resumes_bit_for_bit_and_saves_a_cpu_student(stopped_and_resumed):
    """A CNN student and its MinAtar teacher on the GPU: stopped after round 2 and resumed, the
    same student bit for bit (on the same device); the saved student is on the CPU."""
    pytest.importorskip("minatar")
    a, b = stopped_and_resumed(DistillConfig(
        teacher="zoo:MinAtar-Breakout-v1-ppo", budget=1500, rounds=3, min_updates=30,
        param_ratio=0.25, eval_episodes=2, device="cuda"))
    for k, v in a.student.state_dict().items():
        assert v.device.type == "cpu"
        assert v.equal(b.student.state_dict()[k]), k
    assert a.loop.labelled == b.loop.labelled == 1500


@CUDA
def test_cuda_outputs_come_back_on_the_inputs_device():
    from rldistill.sources import load_teacher

    teacher = load_teacher("zoo:LunarLander-v3-ppo")
    obs = torch.randn(5, 8)
    cpu = teacher.outputs(obs)
    teacher.to_device(torch.device("cuda"))
    gpu = teacher.outputs(obs)
    assert gpu.device.type == "cpu" and torch.allclose(cpu, gpu, atol=1e-5)


def test_ray_trials_on_cuda_ask_for_a_gpu_or_say_why_not():
    """A sweep or compress trial of --device cuda asks Ray for a GPU (one per trial, Ray shows
    it that one); cuda:N, or a cluster without a GPU, is a one-line error before anything waits."""
    from types import SimpleNamespace

    from rldistill.core.ray import check_gpus, trial_gpus
    from rldistill.scale.trials import _resources

    assert (trial_gpus("cpu"), trial_gpus("cuda")) == (0, 1)
    with pytest.raises(UserError, match="--device cuda:1 in a Ray trial: write --device cuda"):
        trial_gpus("cuda:1")
    no_gpu = SimpleNamespace(cluster_resources=lambda: {"CPU": 16.0})
    with pytest.raises(UserError, match="this Ray cluster has no GPU: drop --device"):
        check_gpus(no_gpu, True)
    check_gpus(no_gpu, False)
    check_gpus(SimpleNamespace(cluster_resources=lambda: {"CPU": 2.0, "GPU": 1.0}), True)
    pytest.importorskip("ray")
    cfg = DistillConfig(teacher="zoo:CartPole-v1-ppo", device="cuda").to_dict()
    assert _resources({"trial": {"cfg": cfg}}).bundles == [{"CPU": 1, "GPU": 1}]
    cfg = DistillConfig(teacher="zoo:CartPole-v1-ppo", collectors=2).to_dict()
    assert _resources({"trial": {"cfg": cfg}}).bundles == [{"CPU": 1}] * 3
