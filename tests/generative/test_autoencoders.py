import numpy as np
import pytest
from sklearn.decomposition import PCA

import nerve
from nerve import ops
from nerve.generative import (Autoencoder, ContractiveAutoencoder, DenseTranspose, build_autoencoder,
                              build_contractive_autoencoder, build_conv_autoencoder, build_deep_autoencoder,
                              build_denoising_autoencoder, build_linear_autoencoder, build_seq_autoencoder,
                              build_sparse_autoencoder, corrupt, greedy_layerwise_pretrain, jacobian_penalty)


def mse(a, b):
    return float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))


def test_linear_autoencoder_matches_pca(digits):
    X, _ = digits
    k = 8
    pca = PCA(k).fit(X)
    pca_err = mse(X, pca.inverse_transform(pca.transform(X)))
    ae = build_linear_autoencoder(64, k)
    ae.compile(nerve.optimizers.Adam(0.01), "mse")
    ae.fit(X, X, epochs=60, batch_size=128, verbose=0)
    err = mse(X, ae.predict(X, verbose=0))
    assert pca_err <= err * 1.001 and err <= 1.05 * pca_err, (err, pca_err)  # PCA is the optimum
    # the decoder spans (nearly) the PCA subspace: cosines of the principal angles to the PCs
    W = ae.decoder.layers[-1].kernel.numpy().T                   # (64, k) decoder directions
    q1, _ = np.linalg.qr(W)
    s = np.linalg.svd(q1.T @ pca.components_.T, compute_uv=False)
    assert np.mean(s ** 2) > 0.85 and s[:4].min() > 0.99


def test_nonlinear_autoencoder_beats_pca_on_fashion(fashion):
    xtr, _, xte, _ = fashion
    k = 4
    pca = PCA(k).fit(xtr)
    pca_err = mse(xte, pca.inverse_transform(pca.transform(xte)))
    ae = build_autoencoder(784, (128,), k, activation="relu", code_activation="linear", output_activation="sigmoid")
    ae.compile(nerve.optimizers.Adam(3e-3), "mse")
    ae.fit(xtr, xtr, epochs=10, batch_size=64, verbose=0)
    err = mse(xte, ae.predict(xte, verbose=0))
    assert err < pca_err, (err, pca_err)


def test_denoising_outputs_closer_to_clean_than_noisy_inputs(fashion):
    xtr, _, xte, _ = fashion
    noisy_tr = corrupt(xtr, "gaussian", 0.5, seed=1)   # the book's noise_factor 0.5, clipped to [0, 1]
    noisy_te = corrupt(xte, "gaussian", 0.5, seed=2)
    assert noisy_te.min() >= 0 and noisy_te.max() <= 1
    ae = build_autoencoder(784, (), 64, "relu")
    ae.compile("adam", "binary_crossentropy")
    ae.fit(noisy_tr, xtr, epochs=5, batch_size=64, verbose=0)  # clean targets
    out = ae.predict(noisy_te, verbose=0)
    assert mse(out, xte) < 0.5 * mse(noisy_te, xte)


@pytest.mark.parametrize("noise,level", [("gaussian", 0.3), ("masking", 0.3)])
def test_denoising_layers_corrupt_only_in_training(digits, noise, level):
    X, _ = digits
    ae = build_denoising_autoencoder(64, (), 32, noise=noise, noise_level=level)
    assert np.allclose(ae.predict(X[:5], verbose=0), ae.decode(ae.encode(X[:5])), atol=1e-6)  # inference: clean
    ae.compile("adam", "mse")
    ae.fit(X, X, epochs=15, batch_size=64, verbose=0)
    noisy = corrupt(X, noise, level, seed=3, clip=False)
    assert mse(ae.predict(noisy, verbose=0), X) < mse(noisy, X)


def test_masking_noise_statistics():
    from nerve.generative import MaskingNoise
    layer = MaskingNoise(0.25, seed=1)
    x = np.ones((200, 50), np.float32)
    y = layer(x, training=True).numpy()
    assert set(np.unique(y)) <= {0.0, 1.0} and abs((y == 0).mean() - 0.25) < 0.02
    assert np.array_equal(layer(x, training=False).numpy(), x)


def test_tied_weights_share_the_encoder_kernel(digits):
    X, _ = digits
    ae = build_autoencoder(64, (32,), 8, activation="sigmoid", output_activation="sigmoid", tied=True)
    untied = build_autoencoder(64, (32,), 8, activation="sigmoid", output_activation="sigmoid")
    assert ae.count_params() == untied.count_params() - (64 * 32 + 32 * 8)
    ae.compile("adam", "mse")
    ae.fit(X, X, epochs=3, batch_size=64, verbose=0)
    enc = [lay for lay in ae.encoder.layers if isinstance(lay, nerve.layers.Dense)]
    dec = [lay for lay in ae.decoder.layers if isinstance(lay, DenseTranspose)]
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    h = X[:4]
    for d in enc:
        h = sig(h @ d.kernel.numpy() + d.bias.numpy())
    for t, d in zip(dec, reversed(enc)):
        h = sig(h @ d.kernel.numpy().T + t.bias.numpy())
    assert np.allclose(ae.predict(X[:4], verbose=0), h, atol=1e-5)


def test_dense_transpose_gradient():
    """float64 central differences of sum(cot * tied(x)) w.r.t. the shared kernel, the bias and x."""
    dense = nerve.layers.Dense(3, dtype="float64")
    dense.build((None, 5))
    tied = DenseTranspose(dense, activation="tanh", dtype="float64")
    tied.build((None, 3))
    rng = np.random.default_rng(0)
    x, cot = rng.normal(size=(4, 3)), rng.normal(size=(4, 5))
    xt = nerve.tensor(x, requires_grad=True)
    out = tied(xt)
    assert np.allclose(out.numpy(), np.tanh(x @ dense.kernel.numpy().T + tied.bias.numpy()))
    (out * cot).sum().backward()

    def f():
        return float(np.sum(cot * np.tanh(x @ dense.kernel.numpy().T + tied.bias.numpy())))
    for var, grad in ((dense.kernel, dense.kernel.grad), (tied.bias, tied.bias.grad)):
        num = np.zeros(var.shape)
        for idx in np.ndindex(*var.shape):
            old = var.data[idx]
            var.data[idx] = old + 1e-6
            up = f()
            var.data[idx] = old - 1e-6
            num[idx] = (up - f()) / 2e-6
            var.data[idx] = old
        assert np.allclose(grad.numpy(), num, atol=1e-7)
    nerve.gradcheck(lambda v: tied(v), [x])


def test_kl_sparsity_regulariser():
    from nerve.generative import KLSparsity
    rng = np.random.default_rng(0)
    h = rng.uniform(0.05, 0.95, size=(8, 5))
    reg = KLSparsity(0.1, beta=2.0)
    rho_hat = h.mean(0)
    ref = 2.0 * np.sum(0.1 * np.log(0.1 / rho_hat) + 0.9 * np.log(0.9 / (1 - rho_hat)))
    assert np.isclose(float(reg(nerve.tensor(h)).numpy()), ref)
    assert float(reg(nerve.tensor(np.full((4, 3), 0.1))).numpy()) < 1e-6  # zero at the target
    nerve.gradcheck(lambda v: reg(v), [h])
    with pytest.raises(ValueError, match="target"):
        KLSparsity(1.5)


def test_deep_autoencoder_with_bn_and_dropout_learns(digits):
    X, _ = digits
    ae = build_deep_autoencoder(64, (48, 24), 8, dropout=0.1)
    names = [type(lay).__name__ for lay in ae.encoder.layers]
    assert "BatchNormalization" in names and "Dropout" in names
    ae.compile("adam", "mse")
    h = ae.fit(X, X, epochs=8, batch_size=64, verbose=0)
    assert h.history["loss"][-1] < 0.7 * h.history["loss"][0]
    a, b = ae.predict(X[:8], verbose=0), ae.predict(X[:8], verbose=0)
    assert np.array_equal(a, b)  # inference is deterministic


def test_sparse_autoencoders_reduce_code_activity(digits):
    X, _ = digits
    plain = build_autoencoder(64, (), 64, "sigmoid")
    kl = build_sparse_autoencoder(64, 64, kl_target=0.05, kl_beta=3.0)
    l1 = build_sparse_autoencoder(64, 64, l1=1e-3)
    plain_relu = build_autoencoder(64, (), 64, "relu")
    for m in (plain, kl, l1, plain_relu):
        m.compile(nerve.optimizers.Adam(0.01), "mse")
        m.fit(X, X, epochs=10, batch_size=64, verbose=0)
    assert kl.encode(X).mean() < 0.15 < plain.encode(X).mean()
    assert np.abs(l1.encode(X)).mean() < 0.5 * np.abs(plain_relu.encode(X)).mean()
    with pytest.raises(ValueError, match="exactly one"):
        build_sparse_autoencoder(64, 8)


def test_contractive_penalty_matches_numeric_jacobian():
    ae = build_contractive_autoencoder(6, 3, lam=1.0)
    x = np.random.default_rng(0).random((4, 6)).astype(np.float32)
    ae.predict(x, verbose=0)
    pen = float(jacobian_penalty(ae.encoder, ops.convert_to_tensor(x)).data)
    d = ae.encoder.layers[-1]
    W, b = d.kernel.numpy().astype(np.float64), d.bias.numpy().astype(np.float64)
    f = lambda v: 1 / (1 + np.exp(-(v @ W + b)))  # noqa: E731
    norms = []
    for xi in x.astype(np.float64):
        J = np.stack([(f(xi + 1e-6 * e) - f(xi - 1e-6 * e)) / 2e-6 for e in np.eye(6)])
        norms.append(np.sum(J ** 2))
    assert np.isclose(pen, np.mean(norms), rtol=1e-4)
    # a deeper encoder uses the stochastic finite-difference estimate: same value on average
    deep = build_autoencoder(6, (5,), 3, "tanh")
    deep.predict(x, verbose=0)
    est = np.mean([float(jacobian_penalty(deep.encoder, x, probes=50).data) for _ in range(10)])
    g = lambda v: deep.encoder.predict(v[None].astype(np.float32), verbose=0)[0].astype(np.float64)  # noqa: E731
    exact = np.mean([np.sum(np.stack([(g(xi + 1e-2 * e) - g(xi - 1e-2 * e)) / 2e-2 for e in np.eye(6)]) ** 2)
                     for xi in x.astype(np.float64)])
    assert abs(est - exact) < 0.1 * exact


def test_contractive_training_shrinks_the_jacobian(digits):
    X, _ = digits
    pens = {}
    for lam in (0.0, 0.1):
        nerve.set_random_seed(0)
        ae = build_contractive_autoencoder(64, 16, lam=lam)
        assert isinstance(ae, ContractiveAutoencoder)
        ae.compile(nerve.optimizers.Adam(0.01), "mse")
        h = ae.fit(X, X, epochs=5, batch_size=64, verbose=0)
        assert "contractive" in h.history
        pens[lam] = float(jacobian_penalty(ae.encoder, X).data)
    assert pens[0.1] < 0.5 * pens[0.0]


def test_conv_autoencoder_trains(digits):
    X, _ = digits
    imgs = X[:128].reshape(-1, 8, 8, 1)
    for transpose in (False, True):
        ae = build_conv_autoencoder((8, 8, 1), filters=(8,), code_filters=4, transpose=transpose)
        assert ae.encoder.output_shape == (None, 4, 4, 4) and ae.decoder.output_shape == (None, 8, 8, 1)
        ae.compile(nerve.optimizers.Adam(0.01), "mse")
        h = ae.fit(imgs, imgs, epochs=4, batch_size=32, verbose=0)
        assert h.history["loss"][-1] < h.history["loss"][0]


def test_seq_autoencoder_encoder_decoder_submodels():
    ae = build_seq_autoencoder()
    x = np.random.default_rng(0).random((6, 28, 28)).astype(np.float32)
    z = ae.encode(x)
    assert z.shape == (6, 2) and np.all((z > 0) & (z < 1))
    assert ae.decode(z).shape == (6, 28, 28)
    assert np.allclose(ae.decode(z), ae.predict(x, verbose=0), atol=1e-5)
    ae.compile("adam", "binary_crossentropy")
    h = ae.fit(x, x, epochs=1, batch_size=3, verbose=0)
    assert np.isfinite(h.history["loss"][0])


def test_greedy_layerwise_pretraining_helps(digits):
    X, _ = digits
    losses = {}
    for pre in (False, True):
        nerve.set_random_seed(1)
        ae = build_autoencoder(64, (32,), 8, activation="sigmoid", output_activation="sigmoid")
        if pre:
            stages = greedy_layerwise_pretrain(ae, X, epochs=5, batch_size=64)
            assert len(stages) == 2
        losses[pre] = mse(X, ae.predict(X, verbose=0))
    assert losses[True] < losses[False]
    tied = build_autoencoder(64, (32,), 8, activation="sigmoid", tied=True)
    before = mse(X, tied.predict(X, verbose=0))
    greedy_layerwise_pretrain(tied, X, epochs=3, batch_size=64)
    assert mse(X, tied.predict(X, verbose=0)) < before
    with pytest.raises(ValueError, match="BatchNormalization"):
        greedy_layerwise_pretrain(build_deep_autoencoder(64, (16,), 4), X)


def test_autoencoder_is_a_model(digits):
    X, _ = digits
    ae = build_autoencoder(64, (), 4)
    assert isinstance(ae, Autoencoder) and isinstance(ae, nerve.models.Model)
    assert ae.encode(X[:3]).shape == (3, 4)
    with pytest.raises(ValueError, match="noise"):
        build_autoencoder(64, (), 4, noise="salt")
