"""The registry: registration, gin names, clear errors; every kind x name: gin, docstring, build."""
import gin
import pytest

import zoo
from zoo.cli.ls import parameters, summary
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


# ------------------------------------------------------------- every kind x every name (timm style)
EVERY = [(kind, name) for kind in zoo.kinds() for name in zoo.names(kind)]


def _ids(pairs):
    return [f"{kind}.{name}" for kind, name in pairs]


@pytest.mark.parametrize("kind,name", EVERY, ids=_ids(EVERY))
def test_every_component_is_gin_configurable_under_its_kind(kind, name):
    gin.clear_config()
    try:
        gin.parse_config(f"train.dataset = @{kind}.{name}")
        ref = gin.query_parameter("train.dataset")
        assert ref.selector == f"{kind}.{name}"
        assert ref.configurable.wrapped is not None and ref.configurable.name == name
    finally:
        gin.clear_config()


@pytest.mark.parametrize("kind,name", EVERY, ids=_ids(EVERY))
def test_every_component_has_a_one_line_docstring(kind, name):
    line = summary(lookup(kind, name))  # what `drift-zoo ls` prints
    assert line, f"{kind} '{name}' has no docstring; its first line is what `drift-zoo ls` shows"
    assert len(line) <= 120, f"{kind} '{name}': keep the docstring's first line short ({len(line)})"


BUILDABLE = [(k, n) for k, n in EVERY if k != "dataset"  # datasets: tests/test_data.py (needs_args)
             and all(d != "REQUIRED" for _, d in parameters(lookup(k, n)))]


@pytest.mark.parametrize("kind,name", BUILDABLE, ids=_ids(BUILDABLE))
def test_every_component_without_required_arguments_builds(kind, name):
    """Built on the meta device (no memory, no init cost); a component that needs a file it
    never downloads says so, naming itself."""
    import torch

    with torch.device("meta"):
        try:
            built = build(kind, name)
        except FileNotFoundError as err:
            assert name in str(err), f"{kind} '{name}': the error should name the component: {err}"
            return
    assert built is not None


def test_a_plugin_component_is_in_the_parametrisation():
    """tests/conftest.py loads tests/plugins/example_plugin.py through zoo.plugins."""
    assert ("field", "damped_meanshift") in EVERY
    assert lookup("field", "damped_meanshift").__module__ == "example_plugin"
