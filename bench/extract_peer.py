"""bench_extract's peer: test-time feature extraction in PyTorch-Python eager, timed the same way.

The networks of python/fgreid/networks.py (the C++ models' parity references): baseline is
BNNeck (torchvision's resnet50 at last stride 1, feature after the BatchNorm neck), fgreid the
FGReID image network; both through TestFeatures (feature + flipped feature, L2-normalised) in
eval mode under torch.inference_mode, each batch's features copied to the host. --amp is the
autocast bench_extract's extraction applies on the device (it passes its own), --channels-last
converts the module and the batch, and cuDNN runs with benchmark off and deterministic on (as
fgreid's extraction, eval::ReproducibleKernels) unless --cudnn-benchmark. Prints one JSON line."""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'python'))
from fgreid.networks import BNNeck, FGReID, TestFeatures  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--model', default='baseline', choices=['baseline', 'fgreid'])
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int, default=0)
    parser.add_argument('--amp', default='off', choices=['off', 'bf16', 'fp16'])
    parser.add_argument('--channels-last', action='store_true')
    parser.add_argument('--cudnn-benchmark', action='store_true')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--iterations', type=int, default=5)
    parser.add_argument('--height', type=int, default=256)
    parser.add_argument('--width', type=int, default=128)
    parser.add_argument('--classes', type=int, default=751)
    parser.add_argument('--test-batch', type=int, default=256)
    args = parser.parse_args()
    if args.warmup < 0 or args.iterations < 1 or args.test_batch < 1:
        parser.error('need --warmup >= 0, --iterations >= 1 and --test-batch >= 1')
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.backends.cudnn.benchmark = args.cudnn_benchmark
    torch.backends.cudnn.deterministic = not args.cudnn_benchmark
    torch.manual_seed(0)
    network = BNNeck(args.classes) if args.model == 'baseline' else FGReID(args.classes, False)
    model = TestFeatures(network.to(device), flip=True, normalize=True)  # eval mode
    images = torch.randn(args.test_batch, 3, args.height, args.width, device=device)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    dtype = {'bf16': torch.bfloat16, 'fp16': torch.float16}.get(args.amp)

    def batch():
        with torch.inference_mode(), torch.autocast(args.device, dtype=dtype or torch.float32,
                                                     enabled=dtype is not None):
            return model(images).float().cpu()

    for _ in range(args.warmup):
        batch()
    if device.type == 'cuda':
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(args.iterations):
        features = batch()
    seconds = time.perf_counter() - start
    print(json.dumps({'images_per_s': args.test_batch * args.iterations / seconds, 'seconds': seconds,
                      'finite': bool(torch.isfinite(features).all()), 'threads': torch.get_num_threads(),
                      'torch': torch.__version__}))


if __name__ == '__main__':
    main()
