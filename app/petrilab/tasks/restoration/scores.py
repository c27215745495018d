"""How good a restoration is, in figures a biologist can read: PSNR and SSIM against a clean image, always beside
the same figures for the noisy input itself and for a classical denoiser (non-local means), so the gain is visible.

PSNR (peak signal-to-noise ratio, in dB; +3 dB is half the squared error) and SSIM (structural similarity, 1 is
identical) come from scikit-image. A clean image taken separately may have other intensities than the noisy one
(another exposure, an offset), so, as the CARE paper does, the target is stretched between its percentiles and
each candidate (input, non-local means, network) gets the straight-line fit (a·x + b) closest to it before it is
scored: what is scored is structure and noise, not brightness. data_range is the stretched target's range.
Without clean images there is no ground truth: only what changed between before and after is measured
(the noise left, by Immerkær's estimate, and the mean change). The noise level non-local means needs comes from
the same estimate (scikit-image's estimate_sigma would need PyWavelets, which PetriLab does not install).
"""

from __future__ import annotations

import numpy as np

TARGET_PERCENTILES = (0.1, 99.9)


def stretched_target(target: np.ndarray) -> np.ndarray:
    """(H, W, C) float32 target between its 0.1st and 99.9th percentiles (0 to 1, not clipped)."""
    low, high = np.percentile(target, TARGET_PERCENTILES)
    return ((target - low) / max(float(high - low), 1e-6)).astype(np.float32)


def fitted(candidate: np.ndarray, target: np.ndarray) -> np.ndarray:
    """`candidate` mapped by the a·x + b that brings it closest to `target` (least squares)."""
    x = candidate.astype(np.float64).ravel()
    y = target.astype(np.float64).ravel()
    spread = x.var()
    a = float(np.mean((x - x.mean()) * (y - y.mean())) / spread) if spread > 0 else 0.0
    b = float(y.mean() - a * x.mean())
    return (a * candidate + b).astype(np.float32)


def psnr_ssim(candidate: np.ndarray, target_stretched: np.ndarray) -> tuple[float, float]:
    """(PSNR in dB, SSIM) of a candidate (any intensities) against the stretched target, both (H, W, C)."""
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    data_range = float(target_stretched.max() - target_stretched.min()) or 1.0
    guess = fitted(candidate, target_stretched)
    psnr = peak_signal_noise_ratio(target_stretched, guess, data_range=data_range)
    channel_axis = -1 if target_stretched.shape[-1] > 1 else None
    t, g = (target_stretched, guess) if channel_axis is not None else (target_stretched[..., 0], guess[..., 0])
    ssim = structural_similarity(t, g, data_range=data_range, channel_axis=channel_axis)
    return float(psnr), float(ssim)


def non_local_means(image: np.ndarray) -> np.ndarray:
    """The classical denoiser beside which the network is judged: scikit-image's non-local means, with h = 0.8 σ
    and its fast mode as in scikit-image's own example, σ estimated from the image, on the image stretched 0–1."""
    from skimage.restoration import denoise_nl_means

    x = image.astype(np.float32)
    low, high = float(x.min()), float(x.max())
    unit = (x - low) / max(high - low, 1e-6)
    channel_axis = -1 if unit.shape[-1] > 1 else None
    plane = unit if channel_axis is not None else unit[..., 0]
    sigma = noise_level(unit)
    out = denoise_nl_means(plane, h=0.8 * sigma, sigma=sigma, fast_mode=True, patch_size=5, patch_distance=6,
                           channel_axis=channel_axis)
    out = out if channel_axis is not None else out[..., np.newaxis]
    return (out * max(high - low, 1e-6) + low).astype(np.float32)


# Immerkær's mask: the difference of two Laplacians, blind to flat areas and ramps, so what it sees is noise
_NOISE_MASK = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float64)


def noise_level(image: np.ndarray) -> float:
    """The noise's standard deviation, in the image's own units, averaged over its channels (Immerkær, "Fast
    noise variance estimation", CVIU 1996: σ = √(π/2) · mean |image ⊛ mask| / 6)."""
    from scipy.ndimage import convolve

    x = np.asarray(image, np.float64)
    planes = [x[..., c] for c in range(x.shape[-1])] if x.ndim == 3 else [x]
    found = []
    for plane in planes:
        if min(plane.shape) < 3:
            found.append(0.0)
            continue
        response = convolve(plane, _NOISE_MASK, mode="reflect")[1:-1, 1:-1]
        found.append(float(np.sqrt(np.pi / 2) * np.mean(np.abs(response)) / 6))
    return float(np.mean(found))


COMPARED = ("input", "non_local_means", "network")


def compare_to_target(noisy: np.ndarray, restored: np.ndarray, target: np.ndarray) -> dict[str, dict[str, float]]:
    """{"psnr": {input, non_local_means, network}, "ssim": {…}} for one image (all (H, W, C) float32)."""
    truth = stretched_target(target)
    scores = {name: psnr_ssim(candidate, truth)
              for name, candidate in zip(COMPARED, (noisy, non_local_means(noisy), restored))}
    return {"psnr": {k: v[0] for k, v in scores.items()}, "ssim": {k: v[1] for k, v in scores.items()}}


def before_after(noisy: np.ndarray, restored: np.ndarray) -> dict[str, float]:
    """Without a clean image: the noise estimated before and after, and how much the image changed on average,
    each in the input's intensity units."""
    return {"noise_before": noise_level(noisy), "noise_after": noise_level(restored),
            "mean_change": float(np.mean(np.abs(restored - noisy)))}
