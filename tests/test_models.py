"""Tests of tsnlib.models: shapes, consensus, partial BN, cross-modality init, groups, weights."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

import tsnlib.backbones as backbones
import tsnlib.models as models
from tsnlib.backbones import imagenet_weights_path
from tsnlib.models import (
    TSN,
    SegmentConsensus,
    build_model,
    get_param_groups,
    inflate_conv_weight,
    init_from_rgb,
)

torch.set_num_threads(1)


def _x(n=2, v=3, c=3, s=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, v, c, s, s, generator=g)


# ---------------------------------------------------------------------------------------------
# shapes
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "backbone, modality, channels",
    [
        ("resnet18", "RGB", 3),
        ("resnet18", "Flow", 10),
        ("resnet18", "RGBDiff", 15),
        ("resnet8", "RGB", 3),
        ("resnet8", "Flow", 10),
        ("mobilenet_v3_small", "RGB", 3),
        ("mobilenet_v3_small", "Flow", 10),
        ("densenet121", "RGBDiff", 15),
    ],
)
def test_shapes(backbone, modality, channels):
    torch.manual_seed(0)
    model = TSN(7, backbone=backbone, modality=modality, num_segments=3).eval()
    assert model.in_channels == channels
    assert model.first_conv.in_channels == channels
    x = _x(c=channels)
    with torch.no_grad():
        assert model(x).shape == (2, 7)
        assert model.features(x).shape == (2, 3, model.feature_dim)
        assert model.segment_scores(x).shape == (2, 3, 7)
        assert model.forward_views(x[0]).shape == (3, 7)
        # any number of views at test time
        assert model(_x(n=1, v=5, c=channels)).shape == (1, 7)


def test_feature_dims_and_surgery():
    assert TSN(4, backbone="resnet18").feature_dim == 512
    mb = TSN(4, backbone="mobilenet_v3_small")
    # last Linear (1024 -> 1000) and the dropout right before it are gone, the hidden Linear stays
    assert mb.feature_dim == 1024
    assert isinstance(mb.backbone.classifier[0], nn.Linear)
    assert isinstance(mb.backbone.classifier[2], nn.Identity) and isinstance(mb.backbone.classifier[3], nn.Identity)
    assert mb.first_conv_name == "features.0.0"
    assert TSN(4, backbone="densenet121").feature_dim == 1024


def test_course_resnet8_maps_and_features():
    """resnet8 (CourseResNet(width=32)): a 3x3 stride-2 stem, one BasicBlock per stage (32/64/128 wide,
    strides 1/2/2), a max pool named avgpool and a BatchNorm1d neck: 64-px views give maps of 32, 16 and 8 px
    and 128 features."""
    torch.manual_seed(0)
    model = TSN(4, backbone="resnet8").eval()
    net = model.backbone
    assert isinstance(net, backbones.CourseResNet) and model.feature_dim == 128 and model.fc.weight.shape == (4, 128)
    assert (net.conv1.kernel_size, net.conv1.stride, net.conv1.out_channels) == ((3, 3), (2, 2), 32)
    assert [len(layer) for layer in (net.layer1, net.layer2, net.layer3)] == [1, 1, 1] and not hasattr(net, "layer4")
    assert isinstance(net.avgpool, nn.AdaptiveMaxPool2d) and model.first_conv_name == "conv1"
    shapes = {}

    def record(name):
        def hook(module, inputs, output):
            shapes[name] = tuple(output.shape)  # returns None: the output is left as it is
        return hook

    hooks = [getattr(net, n).register_forward_hook(record(n)) for n in ("layer1", "layer2", "layer3")]
    x = _x(n=1, v=2)
    with torch.no_grad():
        feats = model.features(x)
    assert feats.shape == (1, 2, 128)
    for h in hooks:
        h.remove()
    assert shapes == {"layer1": (2, 32, 32, 32), "layer2": (2, 64, 16, 16), "layer3": (2, 128, 8, 8)}
    # the features: the maximum over the last map, then the neck's BatchNorm1d (eval: running statistics)
    neck = net.neck
    assert isinstance(neck, nn.BatchNorm1d) and neck.num_features == 128 and neck in model.batchnorm_layers()
    neck.running_mean.uniform_(-1, 1)
    neck.running_var.uniform_(0.5, 2)
    with torch.no_grad():
        v = model.prepare(x).flatten(0, 1)
        m = net.layer3(net.layer2(net.layer1(net.relu(net.bn1(net.conv1(v)))))).amax(dim=(2, 3))
        by_hand = (m - neck.running_mean) / torch.sqrt(neck.running_var + neck.eps) * neck.weight + neck.bias
        torch.testing.assert_close(model.features(x).flatten(0, 1), by_hand, rtol=1e-5, atol=1e-5)


def test_inception_v3_small_input():
    model = TSN(5, backbone="inception_v3", modality="RGB").eval()
    assert model.feature_dim == 2048
    assert model.backbone.aux_logits is False and model.backbone.transform_input is False
    with torch.no_grad():
        assert model(_x(n=1, v=1, s=75)).shape == (1, 5)


def test_bad_input_and_arguments():
    model = TSN(3, backbone="resnet18", modality="Flow", clip_len=5).eval()
    with pytest.raises(ValueError, match=r"expects views \(B, 10, H, W\)"):
        model(_x(c=3))
    with pytest.raises(ValueError, match=r"\(N, V, C, H, W\)"):
        model(torch.zeros(2, 10, 64, 64))
    with pytest.raises(ValueError, match="unknown backbone 'resnet19'"):
        TSN(3, backbone="resnet19")
    with pytest.raises(ValueError, match="unknown modality"):
        TSN(3, backbone="resnet18", modality="depth")
    with pytest.raises(ValueError, match="unknown consensus"):
        TSN(3, backbone="resnet18", consensus="median")


def test_timm_backbone():  # timm is a test dependency (the dev extra): no skip; more in test_timm_backbones.py
    model = TSN(4, backbone="timm:resnet18", modality="Flow").eval()
    with torch.no_grad():
        assert model(_x(c=10)).shape == (2, 4)


# ---------------------------------------------------------------------------------------------
# consensus
# ---------------------------------------------------------------------------------------------


def test_consensus_values():
    scores = torch.tensor([[[1.0, 5.0], [3.0, -1.0], [2.0, 2.0]]])  # (N=1, V=3, C=2)
    assert torch.equal(SegmentConsensus("avg", 3)(scores), torch.tensor([[2.0, 2.0]]))
    assert torch.equal(SegmentConsensus("max", 3)(scores), torch.tensor([[3.0, 5.0]]))
    w = SegmentConsensus("weighted", 3)
    # initialised uniform: equal to the average
    assert torch.allclose(w(scores), torch.tensor([[2.0, 2.0]]))
    with torch.no_grad():
        w.weight_logits.copy_(torch.log(torch.tensor([0.5, 0.25, 0.25])))
    assert torch.allclose(w.segment_weights(), torch.tensor([0.5, 0.25, 0.25]))
    # 0.5*[1,5] + 0.25*[3,-1] + 0.25*[2,2] = [1.75, 2.75]
    assert torch.allclose(w(scores), torch.tensor([[1.75, 2.75]]))
    # a different number of views: plain average
    four = torch.cat([scores, torch.tensor([[[6.0, 2.0]]])], dim=1)
    assert torch.allclose(w(four), torch.tensor([[3.0, 2.0]]))


@pytest.mark.parametrize("kind", ["avg", "max", "weighted"])
def test_tsn_forward_is_consensus_of_view_scores(kind):
    torch.manual_seed(0)
    model = TSN(5, backbone="resnet18", consensus=kind, fc_init_std=0.1).eval()
    if kind == "weighted":
        with torch.no_grad():
            model.consensus.weight_logits.copy_(torch.tensor([0.0, 1.0, 2.0]))
    x = _x()
    with torch.no_grad():
        per_view = model.forward_views(x.reshape(6, 3, 64, 64)).reshape(2, 3, 5)
        out = model(x)
    if kind == "avg":
        expected = per_view.mean(1)
    elif kind == "max":
        expected = per_view.max(1).values
    else:
        w = torch.exp(torch.tensor([0.0, 1.0, 2.0]))
        w = w / w.sum()
        expected = (per_view * w[None, :, None]).sum(1)
    assert torch.allclose(out, expected, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# partial BN
# ---------------------------------------------------------------------------------------------


def test_partial_bn_modes_grads_and_running_stats():
    torch.manual_seed(0)
    model = TSN(4, backbone="resnet18", partial_bn=True)
    model.train()
    bns = model.batchnorm_layers()
    assert len(bns) == 20 and bns[0] is model.backbone.bn1 is model.first_bn
    assert model.training and bns[0].training
    assert all(not bn.training for bn in bns[1:])
    assert bns[0].weight.requires_grad and bns[0].bias.requires_grad
    assert all(not bn.weight.requires_grad and not bn.bias.requires_grad for bn in bns[1:])
    before = [bn.running_mean.clone() for bn in bns]
    model(_x())
    assert not torch.equal(bns[0].running_mean, before[0])
    assert all(torch.equal(bn.running_mean, b) for bn, b in zip(bns[1:], before[1:]))
    # eval() then train() again keeps the partial pattern
    model.eval().train()
    assert bns[0].training and not bns[5].training
    # the toggle
    model.partial_bn = False
    assert all(bn.training and bn.weight.requires_grad for bn in bns)
    model.partial_bn = True
    assert not bns[1].training and not bns[1].weight.requires_grad


def test_no_partial_bn_trains_every_bn():
    model = TSN(4, backbone="resnet18", partial_bn=False).train()
    assert all(bn.training and bn.bias.requires_grad for bn in model.batchnorm_layers())


# ---------------------------------------------------------------------------------------------
# cross-modality initialisation
# ---------------------------------------------------------------------------------------------


def test_inflate_conv_weight_formula():
    o = torch.arange(2).reshape(2, 1, 1, 1).float()
    k = torch.arange(3).reshape(1, 3, 1, 1).float()
    w = (o * 10 + k).expand(2, 3, 2, 2).clone()  # w[o, k] = 10*o + k
    out = inflate_conv_weight(w, 10)
    assert out.shape == (2, 10, 2, 2)
    # mean over k of 10*o + k = 10*o + 1, in every new channel, no rescaling
    assert torch.equal(out[0], torch.full((10, 2, 2), 1.0))
    assert torch.equal(out[1], torch.full((10, 2, 2), 11.0))
    kept = inflate_conv_weight(w, 3 + 15, keep_rgb=True)
    assert kept.shape == (2, 18, 2, 2)
    assert torch.equal(kept[:, :3], w) and torch.equal(kept[1, 3:], torch.full((15, 2, 2), 11.0))
    with pytest.raises(ValueError, match=r"\(O, 3, kh, kw\)"):
        inflate_conv_weight(torch.zeros(2, 4, 3, 3), 10)


def _assert_backbone_equal(flow, rgb_state, skip):
    own = flow.backbone.state_dict()
    for key, value in rgb_state.items():
        if key.startswith("backbone.") and key[len("backbone."):] != skip:
            assert torch.equal(own[key[len("backbone."):]], value), key


def test_flow_from_rgb_weights(tmp_path):
    torch.manual_seed(0)
    rgb = TSN(6, backbone="resnet18", modality="RGB")
    state = rgb.state_dict()
    torch.manual_seed(1)
    flow = TSN(4, backbone="resnet18", modality="Flow", clip_len=5, rgb_weights=state)
    assert torch.equal(flow.first_conv.weight, inflate_conv_weight(rgb.first_conv.weight, 10))
    _assert_backbone_equal(flow, state, skip="conv1.weight")
    assert flow.load_report["inflated_first_conv"] is True
    assert flow.fc.weight.shape == (4, 512)  # the classifier is new
    # the function form, from a file
    path = tmp_path / "rgb.pth"
    torch.save(state, path)
    flow2 = TSN(4, backbone="resnet18", modality="RGBDiff", clip_len=2)
    report = init_from_rgb(flow2, path)
    assert report["missing"] == [] and report["unexpected"] == []
    assert torch.equal(flow2.first_conv.weight, inflate_conv_weight(rgb.first_conv.weight, 6))
    _assert_backbone_equal(flow2, state, skip="conv1.weight")
    # a flow state dict is not an RGB one
    with pytest.raises(RuntimeError, match="is not an RGB network"):
        init_from_rgb(TSN(4, backbone="resnet18", modality="Flow"), flow.state_dict())
    # a different backbone does not fit
    with pytest.raises(RuntimeError, match="does not"):
        init_from_rgb(TSN(4, backbone="resnet34", modality="Flow"), state)


# ---------------------------------------------------------------------------------------------
# optimiser groups
# ---------------------------------------------------------------------------------------------


def _groups_by_name(model):
    return {g["name"]: g for g in get_param_groups(model, lr=0.1, weight_decay=1e-3)}


def test_param_groups_rgb_partial_bn():
    model = TSN(4, backbone="resnet18", modality="RGB", partial_bn=True)
    groups = _groups_by_name(model)
    assert list(groups) == ["first_conv_weight", "normal_weight", "normal_bias", "bn"]  # no conv1 bias in ResNet
    assert [len(groups[n]["params"]) for n in groups] == [1, 20, 1, 2]  # 19 convs + fc; fc bias; bn1
    assert groups["first_conv_weight"]["params"][0] is model.first_conv.weight
    assert groups["bn"]["params"][0] is model.backbone.bn1.weight
    assert groups["first_conv_weight"]["lr"] == pytest.approx(0.1)
    assert groups["normal_bias"]["lr"] == pytest.approx(0.2) and groups["normal_bias"]["weight_decay"] == 0
    assert groups["bn"]["weight_decay"] == 0 and groups["bn"]["lr_mult"] == 1
    assert groups["normal_weight"]["weight_decay"] == pytest.approx(1e-3)
    ids = [id(p) for g in groups.values() for p in g["params"]]
    assert len(ids) == len(set(ids))
    assert set(ids) == {id(p) for p in model.parameters() if p.requires_grad}
    torch.optim.SGD(list(groups.values()), lr=0.1, momentum=0.9)  # accepted by an optimiser


def test_param_groups_flow_and_weighted_and_full_bn():
    model = TSN(4, backbone="mobilenet_v3_small", modality="Flow", consensus="weighted", partial_bn=False)
    groups = _groups_by_name(model)
    first = groups["first_conv_weight"]
    assert (first["lr_mult"], first["decay_mult"], first["lr"]) == (5.0, 1.0, pytest.approx(0.5))
    assert groups["consensus"]["params"] == [model.consensus.weight_logits]
    assert groups["consensus"]["weight_decay"] == 0
    n_bn = len(model.batchnorm_layers())
    assert len(groups["bn"]["params"]) == 2 * n_bn
    ids = [id(p) for g in groups.values() for p in g["params"]]
    assert len(ids) == len(set(ids)) == sum(1 for p in model.parameters() if p.requires_grad)
    # a first conv with a bias (ConvNeXt's stem) gets lr x10 / decay 0 for Flow, x2 for RGB;
    # LayerNorm parameters go to the no-decay normalisation group
    convnext = TSN(4, backbone="convnext_tiny", modality="Flow", clip_len=1)
    groups = _groups_by_name(convnext)
    g = groups["first_conv_bias"]
    assert (g["lr_mult"], g["decay_mult"]) == (10.0, 0.0) and g["params"][0] is convnext.first_conv.bias
    assert any(p is convnext.backbone.features[0][1].weight for p in groups["bn"]["params"])
    convnext.modality = "RGB"  # the multipliers follow the modality attribute
    g = _groups_by_name(convnext)["first_conv_bias"]
    assert (g["lr_mult"], g["decay_mult"]) == (2.0, 0.0)


# ---------------------------------------------------------------------------------------------
# classifier init, weights on disk
# ---------------------------------------------------------------------------------------------


def test_fc_init():
    torch.manual_seed(0)
    model = TSN(101, backbone="resnet18")  # 101 x 512 weights
    assert abs(model.fc.weight.std().item() - 0.001) < 0.0002
    assert torch.equal(model.fc.bias, torch.zeros(101))
    assert isinstance(model.dropout, nn.Dropout) and model.dropout.p == 0.8


def _fake_imagenet_file(tmp_path, monkeypatch):
    """A random torchvision resnet18 written where torch hub keeps the ImageNet file."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    def no_network(url, dst):
        raise ConnectionError(f"no network in tests ({url})")

    monkeypatch.setattr(backbones, "_download", no_network)
    path = imagenet_weights_path("resnet18")
    assert path == tmp_path / "torch" / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    return path


def test_imagenet_from_cache_without_network(tmp_path, monkeypatch):
    path = _fake_imagenet_file(tmp_path, monkeypatch)
    torch.manual_seed(3)
    reference = torchvision.models.resnet18(weights=None)
    path.parent.mkdir(parents=True)
    torch.save(reference.state_dict(), path)
    model = TSN(5, backbone="resnet18", pretrained="imagenet")
    for key, value in reference.state_dict().items():
        if not key.startswith("fc."):
            assert torch.equal(model.backbone.state_dict()[key], value), key
    # a flow network from the same file: first conv inflated, the rest copied
    flow = TSN(5, backbone="resnet18", modality="Flow", pretrained="imagenet")
    assert torch.equal(flow.first_conv.weight, inflate_conv_weight(reference.conv1.weight, 10))
    assert torch.equal(flow.backbone.layer4[1].bn2.running_var, reference.layer4[1].bn2.running_var)


def test_imagenet_missing_file_message(tmp_path, monkeypatch):
    path = _fake_imagenet_file(tmp_path, monkeypatch)
    with pytest.raises(RuntimeError) as info:
        TSN(5, backbone="resnet18", pretrained="imagenet")
    message = str(info.value)
    assert "'resnet18-f37072fd.pth'" in message
    assert str(path.parent) in message and "pretrained=<path" in message
    assert "no network in tests" in message


def test_pretrained_from_path(tmp_path):
    torch.manual_seed(4)
    reference = torchvision.models.resnet18(weights=None)
    tv_path = tmp_path / "r18.pth"
    torch.save(reference.state_dict(), tv_path)  # includes fc.* keys: dropped
    model = TSN(3, backbone="resnet18", pretrained=tv_path)
    assert torch.equal(model.backbone.layer2[0].conv1.weight, reference.layer2[0].conv1.weight)
    assert model.load_report["missing"] == [] and model.load_report["unexpected"] == []
    # a tsnlib checkpoint (wrapped as a training checkpoint) of the same backbone
    ckpt = tmp_path / "tsn.pth"
    torch.save({"model": model.state_dict(), "epoch": torch.tensor(3)}, ckpt)
    again = TSN(9, backbone="resnet18", pretrained=str(ckpt))
    assert torch.equal(again.backbone.layer2[0].conv1.weight, reference.layer2[0].conv1.weight)
    # the wrong backbone says what does not fit
    with pytest.raises(RuntimeError, match="shape mismatches"):
        TSN(3, backbone="resnet50", pretrained=tv_path)
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        TSN(3, backbone="resnet18", pretrained=tmp_path / "nope.pth")


def test_densenet_legacy_keys(tmp_path):
    torch.manual_seed(5)
    reference = torchvision.models.densenet121(weights=None)
    legacy = {
        k.replace(".norm1.", ".norm.1.").replace(".conv1.", ".conv.1.").replace(".norm2.", ".norm.2."): v
        for k, v in reference.state_dict().items()
    }
    assert "features.denseblock1.denselayer1.norm.1.weight" in legacy
    model = TSN(3, backbone="densenet121", pretrained=legacy)
    assert torch.equal(
        model.backbone.features.denseblock1.denselayer1.norm1.weight,
        reference.features.denseblock1.denselayer1.norm1.weight,
    )


# ---------------------------------------------------------------------------------------------
# determinism and memory format
# ---------------------------------------------------------------------------------------------


def test_eval_determinism_and_channels_last():
    torch.manual_seed(0)
    model = TSN(5, backbone="resnet18", modality="Flow", fc_init_std=0.1).eval()
    x = _x(c=10)
    with torch.no_grad():
        a, b = model(x), model(x)
        assert torch.equal(a, b)
        model = model.to(memory_format=torch.channels_last)
        views = x.reshape(6, 10, 64, 64).contiguous(memory_format=torch.channels_last)
        c = model(views.reshape(2, 3, 10, 64, 64))
        d = model.forward_views(views).reshape(2, 3, 5).mean(1)
    assert torch.allclose(a, c, atol=1e-5)
    assert torch.allclose(a, d, atol=1e-5)


@pytest.mark.parametrize("modality,raw_channels", [("RGB", 3), ("Flow", 10), ("RGBDiff", 18)])
def test_uint8_views_are_normalised_by_the_model(modality, raw_channels):
    """uint8 views (the loaders' hand-over) score exactly as the same views normalised beforehand."""
    from tsnlib.transforms import normalize_views

    torch.manual_seed(0)
    model = TSN(4, backbone="resnet18", modality=modality, fc_init_std=0.1, num_segments=2).eval()
    g = torch.Generator().manual_seed(1)
    raw = torch.randint(0, 256, (2, 2, raw_channels, 48, 48), dtype=torch.uint8, generator=g)
    net_input = normalize_views(raw, modality, model.clip_len)
    assert net_input.dtype == torch.float32 and net_input.shape[2] == model.in_channels
    assert torch.equal(model.prepare(raw), net_input)
    assert torch.equal(model.prepare(net_input), net_input)  # float views are taken as already normalised
    with torch.no_grad():
        assert torch.equal(model(raw), model(net_input))
        assert torch.equal(model.forward_views(raw[0]), model.forward_views(net_input[0]))
        assert torch.equal(model.features(raw), model.features(net_input))
    with pytest.raises(ValueError, match="expects uint8 views"):
        model(raw[:, :, 1:])  # a channel short


def test_train_mode_dropout_is_active():
    torch.manual_seed(0)
    model = TSN(5, backbone="resnet18", fc_init_std=0.1).train()
    x = _x()
    assert not torch.equal(model(x), model(x))


# ---------------------------------------------------------------------------------------------
# presets and config
# ---------------------------------------------------------------------------------------------


def test_paper_presets_and_build_model():
    from tsnlib.config import load_config

    rgb, flow = load_config("tsn_paper_bninception_ucf101_rgb"), load_config("tsn_paper_bninception_ucf101_flow")
    assert (rgb["model"]["dropout"], flow["model"]["dropout"]) == (0.8, 0.7)
    assert (rgb["optim"]["clip_grad"], flow["optim"]["clip_grad"]) == (40.0, 20.0)
    assert (rgb["optim"]["lr"], flow["optim"]["lr"]) == (0.001, 0.005)
    assert rgb["model"]["partial_bn"] and flow["data"]["clip_len"] == 5 and rgb["model"]["fc_init_std"] == 0.001
    cfg = {"modality": flow["data"]["modality"], "clip_len": flow["data"]["clip_len"],
           "dropout": flow["model"]["dropout"], "lr": flow["optim"]["lr"], "num_classes": 11, "backbone": "resnet18"}
    model = build_model(cfg)  # optimiser keys are ignored
    assert (model.modality, model.in_channels, model.dropout.p, model.num_classes) == ("Flow", 10, 0.7, 11)
    with pytest.raises(ValueError, match="'lr'"):
        build_model(cfg, strict=True)
    with pytest.raises(ValueError, match="num_classes"):
        build_model({"backbone": "resnet18"})


@pytest.mark.slow  # torch.compile loads TorchDynamo: 1-2.6 s here
def test_unwrap_model_sees_through_data_parallel_and_compile():
    from tsnlib.models import unwrap_model

    net = nn.Linear(3, 2)
    assert unwrap_model(net) is net
    assert unwrap_model(nn.DataParallel(net)) is net
    assert unwrap_model(torch.compile(net)) is net
    assert unwrap_model(torch.compile(nn.DataParallel(net))) is net


def test_one_table_of_modalities_and_their_channels():
    from tsnlib import datasets, transforms

    assert datasets.MODALITIES is models.MODALITIES is transforms.MODALITIES == ("RGB", "Flow", "RGBDiff")
    assert models.CHANNELS_PER_FRAME is transforms.MODALITY_CHANNELS == {"RGB": 3, "Flow": 2, "RGBDiff": 3}
