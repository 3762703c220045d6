"""Exact-value tests of the losses (numbers worked out by hand, see each comment)."""

import math

import pytest
import torch

from rldistill.heads import losses
from rldistill.core.errors import UserError

S0 = torch.tensor([[0.0, 0.0]])  # student: uniform q = [0.5, 0.5]
T3 = torch.tensor([[math.log(3.0), 0.0]])  # teacher logits: p = [0.75, 0.25]


def test_kl_t1():
    # 0.75 ln(0.75/0.5) + 0.25 ln(0.25/0.5)
    loss, m = losses.kl(S0, T3)
    assert loss.item() == pytest.approx(0.130812, abs=1e-6)
    assert m["kl"] == pytest.approx(0.130812, abs=1e-6)


def test_kl_temperature_t2_is_scaled_by_t_squared():
    # T=2: p = [sqrt3, 1] / (sqrt3 + 1) = [0.633975, 0.366025]; KL to uniform = 0.036341; x4
    loss, m = losses.kl(S0, T3, temperature=2.0)
    assert m["kl"] == pytest.approx(0.036341, abs=1e-6)
    assert loss.item() == pytest.approx(4 * 0.036341, abs=4e-6)


def test_kl_q_teacher_rusu_tau():
    # Q = [1.00, 1.01], tau = 0.01: p = softmax([100, 101]) = [0.268941, 0.731059];
    # the student is not tempered and the loss not rescaled: KL(p || [0.5, 0.5]) = 0.110944
    loss, _ = losses.kl(S0, torch.tensor([[1.00, 1.01]]), temperature=0.01, teacher_kind="q")
    assert loss.item() == pytest.approx(0.110944, abs=1e-5)


def test_gap_temperature_is_the_median_gap_between_the_two_best_q_values():
    # gaps (best - second best): 0.5, 0.1, 0.2 (to the first of two tied), 2.0;
    # the median of [0.1, 0.2, 0.5, 2.0] is torch's lower middle: 0.2
    q = torch.tensor([[1.0, 0.5, 0.0], [0.0, 0.1, 0.0], [3.0, 2.8, 2.8], [2.0, 0.0, -1.0]])
    assert losses.gap_temperature(q) == pytest.approx(0.2)
    # a row with one valid action has no gap; ties everywhere give the floor
    masked = torch.tensor([[1.0, losses.MASKED, losses.MASKED], [0.0, 0.3, 0.0]])
    assert losses.gap_temperature(masked) == pytest.approx(0.3)
    assert losses.gap_temperature(torch.zeros(4, 3)) == losses.GAP_FLOOR
    assert losses.gap_temperature(torch.tensor([[1.0, losses.MASKED]])) == 0.01  # Rusu's


def test_a_q_teachers_temperature_is_fitted_on_the_buffer_unless_given():
    q = torch.tensor([[1.0, 0.9], [0.0, 0.2], [5.0, 4.0]])  # gaps 0.1, 0.2, 1.0: median 0.2
    fn = losses.Loss("kl", None, "q")
    fn.fit(q)
    assert fn.fitted and fn.t == pytest.approx(0.2)
    # softmax(Q / 0.2) of the first row: [1, e^-0.5] / (1 + e^-0.5)
    p = 1 / (1 + math.exp(-0.5))
    assert fn.prepare(q[:1])[0, :2].tolist() == pytest.approx([p, 1 - p], abs=1e-6)
    fn.fit(q[:1])  # refitted on what it is given (the loop: the whole buffer, each round)
    assert fn.t == pytest.approx(0.1)
    given = losses.Loss("kl", 0.01, "q")
    given.fit(q)
    assert not given.fitted and given.t == 0.01
    # a policy teacher's logits keep T = 1; NLL / MSE fit nothing
    assert losses.Loss("kl", None, "logits").t == 1.0
    assert not losses.Loss("nll", None, "q").fitted


def test_ce_is_kl_plus_teacher_entropy():
    loss, _ = losses.ce(S0, T3)
    assert loss.item() == pytest.approx(math.log(2), abs=1e-6)  # -(0.75 + 0.25) ln 0.5
    h = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert loss.item() == pytest.approx(losses.kl(S0, T3)[0].item() + h, abs=1e-6)


def test_nll_uses_teacher_argmax():
    # teacher argmax = 1; student q = softmax([0, ln 3]) = [0.25, 0.75]; -ln 0.75
    loss, _ = losses.nll(torch.tensor([[0.0, math.log(3.0)]]), torch.tensor([[1.0, 2.0]]))
    assert loss.item() == pytest.approx(0.287682, abs=1e-6)


def test_mse_raw_and_centred():
    q = torch.tensor([[100.0, 101.0]])
    assert losses.mse(S0, q)[0].item() == pytest.approx((100**2 + 101**2) / 2)
    # centred: teacher -> [-0.5, 0.5], student -> [0, 0]
    assert losses.mse(S0, q, centred=True)[0].item() == pytest.approx(0.25)


def test_kl_zero_iff_equal():
    z = torch.tensor([[0.3, -1.2, 2.0]])
    assert losses.kl(z, z)[0].item() == pytest.approx(0.0, abs=1e-7)
    assert losses.kl(z, z + torch.tensor([[0.0, 0.1, 0.0]]))[0].item() > 1e-5


def test_t_squared_keeps_gradient_scale_at_high_temperature():
    # Hinton et al. 2015: d(T^2 KL)/dz_s ~= (z_s - z_t) / N for zero-mean logits and large T
    zt = torch.tensor([[1.0, -0.5, -0.5]], dtype=torch.float64)
    zs = torch.tensor([[0.2, 0.3, -0.5]], dtype=torch.float64, requires_grad=True)
    losses.kl(zs, zt, temperature=1000.0)[0].backward()
    expected = (zs.detach() - zt) / 3
    assert torch.allclose(zs.grad, expected, atol=2e-4)


def test_bad_temperature_and_unknown_loss():
    with pytest.raises(UserError, match="temperature"):
        losses.kl(S0, T3, temperature=0.0)
    with pytest.raises(UserError, match="unknown loss"):
        losses.Loss("hinge")


def test_masked_targets_mask_the_student_too():
    """A teacher label masked at MASKED (an invalid action) takes the student's logit of that
    action out of the loss: KL((1/4, 3/4) || (1/2, 1/2)) over the two valid actions, whatever
    the student says of the third (its logit 5 would otherwise dominate), and no gradient to it;
    NLL likewise over the valid actions."""
    quarter = 0.25 * math.log(0.5) + 0.75 * math.log(1.5)
    teacher = torch.tensor([[0.0, math.log(3), losses.MASKED], [0.0, math.log(3), 0.0]])
    student = torch.tensor([[0.0, 0.0, 5.0], [0.0, 0.0, 0.0]], requires_grad=True)
    fn = losses.Loss("kl")
    prepared = fn.prepare(teacher)
    assert prepared.shape == (2, 3 + 1 + 3) and prepared[:, -3:].tolist() == [[1, 1, 0], [1] * 3]
    loss = fn(student, prepared)
    p = torch.tensor([1.0, 3.0, 1.0]) / 5  # the second row, unmasked: softmax(0, ln 3, 0)
    second = float((p * (p * 3).log()).sum())  # KL(p || uniform over 3)
    assert float(loss) == pytest.approx((quarter + second) / 2, abs=1e-6)
    loss.backward()
    assert student.grad[0, 2] == 0.0 and student.grad[1, 2] != 0.0
    nll = losses.Loss("nll")
    assert float(nll(student[:1], nll.prepare(teacher[:1]))) == pytest.approx(math.log(2),
                                                                             abs=1e-6)
    unmasked = losses.Loss("kl").prepare(teacher[1:])
    assert unmasked.shape == (1, 4)  # no mask, no extra columns
