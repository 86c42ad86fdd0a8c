"""The torchvision peer of bench/loader.cpp: the seed's training transform on the same JPEGs.

    python loader_peer.py DIR --workers N --batch B --height H --width W [--video --frames F --seq-len T]

Reads DIR/list.txt ("path pid" per line, identity-major), and runs a torch DataLoader with N
worker processes over it: PIL decode, Resize((H, W), bicubic), RandomHorizontalFlip, Pad(10),
torchreid's Random2DTranslation, ToTensor, Normalize, and torchreid's RandomErasing (Zhong et
al., the ImageNet mean as fill) — tools/transforms2.py of the seed. One pass warms the page
cache and the (persistent) workers; the second is timed. Prints one JSON line.
With --video, each item is a clip of T consecutive frames of a tracklet of F files, each frame
transformed as torchreid's VideoDataset does; reports clips/s.
"""
import argparse
import json
import math
import random
import time

import torch
import torchvision
import torchvision.transforms as T
from PIL import Image


class Random2DTranslation:
    """torchreid.data.transforms.Random2DTranslation (the seed's step after the pad)."""

    def __init__(self, height, width, p=0.5, interpolation=Image.BILINEAR):
        self.height, self.width, self.p, self.interpolation = height, width, p, interpolation

    def __call__(self, img):
        if random.uniform(0, 1) > self.p:
            return img.resize((self.width, self.height), self.interpolation)
        new_width, new_height = int(round(self.width * 1.125)), int(round(self.height * 1.125))
        resized = img.resize((new_width, new_height), self.interpolation)
        x1 = int(round(random.uniform(0, new_width - self.width)))
        y1 = int(round(random.uniform(0, new_height - self.height)))
        return resized.crop((x1, y1, x1 + self.width, y1 + self.height))


class RandomErasing:
    """torchreid.data.transforms.RandomErasing with the ImageNet mean as fill."""

    def __init__(self, probability=0.5, sl=0.02, sh=0.4, r1=0.3, mean=(0.485, 0.456, 0.406)):
        self.probability, self.sl, self.sh, self.r1, self.mean = probability, sl, sh, r1, mean

    def __call__(self, img):
        if random.uniform(0, 1) > self.probability:
            return img
        for _ in range(100):
            area = img.size()[1] * img.size()[2]
            target_area = random.uniform(self.sl, self.sh) * area
            aspect_ratio = random.uniform(self.r1, 1 / self.r1)
            h = int(round(math.sqrt(target_area * aspect_ratio)))
            w = int(round(math.sqrt(target_area / aspect_ratio)))
            if w < img.size()[2] and h < img.size()[1]:
                x1 = random.randint(0, img.size()[1] - h)
                y1 = random.randint(0, img.size()[2] - w)
                for c in range(3):
                    img[c, x1:x1 + h, y1:y1 + w] = self.mean[c]
                return img
        return img


class Images(torch.utils.data.Dataset):
    def __init__(self, items, transform):
        self.items, self.transform = items, transform

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        path, pid = self.items[index]
        return self.transform(Image.open(path).convert("RGB")), pid


class Clips(torch.utils.data.Dataset):
    def __init__(self, tracklets, seq_len, transform):
        self.tracklets, self.seq_len, self.transform = tracklets, seq_len, transform

    def __len__(self):
        return len(self.tracklets)

    def __getitem__(self, index):
        paths, pid = self.tracklets[index]
        start = random.randint(0, len(paths) - self.seq_len)
        frames = [self.transform(Image.open(p).convert("RGB")) for p in paths[start:start + self.seq_len]]
        return torch.stack(frames), pid


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--height", type=int, default=256)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--video", action="store_true")
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--seq-len", type=int, default=4)
    args = parser.parse_args()
    torch.set_num_threads(1)

    items = []
    with open(f"{args.folder}/list.txt") as listing:
        for line in listing:
            path, pid = line.split()
            items.append((path, int(pid)))
    transform = T.Compose([
        T.Resize((args.height, args.width), interpolation=T.InterpolationMode.BICUBIC),
        T.RandomHorizontalFlip(),
        T.Pad(10),
        Random2DTranslation(args.height, args.width),
        T.ToTensor(),
        T.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
        RandomErasing(),
    ])
    if args.video:
        tracklets = {}
        for path, pid in items:
            tracklets.setdefault(pid, []).append(path)
        dataset = Clips([(paths, pid) for pid, paths in sorted(tracklets.items())], args.seq_len, transform)
        batch = args.batch // args.seq_len
    else:
        dataset = Images(items, transform)
        batch = args.batch
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch, shuffle=False,
                                         num_workers=args.workers, persistent_workers=args.workers > 0,
                                         pin_memory=False)
    rate = 0.0
    for _ in range(2):
        start = time.perf_counter()
        count = 0
        for images, _ in loader:
            count += images.shape[0]
        rate = count / (time.perf_counter() - start)
    unit = "clips_per_s" if args.video else "images_per_s"
    print(json.dumps({unit: rate, "torch": torch.__version__, "torchvision": torchvision.__version__}))


if __name__ == "__main__":
    main()
