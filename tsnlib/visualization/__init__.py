"""Looking inside a TSN: per-snippet Grad-CAM, score timelines, class models, embeddings, mistakes, videos.

Introduced in notebooks/06_model_visualization.ipynb, which calls it through this package
(``visualization.explain_video``, ...); ``tsnlib predict VIDEO --checkpoint CKPT --out OUT.mp4``
calls :func:`write_prediction_video`. One idea per module; a module imports only those above it:

==================  =============================================================================
``geometry``        how a frame becomes the network input, and a heatmap goes back onto the frame
``targets``         target layers: where in a backbone Grad-CAM looks
``cam``             Grad-CAM (any method of the ``grad-cam`` package) on each view of a TSN
``explain``         one video explained: a heatmap per sampled snippet on its frame; their pictures
``box_metric``      how much of the heatmap falls on the synthetic actor's box
``class_models``    the paper's class models: inputs that maximise a class score
``embeddings``      video features, t-SNE, nearest-neighbour accuracy, the gallery of mistakes
``video``           writing videos, and a video with the model's labels and heatmaps
==================  =============================================================================

Every figure is returned as a matplotlib figure, as everywhere in ``tsnlib``; overlays are drawn
with OpenCV.
"""

from __future__ import annotations

from tsnlib.visualization.box_metric import cam_box_scores, cam_mass_in_box, plot_mass_vs_share
from tsnlib.visualization.cam import CAM_METHODS, ViewCams, ViewScorer, cam_class, view_cams
from tsnlib.visualization.class_models import (
    ClassModels,
    class_model_visualization,
    flow_input_to_color,
    input_to_rgb,
    plot_class_models,
)
from tsnlib.visualization.embeddings import (
    VideoEmbeddings,
    knn_accuracy,
    misclassified,
    plot_embedding,
    plot_misclassified,
    tsne_2d,
    video_embeddings,
)
from tsnlib.visualization.explain import (
    VideoExplanation,
    explain_video,
    overlay_heatmap,
    plot_score_timeline,
    plot_segment_cams,
    read_display_frames,
)
from tsnlib.visualization.geometry import GEOMETRIES, box_is_empty, cam_to_frame, input_region, views_transform
from tsnlib.visualization.targets import candidate_target_layers, default_target_layer, resolve_target_layer
from tsnlib.visualization.video import write_prediction_video, write_video

__all__ = [
    "CAM_METHODS",
    "GEOMETRIES",
    "ViewScorer",
    "ViewCams",
    "VideoExplanation",
    "ClassModels",
    "VideoEmbeddings",
    "cam_class",
    "candidate_target_layers",
    "default_target_layer",
    "resolve_target_layer",
    "view_cams",
    "input_region",
    "views_transform",
    "cam_to_frame",
    "cam_mass_in_box",
    "box_is_empty",
    "cam_box_scores",
    "plot_mass_vs_share",
    "read_display_frames",
    "explain_video",
    "overlay_heatmap",
    "plot_segment_cams",
    "plot_score_timeline",
    "class_model_visualization",
    "input_to_rgb",
    "flow_input_to_color",
    "plot_class_models",
    "video_embeddings",
    "tsne_2d",
    "knn_accuracy",
    "plot_embedding",
    "misclassified",
    "plot_misclassified",
    "write_video",
    "write_prediction_video",
]
