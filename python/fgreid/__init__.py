"""fgreid's networks in PyTorch, for running a trained model outside the C++ binaries: the
definitions that load an `--export-weights` state dict (fgreid's module names are
torchvision's and the seed's), the test-time feature they compute, and the preprocessing of
the recipes' test transform. scripts/export turns them into TorchScript and ONNX files."""
