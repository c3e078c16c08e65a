#!/usr/bin/env python3
"""Prints the README's table of shipped models from the `eval --json` block in each recipe.

usage: scripts/model-table.py [models/pretrained]

Each row is the last JSON block with "metrics" in FAMILY_DATASET.md, so the table says what the
recipes say; rerun it after a recipe changes and paste the output into the README.
"""
import json
import pathlib
import re
import sys

TITLES = {"vae": "VAE", "dcgan": "DCGAN", "glow": "Glow", "pixelcnn": "PixelCNN",
          "vqvae": "VQ-VAE", "vaegan": "VAE-GAN", "vqvae2": "VQ-VAE-2"}
EXACT = {"glow", "pixelcnn"}  # bits/dim is exact; the others report a bound


def last_eval(text):
    found = None
    for block in re.findall(r"```json\n(.*?)\n```", text, re.S):
        data = json.loads(block)
        if "metrics" in data:
            found = data
    return found


def cell(value, form):
    return "–" if value is None else form.format(value)


def main():
    folder = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "models/pretrained")
    rows = []
    for recipe in sorted(folder.glob("*.md")):
        family, _, dataset = recipe.stem.partition("_")
        if family not in TITLES:
            continue  # the classifiers
        data = last_eval(recipe.read_text())
        if data is None:
            sys.exit(f"{recipe}: no `eval --json` block with metrics")
        m = data["metrics"]
        bpd = m.get("bpd")
        fd, floor = m.get("classifier_fd"), m.get("classifier_fd_floor")
        rows.append((dataset, TITLES[family],
                     cell(bpd, "{:.3f}" + ("" if family in EXACT else " (bound)")),
                     cell(fd, "{:.1f}") + ("" if fd is None else f" ({floor:.1f})"),
                     cell(m.get("sample_sharpness_rel"), "{:.2f}×"),
                     cell(m.get("recon_mse"), "{:.4f}"),
                     str(data.get("samples", "–")),
                     f"{data.get('temperature', 1.0):g}"))
    print("| dataset | model | bits/dim | classifier FD (floor) | sample sharpness × data "
          "| recon MSE | samples | T |")
    print("|---|---|---|---|---|---|---|---|")
    for row in sorted(rows):
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
