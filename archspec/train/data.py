"""The data sets of ``--data``, adapted to the spec's input shape.

- ``digits``: scikit-learn's bundled handwritten digits (1,797 8x8 images, no download), split 80/20 with
  a fixed seed (the same test set whatever ``--seed``), resized bilinearly to the spec's height and width,
  repeated to its channels and scaled to [-1, 1] (-1 the paper, +1 the ink: LeCun's 1989 net pads with -1).
- ``synthetic``: random images of the spec's input shape with random labels, for throughput only.
- ``folder:PATH``: an image-folder tree, one sub-folder per class (as torchvision's ``ImageFolder`` reads it,
  within bounds: ``ImageFiles``); with
  ``train/`` and ``val/`` (or ``test/``) sub-trees when PATH has them, else an 80/20 split with a fixed seed.

In-memory data sets hand out whole batches (``__getitems__``), so the loader does no per-sample work.
"""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset, Subset

from archspec.errors import UsageError

DIGITS = 1_797
DIGITS_COPIES = 4  # resized, scaled, channels repeated, then split: four copies at the peak
FOLDER_COPIES = 4  # a batch being loaded, the one training and the loader's prefetched ones
MAX_IMAGE_PIXELS = 50_000_000  # a 50-megapixel photo: 150 MB in RGB (PIL's own warning is at 89 M)
MAX_DATA_FOLDERS = 10_000  # folders of a --data folder: tree (ImageNet's has 1,000 classes, 2,000 in all)
MAX_DATA_FILES = 10_000_000  # files of it (ImageNet's training set has 1.28 million)
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


def check_memory(images: int, shape: tuple[int, ...] | list[int], what: str) -> None:
    """UsageError when ``images`` float32 images of ``shape`` would not fit the memory available now
    (the budget ``build()`` checks the weights against), before anything is allocated."""
    from archspec.backends.torch_build import default_budget

    size = images * math.prod(shape) * 4
    budget = default_budget()
    if size > budget:
        dims = "x".join(str(d) for d in shape)
        raise UsageError(
            f"{what}: {images:,} image(s) of {dims} need {size / 1e9:,.2f} GB, more than the "
            f"{budget / 1e9:.2f} GB of memory available; give the network a smaller input (--input)"
        )


def load_data(
    data: str, input_shape: tuple[int, ...], network: str, num_classes: int | None, batch_size: int = 1
) -> DataSets:
    """The data sets ``--data`` names, adapted to ``input_shape`` (UsageError for anything unusable,
    and for data that would not fit in memory: ``batch_size`` images of a folder are held at a time)."""
    if data == "digits":
        shape = image_shape(input_shape, "the digits", network)
        check_memory(DIGITS * DIGITS_COPIES, shape, "the digits")
        return digits(shape)
    if data == "synthetic":
        check_memory(SYNTHETIC_POOL, tuple(input_shape), "synthetic data")
        return synthetic(tuple(input_shape), num_classes or 10)
    if data.startswith("folder:"):
        shape = image_shape(input_shape, "folder images", network)
        check_memory(batch_size * FOLDER_COPIES, shape, f"--{data}")
        return folder(Path(data.removeprefix("folder:")), shape)
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
    with image_file(path) as image:
        try:
            image.load()
        except OSError as error:
            raise UsageError(f"{path}: cannot read this image ({error})") from None
        if image.mode not in CONVERTIBLE_MODES:
            raise UsageError(
                f"{path}: image mode {image.mode!r} has no defined conversion to "
                f"{'grey levels (L)' if channels == 1 else 'RGB'} (16-bit or floating-point data); "
                "convert it to an 8-bit image first"
            )
        return image.convert("L" if channels == 1 else "RGB")  # a new image: the file may close


@contextmanager
def image_file(path: str | Path) -> Iterator[Any]:
    """The image at ``path`` with only its header read, while the file is open: a regular file (a FIFO
    or a device would block or never end) of at most ``MAX_IMAGE_PIXELS`` pixels (a tiny file can
    announce billions: PIL's DecompressionBombError)."""
    from PIL import Image, UnidentifiedImageError

    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO opens without waiting
    except OSError as error:
        raise UsageError(f"{path}: cannot read this image ({error.strerror or error})") from None
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):  # a folder opens too, but cannot be read
        os.close(descriptor)
        raise UsageError(f"{path}: cannot read this image (not a regular file)")
    with os.fdopen(descriptor, "rb") as stream:
        try:
            image = Image.open(stream)
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
            raise UsageError(f"{path}: cannot read this image ({error})") from None
        with image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise UsageError(
                    f"{path}: {width:,}x{height:,} pixels is over the limit of {MAX_IMAGE_PIXELS:,}; "
                    "reduce the image first"
                )
            yield image


class _Loader:
    """ImageFolder's loader for a number of channels (a class, not a closure: workers pickle it)."""

    def __init__(self, channels: int) -> None:
        self.channels = channels

    def __call__(self, path: str) -> Any:
        return open_image(path, self.channels)


def folder(root: Path, shape: tuple[int, int, int]) -> DataSets:
    """An image-folder tree (see the module docstring); every file's mode is checked before training."""
    if not root.is_dir():
        raise UsageError(f"--data folder:{root}: no such directory")
    channels = shape[0]
    mean, std = (IMAGENET_MEAN, IMAGENET_STD) if channels == 3 else ((0.5,), (0.5,))
    preprocess = {"kind": "folder", "shape": list(shape), "mean": list(mean), "std": list(std)}
    train_root = root / "train"
    test_root = next((root / name for name in ("val", "test") if (root / name).is_dir()), None)
    split = not (train_root.is_dir() and test_root is not None)

    def tree(path: Path, train: bool) -> ImageFiles:
        try:
            return ImageFiles(path, folder_transform(preprocess, train), _Loader(channels))
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
    for path, _ in samples:
        with image_file(path) as image:
            mode = image.mode
        if mode not in CONVERTIBLE_MODES:
            open_image(path, channels)  # raises the message about the mode


class ImageFiles(Dataset[tuple[torch.Tensor, int]]):
    """An image-folder tree, one sub-folder per class, as torchvision's ``ImageFolder`` reads it, but
    walked within bounds: links to folders are not followed (a link loop), only regular files with an
    image extension are taken (not a FIFO), and a tree of more than ``MAX_DATA_FOLDERS`` folders or
    ``MAX_DATA_FILES`` files is refused (``folder:/``). FileNotFoundError when a class has no image."""

    def __init__(self, root: Path, transform: Callable[[Any], torch.Tensor], loader: _Loader) -> None:
        self.transform, self.loader = transform, loader
        try:
            with os.scandir(root) as entries:
                self.classes = sorted(entry.name for entry in entries if _is_dir(entry))
        except OSError as error:
            raise UsageError(f"{root}: cannot read this folder ({error.strerror or error})") from None
        if not self.classes:
            raise FileNotFoundError(root)
        self.samples: list[tuple[str, int]] = []
        folders = 0
        for label, name in enumerate(self.classes):
            found = 0
            for folder, subfolders, files in os.walk(root / name, followlinks=False):
                folders += 1
                if folders > MAX_DATA_FOLDERS or len(self.samples) + len(files) > MAX_DATA_FILES:
                    raise UsageError(
                        f"{root}: more than {MAX_DATA_FOLDERS:,} folders or {MAX_DATA_FILES:,} files; "
                        "give the folder of the data set"
                    )
                subfolders.sort()
                for file in sorted(files):
                    path = os.path.join(folder, file)
                    if file.lower().endswith(IMAGE_EXTENSIONS) and _is_regular(path):
                        self.samples.append((path, label))
                        found += 1
            if not found:
                raise FileNotFoundError(root / name)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        path, label = self.samples[index]
        return self.transform(self.loader(path)), label


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _is_regular(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)  # a link to a regular file counts
    except OSError:  # vanished, a dangling or looping link
        return False


def predict_input(path: str | Path, preprocess: dict[str, Any], invert: bool = False) -> torch.Tensor:
    """One image file prepared as the run's test images were: a (C, H, W) tensor. ``invert``: the
    digits' white ink on black from an image of dark ink on light paper."""
    channels, height, width = preprocess["shape"]
    check_memory(FOLDER_COPIES, preprocess["shape"], str(path))
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
