"""Unsupervised and generative recipes: autoencoder + anomaly detection (seed-000 §1.16-1.17), the Fashion AE
and its denoising variant (S3), the deep MNIST AE (seed-001-part2 §1.5), the VAE (§1.7-1.8), RBM vs
autoencoder (§1.11-1.12), the MLP GAN and the DCGAN (§1.24-1.25). MNIST runs on Fashion-MNIST offline."""
import numpy as np

from ._base import RecipeUnavailable, recipe
from ._data import mnist_or_fashion

S0, S1B = "seed-000-003-004.md", "seed-001-part2.md"


def _gen():
    try:
        from .. import generative
    except ImportError as e:  # the generative package landed after the recipes were written
        raise RecipeUnavailable(f"nerve.generative is not available yet ({e})") from e
    return generative


def _images(ctx, quick_train=512, quick_test=256, **kw):
    (xtr, ytr), (xte, yte) = mnist_or_fashion(ctx, flat=True, quick_train=quick_train, quick_test=quick_test, **kw)
    return xtr, ytr, xte, yte


def _plot(ctx, name, fn, *args, **kw):
    try:
        ctx.run_dir.plot(name, fn, *args, **kw)
    except ImportError as e:
        ctx.log(f"note: no {name} ({e})")


@recipe("autoencoder_anomaly", "Basic autoencoder 784-100-784 and reconstruction-error anomaly detection", S0,
        "§1.16 M15, §1.17, R23", "MNIST (offline stand-in: Fashion-MNIST)",
        "784 -> Dense(100, tanh) -> Dense(784) linear; MSE, Adam, 10 epochs, batch 256; anomaly score = per-image "
        "MSE, threshold = 75th percentile of the training errors", "157,684 params (no error figure)")
def autoencoder_anomaly(ctx):
    g = _gen()
    xtr, ytr, xte, yte = _images(ctx)
    ae = g.build_basic_autoencoder(784, 100)
    ae.compile(loss="mean_squared_error", optimizer="adam")
    ctx.set(params=int(ae.count_params()))
    ctx.fit(ae, xtr, xtr, epochs=ctx.epochs(10, 1), batch_size=256)
    det = g.AnomalyDetector(ae, percentile=75).fit(xtr)
    err_te = det.score_samples(xte)
    flagged = det.predict(xte)
    worst = np.argsort(err_te)[::-1][:10]
    _plot(ctx, "error_histogram.png", g.plots.plot_anomaly_histogram, err_te, threshold=det.threshold_,
          title="test reconstruction MSE")
    _plot(ctx, "worst_reconstructed.png", g.plots.plot_image_grid, xte[worst], image_shape=(28, 28),
          title="the 10 test images with the largest error")
    return {"train_mse": float(np.mean(det.train_errors_)), "test_mse": float(np.mean(err_te)),
            "threshold_p75": float(det.threshold_), "test_flagged_fraction": float(np.mean(flagged)),
            "params": int(ae.count_params())}


@recipe("fashion_autoencoder", "Fashion-MNIST autoencoder 784-32-784 and its denoising variant", S0,
        "§1.16 M18-M19 (S3)", "Fashion-MNIST",
        "784 -> Dense(32, relu) -> Dense(784, sigmoid); binary CE, Adadelta (lr 1.0, the old Keras default), "
        "batch 256; denoising: inputs + 0.5 N(0,1), clipped to [0,1]", "50,992 params (figures only)")
def fashion_autoencoder(ctx):
    g = _gen()
    from ..optimizers import Adadelta
    from ._data import fashion
    (xtr, ytr), (xte, yte) = fashion(ctx, flat=True, quick_train=512, quick_test=256)  # the deck's own data
    out = {}
    for name, noisy in (("plain", False), ("denoising", True)):
        ae = g.build_fashion_autoencoder(32)
        ae.compile(optimizer=Adadelta(learning_rate=1.0), loss="binary_crossentropy")
        xin = g.corrupt(xtr, "gaussian", 0.5, seed=1) if noisy else xtr
        tin = g.corrupt(xte, "gaussian", 0.5, seed=2) if noisy else xte
        ctx.fit(ae, xin, xtr, epochs=ctx.epochs(10 if noisy else 5, 1), batch_size=256, validation_data=(tin, xte))
        rec = ae.reconstruct(tin)
        out[f"{name}_test_mse"] = float(np.mean((rec - xte) ** 2))
        _plot(ctx, f"reconstructions_{name}.png", g.plots.plot_reconstructions, xte[:10], rec[:10],
              image_shape=(28, 28), noisy=tin[:10] if noisy else None)
    out["params"] = int(ae.count_params())
    return out


@recipe("deep_autoencoder", "Deep MNIST autoencoder 784 -> 2 (sigmoid layers, tanh code)", S1B, "§1.5 (Fig. 8.13)",
        "MNIST (offline stand-in: Fashion-MNIST)", "784-512-256-128-64-32-16-8-4-2 and mirror (config 'a' of "
        "build_mnist_autoencoder); binary CE, Adam, batch 256", "a 2-D latent scatter separating the digits "
        "(figure only); 638,854 params")
def deep_autoencoder(ctx):
    g = _gen()
    xtr, ytr, xte, yte = _images(ctx)
    ae = g.build_mnist_autoencoder("a")
    ae.compile(loss="binary_crossentropy", optimizer="adam")
    ctx.fit(ae, xtr, xtr, epochs=ctx.epochs(100, 1), batch_size=256, validation_data=(xte, xte))
    z = ae.encode(xte)
    _plot(ctx, "latent.png", g.plots.plot_latent_scatter, z, labels=yte, title="test codes (2-D latent)")
    rec = ae.reconstruct(xte)
    return {"test_mse": float(np.mean((rec - xte) ** 2)), "params": int(ae.count_params())}


@recipe("vae", "Variational autoencoder, 2-D latent (shallow and deep)", S1B, "§1.7-1.8 (Figs. 9.6-9.7)",
        "MNIST (offline stand-in: Fashion-MNIST)", "shallow: 784-512-(2+2) -> 2 -> 512-784 (Bernoulli likelihood); "
        "deep: build_deep_mnist_vae (1,797,158 params); Adam, batch 100", "latent scatter and generated digits "
        "(figures only)")
def vae(ctx):
    g = _gen()
    xtr, ytr, xte, yte = _images(ctx)
    model = g.build_deep_mnist_vae() if not ctx.quick else g.build_vae(784, (64,), 2)
    model.compile(optimizer="adam")
    ctx.set(params=int(model.count_params()), variant="deep" if not ctx.quick else "shallow (quick)")
    ctx.fit(model, xtr, epochs=ctx.epochs(50, 1), batch_size=100)
    h = ctx.history.history
    z = np.asarray(model.encoder.predict(xte, verbose=0)[0])
    _plot(ctx, "latent.png", g.plots.plot_latent_scatter, z, labels=yte, title="test z_mean")
    zs = np.random.default_rng(0).normal(size=(25, 2)).astype("float32")
    _plot(ctx, "generated.png", g.plots.plot_image_grid, np.asarray(model.decoder.predict(zs, verbose=0)),
          image_shape=(28, 28), title="decoded N(0, I) samples")
    return {"final_loss": float(h["loss"][-1]), "reconstruction_loss": float(h["reconstruction_loss"][-1]),
            "kl_loss": float(h["kl_loss"][-1]), "params": int(model.count_params())}


@recipe("rbm_vs_autoencoder", "Bernoulli RBM (100 hidden) vs a comparable autoencoder 784-100-784", S1B,
        "§1.11-1.12, §5.4", "MNIST (offline stand-in: Fashion-MNIST), binarised at 0.5 for the RBM",
        "BernoulliRBM(n_components=100, lr 0.1, batch 10, 10 iterations) vs Dense(100, sigmoid) -> Dense(784, "
        "sigmoid), binary CE, Adam", "RBM pseudo-likelihood per iteration -104.67 ... -96.97 (60k MNIST)")
def rbm_vs_autoencoder(ctx):
    g = _gen()
    xtr, ytr, xte, yte = _images(ctx, quick_train=300, quick_test=100)
    n_iter = ctx.epochs(10, 1)
    rbm = g.BernoulliRBM(n_components=100, learning_rate=0.1, batch_size=10, n_iter=n_iter, random_state=0)
    rbm.fit((xtr > 0.5).astype("float64"))
    rec_rbm = rbm.reconstruct((xte > 0.5).astype("float64"))
    ae = g.build_autoencoder(784, (), 100, "sigmoid", "sigmoid", "sigmoid", name="ae_100")
    ae.compile(loss="binary_crossentropy", optimizer="adam")
    ctx.fit(ae, xtr, xtr, epochs=n_iter, batch_size=100)
    rec_ae = ae.reconstruct(xte)
    _plot(ctx, "rbm_filters.png", g.plots.plot_rbm_filters, rbm.components_, image_shape=(28, 28))
    pl = [float(v) for v in rbm.history_]
    return {"rbm_pseudo_likelihood": pl, "rbm_final_pseudo_likelihood": pl[-1] if pl else None,
            "rbm_test_mse": float(np.mean((rec_rbm - (xte > 0.5)) ** 2)),
            "ae_test_mse": float(np.mean((rec_ae - xte) ** 2))}


def _gan(ctx, generator, discriminator, batch_size, iterations, name):
    from ..optimizers import Adam
    g = _gen()
    xtr, _, _, _ = _images(ctx, quick_train=256, quick_test=10)
    x = xtr.reshape(-1, 28, 28, 1)
    gan = g.GAN(generator, discriminator, latent_dim=100)
    gan.compile(d_optimizer=Adam(2e-4, beta_1=0.5), g_optimizer=Adam(2e-4, beta_1=0.5))
    n = ctx.epochs_override or ctx.pick(iterations, 2)
    ctx.set(iterations=n, batch_size=batch_size)
    res = gan.train(x, iterations=n, batch_size=batch_size, sample_interval=max(1, n // 6), n_samples=16, seed=0,
                    verbose=ctx.verbose, checkpoint_dir=ctx.run_dir.file("backup-gan") if ctx.resumable else None,
                    checkpoint_every=ctx.pick(250, 1))
    ctx.history = type("H", (), {"history": {"d_loss": res["dloss"], "d_acc": res["dacc"],
                                             "g_loss": res["gloss"]}})()
    _plot(ctx, f"{name}_samples.png", g.plots.plot_generated_samples, gan, n=25, image_shape=(28, 28), seed=1)
    return {"iterations": n, "final_d_loss": res["dloss"][-1], "final_d_acc": res["dacc"][-1],
            "final_g_loss": res["gloss"][-1]}


@recipe("mlp_gan", "MLP GAN on MNIST", S1B, "§1.24, §5.4", "MNIST (offline stand-in: Fashion-MNIST)",
        "generator 100 -> 256-512-1024 (BN, dropout) -> 784 sigmoid; discriminator 784 -> 512 -> 256 -> 1; "
        "Adam(2e-4, 0.5), batch 128, 12,001 iterations, uniform noise",
        "iteration 12000: D loss 0.6226, D acc 62.50%, G loss 1.0570")
def mlp_gan(ctx):
    g = _gen()
    return _gan(ctx, g.build_mlp_gan_generator(100), g.build_mlp_gan_discriminator(), 128, 12001, "mlp_gan")


@recipe("dcgan", "Convolutional GAN (DCGAN-style generator and critic)", S1B, "§1.25, §5.4",
        "MNIST (offline stand-in: Fashion-MNIST)", "generator Dense(7*7*256)-BN-ConvT(128)-BN-ConvT(64,s2)-BN-"
        "ConvT(1,s2,sigmoid); critic Conv(64,5,s2)-Conv(128,5,s2)-Dense(1); Adam(2e-4, 0.5), batch 64, "
        "12,001 iterations", "iteration 12000: C loss 0.6130, C acc 66.41%, G loss 0.8542")
def dcgan(ctx):
    g = _gen()
    return _gan(ctx, g.build_dcgan_generator(100), g.build_dcgan_critic(), 64 if not ctx.quick else 16, 12001,
                "dcgan")
