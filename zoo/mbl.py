"""MBL eigenstate phases from entanglement spectra: Durr & Chakravarty, "Unsupervised learning eigenstate phases
of matter", PRB 100, 075102 (2019), arXiv:1903.05755 [DC19], adapted as ch. 1 of Durr's thesis (UCLA 2022; "thesis
Sec. 1.x, Lnnn" = section and line of shared/papers/durr-2022-thesis.txt).

Two classes of one paper, registry name "mbl" (cards name their class in `class_path`):

- `MBLClassifier` (default; supervised, following Venderley, Khemani & Kim, PRL 120, 257204 (2018),
  arXiv:1711.00020 [VKK18]): an MLP on the 16 eigenvalues of rho_A of single eigenstates, trained with cross-entropy
  on the three points (0.8, 0.2) SG, (-0.8, 0.2) PM, (0, 1) thermal (DC19, thesis Sec. 1.4.1, L457-459), then
  applied to the whole grid; the phase diagram is the mean softmax per grid point (Fig. 1.5).  Architecture ours
  (DC19 defers it to VKK18): 16 -> 64 -> 64 -> 3, ReLU, dropout 0.1, input = entanglement energies
  -log(max(p, 1e-12)) / log(1e12).
- `MBLClusterer` (variant; unsupervised, DC19 thesis Sec. 1.3.2): no optimizer.  Each training step is one resample
  (n_per_point eigenstates at every grid point): the Jensen-Shannon distance matrix, HDBSCAN (precomputed metric,
  min_cluster_size = 10 % of the resample, min_samples chosen by DBCV on the first resample) and spectral
  clustering with 3 clusters (Gaussian affinity, sigma = median JS distance: ours).  Labels are aligned across
  resamples (HDBSCAN: by mean Delta, as for Fig. 1.3; spectral: thermal = highest mean entanglement entropy, the
  other two by mean Delta: ours) and accumulated per grid point, noise kept; only resamples where HDBSCAN finds
  exactly two clusters enter its map.  The first resample is stored as a reference, so `assign(spectra)` labels
  new eigenstates by a JS k-NN vote (ours).

Cards and checkpoints from before the split carry `kind` ('classifier' / 'clusterer'): `MBLClassifier.from_legacy_args`
maps them to the class.  Measurement lives in zoo/evaluation/mbl.py, figures in zoo/figures/mbl.py.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import torch
import torchmetrics
from torch import nn

from datamodules.mbl import PHASES
from datamodules.physics import spin_chain as sc

from datamodules import validation
from .base import SupervisedTask, ZooTask
from .registry import register_model

INPUT_MODES = ("ent_energies", "probs")
ENERGY_FLOOR = 1e-12


def check_spectra(spectra, n_features: int, sorted_tol: float = 1e-6) -> np.ndarray:
    """(B, n_features) rho_A eigenvalues: finite, non-negative, summing to 1, sorted descending -> float32 array."""
    if isinstance(spectra, torch.Tensor):
        spectra = spectra.detach().cpu().numpy()
    x = np.asarray(spectra, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != n_features:
        raise ValueError(f"spectra must have shape (B, {n_features}) (the rho_A eigenvalues of the middle region); "
                         f"got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("spectra contain NaN or inf")
    if np.any(x < -1e-6):
        raise ValueError("spectra must be non-negative (eigenvalues of a density matrix)")
    if np.any(np.abs(x.sum(1) - 1) > 1e-3):
        raise ValueError("each spectrum must sum to 1 (trace of rho_A)")
    if np.any(np.diff(x, axis=1) > sorted_tol):
        raise ValueError("spectra must be sorted in descending order")
    return np.clip(x, 0, None).astype(np.float32)


def phase_map(probs, point, n_delta: int, n_lambda: int) -> np.ndarray:
    """Mean of per-eigenstate (B, 3) probabilities per grid point -> (n_delta, n_lambda, 3)."""
    probs = np.asarray(probs, dtype=np.float64)
    point = np.asarray(point)
    G = n_delta * n_lambda
    if point.min() < 0 or point.max() >= G:
        raise ValueError(f"point indices must be in [0, {G}); got [{point.min()}, {point.max()}]")
    s = np.zeros((G, probs.shape[1]))
    np.add.at(s, point, probs)
    n = np.bincount(point, minlength=G)[:, None]
    with np.errstate(invalid="ignore"):
        return (s / n).reshape(n_delta, n_lambda, -1)


# ============================================================================================= classifier
# init args of the classifier's optimizer, which a legacy clusterer card carried without using them
_OPTIMIZER_ARGS = ("optimizer", "lr", "weight_decay", "lr_schedule", "optimizer_args")


@register_model("mbl")
class MBLClassifier(SupervisedTask):
    """Args:
        L, region_size: chain length and middle-region size of the training data (`zoo fit` links them from
            the DataModule); the input has 2^region_size features.
        hidden: MLP widths (ours: [64, 64]).  dropout: ours 0.1.
        input_mode: 'ent_energies' (default: the "entanglement spectra" of DC19 thesis Sec. 1.4, Fig. 1.5, L447) or
            'probs'.
        optimizer, lr, weight_decay, lr_schedule, optimizer_args: `SupervisedTask`'s; ours Adam 1e-3 (DC19 trained
            with TensorFlow, settings unreported).
    """

    def __init__(self, L: int | None = None, region_size: int = 4, hidden: list[int] = (64, 64),
                 dropout: float = 0.1, input_mode: str = "ent_energies", optimizer: str = "adam", lr: float = 1e-3,
                 weight_decay: float = 0.0, lr_schedule: str = "constant", optimizer_args: dict | None = None):
        if L is None:
            raise ValueError("L (chain length) is required; `zoo fit` links it from data.init_args.L")
        sc.middle_region(L, region_size)
        if input_mode not in INPUT_MODES:
            raise ValueError(f"input_mode must be one of {INPUT_MODES}; got {input_mode!r}")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1); got {dropout}")
        hidden = list(hidden)
        if not hidden or any(int(h) < 1 for h in hidden):
            raise ValueError(f"hidden must be a non-empty list of positive widths; got {hidden}")
        super().__init__(optimizer=optimizer, lr=lr, weight_decay=weight_decay, lr_schedule=lr_schedule,
                         optimizer_args=optimizer_args)

    @classmethod
    def from_legacy_args(cls, init_args: dict) -> tuple[type, dict]:
        """(class, init args) of a card or checkpoint from before the split, whose init args carry `kind`:
        'clusterer' -> `MBLClusterer` without the optimizer args it never used; otherwise this class."""
        args = dict(init_args)
        kind = args.pop("kind", "classifier")
        if kind == "clusterer":
            return MBLClusterer, {k: v for k, v in args.items() if k not in _OPTIMIZER_ARGS}
        if kind != "classifier":
            raise ValueError(f"legacy MBL init args: kind must be 'classifier' or 'clusterer'; got {kind!r}")
        return cls, args

    @property
    def n_features(self) -> int:
        return 2 ** self.hparams.region_size

    def configure_models(self) -> None:
        hp = self.hparams
        layers, d = [], self.n_features
        for w in hp.hidden:
            layers += [nn.Linear(d, int(w)), nn.ReLU(), nn.Dropout(hp.dropout)]
            d = int(w)
        self.net = nn.Sequential(*layers, nn.Linear(d, len(PHASES)))

    def configure_losses(self) -> None:
        self.loss_fn = nn.CrossEntropyLoss()

    def configure_metrics(self) -> None:
        make = lambda: torchmetrics.MetricCollection({  # noqa: E731
            "accuracy": torchmetrics.Accuracy(task="multiclass", num_classes=len(PHASES))})
        self.val_metrics = make().clone(prefix="val/")
        self.test_metrics = make().clone(prefix="test/")

    def features(self, p: torch.Tensor) -> torch.Tensor:
        p = p.to(self.dtype)
        if self.hparams.input_mode == "probs":
            return p
        return -torch.log(p.clamp_min(ENERGY_FLOOR)) / math.log(1 / ENERGY_FLOOR)

    def forward(self, spectra: torch.Tensor) -> torch.Tensor:
        """(B, 2^|A|) descending rho_A eigenvalues -> logits (B, 3) in the order (PM, SG, thermal)."""
        # a spectrum of another region size reaches the first Linear layer as a raw matmul error
        validation.last_dim(spectra, self.n_features, "spectra",
                            f"rho_A eigenvalues of a {self.hparams.region_size}-site middle region")
        return self.net(self.features(spectra))

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = self.loss_fn(self(x), y)
        self.log("train/loss", loss, prog_bar=True, on_step=True, on_epoch=True, batch_size=len(x))
        return loss

    def _eval_step(self, batch, metrics, stage):
        x, y = batch
        out = self(x)
        self.log_eval_loss(stage, self.loss_fn(out, y), len(x))
        metrics.update(out.argmax(-1), y)
        self.log_dict(metrics, prog_bar=stage == "val")

    def predict_step(self, batch, batch_idx):
        return {"probs": torch.softmax(self(batch[0]), -1), "point": batch[1]}

    # -- domain API -----------------------------------------------------------------------------
    @torch.no_grad()
    def predict_phase(self, spectra, batch_size: int = 65536) -> torch.Tensor:
        """(B, 16) rho_A eigenvalues sorted descending (array or tensor) -> (B, 3) probabilities (PM, SG, thermal)."""
        x = torch.as_tensor(check_spectra(spectra, self.n_features), device=self.device)
        return torch.softmax(self.batched_forward(x, batch_size), -1) if len(x) else x.new_zeros(0, 3)

    def phase_diagram(self, spectra, point, n_delta: int, n_lambda: int, aggregate: str = "mean_softmax"):
        """(p (n_delta, n_lambda, 3) per-point phase probabilities, C map (n_delta, n_lambda)).

        aggregate: 'mean_softmax' (default) or 'vote' (fraction of argmax labels)."""
        if aggregate not in ("mean_softmax", "vote"):
            raise ValueError(f"aggregate must be 'mean_softmax' or 'vote'; got {aggregate!r}")
        probs = self.predict_phase(spectra).cpu().numpy()
        if aggregate == "vote":
            probs = np.eye(3)[probs.argmax(1)]
        p = phase_map(probs, point, n_delta, n_lambda)
        return p, sc.confusion(p)


# ============================================================================================= clusterer
@register_model("mbl", variant=True)
class MBLClusterer(ZooTask):
    """Resampled HDBSCAN + spectral clustering of entanglement spectra (DC19 thesis Sec. 1.3.2, Figs. 1.2-1.4).

    Args:
        L, region_size, n_delta, n_lambda, delta_range, lambda_range, n_per_point: data facts linked by `zoo fit`
            from the DataModule (the resample is n_per_point eigenstates at each of n_delta * n_lambda points).
        min_cluster_fraction: HDBSCAN min_cluster_size as a fraction of the resample (DC19: 600 of 6000, thesis
            Sec. 1.3.2, L411).
        min_samples: an int, or 'dbcv' (DC19: chosen by the density-based validation score, value unreported,
            thesis Sec. 1.3.2, L413): the DBCV-best of `dbcv_candidates` on the first resample, then frozen (ours).
        n_clusters: spectral clusters (DC19: 3, thesis Sec. 1.3.2, L433).  sigma: Gaussian-kernel width in
            JS-distance units (base js_base), 'median' (ours: median pairwise distance of each resample) or a number.
        knn: neighbours of the JS k-NN vote of `assign` against the reference resample.
        seed: seeds k-means inside spectral clustering (seed + resample index).
    Not trained by gradient: `zoo fit` with max_epochs 1 runs one resample per step; the counts are buffers
    (single process: under DDP each rank would keep its own counts).
    """

    def __init__(self, L: int | None = None, region_size: int = 4, n_delta: int = 60, n_lambda: int = 20,
                 delta_range: list[float] = (-3.0, 3.0), lambda_range: list[float] = (0.0, 2.0), n_per_point: int = 5,
                 min_cluster_fraction: float = 0.1, min_samples: int | str = "dbcv",
                 dbcv_candidates: list[int] = (5, 10, 25, 50, 100), n_clusters: int = 3,
                 sigma: float | str = "median", js_base: float = 2.0, knn: int = 10, seed: int = 0):
        if L is None:
            raise ValueError("L (chain length) is required; `zoo fit` links it from data.init_args.L")
        sc.middle_region(L, region_size)
        if n_delta < 1 or n_lambda < 1 or n_per_point < 1:
            raise ValueError(f"n_delta, n_lambda, n_per_point must be >= 1; got {n_delta}, {n_lambda}, {n_per_point}")
        if not 0 < min_cluster_fraction < 0.5:
            raise ValueError(f"min_cluster_fraction must be in (0, 0.5); got {min_cluster_fraction}")
        if not (min_samples == "dbcv" or (isinstance(min_samples, int) and min_samples >= 1)):
            raise ValueError(f"min_samples must be a positive int or 'dbcv'; got {min_samples!r}")
        if not (sigma == "median" or (isinstance(sigma, (int, float)) and sigma > 0)):
            raise ValueError(f"sigma must be 'median' or a positive number; got {sigma!r}")
        if n_clusters != 3:
            raise ValueError(f"label alignment is defined for 3 spectral clusters (PM, SG, thermal); got {n_clusters}")
        if js_base <= 1 or knn < 1:
            raise ValueError(f"js_base must be > 1 and knn >= 1; got {js_base}, {knn}")
        super().__init__()
        self.automatic_optimization = False

    @property
    def n_points(self) -> int:
        return self.hparams.n_delta * self.hparams.n_lambda

    @property
    def deltas(self) -> np.ndarray:
        return np.linspace(*self.hparams.delta_range, self.hparams.n_delta)

    @property
    def lambdas(self) -> np.ndarray:
        return np.linspace(*self.hparams.lambda_range, self.hparams.n_lambda)

    def configure_models(self) -> None:
        G, n, d = self.n_points, self.hparams.n_per_point, 2 ** self.hparams.region_size
        self.register_buffer("hdbscan_counts", torch.zeros(G, 3, dtype=torch.float64))  # PM, SG, noise
        self.register_buffer("spectral_counts", torch.zeros(G, 3, dtype=torch.float64))  # PM, SG, thermal
        self.register_buffer("n_clusters_hist", torch.zeros(12, dtype=torch.int64))  # HDBSCAN clusters 0..10, 11+
        self.register_buffer("n_resamples", torch.zeros((), dtype=torch.int64))
        self.register_buffer("n_accepted", torch.zeros((), dtype=torch.int64))
        self.register_buffer("min_samples_used", torch.full((), -1, dtype=torch.int64))
        self.register_buffer("sigma_sum", torch.zeros((), dtype=torch.float64))
        self.register_buffer("ref_spectra", torch.zeros(G * n, d))
        self.register_buffer("ref_point", torch.zeros(G * n, dtype=torch.int64))
        self.register_buffer("ref_hdbscan", torch.full((G * n,), -2, dtype=torch.int64))  # 0 PM, 1 SG, 2 noise
        self.register_buffer("ref_spectral", torch.full((G * n,), -2, dtype=torch.int64))  # 0 PM, 1 SG, 2 thermal

    def configure_optimizers(self):
        return None

    # -- one resample ---------------------------------------------------------------------------
    def distances(self, X) -> np.ndarray:
        # float32 pairwise terms (2x faster than float64; |error| of a distance ~ 1e-3 for near-identical spectra),
        # handed to HDBSCAN / the affinity as float64
        return sc.js_distance_matrix(X, base=self.hparams.js_base, dtype=torch.float32).numpy().astype(np.float64)

    def _choose_min_samples(self, D: np.ndarray, mcs: int) -> int:
        import hdbscan
        from hdbscan.validity import validity_index

        best, best_score = None, -np.inf
        for ms in self.hparams.dbcv_candidates:
            if int(ms) >= D.shape[0]:
                continue
            labels = hdbscan.HDBSCAN(min_cluster_size=mcs, min_samples=int(ms), metric="precomputed").fit_predict(D)
            if labels.max() < 1:  # DBCV needs >= 2 clusters
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                score = validity_index(D, labels, metric="precomputed", d=2 ** self.hparams.region_size)
            if np.isfinite(score) and score > best_score:
                best, best_score = int(ms), score
        return best if best is not None else int(self.hparams.dbcv_candidates[0])

    def cluster_resample(self, X, point, step: int = 0) -> dict:
        """HDBSCAN and spectral labels (aligned) of one resample: X (N, d) spectra, point (N,) grid indices."""
        import hdbscan
        from sklearn.cluster import SpectralClustering

        X = np.asarray(X.detach().cpu() if isinstance(X, torch.Tensor) else X, dtype=np.float64)
        point = np.asarray(point.detach().cpu() if isinstance(point, torch.Tensor) else point)
        hp = self.hparams
        D = self.distances(X)
        N = len(X)
        mcs = max(2, int(round(hp.min_cluster_fraction * N)))
        ms = hp.min_samples
        if ms == "dbcv":
            if int(self.min_samples_used) < 0:
                self.min_samples_used.fill_(self._choose_min_samples(D, mcs))
            ms = int(self.min_samples_used)
        else:
            self.min_samples_used.fill_(int(ms))
        raw = hdbscan.HDBSCAN(min_cluster_size=mcs, min_samples=min(int(ms), N - 1), metric="precomputed").fit_predict(D)
        n_found = int(raw.max()) + 1
        delta = self.deltas[point // hp.n_lambda]
        hdb = np.full(N, 2)
        if n_found == 2:
            order = np.argsort([delta[raw == c].mean() for c in range(2)])  # lower mean Delta = PM (DC19 Fig. 1.3, thesis L425-427)
            for new, c in enumerate(order):
                hdb[raw == c] = new
        # spectral clustering on the Gaussian affinity S = exp(-d^2 / 2 sigma^2) of the same distances (DC19 thesis
        # Sec. 1.6.2, L673): sklearn's affinity='precomputed' takes similarities, not distances
        iu = np.triu_indices(N, 1)
        sigma = float(np.median(D[iu][D[iu] > 0])) if hp.sigma == "median" else float(hp.sigma)
        S = np.exp(-D ** 2 / (2 * sigma ** 2))
        del D
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rawsp = SpectralClustering(n_clusters=3, affinity="precomputed", assign_labels="kmeans",
                                       random_state=int(hp.seed) + int(step)).fit_predict(S)
        ent = sc.entanglement_entropy(X)
        present = [c for c in range(3) if (rawsp == c).any()]
        thermal = max(present, key=lambda c: ent[rawsp == c].mean())
        rest = sorted([c for c in present if c != thermal], key=lambda c: delta[rawsp == c].mean())
        spec = np.full(N, 2)
        for new, c in enumerate(rest):
            spec[rawsp == c] = new if len(rest) == 2 else (0 if delta[rawsp == c].mean() < 0 else 1)
        return {"hdbscan": hdb, "hdbscan_n_clusters": n_found, "spectral": spec, "sigma": sigma,
                "min_samples": int(ms)}

    def training_step(self, batch, batch_idx):
        X, point = batch
        r = self.cluster_resample(X, point, step=int(self.n_resamples))
        pt = point.detach().cpu().numpy()
        self.n_clusters_hist[min(r["hdbscan_n_clusters"], 11)] += 1
        if r["hdbscan_n_clusters"] == 2:
            c = np.zeros((self.n_points, 3))
            np.add.at(c, (pt, r["hdbscan"]), 1)
            self.hdbscan_counts += torch.as_tensor(c, device=self.device)
            self.n_accepted += 1
        c = np.zeros((self.n_points, 3))
        np.add.at(c, (pt, r["spectral"]), 1)
        self.spectral_counts += torch.as_tensor(c, device=self.device)
        self.sigma_sum += r["sigma"]
        if int(self.n_resamples) == 0:
            self.ref_spectra.copy_(torch.as_tensor(X, dtype=self.ref_spectra.dtype))
            self.ref_point.copy_(torch.as_tensor(pt))
            self.ref_hdbscan.copy_(torch.as_tensor(r["hdbscan"] if r["hdbscan_n_clusters"] == 2 else np.full(len(pt), -2)))
            self.ref_spectral.copy_(torch.as_tensor(r["spectral"]))
        self.n_resamples += 1
        self._count_step()
        self.log("cluster/min_samples", float(r["min_samples"]))
        self.log("cluster/two_cluster_rate", (self.n_accepted.double() / self.n_resamples).item(), prog_bar=True)
        self.log("cluster/hdbscan_n_clusters", float(r["hdbscan_n_clusters"]))
        return None

    def _count_step(self) -> None:
        """Advance the trainer's global step: with no optimizer it would stay 0, and ModelCheckpoint (which saves
        only when the global step moved) would never write last.ckpt.  One resample = one step."""
        trainer = getattr(self, "_trainer", None)
        if trainer is not None:
            trainer.fit_loop.epoch_loop.manual_optimization.optim_step_progress.increment_completed()

    def _eval_step(self, batch, metrics, stage):
        return None  # nothing to validate between resamples

    val_metrics = test_metrics = None

    def predict_step(self, batch, batch_idx):
        x = batch[0]
        return {"hdbscan": self.assign(x, "hdbscan"), "spectral": self.assign(x, "spectral"), "point": batch[1]}

    # -- results --------------------------------------------------------------------------------
    @property
    def two_cluster_rate(self) -> float:
        n = int(self.n_resamples)
        return float(self.n_accepted) / n if n else float("nan")

    def phase_diagram(self, method: str = "spectral") -> tuple[np.ndarray, np.ndarray]:
        """(p (n_delta, n_lambda, 3), C map): label fractions averaged over resamples.  'hdbscan': (PM, SG, noise)
        over the resamples with exactly two clusters; 'spectral': (PM, SG, thermal) over all resamples."""
        if method not in ("hdbscan", "spectral"):
            raise ValueError(f"method must be 'hdbscan' or 'spectral'; got {method!r}")
        c = (self.hdbscan_counts if method == "hdbscan" else self.spectral_counts).cpu().numpy()
        tot = c.sum(1, keepdims=True)
        if not tot.all():
            raise ValueError(f"no {method} resamples accumulated yet (fit the clusterer first)")
        p = (c / tot).reshape(self.hparams.n_delta, self.hparams.n_lambda, 3)
        return p, sc.confusion(p)

    @torch.no_grad()
    def assign(self, spectra, method: str = "spectral", return_probs: bool = False):
        """Label new eigenstates (B, 2^|A|) descending rho_A spectra from any Hamiltonian: k-NN vote (JS distance)
        against the stored reference resample.  Labels 0 PM, 1 SG, 2 thermal ('spectral') or noise ('hdbscan')."""
        if method not in ("hdbscan", "spectral"):
            raise ValueError(f"method must be 'hdbscan' or 'spectral'; got {method!r}")
        ref_lab = (self.ref_hdbscan if method == "hdbscan" else self.ref_spectral).cpu()
        if (ref_lab < 0).all():
            raise ValueError(f"no {method} reference resample stored (HDBSCAN did not give two clusters on it, "
                             f"or the clusterer is not fitted)")
        x = check_spectra(spectra, 2 ** self.hparams.region_size)
        D = sc.js_distance_matrix(x, self.ref_spectra.cpu().numpy(), base=self.hparams.js_base)
        k = min(self.hparams.knn, len(ref_lab))
        nn_idx = D.topk(k, dim=1, largest=False).indices
        votes = torch.nn.functional.one_hot(ref_lab[nn_idx], 3).double().mean(1)
        return votes if return_probs else votes.argmax(1)
