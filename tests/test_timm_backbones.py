"""TSNs on timm backbones (Swin, ResNeXt-101 32x4d, DenseNet-161): random weights, on a CPU, nothing downloaded.

timm is a test dependency (the ``dev`` extra that ``make test`` installs includes the ``timm`` extra), so these
tests run rather than skip. The Swin is the one of MMAction2's
``tsn_swin_transformer_video_320p_1x1x3_100e_kinetics400_rgb`` (``timm.swin_base_patch4_window7_224``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from tsnlib.config import load_config
from tsnlib.errors import ConfigError
from tsnlib.experiment import build_model_from_config
from tsnlib.models import TSN, get_param_groups
from tsnlib.visualization import candidate_target_layers, default_target_layer, view_cams

torch.set_num_threads(1)

SWIN = "timm:swin_base_patch4_window7_224"
# backbone, view side, pooled feature dimension, Grad-CAM's default target layer and its map (C, h, w)
BACKBONES = [
    pytest.param(SWIN, 224, 1024, "backbone.layers.3.blocks.1", (1024, 7, 7), marks=pytest.mark.slow, id="swin_base"),
    pytest.param("timm:resnext101_32x4d", 64, 2048, "backbone.layer4.2", (2048, 2, 2), id="resnext101_32x4d"),
    pytest.param("timm:densenet161", 64, 2208, "backbone.features.norm5", (2208, 2, 2), id="densenet161"),
]


@pytest.mark.slow  # a training step of each timm backbone
@pytest.mark.parametrize("backbone, side, feature_dim, cam_layer, cam_map", BACKBONES)
def test_timm_tsn_forward_training_step_and_grad_cam(backbone, side, feature_dim, cam_layer, cam_map):
    torch.manual_seed(0)
    model = TSN(5, backbone=backbone, num_segments=3, dropout=0.5, partial_bn=True, fc_init_std=0.01)
    assert model.load_report is None  # random weights: nothing read, nothing downloaded
    assert model.feature_dim == feature_dim and model.fc.weight.shape == (5, feature_dim)
    x = torch.randn(1, 3, 3, side, side, generator=torch.Generator().manual_seed(1))  # one video, K = 3 snippets

    # forward: the consensus (average) of the three snippets' class scores
    model.eval()
    with torch.no_grad():
        out = model(x)
        per_view = model.forward_views(x[0])
    assert out.shape == (1, 5) and per_view.shape == (3, 5)
    torch.testing.assert_close(out[0], per_view.mean(0), rtol=1e-5, atol=1e-6)

    # partial BN: the first BatchNorm trains, the others are frozen; Swin has LayerNorm only, which all train
    bns = model.batchnorm_layers()
    norms = [m for m in model.backbone.modules() if isinstance(m, nn.LayerNorm)]
    if backbone == SWIN:
        # patch embedding, 2 per block in 2 + 2 + 18 + 2 blocks, 3 patch mergings, the final norm
        assert bns == [] and model.first_bn is None and len(norms) == 1 + 2 * 24 + 3 + 1
        assert all(p.requires_grad for m in norms for p in m.parameters())
    else:
        assert bns[0] is model.first_bn and bns[0].weight.requires_grad
        assert all(not bn.weight.requires_grad and not bn.bias.requires_grad for bn in bns[1:])

    # one training step: cross-entropy, backward, SGD on TSN's parameter groups
    model.train()
    if bns:
        assert bns[0].training and not any(bn.training for bn in bns[1:])
    groups = get_param_groups(model, lr=0.01, weight_decay=1e-4)
    optimizer = torch.optim.SGD(groups, lr=0.01, momentum=0.9)
    before = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    logits = model(x)
    loss = nn.functional.cross_entropy(logits, torch.tensor([2]))
    loss.backward()
    optimizer.step()
    assert logits.shape == (1, 5) and loss.ndim == 0 and torch.isfinite(loss)
    changed = {n for n, p in model.named_parameters() if n in before and not torch.equal(p, before[n])}
    assert {"fc.weight", "fc.bias", f"backbone.{model.first_conv_name}.weight"} <= changed
    if backbone == SWIN:
        assert "backbone.layers.3.blocks.1.norm1.weight" in changed  # a LayerNorm: in the "bn" group, trained
        assert any(p is model.backbone.layers[3].blocks[1].norm1.weight
                   for g in groups if g["name"] == "bn" for p in g["params"])
    frozen = [n for n, p in model.named_parameters() if not p.requires_grad]
    assert all(n not in changed for n in frozen)

    # Grad-CAM finds the last block, its map is reported channels-first, and a heatmap comes back per view
    assert default_target_layer(model, input_size=side) == cam_layer
    assert dict(candidate_target_layers(model, input_size=side))[cam_layer] == cam_map
    cams = view_cams(model, x[0, :1], target_class=2)
    assert cams.cams.shape == (1, side, side) and cams.cams.dtype == np.float32 and cams.target_layer == cam_layer
    with torch.no_grad():  # the scores it explains are the model's own, in eval mode
        torch.testing.assert_close(torch.from_numpy(cams.view_scores), model.eval().forward_views(x[0, :1]))


@pytest.mark.slow  # builds Swin-B: about 3 s here
def test_swin_takes_224_px_views_only():
    model = TSN(3, backbone=SWIN, num_segments=2).eval()
    assert model.fixed_input_size == (224, 224)
    with pytest.raises(ValueError, match=r"takes 224 x 224 views only .* got 112 x 112: crop the views to 224 px"):
        model(torch.zeros(1, 2, 3, 112, 112))
    cfg = load_config("tsn_r8_synthetic_rgb", [f"model.backbone={SWIN}", "data.input_size=224"])
    with pytest.raises(ConfigError, match=r"takes 224 x 224 views only, but data.val_input_size=48, test.input_size=48: "
                                          r"set data.val_input_size=224 test.input_size=224"):
        build_model_from_config(cfg, 3)


def test_timm_cnn_flow_stream_inflates_its_first_convolution():
    rgb = TSN(4, backbone="timm:densenet161", num_segments=2)
    flow = TSN(4, backbone="timm:densenet161", modality="Flow", num_segments=2, rgb_weights=rgb.state_dict())
    assert flow.first_conv.weight.shape == (96, 10, 7, 7)
    torch.testing.assert_close(flow.first_conv.weight, rgb.first_conv.weight.mean(1, keepdim=True).expand(-1, 10, -1, -1))
    assert flow.load_report["inflated_first_conv"] and flow.load_report["missing"] == []
    with torch.no_grad():
        assert flow.eval()(torch.zeros(1, 2, 10, 64, 64)).shape == (1, 4)
