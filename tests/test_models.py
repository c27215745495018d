"""The architecture catalogue: building, counting, compiling, training, saving (real Keras, tiny models)."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
keras = pytest.importorskip("keras")

from petrilab.errors import UserError  # noqa: E402
from petrilab.models import (  # noqa: E402
    ARCHITECTURES,
    WeightsUnavailable,
    build_model,
    compile_model,
    describe_model,
)
from petrilab.models.transfer import base_name  # noqa: E402
from petrilab.settings import CHOICES, Settings  # noqa: E402
from petrilab.tasks import output_head  # noqa: E402

BINARY = output_head("classification", 2)
THREE = output_head("classification", 3)


@pytest.fixture(autouse=True)
def seeded():
    keras.utils.set_random_seed(7)


@pytest.fixture(scope="module", autouse=True)
def fresh_session():
    yield
    keras.backend.clear_session()


def make_settings(architecture: str, **model) -> Settings:
    settings = Settings()
    settings.model.architecture = architecture
    settings.model.filters = [8, 16]
    settings.model.head_units = [16]
    settings.model.dense_layers = [16]
    settings.model.weights = "random"
    for key, value in model.items():
        setattr(settings.model, key, value)
    return settings


def learnable_images(n: int, shape: tuple[int, int, int], head):
    """Noise plus one bright horizontal band whose position is the class: any of our models can learn it."""
    rng = np.random.default_rng(0)
    height = shape[0]
    n_classes = 2 if head.units == 1 else head.units
    labels = np.arange(n) % n_classes
    images = rng.uniform(0.0, 0.3, (n, *shape)).astype("float32")
    band = height // n_classes
    for image, label in zip(images, labels):
        image[label * band:(label + 1) * band] += 0.6
    if head.units == 1:
        return images, labels[:, None].astype("float32")
    return images, np.eye(n_classes, dtype="float32")[labels]


def weights_equal(a, b) -> bool:
    wa, wb = a.get_weights(), b.get_weights()
    return len(wa) == len(wb) and all(np.array_equal(x, y) for x, y in zip(wa, wb))


@pytest.fixture(scope="module")
def weights_files(tmp_path_factory):
    """Randomly initialised no-top bases saved to disk: the offline stand-in for downloaded weights."""
    folder = tmp_path_factory.mktemp("weights")
    mobilenet = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(32, 32, 3))
    mobilenet.save_weights(folder / "mobilenet_v2_no_top.weights.h5")
    vgg16 = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    vgg16.save(folder / "vgg16_no_top.h5")  # the legacy HDF5 format of keras' own ImageNet files
    files = {"mobilenetv2": (folder / "mobilenet_v2_no_top.weights.h5", mobilenet),
             "vgg16": (folder / "vgg16_no_top.h5", vgg16)}
    yield files
    keras.backend.clear_session()


# ---------------------------------------------------------------- catalogue


def test_catalogue_matches_the_settings_choices():
    assert tuple(ARCHITECTURES) == CHOICES["model.architecture"]
    known_keys = {f"model.{name}" for name in vars(Settings().model)}
    for key, architecture in ARCHITECTURES.items():
        assert architecture.key == key
        assert "classification" in architecture.tasks or key in ("unet", "unet3d")  # U-Nets answer per pixel
        assert set(architecture.uses) <= known_keys, architecture.uses
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", architecture.description) if s]
        assert 2 <= len(sentences) <= 4, (key, sentences)
    assert "model.filters" in ARCHITECTURES["convnet"].uses
    assert "model.filters" not in ARCHITECTURES["dense"].uses
    assert "model.fine_tune_layers" in ARCHITECTURES["transfer"].uses


def test_unknown_architecture_is_a_user_error():
    settings = make_settings("resnet")
    with pytest.raises(UserError, match="resnet"):
        build_model(settings, (8, 8, 1), BINARY)


# ---------------------------------------------------------------- building


@pytest.mark.parametrize("architecture", ["dense", "convnet", "vgg", "transfer"])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("head", [BINARY, THREE], ids=["binary", "three_classes"])
def test_every_architecture_builds_for_grey_and_rgb(architecture, channels, head):
    # VGG16 as the base here: it builds and runs fastest; MobileNetV2 is built by the transfer tests below
    settings = make_settings(architecture, backbone="vgg16")
    model = build_model(settings, (16, 16, channels), head)
    assert tuple(model.input.shape) == (None, 16, 16, channels)
    assert tuple(model.output.shape) == (None, head.units)
    last = model.layers[-1]
    assert last.get_config()["activation"] == head.activation
    images, _ = learnable_images(4, (16, 16, channels), head)
    predicted = keras.ops.convert_to_numpy(model(images))
    assert np.all((predicted >= 0) & (predicted <= 1))
    if head.units > 1:
        np.testing.assert_allclose(predicted.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("channels", [2, 4])
def test_transfer_takes_two_and_four_channels_through_a_fixed_mixing(channels):
    model = build_model(make_settings("transfer", backbone="vgg16"), (16, 16, channels), BINARY)
    mixing = model.get_layer("channels_to_rgb")
    assert not mixing.trainable
    kernel = keras.ops.convert_to_numpy(mixing.kernel)[0, 0]
    assert kernel.shape == (channels, 3)
    np.testing.assert_array_equal(kernel[0], [1.0, 0.0, 0.5 if channels == 2 else 0.0])
    assert model.get_layer("enlarge").output.shape[1:3] == (32, 32)


def test_single_neuron_has_one_weight_per_pixel_plus_a_bias():
    model = build_model(make_settings("dense", dense_layers=[]), (8, 8, 1), BINARY)
    assert model.count_params() == 8 * 8 + 1
    assert [type(layer).__name__ for layer in model.layers] == ["InputLayer", "Flatten", "Dense", "Activation"]


def test_small_dense_network_parameter_count():
    model = build_model(make_settings("dense", dense_layers=[32, 16]), (8, 8, 1), BINARY)
    # 64 pixels → 32 → 16 → 1, each neuron with a bias
    assert model.count_params() == (64 * 32 + 32) + (32 * 16 + 16) + (16 * 1 + 1) == 2625


@pytest.mark.slow
def test_batch_norm_replaces_the_bias_and_adds_frozen_statistics():
    model = build_model(make_settings("dense", dense_layers=[32], batch_norm=True), (8, 8, 1), BINARY)
    report = describe_model(make_settings("dense", dense_layers=[32], batch_norm=True), (8, 8, 1), BINARY)
    # Dense without bias 64*32, then gamma, beta (trained) and mean, variance (not trained), then the output
    assert model.count_params() == 64 * 32 + 4 * 32 + 33
    assert report["non_trainable"] == 2 * 32
    assert report["trainable"] == 64 * 32 + 2 * 32 + 33


def test_default_settings_give_a_small_convnet():
    settings = Settings()  # convnet, filters [16, 32, 64], head [64]
    model = build_model(settings, (64, 64, 1), THREE)
    convolutions = (1 * 9 * 16 + 16) + (16 * 9 * 32 + 32) + (32 * 9 * 64 + 64)
    head = (64 * 64 + 64) + (64 * 3 + 3)  # after global average pooling of the 8 × 8 × 64 map
    assert model.count_params() == convolutions + head == 27651
    assert "average" in [layer.name for layer in model.layers]


def test_vgg_blocks_have_two_convolutions_and_a_small_map_is_flattened():
    model = build_model(make_settings("vgg", filters=[8], head_units=[16]), (8, 8, 1), BINARY)
    # two 3×3 convolutions of 8 filters, pooling to 4 × 4 × 8 = 128 values, flattened, 16 neurons, 1 output
    assert model.count_params() == (9 * 8 + 8) + (8 * 9 * 8 + 8) + (128 * 16 + 16) + (16 + 1) == 2745
    assert "flatten" in [layer.name for layer in model.layers]


def test_dropout_sits_before_the_head_layers():
    model = build_model(make_settings("convnet", dropout=0.3, head_units=[16, 8]), (16, 16, 1), BINARY)
    names = [layer.name for layer in model.layers]
    assert names[-7:] == ["dropout1", "hidden1", "dropout2", "hidden2", "dropout_output", "output_weights",
                          "output"]
    assert model.get_layer("dropout1").rate == pytest.approx(0.3)


def test_hidden_activation_comes_from_the_settings():
    model = build_model(make_settings("convnet", activation="tanh"), (16, 16, 1), BINARY)
    assert model.get_layer("block1_conv").get_config()["activation"] == "tanh"
    assert model.get_layer("hidden1").get_config()["activation"] == "tanh"


def test_output_stays_float32_under_mixed_precision():
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = build_model(make_settings("convnet"), (16, 16, 1), THREE)
        assert model.get_layer("block1_conv").compute_dtype == "float16"
        assert model.output.dtype == "float32"
    finally:
        keras.config.set_dtype_policy("float32")


def test_regularisation_adds_the_l1_l2_penalty_of_every_kernel():
    settings = make_settings("convnet", l1=0.001, l2=0.01)
    model = build_model(settings, (8, 8, 1), BINARY)
    kernels = [keras.ops.convert_to_numpy(layer.kernel) for layer in model.layers if hasattr(layer, "kernel")]
    assert len(kernels) == 4  # two convolutions, one hidden layer, the output
    expected = sum(0.001 * np.abs(k).sum() + 0.01 * np.square(k).sum() for k in kernels)
    model(np.zeros((1, 8, 8, 1), "float32"))
    assert len(model.losses) == 4
    penalty = sum(float(keras.ops.convert_to_numpy(loss)) for loss in model.losses)
    assert penalty == pytest.approx(expected, rel=1e-5)


def test_no_regularisation_adds_no_penalty():
    model = build_model(make_settings("convnet"), (8, 8, 1), BINARY)
    assert model.losses == []


@pytest.mark.slow
def test_too_many_blocks_still_build_and_are_warned_about():
    report = describe_model(make_settings("convnet", filters=[8, 8, 8, 8, 8]), (8, 8, 1), BINARY)
    assert any("1 × 1 map" in warning for warning in report["warnings"])
    assert not describe_model(make_settings("convnet", filters=[8, 8]), (8, 8, 1), BINARY)["warnings"]


def test_a_dense_network_too_large_for_memory_is_refused_in_plain_words():
    with pytest.raises(UserError, match="first layer"):
        build_model(make_settings("dense", dense_layers=[64]), (2048, 2048, 1), BINARY)


def test_more_than_four_channels_is_a_user_error():
    with pytest.raises(UserError, match="channels"):
        build_model(make_settings("convnet"), (16, 16, 5), BINARY)


# ---------------------------------------------------------------- compiling


@pytest.mark.parametrize("choice, kind, checks", [
    ("sgd", "SGD", {"momentum": 0.0}),
    ("momentum", "SGD", {"momentum": 0.9}),
    ("adam", "Adam", {"beta_1": 0.9, "beta_2": 0.999}),
    ("rmsprop", "RMSprop", {}),
])
def test_optimizer_choices(choice, kind, checks):
    settings = make_settings("dense")
    settings.training.optimizer = choice
    settings.training.learning_rate = 0.0123
    model = build_model(settings, (8, 8, 1), BINARY)
    compile_model(model, settings, BINARY)
    assert type(model.optimizer).__name__ == kind
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(0.0123)
    for name, value in checks.items():
        assert getattr(model.optimizer, name) == pytest.approx(value)


def test_loss_and_metrics_follow_the_task_unless_overridden():
    settings = make_settings("dense")
    model = build_model(settings, (8, 8, 1), THREE)
    compile_model(model, settings, THREE)
    config = model.get_compile_config()
    assert config["loss"] == "categorical_crossentropy"
    assert config["metrics"] == ["accuracy"]
    settings.training.loss = "binary_crossentropy"
    compile_model(model, settings, THREE)
    assert model.get_compile_config()["loss"] == "binary_crossentropy"


def test_categorical_loss_on_a_single_sigmoid_neuron_is_refused():
    settings = make_settings("dense")
    settings.training.loss = "categorical_crossentropy"
    model = build_model(settings, (8, 8, 1), BINARY)
    with pytest.raises(UserError, match="one output neuron per class"):
        compile_model(model, settings, BINARY)


# ---------------------------------------------------------------- describing


def summary_rows(model, monkeypatch) -> tuple[list[tuple[str, str, int]], dict[str, int]]:
    monkeypatch.setenv("COLUMNS", "300")  # rich would wrap long names at 80 characters
    lines = []
    model.summary(print_fn=lambda line, **_: lines.append(line), line_length=300)
    text = "\n".join(lines)
    rows = [(name, kind, int(params.replace(",", "")))
            for name, kind, params in re.findall(r"│ (\S+) \((\w+)\)\s*│[^│]*│\s*([\d,]+) │", text)]
    totals = {key: int(value.replace(",", ""))
              for key, value in re.findall(r"(Total|Non-trainable|Trainable) params: ([\d,]+)", text)}
    return rows, totals


@pytest.mark.parametrize("architecture, shape", [
    ("convnet", (64, 64, 1)), ("vgg", (16, 16, 3)), ("dense", (8, 8, 1)), ("transfer", (16, 16, 1))])
@pytest.mark.slow
def test_describe_matches_keras_summary(architecture, shape, monkeypatch):
    settings = make_settings(architecture, backbone="vgg16", weights="imagenet", batch_norm=True, dropout=0.2)
    report = describe_model(settings, shape, THREE)
    model = build_model(settings, shape, THREE, load_weights=False)
    if architecture == "transfer":  # counted as training with imagenet weights would: the base frozen
        assert report["non_trainable"] >= 14_714_688
    rows, totals = summary_rows(model, monkeypatch)
    assert len(rows) == len(report["layers"]) > 3
    assert [(r["name"], r["type"], r["parameters"]) for r in report["layers"]] == rows
    assert report["total"] == totals["Total"] == model.count_params()
    assert report["trainable"] == totals["Trainable"]
    assert report["non_trainable"] == totals["Non-trainable"]
    assert report["total"] == report["trainable"] + report["non_trainable"]
    assert report["layers"][0]["output_shape"] == list(shape)
    assert report["layers"][-1]["output_shape"] == [3]


@pytest.mark.slow
def test_describe_transfer_notes_about_weights():
    def described(weights):
        return describe_model(make_settings("transfer", backbone="vgg16", weights=weights), (32, 32, 3), BINARY)

    imagenet, missing, random = described("imagenet"), described("/no/such/base.h5"), described("random")
    assert any("without downloading" in warning for warning in imagenet["warnings"])
    assert any("does not exist" in warning for warning in missing["warnings"])
    assert any("nothing pretrained" in warning for warning in random["warnings"])
    assert imagenet["total"] == missing["total"] == random["total"]
    assert imagenet["trainable"] == missing["trainable"] < random["trainable"] == random["total"]


@pytest.mark.slow
def test_describe_is_repeatable():
    settings = Settings()
    first = describe_model(settings, (64, 64, 1), THREE)
    second = describe_model(settings, (64, 64, 1), THREE)
    assert second == first
    transfer = make_settings("transfer", backbone="vgg16")
    # the session is cleared after each call: the unnamed channel flip keeps its name
    assert describe_model(transfer, (32, 32, 3), BINARY)["layers"] == \
        describe_model(transfer, (32, 32, 3), BINARY)["layers"]


@pytest.mark.slow
def test_describe_warns_about_dense_networks_on_large_images():
    report = describe_model(make_settings("dense", dense_layers=[32]), (128, 128, 1), BINARY)
    assert any("one weight per pixel" in warning for warning in report["warnings"])


# ---------------------------------------------------------------- training and saving


@pytest.mark.slow
@pytest.mark.parametrize("architecture", ["dense", "convnet", "vgg"])
def test_each_architecture_learns(architecture):
    _learns(make_settings(architecture), (16, 16, 1), THREE)


@pytest.mark.slow
def test_transfer_learns_on_a_frozen_base(weights_files):
    path, _ = weights_files["vgg16"]
    # a random VGG16 base saved to a file stands for the pretrained one (no download): frozen, its
    # random features still separate the bands; fewer images, as VGG16 is the slowest to run
    _learns(make_settings("transfer", backbone="vgg16", weights=str(path)), (16, 16, 1), BINARY, n=16, batch=4)


def _learns(settings, shape, head, n=32, batch=8):
    settings.training.learning_rate = 0.003
    images, labels = learnable_images(n, shape, head)
    model = build_model(settings, shape, head)
    compile_model(model, settings, head)
    losses = model.fit(images, labels, epochs=2, batch_size=batch, verbose=0).history["loss"]
    assert losses[1] < losses[0], losses


@pytest.mark.slow
@pytest.mark.parametrize("architecture, channels", [("dense", 1), ("convnet", 3), ("vgg", 1), ("transfer", 4)])
def test_saved_model_loads_and_predicts_the_same(architecture, channels, tmp_path):
    # transfer: VGG16 with 4 channels crosses every added input step (enlarge, channel mixing, flip, rescaling)
    settings = make_settings(architecture, backbone="vgg16", batch_norm=True, dropout=0.2, l2=0.001)
    model = build_model(settings, (16, 16, channels), THREE)
    images, _ = learnable_images(6, (16, 16, channels), THREE)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(loaded.predict(images, verbose=0), model.predict(images, verbose=0))
    assert loaded.count_params() == model.count_params()


# ---------------------------------------------------------------- transfer weights and fine-tuning


def _cached_imagenet_files() -> list[Path]:
    homes = {Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser(), Path("/tmp/.keras")}
    return [f for home in homes for f in (home / "models").glob("mobilenet_v2*no_top*")]


def test_imagenet_weights_offline_raise_weights_unavailable():
    cached = _cached_imagenet_files()
    if cached:
        pytest.skip(f"ImageNet weights are already cached ({cached[0]}): nothing to download, cannot test offline")
    try:
        build_model(make_settings("transfer", weights="imagenet"), (32, 32, 3), BINARY)
    except WeightsUnavailable as error:
        assert "no internet connection" in error.message
        assert "random" in error.fix and "path" in error.fix
        assert isinstance(error, UserError)
    else:
        pytest.skip("this machine reached the internet and downloaded the weights")


@pytest.mark.slow
@pytest.mark.parametrize("backbone", ["mobilenetv2", "vgg16"])
def test_weights_file_loads_exactly(backbone, weights_files):
    path, saved = weights_files[backbone]
    model = build_model(make_settings("transfer", backbone=backbone, weights=str(path)), (40, 48, 3), BINARY)
    assert weights_equal(model.get_layer(base_name(backbone)), saved)


@pytest.mark.slow
def test_a_missing_or_wrong_weights_file_is_a_user_error(weights_files, tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        build_model(make_settings("transfer", weights=str(tmp_path / "none.h5")), (32, 32, 3), BINARY)
    vgg16_file, _ = weights_files["vgg16"]
    with pytest.raises(UserError, match="does not hold weights for a MobileNetV2") as caught:
        build_model(make_settings("transfer", backbone="mobilenetv2", weights=str(vgg16_file)), (32, 32, 3),
                    BINARY)
    assert caught.value.file == str(vgg16_file)


@pytest.mark.slow
@pytest.mark.parametrize("fine_tune_layers", [0, 12])
def test_fine_tuning_trains_exactly_the_last_layers_but_not_batch_norm(fine_tune_layers, weights_files):
    path, _ = weights_files["mobilenetv2"]
    settings = make_settings("transfer", weights=str(path), fine_tune_layers=fine_tune_layers)
    model = build_model(settings, (32, 32, 3), BINARY)
    base = model.get_layer(base_name("mobilenetv2"))
    tuned = base.layers[len(base.layers) - fine_tune_layers:]
    batch_norm = keras.layers.BatchNormalization
    assert any(isinstance(layer, batch_norm) for layer in tuned) or fine_tune_layers == 0
    for layer in base.layers:
        expected = layer in tuned and not isinstance(layer, batch_norm)
        assert layer.trainable == expected, layer.name
    trainable_in_base = sum(math.prod(w.shape) for w in base.trainable_weights)
    expected_count = sum(layer.count_params() for layer in tuned if not isinstance(layer, batch_norm))
    assert trainable_in_base == expected_count
    head = sum(model.get_layer(name).count_params() for name in ("hidden1", "output_weights"))
    assert sum(math.prod(w.shape) for w in model.trainable_weights) == expected_count + head


@pytest.mark.slow
def test_a_random_base_trains_whole():
    # a frozen random MobileNetV2 gives the same near-zero features for every image: nothing to learn from
    model = build_model(make_settings("transfer", weights="random", fine_tune_layers=0), (32, 32, 3), BINARY)
    base = model.get_layer(base_name("mobilenetv2"))
    assert all(layer.trainable for layer in base.layers)
    assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in base.layers)
