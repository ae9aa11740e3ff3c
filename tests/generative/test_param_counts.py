"""Exact parameter counts of the seeds' generative examples (seed-001 part 2 §5.1, part 1 §N29, seed-000)."""
import numpy as np
import pytest

from nerve.generative import (build_autoencoder, build_basic_autoencoder, build_fashion_autoencoder,
                              build_imdb_autoencoder, build_imdb_dropout_autoencoder, build_bilstm_autoencoder,
                              build_cifar_deep_autoencoder,
                              build_dcgan_critic, build_dcgan_generator, build_deep_mnist_vae, build_heart_vae,
                              build_mlp_gan_discriminator, build_mlp_gan_generator, build_mnist_autoencoder,
                              build_seq_autoencoder, build_toy_autoencoder)


def counts(model):
    nt = int(sum(np.prod(w.shape) for w in model.non_trainable_weights))
    return model.count_params(), model.count_params() - nt, nt


def test_lstm_autoencoder_10950():
    ae = build_seq_autoencoder()
    assert counts(ae) == (10950, 10838, 112)
    by_type = {type(layer).__name__: layer.count_params() for m in (ae.encoder, ae.decoder) for layer in m.layers}
    assert by_type["TimeDistributed"] == 812


def test_bilstm_autoencoder_49408():
    ae = build_bilstm_autoencoder()
    assert counts(ae) == (49408, 49184, 224)
    assert ae.encoder.count_params() == 18692 and ae.decoder.count_params() == 30716
    assert ae.decoder.predict(np.random.default_rng(0).random((1, 100)), verbose=0).shape == (1, 28, 28)


def test_dcgan_generator_and_critic():
    g, c = build_dcgan_generator(), build_dcgan_critic()
    assert counts(g) == (2343681, 2318209, 25472)
    assert [layer.count_params() for layer in g.layers if layer.count_params()] == \
        [1266944, 50176, 819328, 512, 204864, 256, 1601]
    assert counts(c) == (212865, 212865, 0)
    assert [layer.count_params() for layer in c.layers if layer.count_params()] == [1664, 204928, 6273]
    assert g.output_shape == (None, 28, 28, 1)


def test_heart_disease_vae():
    vae = build_heart_vae()
    assert vae.encoder.count_params() == 290 and vae.decoder.count_params() == 221
    bn = [layer for layer in vae.encoder.layers if type(layer).__name__ == "BatchNormalization"][0]
    assert bn.count_params() == 52


def test_mlp_gan_and_deep_vae():
    assert build_mlp_gan_generator().count_params() == 1493520
    assert build_mlp_gan_discriminator().count_params() == 533505
    vae = build_deep_mnist_vae()
    assert (vae.encoder.count_params(), vae.decoder.count_params()) == (897942, 899216)


@pytest.mark.parametrize("config,total", [("a", 638854), ("b", 45366), ("c", 16526), ("d", 3922)])
def test_mnist_autoencoder_configs(config, total):
    assert build_mnist_autoencoder(config).count_params() == total


def test_small_autoencoders():
    assert build_toy_autoencoder().count_params() == 190
    assert build_autoencoder(784, (), 100, "tanh", "tanh", None).count_params() == 157684   # seed-000 M15
    assert build_autoencoder(784, (), 32, "relu").count_params() == 50992                   # seed-000 M18
    assert build_autoencoder(784, (), 100, "sigmoid").count_params() == 157684              # seed-001 1.12
    assert build_cifar_deep_autoencoder().count_params() == 18197056


def test_named_book_autoencoders():
    assert build_basic_autoencoder().count_params() == 157684
    assert build_fashion_autoencoder().count_params() == 50992
    assert build_imdb_autoencoder().count_params() == 263936
    assert build_imdb_autoencoder(batch_norm=False).count_params() == 262912
    assert build_imdb_dropout_autoencoder().count_params() == 230272
