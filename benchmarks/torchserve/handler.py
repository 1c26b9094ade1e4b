"""TorchServe handler for the serving benchmark's peer (benchmarks/serve.py --torchserve):
ResNet-18 as TorchScript, one JPEG/PNG per request, the same preparation as
``gluon-resnet serve`` (RGB, resized to the input size, scaled to [0, 1], ImageNet mean and
std), the top 5 of the softmax as JSON. Written here; it runs inside TorchServe's worker."""
import io
import json
import os

import numpy as np
import torch
from PIL import Image

MEAN = np.array([0.485, 0.456, 0.406], np.float32).reshape(3, 1, 1)
STD = np.array([0.229, 0.224, 0.225], np.float32).reshape(3, 1, 1)


class ResNetHandler:
    def __init__(self):
        self.model = None
        self.size = 224

    def initialize(self, context):
        directory = context.system_properties.get("model_dir")
        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
        self.model = torch.jit.load(os.path.join(directory, "model.pt")).eval()
        with open(os.path.join(directory, "size.json")) as f:
            self.size = json.load(f)["size"]

    def _prepare(self, body):
        image = Image.open(io.BytesIO(body)).convert("RGB")
        image = image.resize((self.size, self.size), Image.BILINEAR)
        x = np.asarray(image, np.float32).transpose(2, 0, 1) / 255.0
        return (x - MEAN) / STD

    def handle(self, data, context):
        batch = []
        for row in data:
            body = row.get("data") or row.get("body")
            batch.append(self._prepare(bytes(body)))
        with torch.inference_mode():
            probs = torch.softmax(self.model(torch.from_numpy(np.stack(batch))), dim=1)
        top = torch.topk(probs, 5, dim=1)
        return [[{"class": int(i), "probability": float(p)} for p, i in zip(ps, idx)]
                for ps, idx in zip(top.values.tolist(), top.indices.tolist())]


_service = ResNetHandler()


def handle(data, context):
    """TorchServe's module-level entry point."""
    if data is None:
        return None
    if _service.model is None:
        _service.initialize(context)
    return _service.handle(data, context)
