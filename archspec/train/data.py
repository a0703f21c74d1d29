"""The data sets of ``--data``, adapted to the spec's input shape.

- ``digits``: scikit-learn's bundled handwritten digits (1,797 8x8 images, no download), split 80/20 with
  a fixed seed (the same test set whatever ``--seed``), resized bilinearly to the spec's height and width,
  repeated to its channels and scaled to [-1, 1] (-1 the paper, +1 the ink: LeCun's 1989 net pads with -1).
- ``synthetic``: random images of the spec's input shape with random labels, for throughput only.
- ``folder:PATH``: an image-folder tree, one sub-folder per class (torchvision's ``ImageFolder``); with
  ``train/`` and ``val/`` (or ``test/``) sub-trees when PATH has them, else an 80/20 split with a fixed seed.

In-memory data sets hand out whole batches (``__getitems__``), so the loader does no per-sample work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset, Subset

from archspec.errors import UsageError

SPLIT_SEED = 0  # the train/test split never depends on --seed: every run is measured on the same images
TEST_FRACTION = 0.2
SYNTHETIC_TRAIN, SYNTHETIC_TEST, SYNTHETIC_POOL = 1024, 256, 64
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
# PIL modes whose conversion to L or RGB is well defined (8-bit data, palettes, alpha, other colour spaces).
CONVERTIBLE_MODES = frozenset(
    {"1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr"}
)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp", ".gif")


@dataclass
class DataSets:
    """The train and test sets of a run, their classes, and how ``predict`` prepares one image like them."""

    train: Dataset[Any]
    test: Dataset[Any]
    classes: list[str]
    preprocess: dict[str, Any] = field(default_factory=dict)
    batched: bool = True  # True: the data set returns whole batches (collate with `batch_as_is`)

    @property
    def num_classes(self) -> int:
        """How many classes the labels take."""
        return len(self.classes)


class TensorData(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """Images and labels held in memory; ``__getitems__`` returns a whole batch by one indexing."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, pool: int | None = None) -> None:
        self.images, self.labels = images, labels
        self.pool = pool  # synthetic data: `len(labels)` samples that reuse `pool` stored images

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = index % self.pool if self.pool else index
        return self.images[image], self.labels[index]

    def __getitems__(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        index = torch.as_tensor(indices, dtype=torch.long, device=self.labels.device)
        images = index % self.pool if self.pool else index
        return self.images[images], self.labels[index]

    def to(self, device: torch.device) -> TensorData:
        """The same data held on ``device`` (batches are then gathered there, with no copy per step)."""
        return TensorData(self.images.to(device), self.labels.to(device), self.pool)


def batch_as_is(batch: Any) -> Any:
    """Collate for data sets that already return batches (a module-level function: workers pickle it)."""
    return batch


def image_shape(input_shape: tuple[int, ...] | list[int], what: str, network: str) -> tuple[int, int, int]:
    """The spec's input as (channels, height, width), or a UsageError saying why ``what`` cannot feed it."""
    shape = tuple(input_shape)
    if len(shape) != 3:
        dims = "x".join(str(d) for d in shape)
        raise UsageError(
            f"{what} are images, but {network} takes input {dims}, not channels x height x width; "
            "train it with --data synthetic, or give it an image input (--input CxHxW)"
        )
    channels, height, width = shape
    if channels not in (1, 3):
        raise UsageError(
            f"{what} are grey or RGB images, but {network} takes {channels} input channels; "
            "give it 1 or 3 (--input 1xHxW or 3xHxW)"
        )
    return channels, height, width


def load_data(data: str, input_shape: tuple[int, ...], network: str, num_classes: int | None) -> DataSets:
    """The data sets ``--data`` names, adapted to ``input_shape`` (UsageError for anything unusable)."""
    if data == "digits":
        return digits(image_shape(input_shape, "the digits", network))
    if data == "synthetic":
        return synthetic(tuple(input_shape), num_classes or 10)
    if data.startswith("folder:"):
        return folder(Path(data.removeprefix("folder:")), image_shape(input_shape, "folder images", network))
    raise UsageError(f"unknown --data {data!r}: use digits, synthetic or folder:PATH")


def adapt_digits(images: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    """(N, 8, 8) grey levels in [0, 1] to (N, C, H, W) in [-1, 1]: bilinear resize, channels repeated."""
    channels, height, width = shape
    x = images.unsqueeze(1)
    if x.shape[-2:] != (height, width):
        x = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False)
    return (x * 2 - 1).repeat(1, channels, 1, 1).contiguous()


def digits(shape: tuple[int, int, int]) -> DataSets:
    """scikit-learn's digits, split and adapted to ``shape`` (see the module docstring)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.tensor(bunch.images, dtype=torch.float32) / 16.0  # grey levels 0..16
    labels = torch.tensor(bunch.target, dtype=torch.long)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(SPLIT_SEED))
    cut = len(labels) - round(len(labels) * TEST_FRACTION)
    x = adapt_digits(images, shape)
    train, test = order[:cut], order[cut:]
    return DataSets(
        TensorData(x[train], labels[train]),
        TensorData(x[test], labels[test]),
        [str(d) for d in range(10)],
        {"kind": "digits", "shape": list(shape)},
    )


def synthetic(shape: tuple[int, ...], num_classes: int) -> DataSets:
    """Random images and labels of the spec's shape (a small pool of images reused: memory stays small)."""
    generator = torch.Generator().manual_seed(SPLIT_SEED)
    pool = torch.randn((SYNTHETIC_POOL, *shape), generator=generator)
    total = SYNTHETIC_TRAIN + SYNTHETIC_TEST
    labels = torch.randint(0, num_classes, (total,), generator=generator)
    return DataSets(
        TensorData(pool, labels[:SYNTHETIC_TRAIN], pool=SYNTHETIC_POOL),
        TensorData(pool, labels[SYNTHETIC_TRAIN:], pool=SYNTHETIC_POOL),
        [str(c) for c in range(num_classes)],
        {"kind": "synthetic", "shape": list(shape)},
    )


def _torchvision() -> Any:
    try:
        import torchvision
    except ImportError:
        raise UsageError(
            "--data folder: and predict need torchvision (pip install 'archspec[train]')"
        ) from None
    return torchvision


def folder_transform(preprocess: dict[str, Any], train: bool) -> Callable[[Any], torch.Tensor]:
    """The usual transforms: random resized crop and flip to train; resize and centre crop to test."""
    transforms = _torchvision().transforms
    _, height, width = preprocess["shape"]
    if train:
        steps = [transforms.RandomResizedCrop((height, width)), transforms.RandomHorizontalFlip()]
    else:
        steps = [transforms.Resize(round(min(height, width) / 0.875)), transforms.CenterCrop((height, width))]
    steps += [transforms.ToTensor(), transforms.Normalize(preprocess["mean"], preprocess["std"])]
    result: Callable[[Any], torch.Tensor] = transforms.Compose(steps)
    return result


def open_image(path: str | Path, channels: int) -> Any:
    """A PIL image in ``L`` (1 channel) or ``RGB`` (3), or a UsageError naming the file and its mode."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(path)
        image.load()
    except (UnidentifiedImageError, OSError) as error:
        raise UsageError(f"{path}: cannot read this image ({error})") from None
    if image.mode not in CONVERTIBLE_MODES:
        raise UsageError(
            f"{path}: image mode {image.mode!r} has no defined conversion to "
            f"{'grey levels (L)' if channels == 1 else 'RGB'} (16-bit or floating-point data); "
            "convert it to an 8-bit image first"
        )
    return image.convert("L" if channels == 1 else "RGB")


class _Loader:
    """ImageFolder's loader for a number of channels (a class, not a closure: workers pickle it)."""

    def __init__(self, channels: int) -> None:
        self.channels = channels

    def __call__(self, path: str) -> Any:
        return open_image(path, self.channels)


def folder(root: Path, shape: tuple[int, int, int]) -> DataSets:
    """An image-folder tree (see the module docstring); every file's mode is checked before training."""
    datasets = _torchvision().datasets
    if not root.is_dir():
        raise UsageError(f"--data folder:{root}: no such directory")
    channels = shape[0]
    mean, std = (IMAGENET_MEAN, IMAGENET_STD) if channels == 3 else ((0.5,), (0.5,))
    preprocess = {"kind": "folder", "shape": list(shape), "mean": list(mean), "std": list(std)}
    train_root = root / "train"
    test_root = next((root / name for name in ("val", "test") if (root / name).is_dir()), None)
    split = not (train_root.is_dir() and test_root is not None)

    def tree(path: Path, train: bool) -> Any:
        try:
            return datasets.ImageFolder(
                str(path), transform=folder_transform(preprocess, train), loader=_Loader(channels)
            )
        except FileNotFoundError:
            raise UsageError(
                f"--data folder:{root}: no images in {path} (expected one sub-folder of images per class, "
                f"with extensions {', '.join(IMAGE_EXTENSIONS[:4])}, …)"
            ) from None

    if split:
        train_set, test_set = tree(root, True), tree(root, False)
        _check_modes(train_set.samples, channels)
        order = torch.randperm(len(train_set), generator=torch.Generator().manual_seed(SPLIT_SEED)).tolist()
        cut = len(order) - max(1, round(len(order) * TEST_FRACTION))
        if cut < 1:
            raise UsageError(f"--data folder:{root}: {len(order)} image(s) are too few to split")
        train: Dataset[Any] = Subset(train_set, order[:cut])
        test: Dataset[Any] = Subset(test_set, order[cut:])
        classes = list(train_set.classes)
    else:
        assert test_root is not None
        train_set, test_set = tree(train_root, True), tree(test_root, False)
        if test_set.classes != train_set.classes:
            raise UsageError(
                f"--data folder:{root}: {test_root.name}/ has classes {test_set.classes}, "
                f"train/ has {train_set.classes}"
            )
        _check_modes(train_set.samples + test_set.samples, channels)
        train, test, classes = train_set, test_set, list(train_set.classes)
    return DataSets(train, test, classes, preprocess, batched=False)


def _check_modes(samples: list[tuple[str, int]], channels: int) -> None:
    """Fail before training, not in the middle of an epoch (PIL reads only each file's header here)."""
    from PIL import Image, UnidentifiedImageError

    for path, _ in samples:
        try:
            with Image.open(path) as image:
                mode = image.mode
        except (UnidentifiedImageError, OSError) as error:
            raise UsageError(f"{path}: cannot read this image ({error})") from None
        if mode not in CONVERTIBLE_MODES:
            open_image(path, channels)  # raises the message about the mode


def predict_input(path: str | Path, preprocess: dict[str, Any], invert: bool = False) -> torch.Tensor:
    """One image file prepared as the run's test images were: a (C, H, W) tensor. ``invert``: the
    digits' white ink on black from an image of dark ink on light paper."""
    channels, height, width = preprocess["shape"]
    if preprocess["kind"] == "digits":
        from PIL import Image

        image = open_image(path, 1)
        if image.size != (8, 8):  # the digits are 8x8: bring the image to their resolution first
            image = image.resize((8, 8), Image.Resampling.BOX)
        import numpy as np

        grey = torch.from_numpy(np.asarray(image, dtype=np.float32)).reshape(1, 8, 8) / 255.0
        if invert:
            grey = 1.0 - grey
        return adapt_digits(grey, (channels, height, width))[0]
    if preprocess["kind"] == "folder":
        return folder_transform(preprocess, train=False)(open_image(path, channels))
    raise UsageError("this checkpoint was trained on synthetic data; it has no image pre-processing")


def dark_on_light(path: str | Path) -> bool:
    """Whether a digit image looks like dark ink on light paper, the reverse of the digits' white ink
    on black: its border (the outer ring of pixels, where a centred digit has no ink) is brighter on
    average than its centre."""
    import numpy as np

    grey = np.asarray(open_image(path, 1), dtype=np.float32)
    height, width = grey.shape
    ring = max(1, min(height, width) // 8)
    inner = grey[ring : height - ring, ring : width - ring]
    if inner.size == 0:
        return False
    border_mean = (grey.sum() - inner.sum()) / (grey.size - inner.size)
    return bool(border_mean > inner.mean() + 8.0)  # 8 of 255 levels: noise on a blank image is not ink
