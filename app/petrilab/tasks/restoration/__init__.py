"""Image restoration: a noisy image in, a cleaner image of the same size out.

Two ways to learn, one task (restoration.way): without clean images, by blind-spot training on the noisy images
themselves (Noise2Void: some pixels of each patch are hidden behind a neighbour's value and the network learns
to guess them from their surroundings; noise, independent from pixel to pixel, cannot be guessed, so it is not
learnt), and with pairs, DATA/images + DATA/targets of the same names (CARE: the network learns the clean image
from the noisy one). Modules: settings.py (the [restoration] section), blind_spot.py (the masking, numpy),
orientations.py (test-time flips and turns, numpy), losses.py (Keras: the loss on the masked pixels), data.py
(finding and checking the data), patches.py (batches), normalise.py, scores.py (PSNR, SSIM, non-local means),
recipe.py, prediction.py, report.py, demo.py. Imports nothing here: the window reads the numpy modules without
Keras.
"""
