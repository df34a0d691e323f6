"""zoo.gin_statements: what a gin text means, for comparing a run folder's config."""
from zoo.gin_statements import same_config, statements, uncommented


def test_comments_blank_lines_and_bracket_breaks_do_not_change_the_meaning():
    a = "# header\ntrain.lr = 1e-3  # why\n\ntrain.temperatures = (1.0,\n    4.0)\n"
    b = "train.lr = 1e-3\ntrain.temperatures = (1.0, 4.0)  # other words\n"
    assert list(statements(a)) == ["train.lr = 1e-3", "train.temperatures = (1.0, 4.0)"]
    assert same_config(a, b)


def test_a_changed_value_or_order_is_another_config():
    a = "train.lr = 1e-3\ntrain.steps = 10\n"
    assert not same_config(a, "train.lr = 1e-2\ntrain.steps = 10\n")
    assert not same_config(a, "train.steps = 10\ntrain.lr = 1e-3\n")   # later bindings win
    assert not same_config(a, a + "train.seed = 1\n")


def test_a_hash_inside_a_string_is_not_a_comment():
    assert uncommented("points.path = 'data/#1.npy'  # the file") == "points.path = 'data/#1.npy'  "
    assert not same_config("points.path = 'a#1'\n", "points.path = 'a#2'\n")
