import numpy as np

from nerve.generative import BernoulliRBM, build_vae, plots

PNG = b"\x89PNG\r\n\x1a\n"


def _is_png(path):
    with open(path, "rb") as f:
        return f.read(8) == PNG


def test_all_plots_write_png(tmp_path, digits):
    X, y = digits
    rng = np.random.default_rng(0)
    paths = [
        plots.plot_reconstructions(X[:8], X[:8] * 0.9, str(tmp_path / "rec.png"), n=8, noisy=X[:8] + 0.1),
        plots.plot_latent_scatter(rng.normal(size=(100, 2)), str(tmp_path / "lat.png"), labels=y[:100]),
        plots.plot_image_grid(X[:20], str(tmp_path / "grid.png"), rows=4),
        plots.plot_image_grid(rng.random((3, 3, 8, 8)), str(tmp_path / "latent_grid.png")),
        plots.plot_generated_samples(build_vae(64, (8,), 2), str(tmp_path / "gen.png"), n=9, seed=0),
        plots.plot_rbm_filters(BernoulliRBM(16, n_iter=1, random_state=0).fit(X).components_,
                               str(tmp_path / "filters.png")),
        plots.plot_anomaly_histogram(rng.random(200), str(tmp_path / "hist.png"), threshold=0.9),
        plots.plot_gan_history({"dloss": [1, 0.5], "gloss": [1, 2], "dacc": [0.5, 0.6]}, str(tmp_path / "g.png")),
        plots.plot_image_grid(rng.random((4, 28, 28, 1)), str(tmp_path / "chan.png")),
    ]
    assert all(_is_png(p) for p in paths)
