"""Digit-counting composites for the weakly supervised counting EDNN (Mills & Tamblyn 2021 (counting preprint), thesis section 3.5,
counting preprint Sec. 2, thesis L2117, counting preprint Table 1, thesis L2126-2135).

MNIST cannot be downloaded here, so the digit pools come from scikit-learn's bundled `load_digits` (1797 8 x 8
images, about 180 per digit): each is upscaled bicubically to 20 x 20 and centred on a 28 x 28 field (MNIST's
layout: a 20 x 20 box with a 4-pixel margin), values 0-255.  Each digit's images are split into a train pool and a
test pool (90 / 10, the paper's 4320 / 480 ratio) BEFORE any compositing, so no instance appears on both sides.

An image draws N_i uniformly in 0 ... L_max (inclusive; ours, the text leaves it open) for each counted digit i and
places N_i random pool instances at random positions on an empty canvas by element-wise summation, clipped at 255
(counting preprint Sec. 2, thesis L2117).  Without occlusion, placements are rejected until the digits' tight boxes do not overlap.  L_max is the
paper's for 256 x 256 canvases; smaller canvases scale it by area (ours: we train on small canvases and test on
256 x 256, which the EDNN's size independence allows; ours).
"""
from __future__ import annotations

import functools

import numpy as np
import torch

from .base import ZooDataModule, per_shard_counts
from .cache import recipe_hash
from .physics.ising import seed_sequence

# Table 1 (a)-(e): counted digits, L_max on 256 x 256, occlusion, random scale
DATASETS = {
    "digits-1": {"digits": [5], "l_max": 25, "occlude": False, "variable_scale": False},
    "digits-2": {"digits": [4, 8], "l_max": 12, "occlude": False, "variable_scale": False},
    "digits-10": {"digits": list(range(10)), "l_max": 6, "occlude": False, "variable_scale": False},
    "digits-2-occ": {"digits": [4, 8], "l_max": 15, "occlude": True, "variable_scale": False},
    "digits-2-occ-vs": {"digits": [4, 8], "l_max": 15, "occlude": True, "variable_scale": True},
}
SCALE_RANGE = (0.6, 1.4)  # '-vs' scaling range: not stated in the paper (ours), ours
# training-digit augmentation (DigitCountingDataModule(augment=True); ours, not the paper's, which has MNIST's
# ~4300 instances per digit where scikit-learn's digits give ~160): rotation in degrees and scale factor
AUGMENT_ROTATION, AUGMENT_SCALE = 12.0, (0.9, 1.1)
TEST_FRACTION = 0.1  # 480 / 4800 per digit (counting preprint Sec. 2, thesis L2117)


def load_sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled digits (1797 x 8 x 8, values 0-16, and labels), read from the CSV the package ships
    (the same data as `sklearn.datasets.load_digits()`, without importing scikit-learn: ~5 s on a loaded CPU)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("scikit-learn is needed for its bundled digits: pip install scikit-learn")
    path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / "digits.csv.gz"
    data = np.loadtxt(path, delimiter=",")
    return data[:, :-1].reshape(-1, 8, 8), data[:, -1].astype(np.int64)


@functools.lru_cache(maxsize=1)
def digit_pools() -> dict[str, dict[int, np.ndarray]]:
    """{'train': {digit: (n, 28, 28) uint8}, 'test': {...}}: scikit-learn digits upscaled to MNIST's layout, split
    per digit 90 / 10 by a fixed permutation (independent of any dataset seed, so pools never mix)."""
    from scipy.ndimage import zoom

    images, target = load_sklearn_digits()
    rng = np.random.default_rng(seed_sequence("digit-pools", 0))
    out = {"train": {}, "test": {}}
    for digit in range(10):
        imgs = images[target == digit]
        big = np.clip(np.stack([zoom(im, 2.5, order=3) for im in imgs]), 0, 16)  # 8 -> 20
        field = np.zeros((len(big), 28, 28), dtype=np.uint8)
        field[:, 4:24, 4:24] = np.round(big * (255 / 16)).astype(np.uint8)
        perm = rng.permutation(len(field))
        n_test = int(round(TEST_FRACTION * len(field)))
        out["test"][digit], out["train"][digit] = field[perm[:n_test]], field[perm[n_test:]]
    return out


def l_max_for(dataset: str, canvas: int) -> int:
    """The paper's L_max (256 x 256) scaled by canvas area, at least 1."""
    return max(1, int(round(DATASETS[dataset]["l_max"] * (canvas / 256) ** 2)))


def _rescale(img: np.ndarray, s: float) -> np.ndarray:
    from scipy.ndimage import zoom

    return np.clip(zoom(img.astype(np.float32), s, order=3), 0, 255)


def _augment(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random small rotation and scale of one 28 x 28 digit about its centre (AUGMENT_ROTATION, AUGMENT_SCALE;
    ours), in one bilinear affine map onto a field of the scaled size."""
    from scipy.ndimage import affine_transform

    a, s = np.deg2rad(rng.uniform(-AUGMENT_ROTATION, AUGMENT_ROTATION)), rng.uniform(*AUGMENT_SCALE)
    n_out = int(round(img.shape[0] * s))
    m = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) / s  # output pixel -> input pixel
    c_in, c_out = (np.array(img.shape) - 1) / 2, np.full(2, (n_out - 1) / 2)
    out = affine_transform(img.astype(np.float32), m, offset=c_in - m @ c_out, output_shape=(n_out, n_out), order=1)
    return np.clip(out, 0, 255)


def composite(dataset: str, canvas: int, pool: dict[int, np.ndarray], rng: np.random.Generator,
              l_max: int | None = None, max_tries: int = 500,
              augment: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One image: (canvas, canvas) uint8, counts (l,) int64, and centres (l * l_max, 3) [class index, row, col]
    padded with -1.  augment: each placed digit gets a random small rotation and scale (`_augment`)."""
    spec = DATASETS[dataset]
    l_max = l_max_for(dataset, canvas) if l_max is None else l_max
    digits = spec["digits"]
    for _ in range(100):  # a rare infeasible packing is redrawn
        counts = rng.integers(0, l_max + 1, size=len(digits))
        img = np.zeros((canvas, canvas), dtype=np.float32)
        occupied = np.zeros((canvas, canvas), dtype=bool)
        centres = np.full((len(digits) * l_max, 3), -1, dtype=np.int64)
        k, ok = 0, True
        order = np.repeat(np.arange(len(digits)), counts)
        rng.shuffle(order)
        for ci in order:
            p = pool[digits[ci]]
            d = p[rng.integers(0, len(p))].astype(np.float32)
            if augment:
                d = _augment(d, rng)
            if spec["variable_scale"]:
                d = _rescale(d, rng.uniform(*SCALE_RANGE))
            rows, cols = np.nonzero(d > 0)
            d = d[rows.min():rows.max() + 1, cols.min():cols.max() + 1]  # tight box
            h, w = d.shape
            if h > canvas or w > canvas:
                ok = False
                break
            for _ in range(max_tries):
                r, c = rng.integers(0, canvas - h + 1), rng.integers(0, canvas - w + 1)
                if spec["occlude"] or not occupied[r:r + h, c:c + w].any():
                    break
            else:
                ok = False
                break
            img[r:r + h, c:c + w] += d
            occupied[r:r + h, c:c + w] = True
            centres[k] = (ci, r + h // 2, c + w // 2)
            k += 1
        if ok:
            return np.clip(img, 0, 255).astype(np.uint8), counts.astype(np.int64), centres
    raise RuntimeError(f"could not place the digits of {dataset} on a {canvas}x{canvas} canvas without overlap")


def _shard(k: int, *, key: str, dataset: str, sizes: dict, canvases: dict, shard_size: int,
           augment: bool = False) -> dict:
    pools = digit_pools()
    out = {}
    for split, n in sizes.items():
        lo, hi = k * shard_size, min(n, (k + 1) * shard_size)
        pool = pools["train" if split == "train" else "test"]
        canvas = canvases[split]
        l_max = l_max_for(dataset, canvas)
        imgs, counts, centres = [], [], []
        for i in range(lo, hi):
            rng = np.random.default_rng(seed_sequence(key, split, i))
            a, b, c = composite(dataset, canvas, pool, rng, l_max=l_max, augment=augment and split == "train")
            imgs.append(a)
            counts.append(b)
            centres.append(c)
        l = len(DATASETS[dataset]["digits"])
        out[f"{split}_images"] = np.stack(imgs) if imgs else np.zeros((0, canvas, canvas), np.uint8)
        out[f"{split}_counts"] = np.stack(counts) if counts else np.zeros((0, l), np.int64)
        out[f"{split}_centres"] = np.stack(centres) if centres else np.zeros((0, l * l_max, 3), np.int64)
    return out


class DigitCountingDataModule(ZooDataModule):
    """Counting composites (Table 1 (a)-(e)) from scikit-learn digits.

    Args:
        dataset: one of DATASETS ('digits-1', 'digits-2', 'digits-10', 'digits-2-occ', 'digits-2-occ-vs').
        canvas: side of the train and validation canvases (ours: 96, the paper trains on 256).
        test_canvas: side of the test canvases (the paper's 256).
        val_canvas: side of the validation canvases; None (default) is `canvas`.  Set it to `test_canvas` to select
            checkpoints at the size the card measures (ours; the paper states no validation protocol).
        augment: give every training digit a random rotation (+-AUGMENT_ROTATION degrees) and scale
            (AUGMENT_SCALE) before it is placed (ours); validation and test digits are never augmented.
        n_train, n_val, n_test: number of images (not stated in the paper).
        shard_size: images per split per shard (unit of parallel generation; part of the recipe).
        seed: dataset seed.
    Images are served as (1, H, W) float in [0, 1]; labels are per-class counts (float).
    """

    name = "digits"
    recipe_added_options = {"val_canvas": None, "augment": False}
    model_links = {}

    def __init__(self, dataset: str = "digits-2", canvas: int = 96, test_canvas: int = 256, n_train: int = 4000,
                 n_val: int = 400, n_test: int = 400, shard_size: int = 200, seed: int = 0, batch_size: int = 32,
                 num_workers: int = 0, data_dir: str | None = None, gen_workers: int | None = None,
                 progress: bool = True, eval_batch_size: int | None = None, val_canvas: int | None = None,
                 augment: bool = False):
        super().__init__(batch_size=batch_size, num_workers=num_workers, data_dir=data_dir, gen_workers=gen_workers,
                         progress=progress, eval_batch_size=8 if eval_batch_size is None else eval_batch_size)
        if dataset not in DATASETS:
            raise ValueError(f"dataset must be one of {sorted(DATASETS)}; got {dataset!r}")
        if canvas < 28 or test_canvas < 28:
            raise ValueError(f"canvas and test_canvas must be >= 28 (one digit); got {canvas}, {test_canvas}")
        if val_canvas is not None and val_canvas < 28:
            raise ValueError(f"val_canvas must be >= 28 (one digit) or None; got {val_canvas}")
        if min(n_train, n_val, n_test) < 1 or shard_size < 1:
            raise ValueError("n_train, n_val, n_test and shard_size must be >= 1")
        self.dataset, self.canvas, self.test_canvas, self.val_canvas = dataset, canvas, test_canvas, val_canvas
        self.augment = bool(augment)
        self.n_train, self.n_val, self.n_test, self.shard_size, self.seed = n_train, n_val, n_test, shard_size, seed

    @property
    def n_classes(self) -> int:
        return len(DATASETS[self.dataset]["digits"])

    @property
    def n_shards(self) -> int:
        return len(per_shard_counts(max(self.n_train, self.n_val, self.n_test), self.shard_size))

    def shard_fn(self):
        return functools.partial(_shard, key=recipe_hash(self.recipe()), dataset=self.dataset,
                                 sizes={"train": self.n_train, "val": self.n_val, "test": self.n_test},
                                 canvases={"train": self.canvas, "val": self.val_canvas or self.canvas,
                                           "test": self.test_canvas},
                                 augment=self.augment,
                                 shard_size=self.shard_size)

    def make_splits(self, arrays: dict) -> dict:
        from torch.utils.data import TensorDataset

        self.centres = {s: arrays[f"{s}_centres"] for s in ("train", "val", "test")}
        return {s: TensorDataset(torch.as_tensor(arrays[f"{s}_images"]).float().unsqueeze(1) / 255.0,
                                 torch.as_tensor(arrays[f"{s}_counts"]).float())
                for s in ("train", "val", "test")}

