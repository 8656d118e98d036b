"""Optical flow for the temporal stream: from two frames to a dataset of flow JPEGs.

Introduced in notebooks/04_optical_flow_stream.ipynb, which calls everything through this package
(``flow.FlowEstimator``, ``flow.quantize_flow``, ``flow.prepare_flow_dataset``, ...). One idea per module,
from the formulas up:

============================  ==================================================================
module                        idea
============================  ==================================================================
:mod:`.quantization`          flow in pixels ↔ grey levels of a flow JPEG (§3.6), the flip that negates x
:mod:`.estimation`            the flow of a frame pair: DIS, Farneback, TV-L1, RAFT, warped flow
:mod:`.pictures`              the colour wheel, one pair's frames beside its flow JPEGs
:mod:`.quality`               end-point error against the synthetic set's true motion, speed
:mod:`.extraction`            frame folders of a whole dataset, list files, the ``flow.json`` stamp
============================  ==================================================================

The frame-folder layout itself (names, counting, atomic writing, the resumable loop over videos)
is :mod:`tsnlib.frame_folders`; the camera's motion that warped flow removes is
:mod:`tsnlib.camera_motion`; ``tsnlib flow`` is :mod:`tsnlib.commands.extract`.
"""

from tsnlib.flow.estimation import (
    FLOW_METHODS,
    FlowEstimator,
    FlowUnavailableError,
    available_flow_methods,
    raft_weights_path,
)
from tsnlib.flow.extraction import (
    FLOW_STAMP,
    extract_dataset_flow,
    extract_video_flow,
    prepare_flow_dataset,
    write_flow_folder,
    write_flow_lists,
)
from tsnlib.flow.pictures import flow_to_color, plot_flow_pair
from tsnlib.flow.quality import endpoint_error, format_flow_scores, score_flow_methods
from tsnlib.flow.quantization import DEFAULT_BOUND, dequantize_flow, flip_flow_x, quantize_flow

__all__ = [
    "DEFAULT_BOUND",
    "FLOW_METHODS",
    "FLOW_STAMP",
    "FlowEstimator",
    "FlowUnavailableError",
    "available_flow_methods",
    "dequantize_flow",
    "endpoint_error",
    "extract_dataset_flow",
    "extract_video_flow",
    "flip_flow_x",
    "flow_to_color",
    "format_flow_scores",
    "plot_flow_pair",
    "prepare_flow_dataset",
    "quantize_flow",
    "raft_weights_path",
    "score_flow_methods",
    "write_flow_folder",
    "write_flow_lists",
]
