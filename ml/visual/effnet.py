"""EfficientNet-Lite0, defined here so the packaged ImageNet weights load with ``strict=True``.

Key names follow lukemelas' EfficientNet-PyTorch (``_conv_stem``, ``_bn0``,
``_blocks.{i}._expand_conv/_bn0/_depthwise_conv/_bn1/_project_conv/_bn2``, ``_conv_head``,
``_bn1``, ``_fc``). "Lite" means: no squeeze-excite, ReLU6 instead of swish, fixed stem (32)
and head (1280) widths. Convolutions use symmetric ``k // 2`` padding: the weights were trained
that way (TF "same" padding would shift stride-2 outputs by one pixel) and it exports to ONNX
as plain ``Conv`` nodes.

Input: (N,3,H,W) float32, normalised as ``(rgb - 127) / 128`` (``normalise``). Any H,W >= 32.
``features(x)`` -> (N,1280,H/32,W/32) last conv map (after head BN + ReLU6);
``forward(x)`` -> (N,1000) ImageNet logits.
"""

from __future__ import annotations

import torch
from torch import nn

from .lite0 import HEAD, MEAN, N_CLASSES, STAGES, STD, STEM, normalise, weights_path  # noqa: F401

BN_EPS = 1e-3
BN_MOMENTUM = 0.01


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=BN_EPS, momentum=BN_MOMENTUM)


class MBConvBlock(nn.Module):
    """Inverted residual: [1x1 expand] -> kxk depthwise -> 1x1 project (+ skip when shapes match)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, expand: int):
        super().__init__()
        mid = c_in * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = nn.Conv2d(c_in, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = nn.Conv2d(mid, mid, kernel, stride, kernel // 2, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv = nn.Conv2d(mid, c_out, 1, bias=False)
        self._bn2 = _bn(c_out)
        self.skip = stride == 1 and c_in == c_out
        self.act = nn.ReLU6(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if self.has_expand:
            y = self.act(self._bn0(self._expand_conv(y)))
        y = self.act(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.skip else y


class EfficientNetLite0(nn.Module):
    def __init__(self, num_classes: int = N_CLASSES):
        super().__init__()
        self._conv_stem = nn.Conv2d(3, STEM, 3, 2, 1, bias=False)
        self._bn0 = _bn(STEM)
        blocks, c_in = [], STEM
        for repeats, k, s, e, c_out in STAGES:
            for i in range(repeats):
                blocks.append(MBConvBlock(c_in, c_out, k, s if i == 0 else 1, e))
                c_in = c_out
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(c_in, HEAD, 1, bias=False)
        self._bn1 = _bn(HEAD)
        self._fc = nn.Linear(HEAD, num_classes)
        self.act = nn.ReLU6(inplace=True)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(N,3,H,W) normalised -> (N,1280,ceil(H/32),ceil(W/32))."""
        x = self.act(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        return self.act(self._bn1(self._conv_head(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N,3,H,W) normalised -> (N,1000) logits (global average pool + fc)."""
        return self._fc(self.features(x).mean(dim=(2, 3)))


def load_pretrained() -> EfficientNetLite0:
    """The ImageNet model in eval mode; every key of the packaged state_dict must match."""
    model = EfficientNetLite0()
    state = torch.load(weights_path(), map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model.eval()
