"""Prices: validation (ConfigError naming the key), rates, fallbacks, JSON round-trip."""

from __future__ import annotations

import pytest

import rung
from rung.core.pricing import from_ray, gpus, hourly_rate
from rung.errors import ConfigError


def test_rate_sums_devices_and_typed_gpu_falls_back_to_gpu() -> None:
    p = rung.Prices({"cpu": 0.04, "gpu": 2.0, "gpu:A100": 3.2})
    assert p.rate({"cpu": 1, "gpu:A100": 1}) == pytest.approx(3.24)
    assert p.rate({"cpu": 4, "gpu:T4": 0.5}) == pytest.approx(0.16 + 1.0)  # T4 -> "gpu"
    assert p.rate({"CPU": 2, "num_gpus": 1}) == pytest.approx(0.08 + 2.0)  # Ray spellings
    assert p.rate({}) == 0.0


def test_unpriced_device_costs_nothing() -> None:
    p = rung.Prices({"gpu:A100": 3.2})
    assert p.rate({"cpu": 8, "gpu:A100": 2}) == pytest.approx(6.4)
    assert p.rate({"gpu:T4": 1}) == 0.0  # no "gpu:T4" and no "gpu" price
    assert rung.Prices().rate({"cpu": 1}) == 0.0
    assert not rung.Prices()


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({"cpu": -0.1}, "prices.cpu"),
        ({"tpu": 1.0}, "prices.tpu"),
        ({"gpu:": 1.0}, "prices.gpu:"),
        ({"gpu": float("nan")}, "prices.gpu"),
        ({"gpu": "2"}, "prices.gpu"),
        ({"cpu": True}, "prices.cpu"),
        ({"cpu": 1.0, "CPU": 2.0}, "prices.CPU"),
    ],
)
def test_bad_price_names_the_key(table: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as e:
        rung.Prices(table)  # type: ignore[arg-type]
    assert e.value.key == key


def test_bad_resources_name_the_key() -> None:
    p = rung.Prices({"cpu": 1.0})
    with pytest.raises(ConfigError) as e:
        p.rate({"fpga": 1})
    assert e.value.key == "resources_per_trial.fpga"
    with pytest.raises(ConfigError) as e:
        p.rate({"gpu": -1})
    assert e.value.key == "resources_per_trial.gpu"


def test_json_round_trip_and_equality() -> None:
    p = rung.Prices({"CPU": 0.04, "gpu:A100": 3.2})
    assert p.to_json() == {"cpu": 0.04, "gpu:A100": 3.2}
    assert rung.Prices.from_json(p.to_json()) == p
    assert rung.Prices.from_json(None) == rung.Prices({})
    assert hash(p) == hash(rung.Prices({"cpu": 0.04, "gpu:A100": 3.2}))


def test_pure_helpers() -> None:
    assert gpus({"cpu": 4, "gpu": 1, "gpu:A100": 2}) == 3
    assert hourly_rate({"gpu": 2.0}, {"gpu:H100": 0.5}) == 1.0
    assert from_ray({"CPU": 2.0, "GPU": 1.0, "memory": 1e9}) == {"cpu": 2.0, "gpu": 1.0}
    assert from_ray({"CPU": 1.0, "GPU": 1.0, "accelerator_type:A100": 0.001}) == {
        "cpu": 1.0, "gpu:A100": 1.0}
    assert from_ray({"CPU": 0.0}) == {}


def test_device_names_ignore_case() -> None:
    """A GPU's type matches whatever its case: the canonical name has it in capitals (as Ray
    reports A100), so a price written gpu:a100 charges Ray's gpu:A100, not 0 or the gpu
    price."""
    p = rung.Prices({"gpu": 1.0, "gpu:a100": 3.2})
    assert p.table == {"gpu": 1.0, "gpu:A100": 3.2}
    assert p.rate({"gpu:A100": 1}) == pytest.approx(3.2)
    assert p.rate({"GPU:a100": 2}) == pytest.approx(6.4)
    assert rung.Prices({"gpu:A100": 3.2}) == rung.Prices({"Gpu:A100": 3.2})
    assert from_ray({"GPU": 1.0, "accelerator_type:a100": 0.001}) == {"gpu:A100": 1.0}
    with pytest.raises(ConfigError) as e:
        rung.Prices({"gpu:a100": 3.0, "gpu:A100": 3.2})
    assert str(e.value) == "prices.gpu:A100: device 'gpu:A100' given twice"


def test_a_lower_case_price_charges_the_reported_gpu() -> None:
    """The audit's case: prices say gpu:a100, the executor reports gpu:A100 (a simulated one
    here, as Ray does); Budget(max_cost=1) is spent at 3.2 per hour and the ledger agrees."""
    from rung.executors.simulated import SimulatedExecutor

    class Bench:
        max_step = 3

        def evaluate(self, params: dict[str, float], step: int) -> tuple[dict[str, float],
                                                                         float]:
            return {"loss": params["x"] + 1.0 / step}, 60.0

    study = rung.Study.create(
        "a", {"x": rung.Float(0.0, 1.0)}, objective="loss", searcher="random",
        scheduler="fifo", max_step=3, budget=rung.Budget(max_cost=1.0, max_steps=500),
        prices={"gpu:a100": 3.2})
    ex = SimulatedExecutor(Bench(), 2, resources_per_trial={"gpu:A100": 1})
    study.run(lambda ctx: None, executor=ex, progress=False)
    spent = study.engine.meter.cost
    assert 1.0 <= spent <= 1.0 + 2 * 60.0 / 3600 * 3.2 + 1e-9  # max_cost ended it
    assert study.engine.history.steps_consumed < 500
    led = study.ledger()
    assert led.total.cost == pytest.approx(3.2 * led.total.gpu_hours, rel=1e-9)
    assert led.devices["gpu:A100"] == pytest.approx(led.total.gpu_hours, rel=1e-9)


@pytest.mark.parametrize("key", ["gpu:a 100", "gpu:A100:x", "gpu:", "gpu: A100", "gpu:-x"])
def test_a_gpu_type_that_is_not_a_name_is_refused(key: str) -> None:
    """'gpu:a 100' was stored as 'gpu:A 100', a device no executor reports."""
    with pytest.raises(ConfigError) as e:
        rung.Prices({key: 1.0})
    assert str(e.value) == (f"prices.{key}: unknown device (use 'cpu', 'gpu' or 'gpu:<TYPE>', "
                            "e.g. 'gpu:A100'; a type is letters, digits and _ . -)")


@pytest.mark.parametrize(("key", "name"), [("gpu:a100-80g", "gpu:A100-80G"),
                                           ("GPU:h100_sxm", "gpu:H100_SXM"),
                                           ("gpu:Intel-GAUDI2", "gpu:INTEL-GAUDI2")])
def test_gpu_types_as_ray_writes_them(key: str, name: str) -> None:
    assert rung.Prices({key: 2.0}).table == {name: 2.0}
