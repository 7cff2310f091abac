"""Spectrum Bifurcation Renormalization Group (SBRG; You, Qi & Xu, PRB 93, 104205 (2016) [YQX16]).

Pure numpy: no Lightning, no plotting (the figures are in zoo/figures/mbl.py, the report in zoo/reports/mbl.py).

What the paper states (Durr & Chakravarty, PRB 100, 075102 (2019), arXiv:1903.05755, appendix; "Lnnn" = line of
its adaptation, Durr's thesis Sec. 1.6.1, L538-636 of shared/papers/durr-2022-thesis.txt):
- H = sum_mu h_mu sigma^mu with mu a string over {I, X, Y, Z} (Sec. 1.6.1.1, L558-560).
- One step: take the leading term h0 Gamma0, Clifford-rotate it to s^3_j (Sec. 1.6.1.1, L566-574), split the rest
  into Delta (commuting with s^3_j) and Sigma (anticommuting), and Schrieffer-Wolff rotate Sigma away to second order:
  H -> H0 + Delta + (1/(2 h0^2)) H0 Sigma^2 (L582-596). Repeat until every site is decimated (L598).
- The SW rotations are dropped from the eigenstate circuit (U_RG ~ prod R_i, L604-608) but their second-order
  terms stay in H_eff.
- Visualization model (Sec. 1.6.1.2, L616-628): H = -sum_i [J_i X_i X_{i+1} + K_i Z_i Z_{i+1} + h_i Z_i], L = 8,
  P(J) dJ = (1/(Gamma J)) (J/J0)^(1/Gamma) dJ on [0, J0], J0 = K0 = h0 = 1, Gamma = 5 (Fig 1.1, Fig 1.13:
  the SBRG spectrum "closely match[es]" ED, L630; no number is quoted).

What we chose (ours; [ext] = the reference code EverettYou/SBRG, read, not copied):
- Gamma = 1 is the uniform distribution; the thesis's "gamma = 0 ... uniform" (Sec. 1.6.1.2, L626) is a
  misstatement. Sampling: J = J0 * u**Gamma, u ~ U(0, 1).
- Boundary conditions are unspecified in the thesis; default PBC as in [ext], `pbc=False` gives an open chain.
- Truncation as in [ext]: drop SW products with |h_a h_b| < tol h0^2, keep at most max_rate * |Sigma| of the
  largest new terms, drop merged terms with |coefficient| < tol |h0|; tol = 1e-8, max_rate = 2.
  We merge identical new strings before applying the max_rate cap (so the cap counts distinct strings).
- No SWAP relabelling: the LIOM of step k keeps the label of the physical site j it was put on.
- Case (a) of the rotation picks the first free site (lowest index) where Gamma0 has X or Y; any choice gives the
  same spectrum because the second-order SW generator S = (1/(2 h0)) Gamma0 Sigma is basis-covariant.

Conventions:
- A Pauli string is stored symplectically as two bit masks (Python ints, bit k = site k): x and z. The Hermitian
  basis element is sigma(x, z) = i^(x.z) X^x Z^z, so Y = i X Z. Products carry a power of i:
  sigma(a) sigma(b) = i^k sigma(a xor b) (`pauli_product`). Operators are real coefficients times these strings;
  products of commuting strings have k in {0, 2} (a sign), anticommuting ones k in {1, 3}.
- Dense matrices (`pauli_matrix`, `exact_spectrum`) use kron order site 0 first, i.e. site 0 is the most
  significant bit; this is an independent code path (Kronecker products of 2x2 matrices by label).
- H_eff is a list of (coefficient, frozenset of LIOM sites): H_eff = sum_S c_S prod_{j in S} tau_j.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "PauliString", "pauli_product", "anticommute", "pauli_matrix", "CliffordRotation",
    "SBRGResult", "sbrg", "sbrg_random_tfim", "sample_couplings", "heff_spectrum", "exact_spectrum",
    "hamiltonian_matrix", "relative_rms_error", "term_range", "term_strength_vs_range", "sbrg_vs_ed",
    "sbrg_ed_error_scan", "liom_ranges", "stabilizer_entropy",
]

_LABELS = "IXYZ"
MAX_ED_SITES = 14  # 2^14 dense float64 = 2 GiB; anything bigger is not what the dense reference is for


# --------------------------------------------------------------------------- Pauli algebra
@dataclass(frozen=True, slots=True)
class PauliString:
    """Hermitian Pauli string sigma(x, z) = i^(x.z) X^x Z^z on L sites (bit k of x/z = site k)."""

    x: int
    z: int
    L: int

    def __post_init__(self):
        if not isinstance(self.L, (int, np.integer)) or self.L < 1:
            raise ValueError(f"L must be a positive integer; got {self.L!r}")
        full = (1 << self.L) - 1
        for name, v in (("x", self.x), ("z", self.z)):
            if not isinstance(v, (int, np.integer)) or v < 0 or int(v) & ~full:
                raise ValueError(f"PauliString.{name} must be a bit mask in [0, 2^{self.L}); got {v!r}")
            object.__setattr__(self, name, int(v))  # int.bit_count is used throughout; numpy ints lack it
        object.__setattr__(self, "L", int(self.L))

    @classmethod
    def from_label(cls, label: str) -> "PauliString":
        """'XIZY' -> string with X on site 0, Z on site 2, Y on site 3."""
        if not isinstance(label, str) or not label or any(c not in _LABELS for c in label.upper()):
            raise ValueError(f"Pauli label must be a non-empty string over 'IXYZ'; got {label!r}")
        x = z = 0
        for k, c in enumerate(label.upper()):
            if c in "XY":
                x |= 1 << k
            if c in "ZY":
                z |= 1 << k
        return cls(x, z, len(label))

    @classmethod
    def from_ops(cls, L: int, ops: dict) -> "PauliString":
        """from_ops(4, {0: 'X', 1: 'X'}) -> 'XXII'."""
        chars = ["I"] * L
        for site, op in ops.items():
            if not 0 <= site < L:
                raise ValueError(f"site {site} out of range for L = {L}")
            chars[site] = op
        return cls.from_label("".join(chars))

    @property
    def label(self) -> str:
        return "".join(_site_label(self.x, self.z, k) for k in range(self.L))

    @property
    def support(self) -> frozenset:
        m = self.x | self.z
        return frozenset(k for k in range(self.L) if (m >> k) & 1)

    @property
    def weight(self) -> int:
        return (self.x | self.z).bit_count()

    def __repr__(self) -> str:
        return f"PauliString('{self.label}')"


def _site_label(x: int, z: int, k: int) -> str:
    return "IXZY"[((x >> k) & 1) | (((z >> k) & 1) << 1)]


def _phase(ax: int, az: int, bx: int, bz: int) -> int:
    """k (mod 4) in sigma(a) sigma(b) = i^k sigma(a xor b).

    X^a1 Z^a2 X^b1 Z^b2 = (-1)^(a2.b1) X^(a1^b1) Z^(a2^b2); the i^(x.z) prefactors of the Hermitian convention
    then give k = a.a' + b.b' + 2 az.bx - c.c' with c = a xor b (x.z counted as popcounts).
    """
    return ((ax & az).bit_count() + (bx & bz).bit_count() + 2 * (az & bx).bit_count()
            - ((ax ^ bx) & (az ^ bz)).bit_count()) & 3


def _anti(ax: int, az: int, bx: int, bz: int) -> bool:
    return bool(((ax & bz).bit_count() + (az & bx).bit_count()) & 1)


def _check_same_L(a: PauliString, b: PauliString):
    if not isinstance(a, PauliString) or not isinstance(b, PauliString):
        raise ValueError(f"expected two PauliStrings; got {type(a).__name__} and {type(b).__name__}")
    if a.L != b.L:
        raise ValueError(f"Pauli strings act on different numbers of sites: {a.L} vs {b.L}")


def pauli_product(a: PauliString, b: PauliString) -> tuple[int, PauliString]:
    """a * b = i^k * c; returns (k mod 4, c)."""
    _check_same_L(a, b)
    return _phase(a.x, a.z, b.x, b.z), PauliString(a.x ^ b.x, a.z ^ b.z, a.L)


def anticommute(a: PauliString, b: PauliString) -> bool:
    """True iff a b = -b a (odd number of sites where both are non-identity and different)."""
    _check_same_L(a, b)
    return _anti(a.x, a.z, b.x, b.z)


_P2 = {
    "I": np.eye(2, dtype=complex),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "Z": np.array([[1, 0], [0, -1]], dtype=complex),
}


def pauli_matrix(p: PauliString) -> np.ndarray:
    """Dense 2^L x 2^L matrix by Kronecker products of 2x2 Paulis, site 0 first (the independent reference)."""
    if not isinstance(p, PauliString):
        raise ValueError(f"expected a PauliString; got {type(p).__name__}")
    if p.L > MAX_ED_SITES:
        raise ValueError(f"dense matrices are limited to L <= {MAX_ED_SITES}; got L = {p.L}")
    m = np.ones((1, 1), dtype=complex)
    for c in p.label:
        m = np.kron(m, _P2[c])
    return m


# --------------------------------------------------------------------------- Clifford rotations
@dataclass(frozen=True, slots=True)
class CliffordRotation:
    """U = exp((pi/4) B A) = (1 + B A)/sqrt2 for anticommuting Hermitian Pauli strings A, B: U A U^dag = B.

    With C = B A (C^2 = -1): a string commuting with C is unchanged, an anticommuting one goes to C Gamma
    (thesis Sec. 1.6.1.1, L574, [derived]); so a rotation maps every term to a single term and never grows H.
    The inverse is CliffordRotation(B, A), because exp((pi/4) A B) = exp(-(pi/4) B A).
    """

    A: PauliString
    B: PauliString

    def __post_init__(self):
        _check_same_L(self.A, self.B)
        if not anticommute(self.A, self.B):
            raise ValueError(f"a Clifford rotation needs anticommuting strings; "
                             f"{self.A.label} and {self.B.label} commute")

    @property
    def generator(self) -> tuple[int, int, int]:
        """(k, cx, cz) with B A = i^k sigma(cx, cz)."""
        B, A = self.B, self.A
        return _phase(B.x, B.z, A.x, A.z), B.x ^ A.x, B.z ^ A.z

    def inverse(self) -> "CliffordRotation":
        return CliffordRotation(self.B, self.A)

    def apply(self, coeff: float, p: PauliString) -> tuple[float, PauliString]:
        """U (coeff p) U^dag as (coeff', p')."""
        if p.L != self.A.L:
            raise ValueError(f"rotation acts on {self.A.L} sites, string on {p.L}")
        k, cx, cz = self.generator
        c2, x2, z2 = _rotate(k, cx, cz, coeff, p.x, p.z)
        return c2, PauliString(x2, z2, p.L)

    def matrix(self) -> np.ndarray:
        """Dense U (for tests)."""
        BA = pauli_matrix(self.B) @ pauli_matrix(self.A)
        return (np.eye(BA.shape[0]) + BA) / math.sqrt(2.0)


def _rotate(k: int, cx: int, cz: int, coeff: float, x: int, z: int) -> tuple[float, int, int]:
    if not _anti(cx, cz, x, z):
        return coeff, x, z
    ph = (k + _phase(cx, cz, x, z)) & 3
    # U (Hermitian) U^dag is Hermitian, so the phase of a Hermitian image is a sign; an odd power is a bug
    if ph & 1:
        raise RuntimeError("Clifford rotation produced a non-Hermitian string (phase bookkeeping error)")
    return (-coeff if ph == 2 else coeff), x ^ cx, z ^ cz


# --------------------------------------------------------------------------- Hamiltonians
def _check_hamiltonian(H, L: int | None = None) -> int:
    if not isinstance(H, (list, tuple)) or len(H) == 0:
        raise ValueError("a Hamiltonian must be a non-empty list of (coefficient, PauliString)")
    Ls = set()
    for t in H:
        if not (isinstance(t, (list, tuple)) and len(t) == 2 and isinstance(t[1], PauliString)):
            raise ValueError(f"Hamiltonian terms must be (coefficient, PauliString) pairs; got {t!r}")
        c = t[0]
        try:
            ok = not np.iscomplexobj(c) and np.isfinite(float(c))
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"coefficients must be finite real numbers (Hermitian H); got {c!r}")
        Ls.add(t[1].L)
    if len(Ls) != 1:
        raise ValueError(f"all terms must act on the same number of sites; got {sorted(Ls)}")
    (L_H,) = Ls
    if L is not None and L != L_H:
        raise ValueError(f"L = {L} does not match the Hamiltonian's {L_H} sites")
    return L_H


def sample_couplings(n: int, scale: float, Gamma: float, rng: np.random.Generator) -> np.ndarray:
    """n draws of P(J) dJ = (1/(Gamma J)) (J/J0)^(1/Gamma) dJ on [0, J0] as J0 * u**Gamma (u uniform).

    Gamma = 1 is uniform on [0, J0] (the thesis's "gamma = 0" at Sec. 1.6.1.2, L626 is wrong); Gamma -> inf is
    infinite randomness. Gamma = 0 is the clean limit J = J0.
    """
    if not (np.isfinite(Gamma) and Gamma >= 0):
        raise ValueError(f"Gamma must be a finite number >= 0; got {Gamma!r}")
    if not (np.isfinite(scale) and scale >= 0):
        raise ValueError(f"coupling scale must be finite and >= 0; got {scale!r}")
    return scale * rng.random(n) ** Gamma


def sbrg_random_tfim(L: int = 8, J0: float = 1.0, K0: float = 1.0, h0: float = 1.0, Gamma: float = 5.0,
                     pbc: bool = True, rng=None, return_couplings: bool = False):
    """The appendix model (thesis Sec. 1.6.1.2, L616-628): H = -sum_i [J_i X_i X_{i+1} + K_i Z_i Z_{i+1} + h_i Z_i].

    Paper: L = 8, J0 = K0 = h0 = 1, Gamma = 5. Ours: PBC by default as in the reference code (the thesis does not
    say); pbc=False drops the (L-1, 0) bond. rng: numpy Generator or int seed. Returns the list of
    (coefficient, PauliString); with return_couplings=True also a dict with arrays J, K, h (bond i = (i, i+1 mod L)).
    """
    if not isinstance(L, (int, np.integer)) or L < 2:
        raise ValueError(f"L must be an integer >= 2; got {L!r}")
    if pbc and L < 3:
        raise ValueError("pbc=True needs L >= 3 (at L = 2 the wrap-around bond duplicates the open one)")
    rng = np.random.default_rng(rng)
    nb = L if pbc else L - 1
    J = sample_couplings(nb, J0, Gamma, rng)
    K = sample_couplings(nb, K0, Gamma, rng)
    h = sample_couplings(L, h0, Gamma, rng)
    H = []
    for i in range(nb):
        j = (i + 1) % L
        H.append((-float(J[i]), PauliString.from_ops(L, {i: "X", j: "X"})))
        H.append((-float(K[i]), PauliString.from_ops(L, {i: "Z", j: "Z"})))
    for i in range(L):
        H.append((-float(h[i]), PauliString.from_ops(L, {i: "Z"})))
    if return_couplings:
        return H, {"J": J, "K": K, "h": h, "pbc": pbc}
    return H


def hamiltonian_matrix(H, L: int | None = None) -> np.ndarray:
    """Dense matrix sum_mu h_mu sigma^mu (site 0 = most significant bit), real when no term has an odd number of Y's.

    Each string has one non-zero per row: column = row with the X/Y bits flipped, value = the product over sites
    of the 2x2 matrix elements <r_k| P_k |c_k> looked up from the labels (the same numbers as the Kronecker
    product `pauli_matrix`, without building 2^L x 2^L temporaries; independent of the symplectic phase rule).
    """
    L = _check_hamiltonian(H, L)
    if L > MAX_ED_SITES:
        raise ValueError(f"dense ED is limited to L <= {MAX_ED_SITES}; got L = {L}")
    n = 2 ** L
    rows = np.arange(n)
    bits = [(rows >> (L - 1 - k)) & 1 for k in range(L)]  # site k's bit in the kron order
    cplx = any(p.label.count("Y") % 2 for _, p in H)
    M = np.zeros((n, n), dtype=complex if cplx else float)
    for c, p in H:
        flip = 0
        val = np.full(n, float(c), dtype=complex)
        for k, ch in enumerate(p.label):
            if ch == "I":
                continue
            if ch in "XY":
                flip |= 1 << (L - 1 - k)
            P = _P2[ch]
            val *= P[bits[k], bits[k] ^ (1 if ch in "XY" else 0)]
        cols = rows ^ flip
        M[rows, cols] += val if cplx else val.real
    return M


def exact_spectrum(H, L: int | None = None) -> np.ndarray:
    """All 2^L eigenvalues of H, sorted (dense brute force; the ED reference for Fig 1.13)."""
    return np.linalg.eigvalsh(hamiltonian_matrix(H, L))


# --------------------------------------------------------------------------- the RG
@dataclass
class SBRGResult:
    """Output of `sbrg`.

    heff: list of (coefficient, frozenset of LIOM sites), H_eff = sum c prod_{j in S} tau_j (thesis Sec. 1.1, L334).
    rotations: the Clifford circuit in application order; the rotated frame is U H U^dag with
        U = R_n ... R_1, so a physical operator O maps to the LIOM frame by applying rotations[0], [1], ...
        and back with the inverses in reverse order (`to_physical`).
    order: the site decimated at each step. h0s: the leading coefficient at each step (after rotation).
    lioms: lioms[j] = (sign, PauliString) with tau_j = sign * string in the physical basis (the stabilizers of
        every approximate eigenstate).
    n_dropped: number of SW product terms removed by the tol/max_rate truncation; max_terms: the largest number
        of terms (H plus H_eff) held during the flow.
    """

    L: int
    heff: list
    rotations: list
    order: list
    h0s: list
    lioms: list = field(default_factory=list)
    n_dropped: int = 0
    max_terms: int = 0

    def to_physical(self, coeff: float, p: PauliString) -> tuple[float, PauliString]:
        """U^dag (coeff p) U: a LIOM-frame operator in the physical basis."""
        for R in reversed(self.rotations):
            coeff, p = R.inverse().apply(coeff, p)
        return coeff, p

    def to_lioms(self, coeff: float, p: PauliString) -> tuple[float, PauliString]:
        """U (coeff p) U^dag: a physical operator in the LIOM frame."""
        for R in self.rotations:
            coeff, p = R.apply(coeff, p)
        return coeff, p

    def spectrum(self) -> np.ndarray:
        return heff_spectrum(self.heff, self.L)

    def heff_physical(self) -> list:
        """H_eff as a list of (coefficient, PauliString) in the physical basis."""
        out = []
        for c, S in self.heff:
            z = 0
            for j in S:
                z |= 1 << j
            out.append(self.to_physical(c, PauliString(0, z, self.L)))
        return out


def _h_to_dict(H) -> dict:
    d: dict = {}
    for c, p in H:
        key = (p.x, p.z)
        d[key] = d.get(key, 0.0) + float(c)
    return {k: v for k, v in d.items() if v != 0.0}


def sbrg(H, L: int | None = None, tol: float = 1e-8, max_rate: float | None = 2.0) -> SBRGResult:
    """Run SBRG on H (list of (real coefficient, PauliString)) until all L sites are decimated.

    tol, max_rate: the reference-code truncation (ours, from [ext]); max_rate=None keeps every SW product
    above tol. Returns an `SBRGResult` with H_eff, the Clifford circuit and the LIOMs.
    """
    L = _check_hamiltonian(H, L)
    if not (isinstance(tol, (int, float)) and np.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol must be a finite number >= 0; got {tol!r}")
    if max_rate is not None and not (isinstance(max_rate, (int, float)) and max_rate > 0):
        raise ValueError(f"max_rate must be > 0 or None; got {max_rate!r}")

    terms = _h_to_dict(H)
    heff: dict = {}
    rotations: list[CliffordRotation] = []
    order: list[int] = []
    h0s: list[float] = []
    free = (1 << L) - 1  # mask of undecimated sites
    n_dropped = 0
    max_terms = len(terms)

    def harvest():
        # terms with only I/Z on decimated sites and identity on free ones are finished LIOM polynomials
        for key in [k for k in terms if k[0] == 0 and not (k[1] & free)]:
            heff[key[1]] = heff.get(key[1], 0.0) + terms.pop(key)

    def rotate_all(R: CliffordRotation):
        k, cx, cz = R.generator
        new = {}
        for (x, z), c in terms.items():
            c2, x2, z2 = _rotate(k, cx, cz, c, x, z)
            new[(x2, z2)] = c2  # a rotation is a bijection on strings: no collisions
        terms.clear()
        terms.update(new)
        rotations.append(R)

    harvest()
    while free:
        if not terms:
            # nothing acts on the remaining sites: their Z's are trivially conserved
            j = (free & -free).bit_length() - 1
            order.append(j)
            h0s.append(0.0)
            free &= ~(1 << j)
            continue
        (x0, z0), _ = max(terms.items(), key=lambda kv: abs(kv[1]))
        G0 = PauliString(x0, z0, L)
        xfree = x0 & free
        if xfree:  # case (a): X or Y on a free site j
            j = (xfree & -xfree).bit_length() - 1
            Zj = PauliString(0, 1 << j, L)
            rotate_all(CliffordRotation(G0, Zj))
        else:  # case (b): only I/Z on free sites, at least one Z there
            zfree = z0 & free
            j = (zfree & -zfree).bit_length() - 1
            if not (x0 == 0 and z0 == 1 << j):
                Xj, Zj = PauliString(1 << j, 0, L), PauliString(0, 1 << j, L)
                rotate_all(CliffordRotation(G0, Xj))
                rotate_all(CliffordRotation(Xj, Zj))
        bit = 1 << j
        h0 = terms.pop((0, bit))
        sigma = [(x, z, c) for (x, z), c in terms.items() if x & bit]
        for x, z, _ in sigma:
            del terms[(x, z)]
        # second-order SW: (1/(2 h0)) Z_j Sigma^2; anticommuting pairs cancel in Sigma^2 (thesis
        # Sec. 1.6.1.1, L596)
        h0_new = h0 + sum(c * c for _, _, c in sigma) / (2.0 * h0)
        new: dict = {}
        thr = tol * h0 * h0
        for a in range(len(sigma)):
            xa, za, ca = sigma[a]
            for b in range(a + 1, len(sigma)):
                xb, zb, cb = sigma[b]
                if _anti(xa, za, xb, zb):
                    continue
                if abs(ca * cb) < thr:
                    n_dropped += 1
                    continue
                # Z_j G_a G_b: G_a G_b = i^k1 sigma(g) with k1 even (they commute), then Z_j sigma(g) likewise
                k1 = _phase(xa, za, xb, zb)
                gx, gz = xa ^ xb, za ^ zb
                k2 = _phase(0, bit, gx, gz)
                ph = (k1 + k2) & 3
                if ph & 1:
                    raise RuntimeError("SW product is not Hermitian (phase bookkeeping error)")
                val = (ca * cb / h0) * (-1.0 if ph == 2 else 1.0)
                key = (gx, gz ^ bit)
                new[key] = new.get(key, 0.0) + val
        if max_rate is not None:
            cap = int(max_rate * len(sigma))
            if len(new) > cap:
                kept = sorted(new.items(), key=lambda kv: -abs(kv[1]))
                n_dropped += len(kept) - cap
                new = dict(kept[:cap])
        for key, val in new.items():
            terms[key] = terms.get(key, 0.0) + val
        drop = tol * abs(h0)
        for key in [k for k, v in terms.items() if abs(v) < drop]:
            del terms[key]
            n_dropped += 1
        terms[(0, bit)] = h0_new
        order.append(j)
        h0s.append(h0)
        free &= ~bit
        harvest()
        max_terms = max(max_terms, len(terms) + len(heff))

    if terms:  # cannot happen: with free == 0 every string is I/Z-only and was harvested
        raise RuntimeError(f"{len(terms)} terms left after all sites were decimated")
    heff_list = []
    for z, c in heff.items():
        if c != 0.0:
            heff_list.append((c, frozenset(k for k in range(L) if (z >> k) & 1)))
    heff_list.sort(key=lambda t: -abs(t[0]))
    res = SBRGResult(L=L, heff=heff_list, rotations=rotations, order=order, h0s=h0s,
                     n_dropped=n_dropped, max_terms=max_terms)
    res.lioms = [res.to_physical(1.0, PauliString(0, 1 << j, L)) for j in range(L)]
    return res


# --------------------------------------------------------------------------- spectra and figures
def heff_spectrum(heff, L: int) -> np.ndarray:
    """All 2^L energies of H_eff = sum c prod_{j in S} tau_j over tau in {+1, -1}^L, sorted ascending."""
    if not isinstance(L, (int, np.integer)) or not 1 <= L <= 24:
        raise ValueError(f"L must be an integer in [1, 24] (2^L energies are enumerated); got {L!r}")
    if not isinstance(heff, (list, tuple)):
        raise ValueError("heff must be a list of (coefficient, set of sites)")
    idx = np.arange(2 ** L, dtype=np.int64)
    E = np.zeros(2 ** L)
    for t in heff:
        if not (isinstance(t, (list, tuple)) and len(t) == 2):
            raise ValueError(f"heff terms must be (coefficient, set of sites); got {t!r}")
        c, S = t
        mask = 0
        for j in S:
            if not (isinstance(j, (int, np.integer)) and 0 <= j < L):
                raise ValueError(f"heff site {j!r} out of range for L = {L}")
            mask |= 1 << int(j)
        # tau_j = (-1)^(bit j of the configuration index)
        par = np.zeros(2 ** L, dtype=np.int64)
        m = idx & mask
        while mask:
            par ^= m & 1
            m >>= 1
            mask >>= 1
        E += float(c) * (1 - 2 * par)
    return np.sort(E)


def relative_rms_error(E_approx, E_exact) -> float:
    """sqrt(mean((E_a - E_e)^2)) / std(E_e) on the two sorted spectra (our metric; the thesis quotes none)."""
    a, e = np.sort(np.asarray(E_approx, float)), np.sort(np.asarray(E_exact, float))
    if a.shape != e.shape or a.ndim != 1:
        raise ValueError(f"spectra must be 1-D of equal length; got {a.shape} and {e.shape}")
    s = e.std()
    if s == 0:
        raise ValueError("the exact spectrum has zero spread; the relative error is undefined")
    return float(np.sqrt(np.mean((a - e) ** 2)) / s)


def term_range(sites, L: int, pbc: bool = True) -> int:
    """Number of sites in the smallest interval (an arc on the ring if pbc) that contains `sites`; 0 if empty."""
    s = sorted(set(int(j) for j in sites))
    if not s:
        return 0
    if any(not 0 <= j < L for j in s):
        raise ValueError(f"sites {s} out of range for L = {L}")
    if not pbc:
        return s[-1] - s[0] + 1
    gaps = [s[i + 1] - s[i] for i in range(len(s) - 1)] + [s[0] + L - s[-1]]
    return L - max(gaps) + 1


def term_strength_vs_range(H, result: SBRGResult, pbc: bool = True) -> dict:
    """Fig 1.1 data: (range, |coefficient|) of the original terms (physical sites) and of the H_eff terms
    (LIOM site labels; the constant term is left out). Ranges as in `term_range`."""
    L = _check_hamiltonian(H)
    orig = [(term_range(p.support, L, pbc), abs(float(c))) for c, p in H if p.weight > 0]
    eff = [(term_range(S, L, pbc), abs(float(c))) for c, S in result.heff if len(S) > 0]
    o, e = np.array(orig, float).reshape(-1, 2), np.array(eff, float).reshape(-1, 2)
    return {"orig_range": o[:, 0].astype(int), "orig_strength": o[:, 1],
            "heff_range": e[:, 0].astype(int), "heff_strength": e[:, 1]}


def sbrg_vs_ed(L: int = 8, Gamma: float = 5.0, seed: int = 0, J0: float = 1.0, K0: float = 1.0, h0: float = 1.0,
               pbc: bool = True, tol: float = 1e-8, max_rate: float | None = 2.0) -> dict:
    """Fig 1.13 data for one disorder realization: sorted SBRG and ED spectra and their relative RMS error."""
    H = sbrg_random_tfim(L, J0=J0, K0=K0, h0=h0, Gamma=Gamma, pbc=pbc, rng=seed)
    t0 = time.perf_counter()
    res = sbrg(H, tol=tol, max_rate=max_rate)
    E_s = res.spectrum()
    sbrg_s = time.perf_counter() - t0
    E_e = exact_spectrum(H)
    return {"H": H, "result": res, "E_sbrg": E_s, "E_ed": E_e, "rel_rms": relative_rms_error(E_s, E_e),
            "L": L, "Gamma": Gamma, "seed": seed, "pbc": pbc, "sbrg_seconds": sbrg_s}


def sbrg_ed_error_scan(L: int = 8, Gammas=(1.0, 2.0, 3.0, 5.0), seeds=range(10), with_times: bool = False,
                       **kw) -> dict:
    """Relative RMS error of SBRG vs ED for each Gamma over seeds: {Gamma: array of per-seed errors}; with_times:
    {Gamma: (errors, SBRG wall seconds per seed)}."""
    out = {}
    for G in Gammas:
        runs = [sbrg_vs_ed(L, G, int(s), **kw) for s in seeds]
        errs = np.array([r["rel_rms"] for r in runs])
        out[float(G)] = (errs, np.array([r["sbrg_seconds"] for r in runs])) if with_times else errs
    return out


def liom_ranges(result: SBRGResult, pbc: bool = True) -> np.ndarray:
    """Physical range (`term_range`) of each LIOM tau_j = U^dag Z_j U, j = 0..L-1."""
    return np.array([term_range(p.support, result.L, pbc) for _, p in result.lioms], dtype=int)


def _gf2_rank(M: np.ndarray) -> int:
    M = (np.asarray(M) & 1).astype(np.uint8).copy()
    r = 0
    rows, cols = M.shape
    for c in range(cols):
        piv = next((i for i in range(r, rows) if M[i, c]), None)
        if piv is None:
            continue
        M[[r, piv]] = M[[piv, r]]
        for i in range(rows):
            if i != r and M[i, c]:
                M[i] ^= M[r]
        r += 1
        if r == rows:
            break
    return r


def stabilizer_entropy(result: SBRGResult, region) -> float:
    """Entanglement entropy (bits) of region A in any SBRG eigenstate (the stabilizer state of the LIOMs):
    S_A = rank_GF2(M)/2 with M the anticommutation matrix of the LIOMs restricted to A ([ext]; beyond the paper)."""
    L = result.L
    A = sorted(set(int(j) for j in region))
    if any(not 0 <= j < L for j in A):
        raise ValueError(f"region {A} out of range for L = {L}")
    mask = sum(1 << j for j in A)
    g = [(p.x & mask, p.z & mask) for _, p in result.lioms]
    M = np.array([[int(_anti(a[0], a[1], b[0], b[1])) for b in g] for a in g], dtype=np.uint8)
    return _gf2_rank(M) / 2.0
