"""The Keras-style layer test (tests/layers/harness.py) for every layer of issue 3 item 2 written here.

Each case runs three parts: core (build, shapes, weights, config, gradcheck), save (save/load round trip)
and fit (a short fit); save and fit skip with a reason while nerve.models lacks the machinery.
"""
import pytest

from nerve import layers as L

from harness import layer_test

S = [(4, 3), (4, 3)]  # two inputs for the merge layers

# id, class, kwargs, input shape, output shape, trainable, non-trainable, extra harness options
CASES = [
    ("activation", L.Activation, {"activation": "tanh"}, (4, 3), (4, 3), 0, 0, {}),
    ("activation_softmax", L.Activation, {"activation": "softmax"}, (4, 3), (4, 3), 0, 0, {}),
    ("dropout", L.Dropout, {"rate": 0.5}, (4, 3), (4, 3), 0, 0, {"gradcheck_training": True}),
    ("dropout_noise_shape", L.Dropout, {"rate": 0.3, "noise_shape": [None, 1, 3]}, (4, 2, 3), (4, 2, 3), 0, 0,
     {"gradcheck_training": True}),
    ("flatten", L.Flatten, {}, (4, 2, 3), (4, 6), 0, 0, {}),
    ("flatten_cf", L.Flatten, {"data_format": "channels_first"}, (4, 2, 3, 2), (4, 12), 0, 0, {}),
    ("reshape", L.Reshape, {"target_shape": (3, -1)}, (4, 2, 3), (4, 3, 2), 0, 0, {}),
    ("permute", L.Permute, {"dims": (2, 1)}, (4, 2, 3), (4, 3, 2), 0, 0, {}),
    ("repeat_vector", L.RepeatVector, {"n": 3}, (4, 2), (4, 3, 2), 0, 0, {}),
    ("batch_norm", L.BatchNormalization, {}, (6, 3), (6, 3), 2, 2, {"gradcheck_training": True,
                                                                     "compare_outputs_training": True}),
    ("batch_norm_inference", L.BatchNormalization, {"momentum": 0.9}, (6, 3), (6, 3), 2, 2, {}),
    ("batch_norm_4d", L.BatchNormalization, {"axis": 1, "center": False}, (3, 2, 2, 3), (3, 2, 2, 3), 1, 2,
     {"gradcheck_training": True}),
    ("batch_norm_4d_last", L.BatchNormalization, {}, (3, 2, 2, 3), (3, 2, 2, 3), 2, 2,
     {"gradcheck_training": True}),
    ("batch_norm_no_affine", L.BatchNormalization, {"center": False, "scale": False}, (6, 3), (6, 3), 0, 2,
     {"gradcheck_training": True}),
    # renorm's r and d are stop-gradient constants (Keras): clipped to r = 1, d = 0 the gradcheck is exact
    ("batch_norm_renorm", L.BatchNormalization, {"renorm": True, "renorm_clipping": {"rmax": 1, "rmin": 1, "dmax": 0}},
     (6, 3), (6, 3), 2, 5, {"gradcheck_training": True}),
    ("layer_norm_no_center", L.LayerNormalization, {"center": False}, (4, 5), (4, 5), 1, 0, {}),
    ("layer_norm", L.LayerNormalization, {}, (4, 5), (4, 5), 2, 0, {}),
    ("layer_norm_axes", L.LayerNormalization, {"axis": [1, 2], "epsilon": 1e-5}, (3, 2, 4), (3, 2, 4), 2, 0, {}),
    ("layer_norm_rms", L.LayerNormalization, {"rms_scaling": True}, (3, 4), (3, 4), 1, 0, {}),
    ("gaussian_noise", L.GaussianNoise, {"stddev": 0.5}, (4, 3), (4, 3), 0, 0, {"gradcheck_training": True}),
    ("gaussian_dropout", L.GaussianDropout, {"rate": 0.3}, (4, 3), (4, 3), 0, 0, {"gradcheck_training": True}),
    ("activity_regularization", L.ActivityRegularization, {"l1": 0.01, "l2": 0.02}, (4, 3), (4, 3), 0, 0,
     {"expected_num_losses": 1}),
    ("relu", L.ReLU, {}, (4, 3), (4, 3), 0, 0, {}),
    ("relu_full", L.ReLU, {"max_value": 1.0, "negative_slope": 0.1, "threshold": 0.2}, (4, 3), (4, 3), 0, 0, {}),
    ("leaky_relu", L.LeakyReLU, {"negative_slope": 0.2}, (4, 3), (4, 3), 0, 0, {}),
    ("prelu", L.PReLU, {}, (4, 3), (4, 3), 1, 0, {}),
    ("prelu_shared", L.PReLU, {"shared_axes": [1, 2]}, (4, 2, 2, 3), (4, 2, 2, 3), 1, 0, {}),
    ("elu", L.ELU, {"alpha": 0.7}, (4, 3), (4, 3), 0, 0, {}),
    ("softmax", L.Softmax, {}, (4, 3), (4, 3), 0, 0, {}),
    ("softmax_axes", L.Softmax, {"axis": [1, 2]}, (4, 2, 3), (4, 2, 3), 0, 0, {}),
    ("masking", L.Masking, {"mask_value": 0.0}, (4, 2, 3), (4, 2, 3), 0, 0, {}),
    ("identity", L.Identity, {}, (4, 3), (4, 3), 0, 0, {}),
    ("add", L.Add, {}, S, (4, 3), 0, 0, {}),
    ("subtract", L.Subtract, {}, S, (4, 3), 0, 0, {}),
    ("multiply", L.Multiply, {}, S, (4, 3), 0, 0, {}),
    ("average", L.Average, {}, S, (4, 3), 0, 0, {}),
    ("maximum", L.Maximum, {}, S, (4, 3), 0, 0, {}),
    ("minimum", L.Minimum, {}, S, (4, 3), 0, 0, {}),
    ("add_three_broadcast", L.Add, {}, [(4, 2, 3), (4, 1, 3), (4, 3)], (4, 2, 3), 0, 0, {}),
    ("concatenate", L.Concatenate, {"axis": -1}, [(4, 2), (4, 3)], (4, 5), 0, 0, {}),
    ("concatenate_axis1", L.Concatenate, {"axis": 1}, [(4, 2, 3), (4, 1, 3)], (4, 3, 3), 0, 0, {}),
    ("dot", L.Dot, {"axes": 1}, S, (4, 1), 0, 0, {}),
    ("dot_normalize", L.Dot, {"axes": 1, "normalize": True}, S, (4, 1), 0, 0, {}),
    ("dot_3d", L.Dot, {"axes": (2, 2)}, [(4, 2, 3), (4, 5, 3)], (4, 2, 5), 0, 0, {}),
]


def _run(case, part, tmp_path):
    _, cls, kw, shape, out_shape, n_t, n_nt, extra = case
    extra = dict(extra)
    layer_test(cls, kw, input_shape=shape, expected_output_shape=out_shape, expected_num_trainable_weights=n_t,
               expected_num_non_trainable_weights=n_nt, parts=(part,), tmp_path=tmp_path, **extra)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_layer_core(case, tmp_path):
    _run(case, "core", tmp_path)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_layer_save_load(case, tmp_path):
    _run(case, "save", tmp_path)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_layer_fit(case, tmp_path):
    _run(case, "fit", tmp_path)
