"""A run's report: a markdown table of metrics and complexity, and a spectrogram figure."""
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from ..models import DeepMaskBaseModel  # noqa: E402
from ..tools.complexity import count_complexity  # noqa: E402
from .breakdown import format_package_table, learning_curve, per_package_metrics, plot_learning_curve, test_set_sections  # noqa: E402


def plot_example(example_dir, png_path) -> Path:
    """Spectrograms of an example folder: mixture, then each reference beside its estimate."""
    example_dir = Path(example_dir)
    references = sorted(p for p in example_dir.glob("s*.wav") if "estimate" not in p.name)
    n_src = len(references)
    fig, axes = plt.subplots(n_src + 1, 2, figsize=(11, 2.4 * (n_src + 1)), sharex=True, sharey=True, squeeze=False)
    panels = [(axes[0, 0], example_dir / "mixture.wav", "mixture")]
    axes[0, 1].axis("off")
    for k, reference in enumerate(references, start=1):
        panels.append((axes[k, 0], reference, f"reference s{k}"))
        panels.append((axes[k, 1], example_dir / f"s{k}_estimate.wav", f"estimate s{k}"))
    dither = np.random.default_rng(0)
    for ax, path, title in panels:
        wav, rate = sf.read(path)
        wav = wav + 1e-8 * dither.standard_normal(len(wav))  # so that digital silence has a level
        ax.specgram(wav, NFFT=256, Fs=rate, noverlap=192, cmap="magma", vmin=-130)
        ax.set_title(title, fontsize=9)
        ax.set_ylabel("Hz")
    for ax in axes[-1]:
        ax.set_xlabel("s")
    fig.tight_layout()
    png_path = Path(png_path)
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
    return png_path


def load_evaluated_experiment(exp_dir):
    """The model, test means and training facts of a trained and evaluated experiment folder."""
    exp_dir = Path(exp_dir)
    for required in (exp_dir / "best_model.pth", exp_dir / "eval" / "final_metrics.json"):
        if not required.is_file():
            raise FileNotFoundError(f"{required} is missing: train and evaluate the experiment first.")
    model = DeepMaskBaseModel.from_pretrained(str(exp_dir / "best_model.pth"))
    final = json.loads((exp_dir / "eval" / "final_metrics.json").read_text())
    infos_path = exp_dir / "best_model.json"
    infos = json.loads(infos_path.read_text()) if infos_path.is_file() else {}
    return model, final, infos


def write_report(exp_dir) -> Path:
    """``report.md`` and ``spectrograms.png`` in ``exp_dir`` from its model and ``eval/`` results."""
    exp_dir = Path(exp_dir)
    model, final, infos = load_evaluated_experiment(exp_dir)
    cost = count_complexity(model, seconds=4.0)
    lines = [
        f"# {exp_dir.name}: {type(model).__name__}",
        "",
        "| SI-SDRi (dB) | SDRi (dB) | SI-SDR (dB) | SDR (dB) | input SI-SDR (dB) | utterances | Params (M) | MACs (G, 4 s) |",
        "|---|---|---|---|---|---|---|---|",
        f"| {final['si_sdri']:.2f} | {final['sdri']:.2f} | {final['si_sdr']:.2f} | {final['sdr']:.2f} | "
        f"{final['input_si_sdr']:.2f} | {final['n_utterances']} | {cost['params_m']:.3f} | {cost['macs_g']:.2f} |",
        "",
        f"Model arguments: `{json.dumps(model.get_model_args())}`",
        "",
        f"Training: `{json.dumps(infos.get('training', {}))}`",
        "",
        "Per-utterance metrics: `eval/all_metrics.csv`. Listen: `eval/examples/ex_*/`.",
    ]
    examples = sorted((exp_dir / "eval" / "examples").glob("ex_*"))
    if examples:
        plot_example(examples[0], exp_dir / "spectrograms.png")
        lines += ["", f"![Spectrograms of {examples[0].name}](spectrograms.png)"]
    packages = per_package_metrics(exp_dir) if (exp_dir / "conf.yml").is_file() else None
    if packages is not None:
        lines += ["", "## Per package (a mixture counts under each package of its speakers)", "", format_package_table(packages)]
    extra = test_set_sections(exp_dir)
    if extra:
        lines += ["", *extra[:-1]]
    curve = learning_curve(exp_dir)
    if curve is not None and len(curve):
        plot_learning_curve(curve, exp_dir / "learning_curve.png")
        lines += ["", "## Learning curve", "", "![Learning curve](learning_curve.png)"]
    report = exp_dir / "report.md"
    report.write_text("\n".join(lines) + "\n")
    return report


def _masks_in_reference_order(model, mixture, references):
    """The model's branch masks ``(P, N, frames)``, groups reordered so that group k estimates reference k."""
    import torch
    from asteroid.losses import PITLossWrapper, pairwise_neg_sisdr
    from asteroid.utils.torch_utils import pad_x_to_y

    from ..masknn.head import group_masks

    n_src = references.shape[0]
    with torch.no_grad():  # the model's forward, keeping the masks before grouping
        encoded = model.forward_encoder(mixture[None])
        branches = model.masker.branch_masks(encoded)
        decoded = model.forward_decoder(model.apply_masks(encoded, group_masks(branches, n_src)))
        estimates = pad_x_to_y(decoded, mixture[None])
    _, order = PITLossWrapper.find_best_perm(pairwise_neg_sisdr(estimates, references[None]))
    per_group = branches.shape[1] // n_src
    return torch.cat([branches[0, g * per_group : (g + 1) * per_group] for g in order[0].tolist()]).numpy(), per_group


def plot_head_masks(overseparation_model, deepmask_model, example_dir, png_path) -> Path:
    """What the heads do on one example: every branch mask of the overseparation model (a row per
    source), their group sums, and the deep mask model's masks, in the encoder's filter domain."""
    import torch

    example_dir = Path(example_dir)
    mixture = torch.from_numpy(sf.read(example_dir / "mixture.wav", dtype="float32")[0])
    references = torch.stack([torch.from_numpy(sf.read(p, dtype="float32")[0])
                              for p in sorted(example_dir.glob("s*.wav")) if "estimate" not in p.name])  # fmt: skip
    branches, per_group = _masks_in_reference_order(overseparation_model.eval(), mixture, references)
    deep, _ = _masks_in_reference_order(deepmask_model.eval(), mixture, references)
    n_src = references.shape[0]
    vmax = max(np.percentile(branches.reshape(n_src, per_group, -1).sum(1), 99), np.percentile(deep, 99))
    fig, axes = plt.subplots(n_src, per_group + 2, figsize=(1.3 * (per_group + 2) + 1, 1.9 * n_src), sharex=True, sharey=True, squeeze=False)
    for k in range(n_src):
        group = branches[k * per_group : (k + 1) * per_group]
        panels = [(m, f"branch {k * per_group + i + 1}") for i, m in enumerate(group)]
        panels += [(group.sum(0), f"group sum, s{k + 1}"), (deep[k], f"MLP mask, s{k + 1}")]
        for ax, (mask, title) in zip(axes[k], panels):
            image = ax.imshow(mask, origin="lower", aspect="auto", cmap="viridis", vmin=0, vmax=vmax)
            ax.set_title(title, fontsize=7)
            ax.tick_params(labelsize=6)
        axes[k, 0].set_ylabel("filter", fontsize=7)
    for ax in axes[-1]:
        ax.set_xlabel("frame", fontsize=7)
    fig.colorbar(image, ax=axes, shrink=0.8, label="mask")
    png_path = Path(png_path)
    fig.savefig(png_path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return png_path
