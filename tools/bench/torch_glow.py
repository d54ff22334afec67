#!/usr/bin/python3
"""PyTorch versions of glowcl's two Glow models, timed the way `glowcl bench` times its own.

  moons  the 2-D Glow of gc_model_config_default: 10 x (ActNorm, MLP affine coupling, LU 1x1
         conv), Gaussian prior, batch 256 of two-moons data; one Adam step per timing.
  image  the multi-scale Glow of gc_model_config_image: 3 levels x 16 x (ActNorm, LU 1x1 conv,
         conv affine coupling, hidden 512) on 3x32x32, learned split priors, batch 16.
  gemm   torch.mm GFLOP/s at the image model's convolutions written as GEMMs, and F.conv2d at
         the convolutions themselves.

Each section runs in a fresh child process so that its peak RSS (ru_maxrss) is its own. A table
goes to stdout and the last line is `JSON {...}`, the format tools/bench/compare.py reads.

Run it with Debian's PyTorch: /usr/bin/python3 tools/bench/torch_glow.py [--only image] ...
On an NVIDIA GPU: python3 tools/bench/torch_glow.py --device cuda (tools/bench/gpu.sh runs it).

Training on real data: torch_glow.py --train-idx DIR --pad 32 --levels L --depth K ... trains the
image Glow on MNIST-family IDX files as `glowcl train images --data idx:DIR` does and prints its
test bits/dim in glowcl's format (see train_idx; tools/bench/fashion_mnist.sh runs both sides).
"""
import argparse
import ctypes
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

LOG_2PI = math.log(2.0 * math.pi)

SECTIONS = ("moons", "image", "gemm")


# ---------------------------------------------------------------- flow operations
#
# Every module maps x -> (z, logdet) in the encoder direction (data to latent), with logdet one
# value per sample, as glowcl's ops do. Tensors are (N, D) for vectors and (N, C, H, W) for
# images; the per-channel ops treat D as C with one "pixel".


def channel_view(v, x):
    """A per-channel vector shaped to broadcast over x, (N, C) or (N, C, H, W)."""
    return v.view(1, -1, *([1] * (x.dim() - 2)))


def pixels_of(x):
    return x[0, 0].numel()  # H*W for images, 1 for vectors


class ActNorm(nn.Module):
    """z = x * exp(s) + t per channel; s, t set from the first batch it sees (src/model/ops/affine.c:
    s = -log(sigma + 1e-6), t = -mean * exp(s), population statistics)."""

    def __init__(self, channels):
        super().__init__()
        self.log_scale = nn.Parameter(torch.zeros(channels))
        self.shift = nn.Parameter(torch.zeros(channels))
        # A Python flag, not a tensor: testing a CUDA tensor's truth would make every forward
        # pass wait for the GPU.
        self.initialized = False

    @torch.no_grad()
    def data_init(self, x):
        dims = [0] + list(range(2, x.dim()))
        mean = x.mean(dim=dims)
        std = x.var(dim=dims, unbiased=False).sqrt()
        self.log_scale.copy_(-torch.log(std + 1e-6))
        self.shift.copy_(-mean * torch.exp(self.log_scale))
        self.initialized = True

    def forward(self, x):
        if not self.initialized:
            self.data_init(x)
        z = x * channel_view(torch.exp(self.log_scale), x) + channel_view(self.shift, x)
        logdet = pixels_of(x) * self.log_scale.sum()
        return z, logdet.expand(x.shape[0])


class InvConvLU(nn.Module):
    """Invertible 1x1 convolution W = P (L' + I)(U' + diag(sign * exp(log_s))) (src/model/ops/invconv.c).

    As in glowcl, `lower` and `upper` are full D x D parameters of which only the strict lower /
    upper triangle is used (the rest gets zero gradient), and P and sign are fixed, from the LU
    factors of a random rotation. glowcl keeps P and sign in its parameter tensor (marked fixed),
    so param_counts() adds them to match its count.
    """

    def __init__(self, channels):
        super().__init__()
        q, _ = torch.linalg.qr(torch.randn(channels, channels, dtype=torch.float64))
        p, lower, upper = torch.linalg.lu(q)  # q = p @ lower @ upper, partial pivoting
        diag = torch.diagonal(upper)
        self.lower = nn.Parameter(torch.tril(lower, -1).float())
        self.upper = nn.Parameter(torch.triu(upper, 1).float())
        self.log_s = nn.Parameter(torch.log(diag.abs()).float())
        self.register_buffer("perm", p.float())
        self.register_buffer("sign", torch.sign(diag).float())
        self.register_buffer("lower_mask", torch.tril(torch.ones(channels, channels), -1),
                             persistent=False)
        self.register_buffer("eye", torch.eye(channels), persistent=False)

    def weight(self):
        lower = self.lower * self.lower_mask + self.eye
        upper = self.upper * self.lower_mask.T + torch.diag(self.sign * torch.exp(self.log_s))
        return self.perm @ lower @ upper

    def forward(self, x):
        w = self.weight()
        if x.dim() == 2:
            z = x @ w.T
        else:
            z = F.conv2d(x, w.view(*w.shape, 1, 1))
        logdet = pixels_of(x) * self.log_s.sum()
        return z, logdet.expand(x.shape[0])


def mlp(n_in, n_out, hidden, depth):
    """depth hidden ReLU layers of `hidden`, then a zero-initialised output layer; the hidden
    layers keep nn.Linear's default U(+-1/sqrt(fan_in)) init, which glowcl copies."""
    layers, width = [], n_in
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    last = nn.Linear(width, n_out)
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    return nn.Sequential(*layers, last)


class MLPCoupling(nn.Module):
    """Vector affine coupling (src/model/ops/coupling.c): z_b = x_b * exp(s) + t, s = scale * tanh(raw),
    raw = MLP_scale(x_a), t = MLP_shift(x_a), two separate networks; `scale` starts at 1.
    Parity 0 conditions on the first half, parity 1 on the last."""

    def __init__(self, dim, hidden, depth, parity):
        super().__init__()
        half = dim // 2
        self.a_dim, self.b_dim = half, dim - half
        self.parity = parity
        self.scale_net = mlp(self.a_dim, self.b_dim, hidden, depth)
        self.shift_net = mlp(self.a_dim, self.b_dim, hidden, depth)
        self.scale = nn.Parameter(torch.ones(self.b_dim))

    def forward(self, x):
        if self.parity:  # a = the last `half` dims, b = the first dim - half
            x_b, x_a = x[:, :self.b_dim], x[:, self.b_dim:]
        else:
            x_a, x_b = x[:, :self.a_dim], x[:, self.a_dim:]
        s = self.scale * torch.tanh(self.scale_net(x_a))
        z_b = x_b * torch.exp(s) + self.shift_net(x_a)
        z = torch.cat([z_b, x_a] if self.parity else [x_a, z_b], dim=1)
        return z, s.sum(dim=1)


class ZeroConvGain(nn.Module):
    """3x3 convolution started at zero with a learned per-channel gain: (conv(x) + b) * exp(3 g),
    openai/glow's Conv2dZeros as glowcl has it (plain zero padding)."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.conv = nn.Conv2d(n_in, n_out, 3, padding=1)
        nn.init.zeros_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)
        self.log_gain = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        return self.conv(x) * torch.exp(3.0 * self.log_gain).view(1, -1, 1, 1)


class ConvCoupling(nn.Module):
    """Image affine coupling (src/model/ops/conv_coupling.c): the first C//2 channels go through
    conv3x3 -> ReLU -> conv1x1 -> ReLU -> ZeroConvGain to h = (t, raw) of 2*b channels; then
    z_b = (x_b + t) * sigmoid(raw + 2), logdet = sum log sigmoid(raw + 2). Hidden weights start
    N(0, 0.05^2), biases 0."""

    def __init__(self, channels, hidden):
        super().__init__()
        self.a = channels // 2
        self.b = channels - self.a
        first = nn.Conv2d(self.a, hidden, 3, padding=1)
        middle = nn.Conv2d(hidden, hidden, 1)
        for conv in (first, middle):
            nn.init.normal_(conv.weight, std=0.05)
            nn.init.zeros_(conv.bias)
        self.net = nn.Sequential(first, nn.ReLU(), middle, nn.ReLU(),
                                 ZeroConvGain(hidden, 2 * self.b))

    def forward(self, x):
        x_a, x_b = x[:, :self.a], x[:, self.a:]
        h = self.net(x_a)
        t, raw = h[:, :self.b], h[:, self.b:]
        log_s = F.logsigmoid(raw + 2.0)  # log of the scale, computed without underflow
        z_b = (x_b + t) * torch.exp(log_s)
        return torch.cat([x_a, z_b], dim=1), log_s.flatten(1).sum(dim=1)


class Squeeze(nn.Module):
    """C x H x W -> 4C x H/2 x W/2; channel c's pixel (y, x) goes to channel
    4c + 2(y % 2) + (x % 2) (src/model/ops/squeeze.c). A permutation: logdet 0."""

    def forward(self, x):
        n, c, h, w = x.shape
        x = x.view(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4)
        return x.reshape(n, 4 * c, h // 2, w // 2), x.new_zeros(n)


class Split(nn.Module):
    """Keeps the first C//2 channels; the rest is factored out and scored by N(mean, exp(log_sd)^2)
    with (mean, log_sd) = ZeroConvGain(kept) (src/model/ops/split.c, conditional prior). Its log-density
    is added to the per-sample "logdet", as glowcl does."""

    def __init__(self, channels):
        super().__init__()
        self.keep = channels // 2
        self.side = channels - self.keep
        self.prior = ZeroConvGain(self.keep, 2 * self.side)

    def forward(self, x):
        kept, side = x[:, :self.keep], x[:, self.keep:]
        h = self.prior(kept)
        mean, log_sd = h[:, :self.side], h[:, self.side:]
        v = (side - mean) * torch.exp(-log_sd)
        logp = -0.5 * v * v - log_sd - 0.5 * LOG_2PI
        return kept, logp.flatten(1).sum(dim=1)


class Flow(nn.Module):
    """A sequence of ops and a standard Gaussian prior on the last output; nll() is glowcl's
    training loss, -(1/n) sum_i (log p0(z_i) + logdet_i), in nats per sample."""

    def __init__(self, ops):
        super().__init__()
        self.ops = nn.ModuleList(ops)

    def nll(self, x):
        logdet = x.new_zeros(x.shape[0])
        for op in self.ops:
            x, ld = op(x)
            logdet = logdet + ld
        z = x.flatten(1)
        logp = -0.5 * (z * z).sum(dim=1) - 0.5 * z.shape[1] * LOG_2PI
        return -(logp + logdet).mean()

    def param_counts(self):
        """(glowcl's count, trainable count): glowcl also stores each 1x1 conv's P and sign."""
        trainable = sum(p.numel() for p in self.parameters())
        fixed = sum(m.perm.numel() + m.sign.numel() for m in self.modules()
                    if isinstance(m, InvConvLU))
        return trainable + fixed, trainable


def moons_glow(dim=2, layers=10, hidden=64, depth=2):
    """gc_model_config_default: layer k = ActNorm, coupling of parity k % 2, 1x1 conv."""
    ops = []
    for k in range(layers):
        ops += [ActNorm(dim), MLPCoupling(dim, hidden, depth, k % 2), InvConvLU(dim)]
    return Flow(ops)


def image_glow(channels=3, levels=3, steps=16, hidden=512):
    """gc_model_config_image: per level squeeze, `steps` x (ActNorm, 1x1 conv, coupling), and a
    split after every level but the last."""
    ops = []
    for level in range(levels):
        ops.append(Squeeze())
        channels *= 4
        for _ in range(steps):
            ops += [ActNorm(channels), InvConvLU(channels), ConvCoupling(channels, hidden)]
        if level + 1 < levels:
            ops.append(Split(channels))
            channels //= 2  # Split keeps the first C//2
    return Flow(ops)


# ---------------------------------------------------------------- timing


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


def sync(device):
    """Waits for the GPU's queued work: CUDA calls return before their kernels finish, so a
    timing without this would measure only the launches."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_training(model, batches, warmup, steps, device):
    """Median wall time of one Adam step (zero grads, NLL, backward, update, loss read back, as
    glowcl reads its loss every step) after `warmup` untimed steps; the first warm-up step also
    runs ActNorm's data-dependent init. Returns (median seconds, all times, first/last loss)."""
    # lr 1e-4 as `glowcl bench` uses: small enough that no step diverges (a diverging model can
    # reach inf/NaN or denormals, whose arithmetic costs differ).
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    times, losses = [], []
    for i in range(warmup + steps):
        x = batches[i % len(batches)]
        sync(device)
        start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = model.nll(x)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        sync(device)
        elapsed = time.perf_counter() - start
        if i >= warmup:
            times.append(elapsed)
    return statistics.median(times), times, losses


def moons_batches(batch, count, seed, device):
    """`count` batches of two-moons data as glowcl trains on (sklearn's make_moons, noise 0.05,
    which gc_moons reproduces); random normal data if sklearn is missing - the timing is the
    same."""
    try:
        from sklearn.datasets import make_moons
        xy, _ = make_moons(n_samples=batch * count, shuffle=True, noise=0.05, random_state=seed)
        data = torch.from_numpy(xy).float()
    except ImportError:
        data = torch.randn(batch * count, 2)
    return [b.to(device) for b in data.split(batch)]


def run_moons(args):
    torch.manual_seed(args.seed)
    # Built on the CPU (the LU set-up of the 1x1 convs), then moved.
    model = moons_glow().to(args.device)
    batches = moons_batches(args.moons_batch, 16, args.seed, args.device)
    median, times, losses = time_training(model, batches, args.moons_warmup, args.moons_steps,
                                          args.device)
    params, trainable = model.param_counts()
    result = {
        "moons_step_ms": median * 1e3,
        "moons_step_ms_min": min(times) * 1e3,
        "moons_params": params,
        "moons_trainable_params": trainable,
        "moons_batch": args.moons_batch,
        "moons_steps": args.moons_steps,
        "moons_warmup": args.moons_warmup,
        "moons_loss_first": losses[0],
        "moons_loss_last": losses[-1],
        "moons_peak_rss_mib": peak_rss_mib(),
    }
    table = [
        "moons  2-D Glow, 10 x (ActNorm, MLP coupling 2x64, LU 1x1 conv), batch %d"
        % args.moons_batch,
        "  step (median of %d after %d warm-up)  %9.2f ms   (min %.2f ms)"
        % (args.moons_steps, args.moons_warmup, median * 1e3, min(times) * 1e3),
        "  parameters                          %9d   (%d trainable; + P, sign as glowcl counts)"
        % (params, trainable),
        "  loss first -> last step             %9.3f -> %.3f nats" % (losses[0], losses[-1]),
        "  peak RSS of this process            %9.1f MiB" % result["moons_peak_rss_mib"],
    ]
    return result, table


def run_image(args):
    torch.manual_seed(args.seed)
    base_rss = peak_rss_mib()  # torch itself, before the model exists
    cuda = args.device.type == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats(args.device)
        base_device = torch.cuda.memory_allocated(args.device)
    model = image_glow().to(args.device)
    # Dequantised images lie in [0, 1); uniform noise has the same cost as CIFAR-10.
    batches = [torch.rand(args.image_batch, 3, 32, 32, device=args.device) for _ in range(2)]
    median, times, losses = time_training(model, batches, args.image_warmup, args.image_steps,
                                          args.device)
    params, trainable = model.param_counts()
    result = {
        "image_step_ms": median * 1e3,
        "image_step_ms_min": min(times) * 1e3,
        "image_params": params,
        "image_trainable_params": trainable,
        "image_batch": args.image_batch,
        "image_steps": args.image_steps,
        "image_warmup": args.image_warmup,
        "image_loss_first": losses[0],
        "image_loss_last": losses[-1],
        "image_peak_rss_mib": peak_rss_mib(),
        "image_base_rss_mib": base_rss,
    }
    if cuda:
        # The tensors' peak, what glowcl's image_device_mib counts for its own buffers; the
        # caching allocator's reserve (which the process holds) beside it.
        mib = 1024.0 * 1024.0
        result["image_device_mib"] = (torch.cuda.max_memory_allocated(args.device)
                                      - base_device) / mib
        result["image_device_reserved_mib"] = torch.cuda.max_memory_reserved(args.device) / mib
    table = [
        "image  Glow L=3 x K=16, hidden 512, 3x32x32, learned split priors, batch %d"
        % args.image_batch,
        "  step (median of %d after %d warm-up)  %9.3f s    (min %.3f s)"
        % (args.image_steps, args.image_warmup, median, min(times)),
        "  parameters                          %9d   (%d trainable; + P, sign as glowcl counts)"
        % (params, trainable),
        "  loss first -> last step             %9.1f -> %.1f nats" % (losses[0], losses[-1]),
        "  peak RSS of this process            %9.1f MiB  (%.1f MiB after importing torch)"
        % (result["image_peak_rss_mib"], base_rss),
    ]
    if cuda:
        table.append("  peak GPU tensor memory              %9.1f MiB  (%.1f MiB reserved by the "
                     "allocator)" % (result["image_device_mib"],
                                     result["image_device_reserved_mib"]))
    return result, table


def median_time(fn, repeats, device, min_seconds=0.02):
    """Median seconds per call of fn over `repeats` samples, each sample looping fn enough times
    to last about min_seconds, so that tiny GEMMs are not timer noise. On a GPU each sample
    ends when its kernels have finished, not when they were queued."""
    fn()  # warm-up: first-call allocation, thread pool start, cuBLAS/cuDNN handles
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    once = max(time.perf_counter() - start, 1e-7)
    loops = max(1, int(min_seconds / once))
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        sync(device)
        samples.append((time.perf_counter() - start) / loops)
    return statistics.median(samples)


def conv_shapes(batch, hidden=512):
    """The image model's convolutions as (name, batch, in, out, side, kernel, coupling?): per
    level (12 channels at 16x16, 24 at 8x8, 48 at 4x4 after the squeeze) the coupling's 3x3 in,
    1x1 middle and 3x3 out, and the split prior's 3x3 (levels 0 and 1)."""
    shapes = []
    for level, (c, side) in enumerate([(12, 16), (24, 8), (48, 4)]):
        a, b = c // 2, c - c // 2
        shapes += [("L%d in 3x3" % level, batch, a, hidden, side, 3, True),
                   ("L%d mid 1x1" % level, batch, hidden, hidden, side, 1, True),
                   ("L%d out 3x3" % level, batch, hidden, 2 * b, side, 3, True)]
        if level < 2:
            keep = c // 2
            shapes.append(("L%d split 3x3" % level, batch, keep, 2 * (c - keep), side, 3, False))
    return shapes


def as_gemm(n, c_in, c_out, side, k):
    """A convolution as the GEMM glowcl reports it: M = output channels, N = batch x pixels,
    K = input channels x taps."""
    return c_out, n * side * side, c_in * k * k


def default_gemm(batch):
    """The coupling convolutions' GEMM shapes; at batch 16 (512,4096,54) (512,4096,512)
    (12,4096,4608) (512,1024,108) (512,1024,512) (24,1024,4608) (512,256,216) (512,256,512)
    (48,256,4608), the list `glowcl bench` times."""
    return [as_gemm(*shape[1:6]) for shape in conv_shapes(batch) if shape[6]]


def time_conv(n, c_in, c_out, side, k, repeats, device):
    """Seconds of F.conv2d's forward pass and of its two backward passes (input gradient,
    weight gradient), each alone, as glowcl's convolution benchmark times its three passes."""
    x = torch.randn(n, c_in, side, side, device=device)
    w = torch.randn(c_out, c_in, k, k, device=device)
    bias = torch.randn(c_out, device=device)
    dy = torch.randn(n, c_out, side, side, device=device)
    pad = [k // 2, k // 2]

    def backward(mask):  # the aten op autograd calls for conv2d's backward
        return lambda: torch.ops.aten.convolution_backward(
            dy, x, w, [c_out], [1, 1], pad, [1, 1], False, [0, 0], 1, mask)
    return (median_time(lambda: F.conv2d(x, w, bias, padding=k // 2), repeats, device),
            median_time(backward([True, False, False]), repeats, device),
            median_time(backward([False, True, False]), repeats, device))


def run_gemm(args):
    torch.manual_seed(args.seed)
    table = ["gemm   torch.mm float32, C(MxN) = A(MxK) B(KxN); median of %d" % args.repeats,
             "        M      N      K      ms     GFLOP/s"]
    gemm = []
    for m, n, k in args.gemm or default_gemm(args.image_batch):
        a, b = torch.randn(m, k, device=args.device), torch.randn(k, n, device=args.device)
        c = torch.empty(m, n, device=args.device)
        seconds = median_time(lambda: torch.mm(a, b, out=c), args.repeats, args.device)
        gflops = 2.0 * m * n * k / seconds / 1e9
        gemm.append({"m": m, "n": n, "k": k, "ms": seconds * 1e3, "gflops": gflops})
        table.append("  %7d %6d %6d %7.3f %9.1f" % (m, n, k, seconds * 1e3, gflops))
    result = {"gemm": gemm}
    if not args.no_conv:
        table += ["", "conv   F.conv2d float32 at the image model's convolutions, GFLOP/s "
                  "(forward, input gradient, weight gradient)",
                  "  layer           M x N x K           forward  input grad  weight grad"]
        conv = []
        for name, n, c_in, c_out, side, k, _ in conv_shapes(args.image_batch):
            m, gn, gk = as_gemm(n, c_in, c_out, side, k)
            flops = 2.0 * m * gn * gk
            fwd, dx, dw = time_conv(n, c_in, c_out, side, k, args.repeats, args.device)
            conv.append({"name": name, "m": m, "n": gn, "k": gk, "batch": n, "c_in": c_in,
                         "c_out": c_out, "h": side, "w": side, "kernel": k,
                         "gflops": flops / fwd / 1e9, "input_grad_gflops": flops / dx / 1e9,
                         "weight_grad_gflops": flops / dw / 1e9})
            table.append("  %-14s  %-18s %8.1f %11.1f %12.1f"
                         % (name, "%dx%dx%d" % (m, gn, gk), flops / fwd / 1e9,
                            flops / dx / 1e9, flops / dw / 1e9))
        result["conv"] = conv
    return result, table


RUNNERS = {"moons": run_moons, "image": run_image, "gemm": run_gemm}


def self_check(seed=0):
    """Checks the log-determinants these modules return against log|det| of the Jacobian from
    autograd, in double, for the 2-D model and a small image model without splits (a split adds
    a log-density, not a log-det). Parameters are perturbed so that no op is the identity."""
    torch.manual_seed(seed)
    cases = [("moons", moons_glow(), torch.randn(4, 2)),
             ("image L=1 K=2", image_glow(levels=1, steps=2, hidden=8), torch.rand(2, 3, 4, 4))]
    worst = 0.0
    for name, model, x in cases:
        model = model.double()
        x = x.double()
        model.nll(x)  # ActNorm's data init
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.1 * torch.randn_like(p))
        for row in x:
            row = row.unsqueeze(0)

            def encode(v):
                for op in model.ops:
                    v, _ = op(v)
                return v.flatten()

            jac = torch.autograd.functional.jacobian(encode, row).reshape(row.numel(), -1)
            expected = torch.linalg.slogdet(jac)[1].item()
            logdet, v = 0.0, row
            for op in model.ops:
                v, ld = op(v)
                logdet += ld.item()
            worst = max(worst, abs(logdet - expected))
            print("  %-14s logdet %12.6f  autograd %12.6f" % (name, logdet, expected))
    print("self-check %s: largest difference %.2e" % ("passed" if worst < 1e-8 else "FAILED",
                                                      worst))
    return worst < 1e-8


# ---------------------------------------------------------------- training on IDX images
#
# `--train-idx DIR` trains the image Glow above on MNIST-family IDX files the way
# `glowcl train images --data idx:DIR` does (src/cli/train_images.c, src/cli/training.c,
# src/cli/scores.c, src/io/image_sets.c, src/io/idx.c), and prints its test bits/dim in glowcl's
# format. What matches glowcl's defaults:
#   - model: gc_model_config_image with --levels/--depth/--hidden: per level a squeeze, K x
#     (ActNorm, LU 1x1 conv, affine conv coupling with a sigmoid scale), a split with the learned
#     conditional prior after every level but the last, a standard normal top prior (glowcl's
#     --coupling affine, --split-prior learned, no --learn-top);
#   - data: 1 channel, zero-padded to --pad centred (gc_image_set_pad: top = (pad - 28) / 2,
#     left likewise, so a 28x28 image sits at offset 2,2 of 32x32); each batch draws --batch
#     training images uniformly with replacement; dequantisation x = ((v >> (8 - n_bits)) + u)
#     / 2^n_bits with u ~ U[0, 1) (gc_images_to_unit), values at 1 pulled below it;
#   - loss: mean NLL in nats per image, -(1/n) sum (log p(z) + logdet), split priors included;
#     ActNorm initialised from the first training batch;
#   - optimiser: Adam, betas 0.9/0.999, eps 1e-8 (GC_ADAM_DEFAULT; torch.optim.Adam's bias
#     correction is the same arithmetic as glowcl's adam_step), lr linearly warmed up:
#     lr * (step + 1) / warmup for 0-based steps below --warmup (cli_lr_warmup), no clipping;
#     a step whose loss or gradient is not finite is skipped (no update) and 5 in a row stop
#     the run, as in cli_training_step;
#   - evaluation after step s when s % every == 0 or s is the last: the first --test-n images of
#     t10k, each dequantised once with uniform noise, bits/dim per image
#     (-log p(x) + D n_bits log 2) / (D log 2) with D the padded image's sub-pixels (1 x 32 x 32;
#     gc_bits_per_dim: the padding's pixels count as dimensions), then their mean and standard
#     error sqrt(var / n), var with n - 1 (cli_bits_per_dim).
#   - random streams for the data (--rng glowcl, the default): GlowclRng is glowcl's
#     xoshiro256** generator (src/base/rng.c) bit for bit, so with the same --seed the batches
#     (gc_rng_below, seed --seed, stream 1 as a run from step 0 seeds it) and the dequantisation
#     noise (gc_rng_uniform after each batch's indices) are glowcl's, draw for draw, and the
#     test noise is glowcl's fixed stream (2018, 3). Pure Python: about 40 ms a step at batch 32
#     and 1x32x32, and once about 10 s for the 10,000 test images' noise (kept). --rng numpy
#     uses numpy's PCG64 (seed --seed; the tests' noise seed 2018) instead: equal in
#     distribution only.
# What cannot match exactly: the initial weights, which glowcl draws from the same generator in
# its own order and by its own methods (Gram-Schmidt rotations, polar-method normals); here
# torch.manual_seed(--seed) draws them, from the same distributions (N(0, 0.05^2) hidden
# convolutions, zero output layers and gains, a random rotation's LU factors for each 1x1 conv).
# So the two sides' seeds give the same data stream but different starting models. And the
# arithmetic: glowcl computes in float32 on its OpenCL device with its own summation orders,
# this in float32 on torch's CPU (or CUDA) kernels.


M64 = (1 << 64) - 1


class GlowclRng:
    """glowcl's generator (src/base/rng.c), bit for bit."""

    def __init__(self, seed, stream=0):
        def splitmix(counter):
            counter = (counter + 0x9e3779b97f4a7c15) & M64
            z = counter
            z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & M64
            z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M64
            return counter, z ^ (z >> 31)
        sc, tc, s = seed & M64, (stream ^ 0x6a09e667f3bcc909) & M64, []
        for _ in range(4):
            sc, word = splitmix(sc)
            if stream:
                tc, other = splitmix(tc)
                word ^= other
            s.append(word)
        if not any(s):
            s[0] = 1
        self.s = s

    def u64(self):
        s0, s1, s2, s3 = self.s
        x = (s1 * 5) & M64
        result = ((((x << 7) | (x >> 57)) & M64) * 9) & M64
        t = (s1 << 17) & M64
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = ((s3 << 45) | (s3 >> 19)) & M64
        self.s = [s0, s1, s2, s3]
        return result

    def below(self, n):
        if n <= 1:
            return 0
        product = (self.u64() >> 32) * n
        low = product & 0xffffffff
        if low < n:
            threshold = ((1 << 32) - n) % n
            while low < threshold:
                product = (self.u64() >> 32) * n
                low = product & 0xffffffff
        return product >> 32

    def uniforms(self, count):
        """count draws of gc_rng_uniform, as a list of ints k (the value is k * 2^-53).
        u64's steps written out with the state in locals: this runs once per dequantised
        sub-pixel of every batch, where a method call and list unpacking per draw cost more
        than the arithmetic."""
        s0, s1, s2, s3 = self.s
        out = [0] * count
        for i in range(count):
            x = (s1 * 5) & M64
            out[i] = (((((x << 7) | (x >> 57)) & M64) * 9) & M64) >> 11
            t = (s1 << 17) & M64
            s2 ^= s0
            s3 ^= s1
            s1 ^= s2
            s0 ^= s3
            s2 ^= t
            s3 = ((s3 << 45) | (s3 >> 19)) & M64
        self.s = [s0, s1, s2, s3]
        return out


def read_idx_images(directory, split):
    """uint8 array (N, rows, cols) of DIR/{train,t10k}-images-idx3-ubyte[.gz] (or the
    "-images.idx3-ubyte" spelling), as src/io/idx.c looks for them."""
    import gzip
    import numpy as np
    for name in ("%s-images-idx3-ubyte" % split, "%s-images.idx3-ubyte" % split):
        for suffix, opener in (("", open), (".gz", gzip.open)):
            path = os.path.join(directory, name + suffix)
            if os.path.exists(path):
                with opener(path, "rb") as f:
                    data = f.read()
                magic, count, rows, cols = (int.from_bytes(data[i:i + 4], "big")
                                            for i in range(0, 16, 4))
                if magic != 2051 or len(data) != 16 + count * rows * cols:
                    raise SystemExit("torch_glow.py: %s is not an IDX image file of %d images"
                                     % (path, count))
                return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(count, rows, cols)
    raise SystemExit("torch_glow.py: no %s images (%s-images-idx3-ubyte[.gz]) in %s"
                     % (split, split, directory))


def pad_images(images, size):
    """(N, 1, size, size) uint8, each image centred as gc_image_set_pad places it."""
    import numpy as np
    n, h, w = images.shape
    if size < max(h, w):
        raise SystemExit("torch_glow.py: --pad %d is smaller than the %dx%d images" % (size, h, w))
    out = np.zeros((n, 1, size, size), dtype=np.uint8)
    top, left = (size - h) // 2, (size - w) // 2
    out[:, 0, top:top + h, left:left + w] = images
    return out


def dequantise(pixels, n_bits, rng):
    """gc_images_to_unit: ((v >> (8 - n_bits)) + u) / 2^n_bits, u ~ U[0, 1), in [0, 1); the
    noise from a GlowclRng (in glowcl's order: image by image, each C x H x W row-major) or a
    numpy Generator."""
    import numpy as np
    levels = float(1 << n_bits)
    if isinstance(rng, GlowclRng):
        u = (np.array(rng.uniforms(pixels.size), dtype=np.uint64).astype(np.float64)
             * 2.0 ** -53).reshape(pixels.shape)
    else:
        u = rng.random(pixels.shape)
    x = ((pixels >> (8 - n_bits)).astype(np.float64) + u) / levels
    return np.minimum(x, np.nextafter(1.0, 0.0)).astype(np.float32)


def bits_per_dim(nll_nats, dims, n_bits):
    """gc_bits_per_dim: the discrete NLL of n_bits-bit values, in bits per sub-pixel."""
    return (nll_nats + dims * n_bits * math.log(2.0)) / (dims * math.log(2.0))


def log_prob(model, x):
    """Per-sample log p(x) in nats under the flow (what Flow.nll averages and negates)."""
    logdet = x.new_zeros(x.shape[0])
    for op in model.ops:
        x, ld = op(x)
        logdet = logdet + ld
    z = x.flatten(1)
    return -0.5 * (z * z).sum(dim=1) - 0.5 * z.shape[1] * LOG_2PI + logdet


def dequantise_test(test, n_bits, which, chunk=32):
    """The test images dequantised once, as every glowcl evaluation does them: glowcl's fixed
    stream (2018, 3), or numpy's seed 2018 with --rng numpy."""
    import numpy as np
    rng = GlowclRng(2018, 3) if which == "glowcl" else np.random.default_rng(2018)
    return np.concatenate([dequantise(test[i:i + chunk], n_bits, rng)
                           for i in range(0, len(test), chunk)]) if len(test) else \
        np.zeros(test.shape, dtype=np.float32)


def evaluate(model, test_x, n_bits, device, chunk=64):
    """cli_bits_per_dim: (mean, standard error) of the dequantised test images' bits/dim."""
    import numpy as np
    dims = test_x[0].size
    bpd = []
    with torch.no_grad():
        for start in range(0, len(test_x), chunk):
            x = torch.from_numpy(test_x[start:start + chunk]).to(device)
            logp = log_prob(model, x).double().cpu().numpy()
            bpd.extend(bits_per_dim(-lp, dims, n_bits) for lp in logp)
    bpd = np.array(bpd)
    if not np.all(np.isfinite(bpd)):
        raise SystemExit("torch_glow.py: non-finite test log-density")
    n = len(bpd)
    var = bpd.var(ddof=1) if n > 1 else 0.0
    return float(bpd.mean()), float(math.sqrt(var / n)) if var > 0 else 0.0


def read_glowcl_model(path):
    """(config dict, {block name: float64 numpy array}) of a model.glowcl (docs/model-format.md's
    minimal reader, CRCs checked)."""
    import struct
    import zlib
    import numpy as np
    with open(path, "rb") as f:
        d = f.read()
    magic, version, n, size, crc, _ = struct.unpack_from("<8sIIQII", d, 0)
    if magic != b"\x89GLC\r\n\x1a\n" or version != 1 or size != len(d):
        raise SystemExit("torch_glow.py: %s is not a glowcl model file" % path)
    table = bytearray(d[:32 + 56 * n])
    table[24:28] = bytes(4)
    if zlib.crc32(bytes(table)) != crc:
        raise SystemExit("torch_glow.py: %s: header CRC mismatch" % path)
    sections = {}
    for i in range(n):
        name, _, c, off, length = struct.unpack_from("<32sIIQQ", d, 32 + 56 * i)
        payload = d[off:off + length]
        if zlib.crc32(payload) != c:
            raise SystemExit("torch_glow.py: %s: section CRC mismatch" % path)
        sections[name.rstrip(b"\0").decode()] = payload
    config = dict(line.split("=", 1) for line in sections["config"].decode().splitlines())
    params = np.frombuffer(sections["params"], dtype="<f8")
    blocks = {}
    for line in sections["layout"].decode().splitlines():
        name, offset, count = line.split()
        blocks[name] = params[int(offset):int(offset) + int(count)]
    return config, blocks


def load_glowcl_params(model, path, levels, depth, hidden, channels=1, height=32, width=32):
    """Copies a glowcl image model's parameters (a `glowcl train images` checkpoint of the same
    settings) into image_glow()'s modules, block by block as docs/model-format.md lays them out;
    every block must be used and every shape must agree."""
    config, blocks = read_glowcl_model(path)
    want = {"kind": "image", "levels": str(levels), "layers": str(depth), "hidden": str(hidden),
            "channels": str(channels), "height": str(height), "width": str(width),
            "additive": "0", "split_standard": "0", "prior": "gauss"}
    wrong = ["%s=%s (want %s)" % (k, config.get(k), v) for k, v in want.items()
             if config.get(k) != v]
    if wrong:
        raise SystemExit("torch_glow.py: %s does not match the model: %s" % (path, ", ".join(wrong)))
    used = set()

    def put(name, tensor):
        value = blocks[name]
        if value.size != tensor.numel():
            raise SystemExit("torch_glow.py: %s has %d values, the model %d" % (name, value.size,
                                                                                 tensor.numel()))
        with torch.no_grad():
            tensor.copy_(torch.from_numpy(value.copy()).view_as(tensor))
        used.add(name)

    level, step = 0, 0
    for op in model.ops:
        prefix = "level%d.step%d." % (level, step)
        if isinstance(op, ActNorm):
            put(prefix + "actnorm.log_scale", op.log_scale)
            put(prefix + "actnorm.shift", op.shift)
            op.initialized = True
        elif isinstance(op, InvConvLU):
            for name in ("lower", "upper", "log_s", "perm", "sign"):
                put(prefix + "invconv." + name, getattr(op, name))
        elif isinstance(op, ConvCoupling):
            for j, layer in enumerate((op.net[0], op.net[2], op.net[4].conv)):
                put(prefix + "coupling.conv%d.weight" % j, layer.weight)
                put(prefix + "coupling.conv%d.bias" % j, layer.bias)
            put(prefix + "coupling.log_gain", op.net[4].log_gain)
            step += 1
        elif isinstance(op, Split):
            put("level%d.split.prior.weight" % level, op.prior.conv.weight)
            put("level%d.split.prior.bias" % level, op.prior.conv.bias)
            put("level%d.split.prior.log_gain" % level, op.prior.log_gain)
            level, step = level + 1, 0
        elif isinstance(op, Squeeze) and step == depth:
            level, step = level + 1, 0
    unused = sorted(set(blocks) - used)
    if unused:
        raise SystemExit("torch_glow.py: %s has blocks this model lacks: %s" % (path,
                                                                               ", ".join(unused)))
    return config


def make_train_parser():
    p = argparse.ArgumentParser(
        prog="torch_glow.py --train-idx DIR",
        description="Trains the image Glow on MNIST-family IDX files as `glowcl train images "
                    "--data idx:DIR` does (defaults are glowcl's) and prints its test bits/dim "
                    "in glowcl's format, with wall times; last line `JSON {...}`.")
    p.add_argument("--train-idx", required=True, metavar="DIR",
                   help="folder with train-/t10k-images-idx3-ubyte[.gz]")
    p.add_argument("--pad", type=int, default=0, help="zero-pad to N x N, centred (0: none)")
    p.add_argument("--levels", type=int, default=3)
    p.add_argument("--depth", type=int, default=16)
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--steps", type=int, default=10000)
    p.add_argument("--every", type=int, default=500)
    p.add_argument("--test-n", type=int, default=1000)
    p.add_argument("--n-bits", type=int, default=8)
    p.add_argument("--max-images", type=int, default=0, help="use at most N training images")
    p.add_argument("--seed", "-s", type=int, default=1)
    p.add_argument("--rng", choices=("glowcl", "numpy"), default="glowcl",
                   help="batches and dequantisation noise from glowcl's generator, draw for "
                        "draw as glowcl with the same --seed (default), or from numpy's")
    p.add_argument("--eval-glowcl", metavar="MODEL",
                   help="no training: load a `glowcl train images` checkpoint of these settings "
                        "into the PyTorch model and print its test bits/dim, to set beside "
                        "glowcl's own line for the same model (a check that the two sides "
                        "compute the same model and the same bits/dim)")
    p.add_argument("--threads", type=int, default=default_threads())
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    return p


def train_idx(argv):
    import numpy as np
    args = make_train_parser().parse_args(argv)
    if min(args.levels, args.depth, args.hidden, args.batch, args.steps, args.every,
           args.threads) < 1 or args.warmup < 0 or args.test_n < 0 or not args.lr > 0 \
            or not 1 <= args.n_bits <= 8:
        raise SystemExit("torch_glow.py: sizes, steps and --lr must be positive, --n-bits 1..8")
    t0 = time.perf_counter()
    torch.set_num_threads(args.threads)
    set_blas_threads(args.threads)
    device = torch.device(args.device)
    train = read_idx_images(args.train_idx, "train")
    if args.max_images:
        train = train[:args.max_images]
    test = read_idx_images(args.train_idx, "t10k")[:args.test_n]
    original = train.shape[1:]
    if args.pad:
        train, test = pad_images(train, args.pad), pad_images(test, args.pad)
    else:
        train, test = train[:, None], test[:, None]
    dims = train[0].size
    torch.manual_seed(args.seed)
    # glowcl seeds a run from step 0 with gc_rng_seed_stream(seed, 0 + 1).
    rng = GlowclRng(args.seed, 1) if args.rng == "glowcl" else np.random.default_rng(args.seed)
    test_x = dequantise_test(test, args.n_bits, args.rng)
    model = image_glow(channels=1, levels=args.levels, steps=args.depth,
                       hidden=args.hidden).to(device)
    params, _ = model.param_counts()
    print("torch_glow.py: %d training images 1x%dx%d%s; %d levels x %d steps, hidden %d, affine "
          "couplings, %d parameters; PyTorch %s, %d threads"
          % (len(train), train.shape[2], train.shape[3],
             " (padded from %dx%d)" % original if args.pad else "", args.levels, args.depth,
             args.hidden, params, torch.__version__, args.threads), file=sys.stderr)
    if args.eval_glowcl:
        config = load_glowcl_params(model, args.eval_glowcl, args.levels, args.depth, args.hidden,
                                    1, train.shape[2], train.shape[3])
        model.to(device)
        mean, se = evaluate(model, test_x, args.n_bits, device)
        print("step %s: test bits/dim %.4f ± %.4f (%d images%s)  [glowcl's %s in PyTorch]"
              % (config.get("steps"), mean, se, len(test),
                 ", padded: padding counted" if args.pad else "", args.eval_glowcl), flush=True)
        return 0
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
    evals, bad, train_seconds = [], 0, 0.0
    padded = ", padded: padding counted" if args.pad else ""
    for step in range(args.steps):
        start = time.perf_counter()
        if args.rng == "glowcl":
            idx = np.array([rng.below(len(train)) for _ in range(args.batch)], dtype=np.int64)
        else:
            idx = rng.integers(0, len(train), size=args.batch)
        x = torch.from_numpy(dequantise(train[idx], args.n_bits, rng)).to(device)
        for group in opt.param_groups:
            group["lr"] = args.lr * ((step + 1) / args.warmup
                                     if args.warmup > 0 and step < args.warmup else 1.0)
        opt.zero_grad(set_to_none=True)
        loss = model.nll(x)
        loss.backward()
        norm2 = torch.stack([p.grad.detach().double().pow(2).sum() for p in model.parameters()
                             if p.grad is not None]).sum().item()
        loss_value = loss.item()
        if not (math.isfinite(loss_value) and math.isfinite(norm2)):
            bad += 1
            print("torch_glow.py: warning: non-finite loss or gradient at step %d; step skipped"
                  % (step + 1), file=sys.stderr)
            if bad == 5:
                raise SystemExit("torch_glow.py: training diverged: 5 non-finite steps in a row")
            train_seconds += time.perf_counter() - start
            continue
        bad = 0
        opt.step()
        sync(device)
        train_seconds += time.perf_counter() - start
        done = step + 1
        if done % 50 == 0 or done == args.steps:
            print("step %d/%d  %.3f bits/dim  |grad| %.3g  %.1f images/s"
                  % (done, args.steps, bits_per_dim(loss_value, dims, args.n_bits),
                     math.sqrt(norm2), done * args.batch / train_seconds), file=sys.stderr)
        if done % args.every == 0 or done == args.steps:
            mean, se = evaluate(model, test_x, args.n_bits, device)
            wall = time.perf_counter() - t0
            evals.append({"step": done, "bpd": mean, "se": se, "train_s": train_seconds,
                          "wall_s": wall})
            print("step %d: test bits/dim %.4f ± %.4f (%d images%s)  [%.1f s training, %.1f s "
                  "wall]" % (done, mean, se, len(test), padded, train_seconds, wall), flush=True)
    print("JSON " + json.dumps({"torch_version": torch.__version__, "threads": args.threads,
                                "params": params, "settings": vars(args), "evals": evals}))
    return 0


# ---------------------------------------------------------------- command line


def parse_gemm(text):
    shapes = []
    for item in text.replace(";", " ").split():
        parts = [int(v) for v in item.split(",")]
        if len(parts) != 3 or min(parts) < 1:
            raise argparse.ArgumentTypeError("GEMM shapes are M,N,K triples, got %r" % item)
        shapes.append(tuple(parts))
    return shapes


def default_threads():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def make_parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", choices=SECTIONS + ("all",), action="append",
                   help="run only this section (repeatable; default: all three)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="where the models and GEMMs run (cpu); cuda times with "
                        "torch.cuda.synchronize and reports peak GPU tensor memory")
    p.add_argument("--tf32", action="store_true",
                   help="on cuda, let cuDNN and cuBLAS use TF32 (off: float32 throughout, as "
                        "glowcl computes)")
    p.add_argument("--threads", type=int, default=default_threads(),
                   help="torch.set_num_threads (default: the cores this process may use)")
    p.add_argument("--steps", type=int, help="timed steps for both models")
    p.add_argument("--warmup", type=int, help="warm-up steps for both models")
    p.add_argument("--moons-steps", type=int, default=50)
    p.add_argument("--moons-warmup", type=int, default=5)
    p.add_argument("--image-steps", type=int, default=5)
    p.add_argument("--image-warmup", type=int, default=2)
    p.add_argument("--moons-batch", type=int, default=256)
    p.add_argument("--image-batch", "--batch", type=int, default=16,
                   help="images per image Glow step, also the batch of the GEMM and conv "
                        "shapes (16)")
    p.add_argument("--gemm", type=parse_gemm,
                   help="GEMM shapes as 'M,N,K M,N,K ...' (default: the image model's coupling "
                        "convolutions at --batch)")
    p.add_argument("--repeats", type=int, default=7,
                   help="timings of each GEMM and convolution pass, median taken (7)")
    p.add_argument("--no-conv", action="store_true", help="skip the F.conv2d table")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json-only", "--json", action="store_true",
                   help="print only the JSON line")
    p.add_argument("--in-process", action="store_true",
                   help="run the sections here instead of one child process each (their peak "
                        "RSS then includes the earlier sections)")
    p.add_argument("--selfcheck", action="store_true",
                   help="check the modules' log-dets against autograd Jacobians, then exit")
    p.add_argument("--child", choices=SECTIONS, help=argparse.SUPPRESS)
    return p


def parse_args(argv):
    parser = make_parser()
    # compare.py hands the same extra flags to glowcl and to this script; ones meant only for
    # glowcl (device choice, low-memory mode) are reported and skipped, not fatal.
    args, unknown = parser.parse_known_args(argv)
    if unknown and not args.child:
        print("torch_glow.py: ignoring %s" % " ".join(unknown), file=sys.stderr)
    for name in ("steps", "warmup"):
        if getattr(args, name) is not None:
            setattr(args, "moons_" + name, getattr(args, name))
            setattr(args, "image_" + name, getattr(args, name))
    if min(args.moons_steps, args.image_steps) < 1 or min(args.moons_warmup,
                                                          args.image_warmup) < 0:
        parser.error("steps must be >= 1 and warm-up >= 0")
    if args.threads < 1 or args.repeats < 1 or args.image_batch < 1 or args.moons_batch < 1:
        parser.error("--threads, --repeats and the batch sizes must be >= 1")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: this torch (%s) sees no CUDA device" % torch.__version__)
    args.device = torch.device(args.device)
    return args, unknown


def has_setting(obj, name):
    """hasattr for torch.backends' modules, whose unknown attributes raise AssertionError in
    older torch."""
    try:
        getattr(obj, name)
        return True
    except (AttributeError, AssertionError, RuntimeError):
        return False


def set_tf32(enabled):
    """cuDNN convolutions default to TF32 on Ampere and later (10-bit mantissa); glowcl computes
    in float32, so the comparison keeps float32 unless --tf32 asks otherwise. Torch 2.9 and later
    have per-backend fp32_precision settings and refuse to run once they and the older
    allow_tf32 flags disagree, so only one of the two APIs is touched."""
    mode = "tf32" if enabled else "ieee"
    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    try:
        if has_setting(matmul, "fp32_precision"):
            cudnn.fp32_precision = mode
            # Set one by one as well: the setter above has not always reached them.
            for op in ("conv", "rnn"):
                if has_setting(cudnn, op):
                    getattr(cudnn, op).fp32_precision = mode
            matmul.fp32_precision = mode
        else:
            cudnn.allow_tf32 = enabled
            matmul.allow_tf32 = enabled
    except (AttributeError, AssertionError, RuntimeError, ValueError) as err:
        print("torch_glow.py: could not set TF32 %s: %s" % ("on" if enabled else "off", err),
              file=sys.stderr)


def precision_settings():
    """What cuDNN convolutions and cuBLAS matmuls were left with, for the JSON."""
    cudnn, matmul = torch.backends.cudnn, torch.backends.cuda.matmul
    try:
        if has_setting(matmul, "fp32_precision"):
            return {"conv": cudnn.conv.fp32_precision, "matmul": matmul.fp32_precision}
        return {"conv": "tf32" if cudnn.allow_tf32 else "ieee",
                "matmul": "tf32" if matmul.allow_tf32 else "ieee"}
    except (AttributeError, AssertionError, RuntimeError) as err:
        return {"error": str(err)}


def device_name(device):
    if device.type == "cuda":
        return "cuda: %s" % torch.cuda.get_device_name(device)
    return "cpu"


def set_blas_threads(threads):
    """torch.set_num_threads sizes torch's OpenMP pool but not OpenBLAS's own pthread pool,
    which torch.mm runs on; set that one too when the BLAS is OpenBLAS. Returns its count."""
    try:
        blas = ctypes.CDLL("libblas.so.3")  # the copy torch already loaded
        blas.openblas_set_num_threads(threads)
        return blas.openblas_get_num_threads()
    except (OSError, AttributeError):
        return None


def blas_library():
    """Which BLAS Debian's libblas.so.3 points at (torch's BLAS_INFO is 'generic')."""
    link = "/etc/alternatives/libblas.so.3-x86_64-linux-gnu"
    return os.path.realpath(link) if os.path.exists(link) else None


def run_child(section, argv):
    """Runs one section in a fresh interpreter; returns (its JSON dict, its table lines)."""
    cmd = [sys.executable, os.path.abspath(__file__), "--child", section] + argv
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    lines = proc.stdout.splitlines()
    json_lines = [line for line in lines if line.startswith("JSON ")]
    if proc.returncode != 0 or not json_lines:
        raise SystemExit("torch_glow.py: the %s section failed (exit %d)"
                         % (section, proc.returncode))
    return json.loads(json_lines[-1][5:]), [line for line in lines if not line.startswith("JSON ")]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if any(a == "--train-idx" or a.startswith("--train-idx=") for a in argv):
        return train_idx(argv)
    args, unknown = parse_args(argv)
    torch.set_num_threads(args.threads)
    blas_threads = set_blas_threads(args.threads)
    if args.device.type == "cuda":
        set_tf32(args.tf32)
    if args.selfcheck:
        return 0 if self_check(args.seed) else 1
    sections = list(SECTIONS) if not args.only or "all" in args.only else args.only
    if args.child:
        result, table = RUNNERS[args.child](args)
        print("\n".join(table))
        print("JSON " + json.dumps(result))
        return 0

    result = {"torch_version": torch.__version__, "threads": args.threads,
              "blas": blas_library(), "blas_threads": blas_threads}
    if args.device.type == "cuda":
        # Only on cuda, so that the CPU run's JSON stays as it was.
        result.update({"device": device_name(args.device), "cuda_version": torch.version.cuda,
                       "cudnn_version": torch.backends.cudnn.version(), "tf32": args.tf32,
                       "fp32_precision": precision_settings()})
    tables = []
    # Children get the same flags minus --only and --json-only (the parent prints the table).
    passed = []
    skip_next = False
    for i, arg in enumerate(argv):
        if skip_next:
            skip_next = False
            continue
        if arg in ("--only", "--json-only", "--json", "--in-process") or \
                arg.startswith("--only="):
            skip_next = arg == "--only"
            continue
        passed.append(arg)
    for section in SECTIONS:
        if section not in sections:
            continue
        if args.in_process:
            part, table = RUNNERS[section](args)
        else:
            part, table = run_child(section, passed)
        result.update(part)
        tables.append("\n".join(table))
    if not args.json_only:
        if args.device.type == "cuda":
            print("PyTorch %s on %s (CUDA %s, cuDNN %s, TF32 %s)\n"
                  % (torch.__version__, result["device"][6:], result["cuda_version"],
                     result["cudnn_version"], "on" if args.tf32 else "off"))
        else:
            print("PyTorch %s on CPU, %d thread%s, BLAS %s\n"
                  % (torch.__version__, args.threads, "" if args.threads == 1 else "s",
                     result["blas"] or "?"))
        print("\n\n".join(tables))
    print("JSON " + json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
