#!/usr/bin/env python3
"""tst_torchscript's fixtures beside docs/export_vae.py's good file: small TorchScript files that
break the contract one way each, and two that keep it differently (a GAN with its own latent
sampler, a traced module).

    python3 tests/torchscript_fixtures.py GOOD.pt OUTDIR
"""

import json
import sys
import zipfile

import torch
from torch import nn

LATENT = 4


def meta(**changes) -> str:
    m = {
        "format": "latent-explorer-torchscript",
        "version": 1,
        "kind": "gan",
        "title": "fixture",
        "image_shape": [1, 28, 28],
        "value_range": [-1, 1],
        "latent_size": LATENT,
        "dataset": "fashion-mnist",
    }
    m.update(changes)
    return json.dumps({k: v for k, v in m.items() if v is not None})


class Generator(nn.Module):
    """decode only, with a latent sampler of its own (its output shows that it was called)."""

    def __init__(self, size: int = 28, scale: float = 1.0):
        super().__init__()
        self.size = size
        self.scale = scale
        self.latent = LATENT
        self.net = nn.Linear(LATENT, size * size)

    @torch.jit.export
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.net(z)).view(-1, 1, self.size, self.size) * self.scale

    @torch.jit.export
    def sample_latent(self, n: int, temperature: float, seed: int) -> torch.Tensor:
        return torch.full([n, self.latent], temperature * 0.5 + float(seed % 7))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.decode(z)


class NoDecode(nn.Module):
    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z


class Tracable(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Linear(784, LATENT)
        self.dec = nn.Linear(LATENT, 784)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.enc(x.flatten(1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.dec(z)).view(-1, 1, 28, 28)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.decode(z)


def save(module, path: str, metadata=None) -> None:
    extra = {} if metadata is None else {"latent_explorer.json": metadata}
    torch.jit.save(module, path, _extra_files=extra)


def rewrite_version(good: str, out: str, version: bytes) -> None:
    """The good file as a newer torch would stamp it: only its format version changed."""
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            dst.writestr(item, version if item.filename.endswith("/version") else data)


def main() -> None:
    good, out = sys.argv[1], sys.argv[2]
    torch.manual_seed(1)
    gan = torch.jit.script(Generator())
    save(gan, f"{out}/gan.pt", meta())
    save(gan, f"{out}/no_metadata.pt")
    save(gan, f"{out}/bad_json.pt", "{not json")
    save(gan, f"{out}/no_latent_size.pt", meta(latent_size=None))
    save(gan, f"{out}/bad_kind.pt", meta(kind="diffusion"))
    save(torch.jit.script(NoDecode()), f"{out}/no_decode.pt", meta())
    save(torch.jit.script(Generator(size=14)), f"{out}/wrong_shape.pt", meta())
    save(torch.jit.script(Generator(scale=100.0)), f"{out}/out_of_range.pt", meta())
    traced = torch.jit.trace_module(
        Tracable(), {"decode": torch.randn(2, LATENT), "encode": torch.randn(2, 1, 28, 28)}
    )
    save(traced, f"{out}/traced.pt", meta(kind="other", title="traced"))
    rewrite_version(good, f"{out}/newer_torch.pt", b"99\n")
    torch.save(Generator().state_dict(), f"{out}/state_dict.pt")  # a zip, but not TorchScript
    with zipfile.ZipFile(f"{out}/random.zip", "w") as z:
        z.writestr("hello.txt", "not a model")
    print("fixtures written to", out)


if __name__ == "__main__":
    main()
