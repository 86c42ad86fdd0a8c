"""The FGReID network written in PyTorch from the paper's description, and torchvision's
ResNet-50 with re-ID's last stride 1: the reference of the C++ model's parity test
(test/torch/test_fgreid_model.cpp) and the Python peer of bench/train_step. The definitions
live in python/fgreid/networks.py, which scripts/export also uses."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'python'))
from fgreid.networks import FGReID, resnet50_last_stride_1, trunk  # noqa: E402,F401
