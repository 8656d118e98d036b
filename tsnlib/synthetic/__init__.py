"""The built-in synthetic action dataset: real encoded videos in the exact UCF101 / HMDB51 layouts,
with the generator's ground truth (actor boxes, true motion, event spans) saved beside each video.

UCF101 and HMDB51 cannot be downloaded everywhere, so the course ships this stand-in. It is small
(13 classes x 60 videos of 2-4 s at about 128 x 96, generated in about 15 s on two cores) but built so
that a small network trained from scratch on a CPU learns TSN's lessons from it in minutes:

* ``appearance`` classes share one motion distribution and differ only in the actor's look: each
  has its own colour family (:data:`_ACTOR_HUES`), shape and texture. One RGB frame is enough;
  optical flow sees none of the colour and little of the rest;
* ``motion`` classes share one actor appearance distribution and differ only in how it moves
  (left/right translation, clockwise/counter-clockwise rotation, zoom in/out). The marginal
  distribution of a single frame (actor position, size, angle, colours) is the same for all of
  them by construction (but for the Move actors being seen partly outside the frame as they
  wrap round): one RGB frame cannot tell them apart, optical flow can (the motion is
  fast enough to see: 1.5-2.7 px per frame for Move (at 128 px), 7-12 degrees per frame for Rotate,
  a 2.5x zoom every 0.8-1.2 s for Zoom);
* ``event`` classes show the same grey actor wandering and differ by an event filling 25-32 % of the
  video at a random moment: the actor turns red (``FlashRed``) or blue (``FlashBlue``), or nothing
  happens (``NoEvent``). One frame of the event tells the class; any other frame tells only the group.
  Sparse sampling of three segments catches the event in at least three samples in four; one
  snippet catches it in fewer than one in three.

Every video has a textured, slowly drifting background in saturated colours, camera shake (and, in a
dataset generated with cameras, a share of them a hand-held camera's sway: "Camera motion" below), two to
four distractor discs (a tenth to a fifth of the frame's height, slow, in any colour but the
flashes') and per-frame noise, so that no single pixel statistic separates the classes and the actor
is not the only salient thing in the frame: a network with random weights looks at whatever stands
out, a trained one must learn to look at the actor (the Grad-CAM control of notebook 06; with the
small, dull scenes of generator version 6 a random network's heatmap already fell on the actor). Unlike UCF101, where
the clips of a group are cut from one longer video and share its scene, the clips of a synthetic
group share nothing but their group number: every look (texture, colours) is drawn per clip, so
that a network has to learn the actor rather than the backgrounds of the training groups (the
test split holds other groups).

Videos are MPEG-4 Part 2 (codec tag ``XVID``) ``.avi`` files with a GOP of 12, like UCF101's, or
H.264 ``.mp4`` (``codec="h264"``, GOP 50), 25 fps, 2-4 s, frame sizes around 128x96 (``size="tiny"``: 1-2 s
around 160x120).

Ground truth (``<video stem>.truth.npz`` beside each video, read with :func:`load_truth`):

* ``boxes`` int16 ``(T, 4)``: the actor's box per frame, ``x0, y0, x1, y1`` in pixels, clipped to
  the frame, ``x1``/``y1`` exclusive (``frame[y0:y1, x0:x1]`` holds the actor); empty
  (``x1 == x0``) in the frame or two a Move actor spends wholly outside the frame as it wraps;
* ``actor`` float32 ``(T, 4)``: the actor's similarity transform per frame, ``cx, cy, angle, scale``:
  a template pixel ``u`` (relative to the template centre) is drawn at
  ``(cx, cy) + scale * R(angle) u`` where ``angle`` is in degrees, positive = clockwise on screen
  (image ``y`` points down), and ``R(a) = [[cos a, -sin a], [sin a, cos a]]``;
* ``actor_alpha`` uint8 ``(S, S)``: the actor's template mask (255 = actor), to draw its silhouette;
* ``bg_shift`` float32 ``(T, 2)``: the background's global translation (drift + camera) in pixels;
  the background pixel at ``p`` in frame ``t`` shows texture point ``p - bg_shift[t]``;
* ``camera`` float32 ``(T, 2)``: the camera-shake part alone (already included in ``actor``,
  ``bg_shift`` and ``distractors``, which are all in image coordinates);
* ``distractors`` float32 ``(T, D, 3)``: ``cx, cy, radius`` of each distractor disc;
* ``tint`` float32 ``(T,)``: how much the actor is tinted (the flash events), 0 otherwise, and
  ``tint_colour`` float32 ``(3,)``: the RGB colour it is tinted towards (zeros without an event);
* ``frame_size`` ``(H, W)``, ``fps``, ``class_name``, ``group``, ``video_id`` and ``event_span``
  ``(start, end)``, inclusive 0-based frame indices, ``(-1, -1)`` when the video has no event.

:func:`true_flow` turns these into the exact forward optical flow between two frames, and
:func:`true_flow_mask` says where that flow can be checked (both ends visible, away from edges).

Camera motion. A dataset generated with ``camera_share=s`` (``tsnlib synth --camera-share s``) has about
that share of its clips filmed by a hand-held camera that sways: :func:`dataset_camera` gives such a
clip a :class:`SwayingCamera` (the view goes back and forth along one direction at up to 0.5-1 px per
frame at 128 px wide, once every 1.5-3 s, and zooms in and out by up to 0.4 % per frame in the same
rhythm), drawn from the clip's own random stream, so that the other clips are the same at any share and
the sway tells nothing about the class. The course's dataset has none (``camera_share=0``): at a
quarter of the clips the plain flow stream lost its lesson on some generator seeds (notebook 08 gives
the numbers; ``make paper CAMERA_SHARE=0.25`` measures the paper's tables on such a dataset). Any clip
can also be filmed on request with a constant pan and zoom: ``render_video(spec,
camera=CameraMotion(pan=..., zoom=...))``, its truth ``make_truth(spec, camera=...)`` (on a swaying clip
that camera films the swaying picture). The clip before any camera is the *world*; the truth of a
filmed clip gains ``view`` float32 ``(T, 3, 3)``, the camera's homography per frame from world pixels
to the clip's pixels, and ``actor``, ``boxes`` and ``distractors`` are in the clip's pixels
(``bg_shift`` and ``camera`` stay the world's: the background pixel at ``p`` shows texture point
``view[t]^-1 p - bg_shift[t]``); the clips without a camera have no ``view``.
:func:`background_homography` is the background's motion from one frame to the next (what warped flow
removes) and ``true_flow(truth, t, relative=True)`` the motion relative to it (what warped flow keeps).
Introduced in notebooks/04_optical_flow_stream.ipynb.

One module per idea:

============  ==================================================================================
module        what
============  ==================================================================================
``plan``      the classes and their groups, size presets, codecs, layouts; :func:`plan_dataset`
              (a :class:`VideoSpec` per video, whole groups held out for test and validation)
``scene``     one video's scene and ground truth drawn from its seed (actor, motion, event,
              background, distractors), and the random banks shared by a seed's videos
``camera``    :func:`dataset_camera` (a :class:`SwayingCamera` on a share of the clips) and
              :class:`CameraMotion`, the opt-in panning, zooming camera of single clips
``render``    :func:`render_video`: the frames, layer by layer, exactly as they are encoded
``truth``     :func:`make_truth`, the truth files (:func:`load_truth`), and what they answer:
              :func:`true_flow`, :func:`true_flow_mask`, :func:`actor_mask`, :func:`background_mask`,
              :func:`background_homography`
``dataset``   :func:`generate_dataset`: encoded videos, truth files, split lists, the manifest
============  ==================================================================================

The names below are the public ones; import them from ``tsnlib.synthetic``.

Introduced in notebooks/01_data_preparation.ipynb.
"""

from __future__ import annotations

from tsnlib.synthetic.camera import CameraMotion, SwayingCamera, dataset_camera
from tsnlib.synthetic.dataset import GENERATOR_VERSION, MANIFEST, generate_dataset, load_manifest
from tsnlib.synthetic.plan import (
    CLASS_GROUPS,
    CLASSES,
    CODECS,
    FPS,
    HMDB_SPECIAL_CHARS,
    LAYOUTS,
    SIZES,
    VideoSpec,
    class_group,
    class_names,
    hmdb_class_name,
    plan_dataset,
)
from tsnlib.synthetic.render import render_video
from tsnlib.synthetic.truth import (
    actor_mask,
    background_homography,
    background_mask,
    load_truth,
    make_truth,
    true_flow,
    true_flow_mask,
    truth_path,
)

__all__ = [
    "GENERATOR_VERSION",
    "CLASS_GROUPS",
    "CLASSES",
    "FPS",
    "SIZES",
    "CODECS",
    "LAYOUTS",
    "HMDB_SPECIAL_CHARS",
    "MANIFEST",
    "VideoSpec",
    "CameraMotion",
    "SwayingCamera",
    "dataset_camera",
    "hmdb_class_name",
    "class_group",
    "class_names",
    "plan_dataset",
    "make_truth",
    "render_video",
    "load_truth",
    "truth_path",
    "actor_mask",
    "background_mask",
    "true_flow",
    "true_flow_mask",
    "background_homography",
    "load_manifest",
    "generate_dataset",
]
