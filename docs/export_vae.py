#!/usr/bin/env python3
"""Export a small VAE to Latent Explorer's TorchScript contract (docs/torchscript.md).

    python3 docs/export_vae.py OUT.pt [--steps N] [--latent N] [--seed S]

Trains a fully connected VAE for a few steps on Fashion-MNIST (from /usr/share/datasets, or
random images when it is not installed), scripts it and saves it with the metadata the app
reads. Open the file with File > Open or `latent-explorer-cli info --checkpoint OUT.pt`.
"""

import argparse
import gzip
import json
import math
import os

import torch
from torch import nn

FASHION = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
CHANNELS, HEIGHT, WIDTH = 1, 28, 28
SHAPE = [CHANNELS, HEIGHT, WIDTH]
DIMS = CHANNELS * HEIGHT * WIDTH


class Vae(nn.Module):
    def __init__(self, latent: int, hidden: int = 256):
        super().__init__()
        self.latent = latent
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(DIMS, hidden), nn.ReLU())
        self.mean = nn.Linear(hidden, latent)
        self.log_var = nn.Linear(hidden, latent)
        self.decoder = nn.Sequential(
            nn.Linear(latent, hidden),
            nn.ReLU(),
            nn.Linear(hidden, DIMS),
            nn.Tanh(),
            nn.Unflatten(1, (CHANNELS, HEIGHT, WIDTH)),
        )
        self.log_sigma = nn.Parameter(torch.tensor(-1.0))  # the decoder's pixel noise

    # --- the contract: every method below is what the app calls ---

    @torch.jit.export
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """N x C x H x W in [-1, 1] -> N x latent (the posterior mean)."""
        return self.mean(self.encoder(x))

    @torch.jit.export
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """N x latent -> N x C x H x W in [-1, 1]."""
        return self.decoder(z)

    @torch.jit.export
    def elbo(self, x: torch.Tensor) -> torch.Tensor:
        """The ELBO in nats per image, for the 8-bit image (see the contract).

        The reconstruction term is taken at the posterior mean instead of averaged over samples,
        so every evaluation of an image gives the same number (an estimate, not strictly a
        bound)."""
        h = self.encoder(x)
        mean, log_var = self.mean(h), self.log_var(h)
        recon = self.decode(mean)
        var = torch.exp(2.0 * self.log_sigma)
        log_px = -0.5 * (((x - recon) ** 2) / var + 2.0 * self.log_sigma + math.log(2 * math.pi))
        kl = 0.5 * (mean.pow(2) + log_var.exp() - 1.0 - log_var).sum(1)
        # A density over [-1, 1] becomes one over the 8-bit levels: one level is 1/127.5 wide.
        dims = log_px[0].numel()
        return log_px.flatten(1).sum(1) - kl - dims * math.log(127.5)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.decode(z)

    # --- training only (not part of the contract) ---

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encoder(x)
        mean, log_var = self.mean(h), self.log_var(h)
        z = mean + torch.randn_like(mean) * torch.exp(0.5 * log_var)
        recon = self.decode(z)
        var = torch.exp(2.0 * self.log_sigma)
        nll = 0.5 * (((x - recon) ** 2) / var + 2.0 * self.log_sigma).flatten(1).sum(1)
        kl = 0.5 * (mean.pow(2) + log_var.exp() - 1.0 - log_var).sum(1)
        return (nll + kl).mean()


def training_images(count: int) -> tuple:
    """Fashion-MNIST's first `count` training images in [-1, 1], or random ones without it."""
    if os.path.exists(FASHION):
        with gzip.open(FASHION, "rb") as f:
            raw = f.read(16 + count * DIMS)[16:]
        pixels = torch.frombuffer(bytearray(raw), dtype=torch.uint8).float()
        return pixels.view(-1, *SHAPE) / 127.5 - 1.0, "fashion-mnist"
    return torch.rand(count, *SHAPE) * 2.0 - 1.0, "random"


def metadata(latent: int, dataset: str, steps: int) -> dict:
    return {
        "format": "latent-explorer-torchscript",
        "version": 1,
        "kind": "vae",
        "title": "Small VAE (exported from Python)",
        "image_shape": SHAPE,
        "value_range": [-1, 1],
        "latent_size": latent,
        "dataset": dataset,
        "steps": steps,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="the TorchScript file to write (.pt)")
    parser.add_argument("--steps", type=int, default=200, help="training steps (0: untrained)")
    parser.add_argument("--latent", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    model = Vae(args.latent)
    images, dataset = training_images(4096)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    for step in range(args.steps):
        batch = images[torch.randint(0, images.size(0), (64,))]
        loss = model.loss(batch)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if (step + 1) % 50 == 0:
            print(f"step {step + 1}: loss {loss.item():.1f} nats")

    model.eval()
    scripted = torch.jit.script(model)
    extra = {"latent_explorer.json": json.dumps(metadata(args.latent, dataset, args.steps))}
    torch.jit.save(scripted, args.out, _extra_files=extra)
    print(f"wrote {args.out} ({dataset}, {args.steps} steps, latent {args.latent})")


if __name__ == "__main__":
    main()
