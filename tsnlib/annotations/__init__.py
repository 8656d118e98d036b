"""Annotations: which videos (or frame folders) a dataset has, their labels, and the list files.

Introduced in notebooks/01_data_preparation.ipynb.

Every reader returns ``(records, label_map)``: a list of :class:`VideoRecord` (one per video file or
frame folder, with a 0-based ``label`` and the ``source`` line it came from, e.g.
``"trainlist01.txt:17"``) and the :class:`LabelMap` of class names. One module per idea:

=====================  ==========================================================================
module                 what
=====================  ==========================================================================
``records``            :class:`VideoRecord`, :class:`LabelMap` (``classInd.txt``), the names of the
                       layouts, list kinds and subsets, and the plumbing every reader shares
``official``           UCF101 (:func:`read_ucf101`) and HMDB51 (:func:`read_hmdb51`) from their
                       official split files
``lists``              MMAction2-style list files: :func:`read_list_file`, :func:`write_list_file`
``folders``            a frame folder's files (:func:`scan_frame_folder`) and a folder per class
                       (:func:`read_class_folders`)
``benchmarks``         Kinetics, Something-Something, Diving48, Moments, ActivityNet, HVU from their
                       official files (readers in ``benchmark_readers``, file plumbing in
                       ``benchmark_files``)
``layouts``            any dataset path: :func:`detect_layout`, :func:`load_annotations`,
                       :func:`available_subsets`, and :func:`build_lists`, which writes the lists
=====================  ==========================================================================

Layouts understood: UCF101 and HMDB51 roots, MMAction2 list files (``"path label"`` for videos,
``"frame_dir total_frames label"`` for frame folders; multi-label and offset lines), a folder per
class (optionally under ``train/`` and ``test/``), and the benchmarks of :data:`BENCHMARK_LAYOUTS`.
:func:`load_annotations` recognises the layout by itself.

Bad annotations raise :class:`~tsnlib.errors.AnnotationError` naming the file and the line
(``... [ucfTrainTestlist/trainlist01.txt; from trainlist01.txt:17]``); nothing is silently dropped.
The names below are the public ones; import them from ``tsnlib.annotations``.
"""

from __future__ import annotations

from tsnlib.annotations.folders import FRAME_FILE, read_class_folders, scan_frame_folder
from tsnlib.annotations.layouts import available_subsets, build_lists, detect_layout, load_annotations
from tsnlib.annotations.lists import read_list_file, write_list_file
from tsnlib.annotations.official import read_hmdb51, read_ucf101
from tsnlib.annotations.records import (
    BENCHMARK_LAYOUTS,
    LAYOUTS,
    LIST_KINDS,
    MULTI_LABEL_LAYOUTS,
    MULTI_LABEL_LIST_NAMES,
    SUBSETS,
    VIDEO_EXTENSIONS,
    LabelMap,
    VideoRecord,
    write_label_map,
)

__all__ = [
    "VIDEO_EXTENSIONS",
    "LAYOUTS",
    "BENCHMARK_LAYOUTS",
    "MULTI_LABEL_LAYOUTS",
    "MULTI_LABEL_LIST_NAMES",
    "LIST_KINDS",
    "SUBSETS",
    "FRAME_FILE",
    "VideoRecord",
    "LabelMap",
    "read_ucf101",
    "read_hmdb51",
    "read_list_file",
    "read_class_folders",
    "detect_layout",
    "load_annotations",
    "available_subsets",
    "write_list_file",
    "write_label_map",
    "build_lists",
    "scan_frame_folder",
]
