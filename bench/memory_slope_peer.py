"""bench_memory_slope's peer: the tiny network's training loop in plain PyTorch.

The same data (the synthetic Market-1501 training images), sampling (P = 8 identities x K = 4
images, torchreid's RandomIdentitySampler), input size, flips, network (two strided 3x3
convolutions 3->16->32 with BatchNorm and ReLU, global average pooling, a BatchNorm neck, a
bias-free classifier), objective (label-smoothed CE + batch-hard triplet, bench/train_step_peer.py's)
and optimiser (Adam 3.5e-4, weight decay 5e-4) as the C++ bench's recipe, through a
torch DataLoader with persistent worker processes. Resident memory of this (the training)
process, and on CUDA the caching allocator's allocated and reserved bytes, are read at the start
of every --sample-every-th step. Prints one JSON line with the samples; the C++ bench fits them."""
import argparse
import json
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
from train_step_peer import batch_hard_triplet, smoothed_ce  # noqa: E402

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
PAGE_MB = os.sysconf('SC_PAGE_SIZE') / 1048576.0


def training_images(root):
    """(path, label) of every training image; labels are the person ids renumbered from 0."""
    folder = os.path.join(root, 'Market-1501-v15.09.15', 'bounding_box_train')
    if not os.path.isdir(folder):
        folder = os.path.join(root, 'bounding_box_train')
    names = sorted(n for n in os.listdir(folder) if n.endswith('.jpg'))
    pids = sorted({int(n.split('_')[0]) for n in names})
    label = {pid: i for i, pid in enumerate(pids)}
    return [(os.path.join(folder, n), label[int(n.split('_')[0])]) for n in names]


class Images(torch.utils.data.Dataset):
    def __init__(self, items, height, width):
        self.items, self.size = items, (width, height)

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        path, label = self.items[index]
        image = Image.open(path).convert('RGB').resize(self.size, Image.BILINEAR)
        if random.random() < 0.5:
            image = image.transpose(Image.FLIP_LEFT_RIGHT)
        tensor = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).permute(2, 0, 1)
        return (tensor - MEAN) / STD, label


class RandomIdentityBatches:
    """torchreid's RandomIdentitySampler as batches, at most `limit` of them per epoch."""

    def __init__(self, labels, p, k, limit):
        self.by_label = {}
        for index, label in enumerate(labels):
            self.by_label.setdefault(label, []).append(index)
        self.p, self.k, self.limit = p, k, limit

    def __iter__(self):
        groups = {}
        for label, indices in self.by_label.items():
            indices = (random.sample(indices, len(indices)) if len(indices) >= self.k
                       else random.choices(indices, k=self.k))
            groups[label] = [indices[i:i + self.k] for i in range(0, len(indices) - self.k + 1, self.k)]
        for _ in range(self.limit):
            available = [label for label, left in groups.items() if left]
            if len(available) < self.p:
                return
            yield [i for label in random.sample(available, self.p) for i in groups[label].pop()]

    def __len__(self):
        return self.limit


class TinyNet(nn.Module):
    def __init__(self, classes, channels=32):
        super().__init__()
        self.trunk = nn.Sequential(
            nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
            nn.Conv2d(16, channels, 3, 2, 1, bias=False), nn.BatchNorm2d(channels), nn.ReLU())
        self.neck = nn.BatchNorm1d(channels)
        self.classifier = nn.Linear(channels, classes, bias=False)

    def forward(self, x):
        pooled = self.trunk(x).mean((2, 3))
        return self.classifier(self.neck(pooled)), pooled


def sample(iteration, device):
    with open('/proc/self/statm') as statm:
        rss = int(statm.read().split()[1]) * PAGE_MB
    if device.type != 'cuda':
        return [iteration, rss, 0.0, 0.0]
    return [iteration, rss, torch.cuda.memory_allocated(device) / 1048576.0,
            torch.cuda.memory_reserved(device) / 1048576.0]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--data-root', required=True)
    parser.add_argument('--iterations', type=int, default=10000)
    parser.add_argument('--epoch-iterations', type=int, default=20)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int, default=0)
    parser.add_argument('--workers', type=int, default=1)
    parser.add_argument('--height', type=int, default=32)
    parser.add_argument('--width', type=int, default=16)
    parser.add_argument('--sample-every', type=int, default=50)
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    random.seed(1)
    torch.manual_seed(1)
    device = torch.device(args.device)
    items = training_images(args.data_root)
    labels = [label for _, label in items]
    batches = RandomIdentityBatches(labels, 8, 4, args.epoch_iterations)
    loader = torch.utils.data.DataLoader(Images(items, args.height, args.width), batch_sampler=batches,
                                         num_workers=args.workers, persistent_workers=args.workers > 0,
                                         pin_memory=device.type == 'cuda')
    model = TinyNet(max(labels) + 1).to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=3.5e-4, weight_decay=5e-4)
    samples, step = [], 0
    start = time.perf_counter()
    for _ in range(args.iterations // args.epoch_iterations):
        for images, targets in loader:
            if step % args.sample_every == 0:
                samples.append(sample(step, device))
            images, targets = images.to(device, non_blocking=True), targets.to(device, non_blocking=True)
            logits, feature = model(images)
            loss = smoothed_ce(logits, targets) + batch_hard_triplet(feature, targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
    if step != args.iterations:
        sys.exit(f'memory_slope_peer: ran {step} steps, not {args.iterations}: an epoch of the sampler is '
                 f'shorter than --epoch-iterations {args.epoch_iterations}')
    print(json.dumps({'iterations': step, 'seconds': time.perf_counter() - start, 'loss': loss.item(),
                      'samples': samples, 'threads': torch.get_num_threads(), 'torch': torch.__version__}))


if __name__ == '__main__':
    main()
