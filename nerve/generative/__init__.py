"""``nerve.generative``: unsupervised and generative models as tested components.

Perceptron / pocket (perceptron.py), autoencoders (autoencoders.py, book examples in book_models.py),
anomaly detection (anomaly.py), VAE (vae.py), Bernoulli RBM and DBN (rbm.py), GANs (gan.py),
PNG figures (plots.py), and the layers they need (layers.py: Sampling, DenseTranspose, MaskingNoise,
KLSparsity), all registered for the safe ``.keras`` format.
"""
from .layers import DenseTranspose, KLSparsity, MaskingNoise, Sampling
from .perceptron import Perceptron, PocketPerceptron, classification_error
from .autoencoders import (Autoencoder, ContractiveAutoencoder, build_autoencoder, build_contractive_autoencoder,
                           build_conv_autoencoder, build_deep_autoencoder, build_denoising_autoencoder,
                           build_linear_autoencoder, build_sparse_autoencoder, corrupt, greedy_layerwise_pretrain,
                           jacobian_penalty)
from .book_models import (build_basic_autoencoder, build_bilstm_autoencoder, build_cifar_deep_autoencoder,
                          build_fashion_autoencoder, build_imdb_autoencoder, build_imdb_dropout_autoencoder,
                          build_mnist_autoencoder, build_seq_autoencoder, build_toy_autoencoder)
from .anomaly import AnomalyDetector, best_threshold, reconstruction_errors
from .vae import VAE, build_deep_mnist_vae, build_heart_vae, build_vae, kl_divergence
from .rbm import DBN, BernoulliRBM
from .gan import (GAN, WGAN, build_dcgan_critic, build_dcgan_generator, build_mlp_gan_discriminator,
                  build_mlp_gan_generator)
from . import plots

__all__ = [
    "Sampling", "DenseTranspose", "MaskingNoise", "KLSparsity", "Perceptron", "PocketPerceptron",
    "classification_error", "Autoencoder", "ContractiveAutoencoder", "build_autoencoder",
    "build_contractive_autoencoder", "build_conv_autoencoder", "build_deep_autoencoder",
    "build_denoising_autoencoder", "build_linear_autoencoder", "build_sparse_autoencoder", "corrupt",
    "greedy_layerwise_pretrain", "jacobian_penalty", "build_basic_autoencoder", "build_fashion_autoencoder",
    "build_imdb_autoencoder", "build_imdb_dropout_autoencoder", "build_bilstm_autoencoder",
    "build_cifar_deep_autoencoder",
    "build_mnist_autoencoder", "build_seq_autoencoder", "build_toy_autoencoder", "AnomalyDetector",
    "best_threshold", "reconstruction_errors", "VAE", "build_deep_mnist_vae", "build_heart_vae", "build_vae",
    "kl_divergence", "DBN", "BernoulliRBM", "GAN", "WGAN", "build_dcgan_critic", "build_dcgan_generator",
    "build_mlp_gan_discriminator", "build_mlp_gan_generator", "plots",
]
