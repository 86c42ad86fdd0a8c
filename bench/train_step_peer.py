"""bench_train_step's peer: the same training step in PyTorch-Python, timed the same way.

baseline: torchvision's resnet50 (last stride 1) + BNNeck + label-smoothed CE + batch-hard
triplet (margin 0.3), as recipe_baseline. fgreid: the FGReID module of the C++ model's parity
test (test/reference/fgreid_reference.py) + the seed's objective (seed-facts §2, vectorised),
as recipe_market_image. Adam 3.5e-4, weight decay 5e-4. Batch: P identities × K images each,
identity-major, as the C++ side. Prints one JSON line.

--compile wraps the module in torch.compile (default mode); the losses and the optimizer stay
eager. The first warm-up step compiles (forward and backward), so at least one warm-up step
runs, and its time is reported as compile_seconds, apart from the timed iterations. When
compiling fails (no C++ compiler or Triton, an unsupported op), the JSON line carries "error"
instead of a rate and the exit status is still 0, so that bench_train_step reports the other
contenders."""
import argparse
import json
import os
import sys
import time
import traceback

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'test', 'reference'))
from fgreid_reference import FGReID, resnet50_last_stride_1, trunk  # noqa: E402


class BNNeck(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.base = resnet50_last_stride_1()
        del self.base.fc
        self.bottleneck = nn.BatchNorm1d(2048)
        self.bottleneck.bias.requires_grad_(False)
        self.classifier = nn.Linear(2048, classes, bias=False)

    def forward(self, x):
        feature = trunk(self.base, x).mean((2, 3))
        return self.classifier(self.bottleneck(feature)), feature


def smoothed_ce(logits, labels, eps=0.1):
    log_p = logits.float().log_softmax(1)
    return -((1 - eps) * log_p.gather(1, labels[:, None]).squeeze(1) + eps * log_p.mean(1)).mean()


def batch_hard_triplet(f, labels, margin=0.3):
    f = f.float()
    d = torch.cdist(f, f).clamp_min(1e-12)
    same = labels[:, None] == labels[None, :]
    hardest_positive = torch.where(same, d, torch.zeros_like(d)).amax(1)
    hardest_negative = torch.where(same, torch.full_like(d, float('inf')), d).amin(1)
    return F.relu(hardest_positive - hardest_negative + margin).mean()


# The seed's constants (tools/dataset_config.conf).
ALPHA, SIGMA, L = 2.0708620427781153, 0.1985923780643122, 0.483491099945938
BETA, MARGIN, VAR_W, CENTER_W = 0.14033231327559872, 2.0750171830713216e-4, 6.818137374953562e-4, 0.0005


def cosine_triplet(f, labels):
    unit = F.normalize(f, dim=1)
    sim = unit @ unit.T
    same = labels[:, None] == labels[None, :]
    hardest_negative = torch.where(same, torch.full_like(sim, -2.0), sim).amax(1)
    hardest_positive = torch.where(same, sim, torch.full_like(sim, 2.0)).amin(1)
    return F.relu(hardest_negative - hardest_positive + MARGIN).mean()


def center_loss(f, centers, labels):
    return ((f - centers[labels]) ** 2).sum(1).clamp(1e-12, 1e12).sum() / len(f)


def osm_caa(f, centers, labels):
    x = F.normalize(f, dim=1)
    n = len(x)
    d = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1).clamp_min(1e-12).sqrt()
    same = labels[:, None] == labels[None, :]
    off = ~torch.eye(n, dtype=torch.bool, device=f.device)
    s_neg = (ALPHA - d).clamp_min(1e-12)
    s = torch.where(same, torch.exp(-d ** 2 / SIGMA ** 2), s_neg)
    e = torch.exp(x @ F.normalize(centers, dim=1).T)
    a = e.gather(1, labels[:, None]).squeeze(1) / e.sum(1)
    w = s * torch.minimum(a[:, None], a[None, :])
    wp = torch.where(same & off, w, torch.zeros_like(w))
    wn = torch.where(~same & off, w, torch.zeros_like(w))
    return (1 - L) * 0.5 * (wp * d ** 2).sum() / wp.sum() + L * 0.5 * (wn * s_neg ** 2).sum() / wn.sum()


def variance(f, labels, k):
    groups = f.view(-1, k, f.shape[1])          # identity-major P x K
    proto = groups.sum(1, keepdim=True) / k
    p = groups.shape[0]
    return ((groups - proto) ** 2).sum() / (((k - 1) * p) // k)


def satisfied_rank(y1, y2, labels, rank_margin=2.0, satisfied_margin=1.0, kl_margin=0.005):
    p1, p2 = y1.softmax(1), y2.softmax(1)
    kl = (p1 * torch.log(p1 / (p2 + 1e-12) + 1e-12)).sum(1).mean()
    t1, t2 = p1.gather(1, labels[:, None]).squeeze(1), p2.gather(1, labels[:, None]).squeeze(1)
    rank, sat = F.relu(t1 - t2 + rank_margin), F.relu(2 * satisfied_margin - t1 - t2)
    return torch.minimum(rank, sat).mean() + F.relu(kl - kl_margin)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--model', default='baseline')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int, default=0)
    parser.add_argument('--amp', default='off')
    parser.add_argument('--channels-last', action='store_true')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--iterations', type=int, default=3)
    parser.add_argument('--height', type=int, default=256)
    parser.add_argument('--width', type=int, default=128)
    parser.add_argument('--classes', type=int, default=751)
    parser.add_argument('--batch-p', type=int, default=16)
    parser.add_argument('--batch-k', type=int, default=4)
    parser.add_argument('--compile', action='store_true')
    args = parser.parse_args()
    if args.batch_p < 1 or args.batch_k < 2 or args.batch_p > args.classes:
        parser.error('need 1 <= --batch-p <= --classes and --batch-k >= 2')
    if args.warmup < 0 or args.iterations < 1:
        parser.error('need --warmup >= 0 and --iterations >= 1')
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.backends.cudnn.benchmark = True
    torch.manual_seed(0)
    p, k = args.batch_p, args.batch_k
    model = (BNNeck(args.classes) if args.model == 'baseline' else FGReID(args.classes, False)).to(device)
    centers = nn.Parameter(torch.randn(args.classes, 2048, device=device)) if args.model == 'fgreid' else None
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    trained = torch.compile(model) if args.compile else model
    optimizer = torch.optim.Adam([q for q in model.parameters() if q.requires_grad], lr=3.5e-4,
                                 weight_decay=5e-4)
    center_optimizer = torch.optim.SGD([centers], lr=0.5) if centers is not None else None
    scaler = torch.amp.GradScaler(args.device, enabled=args.amp == 'fp16')
    dtype = {'bf16': torch.bfloat16, 'fp16': torch.float16}.get(args.amp)
    images = torch.randn(p * k, 3, args.height, args.width, device=device)
    if args.channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    labels = torch.randperm(args.classes)[:p].repeat_interleave(k).to(device)
    model.train()

    def step():
        with torch.autocast(args.device, dtype=dtype or torch.float32, enabled=dtype is not None):
            if args.model == 'baseline':
                logits, feature = trained(images)
                loss = smoothed_ce(logits, labels) + batch_hard_triplet(feature, labels)
            else:
                y1, y2, f, _ = trained(images, 'batch')
                f, y1, y2 = f.float(), y1.float(), y2.float()
                loss = ((smoothed_ce(y1, labels) + smoothed_ce(y2, labels)) / 2
                        + (1 - BETA) * cosine_triplet(f, labels) + CENTER_W * center_loss(f, centers, labels)
                        + BETA * osm_caa(f, centers, labels) + VAR_W * variance(f, labels, k)
                        + satisfied_rank(y1, y2, labels))
        optimizer.zero_grad(set_to_none=True)
        if center_optimizer:
            center_optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        if center_optimizer:
            scaler.unscale_(center_optimizer)
            centers.grad.mul_(1.0 / CENTER_W)
            scaler.step(center_optimizer)
        scaler.update()
        return loss

    def synchronize():
        if device.type == 'cuda':
            torch.cuda.synchronize()

    report = {'threads': torch.get_num_threads(), 'torch': torch.__version__, 'batch': p * k}
    if args.compile:
        try:
            report.update(measure(step, synchronize, max(args.warmup, 1), args.iterations, p * k))
            report['compile_seconds'] = report.pop('first_step_seconds')
            report['compiled_graphs'] = torch._dynamo.utils.counters['stats']['unique_graphs']
        except Exception as error:  # the bench reports the failure beside the other contenders
            traceback.print_exc()
            report['error'] = f'torch.compile: {type(error).__name__}: {first_lines(str(error))}'
    else:
        report.update(measure(step, synchronize, args.warmup, args.iterations, p * k))
    print(json.dumps(report))


def measure(step, synchronize, warmup, iterations, batch):
    """Runs `warmup` steps, the first one timed on its own (torch.compile compiles there), then
    times `iterations` steps."""
    first_step_seconds = 0.0
    for i in range(warmup):
        start = time.perf_counter()
        step()
        if i == 0:
            synchronize()
            first_step_seconds = time.perf_counter() - start
    synchronize()
    start = time.perf_counter()
    for _ in range(iterations):
        loss = step()
    synchronize()
    seconds = time.perf_counter() - start
    return {'images_per_s': batch * iterations / seconds, 'seconds': seconds, 'loss': loss.item(),
            'warmup': warmup, 'first_step_seconds': first_step_seconds}


def first_lines(message, lines=3, limit=400):
    """The gist of an exception's message: inductor's start with a line like "backend='inductor'
    raised:" and name the cause on the next ones."""
    kept = [line.strip() for line in message.splitlines() if line.strip()][:lines]
    return ' | '.join(kept)[:limit]

if __name__ == '__main__':
    main()
