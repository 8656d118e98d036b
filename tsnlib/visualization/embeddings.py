"""What the classifier sees: video embeddings, their t-SNE map and neighbours, and the mistakes.

:func:`video_embeddings` gives each video's pooled features (:meth:`tsnlib.models.TSN.features`,
averaged over its views) and scores; :func:`tsne_2d` maps them to 2-D, :func:`knn_accuracy` asks
whether videos of one class are close in feature space, :func:`plot_embedding` draws the map.
:func:`misclassified` and :func:`plot_misclassified`: a gallery of the most confident mistakes with
their sampled frames.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch.utils.data import DataLoader

from tsnlib.evaluation import softmax
from tsnlib.models import unwrap_model
from tsnlib.plotting import class_label
from tsnlib.precision import model_device
from tsnlib.visualization.cam import video_consensus
from tsnlib.visualization.explain import read_display_frames


@dataclasses.dataclass
class VideoEmbeddings:
    """What :func:`video_embeddings` returns, one row per video.

    ``features`` float32 ``(N, D)`` (pooled backbone features averaged over the views),
    ``scores`` float32 ``(N, num_classes)`` (the model's consensus), ``labels`` int64 ``(N,)``,
    ``video_ids``, ``paths`` (lists of N), ``frame_indices`` int64 ``(N, K, L)``.
    """

    features: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    video_ids: list
    paths: list
    frame_indices: np.ndarray


def video_embeddings(model, dataset, batch_size: int = 4, num_workers: int = 0, max_views_per_forward: int = 64,
                     device=None) -> VideoEmbeddings:
    """The feature vector of every video of a dataset (what the classifier sees), plus its scores.

    Introduced in notebooks/06_model_visualization.ipynb.

    ``dataset``: a :class:`tsnlib.datasets.TSNDataset` with a deterministic sampler and transform
    (e.g. the ``val`` dataset of :func:`tsnlib.experiment.build_datasets`: K segment centres, one
    centre crop), items ``imgs`` ``(V, C, H, W)``. Each view goes through
    :meth:`tsnlib.models.TSN.features` (backbone and global pooling, before dropout and classifier),
    at most ``max_views_per_forward`` views per call; a video's embedding is the mean over its views
    ``(D,)``. Scores are the classifier applied to each view's features, reduced by the model's
    consensus (equal to ``model(imgs)`` in eval mode). Runs under ``torch.inference_mode`` in eval
    mode (restored afterwards).
    """
    tsn = unwrap_model(model)
    if device is not None:
        tsn.to(torch.device(device))
    device = model_device(tsn)
    loader = DataLoader(dataset, batch_size=int(batch_size), shuffle=False, num_workers=int(num_workers))
    records = getattr(dataset, "records", None)
    feats, scores, labels, ids, paths, frames = [], [], [], [], [], []
    was_training = tsn.training
    tsn.eval()
    try:
        with torch.inference_mode():
            for batch in loader:
                imgs = batch["imgs"]
                b, v = imgs.shape[:2]
                per_call = max(1, int(max_views_per_forward) // max(v, 1))
                f = torch.cat([tsn.features(imgs[i:i + per_call].to(device)).float().cpu()
                               for i in range(0, b, per_call)])  # (B, V, D)
                view_scores = tsn.fc(f.to(device)).float()  # (B, V, C): forward_views without dropout
                scores.append(video_consensus(tsn, view_scores).cpu().numpy())
                feats.append(f.mean(1).numpy())
                labels.extend(int(x) for x in batch["label"])
                frames.append(batch["frame_indices"].numpy())
                for i in batch["index"].tolist():
                    rec = records[int(i)] if records is not None else None
                    ids.append(str(getattr(rec, "video_id", i)))
                    paths.append(str(getattr(rec, "path", "")))
    finally:
        tsn.train(was_training)
    return VideoEmbeddings(features=np.concatenate(feats).astype(np.float32), scores=np.concatenate(scores).astype(np.float32),
                           labels=np.asarray(labels, np.int64), video_ids=ids, paths=paths,
                           frame_indices=np.concatenate(frames).astype(np.int64))


def tsne_2d(features: np.ndarray, seed: int = 0, perplexity: float | None = None) -> np.ndarray:
    """A 2-D t-SNE map of feature vectors ``(N, D)`` → ``(N, 2)`` (scikit-learn, PCA init, seeded).

    Introduced in notebooks/06_model_visualization.ipynb. ``perplexity`` (roughly the number of
    neighbours each point keeps close) defaults to ``min(30, (N - 1) / 3)``, since it must stay below
    ``N``. t-SNE keeps neighbourhoods, not distances: the size of a cluster and the gap between two
    clusters carry no meaning.
    """
    from sklearn.manifold import TSNE  # here, not at the top: scikit-learn takes seconds to import


    x = np.asarray(features, dtype=np.float32)
    n = x.shape[0]
    if n < 3:
        raise ValueError(f"t-SNE needs at least 3 points, got {n}")
    p = float(perplexity) if perplexity is not None else min(30.0, (n - 1) / 3.0)
    p = min(max(p, 1.0), n - 1.0)
    return TSNE(n_components=2, perplexity=p, init="pca", learning_rate="auto", random_state=int(seed)).fit_transform(x)


def knn_accuracy(features: np.ndarray, labels: np.ndarray, k: int = 1) -> float:
    """Leave-one-out k-nearest-neighbour accuracy in feature space (cosine similarity, majority vote).

    Introduced in notebooks/06_model_visualization.ipynb: a number for "are videos of one class
    close together?", measured on the features themselves rather than on a 2-D picture of them.
    Ties in the vote go to the nearest neighbour's class.
    """
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels).astype(np.int64)
    if len(x) < 2:
        raise ValueError("knn_accuracy needs at least 2 points")
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    sim = x @ x.T
    np.fill_diagonal(sim, -np.inf)
    k = max(1, min(int(k), len(x) - 1))
    nn_idx = np.argsort(-sim, axis=1, kind="stable")[:, :k]
    correct = 0
    for i, row in enumerate(nn_idx):
        votes = np.bincount(y[row], minlength=y.max() + 1)
        best = np.flatnonzero(votes == votes.max())
        pred = y[row[0]] if y[row[0]] in best else best[0]
        correct += int(pred == y[i])
    return correct / len(x)


def plot_embedding(xy: np.ndarray, labels: np.ndarray, class_names: Sequence[str] | None = None,
                   groups: dict | None = None, title: str | None = None):
    """A scatter plot of a 2-D embedding, one colour per class (and one marker per class group).

    Introduced in notebooks/06_model_visualization.ipynb. ``groups``: optional ``{group: [class
    names]}`` (e.g. :data:`tsnlib.synthetic.CLASS_GROUPS`): classes of one group share a marker.
    Returns the figure.
    """
    xy = np.asarray(xy, dtype=np.float64)
    labels = np.asarray(labels).astype(np.int64)
    markers = ["o", "^", "s", "D", "v", "P", "X"]
    group_of = {}
    for gi, (g, names) in enumerate((groups or {}).items()):
        for n in names:
            group_of[n] = (g, markers[gi % len(markers)])
    cmap = plt.get_cmap("tab20")
    fig, ax = plt.subplots(figsize=(7.0, 5.0))
    for c in np.unique(labels):
        name = class_label(class_names, int(c))
        _, marker = group_of.get(name, (None, "o"))
        sel = labels == c
        ax.scatter(xy[sel, 0], xy[sel, 1], s=28, color=cmap(int(c) % 20), marker=marker, label=name,
                   edgecolors="k", linewidths=0.3)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), ncol=1)
    ax.set_title(title or "video embeddings (t-SNE)")
    fig.tight_layout()
    return fig


def misclassified(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Indices of the videos whose top-1 class is wrong, most confident mistakes first.

    Introduced in notebooks/06_model_visualization.ipynb. ``scores``: ``(N, num_classes)``;
    ``labels``: ``(N,)``. Ordered by the softmax probability of the wrong prediction, descending.
    """
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels).astype(np.int64)
    pred = scores.argmax(1)
    wrong = np.flatnonzero(pred != labels)
    conf = softmax(scores)[wrong, pred[wrong]]
    return wrong[np.argsort(-conf, kind="stable")]


def plot_misclassified(paths: Sequence, frame_indices: np.ndarray, scores: np.ndarray, labels: np.ndarray,
                       class_names: Sequence[str], max_videos: int = 6, topk: int = 3, max_frames: int = 5,
                       title: str | None = None):
    """A gallery of misclassified videos: their sampled frames and top-k scores; returns the figure.

    Introduced in notebooks/06_model_visualization.ipynb. ``paths``: each video's file or RGB frame
    folder; ``frame_indices``: ``(N, K, L)`` the frames each snippet was built from (the middle one
    of each snippet is shown, at most ``max_frames``); ``scores``: ``(N, num_classes)`` video
    scores; ``labels``: ``(N,)``. The ``max_videos`` most confident mistakes (:func:`misclassified`)
    get one row each: frames, then a bar chart of the top-``topk`` probabilities (softmax of the
    scores) with the true class in green. A figure that says "no mistakes" is returned when there
    are none.
    """
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels).astype(np.int64)
    frame_indices = np.asarray(frame_indices).astype(np.int64)
    rows = misclassified(scores, labels)[: int(max_videos)]
    if len(rows) == 0:
        fig, ax = plt.subplots(figsize=(5, 1.2))
        ax.axis("off")
        ax.text(0.5, 0.5, "no misclassified videos", ha="center", va="center")
        return fig
    k = min(frame_indices.shape[1], int(max_frames))
    probs = softmax(scores)
    fig, axes = plt.subplots(len(rows), k + 1, figsize=(1.9 * k + 3.2, 1.7 * len(rows) + 0.5), squeeze=False,
                             gridspec_kw={"width_ratios": [1] * k + [1.6]})
    for r, i in enumerate(rows):
        pick = np.linspace(0, frame_indices.shape[1] - 1, k).round().astype(int)
        shown = frame_indices[i][pick, frame_indices.shape[2] // 2]
        frames = read_display_frames(paths[i], shown)
        for j in range(k):
            ax = axes[r, j]
            ax.imshow(frames[j])
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            ax.set_title(f"frame {int(shown[j])}", fontsize=7)
            if j == 0:
                ax.set_ylabel(Path(str(paths[i])).stem[:22], fontsize=7)
        ax = axes[r, k]
        top = np.argsort(-probs[i], kind="stable")[: int(topk)]
        colours = ["tab:green" if c == labels[i] else "tab:red" for c in top]
        ax.barh(range(len(top))[::-1], probs[i, top], color=colours)
        ax.set_yticks(range(len(top))[::-1])
        ax.set_yticklabels([class_label(class_names, int(c)) for c in top], fontsize=7)
        ax.set_xlim(0, 1)
        ax.tick_params(axis="x", labelsize=6)
        ax.set_title(f"true: {class_label(class_names, int(labels[i]))}", fontsize=8, color="tab:green")
    fig.suptitle(title or f"{len(misclassified(scores, labels))} misclassified videos; the most confident first",
                 fontsize=10)
    fig.tight_layout()
    return fig
