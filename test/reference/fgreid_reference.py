"""The FGReID network written in PyTorch from the paper's description, and torchvision's
ResNet-50 with re-ID's last stride 1: the reference of the C++ model's parity test
(test/torch/test_fgreid_model.cpp) and the Python peer of bench/train_step."""
import collections
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

    def forward(self, inp, minimum):
        b = inp.shape[0]
        t = inp.shape[1] if self.video else 1
        frames = inp.reshape(b * t, *inp.shape[-3:])
        X = self.conv1(trunk(self.base, frames))            # [bt, 1024, h, w]
        n, c, h, w = X.shape
        a = X.mean(dim=(2, 3))                               # GAP
        s = torch.softmax(a, dim=1)
        if minimum == 'batch':
            low = X.min()
        else:
            low = torch.stack([X[i * t:(i + 1) * t].min() for i in range(b)]).repeat_interleave(t)
            low = low.view(n, 1, 1, 1)
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
