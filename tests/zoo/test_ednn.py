"""EDNN wrapper (Mills et al., Chem. Sci. 10, 4129 (2019), arXiv:1708.06686): tiling against a direct loop, an exactly representable local operator,
loss on the sum, size transfer, input checks."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from datamodules.physics import ising
from zoo.ednn import AtomsEDNN, CountingEDNN, EDNNTask, IsingEDNN
from zoo.ednn_nets import EDNN, AtomsTileCNN, CountTileCNN, IsingTileMLP


def loop_tiles(x: np.ndarray, f: int, c: int, padding: str) -> np.ndarray:
    """Direct implementation of X_{b,i,j} = x_{b, if-c : if+f+c, jf-c : jf+f+c} (Chem. Sci. 2019 Appendix,
    thesis L1948-1978)."""
    B, C, H, W = x.shape
    t = f + 2 * c
    out = np.zeros((B, H // f, W // f, C, t, t), dtype=x.dtype)
    for b in range(B):
        for i in range(H // f):
            for j in range(W // f):
                for u in range(t):
                    for v in range(t):
                        r, q = i * f - c + u, j * f - c + v
                        if padding == "circular":
                            out[b, i, j, :, u, v] = x[b, :, r % H, q % W]
                        elif 0 <= r < H and 0 <= q < W:
                            out[b, i, j, :, u, v] = x[b, :, r, q]
    return out


@pytest.mark.parametrize("padding", ["circular", "zeros"])
@pytest.mark.parametrize("f,c,H,W", [(1, 1, 4, 4), (2, 1, 6, 8), (3, 0, 6, 3), (2, 3, 4, 6), (1, 5, 3, 3)])
def test_tiles_match_direct_loop(padding, f, c, H, W):
    x = torch.randn(2, 2, H, W, generator=torch.Generator().manual_seed(f * 100 + c))
    e = EDNN(nn.Identity(), f, c, padding)
    got = e.tiles(x).numpy()
    np.testing.assert_array_equal(got, loop_tiles(x.numpy(), f, c, padding))


class TileSumNet(nn.Module):
    """A nonlinear tile function whose per-tile value we can recompute independently."""

    def forward(self, t):
        flat = t.flatten(1)
        return torch.stack([torch.tanh(flat).sum(1), (flat ** 2).mean(1) * flat[:, 0]], 1)


@pytest.mark.parametrize("padding", ["circular", "zeros"])
def test_contributions_are_the_net_on_each_tile_and_forward_is_their_sum(padding):
    f, c = 2, 1
    x = torch.randn(3, 1, 6, 4, generator=torch.Generator().manual_seed(1))
    net = TileSumNet()
    e = EDNN(net, f, c, padding)
    C = e.tile_contributions(x)
    tiles = loop_tiles(x.numpy(), f, c, padding)
    assert C.shape == (3, 3, 2, 2)
    for b in range(3):
        for i in range(3):
            for j in range(2):
                want = net(torch.as_tensor(tiles[b, i, j])[None])[0]
                torch.testing.assert_close(C[b, i, j], want)
    torch.testing.assert_close(e(x), C.sum(dim=(1, 2)))


def exact_ising_mlp() -> IsingTileMLP:
    """The paper's 9 -> 288 -> 64 -> 64 -> 1 network with weights set by hand to the exact nearest-neighbour
    tile energy -s0 (s_right + s_down), using s a = relu(s + a) + relu(-s - a) - 1 for +-1 spins."""
    m = IsingTileMLP(3)
    lin = [l for l in m.layers if isinstance(l, nn.Linear)]
    for l in lin:
        nn.init.zeros_(l.weight)
        nn.init.zeros_(l.bias)
    centre, right, down = 4, 5, 7  # flattened 3 x 3 tile, row-major
    with torch.no_grad():
        for k, (nb, sign) in enumerate([(right, 1), (right, -1), (down, 1), (down, -1)]):
            lin[0].weight[k, centre] = sign
            lin[0].weight[k, nb] = sign
        for k in range(4):  # ReLU outputs are >= 0: pass them through unchanged
            lin[1].weight[k, k] = 1
            lin[2].weight[k, k] = 1
        lin[3].weight[0, :4] = -1
        lin[3].bias[0] = 2.0
    return m


def test_parameter_counts_match_the_paper():
    counts = [sum(p.numel() for p in IsingTileMLP(1 + 2 * c).parameters()) for c in (1, 2, 3)]
    assert counts == [25_601, 76_289, 183_041]  # 183 041 / 25 601 = 7.15 ("over 7 times",
    # Chem. Sci. 2019 Sec. 3.1, thesis L1812)


@pytest.mark.parametrize("L", [4, 6, 8, 16, 32])
def test_nearest_neighbour_energy_is_exactly_representable_at_any_size(L):
    e = EDNN(exact_ising_mlp(), 1, 1, "circular")
    s = ising.random_configs(6, L, seed=L)
    s[0] = 1
    s[1] = np.indices((L, L)).sum(0) % 2 * 2 - 1  # checkerboard: E = +2 L^2
    with torch.no_grad():
        E = e(torch.as_tensor(s, dtype=torch.float32)).squeeze(-1).numpy()
    np.testing.assert_allclose(E, ising.energy(s), atol=1e-3)
    assert E[0] == pytest.approx(-2 * L * L) and E[1] == pytest.approx(2 * L * L)


def test_zero_padding_breaks_the_periodic_energy():
    """With zeros the wrap-around bonds are invisible: the same exact tile net misses exactly 2L bonds' worth."""
    L = 6
    e = EDNN(exact_ising_mlp(), 1, 1, "zeros")
    s = np.ones((1, L, L), dtype=np.int8)
    with torch.no_grad():
        E = float(e(torch.as_tensor(s, dtype=torch.float32)))
    # boundary tiles see a 0 neighbour: relu(1 + 0) + relu(-1) - 1 = 0 instead of -1 per missing bond
    assert E == pytest.approx(-2 * L * L + 2 * L)


def test_dedup_gives_identical_outputs_and_gradients():
    torch.manual_seed(0)
    m = IsingEDNN(context=2)
    x = torch.as_tensor(ising.random_configs(40, 8, seed=3), dtype=torch.float32)
    x[:20] = 1  # many repeated tiles
    y = torch.randn(40)
    grads = []
    for dedup in (False, True):
        m.ednn.dedup = dedup
        m.zero_grad()
        loss = nn.functional.mse_loss(m(x), y)
        loss.backward()
        grads.append([p.grad.clone() for p in m.parameters()])
        out = m(x).detach()
        if not dedup:
            ref = out
    torch.testing.assert_close(out, ref)
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_training_loss_is_on_the_sum_not_per_tile():
    m = IsingEDNN(context=1)
    x = torch.as_tensor(ising.random_configs(16, 8, seed=1), dtype=torch.float32)
    y = torch.as_tensor(ising.energy(x.numpy().astype(np.int8)), dtype=torch.float32)
    m.log = lambda *a, **k: None
    loss = m.training_step((x, y), 0)
    pred = m.ednn.tile_contributions(x).sum(dim=(1, 2, 3))
    torch.testing.assert_close(loss, nn.functional.mse_loss(pred, y))
    per_tile = nn.functional.mse_loss(m.ednn.tile_contributions(x).squeeze(-1), (y / 64)[:, None, None].expand(-1, 8, 8))
    assert not torch.isclose(loss, per_tile)


def test_a_tiny_model_trained_on_4x4_transfers_to_16x16():
    torch.manual_seed(0)
    m = IsingEDNN(context=1, lr=3e-3)
    x = torch.as_tensor(ising.random_configs(512, 4, seed=0), dtype=torch.float32)
    y = torch.as_tensor(ising.energy(x.numpy().astype(np.int8)), dtype=torch.float32)
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    for _ in range(300):
        opt.zero_grad()
        nn.functional.mse_loss(m(x), y).backward()
        opt.step()
    s = ising.random_configs(64, 16, seed=9)
    err = (m.predict_energy(s) - torch.as_tensor(ising.energy(s), dtype=torch.float32)).abs()
    # per spin the 16x16 error stays at the 4x4 level: the sum over tiles is extensive
    assert float(err.median()) / 256 < 0.05
    assert float(err.median()) < 0.2 * float(torch.as_tensor(ising.energy(s)).float().abs().median())


@pytest.mark.parametrize("bad", [(3, 4), (8, 6)])
def test_non_multiple_of_focus_raises(bad):
    e = EDNN(nn.Identity(), 4, 1)
    with pytest.raises(ValueError, match="multiples of focus=4"):
        e.tiles(torch.zeros(1, *bad))


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="padding"):
        EDNN(nn.Identity(), 1, 1, "reflect")
    with pytest.raises(ValueError, match="focus"):
        EDNN(nn.Identity(), 0, 1)
    with pytest.raises(ValueError, match="context"):
        EDNN(nn.Identity(), 1, -1)
    with pytest.raises(ValueError, match=r"\(B, H, W\)"):
        EDNN(nn.Identity(), 1, 1).tiles(torch.zeros(4, 4))
    with pytest.raises(ValueError, match="n_outputs"):
        CountingEDNN(n_outputs=0)
    with pytest.raises(TypeError, match="n_outputs"):
        IsingEDNN(n_outputs=2)  # one extensive scalar: the Ising task has no such argument
    m = IsingEDNN(focus=2, context=1)
    with pytest.raises(ValueError, match="-1 and \\+1"):
        m.predict_energy(np.zeros((1, 4, 4)))
    with pytest.raises(ValueError, match="multiple of focus=2"):
        m.predict_energy(np.ones((1, 5, 5)))
    assert not hasattr(m, "count")  # counting is CountingEDNN's


def test_predict_energy_takes_one_lattice_and_energy_map_sums_to_it():
    m = IsingEDNN(context=1)
    s = ising.random_configs(1, 12, seed=2)[0]
    E = m.predict_energy(s)
    assert E.shape == (1,)
    torch.testing.assert_close(m.energy_map(s).sum(dim=(1, 2)), E, rtol=1e-5, atol=1e-4)


def test_counting_cnn_depth_and_size():
    # N = floor(log2(f + 2c) - 1): 3 conv layers for 24 x 24 tiles, 4 for 32 x 32 (counting preprint Sec. 2, thesis L2141)
    assert CountTileCNN(24).n_conv == 3 and CountTileCNN(32, in_channels=3).n_conv == 4
    n = sum(p.numel() for p in CountTileCNN(24, n_out=2).parameters())
    assert 0.70e6 < n < 0.75e6  #: ~0.72-0.73 M for MNIST
    m = CountingEDNN(focus=8, context=8, n_outputs=2, fc_width=32, filters=8)
    img = torch.zeros(2, 1, 24, 40)
    assert m.count(img).shape == (2, 2)
    dm = m.density_map(img)
    assert dm.shape == (2, 2, 24, 40)
    torch.testing.assert_close(dm.sum(dim=(-2, -1)), m.count(img), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(m.region_count(img, (0, 0, 24, 40)), m.count(img), rtol=1e-5, atol=1e-5)


def test_tile_table_is_the_network_on_every_tile():
    from datamodules.physics.ednn_mc import table_energy

    torch.manual_seed(1)
    m = IsingEDNN(context=1)
    table = m.tile_table()
    assert table.shape == (512,)
    s = ising.random_configs(5, 10, seed=5)
    np.testing.assert_allclose(table_energy(s, table, 1, 1), m.predict_energy(s).double().numpy(), atol=1e-3)


@pytest.mark.parametrize("zero_background", [False, True])
@pytest.mark.parametrize("f,c,H,W", [(8, 8, 32, 48), (8, 8, 8, 24), (4, 4, 12, 8)])
def test_valid_counting_cnn_whole_image_path_equals_the_tile_loop(f, c, H, W, zero_background):
    torch.manual_seed(2)
    net = CountTileCNN(f + 2 * c, n_out=3, filters=8, fc_width=16, conv_padding="valid",
                       zero_background=zero_background)
    assert net.out_side == 1 and net.fully_convolutional(f)
    e = EDNN(net, f, c, padding="zeros")
    x = torch.rand(2, 1, H, W, requires_grad=True)
    fast = e.tile_contributions(x)
    want = torch.from_numpy(loop_tiles(x.detach().numpy(), f, c, "zeros"))
    slow = torch.stack([torch.stack([net(want[b, i]) for i in range(H // f)]) for b in range(2)])
    torch.testing.assert_close(fast, slow, rtol=1e-5, atol=1e-5)
    fast.sum().backward()  # the whole-image path is differentiable (it is the training path)
    assert x.grad is not None and net.features[0].weight.grad is not None


def test_same_padding_and_misaligned_focus_keep_the_tile_path():
    assert not CountTileCNN(24).fully_convolutional(8)  # 'same': tiles see their own zero border
    assert not CountTileCNN(24, conv_padding="valid").fully_convolutional(4)  # stride 8 grid misses focus 4
    with pytest.raises(ValueError, match="conv_padding"):
        CountTileCNN(24, conv_padding="reflect")


def test_zero_background_makes_empty_regions_count_zero_at_any_size():
    torch.manual_seed(3)
    m = CountingEDNN(focus=8, context=8, n_outputs=2, fc_width=32, filters=8, conv_padding="valid",
                 zero_background=True)
    assert m.count(torch.zeros(1, 1, 256, 256)).abs().max() < 1e-4  # 1024 tiles of float32 round-off
    img = torch.zeros(1, 1, 64, 64)
    img[..., 20:40, 20:40] = 200 / 255  # float images are on the training scale [0, 1]
    big = torch.zeros(1, 1, 256, 256)
    big[..., 20:40, 20:40] = 200 / 255  # the same object on a 16x larger empty canvas: the same count
    torch.testing.assert_close(m.count(big), m.count(img), rtol=1e-5, atol=1e-4)


def test_valid_padding_rejects_tiles_that_shrink_to_nothing():
    with pytest.raises(ValueError, match="too small"):
        CountTileCNN(32, conv_padding="valid")  # 32 -> 15 -> 6 -> 2 -> 0 with four 4x4 / stride-2 layers


# ------------------------------------------------------------------------------- one class per task, legacy args
LEGACY = {  # init args as the cards and runs from before the subclasses wrote them
    "ising_mlp": ({"net": "ising_mlp", "focus": 1, "context": 2, "padding": "circular", "n_outputs": 1, "in_channels": 1,
                   "filters": 64, "fc_width": 1024, "optimizer": "adam", "lr": 1e-4, "weight_decay": 0.0,
                   "lr_schedule": "constant"}, IsingEDNN),
    "count_cnn": ({"net": "count_cnn", "focus": 8, "context": 8, "padding": "zeros", "n_outputs": 2, "in_channels": 1,
                   "filters": 8, "fc_width": 16, "optimizer": "adam", "lr": 5e-4, "weight_decay": 0.0,
                   "lr_schedule": "cosine", "conv_padding": "valid", "zero_background": True}, CountingEDNN),
    "atoms_cnn": ({"net": "atoms_cnn", "focus": 16, "context": 8, "padding": None, "n_outputs": 1, "in_channels": 1,
                   "filters": 8, "fc_width": 16, "optimizer": "adam", "lr": 1e-3, "weight_decay": 0.0,
                   "lr_schedule": "cosine"}, AtomsEDNN),
}


@pytest.mark.parametrize("net", sorted(LEGACY))
def test_legacy_net_args_resolve_to_the_subclass(net):
    from zoo.hub import card_class

    args, want = LEGACY[net]
    cls, init_args = card_class({"name": f"ednn/{net}", "model": "ednn", "init_args": args})
    assert cls is want and "net" not in init_args
    m = cls(**init_args)
    assert {k: m.hparams[k] for k in init_args} == init_args
    assert m.hparams.padding == ("zeros" if net == "count_cnn" else "circular")  # None: the old per-net default
    # args that pass through unchanged keep their values; the ones the subclass does not take are gone
    assert {k: v for k, v in args.items() if k in init_args} == init_args


def test_legacy_args_the_subclass_cannot_honour_raise():
    with pytest.raises(ValueError, match="n_outputs=1 only"):
        EDNNTask.from_legacy_args({"net": "ising_mlp", "n_outputs": 2})
    with pytest.raises(ValueError, match="net must be one of"):
        EDNNTask.from_legacy_args({"net": "cnn"})
    assert EDNNTask.from_legacy_args({"focus": 2}) == (EDNNTask, {"focus": 2})  # new args pass through


def test_registry_default_and_variants():
    import zoo
    from zoo.hub import class_path

    assert zoo.get_model_class("ednn") is IsingEDNN
    assert {c.registry_name for c in (IsingEDNN, CountingEDNN, AtomsEDNN)} == {"ednn"}
    assert class_path(CountingEDNN) == "zoo.ednn.CountingEDNN"


def test_old_padded_conv_state_dicts_load_into_same_conv_layers():
    """Before zoo.layers.SameConv2d the 'same' stacks were [ZeroPad2d, Conv2d, ReLU] per layer: such state dicts
    (the published atoms cards, old checkpoints) load into the new layout with the same outputs."""
    torch.manual_seed(4)
    for make, tile in ((lambda: AtomsTileCNN(16, filters=8, fc_width=16), 16),
                       (lambda: CountTileCNN(24, filters=8, fc_width=16), 24)):
        new = make()
        new.head[-1].weight.data.normal_()
        old_sd = {}
        for k, v in new.state_dict().items():
            if k.startswith("features."):
                _, idx, rest = k.split(".", 2)
                k = f"features.{3 * (int(idx) // 2) + 1}.{rest}"
            old_sd[k] = v
        assert "features.1.weight" in old_sd and "features.0.weight" not in old_sd
        fresh = make()
        fresh.load_state_dict(old_sd)
        x = torch.rand(3, 1, tile, tile)
        torch.testing.assert_close(fresh(x), new(x))


# ------------------------------------------------------------------------------- +-1 tiles by table lookup
def network_path(m: IsingEDNN, s) -> tuple[torch.Tensor, torch.Tensor]:
    """(energy, per-tile contributions) with the table off and every tile through the network (no dedup)."""
    saved = m.table_max_entries, m.ednn.dedup
    m.table_max_entries, m.ednn.dedup = 0, False
    try:
        return m.predict_energy(s), m.energy_map(s)
    finally:
        m.table_max_entries, m.ednn.dedup = saved


def assert_table_path_is_the_network(m: IsingEDNN, s: np.ndarray):
    """Per tile: the network's own values (to a few float32 ulps: MKL's row results depend on the batch size, so
    the network path is not bitwise batch-independent itself); the energy: the float64 sum of the network's per-tile
    values rounded once, i.e. within that rounding plus the per-tile differences actually present."""
    E, C = m.predict_energy(s), m.energy_map(s)
    E_net, C_net = network_path(m, s)
    torch.testing.assert_close(C, C_net, rtol=1e-6, atol=1e-6)
    ref = C_net.double().sum(dim=(1, 2))
    slack = (C.double() - C_net.double()).abs().sum(dim=(1, 2)) + ref.abs() * 2.0 ** -24
    assert ((E.double() - ref).abs() <= slack).all(), (E, ref)
    torch.testing.assert_close(E, E_net, rtol=1e-5, atol=1e-4)  # today's float32 sum: its rounding only
    return C


@pytest.mark.parametrize("padding", ["circular", "zeros"])
@pytest.mark.parametrize("f,c,sizes", [(1, 1, (2, 5, 12, 24)), (3, 0, (6, 9)), (1, 0, (3, 8)), (2, 1, (4, 10))])
def test_table_path_equals_the_network_path(padding, f, c, sizes):
    from datamodules.physics.ednn_mc import tile_keys

    torch.manual_seed(f * 10 + c)
    m = IsingEDNN(focus=f, context=c, padding=padding)
    m.predict_energy(np.ones((1, 256 * f, 256 * f), dtype=np.int8))  # a call with >= 2^(t^2) tiles builds the table
    for L in sizes:
        s = ising.random_configs(3, L, seed=L)
        s[0] = 1  # one tile state everywhere: the histogram's single-bin case
        C = assert_table_path_is_the_network(m, s)
        tiny = padding == "zeros" and L // f <= 2 * -(-c // f)  # every tile reaches into the zero padding
        assert (m._table_for(torch.as_tensor(s)) is None) == tiny
        # the keys, against tiles cut by the direct loop and keyed by datamodules.physics.ednn_mc.tile_keys
        tiles = loop_tiles(s[:, None].astype(np.float32), f, c, padding)[:, :, :, 0]
        inside = (np.abs(tiles) == 1).all(axis=(-2, -1))
        if inside.any():
            table = torch.as_tensor(m.tile_table(), dtype=torch.float32)
            assert torch.equal(C[torch.as_tensor(inside)], table[tile_keys(tiles[inside])])


def test_table_fallbacks():
    m = IsingEDNN(context=2)  # 5 x 5 tiles: 2^25 states, over table_max_entries
    assert m._table_for(torch.ones(1, 64, 64, dtype=torch.int8)) is None
    m = IsingEDNN(context=1, padding="zeros")  # 2 x 2 tiles, all reaching into the zero padding
    assert m._table_for(torch.ones(1, 2, 2, dtype=torch.int8)) is None
    assert m._table_for(torch.ones(1, 24, 24, dtype=torch.int8)) is not None
    assert m.predict_energy(np.zeros((0, 8, 8))).shape == (0,)


def test_table_is_rebuilt_when_the_weights_change():
    torch.manual_seed(3)
    m = IsingEDNN(context=1)
    s = ising.random_configs(2, 32, seed=1)
    before = m.predict_energy(s)
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    nn.functional.mse_loss(m(torch.as_tensor(s, dtype=torch.float32)), torch.zeros(2)).backward()
    opt.step()
    after = m.predict_energy(s)
    assert not torch.equal(before, after)
    assert_table_path_is_the_network(m, s)
    m.load_state_dict(IsingEDNN(context=1).state_dict())
    assert_table_path_is_the_network(m, s)


@pytest.mark.parametrize("block", [None, 100])
@pytest.mark.parametrize("padding", ["circular", "zeros"])
def test_table_path_of_the_published_checkpoint(padding, block, monkeypatch):
    from zoo import ednn_nets, hub

    if block:  # one tile row per block: every block boundary and the band offsets inside blocks are exercised
        monkeypatch.setattr(ednn_nets, "BLOCK_SPINS", block)
    m = hub.load_pretrained("ednn/ising-f1c1")
    m.ednn.padding = padding
    assert_table_path_is_the_network(m, ising.random_configs(2, 48, seed=7))
    s = ising.random_configs(1, 128, seed=8)
    assert_table_path_is_the_network(m, s)


def test_table_sum_keeps_float64_precision_at_L_2048():
    """4 M tiles: the sum equals an independent float64 sum (numpy keys by np.roll, np.bincount) to float64
    rounding, far below the ~1e-7 relative error a float32 accumulation would leave."""
    L = 2048
    s = ising.random_configs(1, L, seed=11)[0]
    table = torch.rand(512, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) - 0.3
    got = EDNN(nn.Identity(), 1, 1).table_forward(torch.as_tensor(s[None]), table)
    bits = (s > 0).astype(np.int64)
    key = sum(np.roll(bits, (1 - u, 1 - v), axis=(0, 1)) << (3 * u + v) for u in range(3) for v in range(3))
    want = np.bincount(key.ravel(), minlength=512) @ table.numpy()
    assert abs(float(got[0]) - want) <= 1e-12 * abs(want)


def test_whole_image_counts_stay_fp32_under_a_bf16_autocast():
    """bf16-mixed training (configs/ednn/count-digits-10-long-c64.yaml) runs the hidden layers on the bf16 matrix units;
    the output layer and the sum over tiles stay fp32, so a 256 x 256 count (1024 tiles) keeps its precision and
    empty tiles still cancel against the zero background."""
    torch.manual_seed(4)
    m = CountingEDNN(focus=8, context=8, n_outputs=3, filters=16, fc_width=64, conv_padding="valid",
                     zero_background=True)
    x = torch.zeros(2, 1, 256, 256)
    x[0, :, 40:60, 40:60] = torch.rand(20, 20)
    x[1, :, 100:200, 30:90] = torch.rand(100, 60)
    with torch.no_grad():
        ref = m.ednn(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            got = m.ednn(x)
            empty = m.ednn(torch.zeros(1, 1, 256, 256))
    assert got.dtype == torch.float32 and empty.dtype == torch.float32
    assert empty.abs().max() < 1e-3
    torch.testing.assert_close(got, ref, rtol=0.03, atol=0.02)
