#!/usr/bin/python3
"""Python references for latent-explorer-bench's training throughput.

Each family here is the C++ model (models/*.cpp) rewritten the way the PyTorch examples are
written: the same layers, activations, initialisation where it matters for speed, likelihood and
loss, optimiser and learning-rate schedule, batch size, and the same per-step metrics read back
with .item(). Data: the Fashion-MNIST idx files read into one tensor in [-1, 1] and served by a
shuffling DataLoader, as the examples do. It runs on python3-torch, the same LibTorch build as the
C++ side; the bench starts it with the same thread settings (torch.set_num_threads, OpenBLAS's
pool through OPENBLAS_NUM_THREADS, OMP_WAIT_POLICY).

Only what the loss and the reported metrics need is computed: Glow's standardised latents (eps),
which the C++ forward also returns, are left out, and the VQ-VAE trains its first phase (the
autoencoder), the phase a benchmark run of this length is in.

Prints one JSON line: images_per_second over the measured steps, and flops_per_image, the dense
(convolution and linear) multiply-adds of one training step's forward passes ×2 ×3 (the backward
taken as twice the forward), per image: an estimate, for showing throughput against the CPU's
matrix-product ceiling.
"""

import argparse
import gzip
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

# ---- FLOP counting ----------------------------------------------------------------------------

COUNTER = {"on": False, "flops": 0}


def count(flops):
    if COUNTER["on"]:
        COUNTER["flops"] += int(flops)


def conv2d(x, w, b=None, padding=0):
    """F.conv2d, counted."""
    out = F.conv2d(x, w, b, padding=padding)
    count(2 * out.numel() * w.size(1) * w.size(2) * w.size(3))
    return out


def add_counting_hooks(module):
    def hook(m, inputs, out):
        if isinstance(m, nn.Conv2d):
            count(2 * out.numel() * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1])
        elif isinstance(m, nn.ConvTranspose2d):
            count(2 * inputs[0].numel() * m.out_channels * m.kernel_size[0] * m.kernel_size[1])
        elif isinstance(m, nn.Linear):
            count(2 * out.numel() * m.in_features)

    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            m.register_forward_hook(hook)


# ---- shared -----------------------------------------------------------------------------------


def discretized_logistic_log_prob(x, mean, log_scale):
    half_bin = 1.0 / 255.0
    centered = x - mean
    inv_scale = torch.exp(-log_scale)
    plus_in = inv_scale * (centered + half_bin)
    min_in = inv_scale * (centered - half_bin)
    log_cdf_plus = plus_in - F.softplus(plus_in)
    log_one_minus_cdf_min = -F.softplus(min_in)
    cdf_delta = torch.sigmoid(plus_in) - torch.sigmoid(min_in)
    mid_in = inv_scale * centered
    log_pdf_mid = mid_in - log_scale - 2.0 * F.softplus(mid_in)
    interior = torch.where(cdf_delta > 1e-5, torch.log(cdf_delta.clamp_min(1e-12)),
                           log_pdf_mid - math.log(127.5))
    return torch.where(x < -0.999, log_cdf_plus,
                       torch.where(x > 0.999, log_one_minus_cdf_min, interior))


# ---- VAE (models/vae.cpp, arch conv) ----------------------------------------------------------


class VAE(nn.Module):
    def __init__(self, shape, latent=16, hidden=32, beta=1.0, lr=1e-3):
        super().__init__()
        c, h, w = shape
        channels, heights, widths = [], [], []
        while True:  # halve while larger than 8, at least once, at most four times
            heights.append(h)
            widths.append(w)
            channels.append(hidden << min(len(channels), 3))
            h //= 2
            w //= 2
            if not (min(h, w) > 8 and len(channels) < 4):
                break
        heights.append(h)
        widths.append(w)
        layers, cin = [], c
        for ch in channels:
            layers += [nn.Conv2d(cin, ch, 4, 2, 1), nn.LeakyReLU(0.2)]
            cin = ch
        self.encoder = nn.Sequential(*layers, nn.Flatten())
        top = channels[-1]
        features = top * heights[-1] * widths[-1]
        dec = [nn.Linear(latent, features), nn.LeakyReLU(0.2),
               nn.Unflatten(1, (top, heights[-1], widths[-1]))]
        for i in reversed(range(len(channels))):
            out = c if i == 0 else channels[i - 1]
            pad = (heights[i] - 2 * heights[i + 1], widths[i] - 2 * widths[i + 1])
            dec.append(nn.ConvTranspose2d(channels[i], out, 4, 2, 1, output_padding=pad))
            if i != 0:
                dec.append(nn.LeakyReLU(0.2))
        self.decoder = nn.Sequential(*dec, nn.Tanh())
        self.mu = nn.Linear(features, latent)
        self.logvar = nn.Linear(features, latent)
        self.log_scale = nn.Parameter(torch.full((1,), -1.0))
        self.latent, self.beta = latent, beta
        network = [p for n, p in self.named_parameters() if n != "log_scale"]
        self.optimizer = torch.optim.Adam(
            [{"params": network, "lr": lr}, {"params": [self.log_scale], "lr": lr * 10.0}], lr=lr)

    def train_step(self, x):
        self.train()
        hidden = self.encoder(x)
        mu, logvar = self.mu(hidden), self.logvar(hidden).clamp(-30.0, 20.0)
        z = mu + torch.exp(0.5 * logvar) * torch.randn(x.size(0), self.latent)
        mean = self.decoder(z)
        log_scale = self.log_scale.clamp(-7.0, 2.0)
        nll = -discretized_logistic_log_prob(x, mean, log_scale).flatten(1).sum(1).mean()
        kl = (0.5 * (mu.pow(2) + torch.exp(logvar) - 1.0 - logvar)).sum(1).mean()
        mse = (mean - x).pow(2).mean()
        loss = nll + self.beta * kl
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return [loss.item(), nll.item(), kl.item(), mse.item(),
                math.exp(self.log_scale.clamp(-7.0, 2.0).item())]


# ---- DCGAN (models/dcgan.cpp) -----------------------------------------------------------------


def dcgan_plan(size, hidden):
    start = 7 if size == 28 else 4
    ups, s = 0, start
    while s < size:
        ups += 1
        s *= 2
    return start, [hidden * (1 << min(ups - 1 - i, 3)) for i in range(ups)]


def down_trunk(c, channels):
    layers, cin = [], c
    for ch in reversed(channels):
        layers += [nn.Conv2d(cin, ch, 4, 2, 1), nn.LeakyReLU(0.2)]
        cin = ch
    return layers


def dcgan_init(module):
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                m.weight.normal_(0.0, 0.02)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.normal_(1.0, 0.02)
                m.bias.zero_()


class DCGAN(nn.Module):
    def __init__(self, shape, latent=32, hidden=32, lr=2e-4, beta1=0.5, r1_gamma=1.0,
                 r1_interval=4, encoder_lr=1e-3):
        super().__init__()
        c, size = shape[0], shape[1]
        start, ch = dcgan_plan(size, hidden)
        g = [nn.ConvTranspose2d(latent, ch[0], start, bias=False), nn.BatchNorm2d(ch[0]), nn.ReLU()]
        for i in range(len(ch)):
            last = i + 1 == len(ch)
            out = c if last else ch[i + 1]
            g.append(nn.ConvTranspose2d(ch[i], out, 4, 2, 1, bias=last))
            g += [nn.Tanh()] if last else [nn.BatchNorm2d(out), nn.ReLU()]
        self.generator = nn.Sequential(*g)
        self.discriminator = nn.Sequential(*down_trunk(c, ch), nn.Conv2d(ch[0], 1, start),
                                           nn.Flatten())
        self.encoder = nn.Sequential(*down_trunk(c, ch), nn.Flatten(),
                                     nn.Linear(ch[0] * start * start, latent))
        dcgan_init(self.generator)
        dcgan_init(self.discriminator)
        self.latent, self.r1_gamma, self.r1_interval = latent, r1_gamma, r1_interval
        self.d_steps, self.last_r1 = 0, 0.0
        self.g_opt = torch.optim.Adam(self.generator.parameters(), lr=lr, betas=(beta1, 0.999))
        self.d_opt = torch.optim.Adam(self.discriminator.parameters(), lr=lr, betas=(beta1, 0.999))
        self.e_opt = torch.optim.Adam(self.encoder.parameters(), lr=encoder_lr)

    def generate(self, n):
        return self.generator(torch.randn(n, self.latent).view(n, self.latent, 1, 1))

    def discriminate(self, x):
        return self.discriminator(x).view(-1)

    def train_step(self, real):
        n = real.size(0)
        self.train()
        self.discriminator.requires_grad_(True)
        fake = self.generate(n)
        penalise = self.r1_gamma > 0 and self.d_steps % self.r1_interval == 0
        real_in = real.detach().requires_grad_(True) if penalise else real
        real_logits = self.discriminate(real_in)
        fake_logits = self.discriminate(fake.detach())
        d_loss = F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
        d_total = d_loss
        if penalise:
            grad, = torch.autograd.grad(real_logits.sum(), real_in, retain_graph=True,
                                        create_graph=True)
            r1 = grad.pow(2).flatten(1).sum(1).mean()
            self.last_r1 = r1.item()
            d_total = d_total + 0.5 * self.r1_gamma * self.r1_interval * r1
        self.d_opt.zero_grad()
        d_total.backward()
        self.d_opt.step()
        self.d_steps += 1
        self.discriminator.requires_grad_(False)
        g_loss = F.softplus(-self.discriminate(self.generate(n))).mean()
        self.g_opt.zero_grad()
        g_loss.backward()
        self.g_opt.step()
        self.discriminator.requires_grad_(True)
        return [g_loss.item(), d_loss.item(), torch.sigmoid(real_logits.detach()).mean().item(),
                torch.sigmoid(fake_logits.detach()).mean().item(), self.last_r1]


# ---- Glow (models/glow.cpp) -------------------------------------------------------------------

LOG_2PI = 1.8378770664093453


def squeeze2(x):
    n, c, h, w = x.shape
    return x.view(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(
        n, c * 4, h // 2, w // 2)


def gaussian_log_prob(z, mean, log_scale):
    eps = (z - mean) * torch.exp(-log_scale)
    return (-0.5 * (LOG_2PI + 2.0 * log_scale + eps.pow(2))).flatten(1).sum(1)


class ActNorm(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.log_scale = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.initialized = False

    def forward(self, x, logdet, initialize):
        if initialize and not self.initialized:
            with torch.no_grad():
                per_channel = x.detach().transpose(0, 1).flatten(1)
                self.bias.copy_(-per_channel.mean(1).view(1, -1, 1, 1))
                self.log_scale.copy_(-torch.log(per_channel.std(1).view(1, -1, 1, 1) + 1e-6))
                self.initialized = True
        logdet = logdet + float(x.size(2) * x.size(3)) * self.log_scale.sum()
        return (x + self.bias) * torch.exp(self.log_scale), logdet


class InvConv1x1(nn.Module):
    def __init__(self, channels):
        super().__init__()
        q = torch.linalg.qr(torch.randn(channels, channels))[0]
        self.weight = nn.Parameter(q.contiguous())

    def forward(self, x, logdet):
        c = self.weight.size(0)
        log_abs_det = torch.slogdet(self.weight.double())[1].to(x.dtype)
        logdet = logdet + float(x.size(2) * x.size(3)) * log_abs_det
        return conv2d(x, self.weight.view(c, c, 1, 1)), logdet


class ZeroConv2d(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        with torch.no_grad():
            self.conv.weight.zero_()
            self.conv.bias.zero_()
        self.log_scale = nn.Parameter(torch.zeros(1, cout, 1, 1))

    def forward(self, x):
        return self.conv(x) * torch.exp(3.0 * self.log_scale)


class AffineCoupling(nn.Module):
    def __init__(self, channels, hidden):
        super().__init__()
        kept = channels // 2
        changed = channels - kept
        self.net = nn.Sequential(nn.Conv2d(kept, hidden, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(hidden, hidden, 1), nn.ReLU(),
                                 ZeroConv2d(hidden, 2 * changed))

    def forward(self, x, logdet):
        kept = x.size(1) // 2
        xa, xb = x.narrow(1, 0, kept), x.narrow(1, kept, x.size(1) - kept)
        h = self.net(xa)
        half = h.size(1) // 2
        shift, raw = h.narrow(1, 0, half), h.narrow(1, half, half) + 2.0
        logdet = logdet + F.logsigmoid(raw).flatten(1).sum(1)
        return torch.cat([xa, (xb + shift) * torch.sigmoid(raw)], 1), logdet


class FlowStep(nn.Module):
    def __init__(self, channels, hidden):
        super().__init__()
        self.actnorm = ActNorm(channels)
        self.invconv = InvConv1x1(channels)
        self.coupling = AffineCoupling(channels, hidden)

    def forward(self, x, logdet, initialize):
        h, logdet = self.actnorm(x, logdet, initialize)
        h, logdet = self.invconv(h, logdet)
        return self.coupling(h, logdet)


class Glow(nn.Module):
    def __init__(self, shape, levels=None, steps=4, hidden=64, lr=1e-3, warmup=20):
        super().__init__()
        c, h, w = shape
        if levels is None:
            levels = next(l for l in (3, 2, 1) if h % (1 << l) == 0 and w % (1 << l) == 0)
        self.levels = nn.ModuleList()
        self.split_priors = nn.ModuleList()
        for level in range(levels):
            c, h, w = c * 4, h // 2, w // 2
            self.levels.append(nn.ModuleList([FlowStep(c, hidden) for _ in range(steps)]))
            if level + 1 < levels:
                kept = c // 2
                self.split_priors.append(ZeroConv2d(kept, 2 * (c - kept)))
                c = kept
        self.top_mean = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.top_log_scale = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.dims = shape[0] * shape[1] * shape[2]
        self.lr, self.warmup, self.steps_taken, self.initialized = lr, warmup, 0, False
        self.optimizer = torch.optim.Adam(self.parameters(), lr=lr)

    def flow(self, y, initialize=False):
        n = y.size(0)
        logdet = torch.zeros(n)
        log_prior = torch.zeros(n)
        h = y
        for level, steps in enumerate(self.levels):
            h = squeeze2(h)
            for step in steps:
                h, logdet = step(h, logdet, initialize)
            z = h
            if level + 1 < len(self.levels):
                kept = h.size(1) // 2
                z, h = h.narrow(1, kept, h.size(1) - kept), h.narrow(1, 0, kept)
                out = self.split_priors[level](h)
                half = out.size(1) // 2
                mean, log_scale = out.narrow(1, 0, half), out.narrow(1, half, half)
            else:
                mean = self.top_mean.expand_as(z)
                log_scale = self.top_log_scale.expand_as(z)
            log_prior = log_prior + gaussian_log_prob(z, mean, log_scale)
        return logdet, log_prior

    @staticmethod
    def to_flow_input(x, u):
        k = torch.round((x + 1.0) * 127.5).clamp(0.0, 255.0)
        return (k + u) / 256.0 - 0.5

    def train_step(self, x):
        if not self.initialized:
            with torch.no_grad():
                self.flow(self.to_flow_input(x, torch.rand_like(x)), initialize=True)
            self.initialized = True
        self.train()
        warm = min(1.0, (self.steps_taken + 1) / self.warmup) if self.warmup > 0 else 1.0
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr * warm
        logdet, log_prior = self.flow(self.to_flow_input(x, torch.rand_like(x)))
        nll = (-(log_prior + logdet) + self.dims * math.log(256.0)).mean()
        bpd = nll / (self.dims * math.log(2.0))
        self.optimizer.zero_grad()
        bpd.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.parameters(), 50.0)
        self.optimizer.step()
        self.steps_taken += 1
        return [nll.item(), bpd.item(), float(grad_norm)]


# ---- PixelCNN (models/pixelcnn.cpp) -----------------------------------------------------------


def causal_mask(rows, cols, first, vertical):
    mask = torch.ones(1, 1, rows, cols)
    if first:
        if vertical:
            mask[:, :, rows - 1, :] = 0.0
        else:
            mask[:, :, :, cols - 1] = 0.0
    return mask


def gate(pre):
    a, b = pre.chunk(2, 1)
    return torch.tanh(a) * torch.sigmoid(b)


class GatedLayer(nn.Module):
    def __init__(self, cin, hidden, kernel, first):
        super().__init__()
        r = kernel // 2
        self.r, self.first = r, first
        self.vertical = nn.Conv2d(cin, 2 * hidden, (r + 1, kernel))
        self.horizontal = nn.Conv2d(cin, 2 * hidden, (1, r + 1))
        self.v_to_h = nn.Conv2d(2 * hidden, 2 * hidden, 1)
        self.residual = nn.Conv2d(hidden, hidden, 1)
        self.register_buffer("vertical_mask", causal_mask(r + 1, kernel, first, True))
        self.register_buffer("horizontal_mask", causal_mask(1, r + 1, first, False))

    def vertical_pre(self, v):
        w = self.vertical.weight * self.vertical_mask if self.first else self.vertical.weight
        return conv2d(v, w, self.vertical.bias, padding=(self.r, self.r))[:, :, :v.size(2)]

    def horizontal_out(self, h, v_pre):
        w = self.horizontal.weight * self.horizontal_mask if self.first else self.horizontal.weight
        pre = conv2d(h, w, self.horizontal.bias, padding=(0, self.r))[:, :, :, :h.size(3)]
        out = self.residual(gate(pre + self.v_to_h(v_pre)))
        return out if self.first else out + h


class PixelCNN(nn.Module):
    def __init__(self, shape, hidden=64, layers=7, kernel=5, lr=1e-3, warmup=50, decay=1.0,
                 levels=256):
        super().__init__()
        c = shape[0]
        self.gated = nn.ModuleList(
            [GatedLayer(c if l == 0 else hidden, hidden, kernel if l == 0 else 3, l == 0)
             for l in range(layers)])
        self.trunk = nn.Conv2d(hidden, hidden, 1)
        self.channel_inputs = nn.ModuleList(
            [nn.Conv2d(k, hidden, 1, bias=False) for k in range(1, c)])
        self.outputs = nn.ModuleList([nn.Conv2d(hidden, levels, 1) for _ in range(c)])
        self.channels, self.dims = c, shape[0] * shape[1] * shape[2]
        self.lr, self.warmup, self.decay, self.steps_taken = lr, warmup, decay, 0
        self.optimizer = torch.optim.Adam(self.parameters(), lr=lr)

    def forward(self, values):
        x = values.clamp_min(0).float() / 127.5 - 1.0
        v = h = x
        for layer in self.gated:
            v_pre = layer.vertical_pre(v)
            h = layer.horizontal_out(h, v_pre)
            v = gate(v_pre)
        t = self.trunk(torch.relu(h))
        logits = []
        for c in range(self.channels):
            u = t if c == 0 else t + self.channel_inputs[c - 1](x.narrow(1, 0, c))
            logits.append(self.outputs[c](torch.relu(u)))
        return torch.stack(logits, 2)

    def train_step(self, batch):
        self.train()
        lr = self.lr
        if self.warmup > 0 and self.steps_taken < self.warmup:
            lr *= (self.steps_taken + 1) / self.warmup
        lr *= self.decay ** (self.steps_taken // 1000)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        values = ((batch + 1.0) * 127.5).round().clamp(0, 255).long()
        nll = F.cross_entropy(self(values), values, reduction="none").flatten(1).sum(1).mean()
        self.optimizer.zero_grad()
        (nll / self.dims).backward()
        self.optimizer.step()
        self.steps_taken += 1
        loss = nll.item()
        return [loss, loss / (self.dims * math.log(2.0))]


# ---- VQ-VAE, phase 1 (models/vqvae.cpp) -------------------------------------------------------


class ResidualBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv3 = nn.Conv2d(channels, 32, 3, padding=1)
        self.conv1 = nn.Conv2d(32, channels, 1)

    def forward(self, x):
        return x + self.conv1(torch.relu(self.conv3(torch.relu(x))))


def flatten_grid(z):
    return z.permute(0, 2, 3, 1).reshape(-1, z.size(1))


def random_rows(flat, count):
    return flat.index_select(0, torch.randint(flat.size(0), (count,)))


class Codebook(nn.Module):
    def __init__(self, codes, dim, decay):
        super().__init__()
        self.decay = decay
        self.register_buffer("embedding", torch.randn(codes, dim))
        self.register_buffer("cluster_size", torch.zeros(codes))
        self.register_buffer("embedding_sum", self.embedding.clone())
        self.initialized = False

    def nearest(self, z):
        flat = flatten_grid(z)
        distances = (flat.pow(2).sum(1, keepdim=True) - 2.0 * flat.matmul(self.embedding.t())
                     + self.embedding.pow(2).sum(1).unsqueeze(0))
        return distances.argmin(1).view(z.size(0), z.size(2), z.size(3))

    def lookup(self, indices):
        return F.embedding(indices, self.embedding).permute(0, 3, 1, 2)

    @torch.no_grad()
    def initialize_from(self, z):
        flat = flatten_grid(z.detach())
        self.embedding.copy_(random_rows(flat, self.embedding.size(0)))
        self.embedding_sum.copy_(self.embedding)
        self.cluster_size.fill_(1.0)
        self.initialized = True

    @torch.no_grad()
    def update(self, z, indices):
        codes = self.embedding.size(0)
        flat = flatten_grid(z.detach())
        onehot = F.one_hot(indices.flatten(), codes).to(flat.dtype)
        self.cluster_size.mul_(self.decay).add_(onehot.sum(0), alpha=1.0 - self.decay)
        self.embedding_sum.mul_(self.decay).add_(onehot.t().matmul(flat), alpha=1.0 - self.decay)
        n = self.cluster_size.sum()
        smoothed = (self.cluster_size + 1e-5) / (n + codes * 1e-5) * n
        self.embedding.copy_(self.embedding_sum / smoothed.unsqueeze(1))
        dead = (self.cluster_size < 0.03).nonzero().flatten()
        restarted = dead.size(0)
        if restarted > 0:
            fresh = random_rows(flat, restarted)
            self.embedding.index_copy_(0, dead, fresh)
            self.embedding_sum.index_copy_(0, dead, fresh)
            self.cluster_size.index_fill_(0, dead, 1.0)
        return restarted


class VQVAE(nn.Module):
    def __init__(self, shape, hidden=64, codes=64, code_dim=16, beta=0.25, decay=0.99, lr=1e-3):
        super().__init__()
        c, h = shape[0], hidden
        self.encoder = nn.Sequential(nn.Conv2d(c, h, 4, 2, 1), nn.ReLU(), nn.Conv2d(h, h, 4, 2, 1),
                                     ResidualBlock(h), ResidualBlock(h), nn.ReLU(),
                                     nn.Conv2d(h, code_dim, 1))
        self.decoder = nn.Sequential(nn.Conv2d(code_dim, h, 3, padding=1), ResidualBlock(h),
                                     ResidualBlock(h), nn.ReLU(),
                                     nn.ConvTranspose2d(h, h, 4, 2, 1), nn.ReLU(),
                                     nn.ConvTranspose2d(h, c, 4, 2, 1), nn.Tanh())
        self.codebook = Codebook(codes, code_dim, decay)
        self.log_scale = nn.Parameter(torch.full((1,), -2.0))
        self.register_buffer("steps_taken", torch.zeros(1, dtype=torch.long))
        self.codes, self.beta = codes, beta
        self.optimizer = torch.optim.Adam(self.parameters(), lr=lr)

    def train_step(self, x):
        self.train()
        z = self.encoder(x)
        if not self.codebook.initialized:
            self.codebook.initialize_from(z)
        indices = self.codebook.nearest(z.detach())
        q = self.codebook.lookup(indices)
        commit = (z - q).pow(2).mean()
        mean = self.decoder(z + (q - z).detach())
        mse = (mean - x).pow(2).mean()
        scale_nll = -discretized_logistic_log_prob(
            x, mean.detach(), self.log_scale.clamp(-7.0, 2.0)).mean()
        loss = mse + self.beta * commit
        self.optimizer.zero_grad()
        (loss + scale_nll).backward()
        self.optimizer.step()
        restarted = self.codebook.update(z, indices)
        counts = torch.bincount(indices.flatten(), minlength=self.codes).double()
        p = counts / counts.sum()
        perplexity = math.exp(-(p * torch.log(p + 1e-12)).sum().item())
        self.steps_taken.add_(1)
        return [loss.item(), mse.item(), commit.item(), perplexity, float(restarted)]


FAMILIES = {"vae": VAE, "dcgan": DCGAN, "glow": Glow, "pixelcnn": PixelCNN, "vqvae": VQVAE}

# ---- data and the loop ------------------------------------------------------------------------


def load_fashion_mnist(folder, limit):
    with gzip.open(os.path.join(folder, "train-images-idx3-ubyte.gz"), "rb") as f:
        raw = f.read()
    count = int.from_bytes(raw[4:8], "big")
    images = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(count, 1, 28, 28)
    if limit > 0:
        images = images[:limit]
    return torch.from_numpy(images.copy()).float().div_(127.5).sub_(1.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", required=True, choices=sorted(FAMILIES))
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.device != "cpu":
        print("only the CPU is supported by the references", file=sys.stderr)
        return 2
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    images = load_fashion_mnist(args.data, args.limit)
    loader = DataLoader(TensorDataset(images), batch_size=args.batch, shuffle=True,
                        drop_last=True)
    model = FAMILIES[args.family](tuple(images.shape[1:]))
    add_counting_hooks(model)

    total = args.warmup + args.steps
    done, start = 0, None
    while done < total:
        for (batch,) in loader:
            if done == args.warmup:
                start = time.perf_counter()
            # The last warm-up step (or the first, without warm-up) is the one counted.
            COUNTER["on"] = done == max(0, args.warmup - 1)
            model.train_step(batch)
            COUNTER["on"] = False
            done += 1
            if done == total:
                break
    seconds = time.perf_counter() - start
    print(json.dumps({
        "family": args.family,
        "images_per_second": args.steps * args.batch / seconds,
        "steps": args.steps,
        "seconds": seconds,
        "flops_per_image": 3 * COUNTER["flops"] / args.batch,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
