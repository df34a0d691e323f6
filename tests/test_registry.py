"""The registry: registration, gin names, clear errors."""
import gin
import pytest

import zoo
from zoo.registry import RegistryError, build, lookup, names, register


def test_import_zoo_registers_every_kind():
    assert {"dataset", "field", "generator", "kernel", "metric", "schedule"} <= set(zoo.kinds())
    assert {"meanshift", "split"} <= set(zoo.names("field"))
    assert {"laplace", "gaussian"} <= set(zoo.names("kernel"))
    assert {"checkerboard", "swiss_roll", "eight_gaussians", "grid_gaussians", "moons", "rings",
            "pinwheel", "points"} <= set(zoo.names("dataset"))
    assert zoo.build is build and zoo.names is names


def test_duplicate_names_raise():
    with pytest.raises(ValueError, match="already registered"):
        register("kernel", "laplace")(lambda tau=1.0: None)


def test_unknown_names_list_options_and_closest_match():
    with pytest.raises(KeyError) as err:
        lookup("kernel", "laplce")
    message = str(err.value)
    assert "Registered kernels: ['gaussian', 'laplace'" in message or "laplace" in message
    assert "Did you mean 'laplace'?" in message
    with pytest.raises(RegistryError, match="Did you mean 'field'"):
        lookup("feild", "meanshift")


def test_build_applies_gin_bindings():
    gin.clear_config()
    try:
        gin.parse_config("exponential.rate = 7.0")
        assert build("schedule", "exponential").rate == 7.0
        assert build("schedule", "exponential", rate=1.0).rate == 1.0
    finally:
        gin.clear_config()


def test_gin_references_resolve_by_kind_module():
    gin.clear_config()
    try:
        gin.parse_config("schedule.exponential.floor = 0.5\ndrift.kernel = @kernel.gaussian")
        assert build("schedule", "exponential")(10.0) == 0.5
        assert gin.query_parameter("drift.kernel").selector == "kernel.gaussian"
    finally:
        gin.clear_config()


def test_name_of_finds_the_registry_key_of_instances_built_with_and_without_gin():
    from zoo.registry import lookup, name_of, register

    class Plain:  # a registered class whose Python name differs from its key
        pass

    register("test_kind_name_of", "alias")(Plain)
    wrapped = lookup("test_kind_name_of", "alias")
    assert name_of(wrapped()) == "alias" and name_of(Plain()) == "alias"
    assert name_of(zoo.negatives.queue()) == "queue"
    assert name_of(zoo.kernels.laplace(tau=1.0)) == "laplace"
