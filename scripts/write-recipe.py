#!/usr/bin/env python3
"""Writes the recipe (FAMILY_DATASET.md) beside a shipped checkpoint from what the CLI printed.

usage: write-recipe.py CHECKPOINT TRAIN_JSON EVAL_JSON METRICS_JSONL [--note TEXT] [--extra-command CMD]

CHECKPOINT      the shipped .lec (its header carries the exact training command)
TRAIN_JSON      the JSON `latent-explorer-cli train --json` printed (status, steps, wall_s, test)
EVAL_JSON       the JSON `latent-explorer-cli eval --json` printed
METRICS_JSONL   the run's metrics.jsonl (the held-out curve)
"""
import argparse
import json
import os
import platform
import re
import subprocess


def header_of(path):
    with open(path, "rb") as f:
        assert f.readline().strip() == b"LATENT-EXPLORER-CHECKPOINT", path
        length = int(f.readline())
        return json.loads(f.read(length))


def machine():
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()}-core {cpu}, {platform.system()} {platform.release()}"


def first_json(text):
    return json.loads(text[text.index("{"):])


def curve(path, keys):
    rows = []
    with open(path) as f:
        for line in f:
            entry = json.loads(line)
            if "test" in entry:
                rows.append((entry["step"], [entry["test"].get(k) for k in keys]))
    return rows


def main():
    p = argparse.ArgumentParser()
    p.add_argument("checkpoint")
    p.add_argument("train_json")
    p.add_argument("eval_json")
    p.add_argument("metrics_jsonl")
    p.add_argument("--note", default="")
    p.add_argument("--description", default="")
    p.add_argument("--extra-command", action="append", default=[])
    a = p.parse_args()

    header = header_of(a.checkpoint)
    train = first_json(open(a.train_json).read())
    evaluation = first_json(open(a.eval_json).read())
    name = os.path.basename(a.checkpoint)
    recipe = header.get("extra", {}).get("recipe", {})
    command = recipe.get("command", "?")
    command = re.sub(r"--out \S+", f"--out models/pretrained/{name}", command)
    command = re.sub(r" --run-dir \S+", "", command)
    seed = re.search(r"--seed (\d+)", command)
    keys = [k for k in ("bpd", "recon_mse", "prior_nll", "loss") if k in train.get("test", {})][:3]

    out = [f"# {name}", ""]
    if a.description:
        out += [a.description, ""]
    out += ["## Recipe", "```sh",
            "OMP_WAIT_POLICY=passive LE_TORCH_THREADS=%s build/app/%s" %
            (recipe.get("threads", "?"), command)]
    out += a.extra_command
    out += ["```",
            f"- family `{header['family']}`, dataset `{header['dataset']}` "
            f"({'×'.join(str(d) for d in header['image_shape'])}), "
            f"seed {seed.group(1) if seed else '?'}, {train.get('steps')} steps",
            f"- config: `{json.dumps(header['config'], sort_keys=True)}`",
            f"- wall time {train.get('wall_s', 0):.0f} s on {machine()}, LibTorch "
            f"{recipe.get('threads', '?')} thread(s), while other training runs and builds shared "
            "the two cores (uncontended runs are faster; the numbers do not depend on it)",
            ""]
    if a.note:
        out += [a.note, ""]
    out += ["## Held-out metrics", "",
            "`latent-explorer-cli eval --checkpoint models/pretrained/%s --json`:" % name,
            "```json", json.dumps(evaluation, indent=4, sort_keys=True), "```", ""]
    rows = curve(a.metrics_jsonl, keys)
    if rows and keys:
        out += ["## Training curve (first 2000 test images)",
                "| step | " + " | ".join(keys) + " |",
                "|---" * (len(keys) + 1) + "|"]
        for step, values in rows:
            out.append(f"| {step} | " + " | ".join(
                "–" if v is None else f"{v:.4g}" for v in values) + " |")
        out.append("")
    out += ["`tests/tst_pretrained` checks that the file still meets the held-out metrics its "
            "header records.", ""]
    target = os.path.splitext(a.checkpoint)[0] + ".md"
    with open(target, "w") as f:
        f.write("\n".join(out))
    print(target)


if __name__ == "__main__":
    main()
