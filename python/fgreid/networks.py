"""The networks of fgreid's recipes in PyTorch, written from the paper's description (FGReID)
and Bag of Tricks (the BNNeck baseline), with torchvision's ResNet-50 at re-ID's last stride 1.
They are the reference of the C++ models' parity tests (test/torch/test_fgreid_model.cpp) and
what scripts/export traces. Module names match fgreid's, so an `--export-weights` file loads
with load_state_dict(strict=True)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


def resnet50_last_stride_1():
    net = torchvision.models.resnet50()
    net.layer4[0].conv2.stride = (1, 1)
    net.layer4[0].downsample[0].stride = (1, 1)
    return net


def trunk(net, x):
    x = net.maxpool(net.relu(net.bn1(net.conv1(x))))
    return net.layer4(net.layer3(net.layer2(net.layer1(x))))


class FGReID(nn.Module):
    """Two ResNet-50 trunks: global features (F1) and spatially attended, non-local features
    (F2). forward(inp, minimum) returns (logits1, logits2, [F1, F2], attention); `inp` is
    [B, 3, H, W] images, or [B, T, 3, H, W] clips with video=True. `minimum` is what the
    attention subtracts before its sigmoid: 'batch' (one scalar over the batch, the seed's
    training) or 'sample' (each sample's own, fgreid's test time)."""

    def __init__(self, classes, video):
        super().__init__()
        self.video = video
        self.base = resnet50_last_stride_1(); del self.base.fc; del self.base.avgpool
        self.base_mars = resnet50_last_stride_1(); del self.base_mars.fc; del self.base_mars.avgpool
        self.conv1 = nn.Conv2d(2048, 1024, 1)
        self.conv2 = nn.Conv2d(2048, 1024, 1)
        self.bn1 = nn.BatchNorm1d(1024)
        self.bn2 = nn.BatchNorm1d(1024)
        self.classifier = nn.Linear(1024, classes, bias=False)
        self.theta = nn.Conv2d(1024, 256, 1, bias=False)
        self.g = nn.Conv2d(1024, 256, 1, bias=False)
        self.w_z = nn.Conv2d(256, 1024, 1, bias=False)

    def forward(self, inp, minimum: str = 'sample'):
        b = inp.shape[0]
        t = inp.shape[1] if self.video else 1
        frames = inp.reshape(b * t, inp.shape[-3], inp.shape[-2], inp.shape[-1])
        X = self.conv1(trunk(self.base, frames))            # [bt, 1024, h, w]
        n, c, h, w = X.shape
        a = X.mean(dim=(2, 3))                               # GAP
        s = torch.softmax(a, dim=1)
        if minimum == 'batch':
            low = X.min()
        else:  # each sample's minimum over its T frames, written without a loop for tracing
            low = X.reshape(b, -1).amin(dim=1).repeat_interleave(t).view(n, 1, 1, 1)
        M = torch.sigmoid((s[:, :, None, None] * (X - low)).sum(1, keepdim=True))  # [bt,1,h,w]
        F1 = self.bn1(a.view(b, t, c).mean(1))
        Z = self.conv2(trunk(self.base_mars, frames)) * M
        # non-local over the T*h*w positions of each sample
        Zs = Z.view(b, t, c, h * w).permute(0, 2, 1, 3)      # [b, 1024, t, hw]
        T = F.relu(self.theta(Zs)).reshape(b, 256, -1)
        T = T / T.norm(dim=1, keepdim=True).clamp_min(1e-12)
        A = torch.softmax(T.transpose(1, 2) @ T, dim=-1)     # [b, N, N]
        G = F.relu(self.g(Zs)).reshape(b, 256, -1).transpose(1, 2)
        O = (A @ G).transpose(1, 2).reshape(b, 256, t, h * w)
        Zp = self.w_z(O) + Zs
        per_frame = Zp.sum(-1) / M.view(b, 1, t, h * w).sum(-1)   # [b, 1024, t]
        F2 = self.bn2(per_frame.mean(-1))
        return self.classifier(F1), self.classifier(F2), torch.cat([F1, F2], 1), M.view(b, t, h, w)

    def features(self, inp):
        """The test-time feature [B, 2048] (eval mode, per-sample minimum)."""
        return self.forward(inp, 'sample')[2]


class BNNeck(nn.Module):
    """Bag of Tricks' baseline (models::BNNeck<models::ResNet<50>>): ResNet-50 at last stride 1,
    global average pooling, a BatchNorm neck whose output is the test feature."""

    def __init__(self, classes, feature_after_bn=True):
        super().__init__()
        self.backbone = resnet50_last_stride_1(); del self.backbone.fc; del self.backbone.avgpool
        self.bottleneck = nn.BatchNorm1d(2048)
        self.classifier = nn.Linear(2048, classes, bias=False)
        self.feature_after_bn = feature_after_bn

    def features(self, images):
        pooled = trunk(self.backbone, images).mean(dim=(2, 3))
        return self.bottleneck(pooled) if self.feature_after_bn else pooled


class TestFeatures(nn.Module):
    """What a recipe computes for a preprocessed batch at test time: the network's feature,
    plus that of the horizontally flipped input with `flip` (--flip-test), L2-normalised with
    `normalize` (--normalize-features for images; for clips, --normalize-clips: a tracklet's
    feature is then the mean of its clips', normalised again with --normalize-features)."""

    def __init__(self, network, flip, normalize):
        super().__init__()
        self.network = network.eval()
        self.flip = flip
        self.normalize = normalize

    def forward(self, batch):
        features = self.network.features(batch)
        if self.flip:
            features = features + self.network.features(batch.flip(-1))
        if self.normalize:
            features = F.normalize(features, dim=1)
        return features


def build_network(state, video, strict=True):
    """The network an --export-weights state dict holds (FGReID or BNNeck, by its module
    names), with the weights loaded. `strict=False` ignores tensors the network has no place
    for (a checkpoint's loss centers, optimiser and generator states); a tensor the network
    lacks or holds in another shape is an error either way. Raises ValueError when the names
    fit neither network."""
    if 'classifier.weight' not in state:
        raise ValueError('no classifier.weight: not the weights of an fgreid model')
    classes = state['classifier.weight'].shape[0]
    if any(k.startswith('base_mars.') for k in state):
        network = FGReID(classes, video)
    elif any(k.startswith('backbone.') for k in state):
        if video:
            raise ValueError('a BNNeck baseline takes images, not clips')
        network = BNNeck(classes)
    else:
        raise ValueError('neither an FGReID (base_mars.*) nor a BNNeck (backbone.*) model')
    if not strict:
        state = {k: v for k, v in state.items() if k in network.state_dict()}
    network.load_state_dict(state, strict=True)
    return network.eval()


MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def preprocess(paths, height, width):
    """Images as the recipes' test transform feeds them: RGB resized to width × height
    (bilinear, PIL), scaled to [0, 1] and normalised by ImageNet's mean and std; [N, 3, H, W]."""
    import numpy as np
    from PIL import Image
    rows = []
    for path in paths:
        image = Image.open(path).convert('RGB')
        if image.size != (width, height):
            image = image.resize((width, height), Image.BILINEAR)
        rows.append(np.asarray(image, dtype=np.float32) / 255.0)
    batch = torch.from_numpy(np.stack(rows)).permute(0, 3, 1, 2)
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (batch - mean) / std
